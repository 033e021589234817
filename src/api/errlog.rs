//! `require "ngx.errlog"`: the `ngx_stream_lua_ffi_errlog_*` / `ngx_stream_lua_ffi_raw_log`
//! C ABI over the buffer of `lua_capture_error_log` (runtime/log_capture.rs).

use std::ffi::{c_char, c_int};
use std::ptr;

use crate::runtime::log_capture::RingBuf;
use crate::runtime::session::Session;
use crate::sys::ngx::*;

/// The running cycle's capture buffer.
fn current_ring() -> Option<*mut RingBuf> {
    crate::conf::cycle_main_conf().and_then(|m| m.misc.capture).map(|p| p.as_ptr())
}

unsafe fn set_err(err: *mut u8, errlen: *mut usize, msg: &[u8]) {
    if err.is_null() || errlen.is_null() {
        return;
    }
    // SAFETY: the caller's buffer holds *errlen bytes.
    unsafe {
        let n = msg.len().min(*errlen);
        ptr::copy_nonoverlapping(msg.as_ptr(), err, n);
        *errlen = n;
    }
}

const NOT_SET: &[u8] = b"directive \"lua_capture_error_log\" is not set";

#[no_mangle]
pub unsafe extern "C" fn ngx_stream_lua_ffi_errlog_set_filter_level(
    level: c_int,
    err: *mut u8,
    errlen: *mut usize,
) -> c_int {
    guard(NGX_ERROR, || {
        // SAFETY: the buffer belongs to the running cycle of this process.
        unsafe {
            let Some(rb) = current_ring() else {
                set_err(err, errlen, NOT_SET);
                return NGX_ERROR;
            };
            if level > NGX_LOG_DEBUG as c_int || level < NGX_LOG_STDERR as c_int {
                set_err(err, errlen, format!("bad log level: {level}").as_bytes());
                return NGX_ERROR;
            }
            (*rb).filter_level = level as ngx_uint_t;
            NGX_OK as c_int
        }
    })
}

/// The oldest captured message: its length (its text in `*log` until the next message is
/// captured), `NGX_DONE` when there is none.
#[no_mangle]
pub unsafe extern "C" fn ngx_stream_lua_ffi_errlog_get_msg(
    log: *mut *mut c_char,
    loglevel: *mut c_int,
    err: *mut u8,
    errlen: *mut usize,
    log_time: *mut f64,
) -> c_int {
    guard(NGX_ERROR, || {
        // SAFETY: as above; the out pointers are the caller's.
        unsafe {
            let Some(rb) = current_ring() else {
                set_err(err, errlen, NOT_SET);
                return NGX_ERROR;
            };
            let Some(e) = (*rb).pop() else { return NGX_DONE as c_int };
            *log = (*rb).text_ptr(e.start) as *mut c_char;
            *loglevel = e.level as c_int;
            if !log_time.is_null() {
                *log_time = e.time;
            }
            e.len as c_int
        }
    })
}

/// The log `r` writes to (its session's), or the cycle's.
unsafe fn log_of(r: *mut Session) -> *mut ngx_log_t {
    // SAFETY: r is null or a live session's context.
    unsafe {
        if r.is_null() {
            cycle_log()
        } else {
            (*r).log()
        }
    }
}

#[no_mangle]
pub unsafe extern "C" fn ngx_stream_lua_ffi_errlog_get_sys_filter_level(r: *mut Session) -> c_int {
    guard(NGX_LOG_ERR as c_int, || {
        // SAFETY: as in log_of.
        let log = unsafe { log_of(r) };
        if log.is_null() {
            return NGX_LOG_ERR as c_int;
        }
        // SAFETY: a live nginx log.
        let level = unsafe { (*log).log_level };
        if level == NGX_LOG_DEBUG_ALL as ngx_uint_t {
            NGX_LOG_DEBUG as c_int
        } else {
            level as c_int
        }
    })
}

/// Logs `s` as it is, at `level`, without the Lua source position `ngx.log` adds.
#[no_mangle]
pub unsafe extern "C" fn ngx_stream_lua_ffi_raw_log(
    r: *mut Session,
    level: c_int,
    s: *const u8,
    s_len: usize,
) -> c_int {
    guard(NGX_ERROR, || {
        if level > NGX_LOG_DEBUG as c_int || level < NGX_LOG_STDERR as c_int {
            return NGX_ERROR;
        }
        // SAFETY: s points at s_len bytes (a Lua string).
        unsafe {
            let msg = if s.is_null() { &[][..] } else { std::slice::from_raw_parts(s, s_len) };
            log_error(level as u32, log_of(r), 0, msg);
        }
        NGX_OK as c_int
    })
}
