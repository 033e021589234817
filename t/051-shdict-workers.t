# Shared dicts across processes: two workers incrementing one key at once, values kept over a
# reload (HUP), init_by_lua errors and bad lua_shared_dict directives.
use Test::Nginx::Socket::Lua::Stream;

repeat_each(1);
master_on();
workers(2);

plan tests => repeat_each() * (blocks() * 2);

no_long_string();
run_tests();

__DATA__

=== TEST 1: two workers incr one key 5000 times each at the same time: no update is lost
--- stream_config
    lua_shared_dict dogs 1m;
    init_worker_by_lua_block {
        local dogs = ngx.shared.dogs
        ngx.timer.at(0, function()
            dogs:set("worker:" .. ngx.worker.pid(), true)
            for i = 1, 5000 do
                dogs:incr("n", 1, 0)
                if i % 500 == 0 then ngx.sleep(0) end
            end
            dogs:incr("done", 1, 0)
        end)
    }
--- stream_server_config
    content_by_lua_block {
        local dogs = ngx.shared.dogs
        for _ = 1, 200 do
            if dogs:get("done") == 2 then break end
            ngx.sleep(0.02)
        end
        local workers = 0
        for _, k in ipairs(dogs:get_keys(0)) do
            if k:find("^worker:") then workers = workers + 1 end
        end
        ngx.say("done: ", dogs:get("done"), ", workers: ", workers, ", n: ", dogs:get("n"))
    }
--- stream_response
done: 2, workers: 2, n: 10000
--- no_error_log
[error]



=== TEST 2: a reload keeps the zone: the new cycle's init_by_lua and workers see the old values
--- stream_config
    lua_shared_dict dogs 1m;
    init_by_lua_block {
        -- runs in the master at the start and again at the reload
        ngx.shared.dogs:incr("init runs", 1, 0)
    }
    init_worker_by_lua_block {
        local dogs = ngx.shared.dogs
        local before = dogs:get("before reload")
        if before then
            dogs:set("seen by a new worker", before)
        end
    }
--- stream_server_config
    content_by_lua_block {
        local dogs = ngx.shared.dogs
        dogs:set("before reload", "kept")
        dogs:lpush("list", "also kept")
        local f = assert(io.open(ngx.config.prefix() .. "logs/nginx.pid"))
        local master = f:read("*l")
        f:close()
        os.execute("kill -HUP " .. master)
        for _ = 1, 150 do
            if dogs:get("seen by a new worker") then break end
            ngx.sleep(0.02)
        end
        ngx.say("new worker saw: ", dogs:get("seen by a new worker"))
        ngx.say("init runs: ", dogs:get("init runs"))
        ngx.say("list: ", dogs:lpop("list"))
    }
--- stream_response
new worker saw: kept
init runs: 2
list: also kept
--- no_error_log
[alert]



=== TEST 3: an error in init_by_lua with shared dicts stops nginx
--- stream_config
    lua_shared_dict dogs 1m;
    init_by_lua_block {
        ngx.shared.dogs:set("k", "v")
        error("init failed on purpose")
    }
--- stream_server_config
    content_by_lua_block {
        ngx.say("unreachable")
    }
--- must_die
--- error_log
init failed on purpose



=== TEST 4: a size under 8k is refused
--- stream_config
    lua_shared_dict dogs 8191;
--- stream_server_config
    content_by_lua_block {
        ngx.say("unreachable")
    }
--- must_die
--- error_log
invalid lua shared dict size "8191"



=== TEST 5: a size that is not a size is refused
--- stream_config
    lua_shared_dict dogs 1x;
--- stream_server_config
    content_by_lua_block {
        ngx.say("unreachable")
    }
--- must_die
--- error_log
invalid lua shared dict size "1x"



=== TEST 6: a dict declared twice is refused
--- stream_config
    lua_shared_dict dogs 1m;
    lua_shared_dict dogs 1m;
--- stream_server_config
    content_by_lua_block {
        ngx.say("unreachable")
    }
--- must_die
--- error_log
lua_shared_dict "dogs" is already defined as "dogs"



=== TEST 7: the same name with another size is refused by nginx
--- stream_config
    lua_shared_dict dogs 1m;
    lua_shared_dict dogs 2m;
--- stream_server_config
    content_by_lua_block {
        ngx.say("unreachable")
    }
--- must_die
--- error_log
conflicts with already declared size
