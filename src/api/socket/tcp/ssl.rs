//! TLS on TCP cosockets: `sslhandshake(reused_session?, server_name?, ssl_verify?,
//! send_status_req?)` through nginx's TLS layer (`sys::ssl_client`), with the server's
//! `lua_ssl_*` context (`ssl_ctx.rs`); the returned session userdata frees itself when
//! collected.

use std::ffi::c_int;
use std::ptr::NonNull;

use super::{cancel_wait, in_session, on_read_event, on_write_event, with_socket, with_this, Stage, TcpSocket};
use crate::api::socket::recv::or_default;
use crate::lua_calls;
use crate::ngx_callbacks;
use crate::runtime::handle::SessionRef;
use crate::runtime::session::Phase;
use crate::sys::conn_connect::PeerConn;
use crate::sys::registry::Key;
use crate::sys::ssl_client::{Handshake, SslSession};
use crate::sys::*;

lua_calls! {
    tcp_sslhandshake => sslhandshake_impl,
    ssl_session_gc => ssl_session_gc_impl,
}

/// Registers the metatable of session userdata.
pub fn inject(c: &mut Call) {
    c.register_gc(SESSION_METATABLE, ssl_session_gc);
}

const SESSION_METATABLE: &RegKey = &reg::SSL_SESSION_MT;

/// The Lua face of a TLS session: a userdata owning it.
struct Session(SslSession);

// SAFETY: userdata with the session metatable are made only by `push_session` (push_udata),
// and freed only by their __gc (take_udata).
unsafe impl LuaObject for Session {
    type Owner = Box<Session>;
    const UDATA_METATABLE: &'static RegKey = SESSION_METATABLE;
    const SLOT: c_int = 0;
}

fn ssl_session_gc_impl(c: &mut Call) -> LuaResult {
    if let Some(s) = c.take_udata::<Session>(1) {
        if !s.0.is_none() {
            cycle_debug_fmt(format_args!("stream lua ssl free session: {:p}", s.0.addr()));
        }
    }
    Ok(0)
}

/// Pushes a session to resume later (a userdata freed by the GC).
fn push_session(c: &mut Call, session: SslSession, log: Log) {
    if !session.is_none() {
        log.debug_fmt(format_args!("stream lua ssl save session: {:p}", session.addr()));
    }
    c.push_udata(Box::new(Session(session)));
}

/// The TLS context of the session's server (timers use the first server that has one).
fn ssl_ctx_of(sess: SessionRef) -> Option<NonNull<ngx_ssl_t>> {
    match sess.srv_conf() {
        Some(conf) => conf.ssl.ctx,
        None => NonNull::new(crate::conf::first_ssl_ctx()),
    }
}

/// What a finished handshake returns: a session (or true), or `nil, err`.
type Outcome = Result<Option<SslSession>, Vec<u8>>;

/// What a started handshake has the call do.
enum Started {
    Finished(Outcome),
    Wait,
}

/// `sslhandshake(reused_session?, server_name?, ssl_verify?, send_status_req?)`.
fn sslhandshake_impl(c: &mut Call) -> LuaResult {
    let n = c.top();
    if !(1..=5).contains(&n) {
        return err(format!("ngx.socket sslhandshake: expecting 1 ~ 5 arguments (including the object), but seen {n}"));
    }
    let sess = SessionRef::current(c)?;
    sess.check_phase(Phase::YIELDABLE)?;
    in_session(c, "sslhandshake")?;
    // a pooled TLS connection is done already: what it returns (no Lua runs to find out)
    let wants_session = match c.type_of(2) {
        t if t == mlua::ffi::LUA_TUSERDATA => false,
        LUA_TBOOLEAN => c.to_boolean(2),
        _ => true,
    };
    let state = with_this(c, "sslhandshake", |sock| {
        let conn = sock.peer.as_ref().map(PeerConn::conn_ref).ok_or(&b"closed"[..])?;
        if let Some(busy) = sock.busy() {
            return Err(busy);
        }
        let done = conn.tls_handshaked().then(|| wants_session.then(|| conn.tls_session()));
        sock.ssl_reuse = true;
        Ok((done, sock.logger()))
    })?;
    let log = match state {
        Err(msg) => return c.fail(msg),
        Ok((Some(done), log)) => {
            match done {
                Some(session) => push_session(c, session, log),
                None if c.type_of(2) == LUA_TBOOLEAN => c.push_bool(true),
                None => c.push_copy(2),
            }
            return Ok(1);
        }
        Ok((None, log)) => log,
    };
    // the connection is borrowed afresh for each step: reading the arguments between them may
    // run a collection (and __gc code)
    let started = with_this(c, "sslhandshake", |sock| {
        ssl_ctx_of(sess).is_some_and(|ctx| sock.conn().is_some_and(|conn| conn.tls_start(ctx)))
    })?;
    if !started {
        return c.fail(b"failed to create ssl connection");
    }
    let mut reuse = true;
    if n >= 2 {
        if c.type_of(2) == LUA_TBOOLEAN {
            reuse = c.to_boolean(2);
        } else {
            // with_udata only compares the userdata's metatable (nothing allocates, no Lua
            // runs), so this copy is still the socket's connection while it is used
            let conn = with_this(c, "sslhandshake", |sock| sock.conn().map(|conn| *conn))?;
            let set = c.with_udata::<Session, _>(2, |s| {
                (!s.0.is_none()).then(|| (conn.is_some_and(|conn| conn.tls_set_session(&s.0)), s.0.addr()))
            });
            match set.flatten() {
                Some((false, _)) => return c.fail(b"lua ssl set session failed"),
                Some((true, at)) => log.debug_fmt(format_args!("stream lua ssl set session: {at:p}")),
                None => {}
            }
        }
    }
    let mut name = Vec::new();
    if n >= 3 && matches!(c.type_of(3), LUA_TSTRING | LUA_TNUMBER) {
        let given = c.to_bytes(3).unwrap_or_default().to_vec();
        log.debug_fmt(format_args!("stream lua ssl server name: \"{}\"", String::from_utf8_lossy(&given)));
        if !with_this(c, "sslhandshake", |sock| sock.conn().is_some_and(|conn| conn.tls_set_server_name(&given)))? {
            return c.fail(b"SSL_set_tlsext_host_name failed");
        }
        name = given;
    }
    let verify = n >= 4 && c.to_boolean(4);
    with_this(c, "sslhandshake", |sock| {
        sock.ssl_reuse = reuse;
        sock.ssl_verify = verify;
        sock.ssl_name = name;
    })?;
    if n >= 5 && c.to_boolean(5) {
        return err("no OCSP support");
    }
    let yieldable = c.ensure_yieldable();
    let started = with_this(c, "sslhandshake", |sock| {
        let Some(conn) = sock.peer.as_ref().map(PeerConn::conn_ref) else {
            return Ok(Started::Finished(Err(b"closed".to_vec())));
        };
        match conn.tls_handshake() {
            Handshake::Done => Ok(Started::Finished(handshake_result(sock))),
            Handshake::Again => {
                yieldable?;
                conn.tls_wait(or_default(sock.connect_timeout, sock.conf.connect_timeout()), on_handshake);
                sock.stage = Stage::Handshake;
                let key = sock.key;
                sock.connector.park_with(sess, move |t| cancel_wait(key, t.key));
                Ok(Started::Wait)
            }
        }
    })??;
    match started {
        Started::Finished(out) => Ok(push_outcome(c, out, log)),
        Started::Wait => yield_values(0),
    }
}

/// Pushes what a finished handshake returns; how many values.
fn push_outcome(c: &mut Call, out: Outcome, log: Log) -> c_int {
    match out {
        Ok(Some(session)) => {
            push_session(c, session, log);
            1
        }
        Ok(None) => {
            c.push_bool(true);
            1
        }
        Err(msg) => {
            c.push_nil();
            c.push_bytes(&msg);
            2
        }
    }
}

/// The outcome of a finished handshake; a failed one closes the connection.
fn handshake_result(sock: &mut TcpSocket) -> Outcome {
    let Some(conn) = sock.conn() else { return Err(b"closed".to_vec()) };
    let failure: Option<Vec<u8>> = if conn.timed_out(Dir::Read) {
        Some(b"timeout".to_vec())
    } else if !conn.tls_handshaked() {
        Some(b"handshake failed".to_vec())
    } else if !sock.ssl_verify {
        None
    } else if let Err((rc, why)) = conn.tls_verify_result() {
        let e = format!("{rc}: {why}");
        if sock.conf.log_errors() {
            let msg = format!("stream lua ssl certificate verify error: ({e})");
            sock.logger().error(NGX_LOG_ERR, 0, msg.as_bytes());
        }
        Some(e.into_bytes())
    } else if !sock.ssl_name.is_empty() && !conn.tls_check_host(&sock.ssl_name) {
        if sock.conf.log_errors() {
            let msg = format!(
                "stream lua ssl certificate does not match host \"{}\"",
                String::from_utf8_lossy(&sock.ssl_name)
            );
            sock.logger().error(NGX_LOG_ERR, 0, msg.as_bytes());
        }
        Some(b"certificate host mismatch".to_vec())
    } else {
        None
    };
    conn.clear_timer(Dir::Read);
    if let Some(msg) = failure {
        sock.close_connection();
        return Err(msg);
    }
    Ok(sock.ssl_reuse.then(|| conn.tls_session()))
}

/// A handshake that waited is over: the socket's connector wakes with its outcome.
fn handshake_over(sock: &mut TcpSocket) -> Option<(crate::runtime::waiter::Parked, Outcome, Log)> {
    if !matches!(sock.stage, Stage::Handshake) || sock.sess.is_none() {
        return None;
    }
    sock.stage = Stage::None;
    let t = sock.connector.take()?;
    let log = sock.logger();
    Some((t, handshake_result(sock), log))
}

ngx_callbacks! {
    /// nginx's TLS layer finished (or failed, or timed out) a handshake that had to wait: the
    /// socket's live connection, whose `c->data` is the socket's key (attached by connect).
    fn on_handshake(conn: Conn) [()] {
        conn.set_handlers(on_read_event, on_write_event);
        // (the borrow ends before Lua runs)
        let woken = with_socket(Key::from_data(conn.data()), handshake_over).flatten();
        if let Some((t, out, log)) = woken {
            t.resume(|co| push_outcome(co, out, log));
        }
    }
}
