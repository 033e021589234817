//! `stream {}`-level directives that tune the process rather than run code:
//! `lua_add_variable`, `lua_sa_restart`, `lua_malloc_trim` and `lua_capture_error_log`.

use std::ffi::{c_char, c_void};

use crate::conf::MainConf;
use crate::sys::*;

/// The directive's arguments, name first.
unsafe fn args<'a>(cf: *mut ngx_conf_t) -> &'a mut [ngx_str_t] {
    // SAFETY: cf->args is an ngx_array_t of ngx_str_t while a directive is handled.
    unsafe {
        let a = (*cf).args;
        std::slice::from_raw_parts_mut((*a).elts as *mut ngx_str_t, (*a).nelts)
    }
}

unsafe fn main_conf<'a>(conf: *mut c_void) -> &'a mut MainConf {
    // SAFETY: every directive here is registered with NGX_STREAM_MAIN_CONF_OFFSET.
    unsafe { &mut *(conf as *mut MainConf) }
}

fn is_dup() -> *mut c_char {
    c"is duplicate".as_ptr() as *mut c_char
}

/// A stream variable added by `lua_add_variable` reads as "not found" (nil in Lua) until a
/// value is assigned to it.
unsafe extern "C" fn undefined_var(
    _s: *mut ngx_stream_session_t,
    v: *mut ngx_stream_variable_value_t,
    _data: usize,
) -> ngx_int_t {
    // SAFETY: nginx passes the value slot to fill.
    unsafe { (*v).set_not_found(1) };
    NGX_OK as ngx_int_t
}

/// `lua_add_variable $name;`: a changeable, indexed stream variable that Lua code sets
/// through `ngx.var.name` and other modules read (`return $name`, `log_format`...).
/// Adding the same name twice is fine (the variable is weak, as upstream's).
pub unsafe extern "C" fn add_variable(cf: *mut ngx_conf_t, _: *mut ngx_command_t, _: *mut c_void) -> *mut c_char {
    guard(CONF_ERROR, || unsafe {
        // SAFETY: a TAKE1 directive; the name lives in the configuration pool.
        let value = &mut args(cf)[1];
        let raw = ngx_bytes(value);
        if raw.first() != Some(&b'$') {
            let msg = format!("invalid variable name \"{}\"", String::from_utf8_lossy(raw));
            conf_log_error(NGX_LOG_EMERG, cf, msg.as_bytes());
            return CONF_ERROR;
        }
        let mut name = ngx_str_t { len: value.len - 1, data: value.data.add(1) };
        let flags = (NGX_STREAM_VAR_CHANGEABLE | NGX_STREAM_VAR_WEAK) as ngx_uint_t;
        let var = ngx_stream_add_variable(cf, &mut name, flags);
        if var.is_null() {
            return CONF_ERROR;
        }
        if (*var).get_handler.is_none() {
            (*var).get_handler = Some(undefined_var);
        }
        if ngx_stream_get_variable_index(cf, &mut name) == NGX_ERROR as ngx_int_t {
            return CONF_ERROR;
        }
        CONF_OK
    })
}

/// `lua_sa_restart on|off`.
pub unsafe extern "C" fn sa_restart(cf: *mut ngx_conf_t, _: *mut ngx_command_t, conf: *mut c_void) -> *mut c_char {
    guard(CONF_ERROR, || unsafe {
        // SAFETY: conf is our MainConf; a FLAG directive has one argument.
        let mcf = main_conf(conf);
        if mcf.misc.sa_restart.is_some() {
            return is_dup();
        }
        let v = ngx_bytes(&args(cf)[1]);
        let on = if v.eq_ignore_ascii_case(b"on") {
            true
        } else if v.eq_ignore_ascii_case(b"off") {
            false
        } else {
            let msg = format!(
                "invalid value \"{}\" in \"lua_sa_restart\" directive, it must be \"on\" or \"off\"",
                String::from_utf8_lossy(v)
            );
            conf_log_error(NGX_LOG_EMERG, cf, msg.as_bytes());
            return CONF_ERROR;
        };
        mcf.misc.sa_restart = Some(on);
        CONF_OK
    })
}

/// `lua_malloc_trim N`: `malloc_trim(1)` after every N sessions (in the log phase); 0 is off.
pub unsafe extern "C" fn malloc_trim(cf: *mut ngx_conf_t, _: *mut ngx_command_t, conf: *mut c_void) -> *mut c_char {
    guard(CONF_ERROR, || unsafe {
        // SAFETY: conf is our MainConf; one argument.
        let mcf = main_conf(conf);
        let v = args(cf)[1];
        let n = ngx_atoi(v.data, v.len);
        if n == NGX_ERROR as ngx_int_t {
            return c"invalid number in the 1st argument".as_ptr() as *mut c_char;
        }
        mcf.misc.malloc_trim = Some(n as usize);
        if n > 0 {
            // the log phase handler counts the sessions
            mcf.has_log = true;
        }
        CONF_OK
    })
}

/// `lua_capture_error_log SIZE`: a ring buffer of SIZE bytes (at least one full error log
/// line, `NGX_MAX_ERROR_STR`) that keeps the newest error log messages of the process for
/// `require "ngx.errlog"`.
pub unsafe extern "C" fn capture_error_log(
    cf: *mut ngx_conf_t,
    _: *mut ngx_command_t,
    conf: *mut c_void,
) -> *mut c_char {
    guard(CONF_ERROR, || unsafe {
        // SAFETY: conf is our MainConf; one argument.
        let mcf = main_conf(conf);
        if mcf.misc.capture.is_some() {
            return is_dup();
        }
        let value = &mut args(cf)[1];
        let shown = String::from_utf8_lossy(ngx_bytes(value)).into_owned();
        if value.len == 0 {
            let msg = format!("invalid capture error log size \"{shown}\"");
            conf_log_error(NGX_LOG_EMERG, cf, msg.as_bytes());
            return CONF_ERROR;
        }
        let size = ngx_parse_size(value);
        if size < NGX_MAX_ERROR_STR as isize {
            let msg = format!("invalid capture error log size \"{shown}\", minimum size is {}", NGX_MAX_ERROR_STR);
            conf_log_error(NGX_LOG_EMERG, cf, msg.as_bytes());
            return CONF_ERROR;
        }
        match crate::runtime::log_capture::RingBuf::alloc((*cf).pool, size as usize) {
            Some(rb) => {
                mcf.misc.capture = Some(rb);
                CONF_OK
            }
            None => CONF_ERROR,
        }
    })
}
