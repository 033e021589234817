# Behaviour follows stream-lua v0.0.16 (see upstream t/019-const.t, t/069-null.t,
# src/ngx_stream_lua_consts.c, src/ngx_stream_lua_log.c)

use Test::Nginx::Socket::Lua::Stream;

repeat_each(1);

plan tests => blocks() * 2 * repeat_each();

run_tests();

__DATA__

=== TEST 1: core status constants
--- stream_server_config
    content_by_lua_block {
        ngx.say("OK=", ngx.OK, " ERROR=", ngx.ERROR, " AGAIN=", ngx.AGAIN,
                " DONE=", ngx.DONE, " DECLINED=", ngx.DECLINED)
    }
--- stream_response
OK=0 ERROR=-1 AGAIN=-2 DONE=-4 DECLINED=-5
--- no_error_log
[error]



=== TEST 2: log level constants
--- stream_server_config
    content_by_lua_block {
        local names = {"STDERR", "EMERG", "ALERT", "CRIT", "ERR", "WARN",
                       "NOTICE", "INFO", "DEBUG"}
        for _, name in ipairs(names) do
            ngx.print(name, "=", ngx[name], ";")
        end
        ngx.say()
    }
--- stream_response
STDERR=0;EMERG=1;ALERT=2;CRIT=3;ERR=4;WARN=5;NOTICE=6;INFO=7;DEBUG=8;
--- no_error_log
[error]



=== TEST 3: constants are plain numbers
--- stream_server_config
    content_by_lua_block {
        local all_numbers = true
        for _, v in ipairs({ngx.OK, ngx.ERROR, ngx.AGAIN, ngx.DONE, ngx.DECLINED,
                            ngx.STDERR, ngx.ERR, ngx.DEBUG}) do
            if type(v) ~= "number" or v ~= math.floor(v) then
                all_numbers = false
            end
        end
        ngx.say("integers: ", all_numbers)
    }
--- stream_response
integers: true
--- no_error_log
[error]



=== TEST 4: ngx.null is a light userdata distinct from nil and false
--- stream_server_config
    content_by_lua_block {
        ngx.say("type: ", type(ngx.null))
        ngx.say("equal to itself: ", ngx.null == ngx.null)
        ngx.say("equal to nil: ", ngx.null == nil)
        ngx.say("equal to false: ", ngx.null == false)
        if ngx.null then
            ngx.say("truthy")
        else
            ngx.say("falsy")
        end
    }
--- stream_response
type: userdata
equal to itself: true
equal to nil: false
equal to false: false
truthy
--- no_error_log
[error]



=== TEST 5: ngx.null can be stored in tables and compared
--- stream_server_config
    content_by_lua_block {
        local row = {"a", ngx.null, "c"}
        local holes = 0
        for i = 1, #row do
            if row[i] == ngx.null then
                holes = holes + 1
            end
        end
        ngx.say("length ", #row, ", null entries ", holes)
    }
--- stream_response
length 3, null entries 1
--- no_error_log
[error]



=== TEST 6: ngx.null in output is written as null
--- stream_server_config
    content_by_lua_block {
        ngx.say("value: ", ngx.null)
        ngx.say({"in a table: ", ngx.null, "!"})
        ngx.print(ngx.null, "\n")
    }
--- stream_response
value: null
in a table: null!
null
--- no_error_log
[error]



=== TEST 7: http-only constants do not exist in the stream subsystem
--- stream_server_config
    content_by_lua_block {
        ngx.say(tostring(ngx.HTTP_OK), " ", tostring(ngx.HTTP_GET), " ",
                tostring(ngx.HTTP_NOT_FOUND), " ", tostring(ngx.HTTP_INTERNAL_SERVER_ERROR))
    }
--- stream_response
nil nil nil nil
--- no_error_log
[error]



=== TEST 8: constants can be used as ngx.log levels by value
--- stream_server_config
    content_by_lua_block {
        ngx.log(5, "level five is warn")
        ngx.log(ngx.WARN + 0, "computed warn")
        ngx.say("ok")
    }
--- stream_response
ok
--- error_log eval
[
qr/\[warn\] .*level five is warn/,
qr/\[warn\] .*computed warn/,
]
