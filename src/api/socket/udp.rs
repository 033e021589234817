//! `ngx.socket.udp()`: the UDP client cosocket (`setpeername`, `send`, `receive`,
//! `settimeout`, `close`).
//!
//! The Lua object is a table: slot 1 holds a full userdata owning the socket state (its `__gc`
//! closes the socket), slot 2 the timeout given to `settimeout` (read again by the next
//! `setpeername`), as upstream lays it out. `setpeername` binds the socket to the calling
//! session: other sessions get "bad request", and the session's end closes the connection.
//! `receive` waits on the connection's read event with the read timeout; the waiting thread
//! is resumed by nginx, and a thread that is killed or a session that ends closes the socket.

use std::ffi::{c_int, c_void, CStr};
use std::ptr;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::api::socket::errno_text;
use crate::api::socket::out::send_data;
use crate::api::socket::resolve::Resolve;
use crate::api::socket::{fail, parse_addr, socket_conf, socket_table, PeerAddr};
use crate::api::{check_phase, current_session};
use crate::conf::SocketConf;
use crate::runtime::downstream::ignore_event;
use crate::runtime::scheduler::wake;
use crate::runtime::session::Phase;
use crate::runtime::session::Session;
use crate::runtime::thread::Thread;
use crate::sys::*;
use crate::{lua_api, lua_calls};

const METATABLE: &CStr = c"ngx_lua_udp_socket_mt";
const UDATA_METATABLE: &CStr = c"ngx_lua_udp_socket_udata_mt";
/// Upstream's `UDP_MAX_DATAGRAM_SIZE`: the default and the largest `receive` size.
const MAX_DATAGRAM: usize = 8192;
const CTX_INDEX: c_int = 1;
const TIMEOUT_INDEX: c_int = 2;
/// Where `bind` keeps its address until setpeername makes the socket.
const BIND_INDEX: c_int = 3;

// SAFETY: the object's userdata holds the boxed socket until its __gc (udata_gc) frees it.
unsafe impl LuaObject for UdpSock {
    const UDATA_METATABLE: &'static CStr = UDATA_METATABLE;
    const SLOT: c_int = CTX_INDEX;
}

pub struct UdpSock {
    /// The session that called `setpeername` (valid while `cleanup` is set), and its id.
    sess: *mut Session,
    owner: u64,
    conn: *mut ngx_connection_t,
    /// The connection's log: a copy of the session's, as upstream keeps one.
    log: ngx_log_t,
    read_timeout: ngx_msec_t,
    conf: SocketConf,
    /// Slot of our cleanup in the owning session, until the socket is closed or that session
    /// ends (after which nobody else can own the socket: "bad request", as upstream's stale
    /// owner gives).
    cleanup: Option<usize>,
    /// The thread waiting in `receive` (upstream's `waiting`).
    reader: *mut Thread,
    recv_size: usize,
    /// The local address given to `bind`, used by the next setpeername.
    local: Option<Vec<u8>>,
}

/// The result of one receive attempt.
enum Recv {
    Data(Vec<u8>),
    Again,
    Failed(String),
}

lua_calls! { settimeout => settimeout_impl }

lua_api! {
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

unsafe fn udp_impl(l: *mut lua_State) -> LuaResult {
    // SAFETY: l is the running coroutine.
    unsafe {
        let n = raw::lua_gettop(l);
        if n != 0 {
            return err(format!("expecting zero arguments, but got {n}"));
        }
        let sess = current_session(l)?;
        check_phase(&*sess, Phase::YIELDABLE)?;
        raw::lua_createtable(l, 3, 1);
        raw::lua_getfield(l, LUA_REGISTRYINDEX, METATABLE.as_ptr());
        raw::lua_setmetatable(l, -2);
        Ok(1)
    }
}

/// `luaL_checktype(L, 1, LUA_TTABLE)`, then the socket state in the object's slot 1 (null
/// when the object has none: never connected, or not a UDP socket object at all).
unsafe fn this(l: *mut lua_State, fname: &'static str) -> Result<*mut UdpSock, LuaError> {
    // SAFETY: l is the running coroutine.
    let mut c = unsafe { Call::nested(l) };
    if c.type_of(1) != LUA_TTABLE {
        return c.arg_error(1, fname, format!("table expected, got {}", c.type_name_at(1)));
    }
    Ok(c.object_ptr::<UdpSock>(1))
}

/// nginx's `%p`: zero-padded upper-case hex without a prefix.
fn ptr_text<T>(p: *const T) -> String {
    format!("{:016X}", p as usize)
}

/// `nil, "closed"` for an operation on a socket with no connection, logged unless
/// `lua_socket_log_errors off`.
unsafe fn closed(l: *mut lua_State, sess: *mut Session, u: *mut UdpSock, what: &str) -> LuaResult {
    // SAFETY: sess is the running session; u is null or live.
    unsafe {
        if !what.is_empty() && socket_conf(&*sess).log_errors() {
            let c = if u.is_null() { ptr::null_mut() } else { (*u).conn };
            let msg = format!("attempt to {what} data on a closed socket: u:{}, c:{}", ptr_text(u), ptr_text(c));
            log_error(NGX_LOG_ERR, (*sess).log(), 0, msg.as_bytes());
        }
        fail(l, b"closed")
    }
}

fn last_errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

unsafe fn setpeername_impl(l: *mut lua_State) -> LuaResult {
    // SAFETY: l is the running coroutine.
    unsafe {
        let n = raw::lua_gettop(l);
        if n != 2 && n != 3 {
            return err(format!(
                "ngx.socket.udp setpeername: expecting 2 or 3 arguments (including the object), but seen {n}"
            ));
        }
        let sess = current_session(l)?;
        check_phase(&*sess, Phase::YIELDABLE)?;
        if raw::lua_type(l, 1) != LUA_TTABLE {
            let got = type_name(l, raw::lua_type(l, 1));
            return Err(LuaError::Arg(1, "setpeername", format!("table expected, got {got}")));
        }
        let Some(host) = to_bytes(l, 2).map(<[u8]>::to_vec) else {
            let got = type_name(l, raw::lua_type(l, 2));
            return Err(LuaError::Arg(2, "setpeername", format!("string expected, got {got}")));
        };
        let port = if n == 3 {
            if raw::lua_isnumber(l, 3) == 0 {
                let got = type_name(l, raw::lua_type(l, 3));
                return Err(LuaError::Arg(3, "setpeername", format!("number expected, got {got}")));
            }
            // luaL_checkinteger into a C int
            let port = raw::lua_tointeger(l, 3) as i32;
            if !(0..=65535).contains(&port) {
                return fail(l, format!("bad port number: {port}").as_bytes());
            }
            port as u16
        } else {
            0
        };

        let log = (*sess).log();
        let mut u = this(l, "setpeername")?;
        if u.is_null() {
            // the object is bound to this session from now on
            let p = raw::lua_newuserdata(l, std::mem::size_of::<*mut UdpSock>()) as *mut *mut UdpSock;
            u = Box::into_raw(Box::new(UdpSock {
                sess,
                owner: (*sess).id,
                conn: ptr::null_mut(),
                log: *log,
                read_timeout: 0,
                conf: SocketConf::default(),
                cleanup: None,
                reader: ptr::null_mut(),
                recv_size: MAX_DATAGRAM,
                local: None,
            }));
            p.write(u);
            raw::lua_getfield(l, LUA_REGISTRYINDEX, UDATA_METATABLE.as_ptr());
            raw::lua_setmetatable(l, -2);
            raw::lua_rawseti(l, 1, CTX_INDEX as _);
            (*u).cleanup = Some((*sess).add_cleanup(session_ended, u as *mut c_void));
        } else {
            if (*u).owner != (*sess).id {
                return err("bad request");
            }
            if !(*u).reader.is_null() {
                return fail(l, b"socket busy");
            }
            if !(*u).conn.is_null() {
                log_debug(log, "lua udp socket reconnect without shutting down");
                close_socket(u);
            }
            log_debug(log, "lua reuse socket upstream ctx");
            if (*u).cleanup.is_none() {
                // closed before: a cleanup again, as upstream (reusing the freed slot)
                (*u).sess = sess;
                (*u).log = *log;
                (*u).cleanup = Some((*sess).add_cleanup(session_ended, u as *mut c_void));
            }
        }
        let us = &mut *u;
        us.log = *log;
        us.conf = socket_conf(&*sess);
        raw::lua_rawgeti(l, 1, TIMEOUT_INDEX as _);
        let timeout = raw::lua_tointeger(l, -1);
        raw::lua_settop(l, -2);
        raw::lua_rawgeti(l, 1, BIND_INDEX as _);
        us.local = to_bytes(l, -1).map(<[u8]>::to_vec);
        raw::lua_settop(l, -2);
        us.read_timeout = if timeout > 0 { timeout as ngx_msec_t } else { us.conf.read_timeout() as ngx_msec_t };

        let peer = match parse_addr(&host, port) {
            Ok(Some(p)) => p,
            // a host name: through the server's `resolver`
            Ok(None) => {
                ensure_yieldable(l)?;
                match crate::api::socket::resolve::start(
                    sess,
                    &host,
                    port,
                    u as *mut c_void,
                    resolved,
                    resolve_cancelled,
                ) {
                    Resolve::Ready(Ok(sockaddr)) => PeerAddr { sockaddr, name: host.clone() },
                    Resolve::Ready(Err(msg)) => return fail(l, msg.as_bytes()),
                    Resolve::Waiting => return yield_values(0),
                }
            }
            Err(msg) => return fail(l, msg.as_bytes()),
        };
        let n = connect_results(l, us, &peer);
        Ok(n)
    }
}

/// Connects to `peer` and pushes setpeername's results.
unsafe fn connect_results(l: *mut lua_State, u: &mut UdpSock, peer: &PeerAddr) -> c_int {
    // SAFETY: l has room for two values.
    unsafe {
        if let Err(errno) = connect(u, peer) {
            raw::lua_pushnil(l);
            push_bytes(l, (if errno != 0 { errno_text(errno) } else { "error".into() }).as_bytes());
            return 2;
        }
        raw::lua_pushinteger(l, 1);
        1
    }
}

/// The resolver's answer for a setpeername by name.
unsafe fn resolved(sess: *mut Session, t: *mut Thread, data: *mut c_void, res: Result<Vec<u8>, String>) {
    // SAFETY: data is the socket that asked, live while its session is (the wait is
    // cancelled with it).
    unsafe {
        let u = &mut *(data as *mut UdpSock);
        let co = (*t).co;
        let n = match res {
            Ok(sockaddr) => connect_results(co, u, &PeerAddr { sockaddr, name: Vec::new() }),
            Err(msg) => {
                raw::lua_pushnil(co);
                push_bytes(co, msg.as_bytes());
                2
            }
        };
        wake(sess, t, n);
    }
}

unsafe fn resolve_cancelled(_data: *mut c_void) {}

/// Creates the connected datagram socket and its nginx connection (upstream's
/// `ngx_stream_lua_udp_connect`); returns the errno of a failure (0: not an OS error).
unsafe fn connect(u: &mut UdpSock, peer: &PeerAddr) -> Result<(), i32> {
    // SAFETY: peer.sockaddr is a complete sockaddr from ngx_parse_url; the connection's log
    // lives in the boxed UdpSock, which outlives the connection.
    unsafe {
        let sa = peer.sockaddr.as_ptr() as *const libc::sockaddr;
        let family = c_int::from((*sa).sa_family);
        let log = &mut u.log as *mut ngx_log_t;
        let fd = libc::socket(family, libc::SOCK_DGRAM | libc::SOCK_NONBLOCK, 0);
        log_debug(log, &format!("UDP socket {fd}"));
        if fd == -1 {
            let e = last_errno();
            log_error(NGX_LOG_ALERT, log, e, b"socket() failed");
            return Err(e);
        }
        if let Some(local) = &u.local {
            let ip = std::str::from_utf8(local).ok().and_then(|t| t.trim_matches(['[', ']']).parse().ok());
            let Some(ip) = ip else {
                libc::close(fd);
                return Err(libc::EINVAL);
            };
            let sa = crate::api::socket::sockaddr_bytes(&std::net::SocketAddr::new(ip, 0));
            if libc::bind(fd, sa.as_ptr() as *const libc::sockaddr, sa.len() as libc::socklen_t) == -1 {
                let e = last_errno();
                log_error(NGX_LOG_CRIT, log, e, b"bind() failed");
                libc::close(fd);
                return Err(e);
            }
        }
        let c = ngx_get_connection(fd, log);
        if c.is_null() {
            libc::close(fd);
            return Err(0);
        }
        (*(*c).read).log = log;
        (*(*c).write).log = log;
        (*c).type_ = libc::SOCK_DGRAM;
        (*c).number = AtomicU64::from_ptr(ngx_connection_counter).fetch_add(1, Ordering::SeqCst) as _;
        u.conn = c;
        if family == libc::AF_UNIX {
            // an autobound name, so that the peer can answer
            log_debug(log, "datagram unix domain socket autobind");
            let mut addr: libc::sockaddr = std::mem::zeroed();
            addr.sa_family = libc::AF_UNIX as _;
            if libc::bind(fd, &addr, std::mem::size_of::<libc::sa_family_t>() as _) != 0 {
                let e = last_errno();
                log_error(NGX_LOG_CRIT, log, e, b"bind() failed");
                close_conn(u);
                return Err(e);
            }
        }
        log_debug(log, &format!("connect to {}, fd:{fd} #{}", String::from_utf8_lossy(&peer.name), (*c).number));
        if libc::connect(fd, sa, peer.sockaddr.len() as _) == -1 {
            let e = last_errno();
            log_error(NGX_LOG_CRIT, log, e, b"connect() failed");
            close_conn(u);
            return Err(e);
        }
        // UDP sockets are always ready to write
        (*(*c).write).set_ready(1);
        (*(*c).write).handler = Some(ignore_event);
        (*(*c).read).handler = Some(on_read);
        (*c).data = u as *mut UdpSock as *mut c_void;
        if ngx_handle_read_event((*c).read, 0) != NGX_OK as ngx_int_t {
            close_conn(u);
            return Err(0);
        }
        Ok(())
    }
}

unsafe fn close_conn(u: &mut UdpSock) {
    if !u.conn.is_null() {
        // SAFETY: conn is our open connection; nginx removes its events and timers.
        unsafe { ngx_close_connection(u.conn) };
        u.conn = ptr::null_mut();
    }
}

/// Closes the socket's connection and ends any receive wait (upstream's
/// `ngx_stream_lua_socket_udp_finalize`); the object stays bound to its session.
unsafe fn close_socket(u: *mut UdpSock) {
    // SAFETY: u is live; its log copy is usable while the owning session is (cleanup set).
    unsafe {
        let u = &mut *u;
        if u.cleanup.is_some() {
            log_debug(&mut u.log, "stream lua finalize socket");
        }
        if !u.conn.is_null() {
            log_debug(&mut u.log, "lua close socket connection");
            close_conn(u);
        }
        if !u.reader.is_null() {
            // a thread left waiting (the object was collected) is no longer ours to wake
            (*u.reader).wait_obj = ptr::null_mut();
            u.reader = ptr::null_mut();
        }
    }
}

/// The session ends: its sockets close.
unsafe fn session_ended(data: *mut c_void) {
    // SAFETY: data is the UdpSock whose cleanup this is (removed when the socket goes first).
    unsafe {
        let u = data as *mut UdpSock;
        if !(*u).conn.is_null() {
            log_debug(&mut (*u).log, "cleanup lua udp socket upstream request");
        }
        close_socket(u);
        (*u).cleanup = None;
    }
}

unsafe fn udata_gc_impl(l: *mut lua_State) -> LuaResult {
    // SAFETY: argument 1 is our userdata holding the boxed socket (or null once freed).
    unsafe {
        let p = raw::lua_touserdata(l, 1) as *mut *mut UdpSock;
        if p.is_null() || (*p).is_null() {
            return Ok(0);
        }
        let u = *p;
        p.write(ptr::null_mut());
        if !(*u).conn.is_null() {
            log_debug(&mut (*u).log, "cleanup lua udp socket upstream request");
        }
        close_socket(u);
        if let Some(slot) = (*u).cleanup.take() {
            (*(*u).sess).remove_cleanup(slot);
        }
        drop(Box::from_raw(u));
        Ok(0)
    }
}

/// The checks `send`, `receive` and `close` share: `Ok(Err(n))` when the call ends here with
/// `n` results (closed socket, busy socket).
unsafe fn usable(
    l: *mut lua_State,
    sess: *mut Session,
    fname: &'static str,
    what: &str,
) -> Result<Result<*mut UdpSock, c_int>, LuaError> {
    // SAFETY: l is the running coroutine; sess its session.
    unsafe {
        let u = this(l, fname)?;
        if u.is_null() || (*u).conn.is_null() {
            return closed(l, sess, u, what).map(Err);
        }
        if (*u).sess != sess {
            return err("bad request");
        }
        if !(*u).reader.is_null() {
            return fail(l, b"socket busy").map(Err);
        }
        Ok(Ok(u))
    }
}

unsafe fn send_impl(l: *mut lua_State) -> LuaResult {
    // SAFETY: l is the running coroutine.
    unsafe {
        let n = raw::lua_gettop(l);
        if n != 2 {
            return err(format!("expecting 2 arguments (including the object), but got {n}"));
        }
        let sess = current_session(l).or_else(|_| err("request object not found"))?;
        let u = match usable(l, sess, "send", "send")? {
            Ok(u) => &mut *u,
            Err(n) => return Ok(n),
        };
        let data = send_data(&mut Call::nested(l), 2)?;
        let c = u.conn;
        let sent = loop {
            let r = libc::send((*c).fd, data.as_ptr() as *const c_void, data.len(), 0);
            if r == -1 && last_errno() == libc::EINTR {
                continue;
            }
            break r;
        };
        log_debug((*c).log, &format!("sendto: fd:{} {sent} of {} to \"\"", (*c).fd, data.len()));
        if sent == -1 {
            let e = last_errno();
            if e != libc::EAGAIN {
                (*(*c).write).set_error(1);
                ngx_connection_error(c, e, c"sendmsg() failed".as_ptr() as *mut _);
            }
            return fail(l, errno_text(e).as_bytes());
        }
        if sent as usize != data.len() {
            return fail(l, b"partial write");
        }
        raw::lua_pushinteger(l, 1);
        Ok(1)
    }
}

unsafe fn receive_impl(l: *mut lua_State) -> LuaResult {
    // SAFETY: l is the running coroutine.
    unsafe {
        let n = raw::lua_gettop(l);
        if n != 1 && n != 2 {
            return err(format!("expecting 1 or 2 arguments (including the object), but got {n}"));
        }
        let sess = current_session(l)?;
        log_debug((*sess).log(), "lua udp socket calling receive() method");
        let u = match usable(l, sess, "receive", "receive")? {
            Ok(u) => &mut *u,
            Err(n) => return Ok(n),
        };
        log_debug((*sess).log(), &format!("lua udp socket read timeout: {}", u.read_timeout));
        // luaL_optnumber, then a C cast to size_t (negative sizes wrap to huge ones)
        let size = match raw::lua_type(l, 2) {
            LUA_TNONE | LUA_TNIL => MAX_DATAGRAM,
            _ if raw::lua_isnumber(l, 2) != 0 => {
                let f = raw::lua_tonumber(l, 2);
                if f >= 0.0 {
                    (f as usize).min(MAX_DATAGRAM)
                } else {
                    MAX_DATAGRAM
                }
            }
            t => {
                let got = type_name(l, t);
                return Err(LuaError::Arg(2, "receive", format!("number expected, got {got}")));
            }
        };
        u.recv_size = size;
        log_debug((*sess).log(), &format!("lua udp socket receive buffer size: {size}"));
        match read(u) {
            Recv::Data(d) => {
                log_debug((*sess).log(), "lua udp socket receive done in a single run");
                push_bytes(l, &d);
                return Ok(1);
            }
            Recv::Failed(e) => return fail(l, e.as_bytes()),
            Recv::Again => {}
        }
        ensure_yieldable(l)?;
        let rev = (*u.conn).read;
        if ngx_handle_read_event(rev, 0) != NGX_OK as ngx_int_t {
            return fail(l, b"error");
        }
        arm_timer(u);
        let t = (*sess).cur;
        u.reader = t;
        (*t).wait_obj = u as *mut UdpSock as *mut c_void;
        (*t).pending = Some(cancel_receive);
        yield_values(0)
    }
}

/// One datagram, if one is there (`ngx_udp_recv`, which logs receive errors as nginx does).
unsafe fn read(u: &mut UdpSock) -> Recv {
    let mut buf = [0u8; MAX_DATAGRAM];
    // SAFETY: conn is open; buf has room for recv_size (at most MAX_DATAGRAM) bytes.
    let n = unsafe {
        log_debug((*u.conn).log, &format!("lua udp socket read data: waiting: {}", !u.reader.is_null() as u8));
        let n = ngx_udp_unix_recv(u.conn, buf.as_mut_ptr(), u.recv_size);
        log_debug((*u.conn).log, &format!("lua udp recv returned {n}"));
        n
    };
    match n {
        n if n >= 0 => Recv::Data(buf[..n as usize].to_vec()),
        n if n == NGX_AGAIN as isize => Recv::Again,
        _ => Recv::Failed(errno_text(last_errno())),
    }
}

/// (Re)starts the read timeout while the read event is armed, as upstream does.
unsafe fn arm_timer(u: &mut UdpSock) {
    // SAFETY: conn is open.
    unsafe {
        let rev = (*u.conn).read;
        if (*rev).active() != 0 {
            ngx_add_timer(rev, u.read_timeout);
        } else if (*rev).timer_set() != 0 {
            ngx_del_timer(rev);
        }
    }
}

/// The thread waiting in `receive` is killed or its session ends: like upstream, the socket
/// closes.
unsafe fn cancel_receive(_sess: *mut Session, t: *mut Thread) {
    // SAFETY: t is live; wait_obj is its socket unless the socket let it go.
    unsafe {
        let u = (*t).wait_obj as *mut UdpSock;
        (*t).wait_obj = ptr::null_mut();
        if !u.is_null() {
            (*u).reader = ptr::null_mut();
            close_socket(u);
        }
    }
}

unsafe extern "C" fn on_read(rev: *mut ngx_event_t) {
    guard((), || {
        // SAFETY: rev belongs to an open socket connection whose data is its UdpSock.
        unsafe {
            let c = (*rev).data as *mut ngx_connection_t;
            let u = &mut *((*c).data as *mut UdpSock);
            if u.reader.is_null() {
                log_debug((*c).log, "lua udp socket dummy handler");
                return;
            }
            log_debug((*c).log, "lua udp socket read handler");
            let r = if (*rev).timedout() != 0 {
                (*rev).set_timedout(0);
                if u.conf.log_errors() {
                    log_error(NGX_LOG_ERR, (*c).log, 0, b"lua udp socket read timed out");
                }
                Recv::Failed("timeout".into())
            } else {
                if (*rev).timer_set() != 0 {
                    ngx_del_timer(rev);
                }
                read(u)
            };
            let t = u.reader;
            let co = (*t).co;
            let nret = match r {
                Recv::Again => {
                    if ngx_handle_read_event(rev, 0) == NGX_OK as ngx_int_t {
                        arm_timer(u);
                        return;
                    }
                    raw::lua_pushnil(co);
                    push_bytes(co, b"error");
                    2
                }
                Recv::Data(d) => {
                    push_bytes(co, &d);
                    1
                }
                Recv::Failed(e) => {
                    raw::lua_pushnil(co);
                    push_bytes(co, e.as_bytes());
                    2
                }
            };
            u.reader = ptr::null_mut();
            (*t).wait_obj = ptr::null_mut();
            log_debug((*c).log, "lua udp socket waking up the current request");
            wake(u.sess, t, nret);
        }
    })
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

unsafe fn close_impl(l: *mut lua_State) -> LuaResult {
    // SAFETY: l is the running coroutine.
    unsafe {
        let n = raw::lua_gettop(l);
        if n != 1 {
            return err(format!("expecting 1 argument (including the object) but seen {n}"));
        }
        let sess = current_session(l)?;
        let u = match usable(l, sess, "close", "")? {
            Ok(u) => u,
            Err(n) => return Ok(n),
        };
        close_socket(u);
        // as upstream's finalize: the session's cleanup slot is given back, so that the
        // object's collection finalizes nothing more
        if let Some(slot) = (*u).cleanup.take() {
            (*sess).remove_cleanup(slot);
        }
        raw::lua_pushinteger(l, 1);
        Ok(1)
    }
}

/// `bind(address)`: the local IP address of the next setpeername (an extension over
/// v0.0.16, as lua-nginx-module has it).
unsafe fn bind_impl(l: *mut lua_State) -> LuaResult {
    // SAFETY: l is the running coroutine.
    unsafe {
        let n = raw::lua_gettop(l);
        if n != 2 {
            return err(format!("expecting 2 arguments (including the object), but got {n}"));
        }
        if raw::lua_type(l, 1) != LUA_TTABLE {
            let got = type_name(l, raw::lua_type(l, 1));
            return Err(LuaError::Arg(1, "bind", format!("table expected, got {got}")));
        }
        if raw::lua_type(l, 2) != LUA_TSTRING {
            let got = type_name(l, raw::lua_type(l, 2));
            return Err(LuaError::Arg(2, "bind", format!("string expected, got {got}")));
        }
        let addr = to_bytes(l, 2).unwrap_or_default();
        let valid = std::str::from_utf8(addr)
            .ok()
            .is_some_and(|t| t.trim_matches(['[', ']']).parse::<std::net::IpAddr>().is_ok());
        if !valid {
            return fail(l, b"bad address");
        }
        raw::lua_pushvalue(l, 2);
        raw::lua_rawseti(l, 1, BIND_INDEX as _);
        raw::lua_pushinteger(l, 1);
        Ok(1)
    }
}
