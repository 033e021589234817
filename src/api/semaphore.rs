//! `ngx.semaphore` over the exported C ABI lua-resty-core uses (`ngx_stream_lua_ffi_sema_*`).
//! A waiter is a Lua thread of any session (or timer); `post` wakes waiters from a posted
//! event, so the poster keeps running first, as upstream.

use std::collections::VecDeque;
use std::ffi::{c_char, c_int, c_uchar, c_void};
use std::ptr;

use crate::runtime::scheduler::wake;
use crate::runtime::session::{Phase, Session};
use crate::runtime::thread::Thread;
use crate::sys::*;

pub struct Sema {
    resources: c_int,
    waiters: VecDeque<*mut Thread>,
    /// Runs the wake-ups after `post`.
    ev: ngx_event_t,
    /// Freed by Lua's GC while waking waiters: free when done.
    dropped: bool,
    waking: bool,
}

const FFI_OK: c_int = 0;
const FFI_ERROR: c_int = -1;
const FFI_AGAIN: c_int = -2;
const FFI_DECLINED: c_int = -5;

#[no_mangle]
pub unsafe extern "C" fn ngx_stream_lua_ffi_sema_new(
    psem: *mut *mut Sema,
    n: c_int,
    errmsg: *mut *const c_char,
) -> c_int {
    let _ = errmsg;
    let sem = Box::into_raw(Box::new(Sema {
        resources: n.max(0),
        waiters: VecDeque::new(),
        // SAFETY: an all-zero ngx_event_t is nginx's idle event.
        ev: unsafe { std::mem::zeroed() },
        dropped: false,
        waking: false,
    }));
    // SAFETY: psem points at a slot provided by the caller.
    unsafe { *psem = sem };
    FFI_OK
}

#[no_mangle]
pub unsafe extern "C" fn ngx_stream_lua_ffi_sema_count(sem: *mut Sema) -> c_int {
    // SAFETY: sem is a live semaphore.
    unsafe { (*sem).resources - (*sem).waiters.len() as c_int }
}

#[no_mangle]
pub unsafe extern "C" fn ngx_stream_lua_ffi_sema_post(sem: *mut Sema, n: c_int) -> c_int {
    guard(FFI_OK, || {
        // SAFETY: sem is a live semaphore.
        unsafe {
            (*sem).resources += n;
            if (*sem).ev.posted() == 0 {
                (*sem).ev.handler = Some(wake_waiters);
                (*sem).ev.data = sem as *mut c_void;
                (*sem).ev.log = cycle_log();
                ngx_post_event(&mut (*sem).ev, ptr::addr_of_mut!(ngx_posted_events));
            }
        }
        FFI_OK
    })
}

#[no_mangle]
pub unsafe extern "C" fn ngx_stream_lua_ffi_sema_wait(
    r: *mut Session,
    sem: *mut Sema,
    wait_ms: c_int,
    err: *mut c_uchar,
    errlen: *mut usize,
) -> c_int {
    guard(FFI_ERROR, || {
        // SAFETY: r is a live session context, sem a live semaphore, err a buffer of *errlen.
        unsafe {
            let fail = |msg: &[u8]| {
                let n = msg.len().min(*errlen);
                ptr::copy_nonoverlapping(msg.as_ptr(), err, n);
                *errlen = n;
                FFI_ERROR
            };
            if r.is_null() {
                return fail(b"no request ctx found");
            }
            let allowed = Phase::YIELDABLE;
            if !allowed.contains(&(*r).phase) {
                return fail(format!("API disabled in the context of {}", (*r).phase.directive_name()).as_bytes());
            }
            // the first waiters are served first
            if (*sem).resources > 0 && (*sem).waiters.is_empty() {
                (*sem).resources -= 1;
                return FFI_OK;
            }
            if wait_ms == 0 {
                return FFI_DECLINED;
            }
            let t = (*r).cur;
            (*sem).waiters.push_back(t);
            (*t).wait_obj = sem as *mut c_void;
            (*t).pending = Some(cancel_wait);
            (*t).sleep_ev.arm(wait_ms as ngx_msec_t, wait_timed_out, t as *mut c_void, (*r).log());
            FFI_AGAIN
        }
    })
}

#[no_mangle]
pub unsafe extern "C" fn ngx_stream_lua_ffi_sema_gc(sem: *mut Sema) {
    guard((), || {
        if sem.is_null() {
            return;
        }
        // SAFETY: sem came from sema_new and Lua's GC calls this once.
        unsafe {
            if (*sem).waking {
                (*sem).dropped = true;
                return;
            }
            free(sem);
        }
    })
}

unsafe fn free(sem: *mut Sema) {
    // SAFETY: sem came from Box::into_raw; its waiters (if any) lose their semaphore.
    unsafe {
        if (*sem).ev.posted() != 0 {
            ngx_delete_posted_event(&mut (*sem).ev);
        }
        for t in (*sem).waiters.drain(..) {
            (*t).wait_obj = ptr::null_mut();
        }
        drop(Box::from_raw(sem));
    }
}

/// A waiting thread goes away (killed, session finalized): it stops waiting.
unsafe fn cancel_wait(_sess: *mut Session, t: *mut Thread) {
    // SAFETY: t is live; wait_obj is its semaphore while it waits.
    unsafe {
        let sem = (*t).wait_obj as *mut Sema;
        if !sem.is_null() {
            (*sem).waiters.retain(|w| *w != t);
        }
        (*t).wait_obj = ptr::null_mut();
        (*t).sleep_ev.disarm();
    }
}

unsafe extern "C" fn wait_timed_out(ev: *mut ngx_event_t) {
    guard((), || {
        // SAFETY: ev->data is the waiting thread, still live.
        unsafe {
            let t = (*ev).data as *mut Thread;
            cancel_wait((*t).sess, t);
            (*t).pending = None;
            raw::lua_pushnil((*t).co);
            push_bytes((*t).co, b"timeout");
            wake((*t).sess, t, 2);
        }
    })
}

unsafe extern "C" fn wake_waiters(ev: *mut ngx_event_t) {
    guard((), || {
        // SAFETY: ev->data is the semaphore; it is freed at the end if Lua dropped it meanwhile.
        unsafe {
            let sem = (*ev).data as *mut Sema;
            let queue = if (*sem).waiters.is_empty() { "empty" } else { "not empty" };
            log_debug(
                cycle_log(),
                &format!("semaphore handler: wait queue: {queue}, resource count: {}", (*sem).resources),
            );
            (*sem).waking = true;
            while (*sem).resources > 0 {
                let Some(t) = (*sem).waiters.pop_front() else { break };
                (*sem).resources -= 1;
                (*t).wait_obj = ptr::null_mut();
                (*t).pending = None;
                (*t).sleep_ev.disarm();
                raw::lua_pushboolean((*t).co, 1);
                wake((*t).sess, t, 1);
            }
            (*sem).waking = false;
            if (*sem).dropped {
                free(sem);
            }
        }
    })
}
