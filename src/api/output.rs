//! `ngx.say`, `ngx.print`, `ngx.flush`: output to the downstream connection through nginx's
//! stream filter chain, with buffers recycled per session.

use std::ffi::c_int;
use std::ptr;

use crate::api::{check_phase, current_session};
use crate::runtime::downstream::ignore_event;
use crate::runtime::downstream::{send_chain, write};
use crate::runtime::handle::SessionRef;
use crate::runtime::session::{Phase, Session};
use crate::runtime::thread::Thread;
use crate::sys::*;
use crate::{lua_api, lua_calls};

lua_calls! {
    say => say_impl,
    print => print_impl,
    eof => eof_impl,
}

lua_api! { flush => flush_impl }

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
    let mut data = Vec::new();
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

unsafe fn flush_impl(l: *mut lua_State) -> LuaResult {
    // SAFETY: l is the running coroutine.
    unsafe {
        let n = raw::lua_gettop(l);
        if n > 1 {
            return err(format!("attempt to pass {n} arguments, but accepted 0 or 1"));
        }
        if n == 1 && raw::lua_type(l, 1) != LUA_TBOOLEAN {
            let got = type_name(l, raw::lua_type(l, 1));
            return Err(LuaError::Arg(1, "flush", format!("boolean expected, got {got}")));
        }
        let sess = current_session(l).map_err(|_| LuaError::Msg("no request object found".into()))?;
        check_phase(&*sess, &[Phase::Content, Phase::Preread])?;
        if (*sess).eof {
            raw::lua_pushnil(l);
            push_bytes(l, b"seen eof");
            return Ok(2);
        }
        // Output is handed to nginx on every call already; flushing pushes what nginx holds,
        // and `flush(true)` waits until it has all left.
        let wait = raw::lua_toboolean(l, 1) != 0;
        let buffered = (*(*sess).connection()).buffered() != 0;
        if buffered && send_chain((*sess).s, ptr::null_mut()) == NGX_ERROR as isize {
            raw::lua_pushnil(l);
            push_bytes(l, b"nginx output filter error");
            return Ok(2);
        }
        if wait {
            return wait_flushed(l, sess);
        }
        raw::lua_pushinteger(l, 1);
        Ok(1)
    }
}

/// `ngx.flush(true)`: returns 1 once nginx holds no more output for the client. Any number of
/// threads may wait; the first one arms `lua_socket_send_timeout`, and all of them get the
/// result together (nil, "timeout" when it expires), as upstream's flushing coroutines.
unsafe fn wait_flushed(l: *mut lua_State, sess: *mut Session) -> LuaResult {
    // SAFETY: sess is live; the wait is cancelled with the thread or the session.
    unsafe {
        let c = (*sess).connection();
        let wev = (*c).write;
        if (*c).buffered() == 0 && (*wev).delayed() == 0 {
            raw::lua_pushinteger(l, 1);
            return Ok(1);
        }
        ensure_yieldable(l)?;
        (*wev).handler = Some(on_flush_writable);
        if (*wev).delayed() == 0 && (*wev).timer_set() == 0 {
            let timeout = crate::conf::srv_conf_of((*sess).s).socket.send_timeout();
            ngx_add_timer(wev, timeout as ngx_msec_t);
        }
        if ngx_handle_write_event(wev, 0) != NGX_OK as isize {
            if (*sess).flush_waiters.is_empty() {
                stop_flush_wait(c);
            }
            raw::lua_pushnil(l);
            push_bytes(l, b"connection broken");
            return Ok(2);
        }
        let t = (*sess).cur_thread().expect("Lua runs in a thread of its session");
        t.pending = Some(cancel_flush);
        let key = t.key;
        (*sess).flush_waiters.push(key);
        yield_values(0)
    }
}

/// No thread waits for the output any more: the write event goes quiet.
unsafe fn stop_flush_wait(c: *mut ngx_connection_t) {
    // SAFETY: c is the session's live connection.
    unsafe {
        let wev = (*c).write;
        if (*wev).timer_set() != 0 {
            ngx_del_timer(wev);
        }
        (*wev).handler = Some(ignore_event);
    }
}

unsafe fn cancel_flush(sess: *mut Session, t: *mut Thread) {
    // SAFETY: sess and t are live.
    unsafe {
        let key = (*t).key;
        (*sess).flush_waiters.retain(|w| *w != key);
        if (*sess).flush_waiters.is_empty() {
            stop_flush_wait((*sess).connection());
        }
    }
}

/// The client's write event while threads wait in `ngx.flush(true)`.
unsafe extern "C" fn on_flush_writable(wev: *mut ngx_event_t) {
    guard((), || {
        // SAFETY: wev belongs to a live session's connection (wev->data = c, c->data = s).
        unsafe {
            let c = (*wev).data as *mut ngx_connection_t;
            let Some(sess) = Session::of((*c).data as *mut ngx_stream_session_t) else { return };
            if (*sess).flush_waiters.is_empty() {
                return;
            }
            if (*wev).timedout() != 0 && (*wev).delayed() != 0 {
                // the end of a rate-limit delay, not the send timeout
                (*wev).set_timedout(0);
                (*wev).set_delayed(0);
            }
            let err: Option<&[u8]> = if (*wev).timedout() != 0 {
                (*wev).set_timedout(0);
                log_error(NGX_LOG_INFO, (*c).log, libc::ETIMEDOUT, b"client timed out");
                (*c).set_timedout(1);
                Some(b"timeout")
            } else if send_chain((*sess).s, ptr::null_mut()) == NGX_ERROR as isize {
                (*c).set_error(1);
                Some(b"client aborted")
            } else if (*c).buffered() != 0 {
                if ngx_handle_write_event(wev, 0) == NGX_OK as isize {
                    return;
                }
                Some(b"connection broken")
            } else {
                None
            };
            wake_flushers(sess, err);
        }
    })
}

/// Ends every flush wait with `1` or `nil, err`: the threads run in the order they were
/// created (the entry thread first), one after another.
unsafe fn wake_flushers(sess: *mut Session, err: Option<&[u8]>) {
    // SAFETY: sess is live; the waiters are its threads (a thread leaves the list when its
    // wait is cancelled).
    unsafe {
        let waiters = std::mem::take(&mut (*sess).flush_waiters);
        stop_flush_wait((*sess).connection());
        let mut ready = Vec::with_capacity(waiters.len());
        for t in (*sess).threads.iter_mut() {
            let t = &mut **t as *mut Thread;
            if waiters.contains(&(*t).key) {
                (*t).pending = None;
                let n = match err {
                    Some(e) => {
                        raw::lua_pushnil((*t).co);
                        push_bytes((*t).co, e);
                        2
                    }
                    None => {
                        raw::lua_pushinteger((*t).co, 1);
                        1
                    }
                };
                ready.push((t, n));
            }
        }
        let Some(&(first, n)) = ready.first() else { return };
        (*sess).posted.extend(ready[1..].iter().map(|&(t, n)| ((*t).key, n)));
        crate::runtime::scheduler::wake(sess, first, n);
    }
}
