# Behaviour follows stream-lua v0.0.16 (see upstream t/025-codecache.t, t/123-lua-path.t,
# src/ngx_stream_lua_util.h: with lua_code_cache off every session gets a fresh Lua VM).
# Globals are shared by every handler of a VM (t/053-globals.t).
# Every block runs twice against the same nginx; the response must be the same both times.

use Test::Nginx::Socket::Lua::Stream;

repeat_each(2);

check_accum_error_log();

plan tests => repeat_each() * (blocks() * 2);

run_tests();

__DATA__

=== TEST 1: code cache is on by default: an edited file is not reloaded
--- stream_server_config
    content_by_lua_file html/selfedit.lua;
--- user_files
>>> selfedit.lua
ngx.say("original code")
local f = assert(io.open(ngx.config.prefix() .. "html/selfedit.lua", "w"))
f:write('ngx.say("edited code")\n')
f:close()
--- stream_response
original code
--- no_error_log
[error]



=== TEST 2: lua_code_cache on at the stream level
--- stream_config
    lua_code_cache on;
--- stream_server_config
    content_by_lua_file html/selfedit.lua;
--- user_files
>>> selfedit.lua
ngx.say("original code")
local f = assert(io.open(ngx.config.prefix() .. "html/selfedit.lua", "w"))
f:write('ngx.say("edited code")\n')
f:close()
--- stream_response
original code
--- no_error_log
[alert]
[error]



=== TEST 3: lua_code_cache off in the server logs an alert at start-up
--- stream_server_config
    lua_code_cache off;
    content_by_lua_block {
        ngx.say("cache off")
    }
--- stream_response
cache off
--- error_log eval
qr/\[alert\] \S+ stream lua_code_cache is off; this will hurt performance/
--- no_error_log
[error]



=== TEST 4: with the cache off a module is loaded again for every connection
--- stream_config
    lua_package_path '$prefix/html/?.lua;;';
--- stream_server_config
    lua_code_cache off;
    content_by_lua_block {
        local counter = require "visits"
        counter.n = counter.n + 1
        ngx.say("visits seen by this VM: ", counter.n)
    }
--- user_files
>>> visits.lua
return { n = 0 }
--- stream_response
visits seen by this VM: 1
--- no_error_log
[error]



=== TEST 5: lua_code_cache off at the stream level applies to the server
--- stream_config
    lua_package_path '$prefix/html/?.lua;;';
    lua_code_cache off;
--- stream_server_config
    content_by_lua_file html/entry.lua;
--- user_files
>>> entry.lua
local counter = require "visits"
counter.n = counter.n + 1
ngx.say("visits seen by this VM: ", counter.n)
>>> visits.lua
return { n = 0 }
--- stream_response
visits seen by this VM: 1
--- error_log eval
qr/\[alert\] \S+ stream lua_code_cache is off; this will hurt performance/
--- no_error_log
[error]



=== TEST 6: lua_code_cache on in the server overrides off at the stream level
--- stream_config
    lua_code_cache off;
--- stream_server_config
    lua_code_cache on;
    content_by_lua_file html/selfedit.lua;
--- user_files
>>> selfedit.lua
ngx.say("original code")
local f = assert(io.open(ngx.config.prefix() .. "html/selfedit.lua", "w"))
f:write('ngx.say("edited code")\n')
f:close()
--- stream_response
original code
--- error_log eval
qr/\[alert\] \S+ stream lua_code_cache is off; this will hurt performance/
--- no_error_log
[error]



=== TEST 7: standard libraries stay usable with the cache off
--- stream_server_config
    lua_code_cache off;
    content_by_lua_block {
        ngx.say(string.rep("ab", 3), " ", table.concat({"x", "y"}, ","), " ",
                math.floor(7.9), " ", type(coroutine.create))
    }
--- stream_response
ababab x,y 7 function
--- no_error_log
[error]



=== TEST 8: code cache keys as upstream's: inline code by chunk name and the MD5 of its text
--- stream_server_config
    content_by_lua_block { ngx.say("keyed") }
--- stream_response
keyed
--- error_log eval
qr/looking up Lua code cache with key '=content_by_lua\(nginx\.conf:\d+\)nhli_33d2e44d9086a23877583897afdcfd47'/
--- no_error_log
[error]



=== TEST 9: a file's key is the MD5 of its path as written in nginx.conf
--- stream_server_config
    content_by_lua_file html/k.lua;
--- user_files
>>> k.lua
ngx.say("file keyed")
--- stream_response
file keyed
--- error_log
looking up Lua code cache with key 'nhlf_1d0cb56d061615dbcedf70113ee4925d'
--- no_error_log
[error]



=== TEST 10: cache off: a session's VM is released by the session and by each timer once (chained timers)
--- stream_server_config
    lua_code_cache off;
    content_by_lua_block {
        local function second()
            ngx.log(ngx.WARN, "second timer ran")
        end
        local function first()
            assert(ngx.timer.at(0.01, second))
        end
        assert(ngx.timer.at(0.01, first))
        ngx.say("registered")
    }
--- stream_response
registered
--- wait: 0.1
--- error_log
second timer ran
stream lua decrementing the reference count for Lua VM: 2
stream lua decrementing the reference count for Lua VM: 1
stream lua close the global Lua VM
--- no_error_log
stream lua decrementing the reference count for Lua VM: 3
[error]



=== TEST 11: with lua_code_cache off a session's cosocket pools close with its VM (idle connections do not wait for their timeout)
--- stream_config
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        content_by_lua_block {
            local sock = ngx.req.socket()
            while true do
                local line = sock:receive()
                if not line then
                    return
                end
                ngx.say("got ", line)
            end
        }
    }
--- stream_server_config
    lua_code_cache off;
    content_by_lua_block {
        local sock = ngx.socket.tcp()
        assert(sock:connect("127.0.0.1", $TEST_NGINX_RAND_PORT_1))
        assert(sock:send("hello\n"))
        ngx.say(sock:receive())
        assert(sock:setkeepalive(60000))
    }
--- stream_response
got hello
--- wait: 0.1
--- error_log eval
[
qr/stream lua tcp socket keepalive create connection pool for key "127\.0\.0\.1:\d+"/,
qr/stream lua close the global Lua VM/,
qr/stream lua tcp socket keepalive: free connection pool [0-9A-F]+ for "127\.0\.0\.1:\d+"/,
]
--- no_error_log
[error]
