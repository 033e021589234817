# require "ngx.errlog" and lua_capture_error_log. Behaviour follows lua-resty-core v0.1.31's
# lib/ngx/errlog.lua (and its t/stream/errlog*.t) over stream-lua v0.0.16's
# src/ngx_stream_lua_log.c and ngx_stream_lua_log_ringbuf.c: each process keeps the newest
# error log lines it writes (without the line feed) in a ring buffer of the given size;
# get_logs() takes the oldest out as level, time, text triples. (Stock nginx formats a line
# into at most NGX_MAX_ERROR_STR = 2048 bytes, OpenResty's nginx into 4096: that constant is
# also the smallest buffer accepted.)

use Test::Nginx::Socket::Lua::Stream;

repeat_each(2);
log_level('error');

plan tests => repeat_each() * (blocks() * 2);

no_long_string();

run_tests();

__DATA__

=== TEST 1: two messages captured, with their level, time and whole line
--- stream_config
    lua_capture_error_log 32k;
--- stream_server_config
    content_by_lua_block {
        local get_logs = require("ngx.errlog").get_logs
        ngx.log(ngx.ERR, "first ", "one")
        ngx.log(ngx.CRIT, "second ", "one")
        local res = assert(get_logs())
        ngx.say("entries: ", #res / 3)
        for i = 1, #res, 3 do
            ngx.say(res[i], " ", res[i + 1] == ngx.now(), " ", res[i + 2])
        end
    }
--- stream_response_like chomp
\Aentries: 2
4 true \d{4}/\d\d/\d\d \d\d:\d\d:\d\d \[error\] \d+#\d+: \*\d+ stream \[lua\] content_by_lua\(nginx\.conf:\d+\):3: first one, client: 127\.0\.0\.1, server: 127\.0\.0\.1:\d+
3 true \d{4}/\d\d/\d\d \d\d:\d\d:\d\d \[crit\] \d+#\d+: \*\d+ stream \[lua\] content_by_lua\(nginx\.conf:\d+\):4: second one, client: 127\.0\.0\.1, server: 127\.0\.0\.1:\d+
\z



=== TEST 2: messages are taken out as they are read
--- stream_config
    lua_capture_error_log 32k;
--- stream_server_config
    content_by_lua_block {
        local errlog = require("ngx.errlog")
        ngx.log(ngx.ERR, "only once")
        ngx.say("first read: ", #errlog.get_logs() / 3)
        ngx.say("second read: ", #errlog.get_logs() / 3)
    }
--- stream_response
first read: 1
second read: 0



=== TEST 3: without lua_capture_error_log
--- stream_server_config
    content_by_lua_block {
        local errlog = require("ngx.errlog")
        ngx.say(errlog.get_logs())
        ngx.say(errlog.set_filter_level(ngx.ERR))
    }
--- stream_response
nildirective "lua_capture_error_log" is not set
nildirective "lua_capture_error_log" is not set



=== TEST 4: filter levels: only messages at least as severe are kept
--- stream_config
    lua_capture_error_log 32k;
--- stream_server_config
    content_by_lua_block {
        local errlog = require("ngx.errlog")
        for _, lvl in ipairs({ "INFO", "WARN", "CRIT" }) do
            assert(errlog.set_filter_level(ngx[lvl]))
            ngx.log(ngx.NOTICE, "notice")
            ngx.log(ngx.WARN, "warn")
            ngx.log(ngx.ERR, "err")
            local res = errlog.get_logs(100)
            local got = {}
            for i = 3, #res, 3 do
                got[#got + 1] = res[i]:match(": (%a+), client")
            end
            ngx.say(lvl, ": ", table.concat(got, " "))
        end
    }
--- log_level: notice
--- stream_response
INFO: notice warn err
WARN: warn err
CRIT: 



=== TEST 5: set_filter_level with bad levels
--- stream_config
    lua_capture_error_log 32k;
--- stream_server_config
    content_by_lua_block {
        local errlog = require("ngx.errlog")
        ngx.say(errlog.set_filter_level(9))
        ngx.say(errlog.set_filter_level(-1))
        ngx.say(errlog.set_filter_level())
        ngx.say(errlog.set_filter_level(ngx.DEBUG))
        ngx.say(errlog.set_filter_level(ngx.STDERR))
        ngx.say(pcall(errlog.set_filter_level, "warn"))
    }
--- stream_response_like chomp
\Anilbad log level: 9
nilbad log level: -1
nilmissing "level" argument
true
true
false.*cannot convert 'string' to 'int'\)
\z



=== TEST 6: the filter level stays for later sessions of the process
--- stream_config
    lua_capture_error_log 32k;
--- stream_server_config
    content_by_lua_block {
        local errlog = require("ngx.errlog")
        errlog.get_logs(1000)  -- what earlier sessions left
        ngx.log(ngx.ERR, "an error")
        ngx.say("captured: ", #errlog.get_logs() / 3)
        -- from now on, errors are not kept (the first run prints 1, the second 0)
        errlog.set_filter_level(ngx.CRIT)
    }
--- stream_response_like chomp
\Acaptured: [01]\n\z



=== TEST 7: get_logs(max) and a table of the caller's
--- stream_config
    lua_capture_error_log 32k;
--- stream_server_config
    content_by_lua_block {
        local errlog = require("ngx.errlog")
        for i = 1, 5 do
            ngx.log(ngx.ERR, "msg ", i)
        end
        local t = { "stale", "stale", "stale", "stale", "stale", "stale", "stale" }
        local res = errlog.get_logs(2, t)
        ngx.say(res == t, " ", #res / 3, " ", res[3]:match("msg %d"), " ",
                res[6]:match("msg %d"), " ", tostring(res[7]))
        res = errlog.get_logs(10, t)
        ngx.say(#res / 3, " ", res[3]:match("msg %d"), " ", res[9]:match("msg %d"),
                " ", tostring(res[10]))
        -- nothing left: the list ends at once (the caller's old entries beyond stay)
        res = errlog.get_logs(10, t)
        ngx.say(tostring(res[1]))
        ngx.say(#errlog.get_logs(0))
    }
--- stream_response
true 2 msg 1 msg 2 nil
3 msg 3 msg 5 nil
nil
0



=== TEST 8: a line longer than the buffer is not kept
--- stream_config
    lua_capture_error_log 2k;
--- stream_server_config
    content_by_lua_block {
        local errlog = require("ngx.errlog")
        ngx.log(ngx.ERR, "short")
        ngx.log(ngx.ERR, "long ", string.rep("x", 4000))
        local res = errlog.get_logs()
        ngx.say("entries: ", #res / 3, ", ", res[3]:match("short") or "?")
    }
--- stream_response
entries: 1, short



=== TEST 9: a flood keeps the newest lines, in order, without gaps
--- stream_config
    lua_capture_error_log 4k;
--- stream_server_config
    content_by_lua_block {
        local errlog = require("ngx.errlog")
        assert(errlog.set_filter_level(ngx.WARN))
        local levels = { ngx.NOTICE, ngx.WARN, ngx.ERR }
        for round = 1, 300 do
            ngx.log(levels[(round - 1) % 3 + 1], "--> ", math.ceil(round / 3))
        end
        local res = errlog.get_logs(1000)
        local n = #res / 3
        -- the expected sequence, newest last: warn 100, error 100, warn 99, ...
        local ok, bytes = true, 0
        for k = 0, n - 1 do
            local i = 100 - math.floor(k / 2)
            local level = (k % 2 == 0) and ngx.ERR or ngx.WARN
            local j = #res - 3 * k - 2
            local num = tonumber(res[j + 2]:match("--> (%d+),"))
            if res[j] ~= level or num ~= i then
                ok = false
            end
            bytes = bytes + #res[j + 2] + 16
        end
        ngx.say("in order: ", ok, ", many: ", n > 10, ", fit: ", bytes <= 4096)
    }
--- log_level: notice
--- stream_response
in order: true, many: true, fit: true



=== TEST 10: reading one and writing one keeps the two newest
--- stream_config
    lua_capture_error_log 4k;
--- stream_server_config
    content_by_lua_block {
        local errlog = require("ngx.errlog")
        errlog.get_logs(1000)
        local msg = string.rep("*", 10)
        ngx.log(ngx.ERR, msg, -2)
        ngx.log(ngx.ERR, msg, -1)
        for i = 1, 40 do
            local res = errlog.get_logs(1)
            ngx.log(ngx.ERR, msg, i)
        end
        local res = errlog.get_logs()
        for i = 3, #res, 3 do
            ngx.say(res[i]:match("(%*+%d+), client"))
        end
    }
--- stream_response
**********39
**********40



=== TEST 11: a big line after many small ones (the buffer wraps)
--- stream_config
    lua_capture_error_log 4k;
--- stream_server_config
    content_by_lua_block {
        local errlog = require("ngx.errlog")
        errlog.get_logs(1000)
        for i = 1, 10 do
            ngx.log(ngx.ERR, string.rep("a", 20))
        end
        ngx.log(ngx.ERR, string.rep("A", 1500))
        ngx.log(ngx.ERR, string.rep("a", 20))
        for round = 1, 3 do
            local res = errlog.get_logs(2)
            ngx.say("round ", round, ": ", #res / 3)
            for i = 3, #res, 3 do
                ngx.say(res[i]:match("([Aa][Aa][Aa])"))
            end
        end
        -- still consistent: a line in, a line out
        for i = 1, 30 do
            ngx.log(ngx.ERR, string.rep("b", 100 + i * 10), i)
        end
        ngx.log(ngx.ERR, "last")
        local res = errlog.get_logs(1000)
        ngx.say("newest: ", res[#res]:match("last"))
    }
--- stream_response
round 1: 2
aaa
aaa
round 2: 2
aaa
aaa
round 3: 2
aaa
aaa
newest: last



=== TEST 12: multi-line messages are kept whole
--- stream_config
    lua_capture_error_log 4k;
--- stream_server_config
    content_by_lua_block {
        local errlog = require("ngx.errlog")
        ngx.log(ngx.ERR, "line one\nline two")
        local res = errlog.get_logs()
        ngx.say(#res / 3, " ", res[3]:match("line one\nline two, client: ") ~= nil)
    }
--- stream_response
1 true



=== TEST 13: nginx's own messages are captured (client connected, at info)
--- stream_config
    lua_capture_error_log 32k;
--- stream_server_config
    content_by_lua_block {
        local res = require("ngx.errlog").get_logs(1000)
        local found = false
        for i = 3, #res, 3 do
            if res[i]:find("client 127.0.0.1:%d+ connected to 127.0.0.1:%d+") then
                found = res[i - 2] == ngx.INFO
            end
        end
        ngx.say("connected line captured: ", found)
    }
--- log_level: info
--- stream_response
connected line captured: true



=== TEST 14: a content handler's error, read in log_by_lua
--- stream_config
    lua_capture_error_log 32k;
--- stream_server_config
    content_by_lua_block {
        local t = {} / 4
    }
    log_by_lua_block {
        local res = require("ngx.errlog").get_logs()
        for i = 3, #res, 3 do
            if res[i]:find("attempt to perform arithmetic on a table value", 1, true) then
                ngx.log(ngx.ERR, "log phase saw the error")
            end
        end
    }
--- error_log
log phase saw the error



=== TEST 15: a server with its own error_log is captured too
--- stream_config
    lua_capture_error_log 32k;
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        error_log logs/other.log error;
        content_by_lua_block {
            ngx.log(ngx.ERR, "from the other server")
            ngx.say("done")
        }
    }
--- stream_server_config
    content_by_lua_block {
        local errlog = require("ngx.errlog")
        errlog.get_logs(1000)
        local sock = ngx.socket.tcp()
        assert(sock:connect("127.0.0.1", $TEST_NGINX_RAND_PORT_1))
        ngx.say(sock:receive())
        sock:close()
        local res = errlog.get_logs(1000)
        local found = false
        for i = 3, #res, 3 do
            found = found or res[i]:find("from the other server", 1, true) ~= nil
        end
        ngx.say("captured: ", found)
    }
--- stream_response
done
captured: true



=== TEST 16: timers and init_worker_by_lua messages are captured
--- stream_config
    lua_capture_error_log 32k;
    init_worker_by_lua_block {
        ngx.log(ngx.ERR, "hello from init_worker")
    }
--- stream_server_config
    content_by_lua_block {
        local errlog = require("ngx.errlog")
        ngx.timer.at(0, function()
            ngx.log(ngx.ERR, "hello from a timer")
        end)
        ngx.sleep(0.01)
        local res = errlog.get_logs(1000)
        local seen = {}
        for i = 3, #res, 3 do
            seen[#seen + 1] = res[i]:match("hello from [%w_ ]+")
        end
        ngx.say(table.concat(seen, "; "))
    }
--- stream_response_like chomp
\A(hello from init_worker; )?hello from a timer\n\z



=== TEST 17: debug lines are kept when the error log takes them
--- stream_config
    lua_capture_error_log 64k;
--- stream_server_config
    content_by_lua_block {
        local errlog = require("ngx.errlog")
        errlog.get_logs(10000)
        assert(errlog.set_filter_level(ngx.DEBUG))
        ngx.log(ngx.DEBUG, "a debug line")
        local res = errlog.get_logs(10000)
        local level
        for i = 3, #res, 3 do
            if res[i]:find("a debug line", 1, true) then
                level = res[i - 2]
            end
        end
        ngx.say("debug line level: ", level)
    }
--- log_level: debug
--- stream_response
debug line level: 8



=== TEST 18: get_sys_filter_level is the error_log level (debug)
--- stream_server_config
    content_by_lua_block {
        ngx.say(require("ngx.errlog").get_sys_filter_level() == ngx.DEBUG)
    }
--- log_level: debug
--- stream_response
true



=== TEST 19: get_sys_filter_level is the error_log level (warn, emerg)
--- stream_config
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        error_log logs/emerg.log emerg;
        content_by_lua_block {
            ngx.say(require("ngx.errlog").get_sys_filter_level())
        }
    }
--- stream_server_config
    content_by_lua_block {
        local sock = ngx.socket.tcp()
        assert(sock:connect("127.0.0.1", $TEST_NGINX_RAND_PORT_1))
        ngx.say(require("ngx.errlog").get_sys_filter_level() == ngx.WARN,
                " ", sock:receive() == tostring(ngx.EMERG))
    }
--- log_level: warn
--- stream_response
true true



=== TEST 20: get_sys_filter_level in init_by_lua and timers
--- stream_config
    init_by_lua_block {
        init_level = require("ngx.errlog").get_sys_filter_level()
    }
--- stream_server_config
    content_by_lua_block {
        local timer_level
        ngx.timer.at(0, function()
            timer_level = require("ngx.errlog").get_sys_filter_level()
        end)
        ngx.sleep(0.01)
        ngx.say(init_level == ngx.NOTICE, " ", timer_level == ngx.NOTICE)
    }
--- log_level: notice
--- stream_response
true true



=== TEST 21: raw_log writes the message as it is
--- stream_server_config
    content_by_lua_block {
        require("ngx.errlog").raw_log(ngx.ERR, "hello raw world")
        ngx.say("ok")
    }
--- stream_response
ok
--- error_log eval
qr/\[error\] \d+#\d+: \*\d+ hello raw world, client: 127\.0\.0\.1/



=== TEST 22: raw_log with bad levels
--- stream_server_config
    content_by_lua_block {
        local errlog = require("ngx.errlog")
        ngx.say(pcall(errlog.raw_log, ngx.ERROR, "msg"))
        ngx.say(pcall(errlog.raw_log, 9, "msg"))
    }
--- stream_response
falsebad log level
falsebad log level



=== TEST 23: raw_log with bad argument types
--- stream_server_config
    content_by_lua_block {
        local errlog = require("ngx.errlog")
        ngx.say(pcall(errlog.raw_log, ngx.ERR, 123))
        ngx.say(pcall(errlog.raw_log, "4", "msg"))
        ngx.say(pcall(errlog.raw_log))
    }
--- stream_response
falsebad argument #2 to 'raw_log' (must be a string)
falsebad argument #1 to 'raw_log' (must be a number)
falsebad argument #1 to 'raw_log' (must be a number)



=== TEST 24: raw_log error positions point at the caller
--- stream_server_config
    content_by_lua_block {
        local errlog = require("ngx.errlog")
        local function f()
            errlog.raw_log(42, "msg")
        end
        ngx.say(pcall(f))
    }
--- stream_response_like chomp
^falsecontent_by_lua\(nginx\.conf:\d+\):4: bad log level$



=== TEST 25: raw_log in init_by_lua and init_worker_by_lua
--- stream_config
    init_by_lua_block {
        require("ngx.errlog").raw_log(ngx.ERR, "raw from init_by_lua")
    }
    init_worker_by_lua_block {
        require("ngx.errlog").raw_log(ngx.ERR, "raw from init_worker_by_lua")
    }
--- stream_server_config
    content_by_lua_block {
        ngx.say("ok")
    }
--- stream_response
ok
--- grep_error_log eval
qr/\[error\] \d+#\d+: raw from init\w+/
--- grep_error_log_out eval
[qr/\A\[error\] \d+#\d+: raw from init_by_lua\n\[error\] \d+#\d+: raw from init_worker_by_lua\n\z/, ""]



=== TEST 26: raw_log keeps NUL bytes
--- stream_server_config
    content_by_lua_block {
        require("ngx.errlog").raw_log(ngx.ERR, "hello\0world")
        ngx.say("ok")
    }
--- stream_response
ok
--- error_log eval
"hello\0world, client: "



=== TEST 27: raw_log lines are captured
--- stream_config
    lua_capture_error_log 4k;
--- stream_server_config
    content_by_lua_block {
        local errlog = require("ngx.errlog")
        errlog.get_logs(1000)
        errlog.raw_log(ngx.WARN, "captured raw line")
        local res = errlog.get_logs()
        ngx.say(#res / 3, " ", res[1], " ", res[3]:match("%d+#%d+: %*%d+ (captured raw line), ") or "?")
    }
--- log_level: warn
--- stream_response
1 5 captured raw line



=== TEST 28: buffer smaller than one error log line
--- stream_config
    lua_capture_error_log 1k;
--- stream_server_config
    return "unreachable\n";
--- must_die
--- error_log
invalid capture error log size "1k", minimum size is 2048



=== TEST 29: a size that is not a size
--- stream_config
    lua_capture_error_log lots;
--- stream_server_config
    return "unreachable\n";
--- must_die
--- error_log
invalid capture error log size "lots", minimum size is 2048



=== TEST 30: no size
--- stream_config
    lua_capture_error_log;
--- stream_server_config
    return "unreachable\n";
--- must_die
--- error_log
invalid number of arguments in "lua_capture_error_log" directive



=== TEST 31: twice
--- stream_config
    lua_capture_error_log 4k;
    lua_capture_error_log 8k;
--- stream_server_config
    return "unreachable\n";
--- must_die
--- error_log
"lua_capture_error_log" directive is duplicate



=== TEST 32: not in a server
--- stream_server_config
    lua_capture_error_log 4k;
    return "unreachable\n";
--- must_die
--- error_log
"lua_capture_error_log" directive is not allowed here
