//! Client-side TLS on an outgoing connection (a cosocket's `sslhandshake`): starting TLS with
//! a server's client context, resuming a session, SNI, the handshake and the peer checks, as
//! more methods of `Conn`; and `SslSession`, a TLS session to resume, freed when dropped.

use std::ffi::{c_int, c_void, CStr, CString};
use std::ptr::NonNull;

use super::conn::Conn;
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

/// What a client TLS context is made of (a server's `lua_ssl_*` settings).
pub struct ClientCtxSettings<'a> {
    /// `NGX_SSL_*` protocol bits.
    pub protocols: usize,
    pub ciphers: &'a [u8],
    /// The certificate, and its key if one was given.
    pub certificate: Option<(&'a [u8], Option<&'a [u8]>)>,
    pub trusted_certificate: Option<&'a [u8]>,
    pub verify_depth: usize,
    pub crl: &'a [u8],
    pub conf_commands: Option<&'a [(Vec<u8>, Vec<u8>)]>,
}

/// Why a client TLS context was not made.
pub enum CtxError {
    /// nginx failed (and logged why).
    Failed,
    /// A certificate without a key.
    NoKey,
}

/// An nginx string over `bytes`, copied into the configuration pool and NUL-terminated.
fn pool_str(cf: &super::conf::Conf, bytes: &[u8]) -> Result<ngx_str_t, CtxError> {
    // SAFETY: the configuration pool lives as long as the cycle; the copy is of bytes.len()
    // bytes into an allocation one longer.
    unsafe {
        let p = ngx_pnalloc(cf.pool(), bytes.len() + 1) as *mut u8;
        if p.is_null() {
            return Err(CtxError::Failed);
        }
        std::ptr::copy_nonoverlapping(bytes.as_ptr(), p, bytes.len());
        *p.add(bytes.len()) = 0;
        Ok(ngx_str_t { len: bytes.len(), data: p })
    }
}

fn ok(rc: ngx_int_t) -> Result<(), CtxError> {
    if rc == NGX_OK as ngx_int_t {
        Ok(())
    } else {
        Err(CtxError::Failed)
    }
}

/// Makes a client TLS context in the configuration `cf` being read (freed with its pool).
pub fn create_client_ctx(cf: &super::conf::Conf, s: &ClientCtxSettings) -> Result<NonNull<ngx_ssl_t>, CtxError> {
    let cfp = cf.as_ptr();
    // SAFETY: cf is the live parser state; the context and everything it is given live in the
    // configuration pool, which nginx frees with the cycle (the cleanup frees the context).
    unsafe {
        let ssl = ngx_pcalloc(cf.pool(), std::mem::size_of::<ngx_ssl_t>()) as *mut ngx_ssl_t;
        let ssl = NonNull::new(ssl).ok_or(CtxError::Failed)?;
        let p = ssl.as_ptr();
        (*p).log = cf.log();
        ok(ngx_ssl_create(p, s.protocols as ngx_uint_t, std::ptr::null_mut()))?;
        let cln = ngx_pool_cleanup_add(cf.pool(), 0);
        if cln.is_null() {
            ngx_ssl_cleanup_ctx(p as *mut c_void);
            return Err(CtxError::Failed);
        }
        (*cln).handler = Some(ngx_ssl_cleanup_ctx);
        (*cln).data = p as *mut c_void;

        let mut ciphers = pool_str(cf, s.ciphers)?;
        ok(ngx_ssl_ciphers(cfp, p, &mut ciphers, 0))?;
        if let Some((cert, key)) = s.certificate {
            let key = key.ok_or(CtxError::NoKey)?;
            let (mut c, mut k) = (pool_str(cf, cert)?, pool_str(cf, key)?);
            ok(ngx_ssl_certificate(cfp, p, &mut c, &mut k, std::ptr::null_mut()))?;
        }
        if let Some(trusted) = s.trusted_certificate {
            let mut t = pool_str(cf, trusted)?;
            ok(ngx_ssl_trusted_certificate(cfp, p, &mut t, s.verify_depth as ngx_int_t))?;
        }
        let mut crl = pool_str(cf, s.crl)?;
        ok(ngx_ssl_crl(cfp, p, &mut crl))?;
        if let Some(cmds) = s.conf_commands {
            let arr = ngx_array_create(cf.pool(), cmds.len().max(1), std::mem::size_of::<ngx_keyval_t>());
            if arr.is_null() {
                return Err(CtxError::Failed);
            }
            for (k, v) in cmds {
                let kv = ngx_array_push(arr) as *mut ngx_keyval_t;
                if kv.is_null() {
                    return Err(CtxError::Failed);
                }
                (*kv).key = pool_str(cf, k)?;
                (*kv).value = pool_str(cf, v)?;
            }
            ok(ngx_ssl_conf_commands(cfp, p, arr))?;
        }
        Ok(ssl)
    }
}
