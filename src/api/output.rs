//! `ngx.say`, `ngx.print`, `ngx.flush`: output to the downstream connection through nginx's
//! stream filter chain, with buffers recycled per session.

use std::ffi::c_int;

use crate::api::spare::Spare;
use crate::lua_calls;
use crate::ngx_callbacks;
use crate::runtime::downstream::{ignore_event, send_deferred, write};
use crate::runtime::handle::SessionRef;
use crate::runtime::live::LiveSession;
use crate::runtime::scheduler::wake_key;
use crate::runtime::session::Phase;
use crate::runtime::thread::{with_thread, ThreadKey};
use crate::sys::*;

lua_calls! {
    say => say_impl,
    print => print_impl,
    eof => eof_impl,
    flush => flush_impl,
}

/// The running session, for output (which has its own wording outside any).
fn output_session<'c>(c: &Call<'c>) -> Result<SessionRef<'c>, LuaError> {
    SessionRef::current(c).map_err(|_| LuaError::Msg("no request object found".into()))
}

/// Output goes to TCP clients only (upstream: "API disabled in the current context" for UDP).
fn check_stream_output(sess: SessionRef) -> Result<(), LuaError> {
    if sess.is_udp() {
        return err("API disabled in the current context");
    }
    sess.check_phase(&[Phase::Content, Phase::Preread])
}

fn eof_impl(c: &mut Call) -> LuaResult {
    let sess = output_session(c)?;
    if c.top() != 0 {
        return err("no argument is expected");
    }
    if sess.with(|s| s.eof) {
        return c.fail(b"seen eof");
    }
    check_stream_output(sess)?;
    sess.log().debug("lua send eof");
    // like upstream: later output is refused; what was written still goes out
    sess.with(|s| s.eof = true);
    c.push_int(1);
    Ok(1)
}

fn say_impl(c: &mut Call) -> LuaResult {
    output(c, true, "say")
}

fn print_impl(c: &mut Call) -> LuaResult {
    output(c, false, "print")
}

/// Appends a scalar Lua value as text, as `ngx.say` and `ngx.log` both write them: strings and
/// numbers as `tostring`, `nil`, booleans and `ngx.null` by name, other light userdata as
/// nothing. False (and nothing appended) for tables, functions, userdata and threads.
pub fn append_scalar(c: &Call, idx: c_int, out: &mut Vec<u8>) -> bool {
    match c.type_of(idx) {
        LUA_TNUMBER | LUA_TSTRING => out.extend_from_slice(c.to_bytes(idx).unwrap_or_default()),
        LUA_TNIL => out.extend_from_slice(b"nil"),
        LUA_TBOOLEAN => out.extend_from_slice(if c.to_boolean(idx) { b"true" } else { b"false" }),
        LUA_TLIGHTUSERDATA if c.to_pointer(idx).is_null() => out.extend_from_slice(b"null"),
        LUA_TLIGHTUSERDATA => {}
        _ => return false,
    }
    true
}

/// Appends the Lua value at `idx` as text, the way upstream's `ngx.say` does: strings and
/// numbers as `tostring`, `nil`/booleans/`ngx.null` by name, array tables recursively.
pub fn append_value(
    c: &mut Call,
    idx: c_int,
    arg: c_int,
    fname: &'static str,
    out: &mut Vec<u8>,
) -> Result<(), LuaError> {
    if append_scalar(c, idx, out) {
        return Ok(());
    }
    match c.type_of(idx) {
        LUA_TTABLE => append_table(c, idx, arg, fname, out)?,
        t => {
            let msg = "string, number, boolean, nil, ngx.null, or array table expected, but got";
            return c.arg_error(arg, fname, format!("{msg} {}", c.type_name(t)));
        }
    }
    Ok(())
}

fn append_table(c: &mut Call, idx: c_int, arg: c_int, fname: &'static str, out: &mut Vec<u8>) -> Result<(), LuaError> {
    let mut max = 0i64;
    c.push_nil();
    while c.next(idx) {
        c.pop(1);
        let key_ok = c.type_of(-1) == LUA_TNUMBER && {
            let n = c.to_number(-1);
            let i = n as i64;
            i as f64 == n && i > 0 && {
                max = max.max(i);
                true
            }
        };
        if !key_ok {
            c.pop(1);
            return c.arg_error(arg, fname, "non-array table found");
        }
    }
    for i in 1..=max {
        let r = match c.raw_geti(idx, i) {
            LUA_TNUMBER | LUA_TSTRING | LUA_TNIL | LUA_TBOOLEAN | LUA_TTABLE | LUA_TLIGHTUSERDATA => {
                let v = c.top();
                append_value(c, v, arg, fname, out)
            }
            t => c.arg_error(arg, fname, format!("bad data type {} found", c.type_name(t))),
        };
        c.pop(1);
        r?;
    }
    Ok(())
}

fn output(c: &mut Call, newline: bool, fname: &'static str) -> LuaResult {
    let sess = output_session(c)?;
    check_stream_output(sess)?;
    if sess.with(|s| s.eof) {
        return c.fail(b"seen eof");
    }
    let mut data = Spare::take();
    for i in 1..=c.top() {
        append_value(c, i, i, fname, &mut data)?;
    }
    if newline {
        data.push(b'\n');
    }
    if data.is_empty() {
        c.push_int(1);
        return Ok(1);
    }
    // nginx's output filters run no Lua code
    if sess.with(|s| write(s, &data)) == NGX_ERROR as isize {
        return c.fail(b"nginx output filter error");
    }
    c.push_int(1);
    Ok(1)
}

fn flush_impl(c: &mut Call) -> LuaResult {
    let n = c.top();
    if n > 1 {
        return err(format!("attempt to pass {n} arguments, but accepted 0 or 1"));
    }
    if n == 1 && c.type_of(1) != LUA_TBOOLEAN {
        return c.arg_error(1, "flush", format!("boolean expected, got {}", c.type_name_at(1)));
    }
    let sess = output_session(c)?;
    sess.check_phase(&[Phase::Content, Phase::Preread])?;
    if sess.with(|s| s.eof) {
        return c.fail(b"seen eof");
    }
    // Flushing sends the deferred first output (see `downstream::write`) and pushes what nginx
    // holds; `flush(true)` waits until it has all left.
    let wait = c.to_boolean(1);
    let conn = sess.conn().expect("a session in content or preread has a connection");
    if sess.with(send_deferred) == NGX_ERROR as isize {
        return c.fail(b"nginx output filter error");
    }
    if conn.buffered() && sess.with(|s| s.flush_held()) == NGX_ERROR as isize {
        return c.fail(b"nginx output filter error");
    }
    if wait {
        return wait_flushed(c, sess, conn);
    }
    c.push_int(1);
    Ok(1)
}

/// `ngx.flush(true)`: returns 1 once nginx holds no more output for the client. Any number of
/// threads may wait; the first one arms `lua_socket_send_timeout`, and all of them get the
/// result together (nil, "timeout" when it expires), as upstream's flushing coroutines.
fn wait_flushed(c: &mut Call, sess: SessionRef, conn: Conn) -> LuaResult {
    if !conn.buffered() && !conn.is_delayed(Dir::Write) {
        c.push_int(1);
        return Ok(1);
    }
    c.ensure_yieldable()?;
    conn.set_handler(Dir::Write, Some(on_flush_writable));
    if !conn.is_delayed(Dir::Write) && !conn.has_timer(Dir::Write) {
        let timeout = sess.srv_conf().expect("a session's server conf").socket.send_timeout();
        conn.add_timer(Dir::Write, timeout as ngx_msec_t);
    }
    if !conn.rearm(Dir::Write) {
        if sess.with(|s| s.rare().is_none_or(|r| r.flush_waiters.is_empty())) {
            stop_flush_wait(conn);
        }
        return c.fail(b"connection broken");
    }
    let key = sess.with_thread(|thread| {
        thread.wait_in_session(cancel_flush);
        thread.key
    });
    sess.with(|s| s.rare_mut().flush_waiters.push(key));
    yield_values(0)
}

/// No thread waits for the output any more: the write event goes quiet.
fn stop_flush_wait(conn: Conn) {
    conn.clear_timer(Dir::Write);
    conn.set_handler(Dir::Write, Some(ignore_event));
}

fn cancel_flush(sess: &LiveSession, key: ThreadKey) {
    sess.with(|s| {
        let waiters = &mut s.rare_mut().flush_waiters;
        waiters.retain(|w| *w != key);
        let none_left = waiters.is_empty();
        if let (true, Some(conn)) = (none_left, s.downstream()) {
            stop_flush_wait(conn);
        }
    });
}

ngx_callbacks! {
    /// The client's write event while threads wait in `ngx.flush(true)`.
    fn on_flush_writable(ev: ClientEvent) [()] {
        let Ok(sess) = LiveSession::of(ev.stream) else { return };
        if let Some(err) = flush_ready(&sess) {
            wake_flushers(sess, err);
        }
    }
}

/// How the flush waits end after the write event (None: they go on waiting).
fn flush_ready(sess: &LiveSession) -> Option<Option<&'static [u8]>> {
    let conn = sess.with(|s| s.downstream())?;
    if sess.with(|s| s.rare().is_none_or(|r| r.flush_waiters.is_empty())) {
        return None;
    }
    if conn.is_delayed(Dir::Write) && conn.take_timedout(Dir::Write) {
        // the end of a rate-limit delay, not the send timeout
        conn.clear_delayed(Dir::Write);
    }
    Some(if conn.take_timedout(Dir::Write) {
        if let Some(log) = conn.log() {
            log.error(NGX_LOG_INFO, libc::ETIMEDOUT, b"client timed out");
        }
        conn.set_timedout();
        Some(b"timeout")
    } else if sess.with(|s| s.flush_held()) == NGX_ERROR as isize {
        conn.set_error();
        Some(b"client aborted")
    } else if conn.buffered() {
        if conn.rearm(Dir::Write) {
            return None;
        }
        Some(b"connection broken")
    } else {
        None
    })
}

/// Ends every flush wait with `1` or `nil, err`: the threads run in the order they were
/// created (the entry thread first), one after another.
fn wake_flushers(sess: LiveSession, err: Option<&[u8]>) {
    let waiting = sess.with(|s| {
        let waiters = s.take_rare(|r| Some(std::mem::take(&mut r.flush_waiters))).unwrap_or_default();
        if let Some(conn) = s.downstream() {
            stop_flush_wait(conn);
        }
        let mut waiting = Vec::with_capacity(waiters.len());
        for thread in s.threads.iter_mut() {
            if waiters.contains(&thread.key) {
                thread.pending = None;
                waiting.push(thread.key);
            }
        }
        waiting
    });
    // the results are pushed with the session not borrowed: a push may run the GC
    let ready: Vec<(ThreadKey, c_int)> = waiting
        .into_iter()
        .filter_map(|key| {
            // a waiting thread's coroutine is suspended in its yield, so what is pushed on it
            // is what the yield returns
            let n = with_thread(key, |t| {
                let mut co = t.resume_values();
                match err {
                    Some(e) => co.fail(e).unwrap_or(2),
                    None => {
                        co.push_int(1);
                        1
                    }
                }
            })?;
            Some((key, n))
        })
        .collect();
    let Some(&(first, n)) = ready.first() else { return };
    sess.with(|s| s.posted.extend(ready[1..].iter().copied()));
    wake_key(sess, first, n)
}
