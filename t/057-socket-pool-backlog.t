# Connection pools with a backlog (connect's `pool_size` and `backlog` options) under load,
# against the real redis-server of scripts/test-servers.sh: connects beyond pool_size wait in
# the queue, a freed slot wakes only the first waiter, and a woken waiter whose idle
# connection was taken meanwhile waits again, so that a pool never has more than pool_size
# connections open however the peer's answers arrive.

use Test::Nginx::Socket::Lua::Stream;

repeat_each(1);
master_on();
workers(2);
worker_connections(2048);
plan tests => repeat_each() * (blocks() * 3 - 1);
$ENV{TEST_NGINX_REDIS_PORT} ||= 16379;
no_long_string();
run_tests();

__DATA__

=== TEST 1: 400 concurrent sessions on 2 workers, 10 redis queries each through a pool of 5 with a backlog of 1000
--- stream_config
    lua_shared_dict stats 1m;
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        content_by_lua_block {
            local stats = ngx.shared.stats
            local pid = ngx.worker.pid()
            local line = assert(ngx.req.socket():receive())
            local tag, idx = line:match("^(%S+) (%d+)$")
            local key = "stream-lua-rs:backlog:" .. tag .. ":" .. idx
            local opts = { pool = "backlog-" .. tag, pool_size = 5, backlog = 1000 }

            local function query(r, cmd)
                local ok, err = r:send(cmd .. "\r\n")
                if not ok then return nil, err end
                return r:receive()
            end

            for i = 1, 10 do
                local r = ngx.socket.tcp()
                local ok, err = r:connect("127.0.0.1", $TEST_NGINX_REDIS_PORT, opts)
                if not ok then
                    ngx.say("connect failed: ", err)
                    return
                end
                if r:getreusedtimes() == 0 then
                    -- a new connection: redis numbers every connection it accepts
                    local id = assert(query(r, "CLIENT ID"))
                    if not stats:add("id" .. id, true) then
                        ngx.say("connection id seen twice: ", id)
                        return
                    end
                    stats:incr("opened", 1, 0)
                    stats:incr("opened:" .. pid, 1, 0)
                    assert(query(r, "CLIENT SETNAME slrs-" .. tag) == "+OK")
                end
                -- each answer must be this session's own counter
                local got = query(r, "INCR " .. key)
                if got ~= ":" .. i then
                    ngx.say("query ", i, ": ", got)
                    return
                end
                if i == 5 then
                    -- how many of this run's connections redis sees open now
                    local list = query(r, "CLIENT LIST")
                    local len = tonumber(list:match("^%$(%d+)$"))
                    local body = assert(r:receive(len + 2))
                    local live = select(2, body:gsub("name=slrs%-" .. tag:gsub("%p", "%%%0") .. " ", ""))
                    if live > (stats:get("peak:" .. pid) or 0) then
                        stats:set("peak:" .. pid, live)
                    end
                end
                ok, err = r:setkeepalive(30000, 5)
                if not ok then
                    ngx.say("setkeepalive failed: ", err)
                    return
                end
            end
            local r = ngx.socket.tcp()
            assert(r:connect("127.0.0.1", $TEST_NGINX_REDIS_PORT, opts))
            query(r, "DEL " .. key)
            r:setkeepalive(30000, 5)
            stats:set("worker:" .. pid, true)
            ngx.say("ok")
        }
    }
--- stream_server_config
    content_by_lua_block {
        local stats = ngx.shared.stats
        local tag = ngx.worker.pid() .. "-" .. ngx.now() * 1000
        local n = 400
        local threads = {}
        for i = 1, n do
            threads[i] = ngx.thread.spawn(function()
                local c = ngx.socket.tcp()
                c:settimeout(10000)
                local ok, err = c:connect("127.0.0.1", $TEST_NGINX_RAND_PORT_1)
                if not ok then return "connect: " .. err end
                c:send(tag .. " " .. i .. "\n")
                local res, err = c:receive()
                c:close()
                return res or err
            end)
        end
        local answers = {}
        for i = 1, n do
            local _, res = ngx.thread.wait(threads[i])
            answers[res] = (answers[res] or 0) + 1
        end
        for res, count in pairs(answers) do
            ngx.say(res, ": ", count)
        end

        local opened, peak, workers, most = stats:get("opened"), 0, 0, 0
        for _, k in ipairs(stats:get_keys(0)) do
            if k:find("^peak:") then peak = math.max(peak, stats:get(k)) end
            if k:find("^opened:") then most = math.max(most, stats:get(k)) end
            if k:find("^worker:") then workers = workers + 1 end
        end
        ngx.log(ngx.WARN, "backlog load: ", workers, " workers served, ", opened,
                " connections opened (at most ", most, " by one worker), at most ", peak,
                " open at once")
        -- a pool is per worker: 5 connections each at most (it was nearly one per session)
        ngx.say("at most 5 opened by each worker: ", most <= 5)
        ngx.say("at most 10 open at once: ", peak <= 10)
    }
--- stream_response
ok: 400
at most 5 opened by each worker: true
at most 10 open at once: true
--- no_error_log
[error]
--- timeout: 20



=== TEST 2: a connection put back goes to the first waiter, a closed one frees a slot for the next; a new connect waits behind them
--- stream_config
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        content_by_lua_block {
            local sock = ngx.req.socket()
            while sock:receive() do ngx.say("pong") end
        }
    }
--- stream_server_config
    content_by_lua_block {
        local port = $TEST_NGINX_RAND_PORT_1
        local opts = { pool = "first-waiter", pool_size = 2, backlog = 10 }
        local seen = {}
        local function connect(name)
            local s = ngx.socket.tcp()
            local ok, err = s:connect("127.0.0.1", port, opts)
            if name then
                seen[#seen + 1] = name .. ":" .. (ok and s:getreusedtimes() or err)
            end
            return ok and s
        end
        local a, b = connect(), connect()
        local waiters = {}
        for i = 1, 3 do
            waiters[i] = ngx.thread.spawn(connect, "w" .. i)
        end
        -- both connections go to the first two waiters, not to a connect made meanwhile
        a:setkeepalive()
        b:setkeepalive()
        local late = ngx.thread.spawn(connect, "late")
        ngx.sleep(0.05)
        ngx.say("after two releases: ", table.concat(seen, " "))
        local _, w1 = ngx.thread.wait(waiters[1])
        local _, w2 = ngx.thread.wait(waiters[2])
        w1:close()
        ngx.sleep(0.05)
        w2:setkeepalive()
        ngx.sleep(0.05)
        ngx.say("after a close and a release: ", table.concat(seen, " "))
        for _, th in ipairs({ waiters[3], late }) do
            local _, s = ngx.thread.wait(th)
            s:close()
        end
    }
--- stream_response
after two releases: w1:1 w2:1
after a close and a release: w1:1 w2:1 w3:0 late:2
--- grep_error_log eval: qr/queue connect operation for connection pool "first-waiter", connections: \d+/
--- grep_error_log_out
queue connect operation for connection pool "first-waiter", connections: 3
queue connect operation for connection pool "first-waiter", connections: 4
queue connect operation for connection pool "first-waiter", connections: 5
queue connect operation for connection pool "first-waiter", connections: 6
--- no_error_log
[error]



=== TEST 3: a thread killed while its connect waits for the resolver gives its slot back: the queued connect goes on, a new one need not wait
--- stream_config
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        content_by_lua_block {
            local sock = ngx.req.socket()
            while sock:receive() do ngx.say("pong") end
        }
    }
    server {
        # a name server that never answers
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_2 udp;
        content_by_lua_block { }
    }
--- stream_server_config
    resolver 127.0.0.1:$TEST_NGINX_RAND_PORT_2 ipv6=off;
    resolver_timeout 10s;
    content_by_lua_block {
        local port = $TEST_NGINX_RAND_PORT_1
        local opts = { pool = "resolving", pool_size = 1, backlog = 1 }
        local resolving = ngx.thread.spawn(function()
            return ngx.socket.connect("slow.name.test", 80, opts)
        end)
        local queued = ngx.thread.spawn(function()
            local s, err = ngx.socket.connect("127.0.0.1", port, opts)
            if not s then return err end
            s:setkeepalive()
            return "connected"
        end)
        ngx.sleep(0.01)
        ngx.say("kill: ", ngx.thread.kill(resolving))
        ngx.say("queued connect: ", select(2, ngx.thread.wait(queued)))
        local s, err = ngx.socket.connect("127.0.0.1", port, opts)
        ngx.say("new connect: ", s and s:getreusedtimes() or err)
    }
--- stream_response
kill: 1
queued connect: connected
new connect: 1
--- error_log
stream lua tcp socket abort resolver
--- no_error_log
[error]
