//! `preread_by_lua*`: a handler of the stream preread phase. It runs last in that phase
//! (moved there at the first session) unless `preread_by_lua_no_postpone on`.

use crate::api::socket::downstream::{peeked, take_peeker};
use crate::conf::{main_conf_of, srv_conf_of};
use crate::runtime::downstream::finalize;
use crate::runtime::scheduler::{resume, run_entry, Outcome};
use crate::runtime::session::{Phase, Session};
use crate::sys::*;

pub unsafe extern "C" fn preread_handler(s: *mut ngx_stream_session_t) -> ngx_int_t {
    guard(NGX_ERROR as ngx_int_t, || {
        // SAFETY: nginx calls phase handlers with a live session.
        unsafe {
            let mcf = main_conf_of(s);
            if !mcf.preread_no_postpone.unwrap_or(false) && !mcf.preread_postponed {
                mcf.preread_postponed = true;
                if postpone_to_phase_end(s) {
                    return NGX_DECLINED as ngx_int_t;
                }
            }
            let Some(code) = srv_conf_of(s).preread.clone() else {
                return NGX_DECLINED as ngx_int_t;
            };
            let Some(sess) = crate::phase::session_of(s) else {
                return NGX_STREAM_INTERNAL_SERVER_ERROR as ngx_int_t;
            };
            if let Some(rc) = (*sess).preread_rc {
                return rc;
            }
            if let Some(n) = (*sess).peek_need {
                // the phase read more: is there enough for the waiting peek now?
                let Some(data) = peeked((*s).connection, n) else { return NGX_AGAIN as ngx_int_t };
                (*sess).peek_need = None;
                let t = take_peeker(sess);
                if t.is_null() {
                    return NGX_DONE as ngx_int_t;
                }
                (*t).pending = None;
                push_bytes((*t).co, data);
                (*sess).in_handler = true;
                // the phase's reading set nginx's read handler; Lua runs again now
                crate::api::abort::idle_read_handler(sess);
                let outcome = resume(sess, t, 1);
                return handler_result(sess, outcome);
            }
            if (*sess).waiting() || (*sess).entry_finished {
                // an event re-ran the phases while the Lua code still waits
                return NGX_DONE as ngx_int_t;
            }
            (*sess).phase = Phase::Preread;
            (*sess).on_done = Some(preread_done);
            (*sess).in_handler = true;
            // while the Lua code waits, client read events must not re-run the phases; under
            // lua_check_client_abort they watch for the client going away, as in content
            crate::api::abort::idle_read_handler(sess);
            let outcome = run_entry(sess, &code);
            handler_result(sess, outcome)
        }
    })
}

/// The handler's return value once its Lua code ran (as far as it could): `NGX_AGAIN` lets
/// the preread phase read more for a waiting `peek`.
unsafe fn handler_result(sess: *mut Session, outcome: Outcome) -> ngx_int_t {
    // SAFETY: sess is live unless preread_result finalized it.
    unsafe {
        if let Outcome::Waiting = outcome {
            (*sess).in_handler = false;
            if (*sess).peek_need.is_some() {
                return NGX_AGAIN as ngx_int_t;
            }
            return NGX_DONE as ngx_int_t;
        }
        match preread_result(sess, outcome) {
            Some(rc) => {
                (*sess).in_handler = false;
                (*sess).preread_rc = Some(rc);
                // the next phases get nginx's own read handler back
                crate::api::abort::restore_read_handler((*(*sess).s).connection);
                rc
            }
            None => NGX_DONE as ngx_int_t,
        }
    }
}

/// What the handler returns for `outcome`; `None` when the session was finalized.
unsafe fn preread_result(sess: *mut Session, outcome: Outcome) -> Option<ngx_int_t> {
    // SAFETY: sess is live; finalize may free it, after which it is not used.
    unsafe {
        let rc = match outcome {
            Outcome::Finished => NGX_OK as isize,
            Outcome::Waiting => return Some(NGX_DONE as ngx_int_t),
            Outcome::Failed => {
                finalize((*sess).s, NGX_STREAM_INTERNAL_SERVER_ERROR as isize);
                return None;
            }
            Outcome::Exited(code) => code,
        };
        if rc == NGX_ERROR as isize || rc > NGX_OK as isize {
            finalize((*sess).s, rc);
            return None;
        }
        Some(rc as ngx_int_t)
    }
}

/// The preread Lua code finished after waiting: run the phases again from this handler.
unsafe fn preread_done(sess: *mut Session, outcome: Outcome) {
    // SAFETY: sess is live unless preread_result finalized it.
    unsafe {
        let Some(rc) = preread_result(sess, outcome) else { return };
        (*sess).preread_rc = Some(rc);
        let s = (*sess).s;
        let c = (*s).connection;
        crate::api::abort::restore_read_handler(c);
        (*(*c).write).handler = Some(ngx_stream_session_handler);
        ngx_stream_core_run_phases(s);
    }
}

/// Moves the current handler behind the other preread handlers (once per worker, like
/// upstream). Returns true when it moved, so the caller lets the next handler run.
unsafe fn postpone_to_phase_end(s: *mut ngx_stream_session_t) -> bool {
    // SAFETY: the phase engine of the stream core module is a flat array; the current
    // handler and the preread group's end are inside it.
    unsafe {
        let cmcf = *(*s).main_conf.add(ngx_stream_core_module.ctx_index) as *mut ngx_stream_core_main_conf_t;
        let ph = (*cmcf).phase_engine.handlers;
        let cur = ph.add((*s).phase_handler as usize);
        let last = ph.add((*cur).next - 1);
        if cur >= last {
            return false;
        }
        let tmp = std::ptr::read(cur);
        std::ptr::copy(cur.add(1), cur, last.offset_from(cur) as usize);
        std::ptr::write(last, tmp);
        (*s).phase_handler -= 1; // the checker's ++ lands on the handler now at this index
        true
    }
}
