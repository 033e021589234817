-- stream-lua-rs built-in `ngx.process` (require "ngx.process"): the process kind, the
-- privileged agent, graceful exit and the master's pid, over the module's exported C ABI.
local ffi = require "ffi"
local base = require "resty.core.base"
local C = ffi.C
local type, tonumber = type, tonumber

-- what nginx's NGX_PROCESS_* numbers (and OpenResty's privileged agent, 99) are called
local KIND = { [0] = "single", "master", "signaller", "worker", "helper", [99] = "privileged agent" }

local FAILED = base.FFI_ERROR
local err_out = base.get_errmsg_ptr()
local DEFAULT_CONNECTIONS = 512
local BAD_CONNECTIONS = "bad 'connections' argument: number expected and greater than 0"

local M = { version = base.version }

M.type = function()
    return KIND[tonumber(C.ngx_stream_lua_ffi_get_process_type())]
end

M.get_master_pid = function()
    local pid = C.ngx_stream_lua_ffi_master_pid()
    return pid ~= FAILED and tonumber(pid) or nil
end

M.signal_graceful_exit = function()
    C.ngx_stream_lua_ffi_process_signal_graceful_exit()
end

-- only from init_by_lua; `connections` defaults to 512
M.enable_privileged_agent = function(connections)
    if ngx.get_phase() ~= "init" then
        return nil, "API disabled in the current context"
    end
    local n = connections or DEFAULT_CONNECTIONS
    if type(n) ~= "number" or n < 0 then
        return nil, BAD_CONNECTIONS
    end
    if C.ngx_stream_lua_ffi_enable_privileged_agent(err_out, n) == FAILED then
        return nil, ffi.string(err_out[0])
    end
    return true
end

return M
