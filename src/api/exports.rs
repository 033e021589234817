//! The exported C ABI (`ngx_stream_lua_ffi_*`), with stream-lua's names and signatures, so
//! LuaJIT's FFI compiles calls to it and lua-resty-core can sit on top. `r` is the opaque
//! request pointer Lua finds in `__ngx_req`: here, our `Session`.

use std::ffi::{c_char, c_int, c_uchar};

use crate::runtime::session::{Phase, Session};
use crate::sys::ngx::*;

const FFI_NO_REQ_CTX: c_int = -100;
const FFI_BAD_CONTEXT: c_int = -101;

static ERR_NO_SESSION: &[u8] = b"no request found\0";

/// Writes `msg` into an error buffer of `*errlen` bytes and sets `*errlen` to its length.
unsafe fn set_err(err: *mut c_uchar, errlen: *mut usize, msg: &[u8]) {
    if err.is_null() || errlen.is_null() {
        return;
    }
    // SAFETY: the caller gives a buffer of *errlen bytes.
    unsafe {
        let n = msg.len().min(*errlen);
        std::ptr::copy_nonoverlapping(msg.as_ptr(), err, n);
        *errlen = n;
    }
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
        // SAFETY: r is a live session's context; the buffers are sized by the caller.
        unsafe {
            if r.is_null() {
                *err = ERR_NO_SESSION.as_ptr() as *const c_char;
                return NGX_ERROR;
            }
            if name_data.is_null() {
                // regex capture variables ($1...) come with ngx.re
                return NGX_DECLINED;
            }
            let hash = ngx_hash_strlow(lowcase_buf as *mut u8, name_data as *mut u8, name_len);
            let mut name = ngx_str_t { len: name_len, data: lowcase_buf as *mut u8 };
            let vv = ngx_stream_get_variable((*r).s, &mut name, hash);
            if vv.is_null() || (*vv).not_found() != 0 {
                return NGX_DECLINED;
            }
            *value = (*vv).data as *mut c_char;
            *value_len = (*vv).len() as usize;
            NGX_OK as c_int
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
        // SAFETY: r is null or a live session's context; the buffers are sized by the caller.
        unsafe {
            if r.is_null() {
                set_err(errbuf, errlen, b"no request object found");
                return NGX_ERROR;
            }
            let s = (*r).s;
            if s.is_null() {
                set_err(errbuf, errlen, b"API disabled in the current context");
                return NGX_ERROR;
            }
            let hash = ngx_hash_strlow(lowcase_buf, name_data as *mut u8, name_len);
            let name = String::from_utf8_lossy(std::slice::from_raw_parts(lowcase_buf, name_len)).into_owned();
            let cmcf = *(*s).main_conf.add(ngx_stream_core_module.ctx_index) as *mut ngx_stream_core_main_conf_t;
            let v =
                ngx_hash_find(&mut (*cmcf).variables_hash, hash, lowcase_buf, name_len) as *mut ngx_stream_variable_t;
            if v.is_null() {
                let msg = format!(
                    "variable \"{name}\" not found for writing; maybe it is a built-in variable that is not \
                     changeable or you forgot to use \"set ${name} '';\" in the config file to define it first"
                );
                set_err(errbuf, errlen, msg.as_bytes());
                return NGX_ERROR;
            }
            if (*v).flags & NGX_STREAM_VAR_CHANGEABLE as ngx_uint_t == 0 {
                set_err(errbuf, errlen, format!("variable \"{name}\" not changeable").as_bytes());
                return NGX_ERROR;
            }
            let pool = (*(*s).connection).pool;
            // the value must live as long as the session
            let data = if value.is_null() || value_len == 0 {
                std::ptr::null_mut()
            } else {
                let p = ngx_pnalloc(pool, value_len) as *mut u8;
                if p.is_null() {
                    set_err(errbuf, errlen, b"no memory");
                    return NGX_ERROR;
                }
                std::ptr::copy_nonoverlapping(value, p, value_len);
                p
            };
            let fill = |vv: *mut ngx_stream_variable_value_t| {
                (*vv).data = data;
                (*vv).set_len(value_len as u32);
                (*vv).set_valid(!value.is_null() as u32);
                (*vv).set_not_found(value.is_null() as u32);
                (*vv).set_no_cacheable(0);
            };
            if let Some(set) = (*v).set_handler {
                let vv = ngx_pcalloc(pool, std::mem::size_of::<ngx_stream_variable_value_t>())
                    as *mut ngx_stream_variable_value_t;
                if vv.is_null() {
                    set_err(errbuf, errlen, b"no memory");
                    return NGX_ERROR;
                }
                fill(vv);
                set(s, vv, (*v).data);
                return NGX_OK as c_int;
            }
            if (*v).flags & NGX_STREAM_VAR_INDEXED as ngx_uint_t != 0 {
                fill((*s).variables.add((*v).index));
                return NGX_OK as c_int;
            }
            set_err(errbuf, errlen, format!("variable \"{name}\" cannot be assigned a value").as_bytes());
            NGX_ERROR
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
        // SAFETY: r is null or a live session's context.
        unsafe {
            if r.is_null() {
                return FFI_NO_REQ_CTX;
            }
            if (*r).ctx_ref >= 0 || in_ssl_phase.is_null() {
                return (*r).ctx_ref;
            }
            *in_ssl_phase = matches!((*r).phase, Phase::SslCert | Phase::SslClientHello) as c_int;
            if !ssl_ctx_ref.is_null() {
                *ssl_ctx_ref = crate::sys::LUA_NOREF;
            }
            (*r).ctx_ref
        }
    })
}

#[no_mangle]
pub unsafe extern "C" fn ngx_stream_lua_ffi_set_ctx_ref(r: *mut Session, cref: c_int) -> c_int {
    guard(FFI_NO_REQ_CTX, || {
        // SAFETY: r is null or a live session's context.
        unsafe {
            if r.is_null() {
                return FFI_NO_REQ_CTX;
            }
            (*r).ctx_ref = cref;
            NGX_OK as c_int
        }
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
        // SAFETY: r is null or a live session's context.
        unsafe {
            if r.is_null() {
                set_err(err, errlen, b"no request ctx found");
                return NGX_ERROR;
            }
            let allowed =
                [Phase::Content, Phase::Timer, Phase::Balancer, Phase::SslClientHello, Phase::SslCert, Phase::Preread];
            if !allowed.contains(&(*r).phase) {
                let msg = format!("API disabled in the context of {}", (*r).phase.directive_name());
                set_err(err, errlen, msg.as_bytes());
                return NGX_ERROR;
            }
            (*r).exit_code = Some(status as isize);
            crate::sys::log_debug((*r).log(), &format!("lua exit with code {status}"));
            if (*r).phase == Phase::Balancer {
                return NGX_DONE;
            }
            NGX_OK as c_int
        }
    })
}

#[no_mangle]
pub unsafe extern "C" fn ngx_stream_lua_ffi_get_phase(r: *mut Session, _err: *mut *const c_char) -> c_int {
    // SAFETY: r is null or a live session's context.
    unsafe {
        if r.is_null() {
            return FFI_BAD_CONTEXT;
        }
        (*r).phase as c_int
    }
}

#[no_mangle]
pub extern "C" fn ngx_stream_lua_ffi_worker_pid() -> c_int {
    // SAFETY: ngx_pid is set at process start.
    unsafe { ngx_pid as c_int }
}

#[no_mangle]
pub extern "C" fn ngx_stream_lua_ffi_worker_id() -> c_int {
    // SAFETY: plain reads of nginx process globals.
    unsafe {
        if ngx_process != NGX_PROCESS_WORKER as ngx_uint_t && ngx_process != NGX_PROCESS_SINGLE as ngx_uint_t {
            return -1;
        }
        ngx_worker as c_int
    }
}

#[no_mangle]
pub extern "C" fn ngx_stream_lua_ffi_worker_exiting() -> c_int {
    // SAFETY: plain read of an nginx process global.
    unsafe { ngx_exiting as c_int }
}

#[no_mangle]
pub extern "C" fn ngx_stream_lua_ffi_worker_count() -> c_int {
    // SAFETY: the core module's conf is set once the cycle is configured.
    unsafe {
        let ccf = *(*ngx_cycle).conf_ctx.add(ngx_core_module.index) as *mut ngx_core_conf_t;
        if ccf.is_null() {
            return 1;
        }
        (*ccf).worker_processes as c_int
    }
}

// ---- time --------------------------------------------------------------------------------

/// nginx's cached time (seconds, milliseconds, minutes east of UTC).
fn cached_time() -> (i64, i64, i64) {
    // SAFETY: ngx_cached_time always points at a valid slot once nginx has started.
    unsafe {
        let tp = ngx_cached_time;
        ((*tp).sec, (*tp).msec as i64, (*tp).gmtoff as i64)
    }
}

fn broken_down(secs: i64) -> ngx_tm_t {
    // SAFETY: ngx_gmtime fills the struct from a time value.
    unsafe {
        let mut tm: ngx_tm_t = std::mem::zeroed();
        ngx_gmtime(secs as time_t, &mut tm);
        tm
    }
}

unsafe fn write_date(buf: *mut u8, tm: &ngx_tm_t, with_time: bool) {
    let s = if with_time {
        format!(
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
            tm.tm_year, tm.tm_mon, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec
        )
    } else {
        format!("{:04}-{:02}-{:02}", tm.tm_year, tm.tm_mon, tm.tm_mday)
    };
    // SAFETY: the caller's buffer holds 10 (date) or 19 (date and time) bytes.
    unsafe { std::ptr::copy_nonoverlapping(s.as_ptr(), buf, s.len()) };
}

#[no_mangle]
pub extern "C" fn ngx_stream_lua_ffi_now() -> f64 {
    let (sec, msec, _) = cached_time();
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
    cached_time().0 as libc::c_long
}

#[no_mangle]
pub extern "C" fn ngx_stream_lua_ffi_monotonic_msec() -> u64 {
    // SAFETY: ngx_current_msec is nginx's monotonic clock in ms.
    unsafe { ngx_current_msec as u64 }
}

#[no_mangle]
pub extern "C" fn ngx_stream_lua_ffi_update_time() {
    // SAFETY: refreshing nginx's cached time is what ngx_time_update does, from the event loop.
    unsafe { ngx_time_update() }
}

#[no_mangle]
pub unsafe extern "C" fn ngx_stream_lua_ffi_today(buf: *mut u8) {
    let (sec, _, gmtoff) = cached_time();
    // SAFETY: buf holds 10 bytes.
    unsafe { write_date(buf, &broken_down(sec + gmtoff * 60), false) }
}

#[no_mangle]
pub unsafe extern "C" fn ngx_stream_lua_ffi_localtime(buf: *mut u8) {
    let (sec, _, gmtoff) = cached_time();
    // SAFETY: buf holds 19 bytes.
    unsafe { write_date(buf, &broken_down(sec + gmtoff * 60), true) }
}

#[no_mangle]
pub unsafe extern "C" fn ngx_stream_lua_ffi_utctime(buf: *mut u8) {
    // SAFETY: buf holds 19 bytes.
    unsafe { write_date(buf, &broken_down(cached_time().0), true) }
}

#[no_mangle]
pub unsafe extern "C" fn ngx_stream_lua_ffi_req_start_time(r: *mut Session) -> f64 {
    // SAFETY: r is a live session's context.
    unsafe {
        if r.is_null() || (*r).s.is_null() {
            return 0.0;
        }
        let s = (*r).s;
        to_f64((*s).start_sec) + to_f64((*s).start_msec as i64) / 1000.0
    }
}

/// The pids of this worker and its siblings, as nginx's process table in the worker knows them.
#[no_mangle]
pub unsafe extern "C" fn ngx_stream_lua_ffi_worker_pids(pids: *mut c_int, pids_len: *mut usize) -> c_int {
    // SAFETY: pids has *pids_len slots; ngx_processes is nginx's per-process table.
    unsafe {
        let cap = *pids_len;
        let mut n = 0usize;
        #[allow(clippy::needless_range_loop)] // the slot number itself is compared below
        for i in 0..NGX_MAX_PROCESSES as usize {
            if n >= cap {
                break;
            }
            let p = &*std::ptr::addr_of!(ngx_processes[i]);
            if i as ngx_int_t != ngx_process_slot && p.pid == 0 {
                break;
            }
            if i as ngx_int_t == ngx_process_slot {
                *pids.add(n) = ngx_pid as c_int;
                n += 1;
            }
            if n < cap && p.channel[0] > 0 && p.pid > 0 {
                *pids.add(n) = p.pid as c_int;
                n += 1;
            }
        }
        if n == 0 {
            return NGX_ERROR;
        }
        *pids_len = n;
        NGX_OK as c_int
    }
}
