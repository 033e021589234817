-- The cost of one call into the module for the cheapest APIs (LuaJIT FFI calls that do
-- almost nothing), to tell the engine's call overhead from each API's own work.
local bench = ...
local now, crc32, get_phase = ngx.now, ngx.crc32_short, ngx.get_phase
bench("ngx.now()", function() return now() end)
bench("ngx.crc32_short(\"k\")", function() return crc32("k") end)
bench("ngx.get_phase()", function() return get_phase() end)
local ctx_holder = 0
bench("ngx.ctx read", function() ctx_holder = ngx.ctx.x return ctx_holder end)
bench("ngx.var.remote_addr read", function() return ngx.var.remote_addr end)
