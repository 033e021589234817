//! `log_by_lua*`: runs for every session in the log phase; yielding APIs are disabled there.

use crate::conf::srv_conf_of;
use crate::runtime::scheduler::{run_entry, Outcome};
use crate::runtime::session::Phase;
use crate::sys::*;

pub unsafe extern "C" fn log_handler(s: *mut ngx_stream_session_t) -> ngx_int_t {
    guard(NGX_ERROR as ngx_int_t, || {
        // SAFETY: nginx calls log handlers with a live session.
        unsafe {
            malloc_trim_tick(s);
            let Some(code) = srv_conf_of(s).log.clone() else {
                return NGX_OK as ngx_int_t;
            };
            let Some(sess) = crate::phase::session_of(s) else {
                return NGX_ERROR as ngx_int_t;
            };
            (*sess).cancel_wait();
            (*sess).phase = Phase::Log;
            (*sess).on_done = None;
            (*sess).exit_code = None;
            if let Outcome::Waiting = run_entry(sess, &code) {
                (*sess).cancel_wait();
            }
            NGX_OK as ngx_int_t
        }
    })
}

/// `lua_malloc_trim N`: every N-th session logged gives free heap memory back to the system.
unsafe fn malloc_trim_tick(s: *mut ngx_stream_session_t) {
    // SAFETY: a live session; its connection's log.
    let (misc, log) = unsafe { (&mut crate::conf::main_conf_of(s).misc, (*(*s).connection).log) };
    let every = misc.malloc_trim();
    if every == 0 {
        log_debug(log, "malloc_trim() disabled");
        return;
    }
    misc.malloc_trim_count += 1;
    if misc.malloc_trim_count >= every {
        misc.malloc_trim_count = 0;
        let rc = crate::api::process::malloc_trim();
        log_debug(log, &format!("malloc_trim(1) returned {rc}"));
    }
}
