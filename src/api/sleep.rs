//! `ngx.sleep(seconds)`: parks the running thread on a timer; 0 yields to other work.

use crate::lua_calls;
use crate::runtime::handle::SessionRef;
use crate::runtime::scheduler::{wake_thread, wake_thread_noting};
use crate::runtime::session::Phase;
use crate::runtime::thread::{Thread, ThreadKey};
use crate::sys::deadline_queue::DeadlineQueue;
use crate::sys::*;

/// The worker's sleeping threads, by deadline, behind one nginx timer (by thread key).
static SLEEPS: DeadlineQueue = DeadlineQueue::new(sleep_done);

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
    sess.with_thread(|thread| {
        let key = thread.key.raw();
        if delay == 0 {
            // upstream's wording on a stock nginx (no delayed-events patch)
            log.error(NGX_LOG_WARN, 0, b"ngx.sleep(0) called without delayed events patch, this will hurt performance");
            // a 0 ms timer would fire again within the same timer loop: run after other events
            thread.wake_ev.post_next(sleep_zero_done, key, log);
            thread.wait_with_fn(cancel_sleep, 0);
        } else {
            SLEEPS.add(delay as ngx_msec_t, key);
            thread.wait_with_fn(cancel_sleep, key);
        }
    });
    log.debug_fmt(format_args!("lua ready to sleep for {delay} ms"));
    yield_values(0)
}

/// The sleeping thread is killed or its session ends (`key`: the thread's, its entry's name
/// in `SLEEPS`; 0 for a `ngx.sleep(0)`, which waits in nginx's posted queue).
fn cancel_sleep(t: &mut Thread, key: u64) {
    if key != 0 {
        if let Some(log) = crate::runtime::scheduler::current_log() {
            log.debug("lua clean up the timer for pending ngx.sleep");
        }
        SLEEPS.cancel(key);
    }
    t.wake_ev.disarm();
}

fn sleep_done(key: u64) {
    wake_thread_noting(ThreadKey::from_raw(key), "stream lua sleep timer expired")
}

fn sleep_zero_done(key: u64, log: Option<Log>) {
    if let Some(log) = log {
        log.debug("stream lua sleep timer expired");
    }
    wake_thread(ThreadKey::from_raw(key), |_| 0)
}

/// Lets go of the sleep queue (the worker exits).
pub fn release() {
    SLEEPS.release();
}
