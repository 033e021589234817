//! The exported C ABI (`ngx_stream_lua_ffi_*`), with stream-lua's names and signatures, so
//! LuaJIT's FFI compiles calls to it and lua-resty-core can sit on top. `r` is the opaque
//! request pointer Lua finds in `__ngx_req`: here, our `Session`.

use std::ffi::{c_char, c_int};

use crate::ffi_exports;

use crate::runtime::session::{Phase, Session};
use crate::sys::cbuf::bytes_out;
use crate::sys::ngx::*;
use crate::sys::{clock, worker};

const FFI_NO_REQ_CTX: c_int = -100;
const FFI_BAD_CONTEXT: c_int = -101;

static ERR_NO_SESSION: &[u8] = b"no request found\0";

ffi_exports! {
    fn ngx_stream_lua_ffi_var_get(
        r: Option<&mut Session>,
        name: opt_bytes[name_len],
        lowcase_buf: *mut u8,
        _capture_id: c_int,
        value: &mut *mut c_char,
        value_len: &mut usize,
        err: &mut *const c_char,
    ) -> c_int [NGX_ERROR] {
        let Some(sess) = r else {
            *err = ERR_NO_SESSION.as_ptr() as *const c_char;
            return NGX_ERROR;
        };
        // regex capture variables ($1...) come with ngx.re
        let Some(name) = name else { return NGX_DECLINED };
        // SAFETY: the lowercase buffer holds name_len bytes.
        let lowcase = unsafe { bytes_out(lowcase_buf, name.len()) };
        match sess.stream().and_then(|s| s.variable(name, lowcase)) {
            Some(v) => {
                *value = v.as_ptr() as *mut c_char;
                *value_len = v.len();
                NGX_OK as c_int
            }
            None => NGX_DECLINED,
        }
    }

    /// A null value unsets the variable.
    fn ngx_stream_lua_ffi_var_set(
        r: Option<&mut Session>,
        name: bytes[name_len],
        lowcase_buf: *mut u8,
        value: opt_bytes[value_len],
        err: err_buf[errlen],
    ) -> c_int [NGX_ERROR] {
        let Some(sess) = r else {
            err.set(b"no request object found");
            return NGX_ERROR;
        };
        let Some(stream) = sess.stream() else {
            err.set(b"API disabled in the current context");
            return NGX_ERROR;
        };
        // SAFETY: the lowercase buffer holds name_len bytes.
        let lowcase = unsafe { bytes_out(lowcase_buf, name.len()) };
        match stream.set_variable(name, lowcase, value) {
            Ok(()) => NGX_OK as c_int,
            Err(msg) => {
                err.set(msg.as_bytes());
                NGX_ERROR
            }
        }
    }
}

#[no_mangle]
pub extern "C" fn ngx_stream_lua_ffi_get_ctx_ref(
    r: Option<&mut Session>,
    in_ssl_phase: Option<&mut c_int>,
    ssl_ctx_ref: Option<&mut c_int>,
) -> c_int {
    guard(FFI_NO_REQ_CTX, || {
        let Some(sess) = r else { return FFI_NO_REQ_CTX };
        if sess.ctx_ref >= 0 {
            return sess.ctx_ref;
        }
        // Out of line: inlined, LLVM merged this test with the one above through two
        // `set` instructions writing bytes of registers the caller left, each waiting for
        // the register's last value.
        no_ctx_yet(sess, in_ssl_phase, ssl_ctx_ref)
    })
}

/// `get_ctx_ref` before the session has an `ngx.ctx` table.
#[cold]
#[inline(never)]
fn no_ctx_yet(sess: &Session, in_ssl_phase: Option<&mut c_int>, ssl_ctx_ref: Option<&mut c_int>) -> c_int {
    let Some(in_ssl_phase) = in_ssl_phase else { return sess.ctx_ref };
    *in_ssl_phase = matches!(sess.phase, Phase::SslCert | Phase::SslClientHello) as c_int;
    if let Some(r) = ssl_ctx_ref {
        *r = crate::sys::LUA_NOREF;
    }
    sess.ctx_ref
}

#[no_mangle]
pub extern "C" fn ngx_stream_lua_ffi_set_ctx_ref(r: Option<&mut Session>, cref: c_int) -> c_int {
    guard(FFI_NO_REQ_CTX, || {
        let Some(sess) = r else { return FFI_NO_REQ_CTX };
        sess.ctx_ref = cref;
        NGX_OK as c_int
    })
}

ffi_exports! {
    fn ngx_stream_lua_ffi_exit(r: Option<&mut Session>, status: c_int, err: err_buf[errlen]) -> c_int [NGX_ERROR] {
        let Some(sess) = r else {
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
    }
}

#[no_mangle]
pub extern "C" fn ngx_stream_lua_ffi_get_phase(r: Option<&Session>, _err: *mut *const c_char) -> c_int {
    match r {
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

/// `YYYY-MM-DD` or `YYYY-MM-DD hh:mm:ss` of a time, into `out` (10 or 19 bytes). Digits are
/// written in place: `format!` cost an allocation and the formatting machinery per call
/// (ngx.today() and ngx.localtime() ran at half the C module's speed).
fn write_date(out: &mut [u8], secs: i64, with_time: bool) {
    let tm = clock::gmtime(secs);
    // (a year past 9999 does not fit the caller's buffer; nginx's cached time never has one)
    put_digits(&mut out[0..4], tm.tm_year.clamp(0, 9999) as u32);
    out[4] = b'-';
    put_digits(&mut out[5..7], tm.tm_mon as u32);
    out[7] = b'-';
    put_digits(&mut out[8..10], tm.tm_mday as u32);
    if with_time {
        out[10] = b' ';
        put_digits(&mut out[11..13], tm.tm_hour as u32);
        out[13] = b':';
        put_digits(&mut out[14..16], tm.tm_min as u32);
        out[16] = b':';
        put_digits(&mut out[17..19], tm.tm_sec as u32);
    }
}

/// `v`'s last `out.len()` decimal digits, zero-padded.
fn put_digits(out: &mut [u8], mut v: u32) {
    for d in out.iter_mut().rev() {
        *d = b'0' + (v % 10) as u8;
        v /= 10;
    }
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
pub extern "C" fn ngx_stream_lua_ffi_today(buf: &mut [u8; 10]) {
    let (sec, _, gmtoff) = clock::cached();
    write_date(buf, sec + gmtoff * 60, false)
}

#[no_mangle]
pub extern "C" fn ngx_stream_lua_ffi_localtime(buf: &mut [u8; 19]) {
    let (sec, _, gmtoff) = clock::cached();
    write_date(buf, sec + gmtoff * 60, true)
}

#[no_mangle]
pub extern "C" fn ngx_stream_lua_ffi_utctime(buf: &mut [u8; 19]) {
    write_date(buf, clock::cached().0, true)
}

#[no_mangle]
pub extern "C" fn ngx_stream_lua_ffi_req_start_time(r: Option<&Session>) -> f64 {
    let Some(stream) = r.and_then(|s| s.stream()) else { return 0.0 };
    let (sec, msec) = stream.start_time();
    to_f64(sec) + to_f64(msec) / 1000.0
}

ffi_exports! {
    /// The pids of this worker and its siblings, as nginx's process table in the worker knows
    /// them.
    fn ngx_stream_lua_ffi_worker_pids(pids: *mut c_int, pids_len: &mut usize) -> c_int [NGX_ERROR] {
        // SAFETY: pids has *pids_len slots (the caller's array).
        let out = unsafe { std::slice::from_raw_parts_mut(pids, *pids_len) };
        let n = worker::worker_pids(out);
        if n == 0 {
            return NGX_ERROR;
        }
        *pids_len = n;
        NGX_OK as c_int
    }
}
