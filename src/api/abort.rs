//! `lua_check_client_abort` and `ngx.on_abort`: while Lua runs for a session, the client's
//! read event is watched; a client that closes its side ends the session, or, when Lua
//! registered a callback with `ngx.on_abort`, starts that callback as a light thread.

use std::ffi::c_void;

use crate::conf::srv_conf_of;
use crate::lua_calls;
use crate::runtime::downstream::ignore_event;
use crate::runtime::handle::SessionRef;
use crate::runtime::scheduler::wake_thread;
use crate::runtime::session::Session;
use crate::runtime::thread::{with_thread, Status, Thread};
use crate::sys::*;

lua_calls! { on_abort => on_abort_impl }

/// What the client's read event does while no read is pending: watch for an abort when
/// `lua_check_client_abort` is on, nothing otherwise.
pub unsafe fn idle_read_handler(sess: *mut Session) {
    // SAFETY: sess has a live connection.
    unsafe {
        let c = (*sess).connection();
        if (*c).fd == -1 {
            // the connection is closing (the session is being freed)
            return;
        }
        let rev = (*c).read;
        if srv_conf_of((*sess).s).check_client_abort.unwrap_or(false) {
            (*rev).handler = Some(check_abort);
            if ngx_handle_read_event(rev, 0) != NGX_OK as isize {
                log_error(NGX_LOG_ERR, (*c).log, 0, b"failed to watch the client for aborts");
            }
            if (*rev).ready() != 0 || (*rev).eof() != 0 {
                // data or an EOF may already be there (a read that just met the client's
                // close leaves `eof` set and no further edge-triggered event will come)
                ngx_post_event(rev, std::ptr::addr_of_mut!(ngx_posted_events));
            }
        } else {
            (*rev).handler = Some(ignore_event);
        }
    }
}

/// The preread Lua is done: nginx's own read handler comes back, and an abort check posted
/// meanwhile must not run it (that would re-run the phases).
pub unsafe fn restore_read_handler(c: *mut ngx_connection_t) {
    // SAFETY: c is a live connection.
    unsafe {
        let rev = (*c).read;
        if (*rev).posted() != 0 {
            ngx_delete_posted_event(rev);
        }
        (*rev).handler = Some(ngx_stream_session_handler);
    }
}

unsafe extern "C" fn check_abort(rev: *mut ngx_event_t) {
    guard((), || {
        // SAFETY: rev belongs to a live session's connection (rev->data = c, c->data = s).
        unsafe {
            let c = (*rev).data as *mut ngx_connection_t;
            let s = (*c).data as *mut ngx_stream_session_t;
            let mut byte = 0u8;
            let n = libc::recv((*c).fd, &mut byte as *mut u8 as *mut c_void, 1, libc::MSG_PEEK);
            let errno = std::io::Error::last_os_error().raw_os_error().unwrap_or(0);
            if n > 0 || (n == -1 && errno == libc::EAGAIN) {
                return;
            }
            (*rev).set_eof(1);
            (*rev).handler = Some(ignore_event);
            log_error(
                NGX_LOG_INFO,
                (*c).log,
                if n == 0 { 0 } else { errno },
                b"stream client prematurely closed connection",
            );
            let Some(sess) = Session::of(s) else { return };
            if let Some(t) = (*sess).on_abort {
                let start = |t: &mut Thread| {
                    let suspended = t.status == Status::Suspended;
                    if suspended {
                        t.status = Status::Running;
                    }
                    suspended
                };
                if with_thread(t, start) == Some(true) {
                    log_debug((*c).log, "lua waking up the on_abort callback thread");
                    wake_thread(t, |_| 0);
                    return;
                }
            }
            (*c).set_error(1);
            (*sess).cancel_wait();
            crate::runtime::downstream::finalize(s, NGX_ERROR as isize);
        }
    })
}

fn on_abort_impl(c: &mut Call) -> LuaResult {
    let sess = SessionRef::current(c)?;
    let Some(conf) = sess.srv_conf() else {
        // a session-less context (timer, init_worker): upstream's fake-request check
        return err(format!("API disabled in the context of {}", sess.phase().directive_name()));
    };
    if sess.with(|s| s.on_abort.is_some()) {
        return c.fail(b"duplicate call");
    }
    if !conf.check_client_abort.unwrap_or(false) {
        return c.fail(b"lua_check_client_abort is off");
    }
    if c.type_of(1) != LUA_TFUNCTION {
        return c.arg_error(1, "on_abort", "Lua function expected");
    }
    let (co, co_ref) = c.new_coroutine(1, 1);
    sess.with(|s| {
        s.on_abort = Some(s.add_thread_key(co, co_ref, true, s.cur));
        s.threads.last_mut().expect("just added").status = Status::Suspended;
    });
    c.push_int(1);
    Ok(1)
}
