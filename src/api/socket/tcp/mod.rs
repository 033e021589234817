//! `ngx.socket.tcp()`: TCP and unix-domain client cosockets. A socket is a Lua table whose
//! slot 1 holds a userdata pointing at a boxed `TcpSocket`; the socket belongs to the session
//! that connected it, which closes it when it ends. Waits (connect, read, write) are per
//! thread: a reader and a writer may wait at the same time (full duplex). Idle connections
//! kept by `setkeepalive` live in per-worker pools (`../pool.rs`). This file holds the object
//! and its events; `connect.rs`, `io.rs` and `options.rs` the methods.

mod connect;
mod io;
mod options;
#[cfg(ngx_feature = "stream_ssl")]
mod ssl;

use self::connect::*;
pub(crate) use self::io::in_session;
use self::io::*;
use self::options::*;

use std::cell::RefCell;
use std::ffi::{c_int, c_void, CStr};
use std::ptr::{self, NonNull};
use std::rc::Rc;

use crate::api::socket::errno_text;
use crate::api::socket::out::OutBuf;
use crate::api::socket::pool::{self as socket_pool, Idle, Join};
use crate::api::socket::recv::{
    or_default, push_read, push_until_iterator, receive_pattern, receiveany_max, timeout_value, until_args,
    until_iterator_args, Pattern, Read, RecvBuf,
};
use crate::api::socket::{parse_addr, sockaddr_bytes, socket_conf, socket_table, PeerAddr};
use crate::conf::SocketConf;
use crate::lua_calls;
use crate::ngx_callbacks;
use crate::runtime::handle::SessionRef;
use crate::runtime::live::LiveSession;
use crate::runtime::session::Phase;
use crate::runtime::session::{Session, SessionKey};
use crate::runtime::thread::{Thread, ThreadKey};
use crate::runtime::waiter::{Parked, Waiter};
use crate::sys::conn_connect::{connect_peer, Connecting, PeerConn};
use crate::sys::conn_ref::ConnRef;
use crate::sys::key_timer::KeyTimer;
use crate::sys::recycled::{Recyclable, Recycled};
use crate::sys::registry::{self, Key, Slots, WorkerSlots};
use crate::sys::resolver::{Query, Resolver};
use crate::sys::worker_local::WorkerLocal;
use crate::sys::*;

const METATABLE: &RegKey = &reg::TCP_MT;
const UDATA_METATABLE: &RegKey = &reg::TCP_UDATA_MT;

// SAFETY: slot 1 of a socket table holds the userdata with the boxed socket until its __gc
// (tcp_gc) frees it.
unsafe impl LuaObject for TcpSocket {
    type Owner = Recycled<TcpSocket>;
    const UDATA_METATABLE: &'static RegKey = UDATA_METATABLE;
    const SLOT: c_int = 1;
}

/// Where a connect (or TLS handshake) in progress is; its thread waits in `connector`.
pub(crate) enum Stage {
    None,
    /// Waiting for a slot of the pool (`backlog`).
    Queued,
    /// Waiting for the resolver's answer.
    Resolving(Query),
    /// Waiting for the connection to be made.
    Connecting,
    /// Waiting for the TLS handshake.
    #[cfg_attr(not(ngx_feature = "stream_ssl"), allow(dead_code))]
    Handshake,
}

/// The worker's sockets, by key: what their events, cancels, cleanups and queue wakers name
/// them by, so a socket that went is simply not found.
static SOCKETS: WorkerSlots<TcpSocket> = WorkerLocal::new(RefCell::new(Slots::new()));

// A socket object is often made per connection: its memory is reused.
crate::recyclable!(TcpSocket);

/// Gives the kept memory back (the worker exits).
pub fn release_free_list() {
    TcpSocket::release_free_list();
}

/// A socket's name in the worker's socket table.
pub(crate) type SockKey = Key;

/// Runs `f` on the socket named `key`, if it still exists (and is not borrowed already).
pub(crate) fn with_socket<R>(key: SockKey, f: impl FnOnce(&mut TcpSocket) -> R) -> Option<R> {
    registry::with(&SOCKETS, key, f)
}

pub struct TcpSocket {
    /// The socket's name in `SOCKETS`.
    key: SockKey,
    /// The session that connected the socket (none before a connect and after a close),
    /// reached through `owner` only while it lives.
    pub(crate) sess: Option<SessionKey>,
    /// That session's log.
    pub(crate) owner_log: Option<Log>,
    /// The connection to the peer.
    pub(crate) peer: Option<PeerConn>,
    pub(crate) recv: RecvBuf,
    /// Timeouts set by settimeout(s) (0: the `lua_socket_*` value).
    pub(crate) connect_timeout: ngx_msec_t,
    pub(crate) send_timeout: ngx_msec_t,
    pub(crate) read_timeout: ngx_msec_t,
    pub(crate) conf: SocketConf,
    /// Threads waiting in connect (or sslhandshake), in a receive, in a send.
    pub(crate) connector: Waiter,
    pub(crate) reader: Waiter,
    pub(crate) writer: Waiter,
    /// What the connector waits for.
    pub(crate) stage: Stage,
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
    /// `host:port` for log lines of a connect that opens a connection (a connect served from
    /// the pool leaves the previous one's here: nothing reads it then).
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
    /// The resolver of the connecting session's server.
    pub(crate) resolver: Option<Resolver>,
    /// A connect waiting for a pool slot: its host, port and deadline (ngx_current_msec).
    pub(crate) queued: Option<(Vec<u8>, u16, ngx_msec_t)>,
    /// The timer of that wait (and the posted event that resumes it).
    pub(crate) queue_ev: KeyTimer,
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
    tcp_connect => connect_impl,
}

/// Adds `ngx.socket.tcp` (and its alias `stream`) and the socket metatables.
pub fn inject(c: &mut Call, t: c_int) {
    let st = socket_table(c, t);
    c.set_field_fn(st, c"tcp", tcp_new);
    c.set_field_fn(st, c"stream", tcp_new);
    c.pop(1);

    #[cfg_attr(not(ngx_feature = "stream_ssl"), allow(unused_mut))]
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
    methods.push((c"sslhandshake", ssl::tcp_sslhandshake));
    // bind (lua-nginx-module's) is beyond stream-lua v0.0.16
    c.register_methods_beyond(METATABLE, &methods, &[(c"bind", tcp_bind)]);
    c.register_gc(UDATA_METATABLE, tcp_gc);
    #[cfg(ngx_feature = "stream_ssl")]
    ssl::inject(c);
}

fn tcp_new_impl(c: &mut Call) -> LuaResult {
    let n = c.top();
    if n != 0 {
        return err(format!("expecting zero arguments, but got {n}"));
    }
    let sess = SessionRef::current(c)?;
    sess.check_phase(Phase::YIELDABLE)?;
    let conf = sess.with(|s| socket_conf(s));
    let sock = Recycled::new(TcpSocket {
        key: Key::NONE,
        sess: None,
        owner_log: None,
        peer: None,
        recv: RecvBuf::default(),
        connect_timeout: 0,
        send_timeout: 0,
        read_timeout: 0,
        conf,
        connector: Waiter::new(),
        reader: Waiter::new(),
        writer: Waiter::new(),
        stage: Stage::None,
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
        resolver: None,
        queued: None,
        queue_ev: KeyTimer::new(),
        cleanup: None,
    });
    let t = c.new_table(3, 1);
    c.push_udata(sock);
    c.raw_seti(t, 1);
    c.set_registry_metatable(t, METATABLE);
    c.with_object(t, |sock: &mut TcpSocket| {
        let p = NonNull::from(&mut *sock);
        // SAFETY: the socket is boxed in its userdata (a stable address) until its __gc,
        // which takes it out of the table before freeing it; events and cancels borrow it
        // only through `with_socket`, never while a method holds it.
        sock.key = SOCKETS.with(|t| unsafe { t.borrow_mut().insert(p) });
    });
    Ok(1)
}

/// Runs `f` on the socket of `self` (argument 1; `bad tcp socket object` when it is none).
pub(crate) fn with_this<R>(
    c: &mut Call,
    fname: &'static str,
    f: impl FnOnce(&mut TcpSocket) -> R,
) -> Result<R, LuaError> {
    match c.with_object(1, f) {
        Some(r) => Ok(r),
        None if c.type_of(1) != LUA_TTABLE => {
            c.arg_error(1, fname, format!("table expected, got {}", c.type_name_at(1)))
        }
        None => err("bad tcp socket object"),
    }
}

/// The results a connect or handshake wakes its thread with: `1`, or `nil, err`.
pub(crate) type Wake = Option<(Parked, Result<(), Vec<u8>>)>;

/// Resumes a woken connector (after the socket's borrow ended: Lua runs now).
pub(crate) fn resume(w: Wake) {
    if let Some((t, r)) = w {
        t.resume(|co| match r {
            Ok(()) => {
                co.push_int(1);
                1
            }
            Err(msg) => {
                co.push_nil();
                co.push_bytes(&msg);
                2
            }
        });
    }
}

/// A thread an event of the socket's connection wakes, with what it returns; resumed once
/// the socket's borrow has ended (Lua may reach the socket again).
pub(crate) enum Woken {
    Connected(Parked, Result<(), Vec<u8>>),
    Read(Parked, Read),
    Sent(Parked, Result<usize, Vec<u8>>),
}

impl Woken {
    fn resume(self) {
        match self {
            Woken::Connected(t, r) => resume(Some((t, r))),
            Woken::Read(t, r) => t.resume(|co| push_read(co, r)),
            Woken::Sent(t, r) => t.resume(|co| match r {
                Ok(n) => {
                    co.push_int(n as i64);
                    1
                }
                Err(e) => {
                    co.push_nil();
                    co.push_bytes(&e);
                    2
                }
            }),
        }
    }
}

impl TcpSocket {
    /// The log of the session that connected the socket (the cycle's once it is gone).
    pub(crate) fn logger(&self) -> Log {
        match self.owner_log {
            Some(log) if self.owner().is_some() => log,
            _ => Log::cycle().expect("the cycle's log"),
        }
    }

    /// The session that connected the socket, to touch from outside a Lua call.
    fn owner(&self) -> Option<LiveSession> {
        self.sess.and_then(LiveSession::by_key)
    }

    /// Gives the send buffer back to the socket's session (or forgets it when the session
    /// ended).
    pub(crate) fn release_out(&mut self) {
        match self.owner() {
            Some(owner) => owner.with(|s| self.out.give_back(s)),
            None => self.out.forget(),
        }
    }

    /// The key of the session that connected the socket, if that session is still alive.
    pub(crate) fn live_owner(&self) -> Option<SessionKey> {
        self.sess.filter(|_| self.owner().is_some())
    }

    /// Links the socket to `sess` (a connect), with a cleanup that closes it when the session
    /// ends; as upstream, a slot freed by an earlier close is reused ("lua stream cleanup
    /// reuse").
    fn link(&mut self, sess: SessionRef) {
        if self.cleanup.is_some() {
            return;
        }
        let me = self.key;
        sess.with(|s| {
            self.sess = Some(s.key);
            self.owner_log = Some(s.logger());
            self.cleanup = Some(s.add_cleanup(session_ended, me));
        });
    }

    /// As upstream's finalize after `close` and `setkeepalive`: the session's cleanup slot
    /// is given back (the socket still belongs to the running session `sess`).
    fn unlink(&mut self, sess: SessionRef) {
        if let Some(slot) = self.cleanup.take() {
            sess.with(|s| s.remove_cleanup(slot));
        }
    }

    /// The socket's identity for the pool's queue (compared, never dereferenced).
    fn id(&self) -> *const c_void {
        self as *const TcpSocket as *const c_void
    }

    pub(crate) fn connected(&self) -> bool {
        self.peer.is_some()
    }

    /// The connection to the peer, if connected.
    pub(crate) fn conn(&self) -> Option<ConnRef<'_>> {
        self.peer.as_ref().map(PeerConn::conn_ref)
    }

    /// The connection's address for log lines (null when not connected).
    fn conn_addr(&self) -> *const c_void {
        self.conn().map_or(ptr::null(), |c| c.as_ptr() as *const c_void)
    }

    /// Logs "... on a closed socket" in upstream's words, when socket errors are logged.
    fn log_closed(&self, what: &str) {
        if self.conf.log_errors() {
            let eof = self.recv.eof as u8;
            let msg = format!(
                "{what} data on a closed socket: u:{:p}, c:{:p}, ft:{} eof:{eof}",
                self as *const Self,
                self.conn_addr(),
                if eof != 0 { 4 } else { 0 }
            );
            self.logger().error(NGX_LOG_ERR, 0, msg.as_bytes());
        }
    }

    /// The busy check upstream makes before any operation that waits.
    pub(crate) fn busy(&self) -> Option<&'static [u8]> {
        if self.connector.is_waiting() {
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
        // closing it also removes its timers and events
        self.peer = None;
        self.leave_pool();
        self.recv.reset();
        self.release_out();
        self.write_closed = false;
        self.waiting_read = None;
    }

    /// Gives back the socket's slot in its pool (a waiting connect may take it).
    pub(crate) fn leave_pool(&mut self) {
        if std::mem::take(&mut self.in_pool) {
            socket_pool::leave(&self.pool_key, self.logger());
        }
    }

    /// Takes `peer` as the socket's connection, with our event handlers.
    fn attach(&mut self, peer: PeerConn) {
        peer.conn_ref().set_owner(self.key.as_data(), on_read_event, on_write_event, self.logger());
        self.peer = Some(peer);
    }

    /// Ends what the connector waits for (it was killed, or the socket goes): the query is
    /// abandoned, the place in the queue given up, the connection in progress closed.
    fn abort_stage(&mut self) {
        match std::mem::replace(&mut self.stage, Stage::None) {
            Stage::None => {}
            Stage::Queued => {
                self.logger().debug("stream lua tcp socket abort queueing");
                self.queue_ev.disarm();
                socket_pool::dequeue(&self.pool_key, self.id());
                self.queued = None;
                self.leave_pool();
            }
            Stage::Resolving(q) => {
                if q.pending() {
                    self.logger().debug("stream lua tcp socket abort resolver");
                }
                drop(q);
                self.leave_pool();
            }
            Stage::Connecting | Stage::Handshake => self.close_connection(),
        }
    }

    /// Ends the socket's link with its session: connection closed, waits cancelled.
    fn detach(&mut self) {
        self.connector.release();
        self.abort_stage();
        self.reader.release();
        self.writer.release();
        self.close_connection();
        if let Some(owner) = self.owner() {
            if let Some(slot) = self.cleanup.take() {
                owner.with(|s| s.remove_cleanup(slot));
            }
        }
        self.sess = None;
    }
}

/// The session cleanup of a socket: its connection is closed (its Lua object may live on).
fn session_ended(key: SockKey, _: &Session) {
    with_socket(key, |sock| {
        sock.cleanup = None;
        sock.detach();
    });
}

fn gc_impl(c: &mut Call) -> LuaResult {
    if let Some(mut sock) = c.take_udata::<TcpSocket>(1) {
        // out of the table first: nothing may find it while it goes
        SOCKETS.with(|t| t.borrow_mut().remove(sock.key));
        sock.detach();
    }
    Ok(0)
}

// ---------------------------------------------------------------------------------------
// events and cancelling

/// A thread waiting on socket `key` is killed or its session ends: like upstream, the
/// socket is closed (a connect in progress gives up what it waits for).
pub(crate) fn cancel_wait(key: SockKey, t: ThreadKey) {
    with_socket(key, |sock| cancel_socket_wait(sock, t));
}

/// `cancel_wait` as a thread's cancel function (the socket's key as its data).
pub(crate) fn cancel_thread_wait(t: &mut Thread, key: u64) {
    cancel_wait(Key::from_raw(key), t.key);
}

fn cancel_socket_wait(sock: &mut TcpSocket, t: ThreadKey) {
    if sock.connector.is(t) {
        sock.connector.forget();
        if !matches!(sock.stage, Stage::Connecting | Stage::Handshake) {
            return sock.abort_stage();
        }
        sock.stage = Stage::None;
    }
    for slot in [&mut sock.reader, &mut sock.writer] {
        if slot.is(t) {
            slot.forget();
        }
    }
    sock.close_connection();
}

/// The read event of the socket's connection.
fn read_event(sock: &mut TcpSocket) -> Option<Woken> {
    sock.sess?; // closed: nobody to tell
    if matches!(sock.stage, Stage::Connecting) {
        let timed_out = sock.conn().is_some_and(|c| c.timed_out(Dir::Read));
        return connect_done(sock, timed_out).map(|(t, r)| Woken::Connected(t, r));
    }
    if !sock.reader.is_waiting() {
        // nobody reads: keep the event from firing again and again
        if let Some(c) = sock.conn() {
            if c.is_active(Dir::Read) && !c.rearm(Dir::Read) {
                sock.logger().error(NGX_LOG_ERR, 0, b"stream lua tcp socket failed to handle read event");
            }
        }
        return None;
    }
    read_ready(sock)
}

/// The write event of the socket's connection.
fn write_event(sock: &mut TcpSocket) -> Option<Woken> {
    sock.sess?; // closed: nobody to tell
    if matches!(sock.stage, Stage::Connecting) {
        let timed_out = sock.conn().is_some_and(|c| c.timed_out(Dir::Write));
        return connect_done(sock, timed_out).map(|(t, r)| Woken::Connected(t, r));
    }
    if !sock.writer.is_waiting() {
        return None;
    }
    write_ready(sock)
}

ngx_callbacks! {
    /// The events of a socket's live connection, whose `c->data` is the socket's key (set by
    /// `attach`; an idle one's handlers are the pool's).
    pub(crate) fn on_read_event(ev: ConnEvent) [()] {
        with_socket(Key::from_data(ev.conn.data()), read_event).flatten().map_or((), Woken::resume)
    }

    pub(crate) fn on_write_event(ev: ConnEvent) [()] {
        with_socket(Key::from_data(ev.conn.data()), write_event).flatten().map_or((), Woken::resume)
    }
}
