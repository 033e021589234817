//! The raw side of the TLS hooks (`ssl_certificate_by_lua*`, `ssl_client_hello_by_lua*`):
//! the server's `SSL_CTX` as `ngx_stream_ssl_module` made it, registering OpenSSL's
//! certificate and ClientHello callbacks on it, finding the stream session a callback runs
//! for, and the log context of a hook (upstream's `context: ssl_..._by_lua*` lines).

use std::ffi::{c_int, c_void};
use std::marker::PhantomData;
use std::ptr::{self, NonNull};

use super::conf::Conf;
use super::ngx::*;
use super::stream::StreamSession;

/// `ngx_stream_ssl_module`'s server configuration (renamed in nginx 1.25.5; the fields we
/// read, `ssl`, `handshake_timeout` and `verify_depth`, are in both).
#[cfg(nginx_at_least_1_25_5)]
pub type SslSrvConf = ngx_stream_ssl_srv_conf_t;
#[cfg(not(nginx_at_least_1_25_5))]
pub type SslSrvConf = ngx_stream_ssl_conf_t;

/// OpenSSL's certificate callback (`SSL_CTX_set_cert_cb`).
pub type CertCb = unsafe extern "C" fn(*mut SSL, *mut c_void) -> c_int;
/// OpenSSL's ClientHello callback (`SSL_CTX_set_client_hello_cb`).
pub type ClientHelloCb = unsafe extern "C" fn(*mut SSL, *mut c_int, *mut c_void) -> c_int;

/// The TLS server context of the `server {}` being merged, for as long as the configuration.
#[derive(Clone, Copy)]
pub struct ServerTls<'a>(NonNull<SSL_CTX>, PhantomData<&'a SSL_CTX>);

impl<'a> ServerTls<'a> {
    /// `ngx_stream_ssl_module`'s `ssl.ctx` of the server `cf` merges; none when the server
    /// has no TLS (no certificate, no `listen ... ssl`).
    pub fn of(cf: &Conf<'a>) -> Option<ServerTls<'a>> {
        // SAFETY: cf's context is a stream configuration context; ngx_stream_ssl_module (a
        // static module, merged before us) has a server conf slot at its ctx_index, holding
        // its ngx_stream_ssl_srv_conf_t.
        let ctx = unsafe {
            let ctx = (*cf.as_ptr()).ctx as *const ngx_stream_conf_ctx_t;
            let index = (*ptr::addr_of!(ngx_stream_ssl_module)).ctx_index;
            let sscf = *(*ctx).srv_conf.add(index) as *const SslSrvConf;
            sscf.as_ref()?.ssl.ctx as *mut SSL_CTX
        };
        NonNull::new(ctx).map(|c| ServerTls(c, PhantomData))
    }

    pub fn set_cert_cb(self, cb: CertCb) {
        // SAFETY: a live SSL_CTX; the callback is a plain function with no argument.
        unsafe { SSL_CTX_set_cert_cb(self.0.as_ptr(), Some(cb), ptr::null_mut()) }
    }

    pub fn set_client_hello_cb(self, cb: ClientHelloCb) {
        // SAFETY: as set_cert_cb.
        unsafe { SSL_CTX_set_client_hello_cb(self.0.as_ptr(), Some(cb), ptr::null_mut()) }
    }
}

/// The stream session whose server-side handshake OpenSSL runs a callback for.
pub struct HookSsl<'a> {
    pub s: StreamSession<'a>,
}

/// OpenSSL runs the certificate and ClientHello callbacks with the `SSL` that
/// `ngx_ssl_create_connection` made for a stream session's client connection.
impl super::export::CallbackArg for HookSsl<'_> {
    type Raw = *mut SSL;

    unsafe fn from_callback(ssl: *mut SSL) -> Option<Self> {
        if ssl.is_null() {
            return None;
        }
        // SAFETY: the trait's contract: nginx keeps the connection in the SSL's ex data
        // (ngx_ssl_get_connection); a stream client connection's data is its session.
        unsafe {
            let c = SSL_get_ex_data(ssl, ngx_ssl_connection_index) as *mut ngx_connection_t;
            let c = c.as_ref()?;
            StreamSession::from_raw(c.data as *mut ngx_stream_session_t).map(|s| HookSsl { s })
        }
    }
}

/// The ClientHello callback's alert out parameter.
pub struct Alert<'a>(Option<&'a mut c_int>);

impl Alert<'_> {
    pub fn set(&mut self, alert: c_int) {
        if let Some(al) = self.0.as_mut() {
            **al = alert;
        }
    }
}

/// OpenSSL passes the ClientHello callback a writable alert code (or null).
impl super::export::CallbackArg for Alert<'_> {
    type Raw = *mut c_int;

    unsafe fn from_callback(al: *mut c_int) -> Option<Self> {
        // SAFETY: the trait's contract.
        Some(Alert(unsafe { al.as_mut() }))
    }
}

/// Whether nginx may close the session's connection to reuse it (`c->reusable`).
pub fn reusable(s: &StreamSession) -> bool {
    // SAFETY: a live session's connection.
    unsafe { (*s.connection()).reusable() != 0 }
}

/// Takes the connection out of nginx's reusable list (`ngx_reusable_connection(c, 0)`): a
/// hook's Lua code runs on it.
pub fn not_reusable(s: &StreamSession) {
    // SAFETY: a live session's connection.
    unsafe { ngx_reusable_connection(s.connection(), 0) }
}

/// Which hook's context lines a session's log writes.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum HookContext {
    Cert = 0,
    ClientHello = 1,
}

/// While it lives, the connection's log ends its lines as upstream's hooks do
/// (`, context: ssl_certificate_by_lua*, client: ADDR, server: ADDR`) instead of nginx's
/// stream form; dropping it gives nginx's handler back.
pub struct HookLog {
    log: NonNull<ngx_log_t>,
    saved: ngx_log_handler_pt,
}

/// nginx's log handler, kept while a waiting hook's context is in the log.
#[derive(Clone, Copy)]
pub struct SavedLog {
    log: NonNull<ngx_log_t>,
    handler: ngx_log_handler_pt,
}

impl SavedLog {
    /// Gives the log its handler back.
    pub fn restore(self) {
        // SAFETY: the connection's log, which outlives its TLS handshake (the state that
        // keeps this value lives in the connection's pool).
        unsafe { (*self.log.as_ptr()).handler = self.handler }
    }
}

impl HookLog {
    /// The hook waits: its context stays in the log until `SavedLog::restore`.
    pub fn keep(self) -> SavedLog {
        let saved = SavedLog { log: self.log, handler: self.saved };
        std::mem::forget(self);
        saved
    }

    pub fn enter(s: &StreamSession, hook: HookContext) -> Option<HookLog> {
        let log = NonNull::new(s.log().as_ptr())?;
        let handler: unsafe extern "C" fn(*mut ngx_log_t, *mut u8, usize) -> *mut u8 = match hook {
            HookContext::Cert => cert_log_handler,
            HookContext::ClientHello => client_hello_log_handler,
        };
        // SAFETY: the connection's live log; its data stays the session (read by our handler).
        let saved = unsafe { (*log.as_ptr()).handler.replace(handler) };
        Some(HookLog { log, saved })
    }
}

impl Drop for HookLog {
    fn drop(&mut self) {
        // SAFETY: the log outlives the hook run this value spans (the connection's).
        unsafe { (*self.log.as_ptr()).handler = self.saved }
    }
}

unsafe extern "C" fn cert_log_handler(log: *mut ngx_log_t, buf: *mut u8, len: usize) -> *mut u8 {
    // SAFETY: nginx calls a log handler with its log and room for len bytes at buf.
    unsafe { write_context(log, buf, len, b", context: ssl_certificate_by_lua*") }
}

unsafe extern "C" fn client_hello_log_handler(log: *mut ngx_log_t, buf: *mut u8, len: usize) -> *mut u8 {
    // SAFETY: as cert_log_handler.
    unsafe { write_context(log, buf, len, b", context: ssl_client_hello_by_lua*") }
}

/// # Safety
/// `log` is a stream connection's log whose `data` is its session; `buf` has `len` bytes.
unsafe fn write_context(log: *mut ngx_log_t, buf: *mut u8, len: usize, context: &[u8]) -> *mut u8 {
    let mut line = context.to_vec();
    // SAFETY: the caller's contract; the connection, its address text and its listening
    // socket live as long as the session.
    unsafe {
        let s = (*log).data as *const ngx_stream_session_t;
        if let Some(c) = s.as_ref().and_then(|s| s.connection.as_ref()) {
            if c.addr_text.len > 0 {
                line.extend_from_slice(b", client: ");
                line.extend_from_slice(ngx_bytes(&c.addr_text));
            }
            if let Some(ls) = c.listening.as_ref() {
                if ls.addr_text.len > 0 {
                    line.extend_from_slice(b", server: ");
                    line.extend_from_slice(ngx_bytes(&ls.addr_text));
                }
            }
        }
        let n = line.len().min(len);
        ptr::copy_nonoverlapping(line.as_ptr(), buf, n);
        buf.add(n)
    }
}
