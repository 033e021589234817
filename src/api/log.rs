//! `ngx.log` and `print`: messages to nginx's error log, prefixed like upstream with
//! `stream [lua] FILE:LINE: ` (and `FUNC(): ` inside named Lua functions).

use std::ffi::{c_int, CStr};

use crate::api::current_session;
use crate::lua_api;
use crate::sys::*;

lua_api! {
    ngx_log => ngx_log_impl,
    print => print_impl,
}

pub unsafe fn inject(l: *mut lua_State, t: c_int) {
    // SAFETY: t is the ngx table.
    unsafe {
        set_field_fn(l, t, c"log", ngx_log);
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
            set_field_int(l, t, name, v as i64);
        }
    }
}

/// The session's log when Lua runs for a session, else the cycle's.
unsafe fn target_log(l: *mut lua_State) -> *mut ngx_log_t {
    // SAFETY: a session pointer found in the globals is live while its code runs.
    unsafe {
        match current_session(l) {
            Ok(s) => (*s).log(),
            Err(_) => cycle_log(),
        }
    }
}

unsafe fn ngx_log_impl(l: *mut lua_State) -> LuaResult {
    // SAFETY: l is the running state.
    unsafe {
        let t = raw::lua_type(l, 1);
        if t != LUA_TNUMBER && !(t == LUA_TSTRING && raw::lua_isnumber(l, 1) != 0) {
            let got = if t == LUA_TNONE { "no value".to_string() } else { type_name(l, t) };
            return Err(LuaError::Arg(1, "log", format!("number expected, got {got}")));
        }
        let level = raw::lua_tointeger(l, 1) as i64;
        if !(NGX_LOG_STDERR as i64..=NGX_LOG_DEBUG as i64).contains(&level) {
            return Err(LuaError::Arg(1, "log", format!("bad log level: {level}")));
        }
        raw::lua_remove(l, 1);
        log_args(l, level as u32, "log")
    }
}

unsafe fn print_impl(l: *mut lua_State) -> LuaResult {
    unsafe { log_args(l, NGX_LOG_NOTICE, "print") }
}

unsafe fn log_args(l: *mut lua_State, level: u32, fname: &'static str) -> LuaResult {
    // SAFETY: l is the running state; level 1 is the Lua caller.
    unsafe {
        let log = target_log(l);
        if log.is_null() || (*log).log_level < level as ngx_uint_t {
            return Ok(0);
        }
        let mut msg = Vec::with_capacity(64);
        msg.extend_from_slice(b"stream [lua] ");
        let mut ar: raw::lua_Debug = std::mem::zeroed();
        if raw::lua_getstack(l, 1, &mut ar) != 0 {
            raw::lua_getinfo(l, c"Snl".as_ptr(), &mut ar);
            let src = CStr::from_ptr(ar.short_src.as_ptr()).to_bytes();
            let base = match src.iter().rposition(|&c| c == b'/' || c == b'\\') {
                Some(p) => &src[p + 1..],
                None => src,
            };
            msg.extend_from_slice(base);
            msg.extend_from_slice(format!(":{}: ", ar.currentline).as_bytes());
            let named = !ar.namewhat.is_null() && *ar.namewhat != 0;
            let is_lua = !ar.what.is_null() && *ar.what == b'L' as _;
            if named && is_lua && !ar.name.is_null() {
                msg.extend_from_slice(CStr::from_ptr(ar.name).to_bytes());
                msg.extend_from_slice(b"(): ");
            }
        }
        let n = raw::lua_gettop(l);
        for i in 1..=n {
            let t = raw::lua_type(l, i);
            match t {
                LUA_TNUMBER | LUA_TSTRING => msg.extend_from_slice(to_bytes(l, i).unwrap_or_default()),
                LUA_TNIL => msg.extend_from_slice(b"nil"),
                LUA_TBOOLEAN => msg.extend_from_slice(if raw::lua_toboolean(l, i) != 0 { b"true" } else { b"false" }),
                LUA_TLIGHTUSERDATA if raw::lua_touserdata(l, i).is_null() => msg.extend_from_slice(b"null"),
                LUA_TLIGHTUSERDATA => {}
                LUA_TTABLE => {
                    if raw::luaL_callmeta(l, i, c"__tostring".as_ptr()) == 0 {
                        return Err(LuaError::Arg(i, fname, "expected table to have __tostring metamethod".into()));
                    }
                    msg.extend_from_slice(to_bytes(l, -1).unwrap_or_default());
                    raw::lua_settop(l, -2);
                }
                _ => {
                    return Err(LuaError::Arg(
                        i,
                        fname,
                        format!("string, number, boolean, or nil expected, got {}", type_name(l, t)),
                    ))
                }
            }
        }
        log_error(level, log, 0, &msg);
        Ok(0)
    }
}
