-- stream-lua-rs built-in Lua layer: the `ngx.semaphore` module (require "ngx.semaphore")
-- over the exported ngx_stream_lua_ffi_sema_* functions.
local ffi = require "ffi"
local C = ffi.C
local getfenv, error, type, tonumber, setmetatable = getfenv, error, type, tonumber, setmetatable
local co_yield = coroutine.yield
local get_request = require("resty.core.base").get_request

ffi.cdef[[
struct ngx_stream_lua_sema_s;
typedef struct ngx_stream_lua_sema_s ngx_stream_lua_sema_t;
int ngx_stream_lua_ffi_sema_new(ngx_stream_lua_sema_t **psem, int n, char **errmsg);
int ngx_stream_lua_ffi_sema_post(ngx_stream_lua_sema_t *sem, int n);
int ngx_stream_lua_ffi_sema_count(ngx_stream_lua_sema_t *sem);
int ngx_stream_lua_ffi_sema_wait(ngx_stream_lua_request_t *r,
    ngx_stream_lua_sema_t *sem, int wait_ms, unsigned char *errstr, size_t *errlen);
void ngx_stream_lua_ffi_sema_gc(ngx_stream_lua_sema_t *sem);
]]

local psem = ffi.new("ngx_stream_lua_sema_t *[1]")
local errmsg = ffi.new("char *[1]")
local ERR_BUF_SIZE = 128
local err_buf = ffi.new("unsigned char[?]", ERR_BUF_SIZE)
local errlen = ffi.new("size_t[1]")

local _M = { version = "0.1.31" }
local mt = { __index = _M }

function _M.new(n)
    n = tonumber(n) or 0
    if n < 0 then
        error("no negative number", 2)
    end
    if C.ngx_stream_lua_ffi_sema_new(psem, n, errmsg) ~= 0 then
        return nil, ffi.string(errmsg[0])
    end
    local sem = ffi.gc(psem[0], C.ngx_stream_lua_ffi_sema_gc)
    return setmetatable({ sem = sem }, mt)
end

function _M.wait(self, seconds)
    if type(self) ~= "table" or type(self.sem) ~= "cdata" then
        error("not a semaphore instance", 2)
    end
    local r = get_request()
    if not r then
        error("no request found")
    end
    local ms = (tonumber(seconds) or 0) * 1000
    if ms < 0 then
        error("no negative number", 2)
    end
    local sem = self.sem
    errlen[0] = ERR_BUF_SIZE
    local rc = C.ngx_stream_lua_ffi_sema_wait(r, sem, ms, err_buf, errlen)
    if rc == -1 then
        return nil, ffi.string(err_buf, errlen[0])
    end
    if rc == 0 then
        return true
    end
    if rc == -5 then
        return nil, "timeout"
    end
    -- not a tail call: this frame keeps `sem` alive while we wait
    local ok, err = co_yield()
    return ok, err
end

function _M.post(self, n)
    if type(self) ~= "table" or type(self.sem) ~= "cdata" then
        error("not a semaphore instance", 2)
    end
    local num = n and tonumber(n) or 1
    if num < 1 then
        error("positive number required", 2)
    end
    C.ngx_stream_lua_ffi_sema_post(self.sem, num)
    return true
end

function _M.count(self)
    if type(self) ~= "table" or type(self.sem) ~= "cdata" then
        error("not a semaphore instance", 2)
    end
    return C.ngx_stream_lua_ffi_sema_count(self.sem)
end

return _M
