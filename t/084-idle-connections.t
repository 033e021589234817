# Abusive clients (issue 15), part 3: many idle connections. The runner's
# `--- stream_idle_connections: N` opens N connections to the server that send nothing and
# holds them open while the block's request runs (crates/tnginx/src/abuse.rs). Each idle one
# is a Lua session parked in receive(); the request must still be answered at once and whole,
# and every idle session must end cleanly when its client goes away.

use Test::Nginx::Socket::Lua::Stream;

repeat_each(1);
master_on();
workers(1);
worker_connections(4096);

plan tests => repeat_each() * (blocks() * 4);

run_tests();

__DATA__

=== TEST 1: 2,000 idle connections parked in receive("*l"), then a normal request
--- stream_config
    lua_shared_dict counts 1m;
--- main_config
    worker_rlimit_nofile 8192;
--- stream_server_config
    lua_socket_read_timeout 20s;
    content_by_lua_block {
        local counts = ngx.shared.counts
        local parked = counts:incr("parked", 1, 0)
        local sock = assert(ngx.req.socket())
        local line, err = sock:receive("*l")
        counts:incr("parked", -1)
        if line then
            -- the idle ones are all parked by now: they connected first
            ngx.say("pong: ", line, ", parked with me: ", parked - 1)
            ngx.say(string.rep("p", 100000):len())
        else
            counts:incr("ended " .. err, 1, 0)
            ngx.log(ngx.WARN, "idle session ended: ", err)
        end
    }
--- stream_idle_connections: 2000
--- stream_request
ping
--- stream_response
pong: ping, parked with me: 2000
100000
--- grep_error_log eval
qr/idle session ended: \w+/
--- grep_error_log_out eval
"idle session ended: closed\n" x 2000
--- no_error_log
[alert]
[crit]
--- wait: 2
--- timeout: 30
