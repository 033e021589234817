//! Constants, `ngx.null` and `ngx.config.*` (`ngx.get_phase` is in the Lua layer, over the C ABI).

use std::ffi::c_int;

use crate::lua_calls;
use crate::sys::*;

/// `ngx.config.ngx_lua_version`: the stream-lua version we match (0.0.16).
pub const NGX_LUA_VERSION: i64 = 16;

lua_calls! {
    config_prefix => prefix_impl,
    config_configure => configure_impl,
}

/// The status constants, `ngx.null` and `ngx.config`, into the `ngx` table at `t`.
pub fn inject(c: &mut Call, t: c_int) {
    for (name, v) in [
        (c"OK", NGX_OK as i64),
        (c"ERROR", NGX_ERROR as i64),
        (c"AGAIN", NGX_AGAIN as i64),
        (c"DONE", NGX_DONE as i64),
        (c"DECLINED", NGX_DECLINED as i64),
    ] {
        c.set_field_int(t, name, v);
    }
    c.push_light(std::ptr::null_mut());
    c.set_field(t, c"null");

    let config = c.new_table(0, 6);
    c.set_field_bool(config, c"debug", debug_build());
    c.set_field_fn(config, c"prefix", config_prefix);
    c.set_field_int(config, c"nginx_version", nginx_version as i64);
    c.set_field_int(config, c"ngx_lua_version", NGX_LUA_VERSION);
    c.set_field_fn(config, c"nginx_configure", config_configure);
    c.set_field_str(config, c"subsystem", b"stream");
    c.set_field(t, c"config");
}

/// Whether nginx was configured `--with-debug` (NGX_DEBUG).
fn debug_build() -> bool {
    NGX_CONFIGURE.to_bytes().windows(12).any(|w| w == b"--with-debug")
}

fn prefix_impl(c: &mut Call) -> LuaResult {
    c.push_bytes(&cycle_prefix());
    Ok(1)
}

fn configure_impl(c: &mut Call) -> LuaResult {
    let args = NGX_CONFIGURE.to_bytes();
    c.push_bytes(args.strip_prefix(b" ").unwrap_or(args));
    Ok(1)
}
