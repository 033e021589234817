-- stream-lua-rs built-in `resty.core.base`: the helpers lua-resty-core's modules and
-- third-party FFI libraries use, with lua-resty-core 0.1.31's names and values.
local ffi = require "ffi"
local ffi_new = ffi.new
local pcall, error, select, getfenv, pairs = pcall, error, select, getfenv, pairs
local ceil = math.ceil
local subsystem = ngx.config.subsystem

if not pcall(ffi.typeof, "ngx_str_t") then
    ffi.cdef[[
        typedef struct {
            size_t                 len;
            const unsigned char   *data;
        } ngx_str_t;
    ]]
end

if not pcall(ffi.typeof, "ngx_stream_lua_request_t") then
    ffi.cdef[[
        typedef struct ngx_stream_lua_request_s ngx_stream_lua_request_t;
    ]]
end

if not pcall(ffi.typeof, "ngx_stream_lua_ffi_str_t") then
    ffi.cdef[[
        typedef struct {
            int                       len;
            const unsigned char      *data;
        } ngx_stream_lua_ffi_str_t;
    ]]
end

local ok, new_tab = pcall(require, "table.new")
if not ok then
    new_tab = function() return {} end
end

local clear_tab
ok, clear_tab = pcall(require, "table.clear")
if not ok then
    clear_tab = function(tab)
        for k in pairs(tab) do
            tab[k] = nil
        end
    end
end

local _M = new_tab(0, 24)

_M.version = "0.1.31"
_M.new_tab = new_tab
_M.clear_tab = clear_tab

_M.FFI_OK = 0
_M.FFI_ERROR = -1
_M.FFI_AGAIN = -2
_M.FFI_BUSY = -3
_M.FFI_DONE = -4
_M.FFI_DECLINED = -5
_M.FFI_ABORT = -6
_M.FFI_NO_REQ_CTX = -100
_M.FFI_BAD_CONTEXT = -101

-- the running session, through a call LuaJIT compiles (getfenv(0).__ngx_req would not)
_M.get_request = require "thread.exdata"

local errmsg
function _M.get_errmsg_ptr()
    if not errmsg then
        errmsg = ffi_new("char *[1]")
    end
    return errmsg
end

local size_ptr
function _M.get_size_ptr()
    if not size_ptr then
        size_ptr = ffi_new("size_t[1]")
    end
    return size_ptr
end

-- a shared scratch buffer of str_buf_size bytes; bigger (or must_alloc) requests get
-- their own
local c_buf_type = ffi.typeof("char[?]")
local str_buf_size = 4096
local str_buf

function _M.set_string_buf_size(size)
    if size <= 0 then
        return
    end
    str_buf = nil
    str_buf_size = ceil(size)
end

function _M.get_string_buf_size()
    return str_buf_size
end

function _M.get_string_buf(size, must_alloc)
    if size > str_buf_size or must_alloc then
        return ffi_new(c_buf_type, size)
    end
    if not str_buf then
        str_buf = ffi_new(c_buf_type, str_buf_size)
    end
    return str_buf
end

-- luaL_ref-style reference of `key` in `tb` (slot 0 is the free list)
function _M.ref_in_table(tb, key)
    if key == nil then
        return -1
    end
    local ref = tb[0]
    if ref and ref ~= 0 then
        tb[0] = tb[ref]
    else
        ref = #tb + 1
    end
    tb[ref] = key
    return ref
end

function _M.allows_subsystem(...)
    for i = 1, select("#", ...) do
        if select(i, ...) == subsystem then
            return
        end
    end
    error("unsupported subsystem: " .. subsystem, 2)
end

return _M
