//! `ngx.socket.udp()`: the UDP client cosocket (`setpeername`, `send`, `receive`,
//! `settimeout`, `close`).
//!
//! The Lua object is a table: slot 1 holds a full userdata owning the socket state (its `__gc`
//! closes the socket), slot 2 the timeout given to `settimeout` (read again by the next
//! `setpeername`), as upstream lays it out. `setpeername` binds the socket to the calling
//! session: other sessions get "bad request", and the session's end closes the connection.
//! `receive` waits on the connection's read event with the read timeout; the waiting thread
//! is resumed by nginx, and a thread that is killed or a session that ends closes the socket.

use std::cell::RefCell;
use std::ffi::c_int;
use std::ptr::{self, NonNull};

use crate::api::socket::errno_text;
use crate::api::socket::out::send_data;
use crate::api::socket::{parse_addr, socket_conf, socket_table, PeerAddr};
use crate::conf::SocketConf;
use crate::lua_calls;
use crate::ngx_callbacks;
use crate::runtime::handle::SessionRef;
use crate::runtime::live::LiveSession;
use crate::runtime::session::{Phase, Session, SessionKey};
use crate::runtime::waiter::{Parked, Waiter};
use crate::sys::registry::{self, Key, Slots, WorkerSlots};
use crate::sys::resolver::{resolve, Answer, Query, Resolver, Started};
use crate::sys::udp::{copy_log, log_of, Recv, UdpConn};
use crate::sys::worker_local::WorkerLocal;
use crate::sys::*;

const METATABLE: &RegKey = &reg::UDP_MT;
const UDATA_METATABLE: &RegKey = &reg::UDP_UDATA_MT;
/// Upstream's `UDP_MAX_DATAGRAM_SIZE`: the default and the largest `receive` size.
const MAX_DATAGRAM: usize = 8192;
const CTX_INDEX: c_int = 1;
const TIMEOUT_INDEX: c_int = 2;
/// Where `bind` keeps its address until setpeername makes the socket.
const BIND_INDEX: c_int = 3;

// SAFETY: the object's userdata holds the boxed socket until its __gc (udata_gc) frees it.
unsafe impl LuaObject for UdpSock {
    type Owner = Box<UdpSock>;
    const UDATA_METATABLE: &'static RegKey = UDATA_METATABLE;
    const SLOT: c_int = CTX_INDEX;
}

/// The worker's UDP sockets, by key: what their read events, resolver queries, session
/// cleanups and thread cancels name them by (a socket that went is not found).
static SOCKETS: WorkerSlots<UdpSock> = WorkerLocal::new(RefCell::new(Slots::new()));

/// Runs `f` on the socket named `key`, if it still exists (and is not borrowed already).
fn with_udp<R>(key: Key, f: impl FnOnce(&mut UdpSock) -> R) -> Option<R> {
    registry::with(&SOCKETS, key, f)
}

pub struct UdpSock {
    /// The socket's name in `SOCKETS`.
    key: Key,
    /// The session that called `setpeername` (reached by key while it lives).
    owner: SessionKey,
    conn: Option<UdpConn>,
    /// The connection's log: a copy of the session's, as upstream keeps one.
    log: ngx_log_t,
    read_timeout: ngx_msec_t,
    conf: SocketConf,
    /// Slot of our cleanup in the owning session, until the socket is closed or that session
    /// ends (after which nobody else can own the socket: "bad request", as upstream's stale
    /// owner gives).
    cleanup: Option<usize>,
    /// The thread waiting in `receive` (upstream's `waiting`).
    reader: Waiter,
    /// The thread waiting in `setpeername` for the resolver, and its query (owned here:
    /// dropped with the socket or the thread's cancel, the answer never comes).
    connector: Waiter,
    resolving: Option<Query>,
    recv_size: usize,
    /// The local address given to `bind`, used by the next setpeername.
    local: Option<Vec<u8>>,
}

/// The result of one receive attempt.
enum Received {
    Data(Vec<u8>),
    Again,
    Failed(String),
}

lua_calls! {
    settimeout => settimeout_impl,
    bind => bind_impl,
    udp => udp_impl,
    setpeername => setpeername_impl,
    send => send_impl,
    receive => receive_impl,
    close => close_impl,
    udata_gc => udata_gc_impl,
}

/// Adds `ngx.socket.udp` and the metatables of its objects.
pub fn inject(c: &mut Call, ngx: c_int) {
    let st = socket_table(c, ngx);
    c.set_field_fn(st, c"udp", udp);
    c.pop(1);
    // the methods sit in the metatable itself, its own __index (upstream's layout)
    // bind (lua-nginx-module's) is beyond stream-lua v0.0.16
    c.register_methods_beyond(
        METATABLE,
        &[
            (c"setpeername", setpeername),
            (c"send", send),
            (c"receive", receive),
            (c"settimeout", settimeout),
            (c"close", close),
        ],
        &[(c"bind", bind)],
    );
    c.register_gc(UDATA_METATABLE, udata_gc);
}

fn udp_impl(c: &mut Call) -> LuaResult {
    let n = c.top();
    if n != 0 {
        return err(format!("expecting zero arguments, but got {n}"));
    }
    SessionRef::current(c)?.check_phase(Phase::YIELDABLE)?;
    c.new_table(3, 1);
    c.set_registry_metatable(-1, METATABLE);
    Ok(1)
}

/// nginx's `%p`: zero-padded upper-case hex without a prefix.
fn ptr_text<T>(p: *const T) -> String {
    format!("{:016X}", p as usize)
}

impl UdpSock {
    fn logger(&mut self) -> Log {
        log_of(&mut self.log)
    }

    fn conn_ptr(&self) -> *mut ngx_connection_t {
        self.conn.as_ref().map_or(ptr::null_mut(), |c| c.conn_ref().as_ptr())
    }
}

/// `nil, "closed"` for an operation on a socket with no connection, logged unless
/// `lua_socket_log_errors off`.
fn closed(c: &mut Call, sess: SessionRef, u: *const UdpSock, conn: *mut ngx_connection_t, what: &str) -> LuaResult {
    if !what.is_empty() && sess.with(|s| socket_conf(s)).log_errors() {
        let msg = format!("attempt to {what} data on a closed socket: u:{}, c:{}", ptr_text(u), ptr_text(conn));
        sess.log().error(NGX_LOG_ERR, 0, msg.as_bytes());
    }
    c.fail(b"closed")
}

fn setpeername_impl(c: &mut Call) -> LuaResult {
    let n = c.top();
    if n != 2 && n != 3 {
        return err(format!(
            "ngx.socket.udp setpeername: expecting 2 or 3 arguments (including the object), but seen {n}"
        ));
    }
    let sess = SessionRef::current(c)?;
    sess.check_phase(Phase::YIELDABLE)?;
    if c.type_of(1) != LUA_TTABLE {
        return c.arg_error(1, "setpeername", format!("table expected, got {}", c.type_name_at(1)));
    }
    let Some(host) = c.to_bytes(2).map(<[u8]>::to_vec) else {
        return c.arg_error(2, "setpeername", format!("string expected, got {}", c.type_name_at(2)));
    };
    let port = if n == 3 {
        if !c.is_number(3) {
            return c.arg_error(3, "setpeername", format!("number expected, got {}", c.type_name_at(3)));
        }
        // luaL_checkinteger into a C int
        let port = c.to_integer(3) as i32;
        if !(0..=65535).contains(&port) {
            return c.fail(format!("bad port number: {port}").as_bytes());
        }
        port as u16
    } else {
        0
    };

    let log = sess.log();
    let key = sess.with(|s| s.key);
    if c.object_ptr::<UdpSock>(1).is_null() {
        // the object is bound to this session from now on
        c.push_udata(Box::new(UdpSock {
            key: Key::NONE,
            owner: key,
            conn: None,
            log: copy_log(log),
            read_timeout: 0,
            conf: SocketConf::default(),
            cleanup: None,
            reader: Waiter::new(),
            connector: Waiter::new(),
            resolving: None,
            recv_size: MAX_DATAGRAM,
            local: None,
        }));
        c.raw_seti(1, CTX_INDEX as usize);
        c.with_object(1, |u: &mut UdpSock| {
            let p = NonNull::from(&mut *u);
            // SAFETY: the socket is boxed in its userdata (a stable address) until its __gc,
            // which takes it out of the table before freeing it; callbacks borrow it only
            // through `with_udp`, never while a method holds it.
            u.key = SOCKETS.with(|t| unsafe { t.borrow_mut().insert(p) });
            let key = u.key;
            u.cleanup = Some(sess.with(|s| s.add_cleanup(session_ended, key)));
        });
    } else {
        let busy = c.with_object(1, |u: &mut UdpSock| {
            if u.owner != key {
                return Some(Err(()));
            }
            // a receive, or another setpeername waiting for the resolver
            if u.reader.is_waiting() || u.connector.is_waiting() {
                return Some(Ok(()));
            }
            if u.conn.is_some() {
                log.debug("lua udp socket reconnect without shutting down");
                close_socket(u);
            }
            log.debug("lua reuse socket upstream ctx");
            if u.cleanup.is_none() {
                // closed before: a cleanup again, as upstream (reusing the freed slot)
                u.log = copy_log(log);
                let key = u.key;
                u.cleanup = Some(sess.with(|s| s.add_cleanup(session_ended, key)));
            }
            None
        });
        match busy.flatten() {
            Some(Err(())) => return err("bad request"),
            Some(Ok(())) => return c.fail(b"socket busy"),
            None => {}
        }
    }
    c.raw_geti(1, TIMEOUT_INDEX as i64);
    let timeout = c.to_integer(-1);
    c.pop(1);
    c.raw_geti(1, BIND_INDEX as i64);
    let local = c.to_bytes(-1).map(<[u8]>::to_vec);
    c.pop(1);
    let conf = sess.with(|s| socket_conf(s));
    c.with_object(1, |u: &mut UdpSock| {
        u.log = copy_log(log);
        u.conf = conf;
        u.local = local;
        u.read_timeout = if timeout > 0 { timeout as ngx_msec_t } else { u.conf.read_timeout() as ngx_msec_t };
    });

    let peer = match parse_addr(&host, port) {
        Ok(Some(p)) => p,
        // a host name: through the server's `resolver`
        Ok(None) => {
            c.ensure_yieldable()?;
            let resolver = sess.with(|s| Resolver::of(s.stream()));
            let started = c.with_object(1, |u: &mut UdpSock| {
                let key = u.key;
                match resolve(resolver, &host, port, resolved, key.raw()) {
                    Started::Waiting(q) => {
                        u.resolving = Some(q);
                        u.connector.park_with(sess, move |_| cancel_resolve(key));
                        None
                    }
                    Started::Ready(answer) => Some(answer),
                }
            });
            match started.expect("the socket made above") {
                Some(Ok(sockaddr)) => PeerAddr { sockaddr, name: host.clone() },
                Some(Err(msg)) => return c.fail(msg.as_bytes()),
                None => return yield_values(0),
            }
        }
        Err(msg) => return c.fail(msg.as_bytes()),
    };
    let res = c.with_object(1, |u: &mut UdpSock| connect(u, &peer)).expect("the socket made above");
    Ok(push_connected(c, res))
}

/// Pushes setpeername's results for a connect that went `res`.
fn push_connected(c: &mut Call, res: Result<(), i32>) -> c_int {
    match res {
        Err(errno) => {
            c.push_nil();
            c.push_bytes((if errno != 0 { errno_text(errno) } else { "error".into() }).as_bytes());
            2
        }
        Ok(()) => {
            c.push_int(1);
            1
        }
    }
}

/// The resolver's answer for a setpeername by name, for the socket whose key is `key` (it
/// owns the query: the answer never comes once the query is dropped).
fn resolved(key: u64, answer: Answer) {
    if let Some((t, res)) = with_udp(Key::from_raw(key), |u| resolve_done(u, answer)).flatten() {
        t.resume(|co| match res {
            Ok(res) => push_connected(co, res),
            Err(msg) => co.fail(msg.as_bytes()).unwrap_or(2),
        });
    }
}

/// The connect after a resolution (`Ok(Err(errno))`: it failed), or the resolver's error.
type Resolved = Result<Result<(), i32>, String>;

/// Connects to the resolved address; the waiting thread is returned with the results, to be
/// resumed once the socket's borrow has ended.
fn resolve_done(u: &mut UdpSock, answer: Answer) -> Option<(Parked, Resolved)> {
    u.resolving = None;
    let res = answer.map(|sockaddr| connect(u, &PeerAddr { sockaddr, name: Vec::new() }));
    Some((u.connector.take()?, res))
}

/// The thread waiting for the resolver is killed or its session ends: the query is abandoned.
fn cancel_resolve(key: Key) {
    with_udp(key, |u| {
        u.connector.forget();
        if let Some(q) = u.resolving.take() {
            if q.pending() {
                u.logger().debug("stream lua tcp socket abort resolver");
            }
        }
    });
}

/// Connects the socket to `peer`; returns the errno of a failure (0: not an OS error).
fn connect(u: &mut UdpSock, peer: &PeerAddr) -> Result<(), i32> {
    let local = u.local.as_ref().map(|local| {
        let ip = std::str::from_utf8(local).ok().and_then(|t| t.trim_matches(['[', ']']).parse().ok());
        ip.map(|ip| crate::api::socket::sockaddr_bytes(&std::net::SocketAddr::new(ip, 0))).ok_or(())
    });
    // the log and the socket live in the socket's box, which outlives its connection (dropped
    // with it, or before it by `close_socket`); on_read finds the socket in c->data
    let log = u.logger();
    u.conn = Some(UdpConn::connect(&peer.sockaddr, &peer.name, local, log, on_read, u.key.as_data())?);
    Ok(())
}

/// Closes the socket's connection and ends any receive wait (upstream's
/// `ngx_stream_lua_socket_udp_finalize`); the object stays bound to its session.
fn close_socket(u: &mut UdpSock) {
    let log = u.logger();
    if u.cleanup.is_some() {
        log.debug("stream lua finalize socket");
    }
    if u.conn.is_some() {
        log.debug("lua close socket connection");
        u.conn = None;
    }
    // a thread left waiting is no longer ours to wake (nor is a resolver's answer ours to
    // take: the query is abandoned)
    u.reader.release();
    u.resolving = None;
    u.connector.release();
}

/// The session ends: its sockets close.
fn session_ended(key: Key, _: &Session) {
    with_udp(key, |u| {
        if u.conn.is_some() {
            u.logger().debug("cleanup lua udp socket upstream request");
        }
        close_socket(u);
        u.cleanup = None;
    });
}

fn udata_gc_impl(c: &mut Call) -> LuaResult {
    let Some(mut u) = c.take_udata::<UdpSock>(1) else { return Ok(0) };
    // out of the table first: nothing may find it while it goes
    SOCKETS.with(|t| t.borrow_mut().remove(u.key));
    if u.conn.is_some() {
        u.logger().debug("cleanup lua udp socket upstream request");
    }
    close_socket(&mut u);
    if let Some(slot) = u.cleanup.take() {
        // a socket whose cleanup is registered belongs to a live session
        if let Some(owner) = LiveSession::by_key(u.owner) {
            owner.with(|s| s.remove_cleanup(slot));
        }
    }
    Ok(0)
}

/// The checks `send`, `receive` and `close` share: `Some(n)` when the call ends here with
/// `n` results (closed socket, busy socket).
fn usable(c: &mut Call, sess: SessionRef, fname: &'static str, what: &str) -> Result<Option<c_int>, LuaError> {
    if c.type_of(1) != LUA_TTABLE {
        return c.arg_error(1, fname, format!("table expected, got {}", c.type_name_at(1)));
    }
    let state = c.with_object(1, |u: &mut UdpSock| (u as *const UdpSock, u.conn_ptr(), u.owner, u.reader.is_waiting()));
    let Some((u, conn, owner, busy)) = state else {
        return closed(c, sess, ptr::null(), ptr::null_mut(), what).map(Some);
    };
    if conn.is_null() {
        return closed(c, sess, u, conn, what).map(Some);
    }
    // a connected socket's owner is live (its end closes the socket): compared by key
    if owner != sess.with(|s| s.key) {
        return err("bad request");
    }
    if busy {
        return c.fail(b"socket busy").map(Some);
    }
    Ok(None)
}

fn send_impl(c: &mut Call) -> LuaResult {
    let n = c.top();
    if n != 2 {
        return err(format!("expecting 2 arguments (including the object), but got {n}"));
    }
    let sess = SessionRef::current(c).or_else(|_| err("request object not found"))?;
    if let Some(n) = usable(c, sess, "send", "send")? {
        return Ok(n);
    }
    let data = send_data(c, 2)?;
    let sent = c.with_object(1, |u: &mut UdpSock| u.conn.as_ref().map(|conn| conn.send(&data)));
    match sent.flatten().expect("a usable socket is connected") {
        Err(errno) => c.fail(errno_text(errno).as_bytes()),
        Ok(n) if n != data.len() => c.fail(b"partial write"),
        Ok(_) => {
            c.push_int(1);
            Ok(1)
        }
    }
}

fn receive_impl(c: &mut Call) -> LuaResult {
    let n = c.top();
    if n != 1 && n != 2 {
        return err(format!("expecting 1 or 2 arguments (including the object), but got {n}"));
    }
    let sess = SessionRef::current(c)?;
    let log = sess.log();
    log.debug("lua udp socket calling receive() method");
    if let Some(n) = usable(c, sess, "receive", "receive")? {
        return Ok(n);
    }
    let timeout = c.with_object(1, |u: &mut UdpSock| u.read_timeout).unwrap_or_default();
    log.debug_fmt(format_args!("lua udp socket read timeout: {timeout}"));
    // luaL_optnumber, then a C cast to size_t (negative sizes wrap to huge ones)
    let size = match c.type_of(2) {
        LUA_TNONE | LUA_TNIL => MAX_DATAGRAM,
        _ if c.is_number(2) => {
            let f = c.to_number(2);
            if f >= 0.0 {
                (f as usize).min(MAX_DATAGRAM)
            } else {
                MAX_DATAGRAM
            }
        }
        _ => return c.arg_error(2, "receive", format!("number expected, got {}", c.type_name_at(2))),
    };
    log.debug_fmt(format_args!("lua udp socket receive buffer size: {size}"));
    let r = c.with_object(1, |u: &mut UdpSock| {
        u.recv_size = size;
        read(u)
    });
    match r.expect("a usable socket") {
        Received::Data(d) => {
            log.debug("lua udp socket receive done in a single run");
            c.push_bytes(&d);
            return Ok(1);
        }
        Received::Failed(e) => return c.fail(e.as_bytes()),
        Received::Again => {}
    }
    c.ensure_yieldable()?;
    let armed = c.with_object(1, |u: &mut UdpSock| {
        let conn = u.conn.as_ref().expect("a usable socket is connected");
        if !conn.conn_ref().rearm(Dir::Read) {
            return false;
        }
        conn.arm_read_timer(u.read_timeout);
        true
    });
    if armed != Some(true) {
        return c.fail(b"error");
    }
    c.with_object(1, |u: &mut UdpSock| {
        let key = u.key;
        u.reader.park_with(sess, move |_| cancel_receive(key));
    });
    yield_values(0)
}

/// One datagram, if one is there.
fn read(u: &mut UdpSock) -> Received {
    let log = u.conn.as_ref().and_then(|c| c.conn_ref().log()).expect("a connected socket's log");
    log.debug_fmt(format_args!("lua udp socket read data: waiting: {}", u.reader.is_waiting() as u8));
    let r = u.conn.as_ref().expect("a connected socket").recv(u.recv_size);
    let n = match &r {
        Recv::Data(d) => d.len() as isize,
        Recv::Again => NGX_AGAIN as isize,
        Recv::Failed(_) => NGX_ERROR as isize,
    };
    log.debug_fmt(format_args!("lua udp recv returned {n}"));
    match r {
        Recv::Data(d) => Received::Data(d),
        Recv::Again => Received::Again,
        Recv::Failed(errno) => Received::Failed(errno_text(errno)),
    }
}

/// The thread waiting in `receive` is killed or its session ends: like upstream, the socket
/// closes.
fn cancel_receive(key: Key) {
    with_udp(key, |u| {
        u.reader.forget();
        close_socket(u);
    });
}

ngx_callbacks! {
    /// The read event of an open socket's connection, whose data is the socket's key.
    fn on_read(ev: ConnEvent) [()] {
        let conn = ev.conn;
        // (the borrow of the socket ends before the woken thread runs)
        let woken = with_udp(Key::from_data(conn.data()), |u| read_ready(u, conn)).flatten();
        if let Some((t, res)) = woken {
            t.resume(|co| match res {
                Ok(d) => {
                    co.push_bytes(&d);
                    1
                }
                Err(e) => co.fail(e.as_bytes()).unwrap_or(2),
            });
        }
    }
}

/// The read event of a socket: the waiting receive gets its datagram or error (its thread is
/// returned with them, to be resumed), or goes on waiting.
fn read_ready(u: &mut UdpSock, conn: Conn) -> Option<(Parked, Result<Vec<u8>, String>)> {
    let log = conn.log()?;
    if !u.reader.is_waiting() {
        log.debug("lua udp socket dummy handler");
        return None;
    }
    log.debug("lua udp socket read handler");
    let r = if conn.take_timedout(Dir::Read) {
        if u.conf.log_errors() {
            log.error(NGX_LOG_ERR, 0, b"lua udp socket read timed out");
        }
        Received::Failed("timeout".into())
    } else {
        conn.clear_timer(Dir::Read);
        read(u)
    };
    let res = match r {
        Received::Again => {
            if conn.rearm(Dir::Read) {
                if let Some(udp) = &u.conn {
                    udp.arm_read_timer(u.read_timeout);
                }
                return None;
            }
            Err("error".to_string())
        }
        Received::Data(d) => Ok(d),
        Received::Failed(e) => Err(e),
    };
    let t = u.reader.take()?;
    log.debug("lua udp socket waking up the current request");
    Some((t, res))
}

fn settimeout_impl(c: &mut Call) -> LuaResult {
    let n = c.top();
    if n != 2 {
        return err(format!(
            "ngx.socket settimout: expecting at least 2 arguments (including the object) but seen {n}"
        ));
    }
    if c.type_of(1) != LUA_TTABLE {
        return c.arg_error(1, "settimeout", format!("table expected, got {}", c.type_name_at(1)));
    }
    let timeout = c.to_number(2) as i64;
    // kept in the object for the next setpeername, as given
    c.push_copy(2);
    c.raw_seti(1, TIMEOUT_INDEX as usize);
    c.with_object(1, |u: &mut UdpSock| {
        u.read_timeout = if timeout > 0 { timeout as ngx_msec_t } else { u.conf.read_timeout() as ngx_msec_t };
    });
    Ok(0)
}

fn close_impl(c: &mut Call) -> LuaResult {
    let n = c.top();
    if n != 1 {
        return err(format!("expecting 1 argument (including the object) but seen {n}"));
    }
    let sess = SessionRef::current(c)?;
    if let Some(n) = usable(c, sess, "close", "")? {
        return Ok(n);
    }
    let slot = c.with_object(1, |u: &mut UdpSock| {
        close_socket(u);
        // as upstream's finalize: the session's cleanup slot is given back, so that the
        // object's collection finalizes nothing more
        u.cleanup.take()
    });
    if let Some(slot) = slot.flatten() {
        sess.with(|s| s.remove_cleanup(slot));
    }
    c.push_int(1);
    Ok(1)
}

/// `bind(address)`: the local IP address of the next setpeername (an extension over
/// v0.0.16, as lua-nginx-module has it).
fn bind_impl(c: &mut Call) -> LuaResult {
    let n = c.top();
    if n != 2 {
        return err(format!("expecting 2 arguments (including the object), but got {n}"));
    }
    if c.type_of(1) != LUA_TTABLE {
        return c.arg_error(1, "bind", format!("table expected, got {}", c.type_name_at(1)));
    }
    if c.type_of(2) != LUA_TSTRING {
        return c.arg_error(2, "bind", format!("string expected, got {}", c.type_name_at(2)));
    }
    let addr = c.to_bytes(2).unwrap_or_default();
    let valid =
        std::str::from_utf8(addr).ok().is_some_and(|t| t.trim_matches(['[', ']']).parse::<std::net::IpAddr>().is_ok());
    if !valid {
        return c.fail(b"bad address");
    }
    c.push_copy(2);
    c.raw_seti(1, BIND_INDEX as usize);
    c.push_int(1);
    Ok(1)
}
