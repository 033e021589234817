# Behaviour follows stream-lua v0.0.16 (see upstream t/005-exit.t, lua-resty-core exit.lua)
# ngx.exit(code) in the content phase: output already sent stays sent, nothing after the
# call runs, and the session is finalized (the client sees the connection close).

use Test::Nginx::Socket::Lua::Stream;

repeat_each(1);

plan tests => repeat_each() * (blocks() * 2);

run_tests();

__DATA__

=== TEST 1: ngx.exit(ngx.OK) stops the handler
--- stream_server_config
    content_by_lua_block {
        ngx.say("before exit")
        ngx.exit(ngx.OK)
        ngx.say("after exit")
    }
--- stream_response
before exit
--- no_error_log
[error]



=== TEST 2: ngx.exit(ngx.ERROR) before any output
--- stream_server_config
    content_by_lua_block {
        ngx.exit(ngx.ERROR)
        ngx.say("unreachable")
    }
--- stream_response
--- no_error_log
[error]



=== TEST 3: ngx.exit(ngx.ERROR) after partial output
--- stream_server_config
    content_by_lua_block {
        ngx.say("half")
        ngx.exit(ngx.ERROR)
        ngx.say("other half")
    }
--- stream_response
half
--- no_error_log
[error]



=== TEST 4: ngx.exit(444)
--- stream_server_config
    content_by_lua_block {
        ngx.print("closing with 444\n")
        return ngx.exit(444)
    }
--- stream_response
closing with 444
--- no_error_log
[error]



=== TEST 5: ngx.exit(500) does not log an error of its own
--- stream_server_config
    content_by_lua_block {
        ngx.say("server side trouble")
        ngx.exit(500)
        ngx.log(ngx.ERR, "this line must not run")
    }
--- stream_response
server side trouble
--- no_error_log
[error]



=== TEST 6: ngx.exit(200)
--- stream_server_config
    content_by_lua_block {
        ngx.say("all good")
        ngx.exit(200)
        ngx.say("extra")
    }
--- stream_response
all good
--- no_error_log
[error]



=== TEST 7: ngx.exit(0) after ngx.eof
--- stream_server_config
    content_by_lua_block {
        ngx.say("done talking")
        ngx.eof()
        ngx.exit(0)
        ngx.log(ngx.ERR, "still alive after exit")
    }
--- stream_response
done talking
--- no_error_log
[error]



=== TEST 8: ngx.exit inside pcall still ends the handler
--- stream_server_config
    content_by_lua_block {
        local function leave()
            ngx.say("inside")
            ngx.exit(ngx.OK)
            ngx.say("inside, after exit")
        end
        local ok, err = pcall(leave)
        ngx.say("pcall returned ", tostring(ok))
    }
--- stream_response
inside
--- no_error_log
[error]



=== TEST 9: ngx.exit from nested function calls
--- stream_server_config
    content_by_lua_block {
        local function level3()
            ngx.say("level 3")
            ngx.exit(ngx.OK)
        end
        local function level2()
            level3()
            ngx.say("back in level 2")
        end
        local function level1()
            level2()
            ngx.say("back in level 1")
        end
        level1()
        ngx.say("back in main")
    }
--- stream_response
level 3
--- no_error_log
[error]



=== TEST 10: ngx.exit inside a loop
--- stream_server_config
    content_by_lua_block {
        for i = 1, 10 do
            ngx.say("iteration ", i)
            if i == 3 then
                ngx.exit(ngx.OK)
            end
        end
        ngx.say("loop finished")
    }
--- stream_response
iteration 1
iteration 2
iteration 3
--- no_error_log
[error]



=== TEST 11: ngx.exit with a string argument
--- stream_server_config
    content_by_lua_block {
        ngx.say("trying")
        ngx.exit("444")
        ngx.say("should not appear")
    }
--- stream_response
trying
--- error_log eval
qr/lua entry thread aborted: runtime error: .*bad argument #2 to '[^']*' \(cannot convert 'string' to 'int'\)/



=== TEST 12: ngx.exit without an argument
--- stream_server_config
    content_by_lua_block {
        ngx.exit()
        ngx.say("should not appear")
    }
--- stream_response
--- error_log eval
qr/lua entry thread aborted: runtime error: .*bad argument #2 to '[^']*' \(cannot convert 'nil' to 'int'\)/



=== TEST 13: ngx.exit with a table argument
--- stream_server_config
    content_by_lua_block {
        ngx.exit({})
    }
--- stream_response
--- error_log eval
qr/runtime error: .*cannot convert 'table' to 'int'/



=== TEST 14: ngx.exit(ngx.OK) from a file handler
--- stream_server_config
    content_by_lua_file html/early.lua;
--- user_files
>>> early.lua
ngx.say("file says hi")
if true then
    return ngx.exit(ngx.OK)
end
ngx.say("file says bye")
--- stream_response
file says hi
--- no_error_log
[error]



=== TEST 15: ngx.exit with a fractional number truncates it
--- stream_server_config
    content_by_lua_block {
        ngx.say("fraction")
        ngx.exit(444.7)
        ngx.say("not here")
    }
--- stream_response
fraction
--- no_error_log
[error]



=== TEST 16: ngx.exit(ngx.DECLINED) ends the handler like ngx.OK
--- stream_server_config
    content_by_lua_block {
        ngx.say("declining")
        ngx.exit(ngx.DECLINED)
        ngx.say("after decline")
    }
--- stream_response
declining
--- no_error_log
[error]



=== TEST 17: ngx.exit with an unusual negative code ends the handler like ngx.OK
--- stream_server_config
    content_by_lua_block {
        ngx.say("odd code")
        ngx.exit(-3)
        ngx.say("after odd code")
    }
--- stream_response
odd code
--- no_error_log
[error]
