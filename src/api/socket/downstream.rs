//! `ngx.req.socket()`: the downstream connection as a raw cosocket. Reads are parsed from a
//! per-session buffer; when more bytes are needed the thread waits on the connection's read
//! event (with the read timeout) and is resumed with the results. Sends write straight to the
//! connection, not through nginx's output chain, and wait (with the send timeout) for the
//! client's socket to take what is left.

use std::ffi::{c_int, c_void, CStr};
use std::ptr;

use crate::api::socket::out::send_data;
use crate::api::{check_phase, current_session};
use crate::runtime::downstream::ignore_event;
use crate::runtime::handle::SessionRef;
use crate::runtime::scheduler::wake;
use crate::runtime::session::{Phase, Session};
use crate::runtime::thread::Thread;
use crate::sys::*;
use crate::{lua_api, lua_calls};

use crate::api::socket::errno_text;
use crate::api::socket::recv::{
    or_default, push_read, push_until_iterator, receive_pattern, receiveany_max, timeout_value, until_args,
    until_iterator_args, Pattern, Read, RecvBuf,
};

const METATABLE: &CStr = c"ngx_lua_req_socket_mt";

pub struct ReqSocket {
    recv: RecvBuf,
    read_timeout: ngx_msec_t,
    send_timeout: ngx_msec_t,
    connect_timeout: ngx_msec_t,
    /// Sending is over: shut down, or a send failed or timed out.
    write_closed: bool,
    /// The bytes of the send in progress, how many have left, its length, and the thread
    /// waiting for it.
    out: Vec<u8>,
    out_pos: usize,
    out_len: usize,
    writer: *mut Thread,
    /// `lua_socket_log_errors`
    log_errors: bool,
    /// The server's `lua_socket_*` settings (a timeout set to 0 goes back to them).
    conf: crate::conf::SocketConf,
    /// The read a waiting thread asked for, and that thread.
    waiting_read: Option<Pattern>,
    reader: *mut Thread,
    /// A receive took the bytes nginx had already read (the preread buffer): no more peeking.
    consumed: bool,
    /// The thread waiting in `peek` for the preread phase to read more.
    peeker: *mut Thread,
}

/// The session's request socket state, once `ngx.req.socket()` made it.
unsafe fn req_sock<'a>(sess: *mut Session) -> Option<&'a mut ReqSocket> {
    // SAFETY: sess is live; the state is only reached through here, one borrow at a time.
    unsafe { (*sess).req_sock.as_deref_mut()?.downcast_mut() }
}

const UDATA_METATABLE: &CStr = c"ngx_lua_req_socket_udata_mt";
/// Where a request socket object keeps its session's id.
const OWNER_ID_INDEX: i64 = 3;

unsafe fn sock_gc_impl(_l: *mut lua_State) -> LuaResult {
    log_debug(cycle_log(), "stream lua finalize socket");
    Ok(0)
}

lua_calls! {
    sock_settimeout => settimeout_impl,
    sock_settimeouts => settimeouts_impl,
    sock_receiveuntil => receiveuntil_impl,
}

lua_api! {
    sock_gc => sock_gc_impl,
    req_socket => req_socket_impl,
    sock_receive => receive_impl,
    sock_receiveany => receiveany_impl,
    sock_send => send_impl,
    sock_shutdown => shutdown_impl,
    sock_peek => peek_impl,
    until_iterator => until_iterator_impl,
}

/// Adds `ngx.req` with `socket`, and the method table of request sockets.
pub fn inject(c: &mut Call, t: c_int) {
    let req = c.new_table(0, 2);
    c.set_field_fn(req, c"socket", req_socket);
    c.set_field(t, c"req");

    // one table holds the methods and is its own __index, as upstream's (pairs() over the
    // metatable counts 9 entries); there is no `close`: upstream's request socket has none
    c.register_methods(
        METATABLE,
        &[
            (c"receive", sock_receive),
            (c"receiveany", sock_receiveany),
            (c"send", sock_send),
            (c"settimeout", sock_settimeout),
            (c"settimeouts", sock_settimeouts),
            (c"shutdown", sock_shutdown),
            (c"receiveuntil", sock_receiveuntil),
            (c"peek", sock_peek),
        ],
    );
    c.register_gc(UDATA_METATABLE, sock_gc);
    crate::api::socket::downstream_udp::inject(c);
}

unsafe fn req_socket_impl(l: *mut lua_State) -> LuaResult {
    // SAFETY: l is the running coroutine.
    unsafe {
        let n = raw::lua_gettop(l);
        if n > 1 {
            return err(format!("expecting zero arguments, but got {n}"));
        }
        let sess = current_session(l)?;
        check_phase(&*sess, &[Phase::Content, Phase::Preread])?;
        let s = &mut *sess;
        let c = s.connection();
        let udp = (*c).type_ == libc::SOCK_DGRAM;
        if !udp && (*c).buffered() != 0 {
            raw::lua_pushnil(l);
            push_bytes(l, b"pending data to write");
            return Ok(2);
        }
        if s.req_sock.is_some() || s.udp_sock_taken {
            raw::lua_pushnil(l);
            push_bytes(l, b"duplicate call");
            return Ok(2);
        }
        if udp {
            s.udp_sock_taken = true;
            return Ok(crate::api::socket::downstream_udp::new_object(l, sess));
        }
        let conf = crate::conf::srv_conf_of(s.s).socket;
        let rs = Box::new(ReqSocket {
            recv: RecvBuf::with_eof_error(
                crate::conf::srv_conf_of(s.s).check_client_abort.unwrap_or(false).then_some("client aborted"),
            ),
            read_timeout: conf.read_timeout() as ngx_msec_t,
            send_timeout: conf.send_timeout() as ngx_msec_t,
            connect_timeout: conf.connect_timeout() as ngx_msec_t,
            write_closed: false,
            out: Vec::new(),
            out_pos: 0,
            out_len: 0,
            writer: ptr::null_mut(),
            log_errors: conf.log_errors(),
            conf,
            waiting_read: None,
            reader: ptr::null_mut(),
            consumed: false,
            peeker: ptr::null_mut(),
        });
        let mut rs = rs;
        rs.recv.set_chunk(conf.buffer_size());
        s.req_sock = Some(rs);
        for ev in [(*c).read, (*c).write] {
            if (*ev).timer_set() != 0 {
                ngx_del_timer(ev);
            }
        }
        raw::lua_settop(l, 0);
        raw::lua_createtable(l, 3, 0);
        set_owner(l, sess);
        // a marker whose collection is logged, as upstream finalizes the object then
        raw::lua_newuserdata(l, 0);
        raw::lua_getfield(l, LUA_REGISTRYINDEX, UDATA_METATABLE.as_ptr());
        raw::lua_setmetatable(l, -2);
        raw::lua_rawseti(l, 1, 2);
        raw::lua_getfield(l, LUA_REGISTRYINDEX, METATABLE.as_ptr());
        raw::lua_setmetatable(l, 1);
        Ok(1)
    }
}

/// Marks the new socket object at stack index 1 as the session's (TCP and UDP).
pub unsafe fn set_owner(l: *mut lua_State, sess: *mut Session) {
    // SAFETY: index 1 holds the new object; sess is the running session.
    unsafe {
        raw::lua_pushlightuserdata(l, sess as *mut c_void);
        raw::lua_rawseti(l, 1, 1);
        raw::lua_pushnumber(l, (*sess).id as f64);
        raw::lua_rawseti(l, 1, OWNER_ID_INDEX);
    }
}

/// Checks that `self` (argument 1) is a request socket object of the running session (TCP or
/// UDP: both keep their session at index 1) and returns that session.
pub unsafe fn this_session(l: *mut lua_State, fname: &'static str) -> Result<*mut Session, LuaError> {
    // SAFETY: l is the running coroutine; argument 1 should be a socket object.
    unsafe {
        if raw::lua_type(l, 1) != LUA_TTABLE {
            let got = type_name(l, raw::lua_type(l, 1));
            return Err(LuaError::Arg(1, fname, format!("table expected, got {got}")));
        }
        raw::lua_rawgeti(l, 1, OWNER_ID_INDEX);
        let owner = raw::lua_tonumber(l, -1) as u64;
        raw::lua_settop(l, -2);
        let sess = current_session(l)?;
        if owner != (*sess).id {
            // upstream finds the socket of an ended session closed; a live one is another's
            if !crate::runtime::session::is_live(owner) {
                return Err(LuaError::Fail(b"closed"));
            }
            return err("bad request");
        }
        Ok(sess)
    }
}

/// The running session, when `self` (argument 1) is its request socket object: an ended
/// session's socket is closed (`nil, "closed"`), another live one's is a `bad request`.
pub(crate) fn owner_session<'c>(c: &mut Call<'c>, fname: &'static str) -> Result<SessionRef<'c>, LuaError> {
    if c.type_of(1) != LUA_TTABLE {
        return c.arg_error(1, fname, format!("table expected, got {}", c.type_name_at(1)));
    }
    c.raw_geti(1, OWNER_ID_INDEX);
    let owner = c.to_number(-1) as u64;
    c.pop(1);
    let sess = SessionRef::current(c)?;
    if owner != sess.with(|s| s.id) {
        if !crate::runtime::session::is_live(owner) {
            return Err(LuaError::Fail(b"closed"));
        }
        return err("bad request");
    }
    Ok(sess)
}

/// Runs `f` on the session's TCP request socket, returning nothing to Lua (`bad request` when
/// the session has none).
fn with_req_sock(sess: SessionRef, f: impl FnOnce(&mut ReqSocket)) -> LuaResult {
    let found = sess.with(|s| s.req_sock.as_deref_mut().and_then(|rs| rs.downcast_mut::<ReqSocket>()).map(f));
    found.map_or_else(|| err("bad request"), |()| Ok(0))
}

/// Checks `self` and returns the session and its TCP request socket.
unsafe fn this_in_session<'a>(
    l: *mut lua_State,
    fname: &'static str,
) -> Result<(*mut Session, &'a mut ReqSocket), LuaError> {
    // SAFETY: this_session checked the object and the session.
    unsafe {
        let sess = this_session(l, fname)?;
        match req_sock(sess) {
            Some(rs) => Ok((sess, rs)),
            None => err("bad request"),
        }
    }
}

impl ReqSocket {
    /// A thread already waits in `receive*` or `peek` (upstream's "socket busy reading").
    fn busy_reading(&self) -> bool {
        self.waiting_read.is_some() || !self.peeker.is_null()
    }

    /// Sets the timeouts in ms; 0 goes back to the server's `lua_socket_*` value.
    fn set_timeouts(&mut self, connect: ngx_msec_t, send: ngx_msec_t, read: ngx_msec_t) {
        self.connect_timeout = or_default(connect, self.conf.connect_timeout());
        self.send_timeout = or_default(send, self.conf.send_timeout());
        self.read_timeout = or_default(read, self.conf.read_timeout());
    }

    /// Serves `pat`: first from the bytes nginx already read (the preread buffer, which peek
    /// looks at), then from the connection.
    fn read(&mut self, c: Conn, pat: Pattern) -> Read {
        if !self.consumed {
            self.consumed = true;
            if let Some(data) = c.take_buffered(usize::MAX) {
                self.recv.push(&data);
            }
        }
        self.recv.read(c, pat)
    }
}

/// Starts a read; yields when it has to wait.
unsafe fn start_read(l: *mut lua_State, sess: *mut Session, pat: Pattern) -> LuaResult {
    // SAFETY: sess and its socket are live; the wait is cancelled if the session goes away.
    unsafe {
        let c = (*sess).connection();
        let rs = req_sock(sess).expect("request socket");
        if rs.recv.read_closed {
            // upstream's wording differs per method; its receiveuntil iterators log nothing
            let prefix = match pat {
                Pattern::Until(..) => None,
                Pattern::Any(_) => Some(""),
                _ => Some("stream "),
            };
            if let (true, Some(prefix)) = (rs.log_errors, prefix) {
                let msg = format!(
                    "{prefix}attempt to receive data on a closed socket: u:{:p}, c:{:p}",
                    rs as *const ReqSocket, c
                );
                log_error(NGX_LOG_ERR, (*c).log, 0, msg.as_bytes());
            }
            raw::lua_pushnil(l);
            push_bytes(l, b"closed");
            return Ok(2);
        }
        if rs.busy_reading() {
            raw::lua_pushnil(l);
            push_bytes(l, b"socket busy reading");
            return Ok(2);
        }
        match rs.read(Conn::from_raw(c).expect("the downstream connection"), pat) {
            Read::Again => {}
            r => return Ok(push_read(&mut Call::nested(l), r)),
        }
        ensure_yieldable(l)?;
        if let Some(log) = Conn::from_raw(c).and_then(Conn::log) {
            log.debug(&format!("stream lua tcp socket read timeout: {}", rs.read_timeout));
        }
        rs.waiting_read = Some(pat);
        let t = (*sess).cur;
        rs.reader = t;
        let rev = (*c).read;
        (*rev).handler = Some(on_readable);
        if rs.read_timeout > 0 {
            // the thread's own timer: nginx's preread phase manages the read event's timer
            (*t).sleep_ev.arm(rs.read_timeout, read_timed_out, t as *mut c_void, (*c).log);
        }
        if ngx_handle_read_event(rev, 0) != NGX_OK as isize {
            cancel_read(sess, (*sess).cur);
            raw::lua_pushnil(l);
            push_bytes(l, b"failed to wait for the client");
            return Ok(2);
        }
        (*(*sess).cur).pending = Some(cancel_read);
        yield_values(0)
    }
}

unsafe fn cancel_read(sess: *mut Session, _t: *mut Thread) {
    // SAFETY: sess is live; its connection's read event was armed by start_read.
    unsafe {
        if let Some(rs) = req_sock(sess) {
            let t = rs.reader;
            if !t.is_null() {
                (*t).sleep_ev.disarm();
            }
            rs.reader = ptr::null_mut();
        }
        crate::api::abort::idle_read_handler(sess);
        if let Some(rs) = req_sock(sess) {
            rs.waiting_read = None;
        }
    }
}

/// The read timeout of a waiting receive.
unsafe extern "C" fn read_timed_out(ev: *mut ngx_event_t) {
    guard((), || {
        // SAFETY: ev->data is the reading thread, still live (its timer dies with it).
        unsafe {
            let t = (*ev).data as *mut Thread;
            let sess = (*t).sess;
            let Some(rs) = req_sock(sess) else { return };
            let Some(pat) = rs.waiting_read else { return };
            if rs.log_errors {
                log_error(NGX_LOG_ERR, (*sess).log(), 0, b"stream lua tcp socket read timed out");
            }
            let r = rs.recv.fail(pat, "timeout".into());
            (*t).pending = None;
            cancel_read(sess, t);
            let n = push_read(&mut Call::nested((*t).co), r);
            wake(sess, t, n);
        }
    })
}

unsafe extern "C" fn on_readable(rev: *mut ngx_event_t) {
    guard((), || {
        // SAFETY: rev belongs to a live session's connection (rev->data = c, c->data = s).
        unsafe {
            let c = (*rev).data as *mut ngx_connection_t;
            let sess = Session::of((*c).data as *mut ngx_stream_session_t);
            let Some(sess) = sess else { return };
            let Some(rs) = req_sock(sess) else { return };
            let Some(pat) = rs.waiting_read else { return };
            let r = if (*rev).timedout() != 0 {
                (*rev).set_timedout(0);
                if rs.log_errors {
                    log_error(NGX_LOG_ERR, (*c).log, 0, b"stream lua tcp socket read timed out");
                }
                rs.recv.fail(pat, "timeout".into())
            } else {
                rs.read(Conn::from_raw(c).expect("the downstream connection"), pat)
            };
            let t = rs.reader;
            let r = match r {
                Read::Again if ngx_handle_read_event(rev, 0) == NGX_OK as isize => return,
                Read::Again => rs.recv.fail(pat, "failed to wait for the client".into()),
                r => r,
            };
            (*t).pending = None;
            cancel_read(sess, t);
            let n = push_read(&mut Call::nested((*t).co), r);
            wake(sess, t, n);
        }
    })
}

unsafe fn receive_impl(l: *mut lua_State) -> LuaResult {
    // SAFETY: l is the running coroutine.
    unsafe {
        let n = raw::lua_gettop(l);
        if n != 1 && n != 2 {
            return err(format!("expecting 1 or 2 arguments (including the object), but got {n}"));
        }
        let (sess, _) = this_in_session(l, "receive")?;
        let Some(pat) = receive_pattern(&Call::nested(l), n)? else {
            push_bytes(l, b"");
            return Ok(1);
        };
        start_read(l, sess, pat)
    }
}

/// `peek(n)` (preread only): the first `n` bytes from the client, left in nginx's preread
/// buffer so that later phases (proxy_pass) still see them. When fewer have arrived, the
/// thread waits while the preread phase reads more (within `preread_buffer_size` and
/// `preread_timeout`, as nginx enforces them).
unsafe fn peek_impl(l: *mut lua_State) -> LuaResult {
    // SAFETY: l is the running coroutine.
    unsafe {
        let sess = current_session(l)?;
        check_phase(&*sess, &[Phase::Preread])?;
        let n = raw::lua_gettop(l);
        if n != 2 {
            return err(format!("expecting 2 arguments (including the object), but got {n}"));
        }
        let (sess, rs) = this_in_session(l, "peek")?;
        if rs.consumed {
            return err("attempt to peek on a consumed socket");
        }
        if rs.busy_reading() {
            raw::lua_pushnil(l);
            push_bytes(l, b"socket busy reading");
            return Ok(2);
        }
        if raw::lua_isnumber(l, 2) == 0 {
            return err("argument must be a number");
        }
        let bytes = raw::lua_tointeger(l, 2);
        if bytes < 0 {
            return Err(LuaError::Arg(2, "peek", "bytes can not be negative".into()));
        }
        if bytes == 0 {
            push_bytes(l, b"");
            return Ok(1);
        }
        if let Some(data) = peeked((*sess).connection(), bytes as usize) {
            push_bytes(l, data);
            return Ok(1);
        }
        // any thread may wait here (a light thread too), one at a time
        let t = (*sess).cur;
        ensure_yieldable(l)?;
        rs.peeker = t;
        (*sess).peek_need = Some(bytes as usize);
        (*t).pending = Some(cancel_peek);
        if !(*sess).in_handler {
            // a wait started from an event (after a sleep, ...): let the preread phase run
            (*t).sleep_ev.post(run_phases, sess as *mut c_void, (*sess).log());
        }
        yield_values(0)
    }
}

/// The first `n` bytes of nginx's preread buffer, when that many have arrived.
pub unsafe fn peeked<'a>(c: *mut ngx_connection_t, n: usize) -> Option<&'a [u8]> {
    // SAFETY: c->buffer, when set, holds unread bytes in [pos, last).
    unsafe {
        let b = (*c).buffer;
        if b.is_null() || ((*b).last.offset_from((*b).pos) as usize) < n {
            return None;
        }
        Some(std::slice::from_raw_parts((*b).pos, n))
    }
}

/// The thread waiting in `peek`, no longer waiting (null when none).
pub unsafe fn take_peeker(sess: *mut Session) -> *mut Thread {
    // SAFETY: sess is live.
    unsafe {
        match req_sock(sess) {
            Some(rs) => std::mem::replace(&mut rs.peeker, ptr::null_mut()),
            None => ptr::null_mut(),
        }
    }
}

unsafe fn cancel_peek(sess: *mut Session, t: *mut Thread) {
    // SAFETY: sess and t are live.
    unsafe {
        (*sess).peek_need = None;
        take_peeker(sess);
        (*t).sleep_ev.disarm();
    }
}

unsafe extern "C" fn run_phases(ev: *mut ngx_event_t) {
    guard((), || {
        // SAFETY: ev->data is the waiting session, still live (its events die with it).
        unsafe { ngx_stream_core_run_phases((*((*ev).data as *mut Session)).s) }
    })
}

fn receiveuntil_impl(c: &mut Call) -> LuaResult {
    let (pattern, inclusive) = match until_args(c)? {
        Ok(args) => args,
        Err(nret) => return Ok(nret),
    };
    let sess = owner_session(c, "receiveuntil")?;
    let idx = sess.with(|s| {
        let rs = s.req_sock.as_deref_mut().and_then(|rs| rs.downcast_mut::<ReqSocket>())?;
        Some(rs.recv.add_until(pattern, inclusive))
    });
    let Some(idx) = idx else {
        return err("bad request");
    };
    push_until_iterator(c, idx, until_iterator);
    Ok(1)
}

unsafe fn until_iterator_impl(l: *mut lua_State) -> LuaResult {
    // SAFETY: l is the running coroutine.
    unsafe {
        let (idx, size) = until_iterator_args(&mut Call::nested(l))?;
        let (sess, _) = this_in_session(l, "iterator")?;
        raw::lua_settop(l, 0);
        start_read(l, sess, Pattern::Until(idx, size))
    }
}

unsafe fn receiveany_impl(l: *mut lua_State) -> LuaResult {
    // SAFETY: l is the running coroutine.
    unsafe {
        let n = raw::lua_gettop(l);
        if n != 2 {
            return err(format!("expecting 2 arguments (including the object), but got {n}"));
        }
        let (sess, _) = this_in_session(l, "receiveany")?;
        let max = receiveany_max(&Call::nested(l))?;
        log_debug((*sess).log(), "stream lua tcp socket read any");
        start_read(l, sess, Pattern::Any(max))
    }
}

unsafe fn send_impl(l: *mut lua_State) -> LuaResult {
    // SAFETY: l is the running coroutine.
    unsafe {
        let n = raw::lua_gettop(l);
        if n != 2 {
            return err(format!("expecting 2 arguments (including the object), but got {n}"));
        }
        let (sess, rs) = this_in_session(l, "send")?;
        let c = (*sess).connection();
        if rs.write_closed {
            if rs.log_errors {
                let msg = format!("attempt to send data on a closed socket: u:{:p}, c:{:p}", rs as *const ReqSocket, c);
                log_error(NGX_LOG_ERR, (*sess).log(), 0, msg.as_bytes());
            }
            raw::lua_pushnil(l);
            push_bytes(l, b"closed");
            return Ok(2);
        }
        // one send at a time, and none while nginx still holds ngx.say output (it would
        // overtake it), as upstream
        if !rs.writer.is_null() || (*c).buffered() != 0 {
            raw::lua_pushnil(l);
            push_bytes(l, b"socket busy writing");
            return Ok(2);
        }
        let data = send_data(&mut Call::nested(l), 2)?;
        if data.is_empty() {
            raw::lua_pushinteger(l, 0);
            return Ok(1);
        }
        log_debug((*sess).log(), &format!("stream lua tcp socket send timeout: {}", rs.send_timeout));
        let len = data.len();
        rs.out = data;
        rs.out_pos = 0;
        match rs.send_out(c) {
            Sent::All => {
                raw::lua_pushinteger(l, len as _);
                Ok(1)
            }
            Sent::Failed(errno) => {
                rs.write_closed = true;
                raw::lua_pushnil(l);
                push_bytes(l, errno_text(errno).as_bytes());
                Ok(2)
            }
            Sent::Again => {
                ensure_yieldable(l)?;
                let wev = (*c).write;
                (*wev).handler = Some(on_send_writable);
                if (*wev).timer_set() != 0 {
                    ngx_del_timer(wev);
                }
                ngx_add_timer(wev, rs.send_timeout);
                if ngx_handle_write_event(wev, 0) != NGX_OK as isize {
                    stop_send_wait(sess);
                    rs.write_closed = true;
                    raw::lua_pushnil(l);
                    push_bytes(l, b"failed to wait for the client");
                    return Ok(2);
                }
                rs.writer = (*sess).cur;
                rs.out_len = len;
                (*(*sess).cur).pending = Some(cancel_send);
                yield_values(0)
            }
        }
    }
}

/// How far a request socket send got.
enum Sent {
    All,
    /// The client's socket buffer is full: wait for the write event.
    Again,
    /// A send error (errno).
    Failed(i32),
}

impl ReqSocket {
    /// Writes what is left of the send in progress straight to the connection: request socket
    /// sends bypass nginx's output chain, so nginx never holds them (a session ending while one
    /// waits closes at once, as upstream's raw request socket).
    unsafe fn send_out(&mut self, c: *mut ngx_connection_t) -> Sent {
        // SAFETY: c is the live downstream connection; we send from our own buffer.
        unsafe {
            let Some(send) = (*c).send else { return Sent::Failed(0) };
            while self.out_pos < self.out.len() {
                let rest = &self.out[self.out_pos..];
                let n = send(c, rest.as_ptr() as *mut u8, rest.len());
                if n > 0 {
                    self.out_pos += n as usize;
                } else if n == NGX_AGAIN as isize || n == 0 {
                    return Sent::Again;
                } else {
                    let errno = std::io::Error::last_os_error().raw_os_error().unwrap_or(0);
                    (*c).set_error(1);
                    return Sent::Failed(errno);
                }
            }
            self.out.clear();
            self.out_pos = 0;
            Sent::All
        }
    }
}

/// The write event stops serving the send that waited.
unsafe fn stop_send_wait(sess: *mut Session) {
    // SAFETY: sess is live.
    unsafe {
        let wev = (*(*sess).connection()).write;
        if (*wev).timer_set() != 0 {
            ngx_del_timer(wev);
        }
        (*wev).handler = Some(ignore_event);
        if let Some(rs) = req_sock(sess) {
            rs.writer = ptr::null_mut();
        }
    }
}

unsafe fn cancel_send(sess: *mut Session, _t: *mut Thread) {
    // SAFETY: sess is live.
    unsafe { stop_send_wait(sess) }
}

/// The client's write event while a request socket send waits.
unsafe extern "C" fn on_send_writable(wev: *mut ngx_event_t) {
    guard((), || {
        // SAFETY: wev belongs to a live session's connection (wev->data = c, c->data = s).
        unsafe {
            let c = (*wev).data as *mut ngx_connection_t;
            let Some(sess) = Session::of((*c).data as *mut ngx_stream_session_t) else { return };
            let Some(rs) = req_sock(sess) else { return };
            let t = rs.writer;
            if t.is_null() {
                return;
            }
            let err = if (*wev).timedout() != 0 {
                (*wev).set_timedout(0);
                if rs.log_errors {
                    log_error(NGX_LOG_ERR, (*c).log, 0, b"stream lua tcp socket write timed out");
                }
                "timeout".to_string()
            } else {
                match rs.send_out(c) {
                    Sent::All => {
                        let len = rs.out_len;
                        stop_send_wait(sess);
                        (*t).pending = None;
                        raw::lua_pushinteger((*t).co, len as _);
                        wake(sess, t, 1);
                        return;
                    }
                    Sent::Again if ngx_handle_write_event(wev, 0) == NGX_OK as isize => return,
                    Sent::Again => "failed to wait for the client".to_string(),
                    Sent::Failed(errno) => errno_text(errno),
                }
            };
            // the write side is done for, as upstream finalizes it
            rs.write_closed = true;
            rs.out.clear();
            stop_send_wait(sess);
            (*t).pending = None;
            raw::lua_pushnil((*t).co);
            push_bytes((*t).co, err.as_bytes());
            wake(sess, t, 2);
        }
    })
}

fn settimeout_impl(c: &mut Call) -> LuaResult {
    let n = c.top();
    if n != 2 {
        return err(format!("ngx.socket settimout: expecting 2 arguments (including the object) but seen {n}"));
    }
    let ms = timeout_value(c.to_number(2))?;
    let sess = owner_session(c, "settimeout")?;
    with_req_sock(sess, |rs| rs.set_timeouts(ms, ms, ms))
}

fn settimeouts_impl(c: &mut Call) -> LuaResult {
    let n = c.top();
    if n != 4 {
        return err(format!("ngx.socket settimout: expecting 4 arguments (including the object) but seen {n}"));
    }
    let (connect, send, read) =
        (timeout_value(c.to_number(2))?, timeout_value(c.to_number(3))?, timeout_value(c.to_number(4))?);
    let sess = owner_session(c, "settimeouts")?;
    with_req_sock(sess, |rs| rs.set_timeouts(connect, send, read))
}

unsafe fn shutdown_impl(l: *mut lua_State) -> LuaResult {
    // SAFETY: l is the running coroutine.
    unsafe {
        let n = raw::lua_gettop(l);
        if n != 2 {
            return err(format!("expecting 2 arguments (including the object) but seen {n}"));
        }
        let (sess, rs) = this_in_session(l, "shutdown")?;
        if rs.write_closed {
            raw::lua_pushnil(l);
            push_bytes(l, b"already shutdown");
            return Ok(2);
        }
        // only in the content phase: later phases may still write to the client
        check_phase(&*sess, &[Phase::Content])?;
        if (*sess).eof {
            raw::lua_pushnil(l);
            push_bytes(l, b"seen eof");
            return Ok(2);
        }
        // no output after this
        (*sess).eof = true;
        if !rs.writer.is_null() {
            raw::lua_pushnil(l);
            push_bytes(l, b"socket busy writing");
            return Ok(2);
        }
        let dir = match raw::lua_type(l, 2) {
            LUA_TSTRING | LUA_TNUMBER => to_bytes(l, 2).unwrap_or_default().to_vec(),
            t => {
                let got = type_name(l, t);
                return Err(LuaError::Arg(2, "shutdown", format!("string expected, got {got}")));
            }
        };
        if dir.is_empty() {
            raw::lua_pushnil(l);
            push_bytes(l, b"pattern is empty");
            return Ok(2);
        }
        if dir != b"send" {
            let arg = String::from_utf8_lossy(&dir).into_owned();
            return Err(LuaError::Arg(2, "shutdown", format!("bad shutdown argument: {arg}")));
        }
        let c = (*sess).connection();
        if (*c).buffered() != 0 {
            // what nginx still holds goes out first
            crate::runtime::downstream::send_chain((*sess).s, ptr::null_mut());
        }
        rs.write_closed = true;
        log_debug((*c).log, "stream lua shutdown socket write direction");
        if libc::shutdown((*c).fd, libc::SHUT_WR) == -1 {
            let errno = std::io::Error::last_os_error().raw_os_error().unwrap_or(0);
            raw::lua_pushnil(l);
            push_bytes(l, errno_text(errno).as_bytes());
            return Ok(2);
        }
        raw::lua_pushinteger(l, 1);
        Ok(1)
    }
}
