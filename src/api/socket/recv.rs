//! The receive side shared by the downstream socket (`ngx.req.socket()`) and TCP cosockets
//! (`ngx.socket.tcp()`): a buffer of received bytes, the read patterns of `receive`,
//! `receiveany` and the `receiveuntil` iterators (matched by `stream-lua-recv-pattern`), and how
//! their results go back to Lua.

use std::ffi::c_int;

use crate::api::socket::errno_text;
use crate::api::spare;
use crate::sys::*;
use stream_lua_recv_pattern::{Step, Until};

const READ_CHUNK: usize = 4096;

/// One byte more than a read of at least a KB asks for: a receive that fills its size
/// exactly has nginx ask the kernel whether more is queued (`ioctl(FIONREAD)`, a system call
/// per message of exactly the buffer's size), a shorter one shows the socket drained. Smaller
/// reads (a `lua_socket_buffer_size` of a few bytes) ask for exactly what they asked for.
fn drain_probe(want: usize) -> usize {
    usize::from(want >= 1024)
}

/// What a `receive*` call asked for.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Pattern {
    Size(usize),
    Line,
    All,
    Any(usize),
    /// A `receiveuntil` iterator (index into the socket's iterators), with its size argument
    /// (0: read the whole data before the pattern).
    Until(usize, usize),
}

/// The result of trying to serve a read from what has arrived so far.
pub enum Read {
    Done(Vec<u8>),
    /// A size-limited `receiveuntil` iteration ended: nil, nil, nil.
    End,
    /// Needs more bytes: wait for the read event.
    Again,
    /// Error message and the partial data (consumed).
    Failed(String, Vec<u8>),
}

#[derive(Default)]
pub struct RecvBuf {
    /// Received bytes not handed to Lua yet: `buf[pos..]`. A receive appends to it, into
    /// its spare capacity (kept when it empties).
    buf: Vec<u8>,
    pos: usize,
    /// The peer closed its side (recv returned 0).
    pub eof: bool,
    /// A fatal receive error (errno text), reported to every later read.
    pub read_err: Option<String>,
    /// A receive failed for good (the peer closed, or an error): later ones fail at once.
    pub read_closed: bool,
    /// The error the peer closing its side is (`client aborted` for the request socket
    /// under `lua_check_client_abort`); otherwise the data simply ends there.
    eof_error: Option<&'static str>,
    untils: Vec<Until>,
    /// How much one read asks for (`lua_socket_buffer_size`; 0: a page).
    chunk: usize,
}

impl Drop for RecvBuf {
    fn drop(&mut self) {
        spare::keep_recv_buf(std::mem::take(&mut self.buf));
    }
}

impl RecvBuf {
    pub fn with_eof_error(eof_error: Option<&'static str>) -> RecvBuf {
        let mut r = RecvBuf::default();
        r.eof_error = eof_error;
        r
    }

    /// Reads ask for `size` bytes at a time (`lua_socket_buffer_size`).
    pub fn set_chunk(&mut self, size: usize) {
        self.chunk = size;
    }

    pub fn pending(&self) -> &[u8] {
        &self.buf[self.pos..]
    }

    /// Bytes that arrived some other way (nginx's preread buffer) go first.
    pub fn push(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// Once every pending byte is taken, the buffer starts over from its beginning.
    fn consumed(&mut self) {
        if self.pos == self.buf.len() {
            self.pos = 0;
            self.buf.clear();
        }
    }

    fn take(&mut self, n: usize) -> Vec<u8> {
        // (a spare vector: push_read gives it back)
        let mut out = spare::take();
        out.extend_from_slice(&self.buf[self.pos..self.pos + n]);
        self.pos += n;
        self.consumed();
        out
    }

    fn take_all(&mut self) -> Vec<u8> {
        self.take(self.buf.len() - self.pos)
    }

    /// Forgets everything: a new connection starts afresh (iterators stay). The buffer's
    /// memory goes too (to the worker's spare receive buffers): a closed socket object may
    /// wait long for its `__gc` (the Lua GC does not see this memory).
    pub fn reset(&mut self) {
        spare::keep_recv_buf(std::mem::take(&mut self.buf));
        self.pos = 0;
        self.eof = false;
        self.read_err = None;
        self.read_closed = false;
    }

    /// Adds a `receiveuntil` iterator and returns its index.
    pub fn add_until(&mut self, pattern: Vec<u8>, inclusive: bool) -> usize {
        self.untils.push(Until::new(pattern, inclusive));
        self.untils.len() - 1
    }

    /// Serves `pat` from the buffer alone, if it can be.
    fn serve(&mut self, pat: Pattern) -> Option<Read> {
        let have = self.pending();
        match pat {
            Pattern::Size(n) if have.len() >= n => Some(Read::Done(self.take(n))),
            Pattern::Line => {
                let nl = have.iter().position(|&c| c == b'\n')?;
                let mut line = self.take(nl + 1);
                line.pop();
                line.retain(|&c| c != b'\r');
                Some(Read::Done(line))
            }
            Pattern::Any(max) if !have.is_empty() => Some(Read::Done(self.take(have.len().min(max)))),
            Pattern::All if self.eof => Some(Read::Done(self.take_all())),
            Pattern::Until(i, size) => self.serve_until(i, size),
            _ => None,
        }
    }

    fn serve_until(&mut self, i: usize, size: usize) -> Option<Read> {
        let (used, step) = self.untils[i].next(&self.buf[self.pos..], size);
        self.pos += used;
        self.consumed();
        match step {
            Step::Data(d) => Some(Read::Done(d)),
            Step::End => Some(Read::End),
            Step::More => None,
        }
    }

    /// What a read that cannot complete returns (with the partial data, consumed). Anything
    /// but a timeout ends reading on this socket, as upstream's read part is finalized.
    pub fn fail(&mut self, pat: Pattern, msg: String) -> Read {
        if msg != "timeout" {
            self.read_closed = true;
        }
        let mut partial = self.take_all();
        if pat == Pattern::Line {
            partial.retain(|&c| c != b'\r');
        }
        if let Pattern::Until(i, _) = pat {
            // the data an interrupted iteration gathered, and the bytes it held back
            let mut data = self.untils[i].abort();
            data.extend_from_slice(&partial);
            partial = data;
        }
        Read::Failed(msg, partial)
    }

    /// Serves `pat`, receiving from connection `c` until it can or would block.
    pub fn read(&mut self, c: Conn, pat: Pattern) -> Read {
        loop {
            if let Some(r) = self.serve(pat) {
                return r;
            }
            if let Some(e) = self.read_err.clone() {
                return self.fail(pat, e);
            }
            if self.eof {
                return self.fail(pat, "closed".into());
            }
            // whole chunks, like upstream's buffer: bytes beyond the request stay buffered here
            // (setkeepalive then sees them as unread data)
            let chunk = if self.chunk > 0 { self.chunk } else { READ_CHUNK };
            let want = match pat {
                Pattern::Size(n) => (n - self.pending().len()).clamp(chunk, (1 << 20).max(chunk)),
                _ => chunk,
            };
            if self.buf.capacity() == 0 {
                self.buf = spare::take_recv_buf();
            }
            match c.recv_append(&mut self.buf, want + drain_probe(want)) {
                Io::Done(_) => continue,
                Io::Eof => match self.eof_error {
                    Some(e) => self.read_err = Some(e.into()),
                    None => self.eof = true,
                },
                Io::Again => {
                    if self.pos == self.buf.len() {
                        // nothing pending: the socket waits without a buffer (an idle
                        // connection keeps no memory for bytes that have not come); the next
                        // read takes one again
                        spare::keep_recv_buf(std::mem::take(&mut self.buf));
                        self.pos = 0;
                    }
                    return Read::Again;
                }
                Io::Err(errno) => self.read_err = Some(errno_text(errno)),
            }
        }
    }
}

/// Pushes a read's Lua results: `data` or `nil, err, partial`.
pub fn push_read(c: &mut Call, r: Read) -> c_int {
    match r {
        Read::Done(d) => {
            c.push_bytes(&d);
            spare::give_back(d);
            1
        }
        Read::Failed(e, partial) => {
            c.push_nil();
            c.push_bytes(e.as_bytes());
            c.push_bytes(&partial);
            3
        }
        Read::End => {
            c.push_nil();
            c.push_nil();
            c.push_nil();
            3
        }
        Read::Again => 0,
    }
}

/// The pattern argument of `receive([pattern])` (`n` arguments including the object); `None`
/// for a size of 0, which returns "" at once.
pub fn receive_pattern(c: &Call, n: c_int) -> Result<Option<Pattern>, LuaError> {
    if n == 1 || c.type_of(2) == LUA_TNIL {
        return Ok(Some(Pattern::Line));
    }
    if c.type_of(2) == LUA_TNUMBER || c.is_number(2) {
        let bytes = c.to_number(2) as i64;
        if bytes < 0 {
            return c.arg_error(2, "receive", "bad pattern argument");
        }
        return Ok((bytes > 0).then_some(Pattern::Size(bytes as usize)));
    }
    if c.type_of(2) == LUA_TSTRING {
        return match c.to_bytes(2).unwrap_or_default() {
            b"*l" => Ok(Some(Pattern::Line)),
            b"*a" => Ok(Some(Pattern::All)),
            p if p.len() == 2 && p[0] == b'*' => c.arg_error(2, "receive", "bad pattern argument"),
            p => {
                let p = String::from_utf8_lossy(p).into_owned();
                c.arg_error(2, "receive", format!("bad pattern argument: {p}"))
            }
        };
    }
    c.arg_error(2, "receive", "bad pattern argument")
}

/// The `max` argument of `receiveany(max)`.
pub fn receiveany_max(c: &Call) -> Result<usize, LuaError> {
    if !c.is_number(2) {
        return c.arg_error(2, "receiveany", "bad max argument");
    }
    let max = c.to_integer(2);
    if max <= 0 {
        return c.arg_error(2, "receiveany", "bad max argument");
    }
    Ok(max as usize)
}

/// Checks the arguments of `receiveuntil(pattern [, {inclusive = bool}])`; `Ok(Err(n))` when the
/// pattern is empty (nil, "pattern is empty" pushed: n values to return). The object is checked by the caller.
pub fn until_args(c: &mut Call) -> Result<Result<(Vec<u8>, bool), c_int>, LuaError> {
    let n = c.top();
    if n != 2 && n != 3 {
        return err(format!("expecting 2 or 3 arguments (including the object), but got {n}"));
    }
    let mut inclusive = false;
    if n == 3 {
        if c.type_of(3) != LUA_TTABLE {
            return c.arg_error(3, "receiveuntil", format!("table expected, got {}", c.type_name_at(3)));
        }
        match c.get_field(3, c"inclusive") {
            LUA_TNIL => {}
            LUA_TBOOLEAN => inclusive = c.to_boolean(-1),
            t => return err(format!("bad \"inclusive\" option value type: {}", c.type_name(t))),
        }
        c.pop(1);
    }
    let pattern = match c.type_of(2) {
        LUA_TSTRING | LUA_TNUMBER => c.to_bytes(2).unwrap_or_default().to_vec(),
        _ => return c.arg_error(2, "receiveuntil", format!("string expected, got {}", c.type_name_at(2))),
    };
    if pattern.is_empty() {
        return Ok(Err(c.fail(b"pattern is empty")?));
    }
    Ok(Ok((pattern, inclusive)))
}

/// Pushes a `receiveuntil` iterator: a C closure over the socket object (argument 1) and the
/// iterator's index, which calls `iter`.
pub fn push_until_iterator(c: &mut Call, idx: usize, iter: lua_CFunction) {
    c.push_copy(1);
    c.push_int(idx as i64);
    c.push_closure(iter, 2);
}

/// Inside an iterator made by `push_until_iterator`: checks its optional size argument, leaves
/// the socket object alone on the stack (as argument 1) and returns (iterator index, size).
pub fn until_iterator_args(c: &mut Call) -> Result<(usize, usize), LuaError> {
    let n = c.top();
    if n > 1 {
        return err(format!("expecting 0 or 1 arguments, but seen {n}"));
    }
    let size = if n == 1 {
        if !c.is_number(1) {
            return c.arg_error(1, "iterator", format!("number expected, got {}", c.type_name_at(1)));
        }
        c.to_integer(1).max(0) as usize
    } else {
        0
    };
    let idx = c.upvalue_integer(2) as usize;
    c.set_top(0);
    c.push_upvalue(1);
    Ok((idx, size))
}

/// A timeout argument in milliseconds (`bad timeout value` outside 0..2^31); callers read it
/// with `to_number`, so nil and non-numbers count as 0, like upstream's lua_tonumber.
pub fn timeout_value(ms: f64) -> Result<ngx_msec_t, LuaError> {
    let ms = ms as i64;
    if !(0..=i32::MAX as i64).contains(&ms) {
        return err("bad timeout value");
    }
    Ok(ms as ngx_msec_t)
}

/// `ms`, or the configured default when it is 0.
pub fn or_default(ms: ngx_msec_t, default: usize) -> ngx_msec_t {
    if ms > 0 {
        ms
    } else {
        default as ngx_msec_t
    }
}
