//! `ngx.req.socket()` in UDP servers: each session is one datagram. `receive` returns it
//! (at most `size` bytes per call), then `nil, "no more data"`; `send` may be called any
//! number of times, each a datagram back to the client. As upstream, the object is finalized
//! once: when it is collected, or when its session ends first.

use std::ffi::{c_int, c_void, CStr};

use crate::api::socket::downstream::owner_session;
use crate::api::socket::errno_text;
use crate::api::socket::out::send_data;
use crate::runtime::session::Session;
use crate::sys::*;
use crate::{lua_api, lua_calls};

const METATABLE: &CStr = c"ngx_lua_req_udp_socket_mt";
const UDATA_METATABLE: &CStr = c"ngx_lua_req_udp_socket_udata_mt";
/// Largest UDP payload, upstream's default for `receive` without a size.
const MAX_DATAGRAM: usize = 65536;

lua_api! {
    udp_gc => gc_impl,
}

lua_calls! {
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

/// The object's userdata: its session and its slot in the session's cleanups, until it is
/// finalized.
struct Finalizer {
    sess: *mut Session,
    cleanup: Option<usize>,
}

unsafe fn finalize(f: &mut Finalizer) {
    // SAFETY: the session is live while the cleanup is registered.
    unsafe { log_debug((*f.sess).log(), "stream lua finalize socket") };
}

/// The session ends before the object is collected.
unsafe fn session_ended(data: *mut c_void) {
    // SAFETY: data is the live userdata (its collection removes this cleanup first).
    unsafe {
        let f = &mut *(data as *mut Finalizer);
        if f.cleanup.take().is_some() {
            finalize(f);
        }
    }
}

unsafe fn gc_impl(l: *mut lua_State) -> LuaResult {
    // SAFETY: argument 1 is our userdata, collected now.
    unsafe {
        let f = raw::lua_touserdata(l, 1) as *mut Finalizer;
        if let Some(slot) = f.as_mut().and_then(|f| f.cleanup.take()) {
            (*(*f).sess).remove_cleanup(slot);
            finalize(&mut *f);
        }
        Ok(0)
    }
}

/// The socket object for a UDP session (the caller has checked phase and duplicates).
pub unsafe fn new_object(l: *mut lua_State, sess: *mut Session) -> c_int {
    // SAFETY: l is the running coroutine.
    unsafe {
        raw::lua_settop(l, 0);
        raw::lua_createtable(l, 3, 0);
        crate::api::socket::downstream::set_owner(l, sess);
        let f = raw::lua_newuserdata(l, std::mem::size_of::<Finalizer>()) as *mut Finalizer;
        f.write(Finalizer { sess, cleanup: None });
        (*f).cleanup = Some((*sess).add_cleanup(session_ended, f as *mut c_void));
        raw::lua_getfield(l, LUA_REGISTRYINDEX, UDATA_METATABLE.as_ptr());
        raw::lua_setmetatable(l, -2);
        raw::lua_rawseti(l, 1, 2);
        raw::lua_getfield(l, LUA_REGISTRYINDEX, METATABLE.as_ptr());
        raw::lua_setmetatable(l, 1);
        1
    }
}

fn receive_impl(c: &mut Call) -> LuaResult {
    let n = c.top();
    if n != 1 && n != 2 {
        return err(format!("expecting 1 or 2 arguments (including the object), but got {n}"));
    }
    let sess = owner_session(c, "receive")?;
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
    let sess = owner_session(c, "send")?;
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
    owner_session(c, "settimeout")?;
    // reads never wait on a UDP request socket: the datagram is already there
    Ok(0)
}
