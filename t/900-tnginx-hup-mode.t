# The runner's HUP mode (crates/tnginx): with use_hup(), the blocks of this file share one
# nginx (with a master) that is reloaded between blocks instead of restarted.  A shared dict
# keeps its data across a reload, so the second block can see the first block's master.

use Test::Nginx::Socket::Lua::Stream;

use_hup();
repeat_each(1);
plan tests => repeat_each() * (blocks() * 2);
no_shuffle();
run_tests();

__DATA__

=== TEST 1: the first block starts nginx and notes its master's pid
--- stream_config
    lua_shared_dict hup 1m;
--- stream_server_config
    content_by_lua_block {
        local f = assert(io.open(ngx.config.prefix() .. "logs/nginx.pid"))
        local master = f:read("*l")
        f:close()
        ngx.shared.hup:set("master", master)
        ngx.shared.hup:set("worker", ngx.worker.pid())
        ngx.say("master process: ", require("ngx.process").type() == "worker")
    }
--- stream_response
master process: true
--- no_error_log
[error]



=== TEST 2: the next block runs in the same master, reloaded: new worker, same dict
--- stream_config
    lua_shared_dict hup 1m;
--- stream_server_config
    content_by_lua_block {
        local f = assert(io.open(ngx.config.prefix() .. "logs/nginx.pid"))
        local master = f:read("*l")
        f:close()
        ngx.say("same master: ", ngx.shared.hup:get("master") == master)
        ngx.say("new worker: ", ngx.shared.hup:get("worker") ~= ngx.worker.pid())
    }
--- stream_response
same master: true
new worker: true
--- no_error_log
[error]
