-- stream-lua-rs built-in `ngx.ssl.clienthello` (require "ngx.ssl.clienthello"): what the
-- client's ClientHello asks for, readable while ssl_client_hello_by_lua* runs, over the
-- module's exports (src/api/ssl/clienthello.rs; declared in ngx_ffi_decls.lua) and
-- ngx_ssl_reply.lua's result shapes. The public names, results and error texts are those
-- lua-resty-core 0.1.31 gives in stream.
local ffi = require "ffi"
local bit = require "bit"
local base = require "resty.core.base"
local reply = require "ngx.ssl.rs_reply"
local to_str, new = ffi.string, ffi.new
local error, ipairs, byte, bor = error, ipairs, string.byte, bit.bor

-- the exports, looked up once
local X = reply.exports("ngx.ssl.clienthello", "ngx_stream_lua_ffi_ssl_", {
    sni = "get_client_hello_server_name",
    ext = "get_client_hello_ext",
    protocols = "set_protocols",
})

local err_slot = reply.slot
local size_cell, current = base.get_size_ptr, base.get_request
local text_cell = new("const char *[1]")
local data_cell = new("const unsigned char *[1]")

-- every call here needs the session, and only in the ClientHello phase
local function hello_session()
    local r = current()
    if r == nil then
        error("no request found", 3)
    end
    if ngx.get_phase() ~= "ssl_client_hello" then
        error("API disabled in the current context", 3)
    end
    return r
end

local function extension(r, ext_type)
    local len = size_cell()
    local status = X.ext(r, ext_type, data_cell, len, err_slot)
    return reply.maybe(status, to_str, data_cell[0], len[0])
end

local _M = { version = base.version }

function _M.get_client_hello_server_name()
    local len = size_cell()
    local status = X.sni(hello_session(), text_cell, len, err_slot)
    return reply.maybe(status, to_str, text_cell[0], len[0])
end

function _M.get_client_hello_ext(ext_type)
    return extension(hello_session(), ext_type)
end

-- TLS protocol versions by wire value, and nginx's NGX_SSL_* bit for each name
local wire_name = {
    [0x0002] = "SSLv2", [0x0300] = "SSLv3", [0x0301] = "TLSv1",
    [0x0302] = "TLSv1.1", [0x0303] = "TLSv1.2", [0x0304] = "TLSv1.3",
}
local nginx_bit = {
    SSLv2 = 0x0002, SSLv3 = 0x0004, TLSv1 = 0x0008,
    ["TLSv1.1"] = 0x0010, ["TLSv1.2"] = 0x0020, ["TLSv1.3"] = 0x0040,
}

-- the supported_versions extension (43) is one length byte, then 2-byte wire values; they
-- come back last first, and unknown values are skipped
function _M.get_supported_versions()
    local body, err = extension(hello_session(), 43)
    if body == nil then
        return nil, err
    end
    local n = #body
    if n == 0 or byte(body, 1) ~= n - 1 then
        return nil
    end
    local out = {}
    for at = n - 1, 2, -2 do
        local hi, lo = byte(body, at, at + 1)
        out[#out + 1] = wire_name[hi * 256 + lo]
    end
    return out
end

function _M.set_protocols(protocols)
    local r = hello_session()
    local mask = 0
    for _, name in ipairs(protocols) do
        local b = nginx_bit[name]
        if b == nil then
            return nil, "invalid protocols failed"
        end
        mask = bor(mask, b)
    end
    return reply.ok(X.protocols(r, mask, err_slot), reply.yes)
end

return _M
