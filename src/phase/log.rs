//! `log_by_lua*`: runs for every session in the log phase; yielding APIs are disabled there.

use crate::conf::{MainConf, SrvConf};
use crate::ngx_callbacks;
use crate::runtime::scheduler::Outcome;
use crate::runtime::session::Phase;
use crate::sys::stream::StreamSession;
use crate::sys::*;

ngx_callbacks! {
    pub fn log_handler(s: StreamSession) -> ngx_int_t [NGX_ERROR as ngx_int_t] {
        log(s)
    }
}

fn log(s: StreamSession) -> ngx_int_t {
    malloc_trim_tick(&s);
    let Some(code) = s.srv_conf::<SrvConf>().and_then(|c| c.log.clone()) else {
        return NGX_OK as ngx_int_t;
    };
    let Ok(sess) = crate::phase::session_of(s) else {
        return NGX_ERROR as ngx_int_t;
    };
    sess.cancel_wait();
    sess.with(|x| {
        x.phase = Phase::Log;
        x.on_done = None;
        x.exit_code = None;
    });
    if let Outcome::Waiting = sess.run_entry(&code) {
        sess.cancel_wait();
    }
    NGX_OK as ngx_int_t
}

/// `lua_malloc_trim N`: every N-th session logged gives free heap memory back to the system.
fn malloc_trim_tick(s: &StreamSession) {
    let log = s.log();
    let due = s.main_conf::<MainConf>().map(|m| {
        let misc = &m.misc;
        let every = misc.malloc_trim();
        if every == 0 {
            return None;
        }
        let count = misc.malloc_trim_count.get() + 1;
        let due = count >= every;
        misc.malloc_trim_count.set(if due { 0 } else { count });
        Some(due)
    });
    match due.flatten() {
        None => log.debug("malloc_trim() disabled"),
        Some(true) => {
            let rc = crate::api::process::malloc_trim();
            log.debug_fmt(format_args!("malloc_trim(1) returned {rc}"));
        }
        Some(false) => {}
    }
}
