# The default package.path / package.cpath (what ';;' stands for) also search the directories
# where distributions install Lua 5.1 modules, as the distros' own LuaJIT does (upstream's C
# module, linked to it, finds them that way, e.g. in t/069-null.t): Debian's multiarch
# /usr/lib/<triplet>/lua/5.1, RHEL's /usr/lib64/lua/5.1, and /usr/share/lua/5.1 for Lua files.
# Needs Debian's lua-cjson (scripts/test-servers.sh installs it).

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
        ngx.say(package.loaded.cjson == cjson)
    }
--- stream_response
{"list":[1,2,"three"]}
x true 1.5 true
true null
true
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



=== TEST 4: without ';;' only the given cpath is searched
--- stream_config
    lua_package_cpath '/nowhere/?.so';
--- stream_server_config
    content_by_lua_block {
        local ok, err = pcall(require, "cjson")
        ngx.say(ok, " ", (err:gsub("\n.*", "")))
    }
--- stream_response
false module 'cjson' not found:
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
