-- stream-lua-rs built-in `thread.exdata` (a C module of OpenResty's LuaJIT, which stock
-- LuaJIT lacks): `exdata()` returns the running session's request pointer, or nil.
-- lua-resty-core's base.get_request uses it when present; unlike getfenv(0).__ngx_req, the
-- call compiles, so ngx.ctx and friends stay in compiled traces.
local ffi = require "ffi"
local C = ffi.C
local error = error

if not pcall(function() return C.ngx_stream_lua_rs_get_request end) then
    ffi.cdef[[
        struct ngx_stream_lua_request_s *ngx_stream_lua_rs_get_request(void);
    ]]
end

return function(value)
    if value ~= nil then
        error("setting the thread's exdata is not supported", 2)
    end
    local r = C.ngx_stream_lua_rs_get_request()
    if r ~= nil then
        return r
    end
    return nil
end
