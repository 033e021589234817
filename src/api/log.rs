//! `ngx.log` and `print`: messages to nginx's error log, prefixed like upstream with
//! `stream [lua] FILE:LINE: ` (and `FUNC(): ` inside named Lua functions).

use crate::api::output::append_scalar;
use crate::lua_calls;
use crate::runtime::scheduler::current_log;
use crate::sys::*;

lua_calls! {
    ngx_log => ngx_log_impl,
    print => print_impl,
}

/// `ngx.log` and the level constants, into the `ngx` table at `t`.
pub fn inject(c: &mut Call, t: std::ffi::c_int) {
    c.set_field_fn(t, c"log", ngx_log);
    for (name, v) in [
        (c"STDERR", NGX_LOG_STDERR),
        (c"EMERG", NGX_LOG_EMERG),
        (c"ALERT", NGX_LOG_ALERT),
        (c"CRIT", NGX_LOG_CRIT),
        (c"ERR", NGX_LOG_ERR),
        (c"WARN", NGX_LOG_WARN),
        (c"NOTICE", NGX_LOG_NOTICE),
        (c"INFO", NGX_LOG_INFO),
        (c"DEBUG", NGX_LOG_DEBUG),
    ] {
        c.set_field_int(t, name, v as i64);
    }
}

fn ngx_log_impl(c: &mut Call) -> LuaResult {
    let t = c.type_of(1);
    if t != LUA_TNUMBER && !(t == LUA_TSTRING && c.is_number(1)) {
        return c.arg_error(1, "log", format!("number expected, got {}", c.type_name(t)));
    }
    let level = c.to_integer(1);
    if !(NGX_LOG_STDERR as i64..=NGX_LOG_DEBUG as i64).contains(&level) {
        return c.arg_error(1, "log", format!("bad log level: {level}"));
    }
    // (a level the log leaves out returns before anything moves on the stack)
    let Some(log) = current_log().filter(|log| log.enabled(level as u32)) else {
        return Ok(0);
    };
    c.remove(1);
    log_args(c, log, level as u32, "log")
}

fn print_impl(c: &mut Call) -> LuaResult {
    let Some(log) = current_log().filter(|log| log.enabled(NGX_LOG_NOTICE)) else {
        return Ok(0);
    };
    log_args(c, log, NGX_LOG_NOTICE, "print")
}

/// Joins the arguments as upstream does (nil, booleans, `ngx.null`, tables with `__tostring`)
/// behind the caller's position, and logs them at `level` into `log`.
fn log_args(c: &mut Call, log: Log, level: u32, fname: &'static str) -> LuaResult {
    let mut msg = Vec::with_capacity(64);
    msg.extend_from_slice(b"stream [lua] ");
    if let Some(frame) = c.caller(1) {
        let src = &frame.source[..];
        let base = match src.iter().rposition(|&b| b == b'/' || b == b'\\') {
            Some(p) => &src[p + 1..],
            None => src,
        };
        msg.extend_from_slice(base);
        msg.extend_from_slice(format!(":{}: ", frame.line).as_bytes());
        if let Some(name) = frame.lua_name {
            msg.extend_from_slice(&name);
            msg.extend_from_slice(b"(): ");
        }
    }
    for i in 1..=c.top() {
        if append_scalar(c, i, &mut msg) {
            continue;
        }
        match c.type_of(i) {
            LUA_TTABLE => {
                if !c.call_meta(i, c"__tostring") {
                    return c.arg_error(i, fname, "expected table to have __tostring metamethod");
                }
                msg.extend_from_slice(c.to_bytes(-1).unwrap_or_default());
                c.pop(1);
            }
            t => {
                return c.arg_error(
                    i,
                    fname,
                    format!("string, number, boolean, or nil expected, got {}", c.type_name(t)),
                )
            }
        }
    }
    log.error(level, 0, &msg);
    Ok(0)
}
