//! stream-lua-rs: OpenResty's `ngx_stream_lua_module` rebuilt in Rust.
//!
//! Layout, from the bottom up: `sys/` holds the raw nginx and LuaJIT calls and the panic
//! boundary; `runtime/` the per-worker VM, code loading, sessions, threads and the scheduler;
//! `api/` the `ngx.*` areas, each with its Lua functions and its exported C ABI; `phase/` one
//! file per nginx hook and `module.rs` the module tables. `conf/` (directives and the
//! `*_by_lua_block` lexer) sits beside them; `lualib/` is the built-in Lua layer.
#![allow(clippy::missing_safety_doc)] // to go: issue 12 makes every unsafe fn document its contract

mod api;
mod conf;
mod module;
mod phase;
mod runtime;
mod sys;

pub use module::ngx_stream_lua_module;

#[cfg(feature = "export-modules")]
ngx::ngx_modules!(ngx_stream_lua_module);
