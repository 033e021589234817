-- stream-lua-rs built-in Lua layer: the `ngx.balancer` module (require "ngx.balancer") for
-- balancer_by_lua*, over the exported ngx_stream_lua_ffi_balancer_* functions. It behaves
-- as lua-resty-core 0.1.31's module does in the stream subsystem (same results and errors).
local ffi = require "ffi"
local base = require "resty.core.base"
local C = ffi.C
local ffi_string = ffi.string
local get_request = base.get_request
local error, type, tonumber = error, type, tonumber
local max = math.max

-- called through locals of these names, so that LuaJIT's argument errors read as with
-- lua-resty-core ("bad argument #4 to 'ngx_lua_ffi_balancer_set_current_peer' ...")
local ngx_lua_ffi_balancer_set_current_peer = C.ngx_stream_lua_ffi_balancer_set_current_peer
local ngx_lua_ffi_balancer_set_more_tries = C.ngx_stream_lua_ffi_balancer_set_more_tries
local ngx_lua_ffi_balancer_get_last_failure = C.ngx_stream_lua_ffi_balancer_get_last_failure

local errmsg = base.get_errmsg_ptr()
local status_out = ffi.new("int[1]")
local BIND_ERRBUF_SIZE = 1024

-- what get_last_failure reports for nginx's NGX_PEER_* states
local state_names = { [1] = "keepalive", [2] = "next", [4] = "failed" }

local _M = { version = base.version }

local function request()
    local r = get_request()
    if not r then
        error("no request found")
    end
    return r
end

function _M.set_current_peer(addr, port, host)
    local r = request()
    if port == nil or port == false then
        port = 0
    elseif type(port) ~= "number" then
        port = tonumber(port)
    end
    if host ~= nil then
        error("bad argument #3 to 'set_current_peer' ('host' not yet implemented "
              .. "in stream subsystem)", 2)
    end
    if ngx_lua_ffi_balancer_set_current_peer(r, addr, #addr, port, errmsg) == 0 then
        return true
    end
    return nil, ffi_string(errmsg[0])
end

function _M.enable_keepalive()
    error("'enable_keepalive' not yet implemented in stream subsystem", 2)
end

function _M.set_more_tries(count)
    local r = request()
    if ngx_lua_ffi_balancer_set_more_tries(r, count, errmsg) ~= 0 then
        return nil, ffi_string(errmsg[0])
    end
    if errmsg[0] ~= nil then
        -- a warning: fewer tries than asked for
        return true, ffi_string(errmsg[0])
    end
    return true
end

function _M.get_last_failure()
    local r = request()
    local state = ngx_lua_ffi_balancer_get_last_failure(r, status_out, errmsg)
    if state == 0 then
        return nil
    end
    if state == -1 then
        return nil, nil, ffi_string(errmsg[0])
    end
    return state_names[state] or "unknown", status_out[0]
end

-- seconds (nil: keep nginx's) to milliseconds (0: keep)
local function timeout_ms(t, what)
    if not t then
        return 0
    end
    if type(t) ~= "number" or t <= 0 then
        error("bad " .. what .. " timeout", 3)
    end
    return t * 1000
end

function _M.set_timeouts(connect_timeout, send_timeout, read_timeout)
    local r = request()
    local connect = timeout_ms(connect_timeout, "connect")
    local send = timeout_ms(send_timeout, "send")
    local read = timeout_ms(read_timeout, "read")
    -- the stream proxy has one timeout for both directions
    if C.ngx_stream_lua_ffi_balancer_set_timeouts(r, connect, max(send, read), errmsg) ~= 0 then
        return false, ffi_string(errmsg[0])
    end
    return true
end

function _M.bind_to_local_addr(addr)
    local r = request()
    if type(addr) ~= "string" then
        error("bad argument #1 to 'bind_to_local_addr' (string expected, got "
              .. type(addr) .. ")")
    end
    local buf = base.get_string_buf(BIND_ERRBUF_SIZE)
    local size = base.get_size_ptr()
    size[0] = BIND_ERRBUF_SIZE
    if C.ngx_stream_lua_ffi_balancer_bind_to_local_addr(r, addr, #addr, buf, size) == 0 then
        return true
    end
    return nil, ffi_string(buf, size[0])
end

return _M
