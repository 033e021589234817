# Abusive peers (issue 15), part 4: a UDP flood against a UDP server of the same worker, and
# cosocket pools in front of backends that accept and never answer, or reset. Each block
# checks that the worker keeps serving, that a well-behaved request still gets its whole
# answer, and that the worker's file-descriptor count comes back to no more than at the start (read
# from /proc through io.popen; the backends' own sessions end first).

use Test::Nginx::Socket::Lua::Stream;

repeat_each(1);
master_on();
workers(1);
worker_connections(4096);

plan tests => repeat_each() * (blocks() * 3);

run_tests();

__DATA__

=== TEST 1: 5,000 datagrams sent as fast as possible to a UDP server: it stays up and still answers; fds come back
--- stream_config
    lua_shared_dict counts 1m;
    init_by_lua_block {
        function FDS()
            local f = io.popen("ls /proc/" .. ngx.worker.pid() .. "/fd | wc -l")
            local n = tonumber(f:read("*a"))
            f:close()
            return n
        end
        -- closing is asynchronous here and there (sessions ending, the popen child, whose pipe
        -- may also be counted in `before`): within a second, no more fds than at the start
        function FDS_BACK(before)
            for _ = 1, 20 do
                local n = FDS()
                if n <= before then return true end
                ngx.sleep(0.05)
            end
            ngx.log(ngx.ERR, "fds: ", before, " before, ", FDS(), " after")
            return false
        end
    }
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1 udp;
        content_by_lua_block {
            local sock = ngx.req.socket()
            local data = sock:receive()
            ngx.shared.counts:incr("datagrams", 1, 0)
            sock:send("echo:" .. data)
        }
    }
--- stream_server_config
    content_by_lua_block {
        local before = FDS()
        local flood = ngx.socket.udp()
        assert(flood:setpeername("127.0.0.1", $TEST_NGINX_RAND_PORT_1))
        local sent = 0
        for i = 1, 5000 do
            if flood:send("flood " .. i) then sent = sent + 1 end
        end
        flood:close()
        ngx.sleep(0.5)
        -- a well-behaved client: one datagram, one answer (retried, UDP may drop)
        local reply, err
        for try = 1, 10 do
            local u = ngx.socket.udp()
            u:settimeout(300)
            u:setpeername("127.0.0.1", $TEST_NGINX_RAND_PORT_1)
            u:send("hello")
            reply, err = u:receive()
            u:close()
            if reply then break end
        end
        ngx.sleep(0.2)
        local handled = ngx.shared.counts:get("datagrams")
        ngx.say("sent: ", sent, ", handled > 100: ", handled > 100, ", reply: ", reply)
        ngx.say("fds back: ", FDS_BACK(before))
    }
--- stream_response
sent: 5000, handled > 100: true, reply: echo:hello
fds back: true
--- no_error_log
[alert]
--- timeout: 20



=== TEST 2: a backend that accepts and never answers, behind a pool of 5 with a backlog: 40 callers time out, then a live backend answers; fds come back
--- stream_config
    init_by_lua_block {
        function FDS()
            local f = io.popen("ls /proc/" .. ngx.worker.pid() .. "/fd | wc -l")
            local n = tonumber(f:read("*a"))
            f:close()
            return n
        end
        -- closing is asynchronous here and there (sessions ending, the popen child, whose pipe
        -- may also be counted in `before`): within a second, no more fds than at the start
        function FDS_BACK(before)
            for _ = 1, 20 do
                local n = FDS()
                if n <= before then return true end
                ngx.sleep(0.05)
            end
            ngx.log(ngx.ERR, "fds: ", before, " before, ", FDS(), " after")
            return false
        end
    }
    server {
        listen unix:$TEST_NGINX_HTML_DIR/mute.sock;
        content_by_lua_block {
            ngx.sleep(0.5)
        }
    }
    server {
        listen unix:$TEST_NGINX_HTML_DIR/live.sock;
        content_by_lua_block {
            local sock = ngx.req.socket()
            ngx.say("live: ", sock:receive("*l"))
        }
    }
--- stream_server_config
    content_by_lua_block {
        local before = FDS()
        local results = {}
        local threads = {}
        for i = 1, 40 do
            threads[i] = ngx.thread.spawn(function()
                local s = ngx.socket.tcp()
                s:settimeout(200)
                local ok, err = s:connect("unix:$TEST_NGINX_HTML_DIR/mute.sock",
                                          { pool = "mute", pool_size = 5, backlog = 40 })
                if not ok then return err end
                s:send("query\n")
                local line, err = s:receive("*l")
                s:close()
                return line or err
            end)
        end
        for i = 1, 40 do
            local _, r = ngx.thread.wait(threads[i])
            results[r] = (results[r] or 0) + 1
        end
        for k, v in pairs(results) do ngx.say(k, ": ", v) end
        local s = ngx.socket.tcp()
        s:settimeout(1000)
        assert(s:connect("unix:$TEST_NGINX_HTML_DIR/live.sock"))
        s:send("still here\n")
        ngx.say(s:receive("*l"))
        s:close()
        ngx.sleep(0.8)
        ngx.say("fds back: ", FDS_BACK(before))
    }
--- stream_response
timeout: 40
live: still here
fds back: true
--- no_error_log
[alert]
--- timeout: 20



=== TEST 3: a backend that resets (closes with the request unread) behind a pool: every caller gets an error, none hangs, keepalive refuses; fds come back
--- stream_config
    init_by_lua_block {
        function FDS()
            local f = io.popen("ls /proc/" .. ngx.worker.pid() .. "/fd | wc -l")
            local n = tonumber(f:read("*a"))
            f:close()
            return n
        end
        -- closing is asynchronous here and there (sessions ending, the popen child, whose pipe
        -- may also be counted in `before`): within a second, no more fds than at the start
        function FDS_BACK(before)
            for _ = 1, 20 do
                local n = FDS()
                if n <= before then return true end
                ngx.sleep(0.05)
            end
            ngx.log(ngx.ERR, "fds: ", before, " before, ", FDS(), " after")
            return false
        end
    }
    server {
        listen unix:$TEST_NGINX_HTML_DIR/rude.sock;
        content_by_lua_block {
            ngx.sleep(0.05)
        }
    }
--- stream_server_config
    content_by_lua_block {
        local before = FDS()
        local errors, answers = 0, 0
        for i = 1, 60 do
            local s = ngx.socket.tcp()
            s:settimeout(1000)
            local ok, err = s:connect("unix:$TEST_NGINX_HTML_DIR/rude.sock",
                                      { pool = "rude", pool_size = 5, backlog = 10 })
            if ok then
                s:send(string.rep("q", 1000) .. "\n")
                local line, err = s:receive("*l")
                if line then answers = answers + 1 else errors = errors + 1 end
                local kept = s:setkeepalive()
                if kept then ngx.say("kept a failed connection") end
                s:close()
            else
                errors = errors + 1
            end
        end
        ngx.say("errors: ", errors, ", answers: ", answers)
        ngx.sleep(0.3)
        ngx.say("fds back: ", FDS_BACK(before))
    }
--- stream_response
errors: 60, answers: 0
fds back: true
--- no_error_log
[alert]
--- timeout: 20
