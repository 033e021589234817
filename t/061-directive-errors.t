# How nginx -t reports bad values of the module's directives: the messages the directive
# handlers return (nginx prefixes the directive's name), log themselves, or log without the
# directive's name (the *_by_lua_block parser). Behaviour follows stream-lua v0.0.16
# (src/ngx_stream_lua_directive.c, src/ngx_stream_lua_module.c).

use Test::Nginx::Socket::Lua::Stream;

repeat_each(1);

plan tests => repeat_each() * (blocks() * 2);

run_tests();

__DATA__

=== TEST 1: a lua_socket_* timeout that is not a time
--- stream_server_config
    lua_socket_connect_timeout 3x;
    content_by_lua_block {
        ngx.say("unreachable")
    }
--- must_die
--- error_log eval
qr/\[emerg\] .*"lua_socket_connect_timeout" directive invalid value in \S*nginx\.conf:\d+/



=== TEST 2: lua_socket_pool_size takes a number
--- stream_server_config
    lua_socket_pool_size many;
    content_by_lua_block {
        ngx.say("unreachable")
    }
--- must_die
--- error_log eval
qr/\[emerg\] .*"lua_socket_pool_size" directive invalid number/



=== TEST 3: lua_socket_buffer_size takes a size
--- stream_server_config
    lua_socket_buffer_size 4q;
    content_by_lua_block {
        ngx.say("unreachable")
    }
--- must_die
--- error_log eval
qr/\[emerg\] .*"lua_socket_buffer_size" directive invalid value/



=== TEST 4: a lua_socket_* directive given twice in a server
--- stream_server_config
    lua_socket_read_timeout 1s;
    lua_socket_read_timeout 2s;
    content_by_lua_block {
        ngx.say("unreachable")
    }
--- must_die
--- error_log eval
qr/\[emerg\] .*"lua_socket_read_timeout" directive is duplicate/



=== TEST 5: lua_code_cache given twice
--- stream_server_config
    lua_code_cache on;
    lua_code_cache on;
    content_by_lua_block {
        ngx.say("unreachable")
    }
--- must_die
--- error_log eval
qr/\[emerg\] .*"lua_code_cache" directive is duplicate/



=== TEST 6: lua_check_client_abort accepts only on and off
--- stream_server_config
    lua_check_client_abort yes;
    content_by_lua_block {
        ngx.say("unreachable")
    }
--- must_die
--- error_log
invalid value "yes" in "lua_check_client_abort" directive, it must be "on" or "off"



=== TEST 7: lua_socket_log_errors accepts only on and off
--- stream_server_config
    lua_socket_log_errors 1;
    content_by_lua_block {
        ngx.say("unreachable")
    }
--- must_die
--- error_log
invalid value "1" in "lua_socket_log_errors" directive, it must be "on" or "off"



=== TEST 8: two log_by_lua_block in one server: the bare message of the block parser
--- stream_server_config
    log_by_lua_block {
        ngx.log(ngx.INFO, "first")
    }
    log_by_lua_block {
        ngx.log(ngx.INFO, "second")
    }
    content_by_lua_block {
        ngx.say("unreachable")
    }
--- must_die
--- error_log eval
qr/\[emerg\] \S+ is duplicate in \S*nginx\.conf:\d+/



=== TEST 9: lua_max_running_timers given twice
--- stream_config
    lua_max_running_timers 10;
    lua_max_running_timers 20;
--- stream_server_config
    content_by_lua_block {
        ngx.say("unreachable")
    }
--- must_die
--- error_log eval
qr/\[emerg\] .*"lua_max_running_timers" directive is duplicate/



=== TEST 10: preread_by_lua_no_postpone accepts only on and off
--- stream_config
    preread_by_lua_no_postpone always;
--- stream_server_config
    content_by_lua_block {
        ngx.say("unreachable")
    }
--- must_die
--- error_log
invalid value "always" in "preread_by_lua_no_postpone" directive, it must be "on" or "off"



=== TEST 11: a TLS hook given twice in a server (the block form logs without the name)
--- stream_server_config
    ssl_client_hello_by_lua_block {
        ngx.exit(ngx.OK)
    }
    ssl_client_hello_by_lua_block {
        ngx.exit(ngx.OK)
    }
    content_by_lua_block {
        ngx.say("unreachable")
    }
--- must_die
--- error_log eval
qr/\[emerg\] \d+#\d+: is duplicate in \S*nginx\.conf:\d+/



=== TEST 12: lua_ssl_protocols names only known protocols
--- stream_server_config
    lua_ssl_protocols TLSv1.2 TLSv9;
    content_by_lua_block {
        ngx.say("unreachable")
    }
--- must_die
--- error_log eval
qr/\[emerg\] .*invalid value "TLSv9" in \S*nginx\.conf:\d+/



=== TEST 13: lua_ssl_verify_depth takes a number
--- stream_server_config
    lua_ssl_verify_depth deep;
    content_by_lua_block {
        ngx.say("unreachable")
    }
--- must_die
--- error_log eval
qr/\[emerg\] .*"lua_ssl_verify_depth" directive invalid number/



=== TEST 14: lua_ssl_ciphers given twice
--- stream_server_config
    lua_ssl_ciphers DEFAULT;
    lua_ssl_ciphers HIGH;
    content_by_lua_block {
        ngx.say("unreachable")
    }
--- must_die
--- error_log eval
qr/\[emerg\] .*"lua_ssl_ciphers" directive is duplicate/



=== TEST 15: balancer_by_lua_block after another balancing method warns and takes over
--- stream_config
    upstream backend {
        server 127.0.0.1:1;
        hash $remote_addr;
        balancer_by_lua_block {
            ngx.log(ngx.INFO, "lua balancer ran")
        }
    }
--- stream_server_config
    content_by_lua_block {
        ngx.say("up")
    }
--- stream_response
up
--- error_log eval
qr/\[warn\] .*load balancing method redefined in \S*nginx\.conf:\d+/



=== TEST 16: a syntax error in a *_by_lua_block is a warning at nginx -t, with the file and line
--- stream_server_config
    log_by_lua_block {
        local x = = 1
    }
    content_by_lua_block {
        ngx.say("starts")
    }
--- stream_response
starts
--- error_log eval
qr/\[warn\] .*log_by_lua\(nginx\.conf:\d+\).*unexpected symbol near '='.* in \S*nginx\.conf:\d+/
