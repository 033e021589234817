-- The other non-yielding APIs: strings, time, ngx.log below the log level, ngx.re.gmatch,
-- and the shared dict's less common methods.
local bench = ...
local s = "The quick brown fox jumps over the lazy dog / 0123456789"
local b64 = ngx.encode_base64(s)
local esc = ngx.escape_uri(s)
local dict = ngx.shared.bench
dict:set("ttl-key", "v", 100)
for i = 1, 10 do dict:lpush("list", i) end
bench("ngx.md5", function() return ngx.md5(s) end)
bench("ngx.md5_bin", function() return ngx.md5_bin(s) end)
bench("ngx.sha1_bin", function() return ngx.sha1_bin(s) end)
bench("ngx.hmac_sha1", function() return ngx.hmac_sha1("secret", s) end)
bench("ngx.crc32_long", function() return ngx.crc32_long(s) end)
bench("ngx.encode_base64", function() return ngx.encode_base64(s) end)
bench("ngx.decode_base64", function() return ngx.decode_base64(b64) end)
bench("ngx.escape_uri", function() return ngx.escape_uri(s) end)
bench("ngx.unescape_uri", function() return ngx.unescape_uri(esc) end)
bench("ngx.quote_sql_str", function() return ngx.quote_sql_str(s) end)
bench("ngx.time()", function() return ngx.time() end)
bench("ngx.today()", function() return ngx.today() end)
bench("ngx.localtime()", function() return ngx.localtime() end)
bench("ngx.utctime()", function() return ngx.utctime() end)
bench("ngx.log below level", function() return ngx.log(ngx.DEBUG, "x", 1) end)
bench("ngx.worker.id()", function() return ngx.worker.id() end)
bench("ngx.worker.pid()", function() return ngx.worker.pid() end)
bench("ngx.re.gmatch 3 matches (jo)", function()
    local n = 0
    for m in ngx.re.gmatch(s, [[\d{3}]], "jo") do n = n + #m[0] end
    return n
end)
bench("shdict:ttl", function() return dict:ttl("ttl-key") end)
bench("shdict:llen", function() return dict:llen("list") end)
bench("shdict:add (exists)", function() return dict:add("ttl-key", "w") end)
bench("shdict:replace", function() return dict:replace("ttl-key", "w", 100) end)
bench("shdict:delete (miss)", function() return dict:delete("nothing") end)
bench("shdict:free_space", function() return dict:free_space() end)
