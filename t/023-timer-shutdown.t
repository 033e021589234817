# Pending timers when a worker shuts down gracefully. Behaviour follows stream-lua v0.0.16
# (see upstream t/106-timer.t, t/109-timer-hup.t, src/ngx_stream_lua_timer.c
# ngx_stream_lua_abort_pending_timers): on SIGQUIT every pending timer runs at once with
# premature = true, and new timers with a delay are refused with "process exiting".
# A master process is needed for the graceful shutdown of the worker.

use Test::Nginx::Socket::Lua::Stream;

master_on();

repeat_each(1);

plan tests => repeat_each() * (blocks() * 2);

no_long_string();

run_tests();

__DATA__

=== TEST 1: a long timer runs prematurely at shutdown
--- stream_server_config
    content_by_lua_block {
        ngx.timer.at(100, function(premature, label)
            ngx.log(ngx.WARN, label, " premature: ", premature)
        end, "long timer")
        ngx.say("scheduled")
    }
--- stream_response
scheduled
--- no_error_log
long timer premature
--- shutdown_error_log
long timer premature: true



=== TEST 2: all pending timers run prematurely, timers that already fired do not run again
--- stream_server_config
    content_by_lua_block {
        local function cb(premature, name)
            ngx.log(ngx.WARN, "timer ", name, " premature=", premature)
        end
        ngx.timer.at(0, cb, "quick")
        ngx.timer.at(50, cb, "slow-1")
        ngx.timer.at(60, cb, "slow-2")
        ngx.sleep(0.05)
        ngx.say("pending: ", ngx.timer.pending_count())
    }
--- stream_response
pending: 2
--- error_log
timer quick premature=false
--- shutdown_error_log
timer slow-1 premature=true
timer slow-2 premature=true
--- no_shutdown_error_log
timer quick premature=true



=== TEST 3: a recurring timer gets one premature run at shutdown
--- stream_server_config
    content_by_lua_block {
        local runs = 0
        ngx.timer.every(30, function(premature)
            runs = runs + 1
            ngx.log(ngx.WARN, "every run ", runs, " premature=", premature)
        end)
        ngx.say("every scheduled")
    }
--- stream_response
every scheduled
--- shutdown_error_log
every run 1 premature=true
--- no_shutdown_error_log
every run 2



=== TEST 4: new delayed timers are refused while exiting, zero delay is allowed
--- stream_server_config
    content_by_lua_block {
        ngx.timer.at(100, function(premature)
            local ok, err = ngx.timer.at(1, function() end)
            ngx.log(ngx.WARN, "delayed timer while exiting: ", ok, " ", err)
            ok, err = ngx.timer.at(0, function(p)
                ngx.log(ngx.WARN, "zero-delay timer while exiting ran, premature=", p)
            end)
            ngx.log(ngx.WARN, "zero-delay timer while exiting: ", ok, " ", err)
            ngx.log(ngx.WARN, "worker exiting: ", ngx.worker.exiting())
        end)
        ngx.say("ok")
    }
--- stream_response
ok
--- shutdown_error_log
delayed timer while exiting: nil process exiting
zero-delay timer while exiting: 1 nil
worker exiting: true



=== TEST 5: a premature timer created in init_worker
--- stream_config
    init_worker_by_lua_block {
        ngx.timer.at(300, function(premature)
            ngx.log(ngx.WARN, "init_worker timer, premature=", premature)
        end)
    }
--- stream_server_config
    content_by_lua_block {
        ngx.say("pending: ", ngx.timer.pending_count())
    }
--- stream_response
pending: 1
--- shutdown_error_log
init_worker timer, premature=true



=== TEST 6: a premature callback may still log its arguments
--- stream_server_config
    content_by_lua_block {
        ngx.timer.at(100, function(premature, a, b)
            ngx.log(ngx.WARN, "args at shutdown: ", premature, " ", a, " ", b)
        end, "alpha", 2)
        ngx.say("ok")
    }
--- stream_response
ok
--- shutdown_error_log
args at shutdown: true alpha 2



=== TEST 7: premature runs go in the order the timers are due, each leaving the others pending
--- stream_server_config
    content_by_lua_block {
        local function cb(premature, name)
            ngx.log(ngx.WARN, "premature ", name, " sees ", ngx.timer.pending_count(), " pending")
        end
        ngx.timer.at(100, cb, "a")
        ngx.timer.at(80, cb, "b")
        ngx.timer.at(90, cb, "c")
        ngx.say("pending: ", ngx.timer.pending_count())
    }
--- stream_response
pending: 3
--- shutdown_error_log
premature b sees 2 pending
premature c sees 1 pending
premature a sees 0 pending



=== TEST 8: a killed thread's long sleep does not keep the worker from quitting
--- stream_server_config
    content_by_lua_block {
        local t = ngx.thread.spawn(function() ngx.sleep(100) end)
        ngx.say("killed: ", ngx.thread.kill(t))
    }
--- stream_response
killed: 1
--- shutdown_error_log eval
qr/\[notice\] \d+#\d+: worker process \d+ exited with code \d+/
