//! `ngx.ssl`: the exported `ngx_stream_lua_ffi_*` functions that lua-resty-core 0.1.31's
//! `ngx/ssl.lua` declares for the stream subsystem (upstream: `ngx_stream_lua_ssl_certby.c`),
//! and `lualib/ngx_ssl.lua`, our `require "ngx.ssl"` over them.
//!
//! `pem.rs` holds the ones that need no handshake: PEM/DER conversion and the parsed
//! certificate chains and private keys that Lua keeps as opaque cdata (freed by `free_*`,
//! which the Lua layer sets as their `ffi.gc` finalizers).

pub mod clienthello;
pub mod conn;
pub mod pem;
