# Calls that move many values between Lua stacks (each C function is only promised 20 free
# slots): spawn/resume/wait with many arguments and results, deeply nested ngx.say arrays,
# and the settimeout argument checks that now go through the safe object lookup.
use Test::Nginx::Socket::Lua::Stream;

repeat_each(2);

plan tests => repeat_each() * (blocks() * 2);

run_tests();

__DATA__

=== TEST 1: ngx.thread.spawn with 60 arguments, and wait with 60 results
--- stream_server_config
    content_by_lua_block {
        local args = {}
        for i = 1, 60 do args[i] = i end
        local t = ngx.thread.spawn(function(...)
            ngx.sleep(0.001)
            return ...
        end, unpack(args))
        local res = { ngx.thread.wait(t) }
        local sum = 0
        for i = 2, #res do sum = sum + res[i] end
        ngx.say(res[1], " ", #res - 1, " ", sum)
    }
--- stream_response
true 60 1830
--- no_error_log
[error]



=== TEST 2: coroutine.resume with 60 arguments, yield and return many values
--- stream_server_config
    content_by_lua_block {
        local args = {}
        for i = 1, 60 do args[i] = i end
        local co = coroutine.create(function(...)
            local n = select("#", ...)
            local back = { coroutine.yield(n, ...) }
            return #back, unpack(back)
        end)
        local r = { coroutine.resume(co, unpack(args)) }
        ngx.say(r[1], " ", r[2], " ", #r, " ", r[#r])
        r = { coroutine.resume(co, unpack(args, 1, 45)) }
        ngx.say(r[1], " ", r[2], " ", #r, " ", coroutine.status(co))
    }
--- stream_response
true 60 62 60
true 45 47 dead
--- no_error_log
[error]



=== TEST 3: ngx.say of an array nested 100 deep and 300 wide
--- stream_server_config
    content_by_lua_block {
        local t = { "x" }
        for i = 1, 100 do t = { t } end
        local wide = {}
        for i = 1, 300 do wide[i] = i % 10 end
        ngx.say(t, " ", #table.concat(wide))
        ngx.say(wide)
    }
--- stream_response eval
"x 300\n" . ("1234567890" x 30) . "\n"
--- no_error_log
[error]



=== TEST 4: settimeout(s) argument checks on TCP, UDP and request sockets
--- stream_server_config
    content_by_lua_block {
        local tcp = ngx.socket.tcp()
        local udp = ngx.socket.udp()
        local req = ngx.req.socket()
        ngx.say(pcall(tcp.settimeout, tcp, -1))
        ngx.say(pcall(tcp.settimeouts, tcp, 1, 2, 2^31))
        ngx.say(pcall(tcp.settimeout, {}, 10))
        ngx.say(pcall(tcp.settimeout, "x", 10))
        ngx.say(pcall(udp.settimeout, "x", 10))
        ngx.say(pcall(udp.settimeout, {}, 10))
        ngx.say(pcall(req.settimeout, req, -5))
        ngx.say(pcall(req.settimeout, 1, 5))
        ngx.say(tcp:settimeouts(1, 2, 3), udp:settimeout(5), req:settimeouts(0, 0, 0))
    }
--- stream_response
falsebad timeout value
falsebad timeout value
falsebad tcp socket object
falsebad argument #1 to '?' (table expected, got string)
falsebad argument #1 to '?' (table expected, got string)
true
falsebad timeout value
falsebad argument #1 to '?' (table expected, got number)
nilnil
--- no_error_log
[error]
