-- stream-lua-rs built-in `resty.core.time`: ngx.now/time/today/... are built in; this adds
-- the module's own monotonic clock functions.
local ffi = require "ffi"
local C = ffi.C
local tonumber = tonumber

local function monotonic_msec()
    return tonumber(C.ngx_stream_lua_ffi_monotonic_msec())
end

return {
    version = require("resty.core.base").version,
    monotonic_msec = monotonic_msec,
    monotonic_time = function() return monotonic_msec() / 1000 end,
}
