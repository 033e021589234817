-- stream-lua-rs built-in Lua layer: the `ngx.semaphore` module (require "ngx.semaphore")
-- over the exported ngx_stream_lua_ffi_sema_* functions. An instance is a table holding
-- the C semaphore (freed by its finalizer) under `sem`.
local ffi = require "ffi"
local C = ffi.C
local error, type, tonumber, setmetatable = error, type, tonumber, setmetatable
local suspend = coroutine.yield
local current_request = require("resty.core.base").get_request

-- out-parameters: the new semaphore and its error; wait's error text and its length
local created = ffi.new("ngx_stream_lua_sema_t *[1]")
local create_err = ffi.new("char *[1]")
local WAIT_ERR_ROOM = 128
local wait_err = ffi.new("unsigned char[?]", WAIT_ERR_ROOM)
local wait_err_len = ffi.new("size_t[1]")

-- what sema_wait returns
local WAIT_DONE, WAIT_FAILED, WAIT_TIMEOUT = 0, -1, -5

local semaphore = { version = "0.1.31" }
local instance_mt = { __index = semaphore }

-- the C semaphore of an instance, or an error raised at the method's caller
local function sem_of(self)
    local sem = type(self) == "table" and self.sem
    if type(sem) ~= "cdata" then
        error("not a semaphore instance", 3)
    end
    return sem
end

semaphore.new = function(n)
    local count = tonumber(n) or 0
    if count < 0 then
        error("no negative number", 2)
    end
    if C.ngx_stream_lua_ffi_sema_new(created, count, create_err) ~= 0 then
        return nil, ffi.string(create_err[0])
    end
    return setmetatable({ sem = ffi.gc(created[0], C.ngx_stream_lua_ffi_sema_gc) },
                        instance_mt)
end

semaphore.count = function(self)
    return C.ngx_stream_lua_ffi_sema_count(sem_of(self))
end

semaphore.post = function(self, n)
    local sem = sem_of(self)
    local count = n and tonumber(n) or 1
    if count < 1 then
        error("positive number required", 2)
    end
    C.ngx_stream_lua_ffi_sema_post(sem, count)
    return true
end

semaphore.wait = function(self, seconds)
    local sem = sem_of(self)
    local r = current_request()
    if not r then
        error("no request found")
    end
    local timeout_ms = 1000 * (tonumber(seconds) or 0)
    if timeout_ms < 0 then
        error("no negative number", 2)
    end
    wait_err_len[0] = WAIT_ERR_ROOM
    local rc = C.ngx_stream_lua_ffi_sema_wait(r, sem, timeout_ms, wait_err, wait_err_len)
    if rc == WAIT_DONE then
        return true
    elseif rc == WAIT_TIMEOUT then
        return nil, "timeout"
    elseif rc == WAIT_FAILED then
        return nil, ffi.string(wait_err, wait_err_len[0])
    end
    -- suspended until posted or timed out; no tail call, so `sem` stays alive meanwhile
    local ok, err = suspend()
    return ok, err
end

return semaphore
