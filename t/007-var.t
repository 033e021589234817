# Behaviour follows stream-lua v0.0.16 (see upstream t/045-ngx-var.t,
# src/ngx_stream_lua_variable.c, lua-resty-core var.lua)

use Test::Nginx::Socket::Lua::Stream;

repeat_each(1);

plan tests => repeat_each() * (blocks() * 2);

run_tests();

__DATA__

=== TEST 1: remote_addr is a string
--- stream_server_config
    content_by_lua_block {
        local v = ngx.var.remote_addr
        ngx.say("remote_addr=", v, " (", type(v), ")")
    }
--- stream_response
remote_addr=127.0.0.1 (string)
--- no_error_log
[error]



=== TEST 2: binary_remote_addr holds the four address bytes
--- stream_server_config
    content_by_lua_block {
        local b = ngx.var.binary_remote_addr
        ngx.say(#b, " bytes: ", table.concat({string.byte(b, 1, -1)}, "."))
    }
--- stream_response
4 bytes: 127.0.0.1
--- no_error_log
[error]



=== TEST 3: server_addr and server_port describe the listener
--- stream_server_config
    content_by_lua_block {
        ngx.say("addr: ", ngx.var.server_addr)
        ngx.say("port matches: ", ngx.var.server_port == "$TEST_NGINX_STREAM_PORT")
        ngx.say("port type: ", type(ngx.var.server_port))
    }
--- stream_response
addr: 127.0.0.1
port matches: true
port type: string
--- no_error_log
[error]



=== TEST 4: remote_port is a numeric string
--- stream_server_config
    content_by_lua_block {
        ngx.say(type(ngx.var.remote_port), " ",
                (tonumber(ngx.var.remote_port) or 0) > 0 and tonumber(ngx.var.remote_port) < 65536)
    }
--- stream_response
string true
--- no_error_log
[error]



=== TEST 5: protocol of a TCP server
--- stream_server_config
    content_by_lua_block {
        ngx.say("protocol: ", ngx.var.protocol)
    }
--- stream_response
protocol: TCP
--- no_error_log
[error]



=== TEST 6: nginx_version agrees with ngx.config.nginx_version
--- stream_server_config
    content_by_lua_block {
        local v = ngx.var.nginx_version
        local major, minor, patch = v:match("^(%d+)%.(%d+)%.(%d+)$")
        local num = tonumber(major) * 1000000 + tonumber(minor) * 1000 + tonumber(patch)
        ngx.say("agree: ", num == ngx.config.nginx_version)
    }
--- stream_response
agree: true
--- no_error_log
[error]



=== TEST 7: pid agrees with ngx.worker.pid()
--- stream_server_config
    content_by_lua_block {
        ngx.say("agree: ", ngx.var.pid == tostring(ngx.worker.pid()))
    }
--- stream_response
agree: true
--- no_error_log
[error]



=== TEST 8: connection is a positive serial number
--- stream_server_config
    content_by_lua_block {
        local c = ngx.var.connection
        ngx.say(type(c), " ", c:match("^%d+$") ~= nil and tonumber(c) > 0)
    }
--- stream_response
string true
--- no_error_log
[error]



=== TEST 9: unknown variables read as nil without an error
--- stream_server_config
    content_by_lua_block {
        ngx.say("value: ", ngx.var.no_such_variable_here)
        ngx.say("type: ", type(ngx.var.another_unknown))
    }
--- stream_response
value: nil
type: nil
--- no_error_log
[error]



=== TEST 10: variable names are case-insensitive
--- stream_server_config
    content_by_lua_block {
        ngx.say(ngx.var.REMOTE_ADDR, " ", ngx.var.Server_Addr, " ", ngx.var["PrOtOcOl"])
    }
--- stream_response
127.0.0.1 127.0.0.1 TCP
--- no_error_log
[error]



=== TEST 11: a boolean key is a bad variable name
--- stream_server_config
    content_by_lua_block {
        ngx.say("start")
        local v = ngx.var[true]
        ngx.say("not reached")
    }
--- stream_response
start
--- error_log eval
qr/runtime error: content_by_lua\(nginx\.conf:\d+\):3: bad variable name/



=== TEST 12: a table key is a bad variable name (caught)
--- stream_server_config
    content_by_lua_block {
        local ok, err = pcall(function() return ngx.var[{}] end)
        ngx.say(ok, " ", err)
    }
--- stream_response_like eval
qr/\Afalse content_by_lua\(nginx\.conf:\d+\):2: bad variable name\n\z/
--- no_error_log
[error]



=== TEST 13: a numeric key reads as nil in the stream subsystem
--- stream_server_config
    content_by_lua_block {
        ngx.say("[1] = ", ngx.var[1], ", [0] = ", ngx.var[0])
    }
--- stream_response
[1] = nil, [0] = nil
--- no_error_log
[error]



=== TEST 14: reading and writing a variable defined with set
--- stream_server_config
    set $greeting "hello";
    content_by_lua_block {
        ngx.say("initial: ", ngx.var.greeting)
        ngx.var.greeting = "goodbye"
        ngx.say("string: ", ngx.var.greeting)
        ngx.var.greeting = 42
        ngx.say("number: ", ngx.var.greeting, " (", type(ngx.var.greeting), ")")
        ngx.var.GREETING = "upper"
        ngx.say("caseless write: ", ngx.var.greeting)
        ngx.var.greeting = nil
        ngx.say("cleared: ", ngx.var.greeting)
    }
--- stream_response
initial: hello
string: goodbye
number: 42 (string)
caseless write: upper
cleared: nil
--- no_error_log
[error]



=== TEST 15: a set value may use other variables
--- stream_server_config
    set $peer "$remote_addr/tcp";
    content_by_lua_block {
        ngx.say("peer: ", ngx.var.peer)
    }
--- stream_response
peer: 127.0.0.1/tcp
--- no_error_log
[error]



=== TEST 16: map variables are readable
--- stream_config
    map $remote_addr $origin {
        127.0.0.1  loopback;
        default    elsewhere;
    }
--- stream_server_config
    content_by_lua_block {
        ngx.say("origin: ", ngx.var.origin)
    }
--- stream_response
origin: loopback
--- no_error_log
[error]



=== TEST 17: writing an unknown variable
--- stream_server_config
    content_by_lua_block {
        ngx.say("writing")
        ngx.var.undeclared_thing = "x"
        ngx.say("not reached")
    }
--- stream_response
writing
--- error_log
variable "undeclared_thing" not found for writing; maybe it is a built-in variable that is not changeable or you forgot to use "set $undeclared_thing '';" in the config file to define it first



=== TEST 18: writing a built-in variable
--- stream_server_config
    content_by_lua_block {
        local ok, err = pcall(function() ngx.var.remote_addr = "10.0.0.1" end)
        ngx.say(ok, " ", err)
        ngx.say("unchanged: ", ngx.var.remote_addr)
    }
--- stream_response_like eval
qr/\Afalse content_by_lua\(nginx\.conf:\d+\):2: variable "remote_addr" not changeable\nunchanged: 127\.0\.0\.1\n\z/
--- no_error_log
[error]



=== TEST 19: writing with a non-string key
--- stream_server_config
    content_by_lua_block {
        local ok, err = pcall(function() ngx.var[7] = "x" end)
        ngx.say(ok, " ", err)
    }
--- stream_response_like eval
qr/\Afalse content_by_lua\(nginx\.conf:\d+\):2: bad variable name\n\z/
--- no_error_log
[error]



=== TEST 20: variable names are looked up without a leading dollar
--- stream_server_config
    content_by_lua_block {
        ngx.say(tostring(ngx.var["$remote_addr"]))
    }
--- stream_response
nil
--- no_error_log
[error]
