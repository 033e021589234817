-- stream-lua-rs built-in `ngx.base64` (require "ngx.base64"): URL-safe base64 (no padding)
-- done by nginx itself (ngx_encode_base64url / ngx_decode_base64url).
local ffi = require "ffi"
local base = require "resty.core.base"
local C = ffi.C
local type, ceil = type, math.ceil
local scratch = base.get_string_buf

-- the two nginx strings of every call: [0] what is read, [1] where nginx writes
local strs = ffi.new("ngx_str_t[2]")
local from, into = strs + 0, strs + 1

-- Aims `from` at s and `into` at scratch room for the result (`out` bytes for every `inp`
-- bytes of s, the last group rounded up); false when s is not a string.
local function aim(s, inp, out)
    if type(s) ~= "string" then
        return false
    end
    local n = #s
    local room = ceil(n / inp) * out
    from.data, from.len = s, n
    into.data, into.len = scratch(room), room
    return true
end

local NOT_STRING = "must provide a string"

return {
    version = base.version,

    encode_base64url = function(s)
        if not aim(s, 3, 4) then
            return nil, NOT_STRING
        end
        C.ngx_encode_base64url(into, from)
        return ffi.string(into.data, into.len)
    end,

    decode_base64url = function(s)
        if not aim(s, 4, 3) then
            return nil, NOT_STRING
        end
        if C.ngx_decode_base64url(into, from) == ngx.ERROR then
            return nil, "invalid input"
        end
        return ffi.string(into.data, into.len)
    end,
}
