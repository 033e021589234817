//! Links the module so that Lua C modules (cjson.so, ...) loaded by our VM find LuaJIT's C
//! API: the cdylib exports the `lua_*`/`luaL_*`/`luaopen_*`/`luaJIT_*` symbols besides its own
//! `#[no_mangle]` ones, and binds its own calls to its own LuaJIT (`-Bsymbolic`) even when the
//! host nginx carries another LuaJIT.

use std::{env, fs, path::PathBuf};

fn main() {
    let out = PathBuf::from(env::var("OUT_DIR").expect("OUT_DIR"));
    let script = out.join("exports.map");
    fs::write(
        &script,
        "{\n  global:\n    ngx_modules; ngx_module_names; ngx_module_order;\n    ngx_stream_lua_*;\n    \
         lua_*; luaL_*; luaopen_*; luaJIT_*;\n  local: *;\n};\n",
    )
    .expect("write version script");
    println!("cargo::rustc-cdylib-link-arg=-Wl,--version-script={}", script.display());
    println!("cargo::rustc-cdylib-link-arg=-Wl,-Bsymbolic");
    println!("cargo::rerun-if-changed=build.rs");
}
