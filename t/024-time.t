# The time API: ngx.time, ngx.now, ngx.update_time, ngx.today, ngx.localtime, ngx.utctime
# and ngx.req.start_time. Behaviour follows stream-lua v0.0.16 (see upstream t/008-today.t,
# t/012-now.t, src/ngx_stream_lua_time.c and lua-resty-core's time.lua): values come from
# nginx's cached clock, which only moves when nginx updates it or ngx.update_time() is called.

use Test::Nginx::Socket::Lua::Stream;

repeat_each(1);

plan tests => repeat_each() * (blocks() * 2);

run_tests();

__DATA__

=== TEST 1: formats of every clock function
--- stream_server_config
    content_by_lua_block {
        ngx.say(ngx.time())
        ngx.say(ngx.now())
        ngx.say(ngx.today())
        ngx.say(ngx.localtime())
        ngx.say(ngx.utctime())
        ngx.say(ngx.req.start_time())
    }
--- stream_response_like chomp
^\d{10,}
\d{10,}(?:\.\d{1,3})?
\d{4}-\d{2}-\d{2}
\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}
\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}
\d{10,}(?:\.\d{1,3})?$
--- no_error_log
[error]



=== TEST 2: the clock agrees with the system clock
--- stream_server_config
    content_by_lua_block {
        ngx.update_time()
        local t = ngx.time()
        ngx.say("time vs os.time: ", math.abs(t - os.time()) <= 1)
        ngx.say("time is an integer: ", t == math.floor(t))
        ngx.say("now within a second of time: ", ngx.now() - t >= 0 and ngx.now() - t < 1)
    }
--- stream_response
time vs os.time: true
time is an integer: true
now within a second of time: true
--- no_error_log
[error]



=== TEST 3: utctime, localtime and today match os.date for the same second
--- stream_server_config
    content_by_lua_block {
        local t, utc, loc, today
        repeat
            t = ngx.time()
            utc, loc, today = ngx.utctime(), ngx.localtime(), ngx.today()
        until ngx.time() == t
        ngx.say(utc == os.date("!%Y-%m-%d %H:%M:%S", t))
        ngx.say(loc == os.date("%Y-%m-%d %H:%M:%S", t))
        ngx.say(today == os.date("%Y-%m-%d", t))
    }
--- stream_response
true
true
true
--- no_error_log
[error]



=== TEST 4: the cached clock does not move by itself, update_time moves it
--- stream_server_config
    content_by_lua_block {
        ngx.update_time()
        local before = ngx.now()
        local t0 = os.clock()
        while os.clock() - t0 < 0.06 do end
        local cached = ngx.now()
        ngx.update_time()
        local fresh = ngx.now()
        ngx.say("cached unchanged: ", cached == before)
        ngx.say("updated moved: ", fresh - before >= 0.05)
    }
--- stream_response
cached unchanged: true
updated moved: true
--- no_error_log
[error]



=== TEST 5: the clock moves across a sleep
--- stream_server_config
    content_by_lua_block {
        local before = ngx.now()
        ngx.sleep(0.1)
        local after = ngx.now()
        ngx.say("moved: ", after - before >= 0.09)
    }
--- stream_response
moved: true
--- no_error_log
[error]



=== TEST 6: ngx.now has millisecond resolution
--- stream_server_config
    content_by_lua_block {
        local distinct = {}
        for _ = 1, 5 do
            ngx.sleep(0.003)
            local n = ngx.now()
            distinct[#distinct + 1] = n
            assert(math.abs(n * 1000 - math.floor(n * 1000 + 0.5)) < 1e-3, n)
        end
        ngx.say("increasing: ", distinct[5] > distinct[1])
    }
--- stream_response
increasing: true
--- no_error_log
[error]



=== TEST 7: ngx.req.start_time is when the session started
--- stream_server_config
    content_by_lua_block {
        local start = ngx.req.start_time()
        ngx.sleep(0.1)
        local start2 = ngx.req.start_time()
        ngx.say("stable: ", start == start2)
        ngx.say("in the past: ", ngx.now() - start >= 0.09)
        ngx.say("recent: ", ngx.now() - start < 2)
    }
--- stream_response
stable: true
in the past: true
recent: true
--- no_error_log
[error]



=== TEST 8: ngx.req.start_time in preread equals the one in content
--- stream_server_config
    preread_by_lua_block {
        ngx.ctx.start = ngx.req.start_time()
        ngx.sleep(0.05)
    }
    content_by_lua_block {
        ngx.say("same: ", ngx.ctx.start == ngx.req.start_time())
    }
--- stream_response
same: true
--- no_error_log
[error]



=== TEST 9: the time API works in timers and log_by_lua
--- stream_server_config
    content_by_lua_block {
        ngx.timer.at(0, function()
            ngx.log(ngx.WARN, "timer clock ok: ",
                    math.abs(ngx.time() - os.time()) <= 1 and #ngx.localtime() == 19)
        end)
        ngx.sleep(0.05)
        ngx.say("ok")
    }
    log_by_lua_block {
        ngx.log(ngx.WARN, "log clock ok: ",
                math.abs(ngx.time() - os.time()) <= 1 and #ngx.utctime() == 19)
    }
--- stream_response
ok
--- error_log
timer clock ok: true
log clock ok: true



=== TEST 10: the time API works in init_by_lua
--- stream_config
    init_by_lua_block {
        init_clock = { t = ngx.time(), today = ngx.today() }
    }
--- stream_server_config
    content_by_lua_block {
        ngx.say("init time ok: ", ngx.time() - init_clock.t < 60 and init_clock.today:match("^%d+%-%d+%-%d+$") ~= nil)
    }
--- stream_response
init time ok: true
--- no_error_log
[error]



=== TEST 11: update_time returns nothing, the clock functions return numbers and strings
--- stream_server_config
    content_by_lua_block {
        ngx.say(select("#", ngx.update_time()))
        ngx.say(type(ngx.time()), " ", type(ngx.now()), " ", type(ngx.today()))
    }
--- stream_response
0
number number string
--- no_error_log
[error]
