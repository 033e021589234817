# Behaviour follows stream-lua v0.0.16 (see upstream t/009-log.t, src/ngx_stream_lua_log.c)
# ngx.log(level, ...) and print(...): "stream [lua] <source>:<line>: [<func>(): ]<message>"
# followed by nginx's ", client: ..., server: ..." suffix.

use Test::Nginx::Socket::Lua::Stream;

repeat_each(1);

plan tests => repeat_each() * (blocks() * 2);

run_tests();

__DATA__

=== TEST 1: every log level constant writes with its own tag
--- stream_server_config
    content_by_lua_block {
        ngx.log(ngx.STDERR, "lvl-stderr")
        ngx.log(ngx.EMERG, "lvl-emerg")
        ngx.log(ngx.ALERT, "lvl-alert")
        ngx.log(ngx.CRIT, "lvl-crit")
        ngx.log(ngx.ERR, "lvl-err")
        ngx.log(ngx.WARN, "lvl-warn")
        ngx.log(ngx.NOTICE, "lvl-notice")
        ngx.log(ngx.INFO, "lvl-info")
        ngx.log(ngx.DEBUG, "lvl-debug")
        ngx.say("logged")
    }
--- stream_response
logged
--- error_log eval
[
qr/\[\] \S+: \S+ stream \[lua\] content_by_lua\(nginx\.conf:\d+\):2: lvl-stderr/,
qr/\[emerg\] \S+: \S+ stream \[lua\] content_by_lua\(nginx\.conf:\d+\):3: lvl-emerg/,
qr/\[alert\] \S+: \S+ stream \[lua\] content_by_lua\(nginx\.conf:\d+\):4: lvl-alert/,
qr/\[crit\] \S+: \S+ stream \[lua\] content_by_lua\(nginx\.conf:\d+\):5: lvl-crit/,
qr/\[error\] \S+: \S+ stream \[lua\] content_by_lua\(nginx\.conf:\d+\):6: lvl-err/,
qr/\[warn\] \S+: \S+ stream \[lua\] content_by_lua\(nginx\.conf:\d+\):7: lvl-warn/,
qr/\[notice\] \S+: \S+ stream \[lua\] content_by_lua\(nginx\.conf:\d+\):8: lvl-notice/,
qr/\[info\] \S+: \S+ stream \[lua\] content_by_lua\(nginx\.conf:\d+\):9: lvl-info/,
qr/\[debug\] \S+: \S+ stream \[lua\] content_by_lua\(nginx\.conf:\d+\):10: lvl-debug/,
]



=== TEST 2: print() logs at notice level
--- stream_server_config
    content_by_lua_block {
        print("printed ", "words ", 7)
        ngx.say("ok")
    }
--- stream_response
ok
--- error_log eval
qr/\[notice\] \S+: \S+ stream \[lua\] content_by_lua\(nginx\.conf:\d+\):2: printed words 7/



=== TEST 3: the log line ends with the client and server of the session
--- stream_server_config
    content_by_lua_block {
        ngx.log(ngx.WARN, "who is there")
        ngx.say("ok")
    }
--- stream_response
ok
--- error_log eval
qr/stream \[lua\] content_by_lua\(nginx\.conf:\d+\):2: who is there, client: 127\.0\.0\.1, server: 127\.0\.0\.1:\d+/



=== TEST 4: numbers, booleans and nil are written like tostring()
--- stream_server_config
    content_by_lua_block {
        ngx.log(ngx.WARN, "mix:", 42, 2.5, true, false, nil, -3)
        ngx.say("ok")
    }
--- stream_response
ok
--- error_log eval
qr/\[warn\] .*\):2: mix:422\.5truefalsenil-3,/



=== TEST 5: print() with no arguments and with nil
--- stream_server_config
    content_by_lua_block {
        print()
        print(nil)
        print("value: ", nil)
        ngx.say("ok")
    }
--- stream_response
ok
--- error_log eval
[
qr/\[lua\] content_by_lua\(nginx\.conf:\d+\):2: , client:/,
qr/\[lua\] content_by_lua\(nginx\.conf:\d+\):3: nil, client:/,
qr/\[lua\] content_by_lua\(nginx\.conf:\d+\):4: value: nil, client:/,
]



=== TEST 6: ngx.log with only a level
--- stream_server_config
    content_by_lua_block {
        ngx.log(ngx.WARN)
        ngx.say("ok")
    }
--- stream_response
ok
--- error_log eval
qr/\[warn\] .*stream \[lua\] content_by_lua\(nginx\.conf:\d+\):2: , client: 127\.0\.0\.1/



=== TEST 7: ngx.null is logged as null
--- stream_server_config
    content_by_lua_block {
        ngx.log(ngx.WARN, "null value: ", ngx.null)
        print("printed null: ", ngx.null)
        ngx.say("ok")
    }
--- stream_response
ok
--- error_log
null value: null
printed null: null



=== TEST 8: tables with a __tostring metamethod are accepted
--- stream_server_config
    content_by_lua_block {
        local point = setmetatable({x = 3, y = 4}, {
            __tostring = function(p) return "(" .. p.x .. "," .. p.y .. ")" end
        })
        ngx.log(ngx.WARN, "point ", point)
        print("printed point ", point)
        ngx.say("ok")
    }
--- stream_response
ok
--- error_log
point (3,4)
printed point (3,4)
--- no_error_log
[error]



=== TEST 9: a plain table is refused (argument index counts from the message)
--- stream_server_config
    content_by_lua_block {
        ngx.log(ngx.WARN, {1, 2})
        ngx.say("not reached")
    }
--- stream_response
--- error_log eval
qr/runtime error: content_by_lua\(nginx\.conf:\d+\):2: bad argument #1 to 'log' \(expected table to have __tostring metamethod\)/



=== TEST 10: a function argument is refused
--- stream_server_config
    content_by_lua_block {
        ngx.log(ngx.WARN, "fine", print)
        ngx.say("not reached")
    }
--- stream_response
--- error_log eval
qr/runtime error: content_by_lua\(nginx\.conf:\d+\):2: bad argument #2 to 'log' \(string, number, boolean, or nil expected, got function\)/



=== TEST 11: print() refuses a plain table and a coroutine
--- stream_server_config
    content_by_lua_block {
        local ok, err = pcall(print, {})
        ngx.say(err)
        ok, err = pcall(print, "x", coroutine.create(function() end))
        ngx.say(err)
    }
--- stream_response
bad argument #1 to '?' (expected table to have __tostring metamethod)
bad argument #2 to '?' (string, number, boolean, or nil expected, got thread)
--- no_error_log
[error]



=== TEST 12: log level out of range (ngx.ERROR is -1)
--- stream_server_config
    content_by_lua_block {
        ngx.log(ngx.ERROR, "bad level")
        ngx.say("not reached")
    }
--- stream_response
--- error_log eval
qr/runtime error: content_by_lua\(nginx\.conf:\d+\):2: bad argument #1 to 'log' \(bad log level: -1\)/



=== TEST 13: log level above debug
--- stream_server_config
    content_by_lua_block {
        ngx.log(9, "too verbose")
    }
--- stream_response
--- error_log
bad argument #1 to 'log' (bad log level: 9)



=== TEST 14: log level that is not a number
--- stream_server_config
    content_by_lua_block {
        ngx.log("loud", "message")
    }
--- stream_response
--- error_log eval
qr/content_by_lua\(nginx\.conf:\d+\):2: bad argument #1 to 'log' \(number expected, got string\)/



=== TEST 15: log level given as a numeric string is converted
--- stream_server_config
    content_by_lua_block {
        ngx.log("5", "numeric string level")
        ngx.say("ok")
    }
--- stream_response
ok
--- error_log eval
qr/\[warn\] .*\):2: numeric string level/
--- no_error_log
[error]



=== TEST 16: the calling function's name is included
--- stream_server_config
    content_by_lua_block {
        local function helper()
            ngx.log(ngx.WARN, "from helper")
        end
        function global_worker()
            helper()
        end
        global_worker()
        ngx.say("ok")
    }
--- stream_response
ok
--- error_log eval
qr/\[warn\] .*stream \[lua\] content_by_lua\(nginx\.conf:\d+\):3: helper\(\): from helper/



=== TEST 17: method calls are named too
--- stream_server_config
    content_by_lua_block {
        local dog = {}
        function dog:bark(times)
            ngx.log(ngx.WARN, "woof x", times)
        end
        dog:bark(2)
        ngx.say("ok")
    }
--- stream_response
ok
--- error_log eval
qr/\[warn\] .*content_by_lua\(nginx\.conf:\d+\):4: bark\(\): woof x2/



=== TEST 18: logging from a file handler uses the file's base name
--- stream_server_config
    content_by_lua_file html/logger.lua;
--- user_files
>>> logger.lua
local function announce(msg)
    ngx.log(ngx.ERR, "announce: ", msg)
end

announce("from a file")
ngx.say("ok")
--- stream_response
ok
--- error_log eval
qr/\[error\] \S+: \S+ stream \[lua\] logger\.lua:2: announce\(\): announce: from a file/



=== TEST 19: messages below the configured level are dropped
--- log_level: warn
--- stream_server_config
    content_by_lua_block {
        ngx.log(ngx.INFO, "quiet info message")
        print("quiet notice message")
        ngx.log(ngx.WARN, "loud warn message")
        ngx.say("ok")
    }
--- stream_response
ok
--- error_log
loud warn message
--- no_error_log
quiet info message
quiet notice message



=== TEST 20: filtered levels do not even look at the arguments
--- log_level: error
--- stream_server_config
    content_by_lua_block {
        ngx.log(ngx.INFO, "a function: ", print)
        print({})
        ngx.say("survived")
    }
--- stream_response
survived
--- no_error_log
[error]



=== TEST 21: a long message is kept whole
--- stream_server_config
    content_by_lua_block {
        ngx.log(ngx.WARN, "<", string.rep("z", 1800), ">")
        ngx.say("ok")
    }
--- stream_response
ok
--- error_log eval
qr/<z{1800}>/



=== TEST 22: ngx.log returns nothing
--- stream_server_config
    content_by_lua_block {
        ngx.say("returns: ", select("#", ngx.log(ngx.INFO, "x")),
                " ", select("#", print("y")))
    }
--- stream_response
returns: 0 0
--- no_error_log
[error]
