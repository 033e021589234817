# Behaviour follows stream-lua v0.0.16 (see upstream t/002-content.t)
# content_by_lua_block / content_by_lua / content_by_lua_file basics.

use Test::Nginx::Socket::Lua::Stream;

repeat_each(1);

plan tests => repeat_each() * (blocks() * 2);

run_tests();

__DATA__

=== TEST 1: ngx.say and ngx.print return 1 on success
--- stream_server_config
    content_by_lua_block {
        local a = ngx.print("first ")
        local b = ngx.say("line")
        ngx.say("results: ", type(a), " ", a, " ", type(b), " ", b)
    }
--- stream_response
first line
results: number 1 number 1
--- no_error_log
[error]



=== TEST 2: several arguments are concatenated without separators
--- stream_server_config
    content_by_lua_block {
        ngx.say("alpha", "-", 12, "-", "omega")
        ngx.print("no", "newline", "\n")
        ngx.say()
        ngx.say("after empty line")
    }
--- stream_response
alpha-12-omega
nonewline

after empty line
--- no_error_log
[error]



=== TEST 3: content_by_lua with a quoted string argument
--- stream_server_config
    content_by_lua 'ngx.say("from the string form")';
--- stream_response
from the string form
--- no_error_log
[error]



=== TEST 4: content_by_lua_file with a path relative to the prefix
--- stream_server_config
    content_by_lua_file html/greet.lua;
--- user_files
>>> greet.lua
local who = "file handler"
ngx.say("greetings from the ", who)
--- stream_response
greetings from the file handler
--- no_error_log
[error]



=== TEST 5: content_by_lua_file with an absolute path
--- stream_server_config
    content_by_lua_file $TEST_NGINX_HTML_DIR/absolute.lua;
--- user_files
>>> absolute.lua
ngx.say("absolute path works")
--- stream_response
absolute path works
--- no_error_log
[error]



=== TEST 6: content_by_lua_file path built from an nginx variable
--- stream_server_config
    set $script_name "picked";
    content_by_lua_file html/$script_name.lua;
--- user_files
>>> picked.lua
ngx.say("the variable chose me")
>>> other.lua
ngx.say("wrong file")
--- stream_response
the variable chose me
--- no_error_log
[error]



=== TEST 7: content_by_lua_file pointing to a missing file
--- stream_server_config
    content_by_lua_file html/missing_handler.lua;
--- user_files
>>> present.lua
ngx.say("not this one")
--- stream_response
--- error_log eval
qr/failed to load external Lua file ".*?missing_handler\.lua": cannot open .*?missing_handler\.lua/



=== TEST 8: a shebang line in a Lua file is skipped but still counted
--- stream_server_config
    content_by_lua_file html/shebang.lua;
--- user_files
>>> shebang.lua
#!/usr/bin/env luajit
-- second line
ngx.say("running on line ", debug.getinfo(1).currentline)
--- stream_response
running on line 3
--- no_error_log
[error]



=== TEST 9: calling a function ngx does not have
--- stream_server_config
    content_by_lua_block {
        ngx.say("before")
        ngx.shout("nope")
        ngx.say("after")
    }
--- stream_response
before
--- error_log eval
qr/content_by_lua\(nginx\.conf:\d+\):3: attempt to call field 'shout' \(a nil value\)/



=== TEST 10: ngx.get_phase() in the content handler
--- stream_server_config
    content_by_lua_block {
        ngx.say("phase: ", ngx.get_phase())
    }
--- stream_response
phase: content
--- no_error_log
[error]



=== TEST 11: ngx.eof returns 1, then "seen eof" for eof and output calls
--- stream_server_config
    content_by_lua_block {
        ngx.say("payload")
        local ok, err = ngx.eof()
        ngx.log(ngx.WARN, "first eof: ", ok, " ", err)
        ok, err = ngx.eof()
        ngx.log(ngx.WARN, "second eof: ", ok, " ", err)
        ok, err = ngx.say("too late")
        ngx.log(ngx.WARN, "say after eof: ", ok, " ", err)
        ok, err = ngx.print("too late")
        ngx.log(ngx.WARN, "print after eof: ", ok, " ", err)
    }
--- stream_response
payload
--- error_log
first eof: 1 nil
second eof: nil seen eof
say after eof: nil seen eof
print after eof: nil seen eof
--- no_error_log
[error]



=== TEST 12: ngx.eof before any output
--- stream_server_config
    content_by_lua_block {
        local ok = ngx.eof()
        local ok2, err = ngx.say("invisible")
        ngx.log(ngx.WARN, "eof=", ok, " say=", ok2, " err=", err)
    }
--- stream_response
--- error_log
eof=1 say=nil err=seen eof
--- no_error_log
[error]



=== TEST 13: ngx.eof refuses arguments
--- stream_server_config
    content_by_lua_block {
        ngx.say("start")
        ngx.eof(true)
        ngx.say("not reached")
    }
--- stream_response
start
--- error_log eval
qr/content_by_lua\(nginx\.conf:\d+\):3: no argument is expected/



=== TEST 14: a handler that writes nothing closes the connection quietly
--- stream_server_config
    content_by_lua_block {
        local x = 1 + 1
    }
--- stream_response
--- no_error_log
[error]



=== TEST 15: the value returned by the main chunk is ignored
--- stream_server_config
    content_by_lua_block {
        ngx.say("returning a value")
        return 42, "ignored"
    }
--- stream_response
returning a value
--- no_error_log
[error]



=== TEST 16: require "ngx" gives the ngx table itself
--- stream_server_config
    content_by_lua_block {
        local n = require "ngx"
        ngx.say("same table: ", n == ngx)
        ngx.say("loaded: ", package.loaded.ngx == ngx)
    }
--- stream_response
same table: true
loaded: true
--- no_error_log
[error]



=== TEST 17: standard Lua libraries are available
--- stream_server_config
    content_by_lua_block {
        ngx.say(string.upper("abc"), " ", table.concat({1, 2, 3}, "+"),
                " ", math.max(3, 9, 4), " ", type(os.time()),
                " ", type(io.open), " ", type(jit), " ", type(bit.band))
    }
--- stream_response
ABC 1+2+3 9 number function table function
--- no_error_log
[error]
