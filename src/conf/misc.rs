//! `stream {}`-level directives that tune the process rather than run code:
//! `lua_add_variable` (more to come: `lua_sa_restart`, `lua_malloc_trim`,
//! `lua_capture_error_log`).

use std::ffi::{c_char, c_void};

use crate::ffi::*;

/// The directive's arguments, name first.
unsafe fn args<'a>(cf: *mut ngx_conf_t) -> &'a mut [ngx_str_t] {
    // SAFETY: cf->args is an ngx_array_t of ngx_str_t while a directive is handled.
    unsafe {
        let a = (*cf).args;
        std::slice::from_raw_parts_mut((*a).elts as *mut ngx_str_t, (*a).nelts)
    }
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
