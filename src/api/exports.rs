//! The exported C ABI (`ngx_stream_lua_ffi_*`), with stream-lua's names and signatures, so
//! LuaJIT's FFI compiles calls to it and lua-resty-core can sit on top. `r` is the opaque
//! request pointer Lua finds in `__ngx_req`: here, our `Session`.

use std::ffi::{c_char, c_int, c_uchar};

use crate::runtime::session::{Phase, Session};
use crate::sys::cbuf::{bytes_in, bytes_out, ErrBuf};
use crate::sys::ngx::*;
use crate::sys::{clock, worker};

const FFI_NO_REQ_CTX: c_int = -100;
const FFI_BAD_CONTEXT: c_int = -101;

static ERR_NO_SESSION: &[u8] = b"no request found\0";

/// The session behind the opaque request pointer.
///
/// # Safety
/// `r` is what the built-in layer's `get_request()` gave: null, or the running session, live
/// for the whole call.
pub(crate) unsafe fn session<'a>(r: *mut Session) -> Option<&'a mut Session> {
    // SAFETY: the caller's contract; no other reference to it is used while the call runs.
    unsafe { r.as_mut() }
}

#[no_mangle]
pub unsafe extern "C" fn ngx_stream_lua_ffi_var_get(
    r: *mut Session,
    name_data: *const c_char,
    name_len: usize,
    lowcase_buf: *mut c_char,
    _capture_id: c_int,
    value: *mut *mut c_char,
    value_len: *mut usize,
    err: *mut *const c_char,
) -> c_int {
    guard(NGX_ERROR, || {
        // SAFETY: r as `session` wants; the name and its lowercase buffer hold name_len bytes;
        // the out pointers are writable.
        let (sess, name, lowcase, value, value_len, err) = unsafe {
            (
                session(r),
                bytes_in(name_data as *const u8, name_len),
                bytes_out(lowcase_buf as *mut u8, name_len),
                &mut *value,
                &mut *value_len,
                &mut *err,
            )
        };
        let Some(sess) = sess else {
            *err = ERR_NO_SESSION.as_ptr() as *const c_char;
            return NGX_ERROR;
        };
        if name_data.is_null() {
            // regex capture variables ($1...) come with ngx.re
            return NGX_DECLINED;
        }
        match sess.stream().and_then(|s| s.variable(name, lowcase)) {
            Some(v) => {
                *value = v.as_ptr() as *mut c_char;
                *value_len = v.len();
                NGX_OK as c_int
            }
            None => NGX_DECLINED,
        }
    })
}

#[no_mangle]
pub unsafe extern "C" fn ngx_stream_lua_ffi_var_set(
    r: *mut Session,
    name_data: *const c_uchar,
    name_len: usize,
    lowcase_buf: *mut c_uchar,
    value: *const c_uchar,
    value_len: usize,
    errbuf: *mut c_uchar,
    errlen: *mut usize,
) -> c_int {
    guard(NGX_ERROR, || {
        // SAFETY: r as `session` wants; the name, its lowercase buffer and the value hold
        // their lengths; the error buffer holds *errlen bytes.
        let (sess, name, lowcase, v, mut err) = unsafe {
            (
                session(r),
                bytes_in(name_data, name_len),
                bytes_out(lowcase_buf, name_len),
                (!value.is_null()).then(|| bytes_in(value, value_len)),
                ErrBuf::from_raw(errbuf, errlen),
            )
        };
        let Some(sess) = sess else {
            err.set(b"no request object found");
            return NGX_ERROR;
        };
        let Some(stream) = sess.stream() else {
            err.set(b"API disabled in the current context");
            return NGX_ERROR;
        };
        match stream.set_variable(name, lowcase, v) {
            Ok(()) => NGX_OK as c_int,
            Err(msg) => {
                err.set(msg.as_bytes());
                NGX_ERROR
            }
        }
    })
}

#[no_mangle]
pub unsafe extern "C" fn ngx_stream_lua_ffi_get_ctx_ref(
    r: *mut Session,
    in_ssl_phase: *mut c_int,
    ssl_ctx_ref: *mut c_int,
) -> c_int {
    guard(FFI_NO_REQ_CTX, || {
        // SAFETY: r as `session` wants; the out pointers are null or writable.
        let (sess, in_ssl_phase, ssl_ctx_ref) = unsafe { (session(r), in_ssl_phase.as_mut(), ssl_ctx_ref.as_mut()) };
        let Some(sess) = sess else { return FFI_NO_REQ_CTX };
        if sess.ctx_ref >= 0 {
            return sess.ctx_ref;
        }
        let Some(in_ssl_phase) = in_ssl_phase else { return sess.ctx_ref };
        *in_ssl_phase = matches!(sess.phase, Phase::SslCert | Phase::SslClientHello) as c_int;
        if let Some(r) = ssl_ctx_ref {
            *r = crate::sys::LUA_NOREF;
        }
        sess.ctx_ref
    })
}

#[no_mangle]
pub unsafe extern "C" fn ngx_stream_lua_ffi_set_ctx_ref(r: *mut Session, cref: c_int) -> c_int {
    guard(FFI_NO_REQ_CTX, || {
        // SAFETY: r as `session` wants.
        let Some(sess) = (unsafe { session(r) }) else { return FFI_NO_REQ_CTX };
        sess.ctx_ref = cref;
        NGX_OK as c_int
    })
}

#[no_mangle]
pub unsafe extern "C" fn ngx_stream_lua_ffi_exit(
    r: *mut Session,
    status: c_int,
    err: *mut c_uchar,
    errlen: *mut usize,
) -> c_int {
    guard(NGX_ERROR, || {
        // SAFETY: r as `session` wants; the error buffer holds *errlen bytes.
        let (sess, mut err) = unsafe { (session(r), ErrBuf::from_raw(err, errlen)) };
        let Some(sess) = sess else {
            err.set(b"no request ctx found");
            return NGX_ERROR;
        };
        let allowed =
            [Phase::Content, Phase::Timer, Phase::Balancer, Phase::SslClientHello, Phase::SslCert, Phase::Preread];
        if !allowed.contains(&sess.phase) {
            err.set(format!("API disabled in the context of {}", sess.phase.directive_name()).as_bytes());
            return NGX_ERROR;
        }
        sess.exit_code = Some(status as isize);
        sess.logger().debug_fmt(format_args!("lua exit with code {status}"));
        if sess.phase == Phase::Balancer {
            return NGX_DONE;
        }
        NGX_OK as c_int
    })
}

#[no_mangle]
pub unsafe extern "C" fn ngx_stream_lua_ffi_get_phase(r: *mut Session, _err: *mut *const c_char) -> c_int {
    // SAFETY: r as `session` wants.
    match unsafe { session(r) } {
        Some(sess) => sess.phase as c_int,
        None => FFI_BAD_CONTEXT,
    }
}

#[no_mangle]
pub extern "C" fn ngx_stream_lua_ffi_worker_pid() -> c_int {
    worker::pid() as c_int
}

#[no_mangle]
pub extern "C" fn ngx_stream_lua_ffi_worker_id() -> c_int {
    worker::worker_id().map_or(-1, |id| id as c_int)
}

#[no_mangle]
pub extern "C" fn ngx_stream_lua_ffi_worker_exiting() -> c_int {
    worker::exiting() as c_int
}

#[no_mangle]
pub extern "C" fn ngx_stream_lua_ffi_worker_count() -> c_int {
    worker::worker_count() as c_int
}

// ---- time --------------------------------------------------------------------------------

/// `YYYY-MM-DD` or `YYYY-MM-DD hh:mm:ss` of a time, into `out` (10 or 19 bytes).
fn write_date(out: &mut [u8], secs: i64, with_time: bool) {
    let tm = clock::gmtime(secs);
    let s = if with_time {
        format!(
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
            tm.tm_year, tm.tm_mon, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec
        )
    } else {
        format!("{:04}-{:02}-{:02}", tm.tm_year, tm.tm_mon, tm.tm_mday)
    };
    out[..s.len()].copy_from_slice(s.as_bytes());
}

#[no_mangle]
pub extern "C" fn ngx_stream_lua_ffi_now() -> f64 {
    let (sec, msec, _) = clock::cached();
    to_f64(sec) + to_f64(msec) / 1000.0
}

/// `v as f64`, written so that the conversion does not wait for the old value of its target
/// register. On x86_64 `cvtsi2sd` writes only the low half of an xmm register, and LLVM emits
/// it straight into xmm0, which holds the caller's previous result: a loop of ngx.now() calls
/// then ran one conversion after the other (~6 ns a call against ~1.3 ns for the C module,
/// whose gcc code clears the register first). Converting into a zeroed register breaks that.
#[inline(always)]
fn to_f64(v: i64) -> f64 {
    #[cfg(target_arch = "x86_64")]
    {
        // (an intrinsic with a zeroed source is folded back into the bare conversion)
        let out: f64;
        // SAFETY: register-only SSE2 instructions, part of the x86_64 baseline.
        unsafe {
            std::arch::asm!(
                "xorps {x}, {x}",
                "cvtsi2sd {x}, {v}",
                v = in(reg) v,
                x = out(xmm_reg) out,
                options(pure, nomem, nostack),
            );
        }
        out
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        v as f64
    }
}

#[no_mangle]
pub extern "C" fn ngx_stream_lua_ffi_time() -> libc::c_long {
    clock::cached().0 as libc::c_long
}

#[no_mangle]
pub extern "C" fn ngx_stream_lua_ffi_monotonic_msec() -> u64 {
    clock::monotonic_msec()
}

#[no_mangle]
pub extern "C" fn ngx_stream_lua_ffi_update_time() {
    clock::update()
}

#[no_mangle]
pub unsafe extern "C" fn ngx_stream_lua_ffi_today(buf: *mut u8) {
    let (sec, _, gmtoff) = clock::cached();
    // SAFETY: buf holds 10 bytes.
    write_date(unsafe { bytes_out(buf, 10) }, sec + gmtoff * 60, false)
}

#[no_mangle]
pub unsafe extern "C" fn ngx_stream_lua_ffi_localtime(buf: *mut u8) {
    let (sec, _, gmtoff) = clock::cached();
    // SAFETY: buf holds 19 bytes.
    write_date(unsafe { bytes_out(buf, 19) }, sec + gmtoff * 60, true)
}

#[no_mangle]
pub unsafe extern "C" fn ngx_stream_lua_ffi_utctime(buf: *mut u8) {
    // SAFETY: buf holds 19 bytes.
    write_date(unsafe { bytes_out(buf, 19) }, clock::cached().0, true)
}

#[no_mangle]
pub unsafe extern "C" fn ngx_stream_lua_ffi_req_start_time(r: *mut Session) -> f64 {
    // SAFETY: r as `session` wants.
    let Some(stream) = (unsafe { session(r) }).and_then(|s| s.stream()) else { return 0.0 };
    let (sec, msec) = stream.start_time();
    to_f64(sec) + to_f64(msec) / 1000.0
}

/// The pids of this worker and its siblings, as nginx's process table in the worker knows them.
#[no_mangle]
pub unsafe extern "C" fn ngx_stream_lua_ffi_worker_pids(pids: *mut c_int, pids_len: *mut usize) -> c_int {
    // SAFETY: pids has *pids_len slots; pids_len is readable and writable.
    let (pids_len, out) = unsafe { (&mut *pids_len, std::slice::from_raw_parts_mut(pids, *pids_len)) };
    let n = worker::worker_pids(out);
    if n == 0 {
        return NGX_ERROR;
    }
    *pids_len = n;
    NGX_OK as c_int
}
