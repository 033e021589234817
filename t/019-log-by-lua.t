# log_by_lua_block / log_by_lua_file. Behaviour follows stream-lua v0.0.16 (see upstream
# t/075-logby.t, src/ngx_stream_lua_logby.c): the handler runs once per session, at its end,
# whatever ended it; it sees the session's variables and ngx.ctx; it cannot yield nor write
# to the client; its errors are logged as "failed to run log_by_lua*: ...".

use Test::Nginx::Socket::Lua::Stream;

repeat_each(2);

plan tests => repeat_each() * (blocks() * 2);

no_long_string();

run_tests();

__DATA__

=== TEST 1: the log handler runs after the content handler
--- stream_server_config
    content_by_lua_block {
        ngx.say("content done")
    }
    log_by_lua_block {
        ngx.log(ngx.WARN, "log phase: ", ngx.get_phase(), " protocol ", ngx.var.protocol)
    }
--- stream_response
content done
--- error_log
log phase: log protocol TCP
--- no_error_log
[error]



=== TEST 2: log_by_lua_file
--- stream_server_config
    content_by_lua_block {
        ngx.say("served")
    }
    log_by_lua_file html/logger.lua;
--- user_files
>>> logger.lua
ngx.log(ngx.WARN, "file logger sees status ", ngx.var.status)
--- stream_response
served
--- error_log
file logger sees status 200
--- no_error_log
[error]



=== TEST 3: session variables at log time
--- stream_server_config
    content_by_lua_block {
        local sock = assert(ngx.req.socket())
        local line = sock:receive()
        ngx.say("you said ", line)
    }
    log_by_lua_block {
        ngx.log(ngx.WARN, "sent=", ngx.var.bytes_sent, " status=", ngx.var.status,
                " addr=", ngx.var.remote_addr)
    }
--- stream_request
hello
--- stream_response
you said hello
--- error_log
sent=15 status=200 addr=127.0.0.1



=== TEST 4: ngx.ctx set in content is visible in the log handler
--- stream_server_config
    content_by_lua_block {
        ngx.ctx.visits = 7
        ngx.ctx.tag = "from content"
        ngx.say("ok")
    }
    log_by_lua_block {
        ngx.log(ngx.WARN, "ctx: ", ngx.ctx.tag, " ", ngx.ctx.visits)
    }
--- stream_response
ok
--- error_log
ctx: from content 7



=== TEST 5: ngx.ctx carries values from preread through content to log
--- stream_server_config
    preread_by_lua_block {
        ngx.ctx.trail = { "preread" }
    }
    content_by_lua_block {
        table.insert(ngx.ctx.trail, "content")
        ngx.say("trail so far: ", table.concat(ngx.ctx.trail, ">"))
    }
    log_by_lua_block {
        table.insert(ngx.ctx.trail, "log")
        ngx.log(ngx.WARN, "full trail: ", table.concat(ngx.ctx.trail, ">"))
    }
--- stream_response
trail so far: preread>content
--- error_log
full trail: preread>content>log



=== TEST 6: an empty ngx.ctx when no other phase used it
--- stream_server_config
    return "plain\n";
    log_by_lua_block {
        ngx.log(ngx.WARN, "ctx is a ", type(ngx.ctx), " with counter ", ngx.ctx.counter)
    }
--- stream_response
plain
--- error_log
ctx is a table with counter nil



=== TEST 7: the log handler runs after a content error, with status 500
--- stream_server_config
    content_by_lua_block {
        ngx.say("before the crash")
        error("content crashed")
    }
    log_by_lua_block {
        ngx.log(ngx.WARN, "logged status ", ngx.var.status)
    }
--- stream_response
before the crash
--- error_log
content crashed
logged status 500



=== TEST 8: the log handler sees the code given to ngx.exit
--- stream_server_config
    content_by_lua_block {
        ngx.say("bye")
        ngx.exit(444)
    }
    log_by_lua_block {
        ngx.log(ngx.WARN, "logged status ", ngx.var.status)
    }
--- stream_response
bye
--- error_log
logged status 444



=== TEST 9: the log handler runs when preread ends the session
--- stream_server_config
    preread_by_lua_block {
        ngx.ctx.why = "blocked in preread"
        ngx.exit(ngx.ERROR)
    }
    content_by_lua_block {
        ngx.say("must not run")
    }
    log_by_lua_block {
        ngx.log(ngx.WARN, "log after: ", ngx.ctx.why)
    }
--- stream_response
--- error_log
log after: blocked in preread



=== TEST 10: a stream-level log handler is inherited by servers
--- stream_config
    log_by_lua_block {
        ngx.log(ngx.WARN, "stream-level logger, status ", ngx.var.status)
    }
--- stream_server_config
    content_by_lua_block {
        ngx.say("inherits")
    }
--- stream_response
inherits
--- error_log
stream-level logger, status 200



=== TEST 11: the server-level log handler replaces the stream-level one
--- stream_config
    log_by_lua_block {
        ngx.log(ngx.WARN, "outer logger")
    }
--- stream_server_config
    content_by_lua_block {
        ngx.say("own logger")
    }
    log_by_lua_block {
        ngx.log(ngx.WARN, "inner logger")
    }
--- stream_response
own logger
--- error_log
inner logger
--- no_error_log
outer logger



=== TEST 12: an error in the log handler
--- stream_server_config
    content_by_lua_block {
        ngx.say("fine")
    }
    log_by_lua_block {
        local x = 1
        error("logging broke " .. x)
    }
--- stream_response
fine
--- error_log eval
qr/\[error\] .*failed to run log_by_lua\*: log_by_lua\(nginx\.conf:\d+\):3: logging broke 1/



=== TEST 13: error(nil) in the log handler
--- stream_server_config
    content_by_lua_block {
        ngx.say("fine")
    }
    log_by_lua_block { error(nil) }
--- stream_response
fine
--- error_log
failed to run log_by_lua*: unknown reason



=== TEST 14: the log handler's error comes with a traceback
--- stream_server_config
    content_by_lua_block {
        ngx.say("fine")
    }
    log_by_lua_block {
        local function inner()
            error("deep trouble")
        end
        local function outer()
            inner()
        end
        outer()
    }
--- stream_response
fine
--- error_log
deep trouble
stack traceback:
in function 'inner'
in function 'outer'



=== TEST 15: an error in a log_by_lua_file handler names the file
--- stream_server_config
    content_by_lua_block {
        ngx.say("fine")
    }
    log_by_lua_file html/bad-logger.lua;
--- user_files
>>> bad-logger.lua
local n = nil
return n + 1
--- stream_response
fine
--- error_log eval
qr/failed to run log_by_lua\*: \S*bad-logger\.lua:2: attempt to perform arithmetic on local 'n' \(a nil value\)/



=== TEST 16: a missing log_by_lua_file
--- stream_server_config
    content_by_lua_block {
        ngx.say("fine")
    }
    log_by_lua_file html/no-such-logger.lua;
--- stream_response
fine
--- error_log eval
qr/failed to load external Lua file ".*?no-such-logger\.lua": cannot open /



=== TEST 17: output and exit APIs are refused in the log handler
--- stream_server_config
    content_by_lua_block {
        ngx.say("done")
    }
    log_by_lua_block {
        local names = { "say", "print", "flush", "eof", "exit" }
        local args = { {"x"}, {"x"}, {}, {}, {0} }
        for i, name in ipairs(names) do
            local ok, err = pcall(ngx[name], unpack(args[i]))
            ngx.log(ngx.WARN, "log phase ", name, ": ", ok, " ", err)
        end
    }
--- stream_response
done
--- error_log
log phase say: false API disabled in the context of log_by_lua*
log phase print: false API disabled in the context of log_by_lua*
log phase flush: false API disabled in the context of log_by_lua*
log phase eof: false API disabled in the context of log_by_lua*
log phase exit: false API disabled in the context of log_by_lua*



=== TEST 18: ngx.say in the log handler is an error
--- stream_server_config
    content_by_lua_block {
        ngx.say("done")
    }
    log_by_lua_block { ngx.say("late") }
--- stream_response
done
--- error_log eval
qr/failed to run log_by_lua\*: log_by_lua\(nginx\.conf:\d+\):1: API disabled in the context of log_by_lua\*/



=== TEST 19: ngx.req.socket in the log handler is an error
--- stream_server_config
    content_by_lua_block {
        ngx.say("done")
    }
    log_by_lua_block { local s = ngx.req.socket() }
--- stream_response
done
--- error_log eval
qr/failed to run log_by_lua\*: log_by_lua\(nginx\.conf:\d+\):1: API disabled in the context of log_by_lua\*/



=== TEST 20: a timer started in the log handler runs, and may sleep
--- stream_server_config
    content_by_lua_block {
        ngx.say("done")
    }
    log_by_lua_block {
        local ok, err = ngx.timer.at(0.01, function(premature, who)
            ngx.sleep(0.01)
            ngx.log(ngx.WARN, "timer from ", who, " premature=", premature)
        end, ngx.get_phase())
        ngx.log(ngx.WARN, "timer created: ", ok, " ", err)
    }
--- stream_response
done
--- wait: 0.2
--- error_log
timer created: 1 nil
timer from log premature=false
--- no_error_log
[error]



=== TEST 21: the log handler runs for every session
--- stream_server_config
    content_by_lua_block {
        ngx.say("session")
    }
    log_by_lua_block {
        ngx.log(ngx.WARN, "logging session ", ngx.var.connection)
    }
--- stream_response
session
--- grep_error_log eval: qr/logging session \d+/
--- grep_error_log_out eval
# one line per session; the number is the connection counter, which a reload (HUP mode) does
# not restart
[qr/\Alogging session [1-9]\d*\n\z/, qr/\Alogging session [1-9]\d*\n\z/]



=== TEST 22: ngx.req.start_time is the same in content and log
--- stream_server_config
    content_by_lua_block {
        ngx.ctx.start = ngx.req.start_time()
        ngx.say("ok")
    }
    log_by_lua_block {
        ngx.log(ngx.WARN, "same start: ", ngx.req.start_time() == ngx.ctx.start)
    }
--- stream_response
ok
--- error_log
same start: true
