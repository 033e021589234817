//! `require "ngx.errlog"`: the `ngx_stream_lua_ffi_errlog_*` / `ngx_stream_lua_ffi_raw_log`
//! C ABI over the buffer of `lua_capture_error_log` (runtime/log_capture.rs).

use std::ffi::{c_char, c_int};

use crate::ffi_exports;
use crate::runtime::log_capture::RingBuf;
use crate::runtime::session::Session;
use crate::sys::ngx::*;

/// The running cycle's capture buffer.
fn with_ring<R>(f: impl FnOnce(&mut RingBuf) -> R) -> Option<R> {
    let rb = crate::conf::cycle_main_conf().and_then(|m| m.misc.capture)?;
    // SAFETY: the buffer lives in the running cycle's pool; this process's only thread uses
    // it, and no other borrow of it is alive while f runs (the log writer runs only inside
    // nginx's logging, which f does not call).
    Some(f(unsafe { &mut *rb.as_ptr() }))
}

const NOT_SET: &[u8] = b"directive \"lua_capture_error_log\" is not set";

ffi_exports! {
    fn ngx_stream_lua_ffi_errlog_set_filter_level(level: c_int, err: err_buf[errlen]) -> c_int [NGX_ERROR] {
        if level > NGX_LOG_DEBUG as c_int || level < NGX_LOG_STDERR as c_int {
            if with_ring(|_| ()).is_none() {
                err.set(NOT_SET);
            } else {
                err.set(format!("bad log level: {level}").as_bytes());
            }
            return NGX_ERROR;
        }
        match with_ring(|rb| rb.filter_level = level as ngx_uint_t) {
            Some(()) => NGX_OK as c_int,
            None => {
                err.set(NOT_SET);
                NGX_ERROR
            }
        }
    }

    /// The oldest captured message: its length (its text in `*log` until the next message is
    /// captured), `NGX_DONE` when there is none.
    fn ngx_stream_lua_ffi_errlog_get_msg(
        log: &mut *mut c_char,
        loglevel: &mut c_int,
        err: err_buf[errlen],
        log_time: Option<&mut f64>,
    ) -> c_int [NGX_ERROR] {
        let popped = with_ring(|rb| rb.pop().map(|e| (e.level, e.time, e.len, rb.text_ptr(e.start))));
        let Some(popped) = popped else {
            err.set(NOT_SET);
            return NGX_ERROR;
        };
        let Some((level, time, len, text)) = popped else { return NGX_DONE as c_int };
        *log = text as *mut c_char;
        *loglevel = level as c_int;
        if let Some(t) = log_time {
            *t = time;
        }
        len as c_int
    }

    fn ngx_stream_lua_ffi_errlog_get_sys_filter_level(r: Option<&mut Session>) -> c_int [NGX_LOG_ERR as c_int] {
        let Some(log) = log_of(r) else { return NGX_LOG_ERR as c_int };
        let level = log.level();
        if level == NGX_LOG_DEBUG_ALL as ngx_uint_t {
            NGX_LOG_DEBUG as c_int
        } else {
            level as c_int
        }
    }

    /// Logs `s` as it is, at `level`, without the Lua source position `ngx.log` adds.
    fn ngx_stream_lua_ffi_raw_log(r: Option<&mut Session>, level: c_int, s: bytes[s_len]) -> c_int [NGX_ERROR] {
        if level > NGX_LOG_DEBUG as c_int || level < NGX_LOG_STDERR as c_int {
            return NGX_ERROR;
        }
        if let Some(log) = log_of(r) {
            log.error(level as u32, 0, s);
        }
        NGX_OK as c_int
    }
}

/// The log a call writes to: its session's, or the cycle's outside any.
fn log_of(sess: Option<&mut Session>) -> Option<Log> {
    match sess {
        Some(sess) => Some(sess.logger()),
        None => Log::cycle(),
    }
}
