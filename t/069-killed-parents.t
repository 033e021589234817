# Threads killed while a user coroutine they resumed still waits: when that coroutine yields,
# returns or fails, the killed thread is not resumed (it left the thread table when it ended).
use Test::Nginx::Socket::Lua::Stream;

repeat_each(2);

plan tests => repeat_each() * (blocks() * 3);

run_tests();

__DATA__

=== TEST 1: a light thread killed while the coroutine it resumed sleeps: the coroutine's end does not resume it
--- stream_server_config
    content_by_lua_block {
        local a = ngx.thread.spawn(function()
            local co = coroutine.create(function()
                ngx.sleep(0.01)
                return "c done"
            end)
            local ok, r = coroutine.resume(co)
            ngx.say("a resumed: ", r)
        end)
        ngx.say("kill a: ", ngx.thread.kill(a))
        ngx.sleep(0.03)
        ngx.say("done")
    }
--- stream_response
kill a: 1
done
--- no_error_log
[error]
[alert]



=== TEST 2: a light thread killed while the coroutine it resumed sleeps: the coroutine's yield does not resume it
--- stream_server_config
    content_by_lua_block {
        local a = ngx.thread.spawn(function()
            local co = coroutine.create(function()
                ngx.sleep(0.01)
                coroutine.yield("c yielded")
            end)
            local ok, r = coroutine.resume(co)
            ngx.say("a resumed: ", r)
        end)
        ngx.say("kill a: ", ngx.thread.kill(a))
        ngx.sleep(0.03)
        ngx.say("done")
    }
--- stream_response
kill a: 1
done
--- no_error_log
[error]
[alert]



=== TEST 3: a light thread killed while the coroutine it resumed sleeps: the coroutine's error is not reported to it
--- stream_server_config
    content_by_lua_block {
        local a = ngx.thread.spawn(function()
            local co = coroutine.create(function()
                ngx.sleep(0.01)
                error("c failed")
            end)
            local ok, err = coroutine.resume(co)
            ngx.say("a resumed: ", ok, " ", err)
        end)
        ngx.say("kill a: ", ngx.thread.kill(a))
        ngx.sleep(0.03)
        ngx.say("done")
    }
--- stream_response
kill a: 1
done
--- no_error_log
[error]
[alert]



=== TEST 4: a light thread killed while the wrapped coroutine it called sleeps: the coroutine's error does not reach it
--- stream_server_config
    content_by_lua_block {
        local a = ngx.thread.spawn(function()
            local f = coroutine.wrap(function()
                ngx.sleep(0.01)
                error("c failed")
            end)
            f()
            ngx.say("a went on")
        end)
        ngx.say("kill a: ", ngx.thread.kill(a))
        ngx.sleep(0.03)
        ngx.say("done")
    }
--- stream_response
kill a: 1
done
--- no_error_log
[error]
[alert]



=== TEST 5: the coroutine of a live light thread still hands its results back after a sibling is killed
--- stream_server_config
    content_by_lua_block {
        local b = ngx.thread.spawn(function() ngx.sleep(1) end)
        local a = ngx.thread.spawn(function()
            local co = coroutine.create(function()
                ngx.sleep(0.01)
                return "c done"
            end)
            local ok, r = coroutine.resume(co)
            ngx.say("a resumed: ", r)
        end)
        ngx.say("kill b: ", ngx.thread.kill(b))
        ngx.thread.wait(a)
        ngx.say("done")
    }
--- stream_response
kill b: 1
a resumed: c done
done
--- no_error_log
[error]
[alert]
