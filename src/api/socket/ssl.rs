//! TLS on TCP cosockets: `sslhandshake(reused_session?, server_name?, ssl_verify?,
//! send_status_req?)` through nginx's TLS layer, with the server's `lua_ssl_*` context
//! (`ssl_ctx.rs`); the returned session userdata frees itself when collected.

use std::ffi::{c_int, c_void, CStr};
use std::ptr;

use crate::api::socket::fail;
use crate::api::socket::recv::or_default;
use crate::api::socket::tcp::{cancel_wait, on_read_event, on_write_event, this_in_session, TcpSocket};
use crate::api::{check_phase, current_session};
use crate::lua_api;
use crate::runtime::scheduler::wake;
use crate::runtime::session::Phase;
use crate::runtime::session::Session;
use crate::sys::*;

lua_api! {
    tcp_sslhandshake => sslhandshake_impl,
    ssl_session_gc => ssl_session_gc_impl,
}

/// Registers the metatable of session userdata.
pub fn inject(c: &mut Call) {
    c.register_gc(SESSION_METATABLE, ssl_session_gc);
}

const SESSION_METATABLE: &CStr = c"ngx_lua_ssl_session_mt";

unsafe fn ssl_session_gc_impl(l: *mut lua_State) -> LuaResult {
    // SAFETY: argument 1 is a session userdata made by push_handshake_result.
    unsafe {
        let ud = raw::lua_touserdata(l, 1) as *mut *mut SSL_SESSION;
        if !ud.is_null() && !(*ud).is_null() {
            log_debug(cycle_log(), &format!("stream lua ssl free session: {:p}", *ud));
            SSL_SESSION_free(*ud);
            *ud = ptr::null_mut();
        }
        Ok(0)
    }
}

/// The TLS context of the session's server (timers use the first server that has one).
unsafe fn ssl_ctx_of(sess: &Session) -> *mut ngx_ssl_t {
    // SAFETY: live confs of the running cycle.
    unsafe {
        if !sess.s.is_null() {
            return crate::conf::srv_conf_of(sess.s).ssl.ctx.map_or(ptr::null_mut(), |p| p.as_ptr());
        }
        crate::conf::first_ssl_ctx()
    }
}

/// `sslhandshake(reused_session?, server_name?, ssl_verify?, send_status_req?)`.
unsafe fn sslhandshake_impl(l: *mut lua_State) -> LuaResult {
    // SAFETY: l is the running coroutine.
    unsafe {
        let n = raw::lua_gettop(l);
        if !(1..=5).contains(&n) {
            return err(format!(
                "ngx.socket sslhandshake: expecting 1 ~ 5 arguments (including the object), but seen {n}"
            ));
        }
        let sess = current_session(l)?;
        check_phase(&*sess, Phase::YIELDABLE)?;
        let (sess, sock) = this_in_session(l, "sslhandshake")?;
        if !sock.connected() {
            return fail(l, b"closed");
        }
        if let Some(busy) = sock.busy() {
            return fail(l, busy);
        }
        let c = sock.c;
        sock.ssl_reuse = true;
        if !(*c).ssl.is_null() && (*(*c).ssl).handshaked() != 0 {
            // a pooled TLS connection: already done
            match raw::lua_type(l, 2) {
                raw::LUA_TUSERDATA => raw::lua_pushvalue(l, 2),
                LUA_TBOOLEAN if raw::lua_toboolean(l, 2) == 0 => raw::lua_pushboolean(l, 1),
                _ => {
                    push_session(l, c);
                }
            }
            return Ok(1);
        }
        let ctx = ssl_ctx_of(&*sess);
        if ctx.is_null()
            || ngx_ssl_create_connection(ctx, c, (NGX_SSL_BUFFER | NGX_SSL_CLIENT) as ngx_uint_t) != NGX_OK as isize
        {
            return fail(l, b"failed to create ssl connection");
        }
        (*c).set_sendfile(0);
        sock.ssl_verify = false;
        sock.ssl_name.clear();
        if n >= 2 {
            if raw::lua_type(l, 2) == LUA_TBOOLEAN {
                sock.ssl_reuse = raw::lua_toboolean(l, 2) != 0;
            } else {
                let ud = raw::lua_touserdata(l, 2) as *mut *mut SSL_SESSION;
                if !ud.is_null() && !(*ud).is_null() {
                    if ngx_ssl_set_session(c, *ud) != NGX_OK as isize {
                        return fail(l, b"lua ssl set session failed");
                    }
                    log_debug(sock.log(), &format!("stream lua ssl set session: {:p}", *ud));
                }
            }
        }
        if n >= 3 {
            if let Some(name) =
                to_bytes(l, 3).filter(|_| raw::lua_type(l, 3) == LUA_TSTRING || raw::lua_type(l, 3) == LUA_TNUMBER)
            {
                log_debug(sock.log(), &format!("stream lua ssl server name: \"{}\"", String::from_utf8_lossy(name)));
                let cname = std::ffi::CString::new(name).unwrap_or_default();
                // SSL_set_tlsext_host_name is a macro over SSL_ctrl
                const SSL_CTRL_SET_TLSEXT_HOSTNAME: c_int = 55;
                if SSL_ctrl((*(*c).ssl).connection, SSL_CTRL_SET_TLSEXT_HOSTNAME, 0, cname.as_ptr() as *mut c_void) == 0
                {
                    return fail(l, b"SSL_set_tlsext_host_name failed");
                }
                sock.ssl_name = name.to_vec();
            }
        }
        if n >= 4 {
            sock.ssl_verify = raw::lua_toboolean(l, 4) != 0;
        }
        if n >= 5 && raw::lua_toboolean(l, 5) != 0 {
            return err("no OCSP support");
        }
        let rc = ngx_ssl_handshake(c);
        if rc == NGX_AGAIN as isize {
            ensure_yieldable(l)?;
            if (*(*c).write).timer_set() != 0 {
                ngx_del_timer((*c).write);
            }
            ngx_add_timer((*c).read, or_default(sock.connect_timeout, sock.conf.connect_timeout()));
            (*(*c).ssl).handler = Some(on_handshake);
            sock.connector = (*sess).cur;
            (*sock.connector).pending = Some(cancel_wait);
            (*sock.connector).wait_obj = sock as *mut TcpSocket as *mut c_void;
            return yield_values(0);
        }
        Ok(handshake_result(sock, l))
    }
}

/// Pushes the session of a TLS connection (a userdata freed by the GC), or nil-like userdata.
unsafe fn push_session(l: *mut lua_State, c: *mut ngx_connection_t) {
    // SAFETY: c has a TLS connection.
    unsafe {
        let ud = raw::lua_newuserdata(l, std::mem::size_of::<*mut SSL_SESSION>()) as *mut *mut SSL_SESSION;
        let session = ngx_ssl_get_session(c);
        *ud = session;
        if !session.is_null() {
            log_debug((*c).log, &format!("stream lua ssl save session: {:p}", session));
            raw::lua_getfield(l, LUA_REGISTRYINDEX, SESSION_METATABLE.as_ptr());
            raw::lua_setmetatable(l, -2);
        }
    }
}

/// The Lua results of a finished handshake; a failed one closes the connection.
unsafe fn handshake_result(sock: &mut TcpSocket, l: *mut lua_State) -> c_int {
    // SAFETY: the socket's connection is live and has a TLS connection.
    unsafe {
        let c = sock.c;
        let rev = (*c).read;
        let failure: Vec<u8> = if (*rev).timedout() != 0 {
            b"timeout".to_vec()
        } else if (*(*c).ssl).handshaked() == 0 {
            b"handshake failed".to_vec()
        } else if sock.ssl_verify {
            let rc = SSL_get_verify_result((*(*c).ssl).connection);
            if rc != 0 {
                let why = std::ffi::CStr::from_ptr(X509_verify_cert_error_string(rc)).to_string_lossy().into_owned();
                let e = format!("{rc}: {why}");
                if sock.conf.log_errors() {
                    log_error(
                        NGX_LOG_ERR,
                        sock.log(),
                        0,
                        format!("stream lua ssl certificate verify error: ({e})").as_bytes(),
                    );
                }
                e.into_bytes()
            } else if !sock.ssl_name.is_empty() && {
                let mut name = ngx_str_t { len: sock.ssl_name.len(), data: sock.ssl_name.as_mut_ptr() };
                ngx_ssl_check_host(c, &mut name) != NGX_OK as isize
            } {
                if sock.conf.log_errors() {
                    let msg = format!(
                        "stream lua ssl certificate does not match host \"{}\"",
                        String::from_utf8_lossy(&sock.ssl_name)
                    );
                    log_error(NGX_LOG_ERR, sock.log(), 0, msg.as_bytes());
                }
                b"certificate host mismatch".to_vec()
            } else {
                Vec::new()
            }
        } else {
            Vec::new()
        };
        if (*rev).timer_set() != 0 {
            ngx_del_timer(rev);
        }
        if !failure.is_empty() {
            sock.close_connection();
            raw::lua_pushnil(l);
            push_bytes(l, &failure);
            return 2;
        }
        if sock.ssl_reuse {
            push_session(l, c);
        } else {
            raw::lua_pushboolean(l, 1);
        }
        1
    }
}

/// nginx's TLS layer finished (or failed, or timed out) a handshake that had to wait.
unsafe extern "C" fn on_handshake(c: *mut ngx_connection_t) {
    guard((), || {
        // SAFETY: c->data is the socket, whose connector waits.
        unsafe {
            let sock = &mut *((*c).data as *mut TcpSocket);
            (*(*c).read).handler = Some(on_read_event);
            (*(*c).write).handler = Some(on_write_event);
            let t = sock.connector;
            if t.is_null() || sock.sess.is_null() {
                return;
            }
            sock.connector = ptr::null_mut();
            (*t).pending = None;
            (*t).wait_obj = ptr::null_mut();
            let n = handshake_result(sock, (*t).co);
            wake(sock.sess, t, n);
        }
    })
}
