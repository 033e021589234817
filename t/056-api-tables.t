# What pairs() sees in the API tables and socket metatables: code that counts or lists them
# (and upstream's t/062-count.t) sees what the C module v0.0.16 has. Beyond it: `bind` on
# TCP and UDP cosockets (in our spec, not in v0.0.16).
use Test::Nginx::Socket::Lua::Stream;

repeat_each(1);

plan tests => repeat_each() * (blocks() * 2);

run_tests();

__DATA__

=== TEST 1: ngx has upstream's 54 entries, _phase_ctx among them
--- stream_server_config
    content_by_lua_block {
        local n = 0
        for _ in pairs(ngx) do
            n = n + 1
        end
        ngx.say("ngx: ", n, " ", type(ngx._phase_ctx))
    }
--- stream_response
ngx: 54 function
--- no_error_log
[error]



=== TEST 2: ngx._phase_ctx gives the running context's bits (content 1, preread 32, timer 4), nothing in init_by_lua
--- stream_config
    init_by_lua_block {
        package.loaded.init_ctx = select("#", ngx._phase_ctx())
    }
--- stream_server_config
    preread_by_lua_block {
        ngx.ctx.preread = ngx._phase_ctx()
    }
    content_by_lua_block {
        local done = require("ngx.semaphore").new()
        local timer
        ngx.timer.at(0, function()
            timer = ngx._phase_ctx()
            done:post()
        end)
        done:wait(1)
        ngx.say(package.loaded.init_ctx, " ", ngx.ctx.preread, " ", ngx._phase_ctx(), " ", timer)
    }
--- stream_response
0 32 1 4
--- no_error_log
[error]



=== TEST 3: the request socket's metatable: 8 methods and __index (itself)
--- stream_server_config
    content_by_lua_block {
        local mt = getmetatable(assert(ngx.req.socket()))
        local names = {}
        for k in pairs(mt) do
            names[#names + 1] = k
        end
        table.sort(names)
        ngx.say(#names, ": ", table.concat(names, " "), " ", mt.__index == mt)
    }
--- stream_response
9: __index peek receive receiveany receiveuntil send settimeout settimeouts shutdown true
--- no_error_log
[error]



=== TEST 4: the TCP cosocket's metatable: upstream's 13 methods and __index; bind (beyond v0.0.16) only through __index
--- stream_server_config
    content_by_lua_block {
        local sock = ngx.socket.tcp()
        local mt = getmetatable(sock)
        local names = {}
        for k in pairs(mt) do
            names[#names + 1] = k
        end
        table.sort(names)
        ngx.say(#names, ": ", table.concat(names, " "))
        ngx.say("bind: ", type(sock.bind), " ", rawget(mt, "bind"), " ", mt.__index.connect == mt.connect)
    }
--- stream_response
14: __index close connect getreusedtimes receive receiveany receiveuntil send setkeepalive setoption settimeout settimeouts shutdown sslhandshake
bind: function nil true
--- no_error_log
[error]



=== TEST 5: the UDP cosocket's metatable: upstream's 5 methods and __index; bind only through __index
--- stream_server_config
    content_by_lua_block {
        local sock = ngx.socket.udp()
        local mt = getmetatable(sock)
        local names = {}
        for k in pairs(mt) do
            names[#names + 1] = k
        end
        table.sort(names)
        ngx.say(#names, ": ", table.concat(names, " "))
        ngx.say("bind: ", type(sock.bind), " ", rawget(mt, "bind"))
    }
--- stream_response
6: __index close receive send setpeername settimeout
bind: function nil
--- no_error_log
[error]
