-- stream-lua-rs built-in `ngx.errlog` (require "ngx.errlog"): the messages kept by
-- `lua_capture_error_log` and their filter level, the error_log level and raw log lines,
-- over the module's exported C ABI.
local ffi = require "ffi"
local base = require "resty.core.base"
local C = ffi.C
local type, error, tonumber = type, error, tonumber
local new_tab = base.new_tab
local current_request = base.get_request

local FAILED = base.FFI_ERROR

-- the error text the C side may write: `room()` before a call, `failure()` after one failed
local ERR_ROOM = 128
local err_text = ffi.new("unsigned char[?]", ERR_ROOM)
local err_used = ffi.new("size_t[1]")
local function room()
    err_used[0] = ERR_ROOM
    return err_text, err_used
end
local function failure()
    return nil, ffi.string(err_text, err_used[0])
end

-- one captured message: its text, level and time
local got_msg = ffi.new("char *[1]")
local got_level = ffi.new("int[1]")
local got_time = ffi.new("double[1]")

local errlog = { version = base.version }

errlog.set_filter_level = function(level)
    if not level then
        return nil, 'missing "level" argument'
    end
    local buf, len = room()
    if C.ngx_stream_lua_ffi_errlog_set_filter_level(level, buf, len) == FAILED then
        return failure()
    end
    return true
end

-- Takes up to `max` (10 by default) of the oldest captured messages into a flat list of
-- level, time, text triples (`logs` when given, ended by a nil after the last triple).
errlog.get_logs = function(max, logs)
    local want = max or 10
    local list = logs or new_tab(want > 0 and want * 3 + 1 or 0, 0)
    local filled, taken = 0, 0
    while taken < want do
        taken = taken + 1
        local buf, len = room()
        local size = C.ngx_stream_lua_ffi_errlog_get_msg(got_msg, got_level, buf, len, got_time)
        if size == FAILED then
            return failure()
        elseif size < 0 then
            break -- nothing more captured
        elseif size > 0 then
            list[filled + 1], list[filled + 2] = got_level[0], got_time[0]
            list[filled + 3] = ffi.string(got_msg[0], size)
            filled = filled + 3
        end
    end
    if taken > 0 then
        list[filled + 1] = nil
    end
    return list
end

errlog.get_sys_filter_level = function()
    local r = current_request()
    return tonumber(C.ngx_stream_lua_ffi_errlog_get_sys_filter_level(r))
end

errlog.raw_log = function(level, msg)
    if type(level) ~= "number" then
        error("bad argument #1 to 'raw_log' (must be a number)", 2)
    elseif type(msg) ~= "string" then
        error("bad argument #2 to 'raw_log' (must be a string)", 2)
    end
    if C.ngx_stream_lua_ffi_raw_log(current_request(), level, msg, #msg) == FAILED then
        error("bad log level", 2)
    end
end

return errlog
