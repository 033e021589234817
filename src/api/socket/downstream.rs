//! `ngx.req.socket()`: the downstream connection as a raw cosocket. Reads are parsed from a
//! per-session buffer; when more bytes are needed the thread waits on the connection's read
//! event (with the read timeout) and is resumed with the results. Sends write straight to the
//! connection, not through nginx's output chain, and wait (with the send timeout) for the
//! client's socket to take what is left.
//!
//! The socket's state lives in its session (`Session::req_sock`), not in the Lua object: the
//! object only names its session, so a socket of an ended session reads as closed.

use std::ffi::{c_int, c_void};

use crate::api::socket::errno_text;
use crate::api::socket::out::send_data_into;
use crate::api::socket::recv::{
    or_default, push_read, push_until_iterator, receive_pattern, receiveany_max, timeout_value, until_args,
    until_iterator_args, Pattern, Read, RecvBuf,
};
use crate::api::spare::Spare;
use crate::conf::SocketConf;
use crate::lua_calls;
use crate::ngx_callbacks;
use crate::runtime::downstream::{ignore_event, send_deferred};
use crate::runtime::handle::SessionRef;
use crate::runtime::live::LiveSession;
use crate::runtime::session::{Phase, Session};
use crate::runtime::thread::ThreadKey;
use crate::runtime::waiter::{Parked, Waiter};
use crate::sys::key_timer::KeyTimer;
use crate::sys::registry::Key;
use crate::sys::*;

const METATABLE: &RegKey = &reg::REQ_MT;

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
    writer: Waiter,
    /// `lua_socket_log_errors`
    log_errors: bool,
    /// The server's `lua_socket_*` settings (a timeout set to 0 goes back to them).
    conf: SocketConf,
    /// The read a waiting thread asked for, and that thread.
    waiting_read: Option<Pattern>,
    reader: Waiter,
    /// The read timeout of a waiting receive: a timer of its own, since nginx's preread phase
    /// manages the read event's timer.
    read_timer: KeyTimer,
    /// A receive took the bytes nginx had already read (the preread buffer): no more peeking.
    consumed: bool,
    /// The thread waiting in `peek` for the preread phase to read more (the preread handler
    /// resumes it itself, through `take_peeker`).
    peeker: Option<ThreadKey>,
}

/// The session's request socket state, once `ngx.req.socket()` made it.
fn req_sock(s: &mut Session) -> Option<&mut ReqSocket> {
    s.req_sock.as_deref_mut()?.downcast_mut()
}

const UDATA_METATABLE: &RegKey = &reg::REQ_UDATA_MT;
/// Where a request socket object keeps its session's id (what every method compares, one
/// read), and its session's key in two halves (each exact as a Lua number: the low and the
/// high 32 bits), for telling an ended session from another live one.
const OWNER_ID: i64 = 3;
const OWNER_KEY_LOW: i64 = 4;
const OWNER_KEY_HIGH: i64 = 5;

fn sock_gc_impl(_c: &mut Call) -> LuaResult {
    cycle_debug("stream lua finalize socket");
    Ok(0)
}

lua_calls! {
    sock_gc => sock_gc_impl,
    req_socket => req_socket_impl,
    sock_receive => receive_impl,
    sock_receiveany => receiveany_impl,
    sock_send => send_impl,
    sock_settimeout => settimeout_impl,
    sock_settimeouts => settimeouts_impl,
    sock_shutdown => shutdown_impl,
    sock_receiveuntil => receiveuntil_impl,
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

fn req_socket_impl(c: &mut Call) -> LuaResult {
    let n = c.top();
    if n > 1 {
        return err(format!("expecting zero arguments, but got {n}"));
    }
    let sess = SessionRef::current(c)?;
    sess.check_phase(&[Phase::Content, Phase::Preread])?;
    let conn = sess.conn().expect("a session in content or preread has a connection");
    let udp = conn.is_datagram();
    // ngx.say's deferred first output counts as pending: it is handed to nginx first
    if !udp && (sess.with(send_deferred) == NGX_ERROR as isize || conn.buffered()) {
        return c.fail(b"pending data to write");
    }
    if sess.with(|s| s.req_sock.is_some() || s.udp_sock_taken) {
        return c.fail(b"duplicate call");
    }
    if udp {
        sess.with(|s| s.udp_sock_taken = true);
        return Ok(crate::api::socket::downstream_udp::new_object(c, sess));
    }
    let srv = sess.srv_conf().expect("a session in content or preread has its server conf");
    let conf = srv.socket;
    let mut rs = Box::new(ReqSocket {
        recv: RecvBuf::with_eof_error(srv.check_client_abort.unwrap_or(false).then_some("client aborted")),
        read_timeout: conf.read_timeout() as ngx_msec_t,
        send_timeout: conf.send_timeout() as ngx_msec_t,
        connect_timeout: conf.connect_timeout() as ngx_msec_t,
        write_closed: false,
        out: Vec::new(),
        out_pos: 0,
        out_len: 0,
        writer: Waiter::new(),
        log_errors: conf.log_errors(),
        conf,
        waiting_read: None,
        reader: Waiter::new(),
        read_timer: KeyTimer::new(),
        consumed: false,
        peeker: None,
    });
    rs.recv.set_chunk(conf.buffer_size());
    sess.with(|s| s.req_sock = Some(rs));
    conn.clear_timer(Dir::Read);
    conn.clear_timer(Dir::Write);
    c.set_top(0);
    c.new_table(5, 0);
    set_owner(c, sess);
    // a marker whose collection is logged, as upstream finalizes the object then
    c.push_marker(UDATA_METATABLE);
    c.raw_seti(1, 2);
    c.set_registry_metatable(1, METATABLE);
    Ok(1)
}

/// Marks the new socket object at stack index 1 as the session's (TCP and UDP).
pub fn set_owner(c: &mut Call, sess: SessionRef) {
    let (p, id, key) = sess.with(|s| (s as *mut Session as *mut c_void, s.id, s.key.raw()));
    c.push_light(p);
    c.raw_seti(1, 1);
    c.push_int(id as i64);
    c.raw_seti(1, OWNER_ID as usize);
    c.push_int(i64::from(key as u32));
    c.raw_seti(1, OWNER_KEY_LOW as usize);
    c.push_int((key >> 32) as i64);
    c.raw_seti(1, OWNER_KEY_HIGH as usize);
}

/// The running session, when `self` (argument 1) is its request socket object (TCP or UDP:
/// both keep their session's id and key). None when that session ended: its socket is
/// closed; the socket of another live session is a `bad request`.
pub(crate) fn owner_session<'c>(c: &mut Call<'c>, fname: &'static str) -> Result<Option<SessionRef<'c>>, LuaError> {
    let Some(owner) = c.raw_geti_number(1, OWNER_ID) else {
        return c.arg_error(1, fname, format!("table expected, got {}", c.type_name_at(1)));
    };
    let owner = owner as u64;
    let sess = SessionRef::current(c)?;
    if owner == sess.with(|s| s.id) {
        return Ok(Some(sess));
    }
    // another session's: is that one still running? (its key names nothing once it went,
    // and a later session in its slot has another id)
    let low = c.raw_geti_number(1, OWNER_KEY_LOW).unwrap_or(0.0) as u64;
    let high = c.raw_geti_number(1, OWNER_KEY_HIGH).unwrap_or(0.0) as u64;
    match LiveSession::by_key(Key::from_raw((high << 32) | low)) {
        Some(other) if other.with(|s| s.id) == owner => err("bad request"),
        _ => Ok(None),
    }
}

/// `owner_session` for the TCP request socket: `bad request` when the session has none.
fn this<'c>(c: &mut Call<'c>, fname: &'static str) -> Result<Option<SessionRef<'c>>, LuaError> {
    let Some(sess) = owner_session(c, fname)? else { return Ok(None) };
    if sess.with(|s| req_sock(s).is_none()) {
        return err("bad request");
    }
    Ok(Some(sess))
}

/// Runs `f` on the session's TCP request socket (`this` checked that there is one).
fn with_sock<R>(sess: SessionRef, f: impl FnOnce(&mut ReqSocket) -> R) -> R {
    sess.with(|s| f(req_sock(s).expect("the session's request socket")))
}

impl ReqSocket {
    /// A thread already waits in `receive*` or `peek` (upstream's "socket busy reading").
    fn busy_reading(&self) -> bool {
        self.waiting_read.is_some() || self.peeker.is_some()
    }

    /// Sets the timeouts in ms; 0 goes back to the server's `lua_socket_*` value.
    fn set_timeouts(&mut self, connect: ngx_msec_t, send: ngx_msec_t, read: ngx_msec_t) {
        self.connect_timeout = or_default(connect, self.conf.connect_timeout());
        self.send_timeout = or_default(send, self.conf.send_timeout());
        self.read_timeout = or_default(read, self.conf.read_timeout());
    }

    /// Serves `pat`: first from the bytes nginx already read (the preread buffer, which peek
    /// looks at), then from the connection. When nginx only peeked at the bytes (they are
    /// still in the socket), they are read from the socket: taking the copy would deliver
    /// them twice, and leave them unread when the connection closes (a reset).
    fn read(&mut self, c: Conn, pat: Pattern) -> Read {
        if !self.consumed {
            self.consumed = true;
            if !c.preread_peeks() {
                if let Some(data) = c.take_buffered(usize::MAX) {
                    self.recv.push(&data);
                }
            }
        }
        self.recv.read(c, pat)
    }
}

/// What a read started inside the session's borrow has the call do.
enum Start {
    Read(Read),
    Fail(&'static [u8]),
    /// The read event could not be armed.
    NoWait,
    Wait,
}

/// Starts a read; yields when it has to wait.
fn start_read(c: &mut Call, sess: SessionRef, pat: Pattern) -> LuaResult {
    let conn = sess.conn().expect("the downstream connection");
    let log = sess.log();
    let yieldable = c.ensure_yieldable();
    let key = sess.with(|s| s.key.raw());
    let start = with_sock(sess, |rs| {
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
                    rs as *const ReqSocket,
                    conn.as_ptr()
                );
                log.error(NGX_LOG_ERR, 0, msg.as_bytes());
            }
            return Ok(Start::Fail(b"closed"));
        }
        if rs.busy_reading() {
            return Ok(Start::Fail(b"socket busy reading"));
        }
        match rs.read(conn, pat) {
            Read::Again => {}
            r => return Ok(Start::Read(r)),
        }
        yieldable?;
        log.debug_fmt(format_args!("stream lua tcp socket read timeout: {}", rs.read_timeout));
        rs.waiting_read = Some(pat);
        conn.set_handler(Dir::Read, Some(on_readable));
        if rs.read_timeout > 0 {
            rs.read_timer.arm_lazy(rs.read_timeout, read_timed_out, key, log);
        }
        Ok(if conn.rearm(Dir::Read) { Start::Wait } else { Start::NoWait })
    })?;
    match start {
        Start::Read(r) => Ok(push_read(c, r)),
        Start::Fail(msg) => c.fail(msg),
        Start::NoWait => {
            let _ = sess.with(end_read);
            c.fail(b"failed to wait for the client")
        }
        Start::Wait => {
            let mut reader = Waiter::new();
            reader.park_in_session(sess, cancel_read);
            with_sock(sess, |rs| rs.reader = reader);
            yield_values(0)
        }
    }
}

/// The waiting read is over: its timer goes, and client read events go back to what they do
/// while no read waits. Returns the reader, to be resumed.
fn end_read(s: &mut Session) -> Option<Parked> {
    let rs = req_sock(s)?;
    // the timer stays set for the next receive (a wait that ended usually has another soon)
    rs.read_timer.idle();
    rs.waiting_read = None;
    let reader = rs.reader.take();
    crate::api::abort::watch_client(s);
    reader
}

fn cancel_read(sess: &LiveSession, _t: ThreadKey) {
    sess.with(|s| {
        if let Some(rs) = req_sock(s) {
            rs.reader.forget();
        }
        let _ = end_read(s);
    });
}

/// The read timeout of a waiting receive, for the session named `key`.
fn read_timed_out(key: u64, _: Option<Log>) {
    if let Some(sess) = LiveSession::by_key(Key::from_raw(key)) {
        read_timeout_fired(&sess);
    }
}

fn read_timeout_fired(sess: &LiveSession) {
    let woken = sess.with(|s| {
        let log = s.logger();
        let rs = req_sock(s)?;
        let pat = rs.waiting_read?;
        if rs.log_errors {
            log.error(NGX_LOG_ERR, 0, b"stream lua tcp socket read timed out");
        }
        let r = rs.recv.fail(pat, "timeout".into());
        Some((end_read(s)?, r))
    });
    if let Some((t, r)) = woken {
        t.resume(|co| push_read(co, r));
    }
}

ngx_callbacks! {
    fn on_readable(ev: ClientEvent) [()] {
        let Ok(sess) = LiveSession::of(ev.stream) else { return };
        read_ready(&sess);
    }
}

/// The client's read event while a receive waits: the read goes on, or ends and wakes it.
fn read_ready(sess: &LiveSession) {
    let woken = sess.with(|s| {
        let conn = s.downstream()?;
        let log = s.logger();
        let rs = req_sock(s)?;
        let pat = rs.waiting_read?;
        let r = if conn.take_timedout(Dir::Read) {
            if rs.log_errors {
                log.error(NGX_LOG_ERR, 0, b"stream lua tcp socket read timed out");
            }
            rs.recv.fail(pat, "timeout".into())
        } else {
            rs.read(conn, pat)
        };
        let r = match r {
            Read::Again if conn.rearm(Dir::Read) => return None,
            Read::Again => rs.recv.fail(pat, "failed to wait for the client".into()),
            r => r,
        };
        Some((end_read(s)?, r))
    });
    if let Some((t, r)) = woken {
        t.resume(|co| push_read(co, r));
    }
}

fn receive_impl(c: &mut Call) -> LuaResult {
    let n = c.top();
    if n != 1 && n != 2 {
        return err(format!("expecting 1 or 2 arguments (including the object), but got {n}"));
    }
    let Some(sess) = this(c, "receive")? else { return c.fail(b"closed") };
    let Some(pat) = receive_pattern(c, n)? else {
        c.push_bytes(b"");
        return Ok(1);
    };
    start_read(c, sess, pat)
}

/// `peek(n)` (preread only): the first `n` bytes from the client, left in nginx's preread
/// buffer so that later phases (proxy_pass) still see them. When fewer have arrived, the
/// thread waits while the preread phase reads more (within `preread_buffer_size` and
/// `preread_timeout`, as nginx enforces them).
fn peek_impl(c: &mut Call) -> LuaResult {
    SessionRef::current(c)?.check_phase(&[Phase::Preread])?;
    let n = c.top();
    if n != 2 {
        return err(format!("expecting 2 arguments (including the object), but got {n}"));
    }
    let Some(sess) = this(c, "peek")? else { return c.fail(b"closed") };
    let (consumed, busy) = with_sock(sess, |rs| (rs.consumed, rs.busy_reading()));
    if consumed {
        return err("attempt to peek on a consumed socket");
    }
    if busy {
        return c.fail(b"socket busy reading");
    }
    if !c.is_number(2) {
        return err("argument must be a number");
    }
    let bytes = c.to_integer(2);
    if bytes < 0 {
        return c.arg_error(2, "peek", "bytes can not be negative");
    }
    if bytes == 0 {
        c.push_bytes(b"");
        return Ok(1);
    }
    let conn = sess.conn().expect("the downstream connection");
    if let Some(data) = conn.peek_buffered(bytes as usize) {
        c.push_bytes(&data);
        return Ok(1);
    }
    // any thread may wait here (a light thread too), one at a time
    c.ensure_yieldable()?;
    let (key, log, in_handler) = sess.with(|s| {
        let t = s.current;
        s.rare_mut().peek_need = Some(bytes as usize);
        req_sock(s).expect("the session's request socket").peeker = Some(t);
        (s.key.raw(), s.logger(), s.in_handler)
    });
    sess.with_thread(|thread| {
        thread.wait_in_session(cancel_peek);
        if !in_handler {
            // a wait started from an event (after a sleep, ...): let the preread phase run
            thread.wake_ev.post(run_phases, key, log);
        }
    });
    yield_values(0)
}

/// The thread waiting in `peek`, no longer waiting (none when none waits). The preread
/// handler takes it through `LiveSession::wake_peeker`.
pub fn take_peeker(s: &mut Session) -> Option<ThreadKey> {
    req_sock(s)?.peeker.take()
}

/// The thread waiting in `peek` is killed or its session ends (its own events, the posted
/// phase run among them, go with the thread's cancel).
fn cancel_peek(sess: &LiveSession, _t: ThreadKey) {
    sess.with(|s| {
        s.take_rare(|r| r.peek_need.take());
        take_peeker(s);
    });
}

/// Runs the phases of the session named `key` again (its preread handler takes the peek).
fn run_phases(key: u64, _: Option<Log>) {
    if let Some(sess) = LiveSession::by_key(Key::from_raw(key)) {
        sess.run_phases();
    }
}

fn receiveuntil_impl(c: &mut Call) -> LuaResult {
    let (pattern, inclusive) = match until_args(c)? {
        Ok(args) => args,
        Err(nret) => return Ok(nret),
    };
    let Some(sess) = owner_session(c, "receiveuntil")? else { return c.fail(b"closed") };
    let idx = sess.with(|s| Some(req_sock(s)?.recv.add_until(pattern, inclusive)));
    let Some(idx) = idx else {
        return err("bad request");
    };
    push_until_iterator(c, idx, until_iterator);
    Ok(1)
}

fn until_iterator_impl(c: &mut Call) -> LuaResult {
    let (idx, size) = until_iterator_args(c)?;
    let Some(sess) = this(c, "iterator")? else { return c.fail(b"closed") };
    c.set_top(0);
    start_read(c, sess, Pattern::Until(idx, size))
}

fn receiveany_impl(c: &mut Call) -> LuaResult {
    let n = c.top();
    if n != 2 {
        return err(format!("expecting 2 arguments (including the object), but got {n}"));
    }
    let Some(sess) = this(c, "receiveany")? else { return c.fail(b"closed") };
    let max = receiveany_max(c)?;
    sess.log().debug("stream lua tcp socket read any");
    start_read(c, sess, Pattern::Any(max))
}

fn send_impl(c: &mut Call) -> LuaResult {
    let n = c.top();
    if n != 2 {
        return err(format!("expecting 2 arguments (including the object), but got {n}"));
    }
    let Some(sess) = this(c, "send")? else { return c.fail(b"closed") };
    let conn = sess.conn().expect("the downstream connection");
    let log = sess.log();
    // ngx.say's deferred first output goes first (and later output is never deferred)
    sess.with(|s| {
        s.output_started = true;
        send_deferred(s)
    });
    let ready = with_sock(sess, |rs| {
        if rs.write_closed {
            if rs.log_errors {
                let msg = format!(
                    "attempt to send data on a closed socket: u:{:p}, c:{:p}",
                    rs as *const ReqSocket,
                    conn.as_ptr()
                );
                log.error(NGX_LOG_ERR, 0, msg.as_bytes());
            }
            return Err(&b"closed"[..]);
        }
        // one send at a time, and none while nginx still holds ngx.say output (it would
        // overtake it), as upstream
        if rs.writer.is_waiting() || conn.buffered() {
            return Err(b"socket busy writing");
        }
        // the buffer of the last send (all sent, or none would start) is filled anew
        Ok((rs.send_timeout, std::mem::take(&mut rs.out)))
    });
    let (timeout, mut data) = match ready {
        Ok(ready) => ready,
        Err(msg) => return c.fail(msg),
    };
    data.clear();
    let gathered;
    let bytes = if c.type_of(2) == LUA_TSTRING {
        // a string is sent straight from Lua's copy (anchored on the stack for this call)
        c.to_bytes(2).unwrap_or_default()
    } else {
        let mut g = Spare::take();
        send_data_into(c, 2, &mut g)?;
        gathered = g;
        &gathered[..]
    };
    let len = bytes.len();
    if len > 0 {
        log.debug_fmt(format_args!("stream lua tcp socket send timeout: {timeout}"));
    }
    // only what the socket does not take at once is copied, to wait with
    let sent = with_sock(sess, |rs| {
        rs.out = data;
        rs.out_pos = 0;
        (len > 0).then(|| rs.send_from(conn, bytes))
    });
    let Some(sent) = sent else {
        c.push_int(0);
        return Ok(1);
    };
    match sent {
        Sent::All => {
            c.push_int(len as i64);
            Ok(1)
        }
        Sent::Failed(errno) => {
            with_sock(sess, |rs| rs.write_closed = true);
            c.fail(errno_text(errno).as_bytes())
        }
        Sent::Again => {
            c.ensure_yieldable()?;
            conn.set_handler(Dir::Write, Some(on_send_writable));
            conn.clear_timer(Dir::Write);
            conn.add_timer(Dir::Write, timeout);
            if !conn.rearm(Dir::Write) {
                sess.with(stop_send_wait);
                with_sock(sess, |rs| rs.write_closed = true);
                return c.fail(b"failed to wait for the client");
            }
            let mut writer = Waiter::new();
            writer.park_in_session(sess, cancel_send);
            with_sock(sess, |rs| {
                rs.writer = writer;
                rs.out_len = len;
            });
            yield_values(0)
        }
    }
}

/// The most memory a request socket keeps between sends for the next one to reuse.
const KEPT_OUT: usize = 64 * 1024;

/// How far a request socket send got.
enum Sent {
    All,
    /// The client's socket buffer is full: wait for the write event.
    Again,
    /// A send error (errno).
    Failed(i32),
}

impl ReqSocket {
    /// Sends `bytes` (not kept) as far as the socket takes them at once; what is left is
    /// copied into the send buffer (empty here) for `send_out` to finish.
    fn send_from(&mut self, conn: Conn, bytes: &[u8]) -> Sent {
        let mut pos = 0;
        let sent = send_at(conn, bytes, &mut pos);
        if matches!(sent, Sent::Again) {
            self.out.extend_from_slice(&bytes[pos..]);
        }
        sent
    }

    /// Writes what is left of the send in progress straight to the connection: request socket
    /// sends bypass nginx's output chain, so nginx never holds them (a session ending while one
    /// waits closes at once, as upstream's raw request socket).
    fn send_out(&mut self, conn: Conn) -> Sent {
        let mut pos = self.out_pos;
        let sent = send_at(conn, &self.out, &mut pos);
        self.out_pos = pos;
        if matches!(sent, Sent::All) {
            self.out.clear();
            if self.out.capacity() > KEPT_OUT {
                self.out = Vec::new();
            }
            self.out_pos = 0;
        }
        sent
    }
}

/// Sends `bytes[*pos..]` until all went, the socket is full (`*pos` is where it stopped) or it
/// fails (the connection is marked in error).
fn send_at(conn: Conn, bytes: &[u8], pos: &mut usize) -> Sent {
    while *pos < bytes.len() {
        match conn.send(&bytes[*pos..]) {
            Io::Done(n) => *pos += n,
            Io::Again => return Sent::Again,
            Io::Err(errno) => {
                conn.set_error();
                return Sent::Failed(errno);
            }
            Io::Eof => {
                conn.set_error();
                return Sent::Failed(0);
            }
        }
    }
    Sent::All
}

/// The write event stops serving the send that waited.
fn stop_send_wait(s: &mut Session) {
    if let Some(conn) = s.downstream() {
        conn.clear_timer(Dir::Write);
        conn.set_handler(Dir::Write, Some(ignore_event));
    }
}

fn cancel_send(sess: &LiveSession, _t: ThreadKey) {
    sess.with(|s| {
        stop_send_wait(s);
        if let Some(rs) = req_sock(s) {
            rs.writer.forget();
        }
    });
}

ngx_callbacks! {
    /// The client's write event while a request socket send waits.
    fn on_send_writable(ev: ClientEvent) [()] {
        let Ok(sess) = LiveSession::of(ev.stream) else { return };
        send_ready(&sess);
    }
}

fn send_ready(sess: &LiveSession) {
    let woken = sess.with(|s| {
        let conn = s.downstream()?;
        let log = s.logger();
        let rs = req_sock(s)?;
        if !rs.writer.is_waiting() {
            return None;
        }
        let res = if conn.take_timedout(Dir::Write) {
            if rs.log_errors {
                log.error(NGX_LOG_ERR, 0, b"stream lua tcp socket write timed out");
            }
            Err("timeout".to_string())
        } else {
            match rs.send_out(conn) {
                Sent::All => Ok(rs.out_len),
                Sent::Again if conn.rearm(Dir::Write) => return None,
                Sent::Again => Err("failed to wait for the client".to_string()),
                Sent::Failed(errno) => Err(errno_text(errno)),
            }
        };
        if res.is_err() {
            // the write side is done for, as upstream finalizes it
            rs.write_closed = true;
            rs.out.clear();
        }
        let t = rs.writer.take()?;
        stop_send_wait(s);
        Some((t, res))
    });
    let Some((t, res)) = woken else { return };
    t.resume(|co| match res {
        Ok(len) => {
            co.push_int(len as i64);
            1
        }
        Err(e) => {
            co.push_nil();
            co.push_bytes(e.as_bytes());
            2
        }
    });
}

fn settimeout_impl(c: &mut Call) -> LuaResult {
    let n = c.top();
    if n != 2 {
        return err(format!("ngx.socket settimout: expecting 2 arguments (including the object) but seen {n}"));
    }
    let ms = timeout_value(c.to_number(2))?;
    let Some(sess) = this(c, "settimeout")? else { return c.fail(b"closed") };
    with_sock(sess, |rs| rs.set_timeouts(ms, ms, ms));
    Ok(0)
}

fn settimeouts_impl(c: &mut Call) -> LuaResult {
    let n = c.top();
    if n != 4 {
        return err(format!("ngx.socket settimout: expecting 4 arguments (including the object) but seen {n}"));
    }
    let (connect, send, read) =
        (timeout_value(c.to_number(2))?, timeout_value(c.to_number(3))?, timeout_value(c.to_number(4))?);
    let Some(sess) = this(c, "settimeouts")? else { return c.fail(b"closed") };
    with_sock(sess, |rs| rs.set_timeouts(connect, send, read));
    Ok(0)
}

fn shutdown_impl(c: &mut Call) -> LuaResult {
    let n = c.top();
    if n != 2 {
        return err(format!("expecting 2 arguments (including the object) but seen {n}"));
    }
    let Some(sess) = this(c, "shutdown")? else { return c.fail(b"closed") };
    if with_sock(sess, |rs| rs.write_closed) {
        return c.fail(b"already shutdown");
    }
    // only in the content phase: later phases may still write to the client
    sess.check_phase(&[Phase::Content])?;
    // no output after this
    if sess.with(|s| std::mem::replace(&mut s.eof, true)) {
        return c.fail(b"seen eof");
    }
    if with_sock(sess, |rs| rs.writer.is_waiting()) {
        return c.fail(b"socket busy writing");
    }
    if let Some(done) = crate::api::socket::shutdown_direction(c) {
        return done;
    }
    let conn = sess.conn().expect("the downstream connection");
    sess.with(send_deferred);
    if conn.buffered() {
        // what nginx still holds goes out first
        sess.with(|s| s.flush_held());
    }
    with_sock(sess, |rs| rs.write_closed = true);
    sess.log().debug("stream lua shutdown socket write direction");
    if let Err(errno) = conn.shutdown_write() {
        return c.fail(errno_text(errno).as_bytes());
    }
    c.push_int(1);
    Ok(1)
}
