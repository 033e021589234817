-- stream-lua-rs built-in `ngx.process` (require "ngx.process"), with lua-resty-core
-- 0.1.31's API over the module's exported C ABI.
local ffi = require "ffi"
local base = require "resty.core.base"
local C = ffi.C
local type, tonumber = type, tonumber

ffi.cdef[[
int ngx_stream_lua_ffi_enable_privileged_agent(char **err,
    unsigned int connections);
int ngx_stream_lua_ffi_get_process_type(void);
void ngx_stream_lua_ffi_process_signal_graceful_exit(void);
int ngx_stream_lua_ffi_master_pid(void);
]]

-- nginx's process kinds (NGX_PROCESS_*), and OpenResty's privileged agent
local names = {
    [0] = "single",
    [1] = "master",
    [2] = "signaller",
    [3] = "worker",
    [4] = "helper",
    [99] = "privileged agent",
}

local errmsg = base.get_errmsg_ptr()
local FFI_ERROR = base.FFI_ERROR

local _M = { version = base.version }

function _M.type()
    return names[tonumber(C.ngx_stream_lua_ffi_get_process_type())]
end

function _M.enable_privileged_agent(connections)
    if ngx.get_phase() ~= "init" then
        return nil, "API disabled in the current context"
    end
    connections = connections or 512
    if type(connections) ~= "number" or connections < 0 then
        return nil, "bad 'connections' argument: "
                    .. "number expected and greater than 0"
    end
    if C.ngx_stream_lua_ffi_enable_privileged_agent(errmsg, connections)
       == FFI_ERROR
    then
        return nil, ffi.string(errmsg[0])
    end
    return true
end

function _M.signal_graceful_exit()
    C.ngx_stream_lua_ffi_process_signal_graceful_exit()
end

function _M.get_master_pid()
    local pid = C.ngx_stream_lua_ffi_master_pid()
    if pid == FFI_ERROR then
        return nil
    end
    return tonumber(pid)
end

return _M
