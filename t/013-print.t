# Behaviour follows stream-lua v0.0.16 (see upstream t/002-content.t, t/032-iolist.t,
# t/069-null.t, src/ngx_stream_lua_output.c). Numbers are written the way LuaJIT's
# tostring() writes them ("%.14g" plus inf/nan).

use Test::Nginx::Socket::Lua::Stream;

repeat_each(1);

plan tests => blocks() * 2 * repeat_each();

run_tests();

__DATA__

=== TEST 1: integers and floats
--- stream_server_config
    content_by_lua_block {
        ngx.say(3.14)
        ngx.say(-7, " ", 100, " ", 5.0, " ", 2^31)
        ngx.say(0.1 + 0.2)
        ngx.say(1 / 3)
        ngx.say(1e15 + 0.5)
        ngx.say(123456789012346)
    }
--- stream_response
3.14
-7 100 5 2147483648
0.3
0.33333333333333
1e+15
1.2345678901235e+14
--- no_error_log
[error]



=== TEST 2: exponents, infinities, nan and negative zero
--- stream_server_config
    content_by_lua_block {
        ngx.say(1e100)
        ngx.say(2^53)
        ngx.say(1e-5)
        ngx.say(1 / 0, " ", -1 / 0)
        ngx.say(0 / 0)
        ngx.say(-0.0)
    }
--- stream_response
1e+100
9.007199254741e+15
1e-05
inf -inf
nan
-0
--- no_error_log
[error]



=== TEST 3: booleans and nil
--- stream_server_config
    content_by_lua_block {
        ngx.say(true, " ", false)
        ngx.say(nil)
        ngx.print(nil, "|", false, "\n")
    }
--- stream_response
true false
nil
nil|false
--- no_error_log
[error]



=== TEST 4: array tables are flattened
--- stream_server_config
    content_by_lua_block {
        ngx.say({"hello", nil, true, false, 32.5, 56})
        ngx.print({1, {2, {3, {4, "five"}}}}, "\n")
    }
--- stream_response
helloniltruefalse32.556
1234five
--- no_error_log
[error]



=== TEST 5: nested tables mixed with other arguments
--- stream_server_config
    content_by_lua_block {
        local inner = {"<", ngx.null, ">"}
        ngx.say("a", {inner, "-", inner}, 7)
    }
--- stream_response
a<null>-<null>7
--- no_error_log
[error]



=== TEST 6: holes in an array table are written as nil
--- stream_server_config
    content_by_lua_block {
        local t = {}
        t[1] = "first"
        t[4] = "fourth"
        ngx.say(t)
    }
--- stream_response
firstnilnilfourth
--- no_error_log
[error]



=== TEST 7: empty strings and empty tables
--- stream_server_config
    content_by_lua_block {
        local a = ngx.print("")
        local b = ngx.print({})
        local c = ngx.print({{}, {""}})
        ngx.say({})
        ngx.say("returned ", a, " ", b, " ", c)
    }
--- stream_response eval
"\nreturned 1 1 1\n"
--- no_error_log
[error]



=== TEST 8: binary data passes unchanged
--- stream_server_config
    content_by_lua_block {
        local bytes = {}
        for i = 0, 255 do
            bytes[#bytes + 1] = string.char(i)
        end
        local s = table.concat(bytes)
        ngx.say(#s)
        ngx.print(s:sub(66, 70), s:sub(98, 100), "\n")
        ngx.print("A\0B\255C\n")
    }
--- stream_response eval
"256\nABCDEabc\nA\x00B\xffC\n"
--- no_error_log
[error]



=== TEST 9: a table with a string key
--- stream_server_config
    content_by_lua_block {
        ngx.say("visible")
        ngx.say({1, 2, name = "x"})
        ngx.say("not reached")
    }
--- stream_response
visible
--- error_log eval
qr/runtime error: content_by_lua\(nginx\.conf:\d+\):3: bad argument #1 to 'say' \(non-array table found\)/



=== TEST 10: zero, negative and fractional keys are not array keys
--- stream_server_config
    content_by_lua_block {
        local results = {}
        for _, t in ipairs({ {[0] = "zero"}, {[-1] = "neg"}, {[1.5] = "frac"} }) do
            local ok, err = pcall(ngx.print, t)
            results[#results + 1] = err
        end
        ngx.say(table.concat(results, "\n"))
    }
--- stream_response
bad argument #1 to '?' (non-array table found)
bad argument #1 to '?' (non-array table found)
bad argument #1 to '?' (non-array table found)
--- no_error_log
[error]



=== TEST 11: the argument number points at the bad argument
--- stream_server_config
    content_by_lua_block {
        ngx.print("a", "b", {k = "v"})
    }
--- stream_response
--- error_log eval
qr/content_by_lua\(nginx\.conf:\d+\):2: bad argument #3 to 'print' \(non-array table found\)/



=== TEST 12: a nested non-array table is blamed on the outer argument
--- stream_server_config
    content_by_lua_block {
        ngx.say("x", {1, {2, {key = 3}}})
    }
--- stream_response
--- error_log eval
qr/content_by_lua\(nginx\.conf:\d+\):2: bad argument #2 to 'say' \(non-array table found\)/



=== TEST 13: a function inside an array table
--- stream_server_config
    content_by_lua_block {
        local f = function() end
        ngx.say({1, 3, f})
    }
--- stream_response
--- error_log eval
qr/content_by_lua\(nginx\.conf:\d+\):3: bad argument #1 to 'say' \(bad data type function found\)/



=== TEST 14: a function argument
--- stream_server_config
    content_by_lua_block {
        ngx.say("fine so far")
        ngx.say("text", print)
    }
--- stream_response
fine so far
--- error_log eval
qr/runtime error: content_by_lua\(nginx\.conf:\d+\):3: bad argument #2 to 'say' \(string, number, boolean, nil, ngx\.null, or array table expected, but got function\)/



=== TEST 15: coroutine and userdata arguments
--- stream_server_config
    content_by_lua_block {
        local ok1, err1 = pcall(ngx.print, coroutine.create(function() end))
        local ok2, err2 = pcall(ngx.say, "x", newproxy())
        ngx.say(err1)
        ngx.say(err2)
    }
--- stream_response
bad argument #1 to '?' (string, number, boolean, nil, ngx.null, or array table expected, but got thread)
bad argument #2 to '?' (string, number, boolean, nil, ngx.null, or array table expected, but got userdata)
--- no_error_log
[error]



=== TEST 16: a bad argument means nothing of the call is written
--- stream_server_config
    content_by_lua_block {
        local ok = pcall(ngx.say, "partial ", "output ", print)
        ngx.say("after failure: ", ok)
    }
--- stream_response
after failure: false
--- no_error_log
[error]



=== TEST 17: ngx.flush returns 1 with and without waiting
--- stream_server_config
    content_by_lua_block {
        ngx.say("one")
        local a = ngx.flush()
        ngx.say("two")
        local b = ngx.flush(true)
        local c = ngx.flush(false)
        ngx.say("flush results: ", a, " ", b, " ", c)
    }
--- stream_response
one
two
flush results: 1 1 1
--- no_error_log
[error]



=== TEST 18: ngx.flush argument checks
--- stream_server_config
    content_by_lua_block {
        local ok, err = pcall(ngx.flush, "yes")
        ngx.say(err)
        ok, err = pcall(ngx.flush, true, 1)
        ngx.say(err)
    }
--- stream_response
bad argument #1 to '?' (boolean expected, got string)
attempt to pass 2 arguments, but accepted 0 or 1
--- no_error_log
[error]



=== TEST 19: ngx.flush after ngx.eof
--- stream_server_config
    content_by_lua_block {
        ngx.say("bye")
        ngx.eof()
        local ok, err = ngx.flush()
        ngx.log(ngx.WARN, "flush after eof: ", ok, " ", err)
    }
--- stream_response
bye
--- error_log
flush after eof: nil seen eof
--- no_error_log
[error]



=== TEST 20: ngx.say with many arguments
--- stream_server_config
    content_by_lua_block {
        local parts = {}
        for i = 1, 200 do
            parts[i] = i % 10
        end
        ngx.say(unpack(parts))
    }
--- stream_response
12345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890
--- no_error_log
[error]
