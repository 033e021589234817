# The default package.path / package.cpath (what ';;' stands for) also search the directories
# where distributions install Lua 5.1 modules, as the distros' own LuaJIT does (upstream's C
# module, linked to it, finds them that way, e.g. in t/069-null.t): Debian's multiarch
# /usr/lib/<triplet>/lua/5.1, RHEL's /usr/lib64/lua/5.1, and /usr/share/lua/5.1 for Lua files.
# Needs Debian's lua-cjson (scripts/test-servers.sh installs it). Without any cjson module,
# require "cjson" finds a built-in stand-in (TEST 4, 6-8).

use Test::Nginx::Socket::Lua::Stream;

repeat_each(2);

plan tests => repeat_each() * (blocks() * 2);

run_tests();

__DATA__

=== TEST 1: Debian's lua-cjson loads with no lua_package_cpath
--- stream_server_config
    content_by_lua_block {
        local cjson = require "cjson"
        ngx.say(cjson.encode({ list = { 1, 2, "three" } }))
        local t = cjson.decode('{"a": [true, null, 1.5], "b": "x"}')
        ngx.say(t.b, " ", tostring(t.a[1]), " ", t.a[3], " ", t.a[2] == cjson.null)
        ngx.say(cjson.null == ngx.null, " ", cjson.encode(ngx.null))
        ngx.say(package.loaded.cjson == cjson, " ", debug.getinfo(cjson.encode).what)
    }
--- stream_response
{"list":[1,2,"three"]}
x true 1.5 true
true null
true C
--- no_error_log
[error]



=== TEST 2: the default cpath has the distro directories, before LuaJIT's loadall.so
--- stream_server_config
    content_by_lua_block {
        local p = package.cpath
        local function at(s) return p:find(s, 1, true) end
        ngx.say("multiarch: ", p:find("/usr/lib/[%w_]+%-linux%-%w+/lua/5%.1/%?%.so;") ~= nil)
        ngx.say("lib64: ", at("/usr/lib64/lua/5.1/?.so;") ~= nil)
        ngx.say("before loadall: ", at("/usr/lib64/lua/5.1/?.so;") < at("loadall.so"))
        ngx.say("still starts with: ", p:sub(1, 7))
    }
--- stream_response
multiarch: true
lib64: true
before loadall: true
still starts with: ./?.so;
--- no_error_log
[error]



=== TEST 3: ';;' in lua_package_cpath brings the distro directories too
--- stream_config
    lua_package_cpath '/nowhere/?.so;;';
--- stream_server_config
    content_by_lua_block {
        local p = package.cpath
        ngx.say(p:sub(1, 14), " ", p:find("/usr/lib/[%w_]+%-linux%-%w+/lua/5%.1/%?%.so;") ~= nil)
        ngx.say(type(require("cjson").encode))
    }
--- stream_response
/nowhere/?.so; true
function
--- no_error_log
[error]



=== TEST 4: without ';;' only the given cpath is searched: the built-in cjson is used then
--- stream_config
    lua_package_cpath '/nowhere/?.so';
--- stream_server_config
    content_by_lua_block {
        ngx.say(package.cpath, " ", debug.getinfo(require("cjson").encode).what)
    }
--- stream_response
/nowhere/?.so Lua
--- no_error_log
[error]



=== TEST 5: the default path has /usr/share/lua/5.1: lua-cjson's Lua part loads
--- stream_server_config
    content_by_lua_block {
        ngx.say(package.path:find("/usr/share/lua/5.1/?.lua;/usr/share/lua/5.1/?/init.lua", 1, true) ~= nil)
        local util = require "cjson.util"
        ngx.say(type(util.serialise_value))
    }
--- stream_response
true
function
--- no_error_log
[error]



=== TEST 6: with no cjson installed, require "cjson" gives the built-in stand-in
--- stream_server_config
    content_by_lua_block {
        package.cpath = ""
        local cjson = require "cjson"
        ngx.say(cjson._NAME, " ", cjson._VERSION, " ", cjson.null == ngx.null)
        ngx.say(cjson.encode({ list = { 1, 2.5, "x/y", cjson.null, true } }))
        local t = cjson.decode('{"a": [1, null, "\\u00e9"], "b": {}}')
        ngx.say(t.a[1], " ", t.a[2] == cjson.null, " ", t.a[3], " ", next(t.b))
        ngx.say(pcall(cjson.decode, "[1,"))
        local safe = require "cjson.safe"
        ngx.say(safe.decode("{"))
        ngx.say(safe.encode(print))
    }
--- stream_response
cjson 2.1.0 true
{"list":[1,2.5,"x\/y",null,true]}
1 true é nil
falseExpected value but found T_END at character 4
nilExpected object key string but found T_END at character 2
nilCannot serialise function: type not supported
--- no_error_log
[error]



=== TEST 7: the built-in cjson gives what Debian's lua-cjson gives (output and errors)
--- stream_server_config
    content_by_lua_block {
        local cpath = package.cpath
        package.cpath = ""
        local ours = require "cjson"
        package.loaded.cjson = nil
        package.cpath = cpath
        local real = require "cjson"
        assert(real ~= ours and real.new ~= ours.new, "two different modules")
        local function show(...)
            local t = {}
            for i = 1, select("#", ...) do t[i] = tostring((select(i, ...))) end
            return table.concat(t, " | ")
        end
        local diffs, n = 0, 0
        local function cmp(f, arg)
            n = n + 1
            local ok1, v1 = pcall(real[f], arg)
            local ok2, v2 = pcall(ours[f], arg)
            local a, b = show(ok1, v1), show(ok2, v2)
            if ok1 and ok2 and type(v1) == "table" then
                a, b = real.encode(v1), real.encode(v2)
            end
            if a ~= b then
                diffs = diffs + 1
                ngx.say(f, " #", n, ": ", a, " ~= ", b)
            end
        end
        local loop = {} loop[1] = loop
        local deep, cur = {}, nil
        cur = deep
        for i = 1, 1001 do cur[1] = {} cur = cur[1] end
        for _, v in ipairs({
            "\127\0\1/\"\\\b\f\n\r\t\200é", "", 0, -0, 1, -1, 0.1, 1e20, 1e-20, 2^53,
            123456789012345, 3.14159265358979, true, false, real.null, {}, {1, 2, 3},
            {1, 2, nil, 4}, {[1] = 1, [3] = 3}, {[1] = 1, [20] = 2}, {[1] = 1, [11] = 2},
            {a = 1}, {a = {b = {}}}, {[1.5] = 1}, {[true] = 1}, print, loop, 0/0, 1/0, -1/0,
            {[0] = 1}, {[-1] = 1}, {1, a = 2}, {{}, {{}}}, {x = {1, {y = "z"}}}, deep,
        }) do
            cmp("encode", v)
        end
        for _, v in ipairs({
            "[1,2", '{"a":}', "", "[1] x", '"\\u00e9\\ud83d\\ude00"', "01", "-", "1e5", "0x10",
            "Infinity", "-Infinity", "nan", '"a\nb"', "[true,false,null]", '"\\x"', "{1:2}",
            '"abc', '"\\u12"', '"\\ud800"', "  [ 1 , 2 ] ", "{}", "[]", '{"a":[1,{"b":null}]}',
            "tru", "nul", "[1,]", "{,}", '{"a" 1}', '{"a":1,}', "1.5e+3", "-0", ".5", "+1", "1e",
            "[", "]", "x", '"\\/\\b\\f\\n\\r\\t\\"\\\\"', "123abc", "[1 2]", '"\\u0000"',
            string.rep("[", 1001) .. string.rep("]", 1001), 5,
        }) do
            cmp("decode", v)
        end
        ngx.say(n, " cases, ", diffs, " differences")
    }
--- stream_response
79 cases, 0 differences
--- no_error_log
[error]



=== TEST 8: the built-in cjson has OpenResty's additions
--- stream_server_config
    content_by_lua_block {
        package.cpath = ""
        local cjson = require "cjson"
        local c = cjson.new()
        c.encode_empty_table_as_object(false)
        c.encode_escape_forward_slash(false)
        c.decode_array_with_array_mt(true)
        ngx.say(cjson.encode({}), " ", c.encode({}), " ", cjson.encode(cjson.empty_array), " ",
                cjson.encode(setmetatable({}, cjson.empty_array_mt)), " ", c.encode("a/b"))
        ngx.say(getmetatable(c.decode("[1]")) == cjson.array_mt, " ", getmetatable(cjson.decode("[1]")))
    }
--- stream_response
{} [] [] [] "a/b"
true nil
--- no_error_log
[error]



=== TEST 9: package.loadlib of a distro C module works too
--- stream_server_config
    content_by_lua_block {
        local path = package.searchpath("cjson", package.cpath)
        local open = assert(package.loadlib(path, "luaopen_cjson"))
        local cjson = open()
        ngx.say(type(path), " ", cjson.encode({ 1, "a" }))
    }
--- stream_response
string [1,"a"]
--- no_error_log
[error]
