//! stream-lua-rs: OpenResty's `ngx_stream_lua_module` rebuilt in Rust.
//!
//! Layout, from the bottom up: `sys/` holds the raw nginx and LuaJIT calls, the panic
//! boundary and the safe handles over them (`Call`, `Timer`, `Log`); `runtime/` the per-worker
//! VM, code loading, sessions (`SessionRef`), threads, the scheduler and downstream output;
//! `api/` the `ngx.*` areas, each with its Lua functions and its exported C ABI; `phase/` one
//! file per nginx hook and `module/` the module tables and directive handlers. `conf/` (the
//! configuration data and the `*_by_lua_block` lexer) sits beside them; `lualib/` is the
//! built-in Lua layer.

mod api;
mod conf;
mod module;
mod phase;
mod runtime;
mod sys;

pub use module::ngx_stream_lua_module;

#[cfg(feature = "export-modules")]
ngx::ngx_modules!(ngx_stream_lua_module);
