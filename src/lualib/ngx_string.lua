-- stream-lua-rs built-in Lua layer: URI escaping, base64 and hashes over the module's
-- exported C ABI (the functions resty.core.{uri,base64,hash} declare for stream), with the
-- same argument handling: nil is "", other non-strings go through tostring.
local ffi = require "ffi"
local C = ffi.C
local ffi_string = ffi.string
local ngx = ngx
local type, error, tostring, floor = type, error, tostring, math.floor

-- one scratch buffer (no call below yields while using it); bigger requests get their own,
-- left to the GC, so a huge string once does not pin memory
local BUF_SIZE = 4096
local buf = ffi.new("unsigned char[?]", BUF_SIZE)
local size_ptr = ffi.new("size_t[1]")

local function get_buf(size)
    if size > BUF_SIZE then
        return ffi.new("unsigned char[?]", size)
    end
    return buf
end

-- the string a string argument stands for: nil and false are "", others go through tostring
local function to_str(s)
    if type(s) == "string" then
        return s
    end
    return s and tostring(s) or ""
end

-- escape_uri's kinds: 0 (URI) to 6 (mail auth); 2 (URI component) when none is given
local FIRST_KIND, DEFAULT_KIND, LAST_KIND = 0, 2, 6
local function escape_kind(kind)
    if kind == nil then
        return DEFAULT_KIND
    elseif type(kind) ~= "number" then
        error('"type" is not a number', 4) -- (one frame past the caller, as resty.core has it)
    elseif kind < FIRST_KIND or kind > LAST_KIND then
        error('"type" ' .. kind .. " out of range", 4)
    end
    return kind
end

ngx.escape_uri = function(s, kind)
    local src = to_str(s)
    local k = escape_kind(kind)
    local n = #src
    local escaped = C.ngx_stream_lua_ffi_uri_escaped_length(src, n, k)
    if escaped == n then
        return src
    end
    local out = get_buf(escaped)
    C.ngx_stream_lua_ffi_escape_uri(src, n, out, k)
    return ffi_string(out, escaped)
end

ngx.unescape_uri = function(s)
    s = to_str(s)
    local slen = #s
    local dst = get_buf(slen)
    return ffi_string(dst, C.ngx_stream_lua_ffi_unescape_uri(s, slen, dst))
end

ngx.encode_base64 = function(s, no_padding)
    s = to_str(s)
    local pad = 0
    if no_padding then
        if no_padding ~= true then
            error("bad no_padding: boolean expected, got " .. type(no_padding), 2)
        end
        pad = 1
    end
    local slen = #s
    local dlen = floor((slen + 2) / 3) * 4
    local dst = get_buf(dlen)
    return ffi_string(dst, C.ngx_stream_lua_ffi_encode_base64(s, slen, dst, pad))
end

-- the decoders' scratch room for s (3 bytes for every 4, the last group rounded up); only a
-- string may be decoded (raised at the decoder's caller)
local function decode_room(s)
    if type(s) ~= "string" then
        error("string argument only", 3)
    end
    return get_buf(floor((#s + 3) / 4) * 3)
end

ngx.decode_base64 = function(s)
    local dst = decode_room(s)
    if C.ngx_stream_lua_ffi_decode_base64(s, #s, dst, size_ptr) == 0 then
        return nil
    end
    return ffi_string(dst, size_ptr[0])
end

-- lua-resty-core 0.1.31 defines this in stream too, over an http-only function it declares
-- for http only: calling it fails the same way ("missing declaration for symbol"), but the
-- key exists (upstream t/062-count.t counts it)
ngx.decode_base64mime = function(s)
    local dst = decode_room(s)
    if C.ngx_http_lua_ffi_decode_base64mime(s, #s, dst, size_ptr) == 0 then
        return nil
    end
    return ffi_string(dst, size_ptr[0])
end

local md5_buf = ffi.new("unsigned char[32]")

ngx.md5_bin = function(s)
    s = to_str(s)
    C.ngx_stream_lua_ffi_md5_bin(s, #s, md5_buf)
    return ffi_string(md5_buf, 16)
end

ngx.md5 = function(s)
    s = to_str(s)
    C.ngx_stream_lua_ffi_md5(s, #s, md5_buf)
    return ffi_string(md5_buf, 32)
end

local sha_buf = ffi.new("unsigned char[20]")

ngx.sha1_bin = function(s)
    s = to_str(s)
    if C.ngx_stream_lua_ffi_sha1_bin(s, #s, sha_buf) == 0 then
        error("SHA-1 support missing in Nginx")
    end
    return ffi_string(sha_buf, 20)
end

ngx.crc32_short = function(s)
    s = to_str(s)
    return C.ngx_stream_lua_ffi_crc32_short(s, #s)
end

ngx.crc32_long = function(s)
    s = to_str(s)
    return C.ngx_stream_lua_ffi_crc32_long(s, #s)
end
