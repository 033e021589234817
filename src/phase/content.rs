//! `content_by_lua*`: the stream content handler.

use crate::conf::srv_conf_of;
use crate::runtime::downstream::finalize;
use crate::runtime::scheduler::{run_entry, Outcome};
use crate::runtime::session::{Phase, Session};
use crate::sys::*;

pub unsafe extern "C" fn content_handler(s: *mut ngx_stream_session_t) {
    guard((), || {
        // SAFETY: nginx calls us with a live session in the content phase.
        unsafe {
            let Some(code) = srv_conf_of(s).content.clone() else {
                ngx_stream_finalize_session(s, NGX_DECLINED as ngx_uint_t);
                return;
            };
            let Some(sess) = crate::phase::session_of(s) else {
                ngx_stream_finalize_session(s, NGX_STREAM_INTERNAL_SERVER_ERROR as ngx_uint_t);
                return;
            };
            if (*sess).content_started {
                // an event re-ran the phases (handlers left by an earlier phase): already running
                return;
            }
            (*sess).content_started = true;
            (*sess).phase = Phase::Content;
            (*sess).on_done = Some(content_done);
            // Nothing reads the client while Lua runs: stray read events must not re-run the
            // phases; with lua_check_client_abort they watch for the client going away.
            crate::api::abort::idle_read_handler(sess);
            let outcome = run_entry(sess, &code);
            if !matches!(outcome, Outcome::Waiting) {
                content_done(sess, outcome);
            }
        }
    })
}

/// The entry thread of the content phase has ended: finish the session.
unsafe fn content_done(sess: *mut Session, outcome: Outcome) {
    let rc = match outcome {
        Outcome::Finished => NGX_OK as isize,
        Outcome::Exited(code) => code,
        Outcome::Failed => NGX_STREAM_INTERNAL_SERVER_ERROR as isize,
        Outcome::Waiting => return,
    };
    // SAFETY: sess is live until the session is finalized.
    unsafe { finalize((*sess).s, rc) };
}
