-- stream-lua-rs built-in `ngx.base64` (require "ngx.base64"): URL-safe base64 through
-- nginx's own ngx_encode_base64url/ngx_decode_base64url, as lua-resty-core 0.1.31's does.
local ffi = require "ffi"
local base = require "resty.core.base"
local C = ffi.C
local ffi_string = ffi.string
local type, floor = type, math.floor
local get_string_buf = base.get_string_buf

ffi.cdef[[
void ngx_encode_base64url(ngx_str_t *dst, ngx_str_t *src);
intptr_t ngx_decode_base64url(ngx_str_t *dst, ngx_str_t *src);
]]

local src_str = ffi.new("ngx_str_t[1]")
local dst_str = ffi.new("ngx_str_t[1]")

local _M = { version = base.version }

function _M.encode_base64url(s)
    if type(s) ~= "string" then
        return nil, "must provide a string"
    end
    local len = #s
    local dlen = floor((len + 2) / 3) * 4
    src_str[0].data, src_str[0].len = s, len
    dst_str[0].data, dst_str[0].len = get_string_buf(dlen), dlen
    C.ngx_encode_base64url(dst_str, src_str)
    return ffi_string(dst_str[0].data, dst_str[0].len)
end

function _M.decode_base64url(s)
    if type(s) ~= "string" then
        return nil, "must provide a string"
    end
    local len = #s
    local dlen = floor((len + 3) / 4) * 3
    src_str[0].data, src_str[0].len = s, len
    dst_str[0].data, dst_str[0].len = get_string_buf(dlen), dlen
    if C.ngx_decode_base64url(dst_str, src_str) == ngx.ERROR then
        return nil, "invalid input"
    end
    return ffi_string(dst_str[0].data, dst_str[0].len)
end

return _M
