# String APIs: escape_uri, unescape_uri, encode_args, decode_args, base64 (and ngx.base64),
# md5, md5_bin, sha1_bin, crc32_short, crc32_long, hmac_sha1, quote_sql_str. Behaviour follows
# stream-lua v0.0.16 with lua-resty-core 0.1.31 (upstream t/006, 007, 011, 013, 030, 042, 046,
# 070, 115).
use Test::Nginx::Socket::Lua::Stream;

repeat_each(2);

plan tests => repeat_each() * (blocks() * 2);

run_tests();

__DATA__

=== TEST 1: escape_uri: component (default) keeps only -._~!'()* and alphanumerics
--- stream_server_config
    content_by_lua_block {
        ngx.say(ngx.escape_uri("a b/c?d=e&f#g%h+i"))
        ngx.say(ngx.escape_uri("-._~!'()*AZaz09"))
        ngx.say(ngx.escape_uri("\0\r\n\127\128\255\"<>@[]^`{|}:;,$"))
        ngx.say(ngx.escape_uri("你好"))
    }
--- stream_response
a%20b%2Fc%3Fd%3De%26f%23g%25h%2Bi
-._~!'()*AZaz09
%00%0D%0A%7F%80%FF%22%3C%3E%40%5B%5D%5E%60%7B%7C%7D%3A%3B%2C%24
%E4%BD%A0%E5%A5%BD
--- no_error_log
[error]



=== TEST 2: escape_uri: every type 0-6
--- stream_server_config
    content_by_lua_block {
        local s = " #%+?\"'/&\1\127\128a"
        for t = 0, 6 do
            -- bytes left as they are show as \NNN
            local e = ngx.escape_uri(s, t):gsub("[\1-\31\127-\255]", function(c)
                return "\\" .. c:byte()
            end)
            ngx.say(t, ": ", e)
        end
    }
--- stream_response
0: %20%23%25+%3F"'/&%01%7F%80a
1: %20%23%25%2B%3F"'/&%01%7F%80a
2: %20%23%25%2B%3F%22'%2F%26%01%7F%80a
3: %20%23%25+?%22%27/&%01%7F%80a
4: %20#%+?%22%27/&%01%7F%80a
5: %20#%25+?"'/&%01\127\128a
6: %20#%25+?"'/&%01\127\128a
--- no_error_log
[error]



=== TEST 3: escape_uri: nil, numbers, booleans, tables; nothing to escape returns the string
--- stream_server_config
    content_by_lua_block {
        ngx.say("[", ngx.escape_uri(nil), "] [", ngx.escape_uri(3.5), "] [",
                ngx.escape_uri(true), "] [", ngx.escape_uri(false), "]")
        ngx.say(ngx.escape_uri({}):find("^table%%3A%%200x") ~= nil)
        local s = "plain"
        ngx.say(ngx.escape_uri(s) == s)
    }
--- stream_response
[] [3.5] [true] []
true
true
--- no_error_log
[error]



=== TEST 4: escape_uri: a bad type
--- stream_server_config
    content_by_lua_block {
        local function try(...)
            local ok, err = pcall(ngx.escape_uri, ...)
            ngx.say(ok, " ", err)
        end
        try("a b", "2")
        try("a b", 7)
        try("a b", -1)
    }
--- stream_response_like chomp
^false content_by_lua\(nginx\.conf:\d+\):3: "type" is not a number
false content_by_lua\(nginx\.conf:\d+\):3: "type" 7 out of range
false content_by_lua\(nginx\.conf:\d+\):3: "type" -1 out of range
$
--- no_error_log
[error]



=== TEST 5: unescape_uri: %XX, plus signs, bad escapes, nil and numbers
--- stream_server_config
    content_by_lua_block {
        ngx.say(ngx.unescape_uri("a%20b+c%2Fd%e4%BD%a0"))
        ngx.say("[", ngx.unescape_uri("%zz|%2z|%|x%"), "]")
        ngx.say("[", ngx.unescape_uri(nil), "] [", ngx.unescape_uri(12), "]")
        ngx.say(ngx.unescape_uri(ngx.escape_uri("\0\1\255 x?&=")) == "\0\1\255 x?&=")
    }
--- stream_response
a b c/d你
[zz|||x]
[] [12]
true
--- no_error_log
[error]



=== TEST 6: escape and unescape huge strings
--- stream_server_config
    content_by_lua_block {
        local s = string.rep("a /", 100000)
        local e = ngx.escape_uri(s)
        ngx.say(#e, " ", e:sub(1, 14))
        ngx.say(ngx.unescape_uri(e) == s)
    }
--- stream_response
700000 a%20%2Fa%20%2F
true
--- no_error_log
[error]



=== TEST 7: encode_args: strings, numbers, booleans, arrays, escaping
--- stream_server_config
    content_by_lua_block {
        ngx.say(ngx.encode_args({a = "b c"}))
        ngx.say(ngx.encode_args({["a b"] = 3.25}))
        ngx.say("[", ngx.encode_args({a = true}), "] [", ngx.encode_args({a = false}), "]")
        ngx.say(ngx.encode_args({a = {1, "x&y", true, false, "z"}}))
        ngx.say("[", ngx.encode_args({}), "] [", ngx.encode_args({a = {}}), "]")
        local s = ngx.encode_args({foo = "1", bar = {"2", "3"}})
        ngx.say(s == "foo=1&bar=2&bar=3" or s == "bar=2&bar=3&foo=1")
    }
--- stream_response
a=b%20c
a%20b=3.25
[a] []
a=1&a=x%26y&a&a=z
[] []
true
--- no_error_log
[error]



=== TEST 8: encode_args: bad arguments
--- stream_server_config
    content_by_lua_block {
        local function try(...)
            local ok, err = pcall(ngx.encode_args, ...)
            ngx.say(err)
        end
        try()
        try({}, {})
        try("a=b")
        try(nil)
        try({[1] = "x"})
        try({a = ngx.null})
        try({a = print})
        try({a = {{}}})
        local ok, err = pcall(function() local s = ngx.encode_args(3) return s end)
        ngx.say(err)
    }
--- stream_response_like chomp
^.*expecting 1 argument but seen 0
.*expecting 1 argument but seen 2
bad argument #1 to '\?' \(table expected, got string\)
bad argument #1 to '\?' \(table expected, got nil\)
.*attempt to use a non-string key in the "args" option table
.*attempt to use userdata as query arg value
.*attempt to use function as query arg value
.*attempt to use table as query arg value
.*bad argument #1 to 'encode_args' \(table expected, got number\)
$
--- no_error_log
[error]



=== TEST 9: decode_args: values, boolean args, repeated keys, escapes, empty keys
--- stream_server_config
    content_by_lua_block {
        local args = ngx.decode_args("a=1&b&c=&a=2&a&&=x&d=e=f&%61%20b=c+d&b=3")
        local keys = {}
        for k in pairs(args) do keys[#keys + 1] = k end
        table.sort(keys)
        for _, k in ipairs(keys) do
            local v = args[k]
            if type(v) == "table" then
                local parts = {}
                for i, x in ipairs(v) do parts[i] = tostring(x) end
                v = "{" .. table.concat(parts, ",") .. "}"
            end
            ngx.say(k, ": ", tostring(v))
        end
        ngx.say(next(ngx.decode_args("")) == nil, " ", next(ngx.decode_args("&&=&")) == nil)
        ngx.say(ngx.decode_args(123)["123"])
    }
--- stream_response
a: {1,2,true}
a b: c d
b: {true,3}
c: 
d: e=f
true true
true
--- no_error_log
[error]



=== TEST 10: decode_args: the max argument and the default limit of 100
--- stream_server_config
    content_by_lua_block {
        local function count(t)
            local n = 0
            for _ in pairs(t) do n = n + 1 end
            return n
        end
        local t, err = ngx.decode_args("a=1&b=2&c=3", 2)
        ngx.say(count(t), " ", err)
        t, err = ngx.decode_args("a=1&b=2&c=3", 3)
        ngx.say(count(t), " ", err)
        t, err = ngx.decode_args("a=1&b=2&", 2)
        ngx.say(count(t), " ", err)
        t, err = ngx.decode_args("a=1&b=2&c=3", 0)
        ngx.say(count(t), " ", err)
        t, err = ngx.decode_args("a=1&b=2&c=3", "1")
        ngx.say(count(t), " ", err)
        local parts = {}
        for i = 1, 150 do parts[i] = "k" .. i .. "=" .. i end
        t, err = ngx.decode_args(table.concat(parts, "&"))
        ngx.say(count(t), " ", err, " ", t.k100, " ", t.k101)
    }
--- stream_response
2 truncated
3 nil
2 truncated
3 nil
1 truncated
100 truncated 100 nil
--- no_error_log
[error]



=== TEST 11: decode_args: bad arguments
--- stream_server_config
    content_by_lua_block {
        local function try(...)
            local ok, err = pcall(ngx.decode_args, ...)
            ngx.say(err)
        end
        try()
        try("a", 1, 2)
        try(nil)
        try({})
        try("a", "x")
    }
--- stream_response_like chomp
^.*expecting 1 or 2 arguments but seen 0
.*expecting 1 or 2 arguments but seen 3
bad argument #1 to '\?' \(string expected, got nil\)
bad argument #1 to '\?' \(string expected, got table\)
bad argument #2 to '\?' \(number expected, got string\)
$
--- no_error_log
[error]



=== TEST 12: encode_base64 and decode_base64, with and without padding
--- stream_server_config
    content_by_lua_block {
        for _, s in ipairs({"", "a", "ab", "abc", "abcd", "\0\255\254"}) do
            local e = ngx.encode_base64(s)
            ngx.say("[", e, "] [", ngx.encode_base64(s, true), "] ",
                    ngx.decode_base64(e) == s, " ", ngx.decode_base64(ngx.encode_base64(s, true)) == s)
        end
        ngx.say("[", ngx.encode_base64(nil), "] [", ngx.encode_base64(32), "] [",
                ngx.encode_base64(true), "]")
    }
--- stream_response
[] [] true true
[YQ==] [YQ] true true
[YWI=] [YWI] true true
[YWJj] [YWJj] true true
[YWJjZA==] [YWJjZA] true true
[AP/+] [AP/+] true true
[] [MzI=] [dHJ1ZQ==]
--- no_error_log
[error]



=== TEST 13: decode_base64: invalid input gives nil; bad argument types
--- stream_server_config
    content_by_lua_block {
        ngx.say(ngx.decode_base64("a"), " ", ngx.decode_base64("YQ=x"), " ",
                ngx.decode_base64("Y*Q="), " ", ngx.decode_base64("YWJj\n"))
        ngx.say(pcall(ngx.decode_base64, nil))
        ngx.say(pcall(ngx.decode_base64, 12))
        ngx.say(pcall(ngx.encode_base64, "a", 1))
    }
--- stream_response_like chomp
^nil a nil nil
false.*string argument only
false.*string argument only
false.*bad no_padding: boolean expected, got number
$
--- no_error_log
[error]



=== TEST 14: base64 of a huge string
--- stream_server_config
    content_by_lua_block {
        local s = string.rep("\1\2\3xyz", 50000)
        local e = ngx.encode_base64(s)
        ngx.say(#e, " ", ngx.decode_base64(e) == s)
    }
--- stream_response
400000 true
--- no_error_log
[error]



=== TEST 15: ngx.base64 url-safe variants
--- stream_server_config
    content_by_lua_block {
        local b64 = require "ngx.base64"
        ngx.say(b64.encode_base64url("\255\254\253hello?"))
        ngx.say(b64.decode_base64url("__79aGVsbG8_") == "\255\254\253hello?")
        ngx.say(b64.encode_base64url(""), "|", b64.decode_base64url(""))
        ngx.say(b64.decode_base64url("a"))
        ngx.say(b64.encode_base64url(12))
        ngx.say(b64.decode_base64url(nil))
    }
--- stream_response
__79aGVsbG8_
true
|
nilinvalid input
nilmust provide a string
nilmust provide a string
--- no_error_log
[error]



=== TEST 16: md5, md5_bin, sha1_bin
--- stream_server_config
    content_by_lua_block {
        ngx.say(ngx.md5("hello"), " ", ngx.md5(""), " ", ngx.md5(nil), " ", ngx.md5(3.14))
        ngx.say(ngx.md5(true))
        ngx.say(ngx.encode_base64(ngx.md5_bin("hello")), " ", #ngx.md5_bin(nil))
        ngx.say(ngx.encode_base64(ngx.sha1_bin("hello")), " ", ngx.encode_base64(ngx.sha1_bin(nil)))
        local big = string.rep("a", 100000)
        ngx.say(ngx.md5(big))
        local hex = ngx.sha1_bin(big):gsub(".", function(c) return string.format("%02x", c:byte()) end)
        ngx.say(hex)
    }
--- stream_response
5d41402abc4b2a76b9719d911017c592 d41d8cd98f00b204e9800998ecf8427e d41d8cd98f00b204e9800998ecf8427e 4beed3b9c4a886067de0e3a094246f78
b326b5062b2f0e69046810717534cb09
XUFAKrxLKna5cZ2REBfFkg== 16
qvTGHdzF6KLavt4PO0gs2a6pQ00= 2jmj7l5rSw0yVb/vlWAYkK/YBwk=
1af6d6f2f682f76f80e606aeaaee1680
c4d4b30851182fc4eb8675494d42fd7f17e29c93
--- no_error_log
[error]



=== TEST 17: crc32_short and crc32_long
--- stream_server_config
    content_by_lua_block {
        ngx.say(ngx.crc32_short("hello"), " ", ngx.crc32_long("hello"), " ",
                ngx.crc32_short(""), " ", ngx.crc32_long(nil), " ", ngx.crc32_short("nil"))
        local big = string.rep("x", 10000)
        ngx.say(ngx.crc32_short(big), " ", ngx.crc32_long(big))
    }
--- stream_response
907060870 907060870 0 0 1295237797
223716515 223716515
--- no_error_log
[error]



=== TEST 18: hmac_sha1
--- stream_server_config
    content_by_lua_block {
        local enc = ngx.encode_base64
        ngx.say(enc(ngx.hmac_sha1("thisisverysecretstuff", "some string we want to sign")))
        ngx.say(enc(ngx.hmac_sha1(string.rep("k", 100), "msg")))
        ngx.say(enc(ngx.hmac_sha1("", "")))
        ngx.say(#ngx.hmac_sha1(1, 2))
    }
--- stream_response
R/pvxzHC4NLtj7S+kXFg/NePTmk=
o/bpDXkrbKXtO/xVakqnPWLXyuQ=
+9sdGxiqbAgyS31ktx+3Y3BpDh0=
20
--- no_error_log
[error]



=== TEST 19: hmac_sha1: bad arguments
--- stream_server_config
    content_by_lua_block {
        ngx.say(select(2, pcall(ngx.hmac_sha1, "a")))
        ngx.say(select(2, pcall(ngx.hmac_sha1, "a", "b", "c")))
        ngx.say(select(2, pcall(ngx.hmac_sha1, nil, "b")))
        ngx.say(select(2, pcall(ngx.hmac_sha1, "a", {})))
    }
--- stream_response_like chomp
^.*expecting 2 arguments, but got 1
.*expecting 2 arguments, but got 3
bad argument #1 to '\?' \(string expected, got nil\)
bad argument #2 to '\?' \(string expected, got table\)
$
--- no_error_log
[error]



=== TEST 20: quote_sql_str
--- stream_server_config
    content_by_lua_block {
        ngx.say(ngx.quote_sql_str("abc"), " ", ngx.quote_sql_str(""), " ", ngx.quote_sql_str(12))
        ngx.say(ngx.quote_sql_str("a\0b\bc\nd\re\tf\26g\\h'i\"j"))
        ngx.say(ngx.quote_sql_str("你好'"))
        ngx.say(#ngx.quote_sql_str(string.rep("'", 100000)))
    }
--- stream_response
'abc' '' '12'
'a\0b\bc\nd\re\tf\Zg\\h\'i\"j'
'你好\''
200002
--- no_error_log
[error]



=== TEST 21: quote_sql_str: bad arguments
--- stream_server_config
    content_by_lua_block {
        ngx.say(select(2, pcall(ngx.quote_sql_str)))
        ngx.say(select(2, pcall(ngx.quote_sql_str, "a", "b")))
        ngx.say(select(2, pcall(ngx.quote_sql_str, nil)))
        ngx.say(select(2, pcall(ngx.quote_sql_str, true)))
    }
--- stream_response_like chomp
^.*expecting one argument
.*expecting one argument
bad argument #1 to '\?' \(string expected, got nil\)
bad argument #1 to '\?' \(string expected, got boolean\)
$
--- no_error_log
[error]



=== TEST 22: the string APIs work in init_by_lua, timers and log_by_lua too
--- stream_config
    init_by_lua_block {
        package.loaded.init_md5 = ngx.md5("x") .. " " .. ngx.encode_args({a = 1})
            .. " " .. ngx.quote_sql_str("'")
    }
--- stream_server_config
    content_by_lua_block {
        ngx.say(package.loaded.init_md5)
        local sem = require("ngx.semaphore").new()
        local done
        ngx.timer.at(0, function()
            done = ngx.escape_uri("a b") .. " " .. ngx.crc32_long("hello")
            sem:post()
        end)
        sem:wait(5)
        ngx.say(done)
    }
    log_by_lua_block {
        ngx.log(ngx.WARN, "log phase: ", ngx.encode_base64("hi"), " ", ngx.decode_args("a=b").a)
    }
--- stream_response
9dd4e461268c8034f5c8564e155c67a6 a=1 '\''
a%20b 907060870
--- error_log
log phase: aGk= b



=== TEST 23: decode_base64mime exists but is http-only, as with lua-resty-core in stream
--- stream_server_config
    content_by_lua_block {
        ngx.say(type(ngx.decode_base64mime))
        ngx.say(pcall(ngx.decode_base64mime, nil))
        ngx.say(pcall(ngx.decode_base64mime, "YQ=="))
    }
--- stream_response_like chomp
^function
false.*string argument only
false.*missing declaration for symbol 'ngx_http_lua_ffi_decode_base64mime'
$
--- no_error_log
[error]



=== TEST 24: encode_args and decode_args edge cases, as the C module answers them
--- stream_server_config
    content_by_lua_block {
        local cases = {
            { a = { true, "x y", false, 1, true } },
            { [""] = "x" },
            { [""] = true },
            { [""] = { true, "v", true } },
            { ["a b"] = "c&d=e" },
        }
        for i, t in ipairs(cases) do ngx.say(i, ": [", ngx.encode_args(t), "]") end
        local function show(q, max)
            local t, e
    if max then t, e = ngx.decode_args(q, max) else t, e = ngx.decode_args(q) end
            local keys = {}
            for k in pairs(t) do keys[#keys + 1] = k end
            table.sort(keys)
            local parts = {}
            for _, k in ipairs(keys) do
                local v = t[k]
                if type(v) == "table" then
                    local vs = {}
                    for j, x in ipairs(v) do vs[j] = tostring(x) end
                    v = "{" .. table.concat(vs, ",") .. "}"
                end
                parts[#parts + 1] = k .. "=" .. tostring(v)
            end
            ngx.say(q, " -> ", table.concat(parts, " "), e and (" " .. e) or "")
        end
        show("a=1&b&a=2&=x&c=%20+&%2z=3&d=%41%4")
        show("a=1&b=2&c=3", 2)
        show("&&a&&")
    }
--- stream_response
1: [a&a=x%20y&a=1&a]
2: [=x]
3: []
4: [&=v&]
5: [a%20b=c%26d%3De]
a=1&b&a=2&=x&c=%20+&%2z=3&d=%41%4 -> a={1,2} b=true c=   d=A
a=1&b=2&c=3 -> a=1 b=2 truncated
&&a&& -> a=true
--- no_error_log
[error]
