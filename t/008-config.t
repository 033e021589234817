# Behaviour follows stream-lua v0.0.16 (see upstream t/114-config.t, t/119-config-prefix.t,
# t/121-version.t, t/125-configure-args.t, src/ngx_stream_lua_config.c,
# src/ngx_stream_lua_directive.c)

use Test::Nginx::Socket::Lua::Stream;

repeat_each(1);

plan tests => repeat_each() * (blocks() * 2);

run_tests();

__DATA__

=== TEST 1: ngx.config.subsystem is the string "stream"
--- stream_server_config
    content_by_lua_block {
        local which = ngx.config.subsystem
        ngx.say(type(which), " ", which, " ", which == "stream")
    }
--- stream_response
string stream true
--- no_error_log
[error]



=== TEST 2: ngx.config.ngx_lua_version is 16
--- stream_server_config
    content_by_lua_block {
        local v = ngx.config.ngx_lua_version
        ngx.say("version: ", v, " ", type(v))
    }
--- stream_response
version: 16 number
--- no_error_log
[error]



=== TEST 3: ngx.config.nginx_version is the numeric nginx version
--- stream_server_config
    content_by_lua_block {
        local v = ngx.config.nginx_version
        ngx.say(type(v), " ", v == math.floor(v), " ", v >= 1013006)
        ngx.say(string.format("%d.%d.%d", math.floor(v / 1000000),
                              math.floor(v / 1000) % 1000, v % 1000)
                == ngx.var.nginx_version)
    }
--- stream_response
number true true
true
--- no_error_log
[error]



=== TEST 4: ngx.config.prefix() is the server root with a trailing slash
--- stream_server_config
    content_by_lua_block {
        local p = ngx.config.prefix()
        local root = ("$TEST_NGINX_SERVER_ROOT"):gsub("/+$", "")
        ngx.say(type(p), " ", p:sub(-1) == "/", " ", p:gsub("/+$", "") == root)
    }
--- stream_response
string true true
--- no_error_log
[error]



=== TEST 5: files can be opened relative to ngx.config.prefix()
--- stream_server_config
    content_by_lua_block {
        local f = assert(io.open(ngx.config.prefix() .. "html/marker.txt"))
        ngx.print(f:read("*a"))
        f:close()
    }
--- user_files
>>> marker.txt
found the marker
--- stream_response
found the marker
--- no_error_log
[error]



=== TEST 6: ngx.config.nginx_configure() returns the configure arguments
--- stream_server_config
    content_by_lua_block {
        local args = ngx.config.nginx_configure()
        ngx.say(type(args), " ", args:find("--with-stream", 1, true) ~= nil)
    }
--- stream_response
string true
--- no_error_log
[error]



=== TEST 7: ngx.config.debug is a boolean telling whether nginx has --with-debug
--- stream_server_config
    content_by_lua_block {
        local d = ngx.config.debug
        local built_with = ngx.config.nginx_configure():find("--with-debug", 1, true) ~= nil
        ngx.say(type(d), " ", d == built_with)
    }
--- stream_response
boolean true
--- no_error_log
[error]



=== TEST 8: lua_load_resty_core is accepted with a deprecation warning
--- stream_config
    lua_load_resty_core on;
--- stream_server_config
    content_by_lua_block {
        ngx.say("still works")
    }
--- stream_response
still works
--- error_log eval
qr/\[warn\] .*lua_load_resty_core is deprecated \(the lua-resty-core library is required since ngx_stream_lua v0\.0\.8\)/



=== TEST 9: lua_code_cache accepts only on and off
--- stream_server_config
    lua_code_cache maybe;
    content_by_lua_block {
        ngx.say("unreachable")
    }
--- must_die
--- error_log
invalid value "maybe" in "lua_code_cache" directive, it must be "on" or "off"



=== TEST 10: content_by_lua_block is not allowed at the stream level
--- stream_config
    content_by_lua_block {
        ngx.say("wrong place")
    }
--- stream_server_config
    content_by_lua_block {
        ngx.say("right place")
    }
--- must_die
--- error_log eval
qr/\[emerg\] .*"content_by_lua_block" directive is not allowed here/



=== TEST 11: two content handlers in one server
The *_by_lua_block parser reports the handler's bare message (no directive name).
--- stream_server_config
    content_by_lua_block {
        ngx.say("first")
    }
    content_by_lua_block {
        ngx.say("second")
    }
--- must_die
--- error_log eval
qr/\[emerg\] \S+ is duplicate in \S*nginx\.conf:\d+/



=== TEST 12: content_by_lua_file after content_by_lua_block is a duplicate too
--- stream_server_config
    content_by_lua_block {
        ngx.say("first")
    }
    content_by_lua_file html/second.lua;
--- user_files
>>> second.lua
ngx.say("second")
--- must_die
--- error_log eval
qr/\[emerg\] .*"content_by_lua_file" directive is duplicate/



=== TEST 13: an empty content_by_lua_block has no runnable code
--- stream_server_config
    content_by_lua_block {}
--- must_die
--- error_log
invalid location config: no runnable Lua code



=== TEST 14: lua_package_path belongs to the stream level only
--- stream_server_config
    lua_package_path '/tmp/?.lua;;';
    content_by_lua_block {
        ngx.say("unreachable")
    }
--- must_die
--- error_log eval
qr/\[emerg\] .*"lua_package_path" directive is not allowed here/



=== TEST 15: lua_package_path given twice
--- stream_config
    lua_package_path '/tmp/a/?.lua;;';
    lua_package_path '/tmp/b/?.lua;;';
--- stream_server_config
    content_by_lua_block {
        ngx.say("unreachable")
    }
--- must_die
--- error_log eval
qr/\[emerg\] .*"lua_package_path" directive is duplicate/



=== TEST 16: content_by_lua_block does not take arguments
--- stream_server_config
    content_by_lua_block extra {
        ngx.say("unreachable")
    }
--- must_die
--- error_log eval
qr/\[emerg\] .*invalid number of arguments in "content_by_lua_block" directive/
