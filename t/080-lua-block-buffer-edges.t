# The *_by_lua_block reader at the edge of nginx's 4 KiB configuration buffer: nginx reads a
# configuration file 4096 bytes at a time, and the block lexer first sees only what is in
# that buffer. These blocks put the nastiest tokens (long-bracket openers and closers, a
# backslash escape, the `--` of a long comment) across byte 4096 of an included file, whose
# layout the test controls exactly: line 1 is `content_by_lua_block {` (23 bytes), line 2 a
# comment of 2 + N bytes padding, so line 3 starts at byte 26 + N. The lexer's own property
# tests (crates/conf-lexer/tests/prop.rs) cut random bodies at every byte; these check the
# reader around it (the rest of the file read, the line counter, errors naming file:line).

use Test::Nginx::Socket::Lua::Stream;

repeat_each(1);

plan tests => repeat_each() * (blocks() * 2);

run_tests();

__DATA__

=== TEST 1: a level-2 long-bracket opener across the buffer's end
"local s = " is 10 bytes, so `[==[` takes bytes 4094..4097 with N = 4058.
--- stream_server_config
    include ../html/blk.conf;
--- user_files eval
">>> blk.conf\n"
. "content_by_lua_block {\n"
. "--" . ("p" x 4058) . "\n"
. 'local s = [==[ } ]] ]=] { ]==] ngx.say("[", s, "]")' . "\n"
. "}\n"
--- stream_response
[ } ]] ]=] { ]
--- no_error_log
[error]



=== TEST 2: a level-2 long-bracket closer across the buffer's end
"local s = [==[ } " is 17 bytes, so `]==]` takes bytes 4094..4097 with N = 4051.
--- stream_server_config
    include ../html/blk.conf;
--- user_files eval
">>> blk.conf\n"
. "content_by_lua_block {\n"
. "--" . ("p" x 4051) . "\n"
. 'local s = [==[ } ]==] ngx.say("[", s, "]")' . "\n"
. "}\n"
--- stream_response
[ } ]
--- no_error_log
[error]



=== TEST 3: a backslash escape split by the buffer's end
The backslash is byte 4095 and the escaped quote byte 4096 (N = 4057): the `}` after it is
still inside the string.
--- stream_server_config
    include ../html/blk.conf;
--- user_files eval
">>> blk.conf\n"
. "content_by_lua_block {\n"
. "--" . ("p" x 4057) . "\n"
. 'local s = "a\"}" ngx.say(s)' . "\n"
. "}\n"
--- stream_response
a"}
--- no_error_log
[error]



=== TEST 4: the two dashes of a long comment split by the buffer's end
Byte 4095 is the first `-` and byte 4096 the second (N = 4069): the `}` in the long comment
does not end the block.
--- stream_server_config
    include ../html/blk.conf;
--- user_files eval
">>> blk.conf\n"
. "content_by_lua_block {\n"
. "--" . ("p" x 4069) . "\n"
. '--[[ } ]] ngx.say("after the comment")' . "\n"
. "}\n"
--- stream_response
after the comment
--- no_error_log
[error]



=== TEST 5: a long bracket that never closes, opened after the buffer's end: the error names its line
--- stream_server_config
    include ../html/blk.conf;
--- user_files eval
">>> blk.conf\n"
. "content_by_lua_block {\n"
. "--" . ("p" x 4100) . "\n"
. "ngx.say('x')\n"
. "local s = [=[ never closed ]] ]==]\n"
. "}\n"
--- must_die
--- error_log eval
qr/\[emerg\] .*Lua code block missing the closing long bracket "\]=\]" in \S*html\/blk\.conf:4\b/



=== TEST 6: the line counter after a block read across the buffer: the next directive's error names its line
Newlines inside long strings, long comments and backslash-continued strings all count; the
bad directive is on line 11.
--- stream_server_config
    include ../html/blk.conf;
--- user_files eval
">>> blk.conf\n"
. "content_by_lua_block {\n"
. "--" . ("p" x 4090) . "\n"
. "local a = [[\n}\n]]\n"
. "--[=[ {\n]=]\n"
. 'local b = "\\' . "\n" . '}"' . "\n"
. "}\n"
. "lua_socket_buffer_size 4q;\n"
--- must_die
--- error_log eval
qr/\[emerg\] .*"lua_socket_buffer_size" directive invalid value in \S*html\/blk\.conf:11\b/



=== TEST 7: a block that ends exactly at the buffer's last byte
The closing `}` is byte 4095 (N = 4067, then 3 bytes of code and a newline).
--- stream_server_config
    include ../html/blk.conf;
--- user_files eval
">>> blk.conf\n"
. "content_by_lua_block {\n"
. "--" . ("p" x 4066) . "\n"
. "ngx.say('edge')\n"
. "}"
--- stream_response
edge
--- no_error_log
[error]



=== TEST 8: an included file that ends inside a string: the error names the block's line
--- stream_server_config
    include ../html/blk.conf;
--- user_files eval
">>> blk.conf\n"
. "\n"
. "content_by_lua_block {\n"
. "--" . ("p" x 4090) . "\n"
. "local s = \"} never closed\n"
--- must_die
--- error_log eval
qr/\[emerg\] .*unexpected end of file, expecting terminating characters for lua code block in \S*html\/blk\.conf:2\b/
