//! `ngx.req.socket()` in UDP servers: each session is one datagram. `receive` returns it
//! (at most `size` bytes per call), then `nil, "no more data"`; `send` may be called any
//! number of times, each a datagram back to the client. As upstream, the object is finalized
//! once: when it is collected, or when its session ends first.

use std::ffi::c_int;

use crate::api::socket::downstream::{owner_session, set_owner};
use crate::api::socket::errno_text;
use crate::api::socket::out::send_data;
use crate::lua_calls;
use crate::runtime::handle::SessionRef;
use crate::runtime::live::LiveSession;
use crate::runtime::session::{Session, SessionKey};
use crate::sys::registry::Key;
use crate::sys::*;

const METATABLE: &RegKey = &reg::REQ_UDP_MT;
const UDATA_METATABLE: &RegKey = &reg::REQ_UDP_UDATA_MT;
/// Largest UDP payload, upstream's default for `receive` without a size.
const MAX_DATAGRAM: usize = 65536;

lua_calls! {
    udp_gc => gc_impl,
    udp_receive => receive_impl,
    udp_send => send_impl,
    udp_settimeout => settimeout_impl,
}

pub fn inject(c: &mut Call) {
    // the metatable's __index is a table of its own, as upstream's UDP request socket
    let mt = c.new_table(0, 2);
    let m = c.new_table(0, 4);
    c.set_field_fn(m, c"receive", udp_receive);
    c.set_field_fn(m, c"send", udp_send);
    c.set_field_fn(m, c"settimeout", udp_settimeout);
    c.set_field(mt, c"__index");
    c.set_registry(METATABLE);
    c.register_gc(UDATA_METATABLE, udp_gc);
}

/// The object's userdata: its session and its slot in the session's cleanups (the session
/// runs the cleanup when it ends first; a collection while it lives takes the slot back).
struct Finalizer {
    sess: SessionKey,
    cleanup: Option<usize>,
}

// SAFETY: Finalizer values are only made by `new_object` (push_udata, under UDATA_METATABLE,
// whose __gc takes them back) and kept at slot 2 of the socket object.
unsafe impl LuaObject for Finalizer {
    type Owner = Box<Finalizer>;
    const UDATA_METATABLE: &'static RegKey = UDATA_METATABLE;
    const SLOT: c_int = 2;
}

fn finalize(log: Log) {
    log.debug("stream lua finalize socket");
}

/// The session ends before the object is collected.
fn session_ended(_: Key, sess: &Session) {
    finalize(sess.logger());
}

fn gc_impl(c: &mut Call) -> LuaResult {
    let Some(mut f) = c.take_udata::<Finalizer>(1) else { return Ok(0) };
    // a session that ended ran the cleanup already (and is not found any more)
    if let (Some(slot), Some(owner)) = (f.cleanup.take(), LiveSession::by_key(f.sess)) {
        owner.with(|s| {
            s.remove_cleanup(slot);
            finalize(s.logger());
        });
    }
    Ok(0)
}

/// The socket object for a UDP session (the caller has checked phase and duplicates).
pub fn new_object(c: &mut Call, sess: SessionRef) -> c_int {
    c.set_top(0);
    c.new_table(5, 0);
    set_owner(c, sess);
    let (key, cleanup) = sess.with(|s| (s.key, s.add_cleanup(session_ended, Key::NONE)));
    let f = Box::new(Finalizer { sess: key, cleanup: Some(cleanup) });
    c.push_udata(f);
    c.raw_seti(1, 2);
    c.set_registry_metatable(1, METATABLE);
    1
}

fn receive_impl(c: &mut Call) -> LuaResult {
    let n = c.top();
    if n != 1 && n != 2 {
        return err(format!("expecting 1 or 2 arguments (including the object), but got {n}"));
    }
    let Some(sess) = owner_session(c, "receive")? else { return c.fail(b"closed") };
    let size = if n == 2 && c.type_of(2) != LUA_TNIL {
        if !c.is_number(2) {
            return c.arg_error(2, "receive", format!("number expected, got {}", c.type_name_at(2)));
        }
        (c.to_number(2).max(0.0) as usize).min(MAX_DATAGRAM)
    } else {
        MAX_DATAGRAM
    };
    match sess.conn().and_then(|conn| conn.take_buffered(size)) {
        Some(data) => {
            c.push_bytes(&data);
            Ok(1)
        }
        None => c.fail(b"no more data"),
    }
}

fn send_impl(c: &mut Call) -> LuaResult {
    let n = c.top();
    if n != 2 {
        return err(format!("expecting 2 arguments (including the object), but got {n}"));
    }
    let Some(sess) = owner_session(c, "send")? else { return c.fail(b"closed") };
    let data = send_data(c, 2)?;
    let conn = sess.conn().expect("a UDP session's connection");
    match conn.send_whole(&data) {
        Ok(()) => {
            c.push_int(1);
            Ok(1)
        }
        Err(Some(errno)) => c.fail(errno_text(errno).as_bytes()),
        Err(None) => c.fail(b"send failed"),
    }
}

fn settimeout_impl(c: &mut Call) -> LuaResult {
    let n = c.top();
    if n != 2 {
        return err(format!("ngx.socket settimout: expecting 2 arguments (including the object) but seen {n}"));
    }
    if owner_session(c, "settimeout")?.is_none() {
        return c.fail(b"closed");
    }
    // reads never wait on a UDP request socket: the datagram is already there
    Ok(0)
}
