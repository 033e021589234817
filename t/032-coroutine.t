# nginx-aware coroutine.*: user coroutines may wait on nginx events. Behaviour follows
# stream-lua v0.0.16 (see upstream t/091-coroutine.t).
use Test::Nginx::Socket::Lua::Stream;

repeat_each(2);

plan tests => repeat_each() * (blocks() * 2);

run_tests();

__DATA__

=== TEST 1: resume and yield pass values both ways
--- stream_server_config
    content_by_lua_block {
        local co = coroutine.create(function(a, b)
            local c = coroutine.yield(a + b)
            return c * 2
        end)
        ngx.say(coroutine.resume(co, 1, 2))
        ngx.say(coroutine.resume(co, 10))
        ngx.say(coroutine.resume(co))
    }
--- stream_response
true3
true20
falsecannot resume dead coroutine
--- no_error_log
[error]



=== TEST 2: a user coroutine sleeps and reads the client
--- stream_server_config
    content_by_lua_block {
        local sock = assert(ngx.req.socket())
        local co = coroutine.create(function()
            ngx.sleep(0.01)
            local line = sock:receive()
            coroutine.yield("got " .. line)
            return "end"
        end)
        ngx.say(coroutine.resume(co))
        ngx.say(coroutine.resume(co))
    }
--- stream_request
ping
--- stream_response
truegot ping
trueend
--- no_error_log
[error]



=== TEST 3: statuses
--- stream_server_config
    content_by_lua_block {
        local outer
        local inner = coroutine.create(function()
            ngx.say("outer while inner runs: ", coroutine.status(outer))
            coroutine.yield()
        end)
        outer = coroutine.create(function()
            ngx.say("self: ", coroutine.status(coroutine.running()))
            coroutine.resume(inner)
        end)
        ngx.say("new: ", coroutine.status(outer))
        coroutine.resume(outer)
        ngx.say("inner after yield: ", coroutine.status(inner))
        ngx.say("outer done: ", coroutine.status(outer))
    }
--- stream_response
new: suspended
self: running
outer while inner runs: normal
inner after yield: suspended
outer done: dead
--- no_error_log
[error]



=== TEST 4: errors come back from resume; a wrapped coroutine's error aborts its parent, past pcall, as upstream's
--- stream_server_config
    content_by_lua_block {
        local co = coroutine.create(function() error("inside", 0) end)
        ngx.say(coroutine.resume(co))
        local w = coroutine.wrap(function() error("wrapped", 0) end)
        ngx.say(pcall(w))
        ngx.say("not reached")
    }
--- stream_response
falseinside
--- error_log eval
["lua entry thread aborted: runtime error: wrapped", "coroutine 0:", "coroutine 1:", "[C]: ?", "[C]: in function 'pcall'"]



=== TEST 5: coroutine.wrap generators that sleep
--- stream_server_config
    content_by_lua_block {
        local gen = coroutine.wrap(function()
            for i = 1, 3 do
                ngx.sleep(0.001)
                coroutine.yield(i)
            end
        end)
        ngx.say(gen(), gen(), gen())
    }
--- stream_response
123
--- no_error_log
[error]



=== TEST 6: bad arguments
--- stream_server_config
    content_by_lua_block {
        ngx.say(pcall(coroutine.create, "nope"))
        ngx.say(pcall(coroutine.resume, 1))
    }
--- stream_response
falsebad argument #1 to '?' (Lua function expected)
falsebad argument #1 to '?' (coroutine expected)
--- no_error_log
[alert]



=== TEST 7: wrapped coroutines inside wrapped coroutines: the error goes up the chain, a resume'd parent catches it
--- stream_server_config
    content_by_lua_block {
        local inner = coroutine.wrap(function() error("deep", 0) end)
        local outer = coroutine.wrap(function() inner() end)
        local co = coroutine.create(function() outer() end)
        ngx.say(coroutine.resume(co))
        ngx.say(coroutine.status(co))
        local t = ngx.thread.spawn(function()
            coroutine.wrap(function() error("in a thread", 0) end)()
        end)
        ngx.say(ngx.thread.wait(t))
    }
--- stream_response
falsedeep
dead
falsein a thread
--- error_log
stream lua user thread aborted: runtime error: in a thread
coroutine 1:



=== TEST 8: resuming a running or a normal coroutine is refused with upstream's words
--- stream_server_config
    content_by_lua_block {
        local co, c1, c2
        co = coroutine.create(function() ngx.say("self: ", coroutine.resume(co)) end)
        coroutine.resume(co)
        c1 = coroutine.create(function() coroutine.resume(c2) end)
        c2 = coroutine.create(function() ngx.say("parent: ", coroutine.resume(c1)) end)
        coroutine.resume(c1)
        ngx.say("dead: ", coroutine.resume(co))
    }
--- stream_response
self: falsecannot resume running coroutine
parent: falsecannot resume normal coroutine
dead: falsecannot resume dead coroutine
--- no_error_log
[error]



=== TEST 9: the wrapper of a finished coroutine returns false and why (upstream's wrap resumes), so generators drain in one loop
--- stream_server_config
    content_by_lua_block {
        local gens = {}
        for i = 1, 2 do
            gens[i] = coroutine.wrap(function()
                for j = 1, i do
                    coroutine.yield(i * 10 + j)
                end
            end)
        end
        for i, gen in ipairs(gens) do
            local out = {}
            while true do
                local v, err = gen()
                if v == false then
                    out[#out + 1] = err
                    break
                end
                out[#out + 1] = tostring(v)
            end
            ngx.say(i, ": ", table.concat(out, ", "))
        end
    }
--- stream_response
1: 11, nil, cannot resume dead coroutine
2: 21, 22, nil, cannot resume dead coroutine
--- no_error_log
[error]



=== TEST 10: the coroutine table holds upstream's 16 entries; LuaJIT's own functions under _name
--- stream_server_config
    content_by_lua_block {
        local names = {}
        for k in pairs(coroutine) do
            names[#names + 1] = k
        end
        table.sort(names)
        ngx.say(#names, ": ", table.concat(names, " "))
        ngx.say(package.loaded.coroutine == coroutine, " ", coroutine.__wrap == coroutine.wrap)
        -- LuaJIT's own create/resume still work as Lua's, outside the scheduler
        local co = coroutine._create(function(a) return a + 1 end)
        ngx.say(coroutine._resume(co, 1))
    }
--- stream_response
16: __create __resume __status __wrap __yield _create _resume _status _wrap _yield create resume running status wrap yield
true true
true2
--- no_error_log
[error]



=== TEST 11: outside a session (init_by_lua) coroutine.wrap is LuaJIT's: a dead wrapper raises
--- stream_config
    init_by_lua_block {
        local gen = coroutine.wrap(function() coroutine.yield(1) end)
        gen()
        gen()
        local ok, err = pcall(gen)
        package.loaded.init_result = tostring(ok) .. " " .. tostring(err)
    }
--- stream_server_config
    content_by_lua_block {
        ngx.say(package.loaded.init_result)
    }
--- stream_response
false cannot resume dead coroutine
--- no_error_log
[error]
