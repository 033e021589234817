-- stream-lua-rs built-in Lua layer: ngx.var, ngx.ctx, ngx.exit and ngx.worker over the
-- module's exported C ABI (declared in ngx_ffi_decls.lua).
local ffi = require "ffi"
local C = ffi.C
local ngx = ngx
local getfenv, error, type, tostring, tonumber, setmetatable, rawget, rawset =
      getfenv, error, type, tostring, tonumber, setmetatable, rawget, rawset
local co_yield = coroutine.yield
local registry = debug.getregistry()

-- the running session (reading the module's variable compiles to a load; getfenv(0) would
-- not compile)
local function get_request()
    local r = C.ngx_stream_lua_rs_running
    if r ~= nil then
        return r
    end
    return nil
end

-- `require "thread.exdata"` (src/lualib/thread_exdata.lua) is this function. OpenResty's
-- LuaJIT also registers it as the global `exdata`, which code (and upstream's tests) call.
local function exdata(value)
    if value ~= nil then
        error("setting the thread's exdata is not supported", 2)
    end
    return get_request()
end
registry.ngx_lua_thread_exdata = exdata
rawset(_G, "exdata", exdata)
-- OpenResty's LuaJIT (a system LuaJIT build) has a `thread.exdata` of its own, preloaded,
-- which reads a per-coroutine pointer this module never sets: ours answers instead.
package.loaded["thread.exdata"] = exdata

-- the running session, or an error (at the API function's line) when there is none
local function session()
    local r = get_request()
    if r == nil then
        error("no request found", 2)
    end
    return r
end

-- scratch buffers shared by the calls below (no call yields while holding them)
local ERR_BUF_SIZE = 256
local err_buf = ffi.new("unsigned char[?]", ERR_BUF_SIZE)
local size_ptr = ffi.new("size_t[1]")
local value_ptr = ffi.new("char *[1]")
local errmsg_ptr = ffi.new("char *[1]")
local str_buf_size = 256
local str_buf = ffi.new("char[?]", str_buf_size)

local function get_str_buf(size)
    if size > str_buf_size then
        str_buf_size = size
        str_buf = ffi.new("char[?]", size)
    end
    return str_buf
end

-- ngx.var ------------------------------------------------------------------
local var_mt = {}

function var_mt.__index(_, name)
    local r = session()
    local rc
    if type(name) == "number" then
        rc = C.ngx_stream_lua_ffi_var_get(r, nil, 0, nil, name, value_ptr,
                                          size_ptr, errmsg_ptr)
    else
        if type(name) ~= "string" then
            error("bad variable name", 2)
        end
        local len = #name
        rc = C.ngx_stream_lua_ffi_var_get(r, name, len, get_str_buf(len), 0,
                                          value_ptr, size_ptr, errmsg_ptr)
    end
    if rc == 0 then
        return ffi.string(value_ptr[0], size_ptr[0])
    end
    if rc == -5 then
        return nil
    end
    error(ffi.string(errmsg_ptr[0]), 2)
end

-- ngx.var.NAME = value: nil unsets, anything else is stored as its string
function var_mt.__newindex(_, name, value)
    local r = session()
    if type(name) ~= "string" then
        error("bad variable name", 2)
    end
    local text = value
    if text ~= nil and type(text) ~= "string" then
        text = tostring(text)
    end
    size_ptr[0] = ERR_BUF_SIZE
    if C.ngx_stream_lua_ffi_var_set(r, name, #name, get_str_buf(#name), text,
                                    text == nil and 0 or #text, err_buf, size_ptr) ~= 0 then
        error(ffi.string(err_buf, size_ptr[0]), 2)
    end
end

ngx.var = setmetatable({}, var_mt)

-- ngx.ctx: tables live in the registry, the session keeps their reference ---
local ctxs = registry.ngx_lua_ctx_tables

local function ctx_ref(tab)
    -- same free-list layout as luaL_ref (slot 0), so the module can luaL_unref
    local free = rawget(ctxs, 0)
    local ref
    if free and free ~= 0 then
        ref = free
        ctxs[0] = ctxs[free]
    else
        ref = #ctxs + 1
    end
    ctxs[ref] = tab
    return ref
end

local function get_ctx()
    local r = session()
    local ref = C.ngx_stream_lua_ffi_get_ctx_ref(r, nil, nil)
    if ref == -100 then
        error("no request ctx found")
    end
    if ref < 0 then
        local tab = {}
        ref = ctx_ref(tab)
        C.ngx_stream_lua_ffi_set_ctx_ref(r, ref)
        return tab
    end
    return ctxs[ref]
end

local function set_ctx(tab)
    if type(tab) ~= "table" then
        error("ctx should be a table while getting a " .. type(tab))
    end
    local r = session()
    local ref = C.ngx_stream_lua_ffi_get_ctx_ref(r, nil, nil)
    if ref == -100 then
        error("no request ctx found")
    end
    if ref < 0 then
        C.ngx_stream_lua_ffi_set_ctx_ref(r, ctx_ref(tab))
        return
    end
    ctxs[ref] = tab
end

-- ngx.exit -------------------------------------------------------------------
local function exit(rc)
    local r = session()
    size_ptr[0] = ERR_BUF_SIZE
    rc = C.ngx_stream_lua_ffi_exit(r, rc, err_buf, size_ptr)
    if rc == 0 then
        return co_yield()
    end
    if rc == -4 then
        return
    end
    error(ffi.string(err_buf, size_ptr[0]), 2)
end

-- ngx.worker -----------------------------------------------------------------
ngx.worker = {
    id = function()
        local id = C.ngx_stream_lua_ffi_worker_id()
        if id < 0 then
            return nil
        end
        return id
    end,
    pid = function() return C.ngx_stream_lua_ffi_worker_pid() end,
    count = function() return C.ngx_stream_lua_ffi_worker_count() end,
    exiting = function() return C.ngx_stream_lua_ffi_worker_exiting() == 1 end,
    pids = function()
        local phase = ngx.get_phase()
        if phase == "init" or phase == "init_worker" then
            return nil, "API disabled in the current context"
        end
        -- old and new workers coexist while reloading
        local cap = C.ngx_stream_lua_ffi_worker_count() * 4
        local pids = {}
        if cap == 0 then
            return pids
        end
        local buf = ffi.new("int[?]", cap)
        size_ptr[0] = cap
        if C.ngx_stream_lua_ffi_worker_pids(buf, size_ptr) == 0 then
            for i = 1, tonumber(size_ptr[0]) do
                pids[i] = buf[i - 1]
            end
        end
        return pids
    end,
}

-- ngx.get_phase over the exported call (upstream's is a Lua C function, which LuaJIT cannot
-- compile); the numbers are the module's context bits
-- the phase names by context bit: bit 0 content, bit 1 log, ... bit 7 ssl_client_hello
local phase_names = {}
for bit_no, name in ipairs { "content", "log", "timer", "init_worker", "balancer", "preread",
                             "ssl_cert", "ssl_client_hello" } do
    phase_names[2 ^ (bit_no - 1)] = name
end
-- the context bits of the running session (upstream's raw phase context), nothing outside one
rawset(ngx, "_phase_ctx", function()
    local r = get_request()
    if r ~= nil then
        return C.ngx_stream_lua_ffi_get_phase(r, nil)
    end
end)
rawset(ngx, "get_phase", function()
    local r = get_request()
    if not r then
        return "init"
    end
    local phase = C.ngx_stream_lua_ffi_get_phase(r, nil)
    return phase_names[phase] or error("unknown phase: " .. tostring(phase))
end)

-- ngx's own fields: ctx and exit are getters/setters/functions ---------------
-- ngx.status (read-only in stream): the session's status code (the exported function
-- answers -101 outside the phases that have a status)
local function get_status()
    local status = C.ngx_stream_lua_ffi_get_resp_status(session())
    if status == -101 then
        error("API disabled in the current context", 2)
    end
    return status
end

local getters = { ctx = get_ctx, status = get_status }
local setters = { ctx = set_ctx }
rawset(ngx, "exit", exit)
setmetatable(ngx, {
    __index = function(_, k)
        local g = getters[k]
        if g then
            return g()
        end
    end,
    __newindex = function(t, k, v)
        local s = setters[k]
        if s then
            return s(v)
        end
        rawset(t, k, v)
    end,
})

-- time -------------------------------------------------------------------------
local date_buf = ffi.new("unsigned char[20]")

rawset(ngx, "now", function() return tonumber(C.ngx_stream_lua_ffi_now()) end)
rawset(ngx, "time", function() return tonumber(C.ngx_stream_lua_ffi_time()) end)
rawset(ngx, "update_time", function() C.ngx_stream_lua_ffi_update_time() end)
rawset(ngx, "today", function()
    C.ngx_stream_lua_ffi_today(date_buf)
    return ffi.string(date_buf, 10)
end)
rawset(ngx, "localtime", function()
    C.ngx_stream_lua_ffi_localtime(date_buf)
    return ffi.string(date_buf, 19)
end)
rawset(ngx, "utctime", function()
    C.ngx_stream_lua_ffi_utctime(date_buf)
    return ffi.string(date_buf, 19)
end)
ngx.req.start_time = function()
    local r = session()
    return tonumber(C.ngx_stream_lua_ffi_req_start_time(r))
end

-- coroutine.wrap is the module's (src/api/coroutine.rs): a C closure over a coroutine of the
-- session's scheduler, so wrapped coroutines may wait on nginx events too (LuaJIT's own wrap
-- would bypass the scheduler). As upstream's, a call of one whose coroutine cannot be
-- resumed (dead, running) returns false and why; an error raised inside goes up to the
-- caller (the runner does that). Outside a session, LuaJIT's wrap.
do
    local std = coroutine
    local std_wrap = std.wrap
    local wrap = registry.ngx_lua_co_wrap

    -- The table laid out as upstream's: `running`, LuaJIT's functions as `_name`, the
    -- nginx-aware ones as `name` and `__name`, nothing else (so no isyieldable).
    local t = {
        running = std.running,
        _create = std._create,
        _resume = std._resume,
        _yield = std._yield,
        _status = registry.ngx_lua_co_status,
        _wrap = std_wrap,
    }
    local ours = { create = std.create, resume = std.resume, yield = std.yield,
                   status = std.status, wrap = wrap }
    for name, f in pairs(ours) do
        t[name] = f
        t["__" .. name] = f
    end
    coroutine = t
    package.loaded.coroutine = t
end
