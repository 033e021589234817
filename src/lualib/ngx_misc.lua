-- stream-lua-rs built-in Lua layer: os.getenv also sees `env NAME=value;` directives while
-- the configuration loads (init_by_lua), as lua-resty-core's resty.core.misc arranges.
local ffi = require "ffi"
local C = ffi.C
local getenv = os.getenv

local env_ptr = ffi.new("unsigned char *[1]")
local len_ptr = ffi.new("size_t[1]")

os.getenv = function(name)
    if C.ngx_stream_lua_rs_get_request() ~= nil then
        -- past init_by_lua: the process environment already holds the env directives
        os.getenv = getenv
        return getenv(name)
    end
    if C.ngx_stream_lua_ffi_get_conf_env(name, env_ptr, len_ptr) == 0 then
        return ffi.string(env_ptr[0] + len_ptr[0] + 1)
    end
    return getenv(name)
end
