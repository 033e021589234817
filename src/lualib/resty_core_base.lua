-- stream-lua-rs built-in `resty.core.base`: the helpers lua-resty-core's modules and
-- third-party FFI libraries use (names and values as lua-resty-core 0.1.31 has them). The C
-- types they expect (ngx_str_t, ngx_stream_lua_request_t, ...) are in ngx_ffi_decls.lua.
local ffi = require "ffi"
local pcall, error, select, pairs, ceil = pcall, error, select, pairs, math.ceil
local subsystem = ngx.config.subsystem

-- a LuaJIT extension module, or a plain Lua stand-in where this LuaJIT lacks it
local function extension(name, stand_in)
    local found, f = pcall(require, name)
    return found and f or stand_in
end

local M = {
    version = "0.1.31",
    new_tab = extension("table.new", function() return {} end),
    clear_tab = extension("table.clear", function(t)
        for k in pairs(t) do
            t[k] = nil
        end
    end),
    -- the running session, through a call LuaJIT compiles (getfenv(0).__ngx_req would not)
    get_request = require "thread.exdata",
}

-- the return codes of the exported functions (nginx's NGX_* codes and two of ours)
for name, code in pairs {
    OK = 0, ERROR = -1, AGAIN = -2, BUSY = -3, DONE = -4, DECLINED = -5, ABORT = -6,
    NO_REQ_CTX = -100, BAD_CONTEXT = -101,
} do
    M["FFI_" .. name] = code
end

-- out-parameters shared by every FFI caller in the VM
local shared_errmsg = ffi.new("char *[1]")
local shared_size = ffi.new("size_t[1]")
M.get_errmsg_ptr = function() return shared_errmsg end
M.get_size_ptr = function() return shared_size end

-- One scratch buffer of `scratch_size` bytes (made on first use); a larger request, or
-- one that must not share it, gets a buffer of its own.
local char_array = ffi.typeof("char[?]")
local scratch_size, scratch = 4096, nil

M.get_string_buf_size = function() return scratch_size end

M.set_string_buf_size = function(size)
    if size > 0 then
        scratch_size, scratch = ceil(size), nil
    end
end

M.get_string_buf = function(size, must_alloc)
    if must_alloc or size > scratch_size then
        return ffi.new(char_array, size)
    end
    scratch = scratch or ffi.new(char_array, scratch_size)
    return scratch
end

-- Stores `value` in `t` under a free integer slot and returns the slot (-1 for nil); slot 0
-- heads the list of freed slots, as luaL_ref keeps it.
M.ref_in_table = function(t, value)
    if value == nil then
        return -1
    end
    local slot = t[0]
    if not slot or slot == 0 then
        slot = #t + 1
    else
        t[0] = t[slot]
    end
    t[slot] = value
    return slot
end

-- raises at the caller unless this is one of the named subsystems
M.allows_subsystem = function(...)
    local n = select("#", ...)
    local i = 1
    while i <= n do
        if (select(i, ...)) == subsystem then
            return
        end
        i = i + 1
    end
    error("unsupported subsystem: " .. subsystem, 2)
end

return M
