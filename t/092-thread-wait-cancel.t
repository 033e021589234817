# ngx.thread.wait's wait is cancelled like any other: a thread killed while it waits on its
# children is not resumed when a child ends, and a wait that ended normally leaves no cancel
# function behind for the thread's next wait.
use Test::Nginx::Socket::Lua::Stream;

repeat_each(2);

plan tests => repeat_each() * (blocks() * 3);

run_tests();

__DATA__

=== TEST 1: a thread killed while it waits on its child: the child's end resumes nobody
--- stream_server_config
    content_by_lua_block {
        local a = ngx.thread.spawn(function()
            local b = ngx.thread.spawn(function()
                ngx.sleep(0.01)
                return "b done"
            end)
            local ok, r = ngx.thread.wait(b)
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



=== TEST 2: after a wait that ended, the thread waits again (twice), then is killed in a sleep
--- stream_server_config
    content_by_lua_block {
        local a = ngx.thread.spawn(function()
            for i = 1, 2 do
                local b = ngx.thread.spawn(function()
                    ngx.sleep(0.005)
                    return "b" .. i
                end)
                local ok, r = ngx.thread.wait(b)
                ngx.say("a got: ", r)
            end
            ngx.sleep(0.5)
            ngx.say("a woke up")
        end)
        -- (long enough for both waits under valgrind too)
        ngx.sleep(0.2)
        ngx.say("kill a: ", ngx.thread.kill(a))
        ngx.sleep(0.05)
        ngx.say("done")
    }
--- stream_response
a got: b1
a got: b2
kill a: 1
done
--- no_error_log
[error]
[alert]
