-- Coroutines, light threads and the calls that wait: what a resume and a yield cost through
-- the module (ngx.sleep(0) goes through the event loop), and cosocket objects made and
-- dropped without connecting.
local bench = ...
local co_create, co_resume, co_yield, co_wrap = coroutine.create, coroutine.resume,
                                              coroutine.yield, coroutine.wrap
local spawn, wait = ngx.thread.spawn, ngx.thread.wait
local semaphore = require "ngx.semaphore"
local function noop() end
local function yielder() co_yield(1) return 2 end
bench("coroutine.create+resume (returns)", function()
    return co_resume(co_create(noop))
end)
bench("coroutine.resume/yield round trip", function()
    local co = co_create(yielder)
    co_resume(co)
    return co_resume(co)
end)
bench("coroutine.wrap call", function() return co_wrap(noop)() end)
-- (each spawn costs the C module more the more threads its session made: run this suite
-- with a few hundred thousand calls at most)
bench("ngx.thread.spawn+wait (returns at once)", function()
    return wait(spawn(noop))
end)
local sema = semaphore.new()
bench("semaphore post+wait", function()
    sema:post(1)
    return sema:wait(0)
end)
bench("semaphore.new", function() return semaphore.new(0) end)
bench("ngx.sleep(0)", function() return ngx.sleep(0) end)
bench("ngx.socket.tcp()+close", function()
    local s = ngx.socket.tcp()
    return s:close()
end)
local sock = ngx.socket.tcp()
bench("tcp:settimeout", function() return sock:settimeout(1000) end)
bench("tcp:settimeouts", function() return sock:settimeouts(1000, 1000, 1000) end)
bench("ngx.encode_args", function() return ngx.encode_args({ a = "1", b = "x y" }) end)
bench("ngx.decode_args", function() return ngx.decode_args("a=1&b=x%20y&c") end)
bench("ngx.ctx write", function() ngx.ctx.n = 1 end)
