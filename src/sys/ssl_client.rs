//! Client-side TLS on an outgoing connection (a cosocket's `sslhandshake`): starting TLS with
//! a server's client context, resuming a session, SNI, the handshake and the peer checks, as
//! more methods of `Conn`; and `SslSession`, a TLS session to resume, freed when dropped.

use std::ffi::{c_int, c_void, CStr, CString};
use std::ptr::NonNull;

use super::call::{Call, LuaObject};
use super::conn::Conn;
use super::lua::raw;
use super::ngx::*;

/// A TLS session of a finished handshake (none when TLS kept none), freed on drop.
pub struct SslSession(*mut SSL_SESSION);

impl SslSession {
    /// Its address, for log lines (null when none).
    pub fn addr(&self) -> *const c_void {
        self.0 as *const c_void
    }

    pub fn is_none(&self) -> bool {
        self.0.is_null()
    }
}

impl Drop for SslSession {
    fn drop(&mut self) {
        if !self.0.is_null() {
            // SAFETY: the session is ours (a reference taken by ngx_ssl_get_session).
            unsafe { SSL_SESSION_free(self.0) };
        }
    }
}

/// How a handshake went on.
pub enum Handshake {
    /// Finished (well or not: see `tls_handshaked`).
    Done,
    /// Waiting for the peer: the handler given to `tls_wait` is called when it is over.
    Again,
}

/// What nginx calls when a handshake that waited is over.
pub type HandshakeHandler = unsafe extern "C" fn(*mut ngx_connection_t);

/// `SSL_set_tlsext_host_name` is a macro over SSL_ctrl with this command.
const SSL_CTRL_SET_TLSEXT_HOSTNAME: c_int = 55;

impl Conn {
    fn ssl(self) -> Option<NonNull<ngx_ssl_connection_t>> {
        // SAFETY: the connection is live.
        NonNull::new(unsafe { (*self.as_ptr()).ssl })
    }

    /// Whether the connection runs TLS whose handshake is done.
    pub fn tls_handshaked(self) -> bool {
        // SAFETY: the connection's TLS state lives as long as it does.
        self.ssl().is_some_and(|s| unsafe { s.as_ref().handshaked() } != 0)
    }

    /// Starts client TLS with context `ctx` (sendfile off, as TLS needs); false when it failed.
    pub fn tls_start(self, ctx: NonNull<ngx_ssl_t>) -> bool {
        let c = self.as_ptr();
        let flags = (NGX_SSL_BUFFER | NGX_SSL_CLIENT) as ngx_uint_t;
        // SAFETY: the connection is live and ours; ctx is a configured client context.
        unsafe {
            if ngx_ssl_create_connection(ctx.as_ptr(), c, flags) != NGX_OK as isize {
                return false;
            }
            (*c).set_sendfile(0);
        }
        true
    }

    /// Offers `session` for resumption; false when it failed.
    pub fn tls_set_session(self, session: &SslSession) -> bool {
        // SAFETY: the connection is live with TLS started; nginx takes its own reference.
        unsafe { ngx_ssl_set_session(self.as_ptr(), session.0) == NGX_OK as isize }
    }

    /// Sends `name` as SNI; false when it failed.
    pub fn tls_set_server_name(self, name: &[u8]) -> bool {
        let Some(ssl) = self.ssl() else { return false };
        let name = CString::new(name).unwrap_or_default();
        // SAFETY: a live TLS connection; OpenSSL copies the name.
        unsafe { SSL_ctrl(ssl.as_ref().connection, SSL_CTRL_SET_TLSEXT_HOSTNAME, 0, name.as_ptr() as *mut c_void) != 0 }
    }

    /// Runs the handshake.
    pub fn tls_handshake(self) -> Handshake {
        // SAFETY: the connection is live with TLS started.
        if unsafe { ngx_ssl_handshake(self.as_ptr()) } == NGX_AGAIN as isize {
            Handshake::Again
        } else {
            Handshake::Done
        }
    }

    /// Waits for a handshake that returned `Again`, at most `timeout` ms; nginx's TLS layer
    /// calls `handler` when it is over (and takes over the events until then).
    pub fn tls_wait(self, timeout: ngx_msec_t, handler: HandshakeHandler) {
        self.clear_timer(super::conn::Dir::Write);
        self.set_timer(super::conn::Dir::Read, timeout);
        if let Some(mut ssl) = self.ssl() {
            // SAFETY: the connection's TLS state lives as long as it does.
            unsafe { ssl.as_mut().handler = Some(handler) };
        }
    }

    /// Gives the event handlers back to the connection's owner after a handshake.
    pub fn set_handlers(self, read: super::event::EventHandler, write: super::event::EventHandler) {
        let c = self.as_ptr();
        // SAFETY: the connection is live, and so are its events.
        unsafe {
            (*(*c).read).handler = Some(read);
            (*(*c).write).handler = Some(write);
        }
    }

    /// The session of the finished handshake, to resume later.
    pub fn tls_session(self) -> SslSession {
        // SAFETY: the connection is live with TLS; the session returned is a new reference.
        SslSession(unsafe { ngx_ssl_get_session(self.as_ptr()) })
    }

    /// The peer certificate's verification: Err(code, reason) when it failed.
    pub fn tls_verify_result(self) -> Result<(), (i64, String)> {
        let Some(ssl) = self.ssl() else { return Ok(()) };
        // SAFETY: a live TLS connection; the reason is a static C string.
        unsafe {
            let rc = SSL_get_verify_result(ssl.as_ref().connection);
            if rc == 0 {
                return Ok(());
            }
            Err((rc as i64, CStr::from_ptr(X509_verify_cert_error_string(rc)).to_string_lossy().into_owned()))
        }
    }

    /// Whether the peer certificate matches host `name`.
    pub fn tls_check_host(self, name: &[u8]) -> bool {
        let mut name = name.to_vec();
        let mut s = ngx_str_t { len: name.len(), data: name.as_mut_ptr() };
        // SAFETY: a live TLS connection; nginx only reads the name.
        unsafe { ngx_ssl_check_host(self.as_ptr(), &mut s) == NGX_OK as isize }
    }
}

/// The owner given to a connection (`c->data`) whose handshake handler nginx called.
///
/// # Safety
/// `c` is a live connection.
pub unsafe fn conn_owner(c: *mut ngx_connection_t) -> (Conn, *mut c_void) {
    // SAFETY: the caller's contract.
    unsafe { (Conn::from_raw(c).expect("a connection"), (*c).data) }
}

impl<'l> Call<'l> {
    /// Runs `f` on the value owned by the userdata at `i` made by `push_udata` (None when `i`
    /// holds no such userdata, or it was taken).
    pub fn with_udata<T: LuaObject, R>(&mut self, i: c_int, f: impl FnOnce(&mut T) -> R) -> Option<R> {
        let l = self.as_ptr();
        let top = self.top();
        self.reserve(2);
        // SAFETY: room was reserved and the stack is restored; a userdata with T's metatable
        // holds null or a live T (the LuaObject contract), and f gets no Lua state.
        unsafe {
            let ud = raw::lua_touserdata(l, i) as *mut *mut T;
            let mut p = std::ptr::null_mut();
            if !ud.is_null() && raw::lua_getmetatable(l, i) != 0 {
                raw::lua_getfield(l, mlua::ffi::LUA_REGISTRYINDEX, T::UDATA_METATABLE.as_ptr());
                if raw::lua_rawequal(l, -1, -2) != 0 {
                    p = *ud;
                }
            }
            raw::lua_settop(l, top);
            p.as_mut().map(f)
        }
    }
}
