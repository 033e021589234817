//! stream-lua-rs: OpenResty's `ngx_stream_lua_module` rebuilt in Rust.
//!
//! Layout: `ffi/` holds the raw nginx and LuaJIT pointer work and the panic boundary; `conf/`
//! the directives and the `*_by_lua_block` lexer; `module.rs` the nginx module tables;
//! `lua/` the per-worker VM, code loading and the coroutine runner; `phase/` one file per
//! nginx hook; `api/` one file per `ngx.*` area.
#![allow(clippy::missing_safety_doc)] // to go: issue 12 makes every unsafe fn document its contract

mod api;
mod conf;
mod ffi;
mod lua;
mod module;
mod phase;

pub use module::ngx_stream_lua_module;

#[cfg(feature = "export-modules")]
ngx::ngx_modules!(ngx_stream_lua_module);
