# Behaviour follows stream-lua v0.0.16 (see upstream t/004-require.t, t/123-lua-path.t,
# src/ngx_stream_lua_util.c: ";;" is replaced by the default path, "$prefix" and "${prefix}"
# by the nginx prefix, which ends with a slash).

use Test::Nginx::Socket::Lua::Stream;

repeat_each(1);

plan tests => repeat_each() * (blocks() * 2);

run_tests();

__DATA__

=== TEST 1: require a module found through $prefix in lua_package_path
--- stream_config
    lua_package_path '$prefix/html/?.lua;;';
--- stream_server_config
    content_by_lua_block {
        local shapes = require "shapes"
        ngx.say("area: ", shapes.square(7))
    }
--- user_files
>>> shapes.lua
local _M = {}

function _M.square(side)
    return side * side
end

return _M
--- stream_response
area: 49
--- no_error_log
[error]



=== TEST 2: $prefix is expanded with the prefix path
--- stream_config
    lua_package_path '$prefix/html/?.lua;;';
--- stream_server_config
    content_by_lua_block {
        local want = ngx.config.prefix() .. "/html/?.lua;"
        ngx.say("starts with prefix: ", package.path:sub(1, #want) == want)
        ngx.say("literal left: ", package.path:find("$prefix", 1, true) ~= nil)
    }
--- stream_response
starts with prefix: true
literal left: false
--- no_error_log
[error]



=== TEST 3: ${prefix} is expanded too
--- stream_config
    lua_package_path '${prefix}html/?.lua;;';
--- stream_server_config
    content_by_lua_block {
        local want = ngx.config.prefix() .. "html/?.lua;"
        ngx.say("starts with prefix: ", package.path:sub(1, #want) == want)
        local m = require "braced"
        ngx.say(m)
    }
--- user_files
>>> braced.lua
return "braced module loaded"
--- stream_response
starts with prefix: true
braced module loaded
--- no_error_log
[error]



=== TEST 4: a trailing ;; appends the default path
--- stream_config
    lua_package_path '/opt/first/?.lua;;';
--- stream_server_config
    content_by_lua_block {
        local p = package.path
        ngx.say("first entry: ", p:sub(1, #"/opt/first/?.lua;") == "/opt/first/?.lua;")
        ngx.say("has default: ", p:find(";./?.lua;", 1, true) ~= nil)
        ngx.say("ends with separator: ", p:sub(-1) == ";")
    }
--- stream_response
first entry: true
has default: true
ends with separator: true
--- no_error_log
[error]



=== TEST 5: a leading ;; puts the default path first
--- stream_config
    lua_package_path ';;/opt/last/?.lua';
--- stream_server_config
    content_by_lua_block {
        local p = package.path
        ngx.say("last entry: ", p:sub(-#";/opt/last/?.lua") == ";/opt/last/?.lua")
        ngx.say("has default: ", p:find("./?.lua;", 1, true) ~= nil)
    }
--- stream_response
last entry: true
has default: true
--- no_error_log
[error]



=== TEST 6: without ;; the path is used as given (set at run time: a lua_package_path
without ;; loses the default path where resty.core is found, t/041)
--- stream_server_config
    content_by_lua_block {
        package.path = "/only/here/?.lua"
        ngx.say(package.path)
    }
--- stream_response
/only/here/?.lua
--- no_error_log
[error]



=== TEST 7: lua_package_cpath without ;; is used as given
--- stream_config
    lua_package_cpath '/only/here/?.so';
--- stream_server_config
    content_by_lua_block {
        ngx.say(package.cpath)
    }
--- stream_response
/only/here/?.so
--- no_error_log
[error]



=== TEST 8: lua_package_cpath with $prefix and ;;
--- stream_config
    lua_package_cpath '$prefix/lib/?.so;;';
--- stream_server_config
    content_by_lua_block {
        local want = ngx.config.prefix() .. "/lib/?.so;"
        local p = package.cpath
        ngx.say("starts with prefix: ", p:sub(1, #want) == want)
        ngx.say("longer than given: ", #p > #want)
        ngx.say("ends with separator: ", p:sub(-1) == ";")
    }
--- stream_response
starts with prefix: true
longer than given: true
ends with separator: true
--- no_error_log
[error]



=== TEST 9: modules in sub-directories
--- stream_config
    lua_package_path '$prefix/html/?.lua;;';
--- stream_server_config
    content_by_lua_block {
        local util = require "toolbox.strings"
        ngx.say(util.shout("quiet"))
    }
--- user_files
>>> toolbox/strings.lua
local _M = {}

function _M.shout(s)
    return string.upper(s) .. "!"
end

return _M
--- stream_response
QUIET!
--- no_error_log
[error]



=== TEST 10: a missing module lists the configured locations
--- stream_config
    lua_package_path '/nonexistent/dir/?.lua;;';
    lua_package_cpath '/nonexistent/lib/?.so';
--- stream_server_config
    content_by_lua_block {
        local ok, err = pcall(require, "no.such.module")
        ngx.say("ok: ", ok)
        ngx.say("not found: ", err:find("module 'no.such.module' not found:", 1, true) ~= nil)
        ngx.say("lua path tried: ", err:find("no file '/nonexistent/dir/no/such/module.lua'", 1, true) ~= nil)
        ngx.say("c path tried: ", err:find("no file '/nonexistent/lib/no/such/module.so'", 1, true) ~= nil)
    }
--- stream_response
ok: false
not found: true
lua path tried: true
c path tried: true
--- no_error_log
[error]



=== TEST 11: a module body runs once per VM and require returns the cached value
--- stream_config
    lua_package_path '$prefix/html/?.lua;;';
--- stream_server_config
    content_by_lua_block {
        local a = require "loadcount"
        local b = require "loadcount"
        ngx.say("same: ", a == b, ", loaded ", a.loads, " time(s)")
    }
--- user_files
>>> loadcount.lua
local _M = {loads = 0}
_M.loads = _M.loads + 1
ngx.log(ngx.WARN, "loadcount body running")
return _M
--- stream_response
same: true, loaded 1 time(s)
--- error_log
loadcount body running
--- no_error_log
[error]



=== TEST 12: an error while loading a module reaches the caller
--- stream_config
    lua_package_path '$prefix/html/?.lua;;';
--- stream_server_config
    content_by_lua_block {
        local ok, err = pcall(require, "broken_mod")
        ngx.say("ok: ", ok)
        ngx.say("message: ", err:match("broken_mod%.lua:2: .*$"))
    }
--- user_files
>>> broken_mod.lua
local x = 1
error("cannot initialise broken_mod")
return {}
--- stream_response
ok: false
message: broken_mod.lua:2: cannot initialise broken_mod
--- no_error_log
[error]



=== TEST 13: lua_package_path naming the html directory through the environment
--- stream_config
    lua_package_path "$TEST_NGINX_HTML_DIR/?.lua;;";
--- stream_server_config
    content_by_lua_block {
        ngx.say(require("envpath").name)
    }
--- user_files
>>> envpath.lua
return { name = "found via TEST_NGINX_HTML_DIR" }
--- stream_response
found via TEST_NGINX_HTML_DIR
--- no_error_log
[error]



=== TEST 14: modules can use the ngx API at load time and in functions
--- stream_config
    lua_package_path '$prefix/html/?.lua;;';
--- stream_server_config
    content_by_lua_block {
        local talker = require "talker"
        talker.talk()
    }
--- user_files
>>> talker.lua
local ngx = ngx
local say = ngx.say
local _M = { phase_at_load = ngx.get_phase() }

function _M.talk()
    say("loaded during ", _M.phase_at_load, ", talking during ", ngx.get_phase())
end

return _M
--- stream_response
loaded during content, talking during content
--- no_error_log
[error]



=== TEST 15: an nginx built --with-debug puts upstream's ../lua-resty-core and ../lua-resty-lrucache first in the default path
--- stream_server_config
    content_by_lua_block {
        local prefix = "../lua-resty-core/lib/?.lua;../lua-resty-lrucache/lib/?.lua;"
        local has = package.path:sub(1, #prefix) == prefix
        ngx.say(ngx.config.debug == has)
    }
--- stream_response
true
--- no_error_log
[error]
