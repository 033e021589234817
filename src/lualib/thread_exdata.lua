-- stream-lua-rs built-in `thread.exdata` (a C module of OpenResty's LuaJIT, which stock
-- LuaJIT lacks): `exdata()` returns the running session's request pointer, or nil; defined in
-- ngx_core.lua, which also makes it the global `exdata` as OpenResty's LuaJIT does.
-- lua-resty-core's base.get_request uses it when present; unlike getfenv(0).__ngx_req, the
-- call compiles, so ngx.ctx and friends stay in compiled traces.
return debug.getregistry().ngx_lua_thread_exdata
