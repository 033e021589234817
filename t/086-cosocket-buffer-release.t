# A closed cosocket gives its receive buffer back at once, not at its __gc: the Lua GC does not
# count that memory, so with a big Lua heap (100,000 pending timers in scripts/soak.sh) closed
# sockets waiting for a collection held 4 KB each, and the worker's RSS ran 1.7 times the C
# module's. Here the GC is stopped and 5,000 sockets are kept after they read and close (or go
# to the pool): the worker's memory outside the Lua heap grows by far less than a buffer each.

use Test::Nginx::Socket::Lua::Stream;

repeat_each(1);
master_on();
workers(1);

plan tests => repeat_each() * (blocks() * 3);

run_tests();

__DATA__

=== TEST 1: 5,000 cosockets read 4 KB and close, kept alive with the GC stopped: under 2 KB each outside the Lua heap
--- stream_config
    server {
        listen unix:$TEST_NGINX_HTML_DIR/backend.sock;
        content_by_lua_block {
            ngx.print(string.rep("b", 4000))
        }
    }
--- stream_server_config
    content_by_lua_block {
        local function rss()
            local f = assert(io.open("/proc/self/status"))
            local s = f:read("*a")
            f:close()
            return tonumber(s:match("VmRSS:%s*(%d+)"))
        end
        local function round(n, keep)
            for i = 1, n do
                local s = ngx.socket.tcp()
                assert(s:connect("unix:$TEST_NGINX_HTML_DIR/backend.sock"))
                local data = assert(s:receive(4000))
                s:close()
                if keep then keep[#keep + 1] = s end
            end
        end
        round(500)  -- warm: pools, traces, the first sessions
        collectgarbage()
        collectgarbage("stop")
        local keep = {}
        local lua0, rss0 = collectgarbage("count"), rss()
        round(5000, keep)
        local outside = (rss() - rss0) - (collectgarbage("count") - lua0)
        collectgarbage("restart")
        ngx.say("kept: ", #keep)
        ngx.say("under 2 KB each outside the Lua heap: ", outside / 5000 < 2 or outside / 5000)
    }
--- stream_response
kept: 5000
under 2 KB each outside the Lua heap: true
--- no_error_log
[error]
--- timeout: 30



=== TEST 2: the same with setkeepalive: 5,000 sockets whose connections went to the pool hold no buffer
--- stream_config
    server {
        listen unix:$TEST_NGINX_HTML_DIR/pooled.sock;
        content_by_lua_block {
            local sock = ngx.req.socket()
            while sock:receive() do
                ngx.print(string.rep("b", 4000))
            end
        }
    }
--- stream_server_config
    content_by_lua_block {
        local function rss()
            local f = assert(io.open("/proc/self/status"))
            local s = f:read("*a")
            f:close()
            return tonumber(s:match("VmRSS:%s*(%d+)"))
        end
        local function round(n, keep)
            for i = 1, n do
                local s = ngx.socket.tcp()
                assert(s:connect("unix:$TEST_NGINX_HTML_DIR/pooled.sock"))
                assert(s:send("more\n"))
                local data = assert(s:receive(4000))
                assert(s:setkeepalive(10000, 1))
                if keep then keep[#keep + 1] = s end
            end
        end
        round(500)
        collectgarbage()
        collectgarbage("stop")
        local keep = {}
        local lua0, rss0 = collectgarbage("count"), rss()
        round(5000, keep)
        local outside = (rss() - rss0) - (collectgarbage("count") - lua0)
        collectgarbage("restart")
        ngx.say("kept: ", #keep)
        ngx.say("under 2 KB each outside the Lua heap: ", outside / 5000 < 2 or outside / 5000)
    }
--- stream_response
kept: 5000
under 2 KB each outside the Lua heap: true
--- no_error_log
[error]
--- timeout: 30
