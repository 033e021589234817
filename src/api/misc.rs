//! Constants, `ngx.null` and `ngx.config.*` (`ngx.get_phase` is in the Lua layer, over the C ABI).

use std::ffi::c_int;

use crate::lua_api;
use crate::sys::*;

/// `ngx.config.ngx_lua_version`: the stream-lua version we match (0.0.16).
pub const NGX_LUA_VERSION: i64 = 16;

lua_api! {
    config_prefix => prefix_impl,
    config_configure => configure_impl,
}

pub unsafe fn inject(l: *mut lua_State, t: c_int) {
    // SAFETY: t is the ngx table.
    unsafe {
        for (name, v) in [
            (c"OK", NGX_OK as i64),
            (c"ERROR", NGX_ERROR as i64),
            (c"AGAIN", NGX_AGAIN as i64),
            (c"DONE", NGX_DONE as i64),
            (c"DECLINED", NGX_DECLINED as i64),
        ] {
            set_field_int(l, t, name, v);
        }
        raw::lua_pushlightuserdata(l, std::ptr::null_mut());
        raw::lua_setfield(l, t, c"null".as_ptr());

        raw::lua_createtable(l, 0, 6);
        let c = raw::lua_gettop(l);
        raw::lua_pushboolean(l, debug_build() as c_int);
        raw::lua_setfield(l, c, c"debug".as_ptr());
        set_field_fn(l, c, c"prefix", config_prefix);
        set_field_int(l, c, c"nginx_version", nginx_version as i64);
        set_field_int(l, c, c"ngx_lua_version", NGX_LUA_VERSION);
        set_field_fn(l, c, c"nginx_configure", config_configure);
        set_field_str(l, c, c"subsystem", b"stream");
        raw::lua_setfield(l, t, c"config".as_ptr());
    }
}

/// Whether nginx was configured `--with-debug` (NGX_DEBUG).
fn debug_build() -> bool {
    NGX_CONFIGURE.to_bytes().windows(12).any(|w| w == b"--with-debug")
}

unsafe fn prefix_impl(l: *mut lua_State) -> LuaResult {
    // SAFETY: ngx_cycle is live whenever Lua runs.
    unsafe {
        push_bytes(l, ngx_bytes(&(*ngx_cycle).prefix));
    }
    Ok(1)
}

unsafe fn configure_impl(l: *mut lua_State) -> LuaResult {
    let args = NGX_CONFIGURE.to_bytes();
    // SAFETY: l is the running state.
    unsafe { push_bytes(l, args.strip_prefix(b" ").unwrap_or(args)) };
    Ok(1)
}
