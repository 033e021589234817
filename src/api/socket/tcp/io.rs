//! `receive`, `receiveany`, `receiveuntil` and `send`.

use super::*;

use crate::api::socket::out::send_data_into;
use crate::api::spare::Spare;
use crate::sys::conn_connect::core_srv_conf;

/// What a receive started on the socket (inside its borrow) has the call return.
pub(super) enum Outcome {
    Read(Read),
    Fail(&'static [u8]),
    Bytes(&'static [u8]),
    Wait,
    Err(LuaError),
}

/// Returns `out` from the Lua call.
pub(super) fn finish(c: &mut Call, out: Outcome) -> LuaResult {
    match out {
        Outcome::Read(r) => Ok(push_read(c, r)),
        Outcome::Fail(msg) => c.fail(msg),
        Outcome::Bytes(b) => {
            c.push_bytes(b);
            Ok(1)
        }
        Outcome::Wait => yield_values(0),
        Outcome::Err(e) => Err(e),
    }
}

/// The running session, which the socket of `self` must belong to (or to none yet).
pub(crate) fn in_session<'c>(c: &mut Call<'c>, fname: &'static str) -> Result<SessionRef<'c>, LuaError> {
    with_this_in_session(c, fname, |sess, _| sess)
}

/// `in_session`, then `f` with the session and the socket, in one look-up of the object (`f`
/// runs only when the checks passed, as if it ran after them).
pub(crate) fn with_this_in_session<'c, R>(
    c: &mut Call<'c>,
    fname: &'static str,
    f: impl FnOnce(SessionRef<'c>, &mut TcpSocket) -> R,
) -> Result<R, LuaError> {
    let sess = SessionRef::current(c);
    with_this(c, fname, |sock| {
        let sess = sess?;
        if sock.live_owner().is_some_and(|key| key != sess.with(|s| s.key)) {
            return err("bad request");
        }
        Ok(f(sess, sock))
    })?
}

/// Starts a read of `pat`; the reader waits (in `sess`'s running thread) when no data is there
/// yet, if it can yield (`yieldable`).
pub(super) fn start_read(
    sess: SessionRef,
    sock: &mut TcpSocket,
    pat: Pattern,
    yieldable: Result<(), LuaError>,
) -> Outcome {
    if !sock.connected() || sock.recv.read_closed {
        sock.log_closed("stream attempt to receive");
        return Outcome::Fail(b"closed");
    }
    if let Some(busy) = sock.busy().filter(|b| *b != b"socket busy writing") {
        return Outcome::Fail(busy);
    }
    let c = sock.peer.as_ref().map(PeerConn::conn_ref).expect("a connected socket");
    match sock.recv.read(*c, pat) {
        Read::Again => {}
        r => return Outcome::Read(after_read_error(sock, r)),
    }
    if let Err(e) = yieldable {
        return Outcome::Err(e);
    }
    let timeout = or_default(sock.read_timeout, sock.conf.read_timeout());
    let log = sock.logger();
    log.debug_fmt(format_args!("stream lua tcp socket read timeout: {timeout}"));
    if !sock.conn().is_some_and(|c| c.wait(Dir::Read, timeout)) {
        return Outcome::Fail(b"failed to add event");
    }
    sock.waiting_read = Some(pat);
    let key = sock.key;
    sock.reader.park_with_fn(sess, cancel_thread_wait, key.raw());
    Outcome::Wait
}

/// A failed read (but a timeout) ends the socket's reading; once both directions are done
/// the connection goes, as upstream finalizes it.
pub(super) fn after_read_error(sock: &mut TcpSocket, r: Read) -> Read {
    if let Read::Failed(e, _) = &r {
        if e != "timeout" {
            sock.recv.read_closed = true;
        }
    }
    r
}

/// The read event of a socket whose reader waits: the read goes on, or ends and wakes it.
pub(super) fn read_ready(sock: &mut TcpSocket) -> Option<Woken> {
    let c = sock.peer.as_ref().map(PeerConn::conn_ref)?;
    let pat = sock.waiting_read?;
    let r = if c.take_timedout(Dir::Read) {
        if sock.conf.log_errors() {
            sock.logger().error(NGX_LOG_ERR, 0, b"stream lua tcp socket read timed out");
        }
        sock.recv.fail(pat, "timeout".into())
    } else {
        match sock.recv.read(*c, pat) {
            Read::Again => {
                if c.rearm(Dir::Read) {
                    return None;
                }
                sock.recv.fail(pat, "failed to add event".into())
            }
            r => r,
        }
    };
    c.clear_timer(Dir::Read);
    let r = after_read_error(sock, r);
    sock.waiting_read = None;
    Some(Woken::Read(sock.reader.take()?, r))
}

pub(super) fn receive_impl(c: &mut Call) -> LuaResult {
    let n = c.top();
    if n != 1 && n != 2 {
        return err(format!("expecting 1 or 2 arguments (including the object), but got {n}"));
    }
    let sess = in_session(c, "receive")?;
    let pat = receive_pattern(c, n)?;
    let yieldable = c.ensure_yieldable();
    let out = with_this(c, "receive", |sock| match pat {
        Some(pat) => start_read(sess, sock, pat, yieldable),
        None if !sock.connected() || sock.recv.read_closed => {
            sock.log_closed("stream attempt to receive");
            Outcome::Fail(b"closed")
        }
        None => Outcome::Bytes(b""),
    })?;
    finish(c, out)
}

pub(super) fn receiveany_impl(c: &mut Call) -> LuaResult {
    let n = c.top();
    if n != 2 {
        return err(format!("expecting 2 arguments (including the object), but got {n}"));
    }
    let sess = in_session(c, "receiveany")?;
    let closed = with_this(c, "receiveany", |sock| {
        let closed = !sock.connected() || sock.recv.read_closed;
        if closed {
            sock.log_closed("attempt to receive");
        }
        closed
    })?;
    if closed {
        return c.fail(b"closed");
    }
    let max = receiveany_max(c)?;
    let yieldable = c.ensure_yieldable();
    let out = with_this(c, "receiveany", |sock| {
        let log = sock.logger();
        log.debug_fmt(format_args!("stream lua tcp socket calling receiveany() method to read at most {max} bytes"));
        log.debug("stream lua tcp socket read any");
        start_read(sess, sock, Pattern::Any(max), yieldable)
    })?;
    finish(c, out)
}

pub(super) fn receiveuntil_impl(c: &mut Call) -> LuaResult {
    let (pattern, inclusive) = match until_args(c)? {
        Ok(args) => args,
        Err(nret) => return Ok(nret),
    };
    let idx = with_this(c, "receiveuntil", |sock| sock.recv.add_until(pattern, inclusive))?;
    push_until_iterator(c, idx, tcp_until_iterator);
    Ok(1)
}

pub(super) fn until_iterator_impl(c: &mut Call) -> LuaResult {
    let (idx, size) = until_iterator_args(c)?;
    let sess = in_session(c, "iterator")?;
    let yieldable = c.ensure_yieldable();
    let out = with_this(c, "iterator", |sock| start_read(sess, sock, Pattern::Until(idx, size), yieldable))?;
    c.set_top(0);
    finish(c, out)
}

// ---------------------------------------------------------------------------------------
// send

/// Sends what is left of `sock.out`: Ok(true) when all went, Ok(false) to wait, Err(errno).
pub(super) fn send_some(sock: &mut TcpSocket) -> Result<bool, i32> {
    let c = sock.peer.as_ref().map(PeerConn::conn_ref).expect("a connected socket");
    while !sock.out.pending().is_empty() {
        match c.send(sock.out.pending()) {
            Io::Done(n) => sock.out.advance(n),
            Io::Again => return Ok(false),
            Io::Err(errno) => return Err(errno),
            Io::Eof => return Err(0),
        }
    }
    Ok(true)
}

pub(super) fn send_impl(c: &mut Call) -> LuaResult {
    let n = c.top();
    if n != 2 {
        return err(format!("expecting 2 arguments (including the object), but got {n}"));
    }
    let (sess, blocked) = with_this_in_session(c, "send", |sess, sock| {
        if !sock.connected() || sock.write_closed {
            sock.log_closed("attempt to send");
            return (sess, Some(&b"closed"[..]));
        }
        (sess, sock.busy().filter(|b| *b != b"socket busy reading"))
    })?;
    if let Some(msg) = blocked {
        return c.fail(msg);
    }
    // a string goes from Lua's copy straight into the session's pool buffer; other values
    // are gathered in a spare vector first
    let gathered = if c.type_of(2) == LUA_TSTRING {
        None
    } else {
        let mut data = Spare::take();
        send_data_into(c, 2, &mut data)?;
        Some(data)
    };
    let empty = match &gathered {
        Some(data) => data.is_empty(),
        None => c.to_bytes(2).is_none_or(<[u8]>::is_empty),
    };
    if empty {
        c.push_int(0);
        return Ok(1);
    }
    let yieldable = c.ensure_yieldable();
    let given = gathered.as_ref().map(|d| &d[..]);
    let Some(sent) =
        c.with_object_and_bytes(1, 2, given, |sock: &mut TcpSocket, data| start_send(sess, sock, data, yieldable))
    else {
        return err("bad tcp socket object");
    };
    match sent? {
        Ok(len) => {
            c.push_int(len as i64);
            Ok(1)
        }
        Err(msg) => c.fail(&msg),
    }
}

/// Sends `data`; `Ok(Ok(len))` when all went, `Ok(Err(msg))` for `nil, msg`, and a yield when
/// the writer waits (in `sess`'s running thread), if it can (`yieldable`).
fn start_send(
    sess: SessionRef,
    sock: &mut TcpSocket,
    data: &[u8],
    yieldable: Result<(), LuaError>,
) -> Result<Result<usize, Vec<u8>>, LuaError> {
    let timeout = or_default(sock.send_timeout, sock.conf.send_timeout());
    let log = sock.logger();
    log.debug_fmt(format_args!("stream lua tcp socket send timeout: {timeout}"));
    if let Err(msg) = set_nodelay(sess, *sock.conn().expect("a connected socket")) {
        return Ok(Err(msg.to_vec()));
    }
    if !sess.with(|s| sock.out.fill(s, data)) {
        return err("no memory");
    }
    match send_some(sock) {
        Ok(true) => {
            let len = sock.out.len();
            sess.with(|s| sock.out.give_back(s));
            Ok(Ok(len))
        }
        Ok(false) => {
            yieldable?;
            if !sock.conn().is_some_and(|c| c.wait(Dir::Write, timeout)) {
                return Ok(Err(b"failed to add event".to_vec()));
            }
            let key = sock.key;
            sock.writer.park_with_fn(sess, cancel_thread_wait, key.raw());
            // ends the call by yielding (what `yield_values` returns)
            Err(LuaError::Yield(0))
        }
        Err(errno) => {
            sock.write_closed = true;
            sess.with(|s| sock.out.give_back(s));
            Ok(Err(errno_text(errno).into_bytes()))
        }
    }
}

/// Sets TCP_NODELAY on the first send when the server's `tcp_nodelay` is on (as upstream).
fn set_nodelay(sess: SessionRef, c: Conn) -> Result<(), &'static [u8]> {
    if !c.nodelay_unset() || !server_nodelay(sess) {
        return Ok(());
    }
    if let Some(log) = c.log() {
        log.debug("stream lua socket tcp_nodelay");
    }
    if !c.set_nodelay() {
        return Err(b"setsocketopt tcp_nodelay failed");
    }
    Ok(())
}

/// The server's `tcp_nodelay` (on for a session without a server: a timer's).
fn server_nodelay(sess: SessionRef) -> bool {
    sess.with(|s| s.stream().is_none_or(|s| core_srv_conf(s).tcp_nodelay != 0))
}

/// The write event of a socket whose writer waits: the send goes on, or ends and wakes it.
pub(super) fn write_ready(sock: &mut TcpSocket) -> Option<Woken> {
    let r = if sock.conn()?.take_timedout(Dir::Write) {
        if sock.conf.log_errors() {
            sock.logger().error(NGX_LOG_ERR, 0, b"stream lua tcp socket write timed out");
        }
        sock.write_closed = true;
        Err(b"timeout".to_vec())
    } else {
        match send_some(sock) {
            Ok(false) => {
                if sock.conn().is_some_and(|c| c.rearm(Dir::Write)) {
                    return None;
                }
                sock.write_closed = true;
                Err(b"failed to add event".to_vec())
            }
            Ok(true) => Ok(sock.out.len()),
            Err(errno) => {
                sock.write_closed = true;
                Err(errno_text(errno).into_bytes())
            }
        }
    };
    if let Some(c) = sock.conn() {
        c.clear_timer(Dir::Write);
    }
    // the socket's session is live while its writer waits
    sock.release_out();
    Some(Woken::Sent(sock.writer.take()?, r))
}
