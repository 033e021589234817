//! Output to the downstream connection: `ngx.say`'s and cosocket sends' pool buffers,
//! recycled per session, the stream filter chain, and the end of a Lua-driven session
//! (`finalize`, which lets buffered output drain first).

use crate::ngx_callbacks;
use crate::runtime::live::LiveSession;
use crate::runtime::session::Session;
use crate::sys::stream::StreamSession;
use crate::sys::*;

use crate::sys::downstream::{ChainList, OutChains};
use crate::sys::stream::StreamInfo;

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

/// The largest first output that is deferred (larger ones leave at once).
const DEFER_MAX: usize = 16 * 1024;

/// Sends `data` to the client, copying it into a recycled (or new) pool buffer (an error for
/// a session-less context, which has no client).
///
/// The session's first output (up to `DEFER_MAX` bytes) is deferred until the Lua code waits,
/// flushes, writes again or ends: a session that answers and ends then sends its answer with
/// the FIN, in one segment (`finalize`), not two. Anything written later goes out at once,
/// after the deferred output, one write per call like upstream's: a write that makes the peer
/// reset the connection still fails the next one, as it does for the C module.
pub fn write(sess: &mut Session, data: &[u8]) -> isize {
    let defer = !sess.output_started && data.len() <= DEFER_MAX;
    sess.output_started = true;
    with_lists(sess, |s, bufs, first| {
        if defer {
            return if s.fill_output(data, bufs.free, first) { NGX_OK as isize } else { NGX_ERROR as isize };
        }
        let rc = s.send_filled(OutChains { free: bufs.free, busy: bufs.busy }, first);
        if rc == NGX_ERROR as isize {
            return rc;
        }
        s.send_output(data, bufs)
    })
}

/// Sends the deferred first output on (see `write`), if any; an nginx rc.
pub fn send_deferred(sess: &mut Session) -> isize {
    if sess.out_deferred.is_empty() {
        return NGX_OK as isize;
    }
    with_lists(sess, |s, bufs, first| s.send_filled(bufs, first))
}

/// Runs `f` with the session's stream and its output lists (taken out of the session
/// meanwhile); an error for a session-less context, which has no client.
fn with_lists(sess: &mut Session, f: impl FnOnce(StreamInfo, OutChains, &mut ChainList) -> isize) -> isize {
    let mut free = std::mem::take(&mut sess.out_free);
    let mut busy = std::mem::take(&mut sess.out_busy);
    let mut first = std::mem::take(&mut sess.out_deferred);
    let rc =
        sess.stream().map_or(NGX_ERROR as isize, |s| f(s, OutChains { free: &mut free, busy: &mut busy }, &mut first));
    (sess.out_free, sess.out_busy, sess.out_deferred) = (free, busy, first);
    rc
}

/// Ends the session with `rc` once buffered output has reached the client, following
/// upstream: errors close at once, `ngx.DONE` leaves the session to its owner. The session
/// may be freed: the handle is consumed.
pub fn finalize(s: StreamSession, rc: isize) {
    let timeout = send_timeout(&s);
    if let Some(sess) = LiveSession::of_ref(&s) {
        if sess.with(|x| !x.out_deferred.is_empty()) {
            // the connection closes next (unless the session is left to its owner): the deferred
            // output leaves with the FIN
            if rc != NGX_DONE as isize && s.conn().cork_for_close() {
                sess.view().log().debug("stream lua tcp_nopush: the first output leaves with the close");
            }
            sess.with(send_deferred);
        }
    }
    end_session(s, rc, timeout);
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

ngx_callbacks! {
    /// A read or write handler for events that no longer matter.
    pub fn ignore_event(_ev: *mut ngx_event_t) [()] {}

    /// Write handler while the last output drains; the status waits in `s->status`.
    fn flush_then_finalize(ev: ClientEvent) [()] {
        let timeout = send_timeout(&ev.stream);
        drain(ev.stream, timeout);
    }
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
fn send_timeout(s: &StreamSession) -> ngx_msec_t {
    LiveSession::of_ref(s).map_or(60_000, |sess| sess.with(|x| x.send_timeout))
}
