//! `ngx.sleep(seconds)`: parks the running thread on a timer; 0 yields to other work.

use std::ffi::c_void;

use crate::lua_calls;
use crate::runtime::handle::SessionRef;
use crate::runtime::scheduler::wake;
use crate::runtime::session::{Phase, Session};
use crate::runtime::thread::Thread;
use crate::sys::*;

lua_calls! { sleep => sleep_impl }

fn sleep_impl(c: &mut Call) -> LuaResult {
    let n = c.top();
    if n != 1 {
        return err(format!("attempt to pass {n} arguments, but accepted 1"));
    }
    let sess = SessionRef::current(c)?;
    if c.type_of(1) != LUA_TNUMBER && !c.is_number(1) {
        return c.arg_error(1, "sleep", format!("number expected, got {}", c.type_name_at(1)));
    }
    let delay = (c.to_number(1) * 1000.0) as i64;
    if delay < 0 {
        return err(format!("invalid sleep duration \"{delay}\""));
    }
    sess.check_phase(Phase::YIELDABLE)?;
    let log = sess.log();
    if let Err(e) = c.ensure_yieldable() {
        // upstream arms its timer before the yield fails, then cleans it up
        log.debug("lua clean up the timer for pending ngx.sleep");
        return Err(e);
    }
    sess.with_thread(|thread, t| {
        if delay == 0 {
            // upstream's wording on a stock nginx (no delayed-events patch)
            log.error(NGX_LOG_WARN, 0, b"ngx.sleep(0) called without delayed events patch, this will hurt performance");
            // a 0 ms timer would fire again within the same timer loop: run after other events
            thread.sleep_ev.post_next(sleep_done, t as *mut c_void, log.as_ptr());
        } else {
            thread.sleep_ev.arm(delay as ngx_msec_t, sleep_done, t as *mut c_void, log.as_ptr());
        }
        thread.pending = Some(cancel_sleep);
    });
    log.debug(&format!("lua ready to sleep for {delay} ms"));
    yield_values(0)
}

unsafe fn cancel_sleep(_sess: *mut Session, t: *mut Thread) {
    // SAFETY: t is a live thread of the session (the Cancel contract).
    let ev = unsafe { &mut (*t).sleep_ev };
    if ev.is_set() {
        // SAFETY: the timer was armed with the session's log, live while its thread is.
        unsafe { log_debug(ev.log(), "lua clean up the timer for pending ngx.sleep") };
    }
    ev.disarm();
}

unsafe extern "C" fn sleep_done(ev: *mut ngx_event_t) {
    guard((), || {
        // SAFETY: ev->data is the thread that armed this event, still live (its Timer goes with it).
        unsafe {
            log_debug((*ev).log, "stream lua sleep timer expired");
            let t = (*ev).data as *mut Thread;
            wake((*t).sess, t, 0)
        };
    })
}
