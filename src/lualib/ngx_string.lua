-- stream-lua-rs built-in Lua layer: URI escaping, base64 and hashes over the module's
-- exported C ABI (the functions resty.core.{uri,base64,hash} declare for stream), with the
-- same argument handling: nil is "", other non-strings go through tostring.
local ffi = require "ffi"
local C = ffi.C
local ffi_string = ffi.string
local ngx = ngx
local type, error, tostring, floor = type, error, tostring, math.floor

ffi.cdef[[
size_t ngx_stream_lua_ffi_uri_escaped_length(const unsigned char *src,
    size_t len, int type);
void ngx_stream_lua_ffi_escape_uri(const unsigned char *src, size_t len,
    unsigned char *dst, int type);
size_t ngx_stream_lua_ffi_unescape_uri(const unsigned char *src,
    size_t len, unsigned char *dst);
size_t ngx_stream_lua_ffi_encode_base64(const unsigned char *src,
    size_t len, unsigned char *dst, int no_padding);
int ngx_stream_lua_ffi_decode_base64(const unsigned char *src,
    size_t len, unsigned char *dst, size_t *dlen);
void ngx_stream_lua_ffi_md5_bin(const unsigned char *src, size_t len,
    unsigned char *dst);
void ngx_stream_lua_ffi_md5(const unsigned char *src, size_t len,
    unsigned char *dst);
int ngx_stream_lua_ffi_sha1_bin(const unsigned char *src, size_t len,
    unsigned char *dst);
unsigned int ngx_stream_lua_ffi_crc32_long(const unsigned char *src,
    size_t len);
unsigned int ngx_stream_lua_ffi_crc32_short(const unsigned char *src,
    size_t len);
]]

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

local function to_str(s)
    if type(s) ~= "string" then
        if not s then
            return ""
        end
        return tostring(s)
    end
    return s
end

local ESCAPE_URI, ESCAPE_URI_COMPONENT, ESCAPE_MAIL_AUTH = 0, 2, 6

ngx.escape_uri = function(s, esc_type)
    s = to_str(s)
    if esc_type == nil then
        esc_type = ESCAPE_URI_COMPONENT
    else
        -- level 3, as resty.core reports it
        if type(esc_type) ~= "number" then
            error("\"type\" is not a number", 3)
        end
        if esc_type < ESCAPE_URI or esc_type > ESCAPE_MAIL_AUTH then
            error("\"type\" " .. esc_type .. " out of range", 3)
        end
    end
    local slen = #s
    local dlen = C.ngx_stream_lua_ffi_uri_escaped_length(s, slen, esc_type)
    if dlen == slen then
        return s
    end
    local dst = get_buf(dlen)
    C.ngx_stream_lua_ffi_escape_uri(s, slen, dst, esc_type)
    return ffi_string(dst, dlen)
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

ngx.decode_base64 = function(s)
    if type(s) ~= "string" then
        error("string argument only", 2)
    end
    local slen = #s
    local dst = get_buf(floor((slen + 3) / 4) * 3)
    if C.ngx_stream_lua_ffi_decode_base64(s, slen, dst, size_ptr) == 0 then
        return nil
    end
    return ffi_string(dst, size_ptr[0])
end

-- lua-resty-core 0.1.31 defines this in stream too, over an http-only function it declares
-- for http only: calling it fails the same way ("missing declaration for symbol"), but the
-- key exists (upstream t/062-count.t counts it)
ngx.decode_base64mime = function(s)
    if type(s) ~= "string" then
        error("string argument only", 2)
    end
    local slen = #s
    local dst = get_buf(floor((slen + 3) / 4) * 3)
    if C.ngx_http_lua_ffi_decode_base64mime(s, slen, dst, size_ptr) == 0 then
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
