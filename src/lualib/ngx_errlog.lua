-- stream-lua-rs built-in `ngx.errlog` (require "ngx.errlog"), with lua-resty-core 0.1.31's
-- API: the messages kept by `lua_capture_error_log`, their filter level, the error_log
-- level and raw log lines, over the module's exported C ABI.
local ffi = require "ffi"
local base = require "resty.core.base"
local C = ffi.C
local ffi_string = ffi.string
local type, error, tonumber = type, error, tonumber
local new_tab = base.new_tab
local get_request = base.get_request

ffi.cdef[[
int ngx_stream_lua_ffi_errlog_set_filter_level(int level, unsigned char *err,
    size_t *errlen);
int ngx_stream_lua_ffi_errlog_get_msg(char **log, int *loglevel,
    unsigned char *err, size_t *errlen, double *log_time);
int ngx_stream_lua_ffi_errlog_get_sys_filter_level(ngx_stream_lua_request_t *r);
int ngx_stream_lua_ffi_raw_log(ngx_stream_lua_request_t *r, int level,
    const unsigned char *s, size_t s_len);
]]

local ERR_LEN = 128
local err_buf = ffi.new("unsigned char[?]", ERR_LEN)
local err_len = ffi.new("size_t[1]")
local msg_ptr = ffi.new("char *[1]")
local level_ptr = ffi.new("int[1]")
local time_ptr = ffi.new("double[1]")
local FFI_ERROR = base.FFI_ERROR

local _M = { version = base.version }

function _M.set_filter_level(level)
    if not level then
        return nil, [[missing "level" argument]]
    end
    err_len[0] = ERR_LEN
    if C.ngx_stream_lua_ffi_errlog_set_filter_level(level, err_buf, err_len)
       == FFI_ERROR
    then
        return nil, ffi_string(err_buf, err_len[0])
    end
    return true
end

-- Up to `max` (default 10) of the oldest captured messages, as a flat list of
-- level, time, message triples (in `logs` when given).
function _M.get_logs(max, logs)
    max = max or 10
    if not logs then
        logs = new_tab(max > 0 and max * 3 + 1 or 0, 0)
    end
    local n = 0
    for i = 1, max do
        err_len[0] = ERR_LEN
        local len = C.ngx_stream_lua_ffi_errlog_get_msg(msg_ptr, level_ptr,
                                                         err_buf, err_len,
                                                         time_ptr)
        if len == FFI_ERROR then
            return nil, ffi_string(err_buf, err_len[0])
        end
        if len > 0 then
            logs[n + 1] = level_ptr[0]
            logs[n + 2] = time_ptr[0]
            logs[n + 3] = ffi_string(msg_ptr[0], len)
            n = n + 3
        end
        if len < 0 or i == max then
            -- nothing more captured, or enough taken: end the list here
            logs[n + 1] = nil
            break
        end
    end
    return logs
end

function _M.get_sys_filter_level()
    return tonumber(C.ngx_stream_lua_ffi_errlog_get_sys_filter_level(
                        get_request()))
end

function _M.raw_log(level, msg)
    if type(level) ~= "number" then
        error("bad argument #1 to 'raw_log' (must be a number)", 2)
    end
    if type(msg) ~= "string" then
        error("bad argument #2 to 'raw_log' (must be a string)", 2)
    end
    if C.ngx_stream_lua_ffi_raw_log(get_request(), level, msg, #msg)
       == FFI_ERROR
    then
        error("bad log level", 2)
    end
end

return _M
