//! Output to the downstream connection: `ngx.say`'s and cosocket sends' pool buffers,
//! recycled per session, the stream filter chain, and the end of a Lua-driven session
//! (`finalize`, which lets buffered output drain first).

use crate::runtime::live::LiveSession;
use crate::runtime::session::Session;
use crate::sys::stream::StreamSession;
use crate::sys::*;

use crate::sys::downstream::OutChains;

impl Session {
    /// The downstream connection (none for a session-less context: a timer's).
    pub fn downstream(&self) -> Option<Conn> {
        self.stream().map(|s| s.client_conn())
    }

    /// Sends on what nginx holds for the client (its filters' buffered output).
    pub fn flush_held(&mut self) -> isize {
        self.stream().map_or(NGX_ERROR as isize, |s| s.flush_output())
    }
}

/// Sends `data` to the client, copying it into a recycled (or new) pool buffer (an error for
/// a session-less context, which has no client).
pub fn write(sess: &mut Session, data: &[u8]) -> isize {
    let (mut free, mut busy) = (std::mem::take(&mut sess.out_free), std::mem::take(&mut sess.out_busy));
    let rc = sess
        .stream()
        .map_or(NGX_ERROR as isize, |s| s.send_output(data, OutChains { free: &mut free, busy: &mut busy }));
    (sess.out_free, sess.out_busy) = (free, busy);
    rc
}

/// The session whose downstream connection `ev` is an event of (none when Lua never ran for
/// it), for the nginx callbacks of that connection.
///
/// # Safety
/// `ev` is a read or write event of a live stream session's connection.
pub unsafe fn event_session(ev: *mut ngx_event_t) -> Option<LiveSession> {
    // SAFETY: the caller's contract: ev->data is the connection, c->data its stream session,
    // whose context stays live for this callback.
    unsafe {
        let c = Conn::of_event(ev)?;
        LiveSession::from_raw(Session::of(c.data() as *mut ngx_stream_session_t)?)
    }
}

/// Ends the session with `rc` once buffered output has reached the client, following
/// upstream: errors close at once, `ngx.DONE` leaves the session to its owner.
///
/// # Safety
/// `s` is a live stream session, not used by the caller afterwards (it may be freed).
pub unsafe fn finalize(s: *mut ngx_stream_session_t, rc: isize) {
    // SAFETY: the caller's contract; the session's Lua context, when set, stays until the
    // session is finalized.
    if let Some((timeout, s)) = unsafe { StreamSession::from_raw(s).map(|s| (send_timeout(&s), s)) } {
        end_session(s, rc, timeout);
    }
}

fn end_session(s: StreamSession, rc: isize, timeout: ngx_msec_t) {
    let conn = s.conn();
    conn.log().expect("a connection log").debug_fmt(format_args!("finalize stream request: {rc}"));
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
    if rc != NGX_DECLINED as isize && rc != NGX_STREAM_INTERNAL_SERVER_ERROR as isize && conn.buffered() {
        s.store_status(rc as ngx_uint_t);
        // the session is over for Lua: client read events no longer matter
        conn.set_handler(Dir::Read, Some(ignore_event));
        conn.set_handler(Dir::Write, Some(flush_then_finalize));
        if !conn.is_delayed(Dir::Write) {
            conn.add_timer(Dir::Write, timeout);
        }
        if conn.rearm(Dir::Write) {
            return;
        }
        rc = NGX_STREAM_INTERNAL_SERVER_ERROR as isize;
    }
    s.finalize_session(rc as ngx_uint_t);
}

/// A read or write handler for events that no longer matter.
pub unsafe extern "C" fn ignore_event(_ev: *mut ngx_event_t) {}

/// Write handler while the last output drains; the status waits in `s->status`.
unsafe extern "C" fn flush_then_finalize(wev: *mut ngx_event_t) {
    guard((), || {
        // SAFETY: wev is the write event of a live session's connection (c->data = s), whose
        // Lua context, when set, stays until the session is finalized.
        let s = unsafe {
            Conn::of_event(wev).and_then(|c| StreamSession::from_raw(c.data() as _)).map(|s| (send_timeout(&s), s))
        };
        if let Some((timeout, s)) = s {
            drain(s, timeout);
        }
    })
}

fn drain(s: StreamSession, timeout: ngx_msec_t) {
    let conn = s.conn();
    if conn.take_timedout(Dir::Write) {
        if let Some(log) = conn.log() {
            log.error(NGX_LOG_INFO, libc::ETIMEDOUT, b"client timed out");
        }
        conn.set_timedout();
        s.finalize_session(NGX_STREAM_INTERNAL_SERVER_ERROR as ngx_uint_t);
        return;
    }
    if s.flush_held() == NGX_ERROR as isize {
        s.finalize_session(NGX_STREAM_INTERNAL_SERVER_ERROR as ngx_uint_t);
        return;
    }
    if conn.buffered() {
        if !conn.is_delayed(Dir::Write) {
            conn.add_timer(Dir::Write, timeout);
        }
        if !conn.rearm(Dir::Write) {
            s.finalize_session(NGX_STREAM_INTERNAL_SERVER_ERROR as ngx_uint_t);
        }
        return;
    }
    conn.clear_timer(Dir::Write);
    let status = s.stored_status();
    s.finalize_session(status);
}

/// How long the last output may take to drain: the session's `lua_socket_send_timeout`.
///
/// # Safety
/// The session's Lua context, when set, is live.
unsafe fn send_timeout(s: &StreamSession) -> ngx_msec_t {
    // SAFETY: the caller's contract.
    unsafe { Session::of(s.as_ptr()).map_or(60_000, |sess| (*sess).send_timeout) }
}
