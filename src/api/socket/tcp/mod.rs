//! `ngx.socket.tcp()`: TCP and unix-domain client cosockets. A socket is a Lua table whose
//! slot 1 holds a userdata pointing at a boxed `TcpSocket`; the socket belongs to the session
//! that connected it, which closes it when it ends. Waits (connect, read, write) are per
//! thread: a reader and a writer may wait at the same time (full duplex). Idle connections
//! kept by `setkeepalive` live in per-worker pools (`../pool.rs`). This file holds the object
//! and its events; `connect.rs`, `io.rs` and `options.rs` the methods.

mod connect;
mod io;
mod options;

use self::connect::*;
use self::io::*;
use self::options::*;

use std::ffi::{c_int, c_void, CStr};
use std::ptr;

use crate::api::socket::errno_text;
use crate::api::socket::out::send_data;
use crate::api::socket::out::OutBuf;
use crate::api::socket::pool::{self as socket_pool, Idle, Join};
use crate::api::socket::recv::{
    or_default, push_read, push_until_iterator, receive_pattern, receiveany_max, timeout_value, until_args,
    until_iterator_args, Pattern, Read, RecvBuf,
};
use crate::api::socket::resolve::Resolve;
use crate::api::socket::{fail, parse_addr, sockaddr_bytes, socket_conf, socket_table, PeerAddr};
use crate::api::{check_phase, current_session};
use crate::conf::SocketConf;
use crate::runtime::handle::SessionRef;
use crate::runtime::scheduler::wake;
use crate::runtime::session::Phase;
use crate::runtime::session::Session;
use crate::runtime::thread::Thread;
use crate::runtime::waiter::Waiter;
use crate::sys::*;
use crate::{lua_api, lua_calls};

const METATABLE: &CStr = c"ngx_lua_tcp_socket_mt";
const UDATA_METATABLE: &CStr = c"ngx_lua_tcp_socket_udata_mt";

// SAFETY: slot 1 of a socket table holds the userdata with the boxed socket until its __gc
// (tcp_gc) frees it.
unsafe impl LuaObject for TcpSocket {
    const UDATA_METATABLE: &'static CStr = UDATA_METATABLE;
    const SLOT: c_int = 1;
}

pub struct TcpSocket {
    /// The session that connected the socket (null when none or once it ended). Once the
    /// socket is closed it no longer has a cleanup there (see `unlink`), and the pointer is
    /// only good while that session (`owner`) lives: see `owner_sess`.
    pub(crate) sess: *mut Session,
    /// The id of that session.
    pub(crate) owner: u64,
    /// The connection to the peer (null when not connected).
    pub(crate) c: *mut ngx_connection_t,
    pub(crate) recv: RecvBuf,
    /// Timeouts set by settimeout(s) (0: the `lua_socket_*` value).
    pub(crate) connect_timeout: ngx_msec_t,
    pub(crate) send_timeout: ngx_msec_t,
    pub(crate) read_timeout: ngx_msec_t,
    pub(crate) conf: SocketConf,
    /// Threads waiting in connect, in a receive, in a send.
    pub(crate) connector: *mut Thread,
    pub(crate) reader: Waiter,
    pub(crate) writer: Waiter,
    pub(crate) waiting_read: Option<Pattern>,
    /// Data of a send in progress.
    pub(crate) out: OutBuf,
    pub(crate) write_closed: bool,
    /// How many times the connection came from a pool.
    pub(crate) reused: usize,
    /// The pool the connection goes back to (`host:port`, the path, or the `pool` option).
    pub(crate) pool_key: Vec<u8>,
    /// The `pool_size` option of connect, for creating that pool.
    pub(crate) pool_size: usize,
    /// The connection counts in its pool (it came from it, or connect joined it).
    pub(crate) in_pool: bool,
    /// `host:port` for log lines.
    pub(crate) peer_name: String,
    /// The TLS handshake's options: return a session, verify the peer, the SNI name.
    #[cfg_attr(not(ngx_feature = "stream_ssl"), allow(dead_code))]
    pub(crate) ssl_reuse: bool,
    #[cfg_attr(not(ngx_feature = "stream_ssl"), allow(dead_code))]
    pub(crate) ssl_verify: bool,
    #[cfg_attr(not(ngx_feature = "stream_ssl"), allow(dead_code))]
    pub(crate) ssl_name: Vec<u8>,
    /// The local address of `bind`, used by the next connect.
    pub(crate) local: Option<Vec<u8>>,
    /// A connect waiting for a pool slot: its host, port and deadline (ngx_current_msec).
    pub(crate) queued: Option<(Vec<u8>, u16, ngx_msec_t)>,
    /// The socket's slot in its session's cleanups.
    pub(crate) cleanup: Option<usize>,
}

lua_calls! {
    tcp_new => tcp_new_impl,
    tcp_gc => gc_impl,
    tcp_settimeout => settimeout_impl,
    tcp_settimeouts => settimeouts_impl,
    tcp_receive => receive_impl,
    tcp_receiveany => receiveany_impl,
    tcp_send => send_impl,
    tcp_receiveuntil => receiveuntil_impl,
    tcp_until_iterator => until_iterator_impl,
    tcp_close => close_impl,
    tcp_setoption => setoption_impl,
    tcp_getreusedtimes => getreusedtimes_impl,
    tcp_shutdown => shutdown_impl,
    tcp_bind => bind_impl,
    tcp_setkeepalive => setkeepalive_impl,
}

lua_api! {
    tcp_connect => connect_impl,
}

/// Adds `ngx.socket.tcp` (and its alias `stream`) and the socket metatables.
pub fn inject(c: &mut Call, t: c_int) {
    let st = socket_table(c, t);
    c.set_field_fn(st, c"tcp", tcp_new);
    c.set_field_fn(st, c"stream", tcp_new);
    c.pop(1);

    let mut methods: Vec<(&CStr, lua_CFunction)> = vec![
        (c"connect", tcp_connect),
        (c"receive", tcp_receive),
        (c"receiveany", tcp_receiveany),
        (c"receiveuntil", tcp_receiveuntil),
        (c"send", tcp_send),
        (c"close", tcp_close),
        (c"settimeout", tcp_settimeout),
        (c"settimeouts", tcp_settimeouts),
        (c"setoption", tcp_setoption),
        (c"setkeepalive", tcp_setkeepalive),
        (c"getreusedtimes", tcp_getreusedtimes),
        (c"shutdown", tcp_shutdown),
    ];
    // as upstream, no such method when nginx has no TLS for stream servers
    #[cfg(ngx_feature = "stream_ssl")]
    methods.push((c"sslhandshake", crate::api::socket::ssl::tcp_sslhandshake));
    // bind (lua-nginx-module's) is beyond stream-lua v0.0.16
    c.register_methods_beyond(METATABLE, &methods, &[(c"bind", tcp_bind)]);
    c.register_gc(UDATA_METATABLE, tcp_gc);
    #[cfg(ngx_feature = "stream_ssl")]
    crate::api::socket::ssl::inject(c);
}

fn tcp_new_impl(c: &mut Call) -> LuaResult {
    let n = c.top();
    if n != 0 {
        return err(format!("expecting zero arguments, but got {n}"));
    }
    let sess = SessionRef::current(c)?;
    sess.check_phase(Phase::YIELDABLE)?;
    let conf = sess.with(|s| socket_conf(s));
    let sock = Box::new(TcpSocket {
        sess: ptr::null_mut(),
        owner: 0,
        c: ptr::null_mut(),
        recv: RecvBuf::default(),
        connect_timeout: 0,
        send_timeout: 0,
        read_timeout: 0,
        conf,
        connector: ptr::null_mut(),
        reader: Waiter::new(),
        writer: Waiter::new(),
        waiting_read: None,
        out: OutBuf::new(),
        write_closed: false,
        reused: 0,
        pool_key: Vec::new(),
        pool_size: 0,
        in_pool: false,
        peer_name: String::new(),
        ssl_reuse: true,
        ssl_verify: false,
        ssl_name: Vec::new(),
        local: None,
        queued: None,
        cleanup: None,
    });
    let t = c.new_table(3, 1);
    c.push_udata(sock);
    c.raw_seti(t, 1);
    c.set_registry_metatable(t, METATABLE);
    Ok(1)
}

/// The socket of `self` (argument 1), checked to be a TCP cosocket.
/// Runs `f` on the socket of `self` (`bad tcp socket object` when it is none).
pub(super) fn with_this<R>(
    c: &mut Call,
    fname: &'static str,
    f: impl FnOnce(&mut TcpSocket) -> R,
) -> Result<R, LuaError> {
    if c.type_of(1) != LUA_TTABLE {
        return c.arg_error(1, fname, format!("table expected, got {}", c.type_name_at(1)));
    }
    c.with_object(1, f).map_or_else(|| err("bad tcp socket object"), Ok)
}

unsafe fn this<'a>(l: *mut lua_State, fname: &'static str) -> Result<&'a mut TcpSocket, LuaError> {
    // SAFETY: l is the running coroutine.
    let mut c = unsafe { Call::nested(l) };
    if c.type_of(1) != LUA_TTABLE {
        return c.arg_error(1, fname, format!("table expected, got {}", c.type_name_at(1)));
    }
    // SAFETY: the socket lives while its object does (LuaObject); the caller keeps the borrow
    // within its Lua call.
    unsafe { c.object_ptr::<TcpSocket>(1).as_mut() }.map_or_else(|| err("bad tcp socket object"), Ok)
}

/// The socket of `self`, which must belong to the running session (or to none yet).
pub(crate) unsafe fn this_in_session<'a>(
    l: *mut lua_State,
    fname: &'static str,
) -> Result<(*mut Session, &'a mut TcpSocket), LuaError> {
    // SAFETY: as in `this`.
    unsafe {
        let sock = this(l, fname)?;
        let sess = current_session(l)?;
        let owner = sock.owner_sess();
        if !owner.is_null() && owner != sess {
            return err("bad request");
        }
        Ok((sess, sock))
    }
}

impl TcpSocket {
    /// The log of the session that connected the socket (the cycle's once it is gone).
    pub(crate) fn logger(&self) -> Log {
        // SAFETY: log() gives the owner session's log, live while that session is, or the cycle's.
        unsafe { Log::from_raw(self.log()) }.expect("a session or cycle log")
    }

    pub(crate) fn log(&self) -> *mut ngx_log_t {
        let sess = self.owner_sess();
        if sess.is_null() {
            return cycle_log();
        }
        // SAFETY: owner_sess is live.
        unsafe { (*sess).log() }
    }

    /// The session that connected the socket, if it is still alive.
    pub(crate) fn owner_sess(&self) -> *mut Session {
        if self.sess.is_null() || (self.cleanup.is_none() && !crate::runtime::session::is_live(self.owner)) {
            return ptr::null_mut();
        }
        self.sess
    }

    /// Links the socket to `sess` (a connect), with a cleanup that closes it when the session
    /// ends; as upstream, a slot freed by an earlier close is reused ("lua stream cleanup
    /// reuse").
    unsafe fn link(&mut self, sess: *mut Session) {
        if self.cleanup.is_some() {
            return;
        }
        self.sess = sess;
        // SAFETY: sess is the running session.
        unsafe {
            self.owner = (*sess).id;
            self.cleanup = Some((*sess).add_cleanup(session_ended, self as *mut TcpSocket as *mut c_void));
        }
    }

    /// As upstream's finalize after `close` and `setkeepalive`: the session's cleanup slot
    /// is given back (the socket still belongs to the session).
    fn unlink(&mut self) {
        if let Some(slot) = self.cleanup.take() {
            // SAFETY: a socket with a cleanup is linked to its live session.
            unsafe { (*self.sess).remove_cleanup(slot) };
        }
    }

    pub(crate) fn connected(&self) -> bool {
        !self.c.is_null()
    }

    /// The connection to the peer, if connected.
    pub(crate) fn conn(&self) -> Option<Conn> {
        // SAFETY: c is null or the socket's live connection (it is nulled when the connection
        // is closed or goes back to a pool).
        unsafe { Conn::from_raw(self.c) }
    }

    /// Logs "... on a closed socket" in upstream's words, when socket errors are logged.
    fn log_closed(&self, what: &str) {
        if self.conf.log_errors() {
            let eof = self.recv.eof as u8;
            let msg = format!(
                "{what} data on a closed socket: u:{:p}, c:{:p}, ft:{} eof:{eof}",
                self as *const Self,
                self.c,
                if eof != 0 { 4 } else { 0 }
            );
            self.logger().error(NGX_LOG_ERR, 0, msg.as_bytes());
        }
    }

    /// The busy check upstream makes before any operation that waits.
    pub(crate) fn busy(&self) -> Option<&'static [u8]> {
        if !self.connector.is_null() {
            Some(b"socket busy connecting")
        } else if self.reader.is_waiting() {
            Some(b"socket busy reading")
        } else if self.writer.is_waiting() {
            Some(b"socket busy writing")
        } else {
            None
        }
    }

    /// Closes the connection (if any) and forgets every wait; waiting threads are resumed by
    /// their own cancel paths, not here.
    pub(crate) fn close_connection(&mut self) {
        if !self.c.is_null() {
            // SAFETY: the connection is ours; closing it also removes its timers and events.
            unsafe { socket_pool::close_conn(self.c) };
            self.c = ptr::null_mut();
        }
        self.leave_pool();
        self.recv.reset();
        // SAFETY: owner_sess is live or null.
        unsafe { self.out.release(self.owner_sess()) };
        self.write_closed = false;
        self.waiting_read = None;
    }

    /// Gives back the socket's slot in its pool (a waiting connect may take it).
    pub(crate) fn leave_pool(&mut self) {
        if std::mem::take(&mut self.in_pool) {
            socket_pool::leave(&self.pool_key, self.logger());
        }
    }

    /// Ends the socket's link with its session: connection closed, waits cancelled.
    fn detach(&mut self) {
        // SAFETY: a connecting thread is live while the socket holds it (its cancel function
        // empties the slot), and a socket with a cleanup is linked to its live session.
        unsafe {
            let t = self.connector;
            if !t.is_null() {
                (*t).pending = None;
                (*t).wait_obj = ptr::null_mut();
            }
            self.connector = ptr::null_mut();
            self.reader.release();
            self.writer.release();
            self.close_connection();
            if !self.sess.is_null() {
                if let Some(slot) = self.cleanup.take() {
                    (*self.sess).remove_cleanup(slot);
                }
                self.sess = ptr::null_mut();
            }
        }
    }

    /// Takes `c` as the socket's connection, with our event handlers.
    unsafe fn attach_connection(&mut self, c: *mut ngx_connection_t) {
        self.c = c;
        // SAFETY: c is a live connection we own from now on.
        unsafe {
            (*c).data = self as *mut TcpSocket as *mut c_void;
            (*(*c).read).handler = Some(on_read_event);
            (*(*c).write).handler = Some(on_write_event);
            let log = self.log();
            (*c).log = log;
            (*(*c).read).log = log;
            (*(*c).write).log = log;
            if !(*c).pool.is_null() {
                (*(*c).pool).log = log;
            }
        }
    }
}

/// The session cleanup of a socket: its connection is closed (its Lua object may live on).
unsafe fn session_ended(data: *mut c_void) {
    // SAFETY: a registered socket is live (gc unregisters it first).
    unsafe {
        let sock = &mut *(data as *mut TcpSocket);
        sock.cleanup = None;
        sock.sess = ptr::null_mut();
        sock.detach();
    }
}

fn gc_impl(c: &mut Call) -> LuaResult {
    if let Some(mut sock) = c.take_udata::<TcpSocket>(1) {
        sock.detach();
    }
    Ok(0)
}

// ---------------------------------------------------------------------------------------
// events and cancelling

/// A thread waiting on a socket is killed or its session ends: like upstream, the socket is
/// closed.
pub(crate) unsafe fn cancel_wait(_sess: *mut Session, t: *mut Thread) {
    // SAFETY: the thread's wait object is the socket it waits on.
    unsafe {
        let sock = (*t).wait_obj as *mut TcpSocket;
        (*t).wait_obj = ptr::null_mut();
        if sock.is_null() {
            return;
        }
        let sock = &mut *sock;
        if sock.connector == t {
            sock.connector = ptr::null_mut();
        }
        for slot in [&mut sock.reader, &mut sock.writer] {
            if slot.is(t) {
                slot.forget();
            }
        }
        sock.close_connection();
    }
}

pub(crate) unsafe extern "C" fn on_read_event(rev: *mut ngx_event_t) {
    guard((), || {
        // SAFETY: rev belongs to a connection of a live socket (c->data), or an idle one
        // (whose handlers are the pool's).
        unsafe {
            let c = (*rev).data as *mut ngx_connection_t;
            let sock = &mut *((*c).data as *mut TcpSocket);
            if sock.sess.is_null() {
                return;
            }
            if !sock.connector.is_null() {
                return connect_done(sock, (*rev).timedout() != 0);
            }
            if !sock.reader.is_waiting() {
                // nobody reads: keep the event from firing again and again
                if (*rev).active() != 0 && ngx_handle_read_event(rev, 0) != NGX_OK as isize {
                    log_error(NGX_LOG_ERR, sock.log(), 0, b"stream lua tcp socket failed to handle read event");
                }
                return;
            }
            read_ready(sock);
        }
    })
}

pub(crate) unsafe extern "C" fn on_write_event(wev: *mut ngx_event_t) {
    guard((), || {
        // SAFETY: as in on_read_event.
        unsafe {
            let c = (*wev).data as *mut ngx_connection_t;
            let sock = &mut *((*c).data as *mut TcpSocket);
            if sock.sess.is_null() {
                return;
            }
            if !sock.connector.is_null() {
                return connect_done(sock, (*wev).timedout() != 0);
            }
            if sock.writer.is_waiting() {
                write_ready(sock);
            }
        }
    })
}
