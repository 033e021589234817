-- stream-lua-rs built-in `ngx.base64` (require "ngx.base64"): URL-safe base64 (no padding)
-- done by nginx itself (ngx_encode_base64url / ngx_decode_base64url).
local ffi = require "ffi"
local base = require "resty.core.base"
local C = ffi.C
local type, ceil = type, math.ceil
local scratch = base.get_string_buf

-- the two nginx strings of every call: [0] what is read, [1] where nginx writes. `aim`
-- writes them through the array itself, so the array is its upvalue and lives as long as the
-- module: the pointers `from` and `into` alone would not keep it from being collected.
local strs = ffi.new("ngx_str_t[2]")
local from, into = strs + 0, strs + 1

-- Aims the input string at s and the output at scratch room for the result (`out` bytes for
-- every `inp` bytes of s, the last group rounded up), and returns that room, which the caller
-- holds until the result is copied out (a large one is a fresh cdata only it refers to);
-- nil when s is not a string.
local function aim(s, inp, out)
    if type(s) ~= "string" then
        return nil
    end
    local n = #s
    local room = ceil(n / inp) * out
    local buf = scratch(room)
    strs[0].data, strs[0].len = s, n
    strs[1].data, strs[1].len = buf, room
    return buf
end

local NOT_STRING = "must provide a string"

return {
    version = base.version,

    encode_base64url = function(s)
        local buf = aim(s, 3, 4)
        if not buf then
            return nil, NOT_STRING
        end
        C.ngx_encode_base64url(into, from)
        return ffi.string(buf, into.len)
    end,

    decode_base64url = function(s)
        local buf = aim(s, 4, 3)
        if not buf then
            return nil, NOT_STRING
        end
        if C.ngx_decode_base64url(into, from) == ngx.ERROR then
            return nil, "invalid input"
        end
        return ffi.string(buf, into.len)
    end,
}
