# A reload (HUP) while timers and sessions are live, with a master process.

use Test::Nginx::Socket::Lua::Stream;

repeat_each(1);
master_on();
workers(1);
plan tests => repeat_each() * (blocks() * 3);
no_long_string();
run_tests();

__DATA__

=== TEST 1: a reload (HUP) while a timer and a session wait: the old worker runs the timer early and finishes the session
--- stream_server_config
    content_by_lua_block {
        ngx.timer.at(100, function(premature)
            ngx.log(ngx.WARN, "long timer ran, premature: ", premature)
        end)
        -- ask the master to reload, as an operator would, while this session sleeps
        local f = assert(io.open(ngx.config.prefix() .. "logs/nginx.pid"))
        local master = f:read("*l")
        f:close()
        os.execute("kill -HUP " .. master)
        -- the master reloads, then tells this worker to finish (within seconds)
        for i = 1, 100 do
            if ngx.worker.exiting() then break end
            ngx.sleep(0.05)
        end
        ngx.say("session finished, exiting: ", ngx.worker.exiting())
    }
--- stream_response
session finished, exiting: true
--- wait: 0.3
--- error_log
lua abort pending timers
stream lua found 1 pending timers to be aborted prematurely
long timer ran, premature: true
--- no_error_log
[alert]
[crit]



=== TEST 2: a timer made by a premature timer while the worker exits runs normally, and nothing is left open
--- stream_server_config
    content_by_lua_block {
        ngx.timer.at(100, function(premature)
            ngx.log(ngx.WARN, "f premature: ", premature)
            local ok, err = ngx.timer.at(0, function(premature2)
                ngx.log(ngx.WARN, "g premature: ", premature2, ", exiting: ", ngx.worker.exiting())
            end)
            ngx.log(ngx.WARN, "g registered: ", ok, " ", err)
            ngx.log(ngx.WARN, "a delayed one: ", select(2, ngx.timer.at(1, function() end)))
        end)
        local f = assert(io.open(ngx.config.prefix() .. "logs/nginx.pid"))
        local master = f:read("*l")
        f:close()
        os.execute("kill -HUP " .. master)
        ngx.say("registered")
    }
--- stream_response
registered
--- wait: 0.5
--- error_log
f premature: true
g registered: 1 nil
a delayed one: process exiting
g premature: false, exiting: true
--- no_error_log
[alert]
