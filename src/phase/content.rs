//! `content_by_lua*`: the stream content handler.

use crate::api::abort;
use crate::conf::SrvConf;
use crate::ngx_callbacks;
use crate::runtime::live::LiveSession;
use crate::runtime::scheduler::Outcome;
use crate::runtime::session::Phase;
use crate::sys::stream::StreamSession;
use crate::sys::*;

ngx_callbacks! {
    pub fn content_handler(s: StreamSession) [()] {
        content(s)
    }
}

fn content(s: StreamSession) {
    let Some(code) = s.srv_conf::<SrvConf>().and_then(|c| c.content.clone()) else {
        s.finalize_session(NGX_DECLINED as ngx_uint_t);
        return;
    };
    let sess = match crate::phase::session_of(s) {
        Ok(sess) => sess,
        Err(s) => return s.finalize_session(NGX_STREAM_INTERNAL_SERVER_ERROR as ngx_uint_t),
    };
    if sess.with(|x| std::mem::replace(&mut x.content_started, true)) {
        // an event re-ran the phases (handlers left by an earlier phase): already running
        return;
    }
    sess.with(|x| {
        x.phase = Phase::Content;
        x.on_done = Some(done);
    });
    // Nothing reads the client while Lua runs: stray read events must not re-run the
    // phases; with lua_check_client_abort they watch for the client going away.
    abort::idle_read_handler(&sess);
    let outcome = sess.run_entry(&code);
    if !matches!(outcome, Outcome::Waiting) {
        done(sess, outcome);
    }
}

/// The entry thread of the content phase has ended (at once, or after waiting: then as the
/// session's `on_done`): finish the session.
fn done(sess: LiveSession, outcome: Outcome) {
    let rc = match outcome {
        Outcome::Finished => NGX_OK as isize,
        Outcome::Exited(code) => code,
        Outcome::Failed => NGX_STREAM_INTERNAL_SERVER_ERROR as isize,
        Outcome::Waiting => return,
    };
    sess.finalize(rc);
}
