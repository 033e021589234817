//! `preread_by_lua*`: a handler of the stream preread phase. It runs last in that phase
//! (moved there at the first session) unless `preread_by_lua_no_postpone on`.

use crate::api::abort;
use crate::conf::{MainConf, SrvConf};
use crate::ngx_callbacks;
use crate::runtime::live::LiveSession;
use crate::runtime::scheduler::Outcome;
use crate::runtime::session::Phase;
use crate::sys::stream::StreamSession;
use crate::sys::*;

ngx_callbacks! {
    pub fn preread_handler(s: StreamSession) -> ngx_int_t [NGX_ERROR as ngx_int_t] {
        preread(s)
    }
}

fn preread(s: StreamSession) -> ngx_int_t {
    let postpone = s.main_conf::<MainConf>().map(|m| {
        let first = !m.preread_no_postpone.unwrap_or(false) && !m.preread_postponed.get();
        m.preread_postponed.set(m.preread_postponed.get() | first);
        first
    });
    if postpone == Some(true) && s.postpone_to_phase_end() {
        return NGX_DECLINED as ngx_int_t;
    }
    let Some(code) = s.srv_conf::<SrvConf>().and_then(|c| c.preread.clone()) else {
        return NGX_DECLINED as ngx_int_t;
    };
    let Ok(sess) = crate::phase::session_of(s) else {
        return NGX_STREAM_INTERNAL_SERVER_ERROR as ngx_int_t;
    };
    if let Some(rc) = sess.with(|x| x.rare().and_then(|r| r.preread_rc)) {
        return rc;
    }
    if let Some(n) = sess.with(|x| x.rare().and_then(|r| r.peek_need)) {
        // the phase read more: is there enough for the waiting peek now?
        let stream = sess.stream();
        let Some(data) = stream.peeked(n) else { return NGX_AGAIN as ngx_int_t };
        sess.with(|x| x.take_rare(|r| r.peek_need.take()));
        let Some(t) = sess.wake_peeker(data) else { return NGX_DONE as ngx_int_t };
        sess.with(|x| x.in_handler = true);
        // the phase's reading set nginx's read handler; Lua runs again now
        abort::idle_read_handler(&sess);
        let outcome = sess.resume(t);
        return handler_result(sess, outcome);
    }
    if sess.with(|x| x.waiting() || x.entry_finished) {
        // an event re-ran the phases while the Lua code still waits
        return NGX_DONE as ngx_int_t;
    }
    sess.with(|x| {
        x.phase = Phase::Preread;
        x.on_done = Some(done);
        x.in_handler = true;
    });
    // while the Lua code waits, client read events must not re-run the phases; under
    // lua_check_client_abort they watch for the client going away, as in content
    abort::idle_read_handler(&sess);
    let outcome = sess.run_entry(&code);
    handler_result(sess, outcome)
}

/// The handler's return value once its Lua code ran (as far as it could): `NGX_AGAIN` lets
/// the preread phase read more for a waiting `peek`.
fn handler_result(sess: LiveSession, outcome: Outcome) -> ngx_int_t {
    if let Outcome::Waiting = outcome {
        return sess.with(|x| {
            x.in_handler = false;
            if x.rare().is_some_and(|r| r.peek_need.is_some()) {
                NGX_AGAIN as ngx_int_t
            } else {
                NGX_DONE as ngx_int_t
            }
        });
    }
    match preread_result(sess, outcome) {
        Some((sess, rc)) => {
            sess.with(|x| {
                x.in_handler = false;
                x.rare_mut().preread_rc = Some(rc);
            });
            // the next phases get nginx's own read handler back
            abort::restore_session_read_handler(&sess);
            rc
        }
        None => NGX_DONE as ngx_int_t,
    }
}

/// What the handler returns for `outcome`, with the session back; `None` when the session
/// was finalized.
fn preread_result(sess: LiveSession, outcome: Outcome) -> Option<(LiveSession, ngx_int_t)> {
    let rc = match outcome {
        Outcome::Finished => NGX_OK as isize,
        Outcome::Waiting => return Some((sess, NGX_DONE as ngx_int_t)),
        Outcome::Failed => {
            sess.finalize(NGX_STREAM_INTERNAL_SERVER_ERROR as isize);
            return None;
        }
        Outcome::Exited(code) => code,
    };
    if rc == NGX_ERROR as isize || rc > NGX_OK as isize {
        sess.finalize(rc);
        return None;
    }
    // the next phases write to the client after what Lua wrote
    sess.with(crate::runtime::downstream::send_deferred);
    Some((sess, rc as ngx_int_t))
}

/// The preread Lua code finished after waiting (`Session::on_done`): run the phases again
/// from this handler.
fn done(sess: LiveSession, outcome: Outcome) {
    let Some((sess, rc)) = preread_result(sess, outcome) else { return };
    sess.with(|x| x.rare_mut().preread_rc = Some(rc));
    abort::restore_session_read_handler(&sess);
    // a read timer means nginx's preread phase waits for client data (a peek's NGX_AGAIN)
    // and would not call the handler: it is to be called now
    sess.stream().conn().clear_timer(Dir::Read);
    sess.run_phases();
}
