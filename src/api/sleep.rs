//! `ngx.sleep(seconds)`: parks the running thread on a timer; 0 yields to other work.

use std::ffi::c_void;

use crate::api::{check_phase, current_session};
use crate::lua_api;
use crate::runtime::scheduler::wake;
use crate::runtime::session::{Phase, Session};
use crate::runtime::thread::Thread;
use crate::sys::*;

lua_api! { sleep => sleep_impl }

unsafe fn sleep_impl(l: *mut lua_State) -> LuaResult {
    // SAFETY: l is the running coroutine.
    unsafe {
        let n = raw::lua_gettop(l);
        if n != 1 {
            return err(format!("attempt to pass {n} arguments, but accepted 1"));
        }
        let sess = current_session(l)?;
        if raw::lua_type(l, 1) != LUA_TNUMBER && raw::lua_isnumber(l, 1) == 0 {
            let got = type_name(l, raw::lua_type(l, 1));
            return Err(LuaError::Arg(1, "sleep", format!("number expected, got {got}")));
        }
        let delay = (raw::lua_tonumber(l, 1) * 1000.0) as i64;
        if delay < 0 {
            return err(format!("invalid sleep duration \"{delay}\""));
        }
        check_phase(&*sess, Phase::YIELDABLE)?;
        if let Err(e) = ensure_yieldable(l) {
            // upstream arms its timer before the yield fails, then cleans it up
            log_debug((*sess).log(), "lua clean up the timer for pending ngx.sleep");
            return Err(e);
        }
        let log = (*sess).log();
        let t = (*sess).cur;
        let ev = &mut (*t).sleep_ev;
        ev.handler = Some(sleep_done);
        ev.data = t as *mut c_void;
        ev.log = log;
        if delay == 0 {
            // upstream's wording on a stock nginx (no delayed-events patch)
            log_error(
                NGX_LOG_WARN,
                log,
                0,
                b"ngx.sleep(0) called without delayed events patch, this will hurt performance",
            );
            // a 0 ms timer would fire again within the same timer loop: run after other events
            ngx_post_event(ev, std::ptr::addr_of_mut!(ngx_posted_next_events));
        } else {
            ngx_add_timer(ev, delay as ngx_msec_t);
        }
        log_debug(log, &format!("lua ready to sleep for {delay} ms"));
        (*t).pending = Some(cancel_sleep);
        yield_values(0)
    }
}

unsafe fn cancel_sleep(_sess: *mut Session, t: *mut Thread) {
    // SAFETY: t is live; its sleep event is armed by sleep_impl.
    unsafe {
        let ev = &mut (*t).sleep_ev;
        if ev.timer_set() != 0 {
            log_debug(ev.log, "lua clean up the timer for pending ngx.sleep");
            ngx_del_timer(ev);
        }
        if ev.posted() != 0 {
            ngx_delete_posted_event(ev);
        }
    }
}

unsafe extern "C" fn sleep_done(ev: *mut ngx_event_t) {
    guard((), || {
        // SAFETY: ev->data is the thread that armed this event, still live.
        unsafe {
            log_debug((*ev).log, "stream lua sleep timer expired");
            let t = (*ev).data as *mut Thread;
            wake((*t).sess, t, 0)
        };
    })
}
