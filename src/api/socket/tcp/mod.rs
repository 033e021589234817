//! `ngx.socket.tcp()`: TCP and unix-domain client cosockets. A socket is a Lua table whose
//! slot 1 holds a userdata pointing at a boxed `TcpSocket`; the socket belongs to the session
//! that connected it, which closes it when it ends. Waits (connect, read, write) are per
//! thread: a reader and a writer may wait at the same time (full duplex). Idle connections
//! kept by `setkeepalive` live in per-worker pools (`socket_pool.rs`).

use std::ffi::{c_int, c_void, CStr};
use std::ptr;

use crate::api::socket::downstream::send_data;
use crate::api::socket::errno_text;
use crate::api::socket::out::OutBuf;
use crate::api::socket::pool::{self as socket_pool, Idle, Join};
use crate::api::socket::recv::{
    or_default, push_read, push_until_iterator, receive_pattern, receiveany_max, timeout_arg, until_args,
    until_iterator_args, Pattern, Read, RecvBuf,
};
use crate::api::socket::resolve::Resolve;
use crate::api::socket::{fail, parse_addr, sockaddr_bytes, socket_conf, socket_table, PeerAddr};
use crate::api::{check_phase, current_session};
use crate::conf::SocketConf;
use crate::lua_api;
use crate::runtime::scheduler::wake;
use crate::runtime::session::Phase;
use crate::runtime::session::Session;
use crate::runtime::thread::Thread;
use crate::sys::*;

const METATABLE: &CStr = c"ngx_lua_tcp_socket_mt";
const UDATA_METATABLE: &CStr = c"ngx_lua_tcp_socket_udata_mt";

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
    pub(crate) reader: *mut Thread,
    pub(crate) writer: *mut Thread,
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

lua_api! {
    tcp_new => tcp_new_impl,
    tcp_connect => connect_impl,
    tcp_receive => receive_impl,
    tcp_receiveany => receiveany_impl,
    tcp_receiveuntil => receiveuntil_impl,
    tcp_until_iterator => until_iterator_impl,
    tcp_send => send_impl,
    tcp_close => close_impl,
    tcp_settimeout => settimeout_impl,
    tcp_settimeouts => settimeouts_impl,
    tcp_setoption => setoption_impl,
    tcp_setkeepalive => setkeepalive_impl,
    tcp_getreusedtimes => getreusedtimes_impl,
    tcp_gc => gc_impl,
    tcp_shutdown => shutdown_impl,
    tcp_bind => bind_impl,
}

/// Adds `ngx.socket.tcp` (and its alias `stream`) and the socket metatables.
pub unsafe fn inject(l: *mut lua_State, t: c_int) {
    // SAFETY: t is the ngx table.
    unsafe {
        let st = socket_table(l, t);
        set_field_fn(l, st, c"tcp", tcp_new);
        set_field_fn(l, st, c"stream", tcp_new);
        raw::lua_settop(l, st - 1);

        // one table holds the methods and is its own __index, as upstream's
        raw::lua_createtable(l, 0, 14);
        let m = raw::lua_gettop(l);
        for (name, f) in [
            (c"connect", tcp_connect as lua_CFunction),
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
            (c"bind", tcp_bind),
        ] {
            set_field_fn(l, m, name, f);
        }
        // as upstream, no such method when nginx has no TLS for stream servers
        #[cfg(ngx_feature = "stream_ssl")]
        set_field_fn(l, m, c"sslhandshake", crate::api::socket::ssl::tcp_sslhandshake);
        raw::lua_pushvalue(l, m);
        raw::lua_setfield(l, m, c"__index".as_ptr());
        raw::lua_setfield(l, LUA_REGISTRYINDEX, METATABLE.as_ptr());

        raw::lua_createtable(l, 0, 1);
        set_field_fn(l, raw::lua_gettop(l), c"__gc", tcp_gc);
        raw::lua_setfield(l, LUA_REGISTRYINDEX, UDATA_METATABLE.as_ptr());
        #[cfg(ngx_feature = "stream_ssl")]
        crate::api::socket::ssl::inject(l);
    }
}

unsafe fn tcp_new_impl(l: *mut lua_State) -> LuaResult {
    // SAFETY: l is the running coroutine.
    unsafe {
        let n = raw::lua_gettop(l);
        if n != 0 {
            return err(format!("expecting zero arguments, but got {n}"));
        }
        let sess = current_session(l)?;
        check_phase(&*sess, Phase::YIELDABLE)?;
        let sock = Box::new(TcpSocket {
            sess: ptr::null_mut(),
            owner: 0,
            c: ptr::null_mut(),
            recv: RecvBuf::default(),
            connect_timeout: 0,
            send_timeout: 0,
            read_timeout: 0,
            conf: socket_conf(&*sess),
            connector: ptr::null_mut(),
            reader: ptr::null_mut(),
            writer: ptr::null_mut(),
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
        raw::lua_createtable(l, 3, 1);
        let ud = raw::lua_newuserdata(l, std::mem::size_of::<*mut TcpSocket>()) as *mut *mut TcpSocket;
        *ud = Box::into_raw(sock);
        raw::lua_getfield(l, LUA_REGISTRYINDEX, UDATA_METATABLE.as_ptr());
        raw::lua_setmetatable(l, -2);
        raw::lua_rawseti(l, -2, 1);
        raw::lua_getfield(l, LUA_REGISTRYINDEX, METATABLE.as_ptr());
        raw::lua_setmetatable(l, -2);
        Ok(1)
    }
}

/// The socket of `self` (argument 1), checked to be a TCP cosocket.
unsafe fn this<'a>(l: *mut lua_State, fname: &'static str) -> Result<&'a mut TcpSocket, LuaError> {
    // SAFETY: l is the running coroutine; slot 1 of a socket table is our userdata.
    unsafe {
        if raw::lua_type(l, 1) != LUA_TTABLE {
            let got = type_name(l, raw::lua_type(l, 1));
            return Err(LuaError::Arg(1, fname, format!("table expected, got {got}")));
        }
        raw::lua_rawgeti(l, 1, 1);
        let ud = raw::lua_touserdata(l, -1) as *mut *mut TcpSocket;
        let ok = !ud.is_null() && raw::lua_getmetatable(l, -1) != 0;
        if ok {
            raw::lua_getfield(l, LUA_REGISTRYINDEX, UDATA_METATABLE.as_ptr());
            let same = raw::lua_rawequal(l, -1, -2) != 0;
            raw::lua_settop(l, -4);
            if same && !(*ud).is_null() {
                return Ok(&mut **ud);
            }
        } else {
            raw::lua_settop(l, -2);
        }
        err("bad tcp socket object")
    }
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
    unsafe fn unlink(&mut self) {
        if let Some(slot) = self.cleanup.take() {
            // SAFETY: a socket with a cleanup is linked to its live session.
            unsafe { (*self.sess).remove_cleanup(slot) };
        }
    }

    pub(crate) fn connected(&self) -> bool {
        !self.c.is_null()
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
            log_error(NGX_LOG_ERR, self.log(), 0, msg.as_bytes());
        }
    }

    /// The busy check upstream makes before any operation that waits.
    pub(crate) fn busy(&self) -> Option<&'static [u8]> {
        if !self.connector.is_null() {
            Some(b"socket busy connecting")
        } else if !self.reader.is_null() {
            Some(b"socket busy reading")
        } else if !self.writer.is_null() {
            Some(b"socket busy writing")
        } else {
            None
        }
    }

    /// Closes the connection (if any) and forgets every wait; waiting threads are resumed by
    /// their own cancel paths, not here.
    pub(crate) unsafe fn close_connection(&mut self) {
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
            socket_pool::leave(&self.pool_key, self.log());
        }
    }

    /// Ends the socket's link with its session: connection closed, waits cancelled.
    unsafe fn detach(&mut self) {
        // SAFETY: the threads are the session's, live while it is.
        unsafe {
            for t in [self.connector, self.reader, self.writer] {
                if !t.is_null() {
                    (*t).pending = None;
                    (*t).wait_obj = ptr::null_mut();
                }
            }
            self.connector = ptr::null_mut();
            self.reader = ptr::null_mut();
            self.writer = ptr::null_mut();
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

unsafe fn gc_impl(l: *mut lua_State) -> LuaResult {
    // SAFETY: argument 1 is our userdata, collected now.
    unsafe {
        let ud = raw::lua_touserdata(l, 1) as *mut *mut TcpSocket;
        if !ud.is_null() && !(*ud).is_null() {
            let mut sock = Box::from_raw(*ud);
            *ud = ptr::null_mut();
            sock.detach();
        }
        Ok(0)
    }
}

// ---------------------------------------------------------------------------------------
// connect

/// The options table of connect: (pool name, pool_size, backlog).
type ConnectOptions = (Option<Vec<u8>>, usize, Option<i64>);

unsafe fn connect_options(l: *mut lua_State, idx: c_int) -> Result<ConnectOptions, LuaError> {
    // SAFETY: idx holds a table.
    unsafe {
        let mut pool_size = 0usize;
        raw::lua_getfield(l, idx, c"pool_size".as_ptr());
        if raw::lua_isnumber(l, -1) != 0 {
            let v = raw::lua_tointeger(l, -1);
            if v <= 0 {
                return Err(LuaError::Arg(idx, "connect", format!("bad \"pool_size\" option value: {v}")));
            }
            pool_size = v as usize;
        } else if raw::lua_type(l, -1) != LUA_TNIL {
            let got = type_name(l, raw::lua_type(l, -1));
            return Err(LuaError::Arg(idx, "connect", format!("bad \"pool_size\" option type: {got}")));
        }
        raw::lua_settop(l, -2);
        let mut backlog = None;
        raw::lua_getfield(l, idx, c"backlog".as_ptr());
        if raw::lua_isnumber(l, -1) != 0 {
            let v = raw::lua_tointeger(l, -1);
            if v < 0 {
                return Err(LuaError::Arg(idx, "connect", format!("bad \"backlog\" option value: {v}")));
            }
            backlog = Some(v);
        }
        raw::lua_settop(l, -2);
        raw::lua_getfield(l, idx, c"pool".as_ptr());
        let pool = match raw::lua_type(l, -1) {
            LUA_TNUMBER | LUA_TSTRING => Some(to_bytes(l, -1).unwrap_or_default().to_vec()),
            LUA_TNIL => None,
            t => {
                let got = type_name(l, t);
                return Err(LuaError::Arg(idx, "connect", format!("bad \"pool\" option type: {got}")));
            }
        };
        raw::lua_settop(l, -2);
        Ok((pool, pool_size, backlog))
    }
}

unsafe fn connect_impl(l: *mut lua_State) -> LuaResult {
    // SAFETY: l is the running coroutine.
    unsafe {
        let mut n = raw::lua_gettop(l);
        if !(2..=4).contains(&n) {
            return err(format!(
                "ngx.socket connect: expecting 2, 3, or 4 arguments (including the object), but seen {n}"
            ));
        }
        let sess = current_session(l)?;
        check_phase(&*sess, Phase::YIELDABLE)?;
        let mut pool = None;
        let mut pool_size = 0;
        let mut backlog = None;
        if raw::lua_type(l, n) == LUA_TTABLE {
            (pool, pool_size, backlog) = connect_options(l, n)?;
            n -= 1;
        }
        let host = match raw::lua_type(l, 2) {
            LUA_TSTRING | LUA_TNUMBER => to_bytes(l, 2).unwrap_or_default().to_vec(),
            t => {
                let got = type_name(l, t);
                return Err(LuaError::Arg(2, "connect", format!("string expected, got {got}")));
            }
        };
        let port = if n >= 3 {
            if raw::lua_isnumber(l, 3) == 0 {
                let got = type_name(l, raw::lua_type(l, 3));
                return Err(LuaError::Arg(3, "connect", format!("number expected, got {got}")));
            }
            let p = raw::lua_tointeger(l, 3);
            if !(0..=65535).contains(&p) {
                return fail(l, format!("bad port number: {p}").as_bytes());
            }
            Some(p as u16)
        } else {
            None
        };
        let (sess, sock) = this_in_session(l, "connect")?;
        if let Some(busy) = sock.busy() {
            return fail(l, busy);
        }
        if sock.connected() {
            log_debug(sock.log(), "stream lua tcp socket reconnect without shutting down");
            sock.close_connection();
        }
        if !sock.pool_key.is_empty() || sock.sess == sess {
            log_debug(sock.log(), "lua reuse socket upstream ctx");
        }
        sock.link(sess);
        sock.conf = socket_conf(&*sess);
        sock.recv.set_chunk(sock.conf.buffer_size());
        let name = match port {
            Some(p) => format!("{}:{p}", String::from_utf8_lossy(&host)),
            None => String::from_utf8_lossy(&host).into_owned(),
        };
        sock.pool_key = socket_pool::vm_key((*sess).l, &pool.unwrap_or_else(|| name.clone().into_bytes()));
        sock.pool_size = pool_size;
        sock.peer_name = name;
        sock.reused = 0;

        if let Some(idle) = socket_pool::take(&sock.pool_key, sock.log()) {
            sock.reused = idle.reused + 1;
            sock.in_pool = true;
            sock.attach_connection(idle.c);
            raw::lua_pushinteger(l, 1);
            return Ok(1);
        }
        let create = (pool_size > 0 || backlog.is_some())
            .then(|| (if pool_size > 0 { pool_size } else { sock.conf.pool_size() }, backlog.unwrap_or(-1)));
        let port = port.unwrap_or(0);
        match socket_pool::join(&sock.pool_key, create, sock.log()) {
            Join::NoPool => sock.in_pool = false,
            Join::Joined => sock.in_pool = true,
            Join::TooMany => return fail(l, b"too many waiting connect operations"),
            Join::Queued => {
                sock.in_pool = true;
                if let Err(e) = ensure_yieldable(l) {
                    sock.leave_pool();
                    return Err(e);
                }
                return queue_connect(sess, sock, host, port);
            }
        }
        proceed(l, sess, sock, &host, port, false)
    }
}

/// Connects `sock` (past the pool checks) to `host`; `resumed`: for a thread that already
/// yielded (its results then come through `wake`, an `Err(Yield)` meaning it still waits).
unsafe fn proceed(
    l: *mut lua_State,
    sess: *mut Session,
    sock: &mut TcpSocket,
    host: &[u8],
    port: u16,
    resumed: bool,
) -> LuaResult {
    // SAFETY: sess is the session of the connecting thread.
    unsafe {
        let r = match parse_addr(host, port) {
            Ok(Some(addr)) => start_connect(l, sess, sock, &addr, resumed),
            Ok(None) => connect_by_name(l, sess, sock, host, port, resumed),
            Err(msg) => fail(l, msg.as_bytes()),
        };
        if r.is_ok() && !sock.connected() {
            sock.leave_pool();
        }
        r
    }
}

/// Waits for a slot of the socket's pool (`backlog`), at most the connect timeout.
unsafe fn queue_connect(sess: *mut Session, sock: &mut TcpSocket, host: Vec<u8>, port: u16) -> LuaResult {
    // SAFETY: sess is the running session.
    unsafe {
        let timeout = or_default(sock.connect_timeout, sock.conf.connect_timeout());
        let deadline = ngx_current_msec.wrapping_add(timeout);
        sock.queued = Some((host, port, deadline));
        let me = sock as *mut TcpSocket as *mut c_void;
        socket_pool::enqueue(&sock.pool_key, me, queued_go);
        wait_queued(sock, (*sess).cur);
        yield_values(0)
    }
}

/// Makes thread `t` wait in the queue for `sock` (queued already) until its deadline.
unsafe fn wait_queued(sock: &mut TcpSocket, t: *mut Thread) {
    // SAFETY: t is the socket's connecting thread; its event dies with it.
    unsafe {
        let deadline = sock.queued.as_ref().map_or(0, |q| q.2);
        sock.connector = t;
        (*t).pending = Some(cancel_queued);
        (*t).wait_obj = sock as *mut TcpSocket as *mut c_void;
        let ev = &mut (*t).sleep_ev;
        ev.handler = Some(queued_timed_out);
        ev.data = t as *mut c_void;
        ev.log = sock.log();
        let left = deadline.wrapping_sub(ngx_current_msec) as isize;
        ngx_add_timer(ev, left.max(1) as ngx_msec_t);
    }
}

unsafe fn cancel_queued(_sess: *mut Session, t: *mut Thread) {
    // SAFETY: the thread's wait object is the queued socket.
    unsafe {
        log_debug((*t).sleep_ev.log, "stream lua tcp socket abort queueing");
        let me = (*t).wait_obj;
        let sock = &mut *(me as *mut TcpSocket);
        (*t).wait_obj = ptr::null_mut();
        socket_pool::dequeue(&sock.pool_key, me);
        sock.queued = None;
        sock.connector = ptr::null_mut();
        sock.leave_pool();
    }
}

unsafe extern "C" fn queued_timed_out(ev: *mut ngx_event_t) {
    guard((), || {
        // SAFETY: ev->data is the waiting thread, live while its event is armed.
        unsafe {
            let t = (*ev).data as *mut Thread;
            let sess = (*t).sess;
            let sock = &mut *((*t).wait_obj as *mut TcpSocket);
            if sock.conf.log_errors() {
                let msg = format!(
                    "stream lua tcp socket queued connect timed out, when trying to connect to {}",
                    sock.peer_name
                );
                log_error(NGX_LOG_ERR, sock.log(), 0, msg.as_bytes());
            }
            (*t).pending = None;
            (*t).wait_obj = ptr::null_mut();
            let me = sock as *mut TcpSocket as *mut c_void;
            socket_pool::dequeue(&sock.pool_key, me);
            sock.queued = None;
            sock.connector = ptr::null_mut();
            // as upstream, a timed-out wait gives its count back without waking the next one
            if std::mem::take(&mut sock.in_pool) {
                socket_pool::uncount(&sock.pool_key, sock.log());
            }
            raw::lua_pushnil((*t).co);
            push_bytes((*t).co, b"timeout");
            wake(sess, t, 2);
        }
    })
}

/// A slot freed up for a queued connect: it goes on from a posted event (not from inside
/// the call that freed the slot). Called again before that event runs, it changes nothing.
unsafe fn queued_go(data: *mut c_void) {
    // SAFETY: data is a queued socket; its connector thread waits.
    unsafe {
        let sock = &mut *(data as *mut TcpSocket);
        let t = sock.connector;
        let ev = &mut (*t).sleep_ev;
        if ev.timer_set() != 0 {
            ngx_del_timer(ev);
        }
        ev.handler = Some(queued_run);
        ngx_post_event(ev, std::ptr::addr_of_mut!(ngx_posted_events));
    }
}

unsafe extern "C" fn queued_run(ev: *mut ngx_event_t) {
    guard((), || {
        // SAFETY: ev->data is the waiting thread; its wait object the socket.
        unsafe {
            let t = (*ev).data as *mut Thread;
            let sess = (*t).sess;
            let sock = &mut *((*t).wait_obj as *mut TcpSocket);
            (*t).pending = None;
            (*t).wait_obj = ptr::null_mut();
            sock.connector = ptr::null_mut();
            let me = sock as *mut TcpSocket as *mut c_void;
            socket_pool::dequeue(&sock.pool_key, me);
            if sock.queued.is_none() {
                return;
            }
            let co = (*t).co;
            log_debug(sock.log(), "stream lua tcp socket resuming queued connect operation");
            let n = if let Some(idle) = socket_pool::take_counted(&sock.pool_key, sock.log()) {
                sock.queued = None;
                sock.reused = idle.reused + 1;
                sock.attach_connection(idle.c);
                raw::lua_pushinteger(co, 1);
                1
            } else if !socket_pool::has_room(&sock.pool_key) {
                // the idle connection kept for it was closed and the freed slot taken: wait on
                log_debug(sock.log(), "stream lua tcp socket queue connect operation again");
                socket_pool::requeue(&sock.pool_key, me, queued_go);
                wait_queued(sock, t);
                return;
            } else {
                let Some((host, port, _)) = sock.queued.take() else { return };
                let prev = (*sess).cur;
                (*sess).cur = t;
                let r = proceed(co, sess, sock, &host, port, true);
                (*sess).cur = prev;
                match r {
                    Ok(n) => n,
                    Err(LuaError::Yield(_)) => return,
                    Err(_) => {
                        sock.leave_pool();
                        raw::lua_pushnil(co);
                        push_bytes(co, b"failed to connect");
                        2
                    }
                }
            };
            wake(sess, t, n);
        }
    })
}

/// A host name: resolved through the server's `resolver` (the answer resumes the connect).
unsafe fn connect_by_name(
    l: *mut lua_State,
    sess: *mut Session,
    sock: &mut TcpSocket,
    host: &[u8],
    port: u16,
    resumed: bool,
) -> LuaResult {
    // SAFETY: sess is the running session.
    unsafe {
        if !resumed {
            ensure_yieldable(l)?;
        }
        let me = sock as *mut TcpSocket as *mut c_void;
        match crate::api::socket::resolve::start(sess, host, port, me, resolved, resolve_cancelled) {
            Resolve::Ready(Ok(sockaddr)) => {
                let addr = PeerAddr { sockaddr, name: sock.peer_name.clone().into_bytes() };
                start_connect(l, sess, sock, &addr, resumed)
            }
            Resolve::Ready(Err(msg)) => {
                log_resolve_error(sock, &msg);
                fail(l, msg.as_bytes())
            }
            Resolve::Waiting => {
                sock.connector = (*sess).cur;
                yield_values(0)
            }
        }
    }
}

/// A name that could not be resolved is only a debug line, as upstream: the caller gets the
/// error text.
fn log_resolve_error(sock: &TcpSocket, msg: &str) {
    log_debug(sock.log(), &format!("stream lua tcp socket resolver error: {msg}"));
}

/// The thread that waited for the resolver was killed (or its session ended): as upstream,
/// its pool slot goes to the next queued connect.
unsafe fn resolve_cancelled(data: *mut c_void) {
    // SAFETY: data is the socket that asked, still live (a socket dies with its session).
    unsafe {
        let sock = &mut *(data as *mut TcpSocket);
        sock.connector = ptr::null_mut();
        sock.leave_pool();
    }
}

/// The resolver's answer for a connect by name: connect to the address, or fail.
unsafe fn resolved(sess: *mut Session, t: *mut Thread, data: *mut c_void, res: Result<Vec<u8>, String>) {
    // SAFETY: data is the socket that asked; it is linked to the live session.
    unsafe {
        let sock = &mut *(data as *mut TcpSocket);
        sock.connector = ptr::null_mut();
        let co = (*t).co;
        let n = match res {
            Ok(sockaddr) => {
                let addr = PeerAddr { sockaddr, name: sock.peer_name.clone().into_bytes() };
                // connect as the waiting thread
                let prev = (*sess).cur;
                (*sess).cur = t;
                let r = start_connect(co, sess, sock, &addr, true);
                (*sess).cur = prev;
                match r {
                    Ok(n) => n,
                    // connecting: the connect handler resumes the thread
                    Err(LuaError::Yield(_)) => return,
                    Err(_) => {
                        raw::lua_pushnil(co);
                        push_bytes(co, b"failed to connect");
                        2
                    }
                }
            }
            Err(msg) => {
                log_resolve_error(sock, &msg);
                sock.leave_pool();
                raw::lua_pushnil(co);
                push_bytes(co, msg.as_bytes());
                2
            }
        };
        wake(sess, t, n);
    }
}

/// Connects to `addr`; yields while the connection is in progress.
/// `resumed`: called from the resolver's answer for a thread that already yielded.
unsafe fn start_connect(
    l: *mut lua_State,
    sess: *mut Session,
    sock: &mut TcpSocket,
    addr: &PeerAddr,
    resumed: bool,
) -> LuaResult {
    // SAFETY: sess is the running session; the peer struct lives only during this call (nginx
    // copies what it needs into the connection).
    unsafe {
        let mut name = ngx_str_t { len: addr.name.len(), data: addr.name.as_ptr() as *mut u8 };
        let mut pc: ngx_peer_connection_t = std::mem::zeroed();
        pc.sockaddr = addr.sockaddr.as_ptr() as *mut sockaddr;
        pc.socklen = addr.sockaddr.len() as socklen_t;
        pc.name = &mut name;
        pc.get = Some(ngx_event_get_peer);
        pc.log = sock.log();
        pc.set_log_error(1); // NGX_ERROR_ERR: connect() failures are logged as errors
        pc.type_ = libc::SOCK_STREAM;
        let mut local: ngx_addr_t = std::mem::zeroed();
        if let Some(sa) = &sock.local {
            local.sockaddr = sa.as_ptr() as *mut sockaddr;
            local.socklen = sa.len() as socklen_t;
            pc.local = &mut local;
        }
        let rc = ngx_event_connect_peer(&mut pc);
        log_debug(sock.log(), &format!("stream lua tcp socket connect: {rc}"));
        if rc == NGX_ERROR as isize || rc == NGX_DECLINED as isize {
            let errno = std::io::Error::last_os_error().raw_os_error().unwrap_or(0);
            if !pc.connection.is_null() {
                socket_pool::close_conn(pc.connection);
            }
            return fail(l, errno_text(errno).as_bytes());
        }
        if rc == NGX_BUSY as isize {
            return fail(l, b"no live connection");
        }
        let c = pc.connection;
        // a pool of its own, for TLS (kept with the connection in a keepalive pool)
        (*c).pool = ngx_create_pool(128, sock.log());
        if (*c).pool.is_null() {
            socket_pool::close_conn(c);
            return fail(l, b"no memory");
        }
        sock.attach_connection(c);
        if rc == NGX_OK as isize {
            log_debug(sock.log(), &format!("stream lua tcp socket connected: fd:{}", (*c).fd));
            raw::lua_pushinteger(l, 1);
            return Ok(1);
        }
        // NGX_AGAIN: wait for the write event (or the connect timeout)
        if !resumed {
            if let Err(e) = ensure_yieldable(l) {
                sock.close_connection();
                return Err(e);
            }
        }
        let timeout = or_default(sock.connect_timeout, sock.conf.connect_timeout());
        log_debug(sock.log(), &format!("stream lua tcp socket connect timeout: {timeout}"));
        ngx_add_timer((*c).write, timeout);
        sock.connector = (*sess).cur;
        (*sock.connector).pending = Some(cancel_wait);
        (*sock.connector).wait_obj = sock as *mut TcpSocket as *mut c_void;
        yield_values(0)
    }
}

/// The outcome of a connect in progress, once the write (or read) event fired.
unsafe fn connect_done(sock: &mut TcpSocket, timed_out: bool) {
    // SAFETY: the socket's connector waits; its session is live.
    unsafe {
        let t = sock.connector;
        let co = (*t).co;
        let c = sock.c;
        let n = if timed_out {
            if sock.conf.log_errors() {
                let msg = format!("stream lua tcp socket connect timed out, when connecting to {}", sock.peer_name);
                log_error(NGX_LOG_ERR, sock.log(), 0, msg.as_bytes());
            }
            sock.close_connection();
            raw::lua_pushnil(co);
            push_bytes(co, b"timeout");
            2
        } else {
            let mut errno: c_int = 0;
            let mut len = std::mem::size_of::<c_int>() as libc::socklen_t;
            if libc::getsockopt(
                (*c).fd,
                libc::SOL_SOCKET,
                libc::SO_ERROR,
                &mut errno as *mut c_int as *mut c_void,
                &mut len,
            ) == -1
            {
                errno = std::io::Error::last_os_error().raw_os_error().unwrap_or(0);
            }
            if errno != 0 {
                if sock.conf.log_errors() {
                    log_error(NGX_LOG_ERR, sock.log(), errno, b"connect() failed");
                }
                sock.close_connection();
                raw::lua_pushnil(co);
                push_bytes(co, errno_text(errno).as_bytes());
                2
            } else {
                if (*(*c).write).timer_set() != 0 {
                    ngx_del_timer((*c).write);
                }
                log_debug(sock.log(), &format!("stream lua tcp socket connected: fd:{}", (*c).fd));
                raw::lua_pushinteger(co, 1);
                1
            }
        };
        sock.connector = ptr::null_mut();
        (*t).pending = None;
        (*t).wait_obj = ptr::null_mut();
        wake(sock.sess, t, n);
    }
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
        for slot in [&mut sock.connector, &mut sock.reader, &mut sock.writer] {
            if *slot == t {
                *slot = ptr::null_mut();
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
            if sock.reader.is_null() {
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
            if !sock.writer.is_null() {
                write_ready(sock);
            }
        }
    })
}

// ---------------------------------------------------------------------------------------
// receive

unsafe fn start_read(l: *mut lua_State, sess: *mut Session, sock: &mut TcpSocket, pat: Pattern) -> LuaResult {
    // SAFETY: sess is the running session; the wait is cancelled with it.
    unsafe {
        if !sock.connected() || sock.recv.read_closed {
            sock.log_closed("stream attempt to receive");
            return fail(l, b"closed");
        }
        if let Some(busy) = sock.busy().filter(|b| *b != b"socket busy writing") {
            return fail(l, busy);
        }
        let c = sock.c;
        match sock.recv.read(c, pat) {
            Read::Again => {}
            r => {
                let r = after_read_error(sock, r);
                return Ok(push_read(l, r));
            }
        }
        ensure_yieldable(l)?;
        let timeout = or_default(sock.read_timeout, sock.conf.read_timeout());
        log_debug(sock.log(), &format!("stream lua tcp socket read timeout: {timeout}"));
        if ngx_handle_read_event((*c).read, 0) != NGX_OK as isize {
            return fail(l, b"failed to add event");
        }
        if timeout > 0 {
            ngx_add_timer((*c).read, timeout);
        }
        sock.waiting_read = Some(pat);
        sock.reader = (*sess).cur;
        (*sock.reader).pending = Some(cancel_wait);
        (*sock.reader).wait_obj = sock as *mut TcpSocket as *mut c_void;
        yield_values(0)
    }
}

/// A failed read (but a timeout) ends the socket's reading; once both directions are done
/// the connection goes, as upstream finalizes it.
fn after_read_error(sock: &mut TcpSocket, r: Read) -> Read {
    if let Read::Failed(e, _) = &r {
        if e != "timeout" {
            sock.recv.read_closed = true;
        }
    }
    r
}

unsafe fn read_ready(sock: &mut TcpSocket) {
    // SAFETY: the socket's reader waits; its connection and session are live.
    unsafe {
        let c = sock.c;
        let rev = (*c).read;
        let Some(pat) = sock.waiting_read else { return };
        let r = if (*rev).timedout() != 0 {
            (*rev).set_timedout(0);
            if sock.conf.log_errors() {
                log_error(NGX_LOG_ERR, sock.log(), 0, b"stream lua tcp socket read timed out");
            }
            sock.recv.fail(pat, "timeout".into())
        } else {
            match sock.recv.read(c, pat) {
                Read::Again => {
                    if ngx_handle_read_event(rev, 0) == NGX_OK as isize {
                        return;
                    }
                    sock.recv.fail(pat, "failed to add event".into())
                }
                r => r,
            }
        };
        if (*rev).timer_set() != 0 {
            ngx_del_timer(rev);
        }
        let r = after_read_error(sock, r);
        let t = sock.reader;
        sock.reader = ptr::null_mut();
        sock.waiting_read = None;
        (*t).pending = None;
        (*t).wait_obj = ptr::null_mut();
        let n = push_read((*t).co, r);
        wake(sock.sess, t, n);
    }
}

unsafe fn receive_impl(l: *mut lua_State) -> LuaResult {
    // SAFETY: l is the running coroutine.
    unsafe {
        let n = raw::lua_gettop(l);
        if n != 1 && n != 2 {
            return err(format!("expecting 1 or 2 arguments (including the object), but got {n}"));
        }
        let (sess, sock) = this_in_session(l, "receive")?;
        let Some(pat) = receive_pattern(l, n)? else {
            if !sock.connected() || sock.recv.read_closed {
                sock.log_closed("stream attempt to receive");
                return fail(l, b"closed");
            }
            push_bytes(l, b"");
            return Ok(1);
        };
        start_read(l, sess, sock, pat)
    }
}

unsafe fn receiveany_impl(l: *mut lua_State) -> LuaResult {
    // SAFETY: l is the running coroutine.
    unsafe {
        let n = raw::lua_gettop(l);
        if n != 2 {
            return err(format!("expecting 2 arguments (including the object), but got {n}"));
        }
        let (sess, sock) = this_in_session(l, "receiveany")?;
        if !sock.connected() || sock.recv.read_closed {
            sock.log_closed("attempt to receive");
            return fail(l, b"closed");
        }
        let max = receiveany_max(l)?;
        log_debug(
            sock.log(),
            &format!("stream lua tcp socket calling receiveany() method to read at most {max} bytes"),
        );
        log_debug(sock.log(), "stream lua tcp socket read any");
        start_read(l, sess, sock, Pattern::Any(max))
    }
}

unsafe fn receiveuntil_impl(l: *mut lua_State) -> LuaResult {
    // SAFETY: l is the running coroutine.
    unsafe {
        let (pattern, inclusive) = match until_args(l)? {
            Ok(args) => args,
            Err(nret) => return Ok(nret),
        };
        let sock = this(l, "receiveuntil")?;
        let idx = sock.recv.add_until(pattern, inclusive);
        push_until_iterator(l, idx, tcp_until_iterator);
        Ok(1)
    }
}

unsafe fn until_iterator_impl(l: *mut lua_State) -> LuaResult {
    // SAFETY: l is the running coroutine.
    unsafe {
        let (idx, size) = until_iterator_args(l)?;
        let (sess, sock) = this_in_session(l, "iterator")?;
        raw::lua_settop(l, 0);
        start_read(l, sess, sock, Pattern::Until(idx, size))
    }
}

// ---------------------------------------------------------------------------------------
// send

/// Sends what is left of `sock.out`: Ok(true) when all went, Ok(false) to wait, Err(errno).
unsafe fn send_some(sock: &mut TcpSocket) -> Result<bool, i32> {
    // SAFETY: the socket's connection is live.
    unsafe {
        let c = sock.c;
        while !sock.out.pending().is_empty() {
            let rest = sock.out.pending();
            let n = match (*c).send {
                Some(send) => send(c, rest.as_ptr() as *mut u8, rest.len()),
                None => NGX_ERROR as isize,
            };
            if n > 0 {
                sock.out.advance(n as usize);
            } else if n == NGX_AGAIN as isize {
                return Ok(false);
            } else {
                return Err(std::io::Error::last_os_error().raw_os_error().unwrap_or(0));
            }
        }
        Ok(true)
    }
}

unsafe fn send_impl(l: *mut lua_State) -> LuaResult {
    // SAFETY: l is the running coroutine.
    unsafe {
        let n = raw::lua_gettop(l);
        if n != 2 {
            return err(format!("expecting 2 arguments (including the object), but got {n}"));
        }
        let (sess, sock) = this_in_session(l, "send")?;
        if !sock.connected() || sock.write_closed {
            sock.log_closed("attempt to send");
            return fail(l, b"closed");
        }
        if let Some(busy) = sock.busy().filter(|b| *b != b"socket busy reading") {
            return fail(l, busy);
        }
        let data = send_data(l, 2)?;
        if data.is_empty() {
            raw::lua_pushinteger(l, 0);
            return Ok(1);
        }
        let timeout = or_default(sock.send_timeout, sock.conf.send_timeout());
        log_debug(sock.log(), &format!("stream lua tcp socket send timeout: {timeout}"));
        if let Err(msg) = set_nodelay(sess, sock.c) {
            return fail(l, msg);
        }
        if !sock.out.fill(sess, data) {
            return err("no memory");
        }
        match send_some(sock) {
            Ok(true) => {
                let len = sock.out.len();
                sock.out.release(sess);
                raw::lua_pushinteger(l, len as _);
                Ok(1)
            }
            Ok(false) => {
                ensure_yieldable(l)?;
                let c = sock.c;
                if ngx_handle_write_event((*c).write, 0) != NGX_OK as isize {
                    return fail(l, b"failed to add event");
                }
                if timeout > 0 {
                    ngx_add_timer((*c).write, timeout);
                }
                sock.writer = (*sess).cur;
                (*sock.writer).pending = Some(cancel_wait);
                (*sock.writer).wait_obj = sock as *mut TcpSocket as *mut c_void;
                yield_values(0)
            }
            Err(errno) => {
                sock.write_closed = true;
                sock.out.release(sess);
                fail(l, errno_text(errno).as_bytes())
            }
        }
    }
}

/// Sets TCP_NODELAY on the first send when the server's `tcp_nodelay` is on (as upstream).
unsafe fn set_nodelay(sess: *mut Session, c: *mut ngx_connection_t) -> Result<(), &'static [u8]> {
    // SAFETY: c is a live connection; the session's server conf is live.
    unsafe {
        if (*c).tcp_nodelay() != ngx_connection_tcp_nodelay_e_NGX_TCP_NODELAY_UNSET {
            return Ok(());
        }
        let s = (*sess).s;
        if !s.is_null() {
            let cscf = *(*s).srv_conf.add(ngx_stream_core_module.ctx_index) as *const ngx_stream_core_srv_conf_t;
            if (*cscf).tcp_nodelay == 0 {
                return Ok(());
            }
        }
        log_debug((*c).log, "stream lua socket tcp_nodelay");
        let on: c_int = 1;
        if libc::setsockopt((*c).fd, libc::IPPROTO_TCP, libc::TCP_NODELAY, &on as *const c_int as *const c_void, 4)
            == -1
        {
            return Err(b"setsocketopt tcp_nodelay failed");
        }
        (*c).set_tcp_nodelay(ngx_connection_tcp_nodelay_e_NGX_TCP_NODELAY_SET);
        Ok(())
    }
}

unsafe fn write_ready(sock: &mut TcpSocket) {
    // SAFETY: the socket's writer waits; its connection and session are live.
    unsafe {
        let c = sock.c;
        let wev = (*c).write;
        let t = sock.writer;
        let co = (*t).co;
        let n = if (*wev).timedout() != 0 {
            (*wev).set_timedout(0);
            if sock.conf.log_errors() {
                log_error(NGX_LOG_ERR, sock.log(), 0, b"stream lua tcp socket write timed out");
            }
            sock.write_closed = true;
            raw::lua_pushnil(co);
            push_bytes(co, b"timeout");
            2
        } else {
            match send_some(sock) {
                Ok(false) => {
                    if ngx_handle_write_event(wev, 0) == NGX_OK as isize {
                        return;
                    }
                    sock.write_closed = true;
                    raw::lua_pushnil(co);
                    push_bytes(co, b"failed to add event");
                    2
                }
                Ok(true) => {
                    raw::lua_pushinteger(co, sock.out.len() as _);
                    1
                }
                Err(errno) => {
                    sock.write_closed = true;
                    raw::lua_pushnil(co);
                    push_bytes(co, errno_text(errno).as_bytes());
                    2
                }
            }
        };
        if (*wev).timer_set() != 0 {
            ngx_del_timer(wev);
        }
        sock.out.release(sock.sess);
        sock.writer = ptr::null_mut();
        (*t).pending = None;
        (*t).wait_obj = ptr::null_mut();
        wake(sock.sess, t, n);
    }
}

// ---------------------------------------------------------------------------------------
// close, timeouts, options, keepalive

unsafe fn close_impl(l: *mut lua_State) -> LuaResult {
    // SAFETY: l is the running coroutine.
    unsafe {
        let n = raw::lua_gettop(l);
        if n != 1 {
            return err(format!("expecting 1 argument (including the object) but seen {n}"));
        }
        let (_, sock) = this_in_session(l, "close")?;
        if !sock.connected() {
            return fail(l, b"closed");
        }
        if let Some(busy) = sock.busy() {
            return fail(l, busy);
        }
        sock.close_connection();
        sock.unlink();
        raw::lua_pushinteger(l, 1);
        Ok(1)
    }
}

unsafe fn settimeout_impl(l: *mut lua_State) -> LuaResult {
    // SAFETY: l is the running coroutine.
    unsafe {
        let n = raw::lua_gettop(l);
        if n != 2 {
            return err(format!("ngx.socket settimout: expecting 2 arguments (including the object) but seen {n}"));
        }
        let ms = timeout_arg(l, 2)?;
        let sock = this(l, "settimeout")?;
        (sock.connect_timeout, sock.send_timeout, sock.read_timeout) = (ms, ms, ms);
        Ok(0)
    }
}

unsafe fn settimeouts_impl(l: *mut lua_State) -> LuaResult {
    // SAFETY: l is the running coroutine.
    unsafe {
        let n = raw::lua_gettop(l);
        if n != 4 {
            return err(format!("ngx.socket settimout: expecting 4 arguments (including the object) but seen {n}"));
        }
        let (connect, send, read) = (timeout_arg(l, 2)?, timeout_arg(l, 3)?, timeout_arg(l, 4)?);
        let sock = this(l, "settimeouts")?;
        (sock.connect_timeout, sock.send_timeout, sock.read_timeout) = (connect, send, read);
        Ok(0)
    }
}

/// `setoption(name, value)`: keepalive, reuseaddr, tcp-nodelay, sndbuf, rcvbuf.
unsafe fn setoption_impl(l: *mut lua_State) -> LuaResult {
    // SAFETY: l is the running coroutine.
    unsafe {
        let n = raw::lua_gettop(l);
        if n != 3 {
            return err(format!("expecting 3 arguments (including the object), but got {n}"));
        }
        let (_, sock) = this_in_session(l, "setoption")?;
        if !sock.connected() {
            return fail(l, b"closed");
        }
        let name = match raw::lua_type(l, 2) {
            LUA_TSTRING => to_bytes(l, 2).unwrap_or_default().to_vec(),
            t => {
                let got = type_name(l, t);
                return Err(LuaError::Arg(2, "setoption", format!("string expected, got {got}")));
            }
        };
        let value: c_int = match raw::lua_type(l, 3) {
            LUA_TBOOLEAN => raw::lua_toboolean(l, 3),
            LUA_TNUMBER => raw::lua_tointeger(l, 3) as c_int,
            t => {
                let got = type_name(l, t);
                return Err(LuaError::Arg(3, "setoption", format!("number or boolean expected, got {got}")));
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
                return Err(LuaError::Arg(2, "setoption", format!("unsupported option {other}")));
            }
        };
        let rc = libc::setsockopt(
            (*sock.c).fd,
            level,
            opt,
            &value as *const c_int as *const c_void,
            std::mem::size_of::<c_int>() as libc::socklen_t,
        );
        if rc == -1 {
            let errno = std::io::Error::last_os_error().raw_os_error().unwrap_or(0);
            return fail(l, errno_text(errno).as_bytes());
        }
        raw::lua_pushboolean(l, 1);
        Ok(1)
    }
}

unsafe fn getreusedtimes_impl(l: *mut lua_State) -> LuaResult {
    // SAFETY: l is the running coroutine.
    unsafe {
        let n = raw::lua_gettop(l);
        if n != 1 {
            return err(format!("expecting 1 argument (including the object), but got {n}"));
        }
        let sock = this(l, "getreusedtimes")?;
        if !sock.connected() {
            return fail(l, b"closed");
        }
        raw::lua_pushinteger(l, sock.reused as _);
        Ok(1)
    }
}

unsafe fn setkeepalive_impl(l: *mut lua_State) -> LuaResult {
    // SAFETY: l is the running coroutine.
    unsafe {
        let n = raw::lua_gettop(l);
        if !(1..=3).contains(&n) {
            return err(format!("expecting 1 to 3 arguments (including the object), but got {n}"));
        }
        let timeout = if n >= 2 && raw::lua_type(l, 2) != LUA_TNIL {
            if raw::lua_isnumber(l, 2) == 0 {
                let got = type_name(l, raw::lua_type(l, 2));
                return Err(LuaError::Arg(2, "setkeepalive", format!("number expected, got {got}")));
            }
            Some(raw::lua_tointeger(l, 2).max(0) as ngx_msec_t)
        } else {
            None
        };
        let size = if n >= 3 && raw::lua_type(l, 3) != LUA_TNIL {
            if raw::lua_isnumber(l, 3) == 0 {
                let got = type_name(l, raw::lua_type(l, 3));
                return Err(LuaError::Arg(3, "setkeepalive", format!("number expected, got {got}")));
            }
            Some(raw::lua_tointeger(l, 3))
        } else {
            None
        };
        let (_, sock) = this_in_session(l, "setkeepalive")?;
        if !sock.connected() || sock.recv.read_closed || sock.write_closed {
            return fail(l, b"closed");
        }
        if let Some(busy) = sock.busy() {
            return fail(l, busy);
        }
        if !sock.recv.pending().is_empty() {
            return fail(l, b"unread data in buffer");
        }
        let c = sock.c;
        let (rev, wev) = ((*c).read, (*c).write);
        if (*rev).eof() != 0
            || (*rev).error() != 0
            || (*rev).timedout() != 0
            || (*wev).error() != 0
            || (*wev).timedout() != 0
        {
            return fail(l, b"invalid connection");
        }
        if ngx_handle_read_event(rev, 0) != NGX_OK as isize {
            return fail(l, b"failed to handle read event");
        }
        if ngx_terminate != 0 || ngx_exiting != 0 {
            log_debug(
                sock.log(),
                &format!("stream lua tcp socket set keepalive while process exiting, closing connection {:p}", c),
            );
            sock.close_connection();
            raw::lua_pushinteger(l, 1);
            return Ok(1);
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
        sock.c = ptr::null_mut();
        let key = sock.pool_key.clone();
        let idle = Idle { c, reused: sock.reused };
        let counted = std::mem::take(&mut sock.in_pool);
        let log = sock.log();
        sock.close_connection();
        sock.unlink();
        if !socket_pool::put(&key, pool_size.max(1) as usize, idle, timeout, counted, log) {
            return fail(l, b"connection in dubious state");
        }
        raw::lua_pushinteger(l, 1);
        Ok(1)
    }
}

/// `shutdown("send")`: no more writes; the peer sees the end of the data.
unsafe fn shutdown_impl(l: *mut lua_State) -> LuaResult {
    // SAFETY: l is the running coroutine.
    unsafe {
        let n = raw::lua_gettop(l);
        if n != 2 {
            return err(format!("expecting 2 arguments (including the object) but seen {n}"));
        }
        let (_, sock) = this_in_session(l, "shutdown")?;
        if !sock.connected() || (sock.recv.read_closed && sock.write_closed) {
            return fail(l, b"closed");
        }
        if sock.write_closed {
            return fail(l, b"already shutdown");
        }
        if let Some(busy) = sock.busy().filter(|b| *b != b"socket busy reading") {
            return fail(l, busy);
        }
        let dir = match raw::lua_type(l, 2) {
            LUA_TSTRING | LUA_TNUMBER => to_bytes(l, 2).unwrap_or_default().to_vec(),
            t => {
                let got = type_name(l, t);
                return Err(LuaError::Arg(2, "shutdown", format!("string expected, got {got}")));
            }
        };
        if dir.is_empty() {
            return fail(l, b"pattern is empty");
        }
        if dir != b"send" {
            let arg = String::from_utf8_lossy(&dir).into_owned();
            return Err(LuaError::Arg(2, "shutdown", format!("bad shutdown argument: {arg}")));
        }
        log_debug(sock.log(), "stream lua shutdown socket write direction");
        sock.write_closed = true;
        if libc::shutdown((*sock.c).fd, libc::SHUT_WR) == -1 {
            let errno = std::io::Error::last_os_error().raw_os_error().unwrap_or(0);
            return fail(l, errno_text(errno).as_bytes());
        }
        raw::lua_pushinteger(l, 1);
        Ok(1)
    }
}

/// `bind(address)`: the local IP address the next connect uses.
unsafe fn bind_impl(l: *mut lua_State) -> LuaResult {
    // SAFETY: l is the running coroutine.
    unsafe {
        let n = raw::lua_gettop(l);
        if n != 2 {
            return err(format!("expecting 2 arguments (including the object), but got {n}"));
        }
        let sock = this(l, "bind")?;
        let addr = match raw::lua_type(l, 2) {
            LUA_TSTRING => to_bytes(l, 2).unwrap_or_default().to_vec(),
            t => {
                let got = type_name(l, t);
                return Err(LuaError::Arg(2, "bind", format!("string expected, got {got}")));
            }
        };
        let text = String::from_utf8_lossy(&addr).into_owned();
        let ip: Option<std::net::IpAddr> = text.trim_start_matches('[').trim_end_matches(']').parse().ok();
        let Some(ip) = ip else {
            return fail(l, b"bad address");
        };
        sock.local = Some(sockaddr_bytes(&std::net::SocketAddr::new(ip, 0)));
        raw::lua_pushinteger(l, 1);
        Ok(1)
    }
}
