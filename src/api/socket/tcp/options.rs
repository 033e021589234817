//! `close`, timeouts, `setoption`, keepalive (`setkeepalive`, `getreusedtimes`), `shutdown`
//! and `bind`.

use super::*;

pub(super) fn close_impl(c: &mut Call) -> LuaResult {
    let n = c.top();
    if n != 1 {
        return err(format!("expecting 1 argument (including the object) but seen {n}"));
    }
    let sess = in_session(c, "close")?;
    let refused = with_this(c, "close", |sock| {
        if !sock.connected() {
            return Some(&b"closed"[..]);
        }
        if let Some(busy) = sock.busy() {
            return Some(busy);
        }
        sock.close_connection();
        sock.unlink(sess);
        None
    })?;
    if let Some(msg) = refused {
        return c.fail(msg);
    }
    c.push_int(1);
    Ok(1)
}

pub(super) fn settimeout_impl(c: &mut Call) -> LuaResult {
    let n = c.top();
    if n != 2 {
        return err(format!("ngx.socket settimout: expecting 2 arguments (including the object) but seen {n}"));
    }
    let ms = timeout_value(c.to_number(2))?;
    with_this(c, "settimeout", |sock| (sock.connect_timeout, sock.send_timeout, sock.read_timeout) = (ms, ms, ms))?;
    Ok(0)
}

pub(super) fn settimeouts_impl(c: &mut Call) -> LuaResult {
    let n = c.top();
    if n != 4 {
        return err(format!("ngx.socket settimout: expecting 4 arguments (including the object) but seen {n}"));
    }
    let (connect, send, read) =
        (timeout_value(c.to_number(2))?, timeout_value(c.to_number(3))?, timeout_value(c.to_number(4))?);
    with_this(c, "settimeouts", |sock| {
        (sock.connect_timeout, sock.send_timeout, sock.read_timeout) = (connect, send, read)
    })?;
    Ok(0)
}

/// `setoption(name, value)`: keepalive, reuseaddr, tcp-nodelay, sndbuf, rcvbuf.
pub(super) fn setoption_impl(c: &mut Call) -> LuaResult {
    let n = c.top();
    if n != 3 {
        return err(format!("expecting 3 arguments (including the object), but got {n}"));
    }
    in_session(c, "setoption")?;
    if !with_this(c, "setoption", |sock| sock.connected())? {
        return c.fail(b"closed");
    }
    let name = match c.type_of(2) {
        LUA_TSTRING => c.to_bytes(2).unwrap_or_default().to_vec(),
        _ => return c.arg_error(2, "setoption", format!("string expected, got {}", c.type_name_at(2))),
    };
    let value: c_int = match c.type_of(3) {
        LUA_TBOOLEAN => c.to_boolean(3) as c_int,
        LUA_TNUMBER => c.to_integer(3) as c_int,
        _ => {
            let got = c.type_name_at(3);
            return c.arg_error(3, "setoption", format!("number or boolean expected, got {got}"));
        }
    };
    let (level, opt) = match name.as_slice() {
        b"keepalive" => (libc::SOL_SOCKET, libc::SO_KEEPALIVE),
        b"reuseaddr" => (libc::SOL_SOCKET, libc::SO_REUSEADDR),
        b"tcp-nodelay" => (libc::IPPROTO_TCP, libc::TCP_NODELAY),
        b"sndbuf" => (libc::SOL_SOCKET, libc::SO_SNDBUF),
        b"rcvbuf" => (libc::SOL_SOCKET, libc::SO_RCVBUF),
        other => {
            let other = String::from_utf8_lossy(other).into_owned();
            return c.arg_error(2, "setoption", format!("unsupported option {other}"));
        }
    };
    // the connection again: reading the arguments may have run a collection (and __gc code)
    let set = with_this(c, "setoption", |sock| sock.conn().map(|conn| conn.set_option(level, opt, value)))?;
    if let Err(errno) = set.unwrap_or(Err(0)) {
        return c.fail(errno_text(errno).as_bytes());
    }
    c.push_bool(true);
    Ok(1)
}

pub(super) fn getreusedtimes_impl(c: &mut Call) -> LuaResult {
    let n = c.top();
    if n != 1 {
        return err(format!("expecting 1 argument (including the object), but got {n}"));
    }
    match with_this(c, "getreusedtimes", |sock| sock.connected().then_some(sock.reused))? {
        Some(reused) => {
            c.push_int(reused as i64);
            Ok(1)
        }
        None => c.fail(b"closed"),
    }
}

pub(super) fn setkeepalive_impl(c: &mut Call) -> LuaResult {
    let n = c.top();
    if !(1..=3).contains(&n) {
        return err(format!("expecting 1 to 3 arguments (including the object), but got {n}"));
    }
    let timeout = if n >= 2 && c.type_of(2) != LUA_TNIL {
        if !c.is_number(2) {
            return c.arg_error(2, "setkeepalive", format!("number expected, got {}", c.type_name_at(2)));
        }
        Some(c.to_integer(2).max(0) as ngx_msec_t)
    } else {
        None
    };
    let size = if n >= 3 && c.type_of(3) != LUA_TNIL {
        if !c.is_number(3) {
            return c.arg_error(3, "setkeepalive", format!("number expected, got {}", c.type_name_at(3)));
        }
        Some(c.to_integer(3))
    } else {
        None
    };
    match with_this_in_session(c, "setkeepalive", |sess, sock| keep_alive(sess, sock, timeout, size, n))?? {
        Ok(()) => {
            c.push_int(1);
            Ok(1)
        }
        Err(msg) => c.fail(msg),
    }
}

/// Puts the socket's connection into its pool (`Ok(Err(msg))`: `nil, msg`); `n` is the
/// number of arguments, for the pool size's error.
fn keep_alive(
    sess: SessionRef,
    sock: &mut TcpSocket,
    timeout: Option<ngx_msec_t>,
    size: Option<i64>,
    n: c_int,
) -> Result<Result<(), &'static [u8]>, LuaError> {
    if !sock.connected() || sock.recv.read_closed || sock.write_closed {
        return Ok(Err(b"closed"));
    }
    if let Some(busy) = sock.busy() {
        return Ok(Err(busy));
    }
    if !sock.recv.pending().is_empty() {
        return Ok(Err(b"unread data in buffer"));
    }
    let conn = sock.conn().expect("a connected socket");
    if !conn.is_sound() {
        return Ok(Err(b"invalid connection"));
    }
    if !conn.rearm(Dir::Read) {
        return Ok(Err(b"failed to handle read event"));
    }
    if worker_exiting() {
        sock.logger().debug_fmt(format_args!(
            "stream lua tcp socket set keepalive while process exiting, closing connection {:p}",
            conn.as_ptr()
        ));
        sock.close_connection();
        return Ok(Ok(()));
    }
    let pool_size = match size {
        Some(s) => s,
        None if sock.pool_size > 0 => sock.pool_size as i64,
        None => sock.conf.pool_size() as i64,
    };
    let timeout = timeout.unwrap_or(sock.conf.keepalive_timeout() as ngx_msec_t);
    if pool_size <= 0 && !socket_pool::exists(&sock.pool_key) {
        return Err(LuaError::Arg(n, "setkeepalive", format!("bad \"pool_size\" option value: {pool_size}")));
    }
    let conn = sock.peer.take().expect("a connected socket");
    let idle = Idle { conn, reused: sock.reused };
    let counted = std::mem::take(&mut sock.in_pool);
    let log = sock.logger();
    sock.close_connection();
    sock.unlink(sess);
    if !socket_pool::put(&sock.pool_key, pool_size.max(1) as usize, idle, timeout, counted, log) {
        return Ok(Err(b"connection in dubious state"));
    }
    Ok(Ok(()))
}

/// `shutdown("send")`: no more writes; the peer sees the end of the data.
pub(super) fn shutdown_impl(c: &mut Call) -> LuaResult {
    let n = c.top();
    if n != 2 {
        return err(format!("expecting 2 arguments (including the object) but seen {n}"));
    }
    in_session(c, "shutdown")?;
    let refused = with_this(c, "shutdown", |sock| {
        if !sock.connected() || (sock.recv.read_closed && sock.write_closed) {
            return Some(&b"closed"[..]);
        }
        if sock.write_closed {
            return Some(b"already shutdown");
        }
        sock.busy().filter(|b| *b != b"socket busy reading")
    })?;
    if let Some(msg) = refused {
        return c.fail(msg);
    }
    if let Some(done) = crate::api::socket::shutdown_direction(c) {
        return done;
    }
    let done = with_this(c, "shutdown", |sock| {
        sock.logger().debug("stream lua shutdown socket write direction");
        sock.write_closed = true;
        sock.conn().expect("a connected socket").shutdown_write()
    })?;
    if let Err(errno) = done {
        return c.fail(errno_text(errno).as_bytes());
    }
    c.push_int(1);
    Ok(1)
}

/// `bind(address)`: the local IP address the next connect uses.
pub(super) fn bind_impl(c: &mut Call) -> LuaResult {
    let n = c.top();
    if n != 2 {
        return err(format!("expecting 2 arguments (including the object), but got {n}"));
    }
    with_this(c, "bind", |_| ())?;
    let addr = match c.type_of(2) {
        LUA_TSTRING => c.to_bytes(2).unwrap_or_default().to_vec(),
        _ => return c.arg_error(2, "bind", format!("string expected, got {}", c.type_name_at(2))),
    };
    let text = String::from_utf8_lossy(&addr).into_owned();
    let ip: Option<std::net::IpAddr> = text.trim_start_matches('[').trim_end_matches(']').parse().ok();
    let Some(ip) = ip else {
        return c.fail(b"bad address");
    };
    with_this(c, "bind", |sock| sock.local = Some(sockaddr_bytes(&std::net::SocketAddr::new(ip, 0))))?;
    c.push_int(1);
    Ok(1)
}
