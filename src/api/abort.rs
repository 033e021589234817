//! `lua_check_client_abort` and `ngx.on_abort`: while Lua runs for a session, the client's
//! read event is watched; a client that closes its side ends the session, or, when Lua
//! registered a callback with `ngx.on_abort`, starts that callback as a light thread.

use std::ffi::c_void;

use crate::api::current_session;
use crate::conf::srv_conf_of;
use crate::lua_api;
use crate::runtime::downstream::ignore_event;
use crate::runtime::scheduler::wake;
use crate::runtime::session::Session;
use crate::runtime::thread::Status;
use crate::runtime::vm::COROUTINES;
use crate::sys::*;

lua_api! { on_abort => on_abort_impl }

/// What the client's read event does while no read is pending: watch for an abort when
/// `lua_check_client_abort` is on, nothing otherwise.
pub unsafe fn idle_read_handler(sess: *mut Session) {
    // SAFETY: sess has a live connection.
    unsafe {
        let c = (*sess).connection();
        if (*c).fd == -1 {
            // the connection is closing (the session is being freed)
            return;
        }
        let rev = (*c).read;
        if srv_conf_of((*sess).s).check_client_abort.unwrap_or(false) {
            (*rev).handler = Some(check_abort);
            if ngx_handle_read_event(rev, 0) != NGX_OK as isize {
                log_error(NGX_LOG_ERR, (*c).log, 0, b"failed to watch the client for aborts");
            }
            if (*rev).ready() != 0 || (*rev).eof() != 0 {
                // data or an EOF may already be there (a read that just met the client's
                // close leaves `eof` set and no further edge-triggered event will come)
                ngx_post_event(rev, std::ptr::addr_of_mut!(ngx_posted_events));
            }
        } else {
            (*rev).handler = Some(ignore_event);
        }
    }
}

/// The preread Lua is done: nginx's own read handler comes back, and an abort check posted
/// meanwhile must not run it (that would re-run the phases).
pub unsafe fn restore_read_handler(c: *mut ngx_connection_t) {
    // SAFETY: c is a live connection.
    unsafe {
        let rev = (*c).read;
        if (*rev).posted() != 0 {
            ngx_delete_posted_event(rev);
        }
        (*rev).handler = Some(ngx_stream_session_handler);
    }
}

unsafe extern "C" fn check_abort(rev: *mut ngx_event_t) {
    guard((), || {
        // SAFETY: rev belongs to a live session's connection (rev->data = c, c->data = s).
        unsafe {
            let c = (*rev).data as *mut ngx_connection_t;
            let s = (*c).data as *mut ngx_stream_session_t;
            let mut byte = 0u8;
            let n = libc::recv((*c).fd, &mut byte as *mut u8 as *mut c_void, 1, libc::MSG_PEEK);
            let errno = std::io::Error::last_os_error().raw_os_error().unwrap_or(0);
            if n > 0 || (n == -1 && errno == libc::EAGAIN) {
                return;
            }
            (*rev).set_eof(1);
            (*rev).handler = Some(ignore_event);
            log_error(
                NGX_LOG_INFO,
                (*c).log,
                if n == 0 { 0 } else { errno },
                b"stream client prematurely closed connection",
            );
            let Some(sess) = Session::of(s) else { return };
            let t = (*sess).on_abort;
            if !t.is_null() && (*t).status == Status::Suspended {
                log_debug((*c).log, "lua waking up the on_abort callback thread");
                (*t).status = Status::Running;
                wake(sess, t, 0);
                return;
            }
            (*c).set_error(1);
            (*sess).cancel_wait();
            crate::runtime::downstream::finalize(s, NGX_ERROR as isize);
        }
    })
}

unsafe fn on_abort_impl(l: *mut lua_State) -> LuaResult {
    // SAFETY: l is the running coroutine.
    unsafe {
        let sess = current_session(l)?;
        if (*sess).s.is_null() {
            // a session-less context (timer, init_worker): upstream's fake-request check
            return err(format!("API disabled in the context of {}", (*sess).phase.directive_name()));
        }
        if !(*sess).on_abort.is_null() {
            raw::lua_pushnil(l);
            push_bytes(l, b"duplicate call");
            return Ok(2);
        }
        if !srv_conf_of((*sess).s).check_client_abort.unwrap_or(false) {
            raw::lua_pushnil(l);
            push_bytes(l, b"lua_check_client_abort is off");
            return Ok(2);
        }
        if raw::lua_type(l, 1) != LUA_TFUNCTION {
            return Err(LuaError::Arg(1, "on_abort", "Lua function expected".into()));
        }
        let co = raw::lua_newthread(l);
        let tidx = raw::lua_gettop(l);
        raw::lua_getfield(l, LUA_REGISTRYINDEX, COROUTINES.as_ptr());
        raw::lua_pushvalue(l, tidx);
        let co_ref = raw::luaL_ref(l, -2);
        raw::lua_pushvalue(l, 1);
        raw::lua_xmove(l, co, 1);
        let t = (*sess).add_thread(co, co_ref, true, (*sess).cur);
        (*t).status = Status::Suspended;
        (*sess).on_abort = t;
        raw::lua_pushinteger(l, 1);
        Ok(1)
    }
}
