//! `lua_check_client_abort` and `ngx.on_abort`: while Lua runs for a session, the client's
//! read event is watched; a client that closes its side ends the session, or, when Lua
//! registered a callback with `ngx.on_abort`, starts that callback as a light thread.

use crate::lua_calls;
use crate::ngx_callbacks;
use crate::runtime::downstream::ignore_event;
use crate::runtime::handle::SessionRef;
use crate::runtime::live::LiveSession;
use crate::runtime::scheduler::wake_thread;
use crate::runtime::session::Session;
use crate::runtime::thread::{with_thread, Status, Thread, ThreadKey};
use crate::sys::*;

lua_calls! { on_abort => on_abort_impl }

/// What the client's read event does while no read is pending: watch for an abort when
/// `lua_check_client_abort` is on, nothing otherwise.
pub fn watch_client(s: &Session) {
    let Some(conn) = s.downstream() else { return };
    if conn.is_closing() {
        // the connection is closing (the session is being freed)
        return;
    }
    if s.server_conf().is_some_and(|conf| conf.check_client_abort.unwrap_or(false)) {
        conn.set_handler(Dir::Read, Some(check_abort));
        if !conn.rearm(Dir::Read) {
            s.logger().error(NGX_LOG_ERR, 0, b"failed to watch the client for aborts");
        }
        if conn.ready_or_eof(Dir::Read) {
            // data or an EOF may already be there (a read that just met the client's
            // close leaves `eof` set and no further edge-triggered event will come)
            conn.post(Dir::Read);
        }
    } else {
        conn.set_handler(Dir::Read, Some(ignore_event));
    }
}

/// While Lua runs, client read events only watch for an abort (`lua_check_client_abort`).
pub fn idle_read_handler(sess: &LiveSession) {
    sess.with(|s| watch_client(s))
}

/// nginx's own read handler comes back (the phases read again).
pub fn restore_session_read_handler(sess: &LiveSession) {
    if let Some(conn) = sess.with(|s| s.downstream()) {
        restore_read_handler(conn);
    }
}

/// The preread Lua is done: nginx's own read handler comes back, and an abort check posted
/// meanwhile must not run it (that would re-run the phases).
pub fn restore_read_handler(conn: Conn) {
    conn.unpost(Dir::Read);
    conn.set_handler(Dir::Read, Some(ngx_stream_session_handler));
}

ngx_callbacks! {
    fn check_abort(ev: ClientEvent) [()] {
        if let Some(t) = client_gone(ev.conn, LiveSession::of(ev.stream).ok()) {
            wake_thread(t, |_| 0);
        }
    }
}

/// The client's read event while Lua runs: a client that closed its side starts the
/// `ngx.on_abort` thread (returned, to be woken) or ends the session.
fn client_gone(conn: Conn, sess: Option<LiveSession>) -> Option<ThreadKey> {
    let errno = match conn.peek_byte() {
        Ok(true) => return None,
        Err(libc::EAGAIN) => return None,
        Ok(false) => 0,
        Err(errno) => errno,
    };
    conn.set_eof(Dir::Read);
    conn.set_handler(Dir::Read, Some(ignore_event));
    if let Some(log) = conn.log() {
        log.error(NGX_LOG_INFO, errno, b"stream client prematurely closed connection");
    }
    let sess = sess?;
    let on_abort = sess.with(|s| s.rare().and_then(|r| r.on_abort)).filter(|&t| {
        let start = |thread: &mut Thread| {
            let suspended = thread.status == Status::Suspended;
            if suspended {
                thread.status = Status::Running;
            }
            suspended
        };
        with_thread(t, start) == Some(true)
    });
    if let Some(t) = on_abort {
        if let Some(log) = conn.log() {
            log.debug("lua waking up the on_abort callback thread");
        }
        return Some(t);
    }
    conn.set_error();
    sess.cancel_wait();
    sess.finalize(NGX_ERROR as isize);
    None
}

fn on_abort_impl(c: &mut Call) -> LuaResult {
    let sess = SessionRef::current(c)?;
    let Some(conf) = sess.srv_conf() else {
        // a session-less context (timer, init_worker): upstream's fake-request check
        return err(format!("API disabled in the context of {}", sess.phase().directive_name()));
    };
    if sess.with(|s| s.rare().is_some_and(|r| r.on_abort.is_some())) {
        return c.fail(b"duplicate call");
    }
    if !conf.check_client_abort.unwrap_or(false) {
        return c.fail(b"lua_check_client_abort is off");
    }
    if c.type_of(1) != LUA_TFUNCTION {
        return c.arg_error(1, "on_abort", "Lua function expected");
    }
    let co = c.new_coroutine(1, 1);
    sess.with(|s| {
        let t = s.add_thread_key(co, true, s.current);
        s.rare_mut().on_abort = Some(t);
        s.threads.last_mut().expect("just added").status = Status::Suspended;
    });
    c.push_int(1);
    Ok(1)
}
