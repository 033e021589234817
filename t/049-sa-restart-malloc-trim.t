# lua_sa_restart (default on) and lua_malloc_trim (default 1000). Behaviour follows stream-lua
# v0.0.16 (t/159-sa-restart.t; src/ngx_stream_lua_util.c ngx_stream_lua_set_sa_restart,
# src/ngx_stream_lua_logby.c): each worker adds SA_RESTART to nginx's signal handlers as it
# starts, so a blocking call made from Lua is not cut short by a signal; every N-th session
# logged calls malloc_trim(1).

use Test::Nginx::Socket::Lua::Stream;

repeat_each(1);

add_block_preprocessor(sub {
    my $block = shift;
    my $stream_config = $block->stream_config || '';
    $stream_config .= <<'_EOC_';
    init_by_lua_block {
        -- signals this process to itself while it reads from a pipe: without SA_RESTART
        -- the read fails with EINTR. The shell waits until the worker sleeps (in that read)
        -- before it sends the signal, so the signal cannot come before the read starts.
        function signal_self()
            local out = {}
            local pid = ngx.worker.pid()
            for _, sig in ipairs({ "ALRM", "IO", "CHLD" }) do
                local p = io.popen(string.format(
                    "for i in $(seq 300); do [ \"$(cut -d' ' -f3 /proc/%d/stat)\" = S ] && break; "
                    .. "sleep 0.01; done; kill -s %s %d && sleep 0.01", pid, sig, pid))
                local data, err = p:read("*a")
                p:close()
                out[#out + 1] = sig .. ": " .. (data and "ok" or tostring(err))
            end
            return table.concat(out, ", ")
        end
    }
_EOC_
    $block->set_value("stream_config", $stream_config);
});

plan tests => repeat_each() * (blocks() * 2);

no_long_string();

run_tests();

__DATA__

=== TEST 1: by default signals do not interrupt a read in content_by_lua
--- stream_server_config
    content_by_lua_block {
        ngx.say(signal_self())
    }
--- stream_response
ALRM: ok, IO: ok, CHLD: ok
--- error_log
setting SA_RESTART for signal 14



=== TEST 2: lua_sa_restart on: also in init_worker_by_lua, log_by_lua and timers
--- stream_config
    lua_sa_restart on;
    init_worker_by_lua_block {
        ngx.log(ngx.WARN, "init_worker: ", signal_self())
    }
--- stream_server_config
    content_by_lua_block {
        ngx.timer.at(0, function()
            ngx.log(ngx.WARN, "timer: ", signal_self())
        end)
        ngx.say("done")
    }
    log_by_lua_block {
        ngx.log(ngx.WARN, "log: ", signal_self())
    }
--- stream_response
done
--- wait: 0.2
--- error_log
init_worker: ALRM: ok, IO: ok, CHLD: ok
timer: ALRM: ok, IO: ok, CHLD: ok
log: ALRM: ok, IO: ok, CHLD: ok



=== TEST 3: lua_sa_restart off: a signal cuts the read short
--- stream_config
    lua_sa_restart off;
--- stream_server_config
    content_by_lua_block {
        ngx.say(signal_self())
    }
--- stream_response_like chomp
Interrupted system call
--- no_error_log
setting SA_RESTART



=== TEST 4: lua_sa_restart with a bad value
--- stream_config
    lua_sa_restart maybe;
--- stream_server_config
    content_by_lua_block {
        ngx.say("unreachable")
    }
--- must_die
--- error_log
invalid value "maybe" in "lua_sa_restart" directive, it must be "on" or "off"



=== TEST 5: lua_sa_restart twice
--- stream_config
    lua_sa_restart on;
    lua_sa_restart off;
--- stream_server_config
    content_by_lua_block {
        ngx.say("unreachable")
    }
--- must_die
--- error_log
"lua_sa_restart" directive is duplicate



=== TEST 6: lua_sa_restart is not allowed in a server
--- stream_server_config
    lua_sa_restart off;
    content_by_lua_block {
        ngx.say("unreachable")
    }
--- must_die
--- error_log
"lua_sa_restart" directive is not allowed here



=== TEST 7: lua_malloc_trim N trims after every N-th session
--- stream_config
    lua_malloc_trim 3;
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        return "hi\n";
    }
--- stream_server_config
    content_by_lua_block {
        for i = 1, 3 do
            local sock = ngx.socket.tcp()
            assert(sock:connect("127.0.0.1", $TEST_NGINX_RAND_PORT_1))
            assert(sock:receive())
            sock:close()
        end
        ngx.sleep(0.05)
        ngx.say("three sessions done")
    }
--- stream_response
three sessions done
--- grep_error_log eval
qr/malloc_trim\(1\) returned \d+/
--- grep_error_log_out eval
qr/\Amalloc_trim\(1\) returned \d+\n\z/



=== TEST 8: lua_malloc_trim 0 turns trimming off
--- stream_config
    lua_malloc_trim 0;
--- stream_server_config
    content_by_lua_block {
        ngx.say("ok")
    }
    log_by_lua_block {
        ngx.log(ngx.WARN, "logged")
    }
--- stream_response
ok
--- error_log
malloc_trim() disabled
--- no_error_log
malloc_trim(1) returned



=== TEST 9: by default (1000 sessions) a few sessions do not trim
--- stream_server_config
    content_by_lua_block {
        ngx.say("ok")
    }
    log_by_lua_block {
        ngx.log(ngx.WARN, "logged")
    }
--- stream_response
ok
--- error_log
logged
--- no_error_log
malloc_trim



=== TEST 10: lua_malloc_trim with a bad number
--- stream_config
    lua_malloc_trim many;
--- stream_server_config
    content_by_lua_block {
        ngx.say("unreachable")
    }
--- must_die
--- error_log
"lua_malloc_trim" directive invalid number in the 1st argument



=== TEST 11: lua_malloc_trim with a negative number
--- stream_config
    lua_malloc_trim -5;
--- stream_server_config
    content_by_lua_block {
        ngx.say("unreachable")
    }
--- must_die
--- error_log
"lua_malloc_trim" directive invalid number in the 1st argument
