//! `connect`: the connection pool's queue (`backlog`), name resolution and the connect itself.
//! The connecting thread waits in the socket's `connector` slot through all three stages;
//! each stage's event either moves it on to the next one or wakes it with the results.

use super::*;

use crate::api::spare::Spare;
use crate::sys::resolver::{resolve, Answer, Started};

/// The options table of connect: (pool name, pool_size, backlog).
pub(super) type ConnectOptions = (Option<Vec<u8>>, usize, Option<i64>);

pub(super) fn connect_options(c: &mut Call, idx: c_int) -> Result<ConnectOptions, LuaError> {
    let mut pool_size = 0usize;
    c.get_field(idx, c"pool_size");
    if c.is_number(-1) {
        let v = c.to_integer(-1);
        if v <= 0 {
            return c.arg_error(idx, "connect", format!("bad \"pool_size\" option value: {v}"));
        }
        pool_size = v as usize;
    } else if c.type_of(-1) != LUA_TNIL {
        return c.arg_error(idx, "connect", format!("bad \"pool_size\" option type: {}", c.type_name_at(-1)));
    }
    c.pop(1);
    let mut backlog = None;
    c.get_field(idx, c"backlog");
    if c.is_number(-1) {
        let v = c.to_integer(-1);
        if v < 0 {
            return c.arg_error(idx, "connect", format!("bad \"backlog\" option value: {v}"));
        }
        backlog = Some(v);
    }
    c.pop(1);
    c.get_field(idx, c"pool");
    let pool = match c.type_of(-1) {
        LUA_TNUMBER | LUA_TSTRING => Some(c.to_bytes(-1).unwrap_or_default().to_vec()),
        LUA_TNIL => None,
        _ => return c.arg_error(idx, "connect", format!("bad \"pool\" option type: {}", c.type_name_at(-1))),
    };
    c.pop(1);
    Ok((pool, pool_size, backlog))
}

/// How far a connect got.
pub(super) enum Step {
    /// Done: connected, or `nil, err`.
    Done(Result<(), Vec<u8>>),
    /// The connector must wait (for the queue, the resolver or the connection).
    Wait,
    /// A Lua error (the call cannot yield).
    Err(LuaError),
}

pub(super) fn connect_impl(c: &mut Call) -> LuaResult {
    let mut n = c.top();
    if !(2..=4).contains(&n) {
        return err(format!("ngx.socket connect: expecting 2, 3, or 4 arguments (including the object), but seen {n}"));
    }
    let sess = SessionRef::current(c)?;
    sess.check_phase(Phase::YIELDABLE)?;
    let mut options = (None, 0, None);
    if c.type_of(n) == LUA_TTABLE {
        options = connect_options(c, n)?;
        n -= 1;
    }
    // (copied into the worker's spare vector: no allocation in steady traffic)
    let mut host = Spare::take();
    match c.type_of(2) {
        LUA_TSTRING | LUA_TNUMBER => host.extend_from_slice(c.to_bytes(2).unwrap_or_default()),
        _ => return c.arg_error(2, "connect", format!("string expected, got {}", c.type_name_at(2))),
    }
    let port = if n >= 3 {
        if !c.is_number(3) {
            return c.arg_error(3, "connect", format!("number expected, got {}", c.type_name_at(3)));
        }
        let p = c.to_integer(3);
        if !(0..=65535).contains(&p) {
            return c.fail(format!("bad port number: {p}").as_bytes());
        }
        Some(p as u16)
    } else {
        None
    };
    let yieldable = c.ensure_yieldable();
    let step = with_this_in_session(c, "connect", |_, sock| {
        let step = start(sess, sock, &host, port, options, yieldable);
        if matches!(step, Step::Wait) {
            sock.connector.park_with_fn(sess, cancel_thread_wait, sock.key.raw());
        }
        step
    })?;
    match step {
        Step::Done(Ok(())) => {
            c.push_int(1);
            Ok(1)
        }
        Step::Done(Err(msg)) => c.fail(&msg),
        Step::Wait => yield_values(0),
        Step::Err(e) => Err(e),
    }
}

/// Links the socket to the running session and starts its connect: a pooled connection, a
/// place in the pool's queue, or a new connection.
fn start(
    sess: SessionRef,
    sock: &mut TcpSocket,
    host: &[u8],
    port: Option<u16>,
    (pool, pool_size, backlog): ConnectOptions,
    yieldable: Result<(), LuaError>,
) -> Step {
    if let Some(busy) = sock.busy() {
        return Step::Done(Err(busy.to_vec()));
    }
    if sock.connected() {
        sock.logger().debug("stream lua tcp socket reconnect without shutting down");
        sock.close_connection();
    }
    let same = sess.with(|s| sock.sess == Some(s.key));
    if !sock.pool_key.is_empty() || same {
        sock.logger().debug("lua reuse socket upstream ctx");
    }
    sock.link(sess);
    let (conf, vm, resolver) = sess.with(|s| (socket_conf(s), s.l.as_ptr(), Resolver::of(s.stream())));
    sock.conf = conf;
    sock.resolver = Some(resolver);
    sock.recv.set_chunk(sock.conf.buffer_size());
    match &pool {
        Some(name) => socket_pool::set_vm_key(&mut sock.pool_key, vm, &[name]),
        None => {
            let (text, mut digits) = (host_text(host), [0; 6]);
            let name = [text.as_bytes(), port_suffix(port, &mut digits)];
            socket_pool::set_vm_key(&mut sock.pool_key, vm, &name)
        }
    }
    sock.pool_size = pool_size;
    sock.reused = 0;

    if let Some(idle) = socket_pool::take(&sock.pool_key, sock.logger()) {
        sock.reused = idle.reused + 1;
        sock.in_pool = true;
        sock.attach(idle.conn);
        return Step::Done(Ok(()));
    }
    // only a connect that goes on needs the name: the log lines of its waits, a resolved
    // address's name (a pooled connection skips the copy)
    set_peer_name(&mut sock.peer_name, host, port);
    let create = (pool_size > 0 || backlog.is_some())
        .then(|| (if pool_size > 0 { pool_size } else { sock.conf.pool_size() }, backlog.unwrap_or(-1)));
    let port = port.unwrap_or(0);
    match socket_pool::join(&sock.pool_key, create, sock.logger()) {
        Join::NoPool => sock.in_pool = false,
        Join::Joined => sock.in_pool = true,
        Join::TooMany => return Step::Done(Err(b"too many waiting connect operations".to_vec())),
        Join::Queued => {
            sock.in_pool = true;
            if let Err(e) = yieldable {
                sock.leave_pool();
                return Step::Err(e);
            }
            let timeout = or_default(sock.connect_timeout, sock.conf.connect_timeout());
            let deadline = current_msec().wrapping_add(timeout);
            sock.queued = Some((host.to_vec(), port, deadline));
            let go = queue_waker(sock);
            socket_pool::enqueue(&sock.pool_key, sock.id(), go);
            wait_queued(sock);
            return Step::Wait;
        }
    }
    proceed(sock, host, port, yieldable)
}

/// Sets `name` to `host` or `host:port` (reusing its buffer; no core::fmt on this path).
fn set_peer_name(name: &mut String, host: &[u8], port: Option<u16>) {
    let mut digits = [0; 6];
    let port = port_suffix(port, &mut digits);
    name.clear();
    name.reserve(host.len() + port.len());
    name.push_str(&host_text(host));
    // ':' and ASCII digits
    port.iter().for_each(|&b| name.push(b as char));
}

/// `host` as text, invalid UTF-8 replaced (the name in log lines and pool keys).
fn host_text(host: &[u8]) -> std::borrow::Cow<'_, str> {
    match std::str::from_utf8(host) {
        Ok(text) => text.into(),
        Err(_) => String::from_utf8_lossy(host),
    }
}

/// `:port` in decimal (nothing without a port), written into `buf`.
fn port_suffix(port: Option<u16>, buf: &mut [u8; 6]) -> &[u8] {
    let Some(mut v) = port else { return &[] };
    let mut at = buf.len();
    loop {
        at -= 1;
        buf[at] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    at -= 1;
    buf[at] = b':';
    &buf[at..]
}

/// Connects `sock` (past the pool checks) to `host`, or waits for the resolver or the
/// connection (`yieldable`: whether the call can wait).
fn proceed(sock: &mut TcpSocket, host: &[u8], port: u16, yieldable: Result<(), LuaError>) -> Step {
    let step = match parse_addr(host, port) {
        Ok(Some(addr)) => start_connect(sock, &addr, yieldable),
        Ok(None) => connect_by_name(sock, host, port, yieldable),
        Err(msg) => Step::Done(Err(msg.into_bytes())),
    };
    // as upstream, a connect that cannot yield keeps its count until the socket goes
    if matches!(step, Step::Done(_)) && !sock.connected() {
        sock.leave_pool();
    }
    step
}

/// The worker's clock (ms).
fn current_msec() -> ngx_msec_t {
    crate::sys::clock::monotonic_msec() as ngx_msec_t
}

/// Makes the connector wait in the pool's queue (queued already) until its deadline.
fn wait_queued(sock: &mut TcpSocket) {
    let deadline = sock.queued.as_ref().map_or(0, |q| q.2);
    sock.stage = Stage::Queued;
    let left = deadline.wrapping_sub(current_msec()) as isize;
    let (key, log) = (sock.key.raw(), sock.logger());
    sock.queue_ev.arm(left.max(1) as ngx_msec_t, queued_timed_out, key, log);
}

/// The queued connect's deadline passed.
fn queue_timed_out(sock: &mut TcpSocket) -> Wake {
    if sock.conf.log_errors() {
        let msg =
            format!("stream lua tcp socket queued connect timed out, when trying to connect to {}", sock.peer_name);
        sock.logger().error(NGX_LOG_ERR, 0, msg.as_bytes());
    }
    let t = sock.connector.take()?;
    socket_pool::dequeue(&sock.pool_key, sock.id());
    sock.queued = None;
    sock.stage = Stage::None;
    // as upstream, a timed-out wait gives its count back without waking the next one
    if std::mem::take(&mut sock.in_pool) {
        socket_pool::uncount(&sock.pool_key, sock.logger());
    }
    Some((t, Err(b"timeout".to_vec())))
}

fn queued_timed_out(key: u64, _: Option<Log>) {
    resume(with_socket(Key::from_raw(key), queue_timed_out).flatten())
}

/// What the pool calls when a slot frees up for the queued `sock`.
fn queue_waker(sock: &mut TcpSocket) -> socket_pool::Go {
    let key = sock.key;
    Rc::new(move || with_socket(key, queued_go).unwrap_or(()))
}

/// A slot freed up for a queued connect: it goes on from a posted event (not from inside
/// the call that freed the slot). Called again before that event runs, it changes nothing.
fn queued_go(sock: &mut TcpSocket) {
    if sock.queue_ev.is_posted() {
        return;
    }
    let (key, log) = (sock.key.raw(), sock.logger());
    sock.queue_ev.post(queued_run, key, log);
}

fn queued_run(key: u64, _: Option<Log>) {
    resume(with_socket(Key::from_raw(key), queue_resume).flatten())
}

/// A queued connect goes on: with an idle connection put back, or a new one.
fn queue_resume(sock: &mut TcpSocket) -> Wake {
    socket_pool::dequeue(&sock.pool_key, sock.id());
    if sock.queued.is_none() || !sock.connector.is_waiting() {
        return None;
    }
    sock.logger().debug("stream lua tcp socket resuming queued connect operation");
    if let Some(idle) = socket_pool::take_counted(&sock.pool_key, sock.logger()) {
        sock.queued = None;
        sock.stage = Stage::None;
        sock.reused = idle.reused + 1;
        sock.attach(idle.conn);
        return Some((sock.connector.take()?, Ok(())));
    }
    if !socket_pool::has_room(&sock.pool_key) {
        // the idle connection kept for it was closed and the freed slot taken: wait on
        sock.logger().debug("stream lua tcp socket queue connect operation again");
        let go = queue_waker(sock);
        socket_pool::requeue(&sock.pool_key, sock.id(), go);
        wait_queued(sock);
        return None;
    }
    let (host, port, _) = sock.queued.take()?;
    sock.stage = Stage::None;
    match proceed(sock, &host, port, Ok(())) {
        Step::Done(r) => Some((sock.connector.take()?, r)),
        Step::Wait => None,
        Step::Err(_) => {
            sock.leave_pool();
            Some((sock.connector.take()?, Err(b"failed to connect".to_vec())))
        }
    }
}

/// A host name: resolved through the server's `resolver` (the answer goes on with the
/// connect).
fn connect_by_name(sock: &mut TcpSocket, host: &[u8], port: u16, yieldable: Result<(), LuaError>) -> Step {
    if let Err(e) = yieldable {
        return Step::Err(e);
    }
    let me = sock.key.raw();
    let resolver = sock.resolver.unwrap_or_else(|| Resolver::of(None));
    match resolve(resolver, host, port, resolved, me) {
        Started::Ready(Ok(sockaddr)) => {
            let addr = PeerAddr { sockaddr, name: sock.peer_name.clone().into_bytes() };
            start_connect(sock, &addr, Ok(()))
        }
        Started::Ready(Err(msg)) => {
            log_resolve_error(sock, &msg);
            Step::Done(Err(msg.into_bytes()))
        }
        Started::Waiting(q) => {
            sock.stage = Stage::Resolving(q);
            Step::Wait
        }
    }
}

/// A name that could not be resolved is only a debug line, as upstream: the caller gets the
/// error text.
fn log_resolve_error(sock: &TcpSocket, msg: &str) {
    sock.logger().debug_fmt(format_args!("stream lua tcp socket resolver error: {msg}"));
}

/// The answer for the socket whose key is `key` (it owns the query: the answer never
/// comes once the query is dropped).
fn resolved(key: u64, answer: Answer) {
    resume(with_socket(Key::from_raw(key), |sock| resolve_done(sock, answer)).flatten());
}

/// The resolver's answer for a connect by name: connect to the address, or fail.
fn resolve_done(sock: &mut TcpSocket, answer: Answer) -> Wake {
    sock.stage = Stage::None;
    match answer {
        Ok(sockaddr) => {
            let addr = PeerAddr { sockaddr, name: sock.peer_name.clone().into_bytes() };
            match start_connect(sock, &addr, Ok(())) {
                // connecting: the connect handler wakes the thread
                Step::Wait => None,
                Step::Done(r) => {
                    if !sock.connected() {
                        sock.leave_pool();
                    }
                    Some((sock.connector.take()?, r))
                }
                Step::Err(_) => Some((sock.connector.take()?, Err(b"failed to connect".to_vec()))),
            }
        }
        Err(msg) => {
            log_resolve_error(sock, &msg);
            sock.leave_pool();
            Some((sock.connector.take()?, Err(msg.into_bytes())))
        }
    }
}

/// Connects to `addr`; waits while the connection is in progress (`yieldable`: whether the
/// call can).
fn start_connect(sock: &mut TcpSocket, addr: &PeerAddr, yieldable: Result<(), LuaError>) -> Step {
    let log = sock.logger();
    let (rc, connecting) = connect_peer(&addr.sockaddr, &addr.name, sock.local.as_deref(), log);
    log.debug_fmt(format_args!("stream lua tcp socket connect: {rc}"));
    let peer = match connecting {
        Connecting::Failed(errno) => return Step::Done(Err(errno_text(errno).into_bytes())),
        Connecting::NoLive => return Step::Done(Err(b"no live connection".to_vec())),
        Connecting::NoMemory => return Step::Done(Err(b"no memory".to_vec())),
        Connecting::Connected(peer) => {
            log.debug_fmt(format_args!("stream lua tcp socket connected: fd:{}", peer.conn_ref().fd()));
            sock.attach(peer);
            return Step::Done(Ok(()));
        }
        Connecting::InProgress(peer) => peer,
    };
    sock.attach(peer);
    // wait for the write event (or the connect timeout)
    if let Err(e) = yieldable {
        sock.close_connection();
        return Step::Err(e);
    }
    let timeout = or_default(sock.connect_timeout, sock.conf.connect_timeout());
    log.debug_fmt(format_args!("stream lua tcp socket connect timeout: {timeout}"));
    if let Some(c) = sock.conn() {
        c.set_timer(Dir::Write, timeout);
    }
    sock.stage = Stage::Connecting;
    Step::Wait
}

/// The outcome of a connect in progress, once the write (or read) event fired.
pub(super) fn connect_done(sock: &mut TcpSocket, timed_out: bool) -> Wake {
    sock.stage = Stage::None;
    let c = sock.conn()?;
    let r = if timed_out {
        if sock.conf.log_errors() {
            let msg = format!("stream lua tcp socket connect timed out, when connecting to {}", sock.peer_name);
            sock.logger().error(NGX_LOG_ERR, 0, msg.as_bytes());
        }
        sock.close_connection();
        Err(b"timeout".to_vec())
    } else {
        let errno = c.socket_error();
        if errno != 0 {
            if sock.conf.log_errors() {
                sock.logger().error(NGX_LOG_ERR, errno, b"connect() failed");
            }
            sock.close_connection();
            Err(errno_text(errno).into_bytes())
        } else {
            c.clear_timer(Dir::Write);
            sock.logger().debug_fmt(format_args!("stream lua tcp socket connected: fd:{}", c.fd()));
            Ok(())
        }
    };
    Some((sock.connector.take()?, r))
}

#[cfg(test)]
mod tests {
    use super::set_peer_name;

    #[test]
    fn peer_name_as_format() {
        let mut name = String::from("old");
        for host in [&b"h\xffst"[..], b"127.0.0.1", b""] {
            for port in [None, Some(0), Some(7), Some(10), Some(8080), Some(65535)] {
                set_peer_name(&mut name, host, port);
                let want = match port {
                    Some(p) => format!("{}:{p}", String::from_utf8_lossy(host)),
                    None => String::from_utf8_lossy(host).into_owned(),
                };
                assert_eq!(name, want);
            }
        }
    }
}
