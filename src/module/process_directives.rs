//! `stream {}`-level directives that tune the process rather than run code:
//! `lua_add_variable`, `lua_sa_restart`, `lua_malloc_trim` and `lua_capture_error_log`.

use crate::conf::MainConf;
use crate::conf_directives;
use crate::sys::conf::{ConfError, ConfResult, Directive, DUPLICATE};
use crate::sys::*;

conf_directives! {
    pub add_variable => add_variable_body,
    pub sa_restart => sa_restart_body,
    pub malloc_trim => malloc_trim_body,
    pub capture_error_log => capture_error_log_body,
}

/// `lua_add_variable $name;`: a changeable, indexed stream variable that Lua code sets
/// through `ngx.var.name` and other modules read (`return $name`, `log_format`...).
/// Adding the same name twice is fine (the variable is weak, as upstream's).
fn add_variable_body(d: &mut Directive) -> ConfResult {
    let raw = d.arg(1).to_vec();
    if raw.first() != Some(&b'$') {
        let msg = format!("invalid variable name \"{}\"", String::from_utf8_lossy(&raw));
        d.error(NGX_LOG_EMERG, msg.as_bytes());
        return Err(ConfError::Logged);
    }
    d.add_variable(&raw[1..]).map_err(|()| ConfError::Logged)
}

/// `lua_sa_restart on|off`.
fn sa_restart_body(d: &mut Directive) -> ConfResult {
    if d.conf::<MainConf>().misc.sa_restart.is_some() {
        return Err(DUPLICATE);
    }
    let v = d.arg(1);
    let on = if v.eq_ignore_ascii_case(b"on") {
        true
    } else if v.eq_ignore_ascii_case(b"off") {
        false
    } else {
        let msg = format!(
            "invalid value \"{}\" in \"lua_sa_restart\" directive, it must be \"on\" or \"off\"",
            String::from_utf8_lossy(v)
        );
        d.error(NGX_LOG_EMERG, msg.as_bytes());
        return Err(ConfError::Logged);
    };
    d.conf::<MainConf>().misc.sa_restart = Some(on);
    Ok(())
}

/// `lua_malloc_trim N`: `malloc_trim(1)` after every N sessions (in the log phase); 0 is off.
fn malloc_trim_body(d: &mut Directive) -> ConfResult {
    let n = d.atoi(1);
    if n == NGX_ERROR as ngx_int_t {
        return Err(ConfError::Msg(c"invalid number in the 1st argument"));
    }
    let mcf = d.conf::<MainConf>();
    mcf.misc.malloc_trim = Some(n as usize);
    if n > 0 {
        // the log phase handler counts the sessions
        mcf.has_log = true;
    }
    Ok(())
}

/// `lua_capture_error_log SIZE`: a ring buffer of SIZE bytes (at least one full error log
/// line, `NGX_MAX_ERROR_STR`) that keeps the newest error log messages of the process for
/// `require "ngx.errlog"`.
fn capture_error_log_body(d: &mut Directive) -> ConfResult {
    if d.conf::<MainConf>().misc.capture.is_some() {
        return Err(DUPLICATE);
    }
    let shown = String::from_utf8_lossy(d.arg(1)).into_owned();
    if d.arg(1).is_empty() {
        let msg = format!("invalid capture error log size \"{shown}\"");
        d.error(NGX_LOG_EMERG, msg.as_bytes());
        return Err(ConfError::Logged);
    }
    let size = d.parse_size(1);
    if size < NGX_MAX_ERROR_STR as isize {
        let msg = format!("invalid capture error log size \"{shown}\", minimum size is {}", NGX_MAX_ERROR_STR);
        d.error(NGX_LOG_EMERG, msg.as_bytes());
        return Err(ConfError::Logged);
    }
    match crate::runtime::log_capture::RingBuf::alloc(d, size as usize) {
        Some(rb) => {
            d.conf::<MainConf>().misc.capture = Some(rb);
            Ok(())
        }
        None => Err(ConfError::Logged),
    }
}
