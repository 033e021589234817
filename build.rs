//! Two jobs:
//! - What the configured nginx tree offers becomes cfgs, so one checkout builds against nginx
//!   1.22 to 1.28 with or without TLS: `ngx_feature = "stream_ssl"` (and the rest of nginx-sys'
//!   feature list) and `nginx_at_least_1_X_Y` for the versions our code tells apart.
//! - Linking: the cdylib exports the `lua_*`/`luaL_*`/`luaopen_*`/`luaJIT_*` symbols besides its
//!   own `#[no_mangle]` ones (nginx-config/exports.map, shared with nginx's addon build), so Lua
//!   C modules (cjson.so, ...) loaded by our VM find LuaJIT's C API, and binds its own calls to
//!   its own LuaJIT (`-Bsymbolic`) even when the host nginx carries another LuaJIT.

use std::{env, path::PathBuf};

/// nginx versions (as `nginx_version`, e.g. 1025001 for 1.25.1) where an API we use changed,
/// each a cfg set when the tree is at least that version. 1.25.5 renamed the stream TLS
/// module's server configuration type (`ngx_stream_ssl_conf_t` before).
const VERSION_CFGS: &[(u64, &str)] = &[(1025005, "nginx_at_least_1_25_5")];

fn main() {
    nginx_cfgs();
    valgrind_check();

    let dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let script = dir.join("nginx-config/exports.map");
    println!("cargo::rustc-cdylib-link-arg=-Wl,--version-script={}", script.display());
    println!("cargo::rustc-cdylib-link-arg=-Wl,-Bsymbolic");
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-changed={}", script.display());
}

/// nginx-sys publishes (as `links = "nginx"` metadata) the features and version of the tree it
/// generated bindings for.
fn nginx_cfgs() {
    for var in ["DEP_NGINX_FEATURES", "DEP_NGINX_FEATURES_CHECK", "DEP_NGINX_VERSION_NUMBER"] {
        println!("cargo::rerun-if-env-changed={var}");
    }
    let known = env::var("DEP_NGINX_FEATURES_CHECK").unwrap_or_else(|_| "any()".into());
    println!("cargo::rustc-check-cfg=cfg(ngx_feature, values({known}))");
    for feature in env::var("DEP_NGINX_FEATURES").unwrap_or_default().split(',') {
        let feature = feature.trim();
        if !feature.is_empty() {
            println!("cargo::rustc-cfg=ngx_feature=\"{feature}\"");
        }
    }

    let version: u64 = env::var("DEP_NGINX_VERSION_NUMBER").ok().and_then(|v| v.trim().parse().ok()).unwrap_or(0);
    for (at_least, name) in VERSION_CFGS {
        println!("cargo::rustc-check-cfg=cfg({name})");
        if version >= *at_least {
            println!("cargo::rustc-cfg={name}");
        }
    }
}

/// The `valgrind` feature only makes sense with LuaJIT built for it, which a feature cannot
/// arrange (the flags must reach luajit-src's `cc` through the environment): check they do.
fn valgrind_check() {
    let target = env::var("TARGET").unwrap_or_default().replace('-', "_");
    let var = format!("CFLAGS_{target}");
    println!("cargo::rerun-if-env-changed={var}");
    if env::var_os("CARGO_FEATURE_VALGRIND").is_none() {
        return;
    }
    let flags = env::var(&var).unwrap_or_default();
    for want in ["-DLUAJIT_USE_SYSMALLOC", "-DLUAJIT_USE_VALGRIND"] {
        if !flags.split_whitespace().any(|f| f == want) {
            panic!("the valgrind feature needs LuaJIT built with {want} in {var}: use scripts/build-valgrind.sh");
        }
    }
}
