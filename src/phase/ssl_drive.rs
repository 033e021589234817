//! Our TLS handshake driver (the design is `ssl_cert.rs`'s doc): a handler of the stream SSL
//! phase that runs before nginx's, sets TLS up as nginx would, steps `SSL_do_handshake`
//! itself so the TLS hooks can wait (`WantCertCb`/`WantClientHelloCb`), and hands the
//! finished handshake to nginx, whose own handler then does its client-certificate checks.

use crate::ngx_callbacks;
use crate::runtime::live::LiveSession;
use crate::sys::openssl::HandshakeStep;
use crate::sys::ssl_drive::{HandshakeConn, HandshakeEvent, TlsState};
use crate::sys::stream::StreamSession;
use crate::sys::*;

ngx_callbacks! {
    /// Pushed into `NGX_STREAM_SSL_PHASE` when some server has a TLS hook.
    pub fn ssl_phase_handler(s: StreamSession) -> ngx_int_t [NGX_ERROR as ngx_int_t] {
        ssl_phase(s)
    }
}

fn ssl_phase(s: StreamSession) -> ngx_int_t {
    let Some(hc) = HandshakeConn::of(&s) else { return NGX_DECLINED as ngx_int_t };
    if !hc.tls_listen() || !hc.server_has_tls() {
        // nginx's handler passes plain sessions and reports a TLS address without TLS
        return NGX_DECLINED as ngx_int_t;
    }
    match hc.tls_state() {
        TlsState::None => {}
        // the phases ran again while we drive: the handshake's events bring it on
        TlsState::Handshaking { driven: true } => return NGX_AGAIN as ngx_int_t,
        // done (nginx's handler checks client certificates), or not ours
        TlsState::Handshaking { driven: false } | TlsState::Handshaked => return NGX_DECLINED as ngx_int_t,
    }
    s.log().debug("stream lua ssl: driving the handshake");
    if hc.start().is_err() {
        return NGX_ERROR as ngx_int_t;
    }
    match drive(hc) {
        Driven::Again => NGX_AGAIN as ngx_int_t,
        Driven::Handshaked => NGX_DECLINED as ngx_int_t,
        Driven::Failed => NGX_ERROR as ngx_int_t,
    }
}

enum Driven {
    Again,
    Handshaked,
    Failed,
}

/// Steps the handshake as far as it goes now.
fn drive(hc: HandshakeConn) -> Driven {
    let Some(ssl) = hc.ssl() else { return Driven::Failed };
    let io = |want_write| if hc.wait_io(want_write, io_handler).is_ok() { Driven::Again } else { Driven::Failed };
    match ssl.handshake_step() {
        HandshakeStep::Done => match hc.hand_over(handshake_done) {
            rc if rc == NGX_OK as ngx_int_t => {
                hc.stop_timer();
                Driven::Handshaked
            }
            rc if rc == NGX_AGAIN as ngx_int_t => Driven::Again,
            _ => Driven::Failed,
        },
        HandshakeStep::WantRead => io(false),
        HandshakeStep::WantWrite => io(true),
        HandshakeStep::WantCertCb | HandshakeStep::WantClientHelloCb => {
            hc.park(parked_handler);
            Driven::Again
        }
        HandshakeStep::Failed(sslerr, errno) => {
            hc.log_failure(sslerr, errno);
            Driven::Failed
        }
    }
}

/// Ends the session (its Lua context's cleanup ends a waiting hook).
fn finalize(s: StreamSession, rc: u32) {
    match LiveSession::of(s) {
        Ok(sess) => sess.finalize(rc as isize),
        Err(s) => s.finalize_session(rc as ngx_uint_t),
    }
}

ngx_callbacks! {
    /// The socket is ready (or the hook is done and posted us): step on.
    fn io_handler(ev: HandshakeEvent) [()] {
        on_io(ev.hc, ev.timedout)
    }
}

fn on_io(hc: HandshakeConn, timedout: bool) {
    if timedout {
        // as nginx's handshake handler: a handshake that is not done ends the session
        finalize(hc.session(), NGX_STREAM_INTERNAL_SERVER_ERROR);
        return;
    }
    if hc.handshaked() {
        // an event after the hand-over, before the next phase set its own handlers
        return;
    }
    match drive(hc) {
        Driven::Again => {}
        Driven::Handshaked => hc.session().run_phases(),
        Driven::Failed => finalize(hc.session(), NGX_STREAM_INTERNAL_SERVER_ERROR),
    }
}

ngx_callbacks! {
    /// A hook waits: the socket's events wait too (OpenSSL reads the bytes when the handshake
    /// goes on); only the handshake timer ends the session.
    fn parked_handler(ev: HandshakeEvent) [()] {
        if ev.timedout {
            ev.hc.session().log().debug("stream lua ssl: handshake timed out while a hook waits");
            finalize(ev.hc.session(), NGX_STREAM_INTERNAL_SERVER_ERROR);
        }
    }
}

ngx_callbacks! {
    /// nginx finished a handshake we handed over with `NGX_AGAIN` (`c->ssl->handler`), as
    /// `ngx_stream_ssl_handshake_handler` does.
    fn handshake_done(hc: HandshakeConn) [()] {
        if !hc.handshaked() {
            finalize(hc.session(), NGX_STREAM_INTERNAL_SERVER_ERROR);
            return;
        }
        hc.stop_timer();
        hc.session().run_phases();
    }
}

/// A waiting hook is done: the handshake steps on from the posted events.
pub fn step_later(hc: HandshakeConn) {
    hc.post_step(io_handler);
}
