# Checks of the test runner itself, with nginx's own stream modules only (no Lua):
#   TEST_NGINX_FILES=tests/tnginx/selftest.t TEST_NGINX_LOAD_MODULES= cargo test --release --test t

use Test::Nginx::Socket::Lua::Stream;

repeat_each(2);

plan tests => repeat_each() * (blocks() * 3);

our $Greeting = "hello";
$ENV{TEST_NGINX_GREETING} ||= 'hi there';

log_level('info');
no_long_string();
run_tests();

__DATA__

=== TEST 1: plain response
--- stream_server_config
    return "hello, world\n";
--- stream_response
hello, world
--- no_error_log
[error]
[alert]



=== TEST 2: response_like, with the default trailing newline chopped off
--- stream_server_config
    return "answer: 42\n";
--- stream_response_like chop
^answer: \d+$



=== TEST 3: eval sections: escapes, repetition, concatenation, interpolation
--- stream_config eval
"    # preamble variable: $::Greeting\n"
--- stream_server_config eval
qq{    return "} . ("ab" x 3) . qq{\\t$::Greeting\\n";}
--- stream_response eval
"ababab\thello\n"



=== TEST 4: environment placeholders and the error log
--- stream_server_config
    return "$TEST_NGINX_GREETING from port $server_port";
--- stream_response eval
"hi there from port $ENV{TEST_NGINX_STREAM_PORT}"
--- error_log eval
[qr/client 127\.0\.0\.1:\d+ connected to 127\.0\.0\.1:\d+/, "connected to"]
--- no_error_log
[error]



=== TEST 5: user_files and include
--- user_files
>>> extra.conf
return "from an included file\n";
>>> sub/dir/data.txt
some data
--- stream_server_config
    include $TEST_NGINX_HTML_DIR/extra.conf;
--- stream_response
from an included file



=== TEST 6: must_die with an unknown directive
--- stream_server_config
    no_such_directive on;
--- must_die
--- error_log
unknown directive "no_such_directive"



=== TEST 7: second and third servers, one-liner sections
--- stream_server_config
    return "one\n";
--- stream_server_config2
    return "two\n";
--- stream_server_config3
    return "three\n";
--- stream_response
one
two
three
--- log_level: debug
--- timeout: 2



=== TEST 8: grep_error_log
--- stream_server_config
    return "x";
--- stream_response chomp
x
--- grep_error_log eval: qr/connected to 127\.0\.0\.1/
--- grep_error_log_out
connected to 127.0.0.1



=== TEST 9: mock TCP upstream, abort on timeout
--- stream_server_config
    proxy_pass 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
--- stream_request chomp
ping
--- tcp_listen: $TEST_NGINX_RAND_PORT_1
--- tcp_query: ping
--- tcp_reply: pong
--- tcp_no_close
--- stream_response
receive stream response error: timeout
--- timeout: 0.3
--- abort



=== TEST 10: proxying to a mock TCP upstream that closes
--- stream_server_config
    proxy_pass 127.0.0.1:$TEST_NGINX_RAND_PORT_2;
--- stream_request eval
"GET / HTTP/1.0\r\n\r\n"
--- tcp_listen: $TEST_NGINX_RAND_PORT_2
--- tcp_query eval: "GET / HTTP/1.0\r\n\r\n"
--- tcp_reply eval
"HTTP/1.0 200 OK\r\n\r\n" . ("z" x 5000)
--- stream_response eval
"HTTP/1.0 200 OK\r\n\r\n" . ("z" x 5000)
--- no_error_log
[error]



=== TEST 11: log_stream_response
--- stream_server_config
    return "hello, world";
--- log_stream_response
--- stream_response
received 12 bytes of response data.
--- error_log eval
qr/stream response: hello, world, client/



=== TEST 12: must_die with an exit code
--- stream_server_config
    return;
--- must_die: 1
--- error_log
invalid number of arguments in "return" directive



=== TEST 13: shutdown_error_log
--- stream_server_config
    return "x";
--- stream_response chomp
x
--- shutdown_error_log eval
qr/\[notice\] \d+#\d+: exit$/
--- no_shutdown_error_log
[error]



=== TEST 14: mock upstream on a unix domain socket
--- stream_server_config
    proxy_pass unix:$TEST_NGINX_HTML_DIR/mock.sock;
--- stream_request: hi
--- tcp_listen: $TEST_NGINX_HTML_DIR/mock.sock
--- tcp_query: hi
--- tcp_reply: there
--- stream_response chomp
there



=== TEST 15: http blocks are skipped
--- stream_server_config
    return "never";
--- config
    location = /t { return 200; }
--- stream_response
never



=== TEST 16: SKIP section
--- stream_server_config
    return "never";
--- stream_response
never
--- SKIP
