//! `content_by_lua*`: the stream content handler.

use crate::module::srv_conf_of;
use crate::runtime::scheduler::{run_entry, Outcome};
use crate::runtime::session::{Phase, Session};
use crate::sys::*;

/// `lua_socket_send_timeout` of the session's server: how long the last output may take.
unsafe fn send_timeout(s: *mut ngx_stream_session_t) -> ngx_msec_t {
    // SAFETY: s is a live session.
    unsafe { srv_conf_of(s).socket.send_timeout() as ngx_msec_t }
}

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

/// Ends the session with `rc` once buffered output has reached the client, following
/// upstream: errors close at once, `ngx.DONE` leaves the session to its owner.
pub unsafe fn finalize(s: *mut ngx_stream_session_t, rc: isize) {
    // SAFETY: s is live.
    log_debug(unsafe { (*(*s).connection).log }, &format!("finalize stream request: {rc}"));
    let mut rc = rc;
    if rc == NGX_ERROR as isize {
        rc = NGX_STREAM_INTERNAL_SERVER_ERROR as isize;
    }
    if rc == NGX_DONE as isize {
        return;
    }
    if rc == NGX_OK as isize {
        rc = NGX_STREAM_OK as isize;
    }
    // SAFETY: s is live until ngx_stream_finalize_session.
    unsafe {
        let c = (*s).connection;
        if rc != NGX_DECLINED as isize && rc != NGX_STREAM_INTERNAL_SERVER_ERROR as isize && (*c).buffered() != 0 {
            (*s).status = rc as ngx_uint_t;
            // the session is over for Lua: client read events no longer matter
            (*(*c).read).handler = Some(ignore_event);
            let wev = (*c).write;
            (*wev).handler = Some(flush_then_finalize);
            if (*wev).delayed() == 0 {
                ngx_add_timer(wev, send_timeout(s));
            }
            if ngx_handle_write_event(wev, 0) == NGX_OK as isize {
                return;
            }
            rc = NGX_STREAM_INTERNAL_SERVER_ERROR as isize;
        }
        ngx_stream_finalize_session(s, rc as ngx_uint_t);
    }
}

unsafe extern "C" fn ignore_event(_ev: *mut ngx_event_t) {}

/// Write handler while the last output drains; the status waits in `s->status`.
unsafe extern "C" fn flush_then_finalize(wev: *mut ngx_event_t) {
    guard((), || {
        // SAFETY: wev belongs to the session's connection (wev->data = c, c->data = s).
        unsafe {
            let c = (*wev).data as *mut ngx_connection_t;
            let s = (*c).data as *mut ngx_stream_session_t;
            if (*wev).timedout() != 0 {
                log_error(NGX_LOG_INFO, (*c).log, libc::ETIMEDOUT, b"client timed out");
                (*c).set_timedout(1);
                ngx_stream_finalize_session(s, NGX_STREAM_INTERNAL_SERVER_ERROR as ngx_uint_t);
                return;
            }
            let rc = crate::api::output::send_chain(s, std::ptr::null_mut());
            if rc == NGX_ERROR as isize {
                ngx_stream_finalize_session(s, NGX_STREAM_INTERNAL_SERVER_ERROR as ngx_uint_t);
                return;
            }
            if (*c).buffered() != 0 {
                if (*wev).delayed() == 0 {
                    ngx_add_timer(wev, send_timeout(s));
                }
                if ngx_handle_write_event(wev, 0) != NGX_OK as isize {
                    ngx_stream_finalize_session(s, NGX_STREAM_INTERNAL_SERVER_ERROR as ngx_uint_t);
                }
                return;
            }
            if (*wev).timer_set() != 0 {
                ngx_del_timer(wev);
            }
            ngx_stream_finalize_session(s, (*s).status);
        }
    })
}
