//! stream-lua-rs: OpenResty's `ngx_stream_lua_module` rebuilt in Rust.
//!
//! Layout, from the bottom up: `sys/` holds the raw nginx, LuaJIT, OpenSSL and PCRE2 calls, the
//! panic boundary and the safe handles over them (`Call` for the running Lua call, `Coroutine`,
//! `OwnedState`, `Timer`, `Log`, `Conf`/`Directive`, `StreamSession`/`StreamInfo`, the shared
//! dict `Store`, C buffers in `cbuf`); `runtime/` the per-worker VM, code loading, sessions
//! (`SessionRef`, `LiveSession`), threads, the scheduler, session-less runs and downstream
//! output; `api/` the `ngx.*` areas, each with its Lua functions and its exported C ABI;
//! `phase/` one file per nginx hook and `module/` the module tables and directive handlers.
//! `conf/` (the configuration data) sits beside them; `lualib/` is the built-in Lua layer.
//! The pure parts are crates of their own under `crates/` (codecs, the `*_by_lua_block`
//! lexer, the regex replacement templates, the test runner).

mod api;
mod conf;
mod module;
mod phase;
mod runtime;
mod sys;

pub use module::ngx_stream_lua_module;

#[cfg(feature = "export-modules")]
ngx::ngx_modules!(ngx_stream_lua_module);
