//! `ngx.semaphore` over the exported C ABI lua-resty-core uses (`ngx_stream_lua_ffi_sema_*`).
//! A waiter is a Lua thread of any session (or timer), queued by its key; `post` wakes waiters
//! from a posted event, so the poster keeps running first, as upstream.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::ffi::{c_char, c_int, c_void};
use std::rc::{Rc, Weak};

use crate::ffi_exports;
use crate::ngx_callbacks;
use crate::runtime::scheduler::wake_thread;
use crate::runtime::session::{Phase, Session};
use crate::runtime::thread::{thread_live, with_thread, Thread, ThreadKey};
use crate::sys::*;

/// What Lua's semaphore object points at. The state is shared with the posted wake-up (which
/// keeps it alive while it runs, even if Lua collects the object meanwhile) and, weakly, with
/// the cancel functions of its waiters.
pub struct Sema(Rc<State>);

struct State {
    resources: Cell<c_int>,
    waiters: RefCell<VecDeque<ThreadKey>>,
    /// Runs the wake-ups after `post`.
    ev: RefCell<Timer>,
}

const FFI_OK: c_int = 0;
const FFI_ERROR: c_int = -1;
const FFI_AGAIN: c_int = -2;
const FFI_DECLINED: c_int = -5;

ffi_exports! {
    fn ngx_stream_lua_ffi_sema_new(psem: &mut *mut Sema, n: c_int, _errmsg: *mut *const c_char) -> c_int [FFI_ERROR] {
        let state = State { resources: Cell::new(n.max(0)), waiters: RefCell::default(), ev: RefCell::default() };
        *psem = Box::into_raw(Box::new(Sema(Rc::new(state))));
        FFI_OK
    }

    /// `sem` came from sema_new and Lua has not collected it (so for the others).
    fn ngx_stream_lua_ffi_sema_count(sem: &Sema) -> c_int [0] {
        sem.0.resources.get() - sem.0.waiters.borrow().len() as c_int
    }

    fn ngx_stream_lua_ffi_sema_post(sem: &Sema, n: c_int) -> c_int [FFI_OK] {
        post(&sem.0, n)
    }

    fn ngx_stream_lua_ffi_sema_wait(
        r: Option<&mut Session>,
        sem: &Sema,
        wait_ms: c_int,
        err: err_buf[errlen],
    ) -> c_int [FFI_ERROR] {
        match wait(r, &sem.0, wait_ms) {
            Ok(rc) => rc,
            Err(msg) => {
                err.set(msg.as_bytes());
                FFI_ERROR
            }
        }
    }

    /// Lua's GC gives the object back once (a box sema_new made). A wake-up running now holds
    /// its own reference to the state, which goes when both are done.
    fn ngx_stream_lua_ffi_sema_gc(sem: Option<Box<Sema>>) [()] {
        drop(sem)
    }
}

fn post(sem: &Rc<State>, n: c_int) -> c_int {
    sem.resources.set(sem.resources.get() + n);
    let mut ev = sem.ev.borrow_mut();
    if ev.event().posted() == 0 {
        // the event's data is the state; the event lives in it and leaves the queue with it
        ev.post(wake_waiters, Rc::as_ptr(sem) as *mut c_void, Log::cycle().expect("the cycle's log"));
    }
    FFI_OK
}

fn wait(sess: Option<&mut Session>, sem: &Rc<State>, wait_ms: c_int) -> Result<c_int, String> {
    let Some(sess) = sess else { return Err("no request ctx found".into()) };
    let allowed = Phase::YIELDABLE;
    if !allowed.contains(&sess.phase) {
        return Err(format!("API disabled in the context of {}", sess.phase.directive_name()));
    }
    // the first waiters are served first
    if sem.resources.get() > 0 && sem.waiters.borrow().is_empty() {
        sem.resources.set(sem.resources.get() - 1);
        return Ok(FFI_OK);
    }
    if wait_ms == 0 {
        return Ok(FFI_DECLINED);
    }
    let log = sess.logger();
    let t = sess.cur_thread().expect("Lua runs in a thread of its session");
    sem.waiters.borrow_mut().push_back(t.key);
    t.wake_ev.arm(wait_ms as ngx_msec_t, wait_timed_out, t.key.raw(), log);
    let queue = Rc::downgrade(sem);
    t.wait_with(move |t| cancel_wait(&queue, t));
    Ok(FFI_AGAIN)
}

/// A waiting thread goes away (killed, session finalized) or times out: it stops waiting.
fn cancel_wait(sem: &Weak<State>, t: &mut Thread) {
    if let Some(sem) = sem.upgrade() {
        sem.waiters.borrow_mut().retain(|w| *w != t.key);
    }
    t.wake_ev.disarm();
}

fn wait_timed_out(key: u64, _log: Option<Log>) {
    let key = ThreadKey::from_raw(key);
    with_thread(key, Thread::cancel_wait);
    wake_thread(key, |c| {
        c.push_nil();
        c.push_bytes(b"timeout");
        2
    });
}

ngx_callbacks! {
    fn wake_waiters(ev: *mut ngx_event_t) [()] {
        // SAFETY: ev->data is the state the event lives in (`post`), live while the event is
        // queued; a reference of our own keeps it alive while its waiters' Lua runs.
        let sem = unsafe {
            let p = (*ev).data as *const State;
            Rc::increment_strong_count(p);
            Rc::from_raw(p)
        };
        wake_all(&sem);
    }
}

/// Wakes as many waiters as there are resources, first come first served.
fn wake_all(sem: &State) {
    let queue = if sem.waiters.borrow().is_empty() { "empty" } else { "not empty" };
    if let Some(log) = Log::cycle() {
        log.debug_fmt(format_args!("semaphore handler: wait queue: {queue}, resource count: {}", sem.resources.get()));
    }
    while sem.resources.get() > 0 {
        let Some(key) = sem.waiters.borrow_mut().pop_front() else { break };
        if !thread_live(key) {
            // (a waiter that went away leaves the queue first; never wake nothing)
            continue;
        }
        sem.resources.set(sem.resources.get() - 1);
        wake_thread(key, |c| {
            c.push_bool(true);
            1
        });
    }
}
