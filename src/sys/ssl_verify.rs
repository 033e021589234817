//! `ngx.ssl.verify_client` on the raw layer: ask the client for a certificate during the
//! handshake and verify it against given CA certificates (upstream
//! `ngx_stream_lua_ffi_ssl_verify_client`'s facts). A failed verification never ends the
//! handshake; as with nginx's `ssl_verify_client optional_no_ca`, `$ssl_client_verify` tells.

use std::ffi::{c_int, c_void};
use std::ptr::{self, NonNull};

use super::ngx::*;
use super::openssl::{CertChain, SslConn, SslError};
use super::ssl_hook::SslSrvConf;

/// Accepts every certificate: the result stays in the connection for `$ssl_client_verify`.
unsafe extern "C" fn accept_any(_ok: c_int, _ctx: *mut X509_STORE_CTX) -> c_int {
    1
}

/// A certificate store being filled, freed unless handed to the connection.
struct Store(NonNull<X509_STORE>);

impl Store {
    fn new() -> Result<Store, SslError> {
        // SAFETY: no preconditions; a new store we own, or null.
        NonNull::new(unsafe { X509_STORE_new() }).map(Store).ok_or(c"X509_STORE_new() failed")
    }

    fn add(&mut self, cert: NonNull<X509>) -> Result<(), SslError> {
        // SAFETY: our live store and a live certificate; the store takes a reference.
        if unsafe { X509_STORE_add_cert(self.0.as_ptr(), cert.as_ptr()) } == 0 {
            return Err(c"X509_STORE_add_cert() failed");
        }
        Ok(())
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        // SAFETY: we own the store.
        unsafe { X509_STORE_free(self.0.as_ptr()) }
    }
}

/// A list of CA names for the client, freed unless handed to the connection.
struct Names(NonNull<OPENSSL_STACK>);

unsafe extern "C" fn free_name(p: *mut c_void) {
    // SAFETY: called by OPENSSL_sk_pop_free on our stack's X509_NAMEs.
    unsafe { X509_NAME_free(p as *mut X509_NAME) }
}

impl Names {
    fn new() -> Result<Names, SslError> {
        // SAFETY: no preconditions; a new empty stack we own, or null.
        NonNull::new(unsafe { OPENSSL_sk_new_null() }).map(Names).ok_or(c"sk_X509_NAME_new_null() failed")
    }

    fn push_subject_of(&mut self, cert: NonNull<X509>) -> Result<(), SslError> {
        // SAFETY: a live certificate; the copy is ours until the stack takes it.
        let name = unsafe { X509_NAME_dup(X509_get_subject_name(cert.as_ptr())) };
        if name.is_null() {
            return Err(c"X509_get_subject_name() failed");
        }
        // SAFETY: our live stack takes the name on success.
        if unsafe { OPENSSL_sk_push(self.0.as_ptr(), name as *const c_void) } == 0 {
            // SAFETY: the copy made above, not taken.
            unsafe { X509_NAME_free(name) };
            return Err(c"sk_X509_NAME_push() failed");
        }
        Ok(())
    }
}

impl Drop for Names {
    fn drop(&mut self) {
        // SAFETY: we own the stack and its names.
        unsafe { OPENSSL_sk_pop_free(self.0.as_ptr(), Some(free_name)) }
    }
}

impl SslConn<'_> {
    /// The session's `ssl_verify_depth` (nginx's default 1 when none is configured).
    fn server_verify_depth(self) -> c_int {
        let (_, c) = self.parts();
        // SAFETY: an SslConn's connection is a stream client connection whose data is its
        // session; the TLS module's server conf lives as long as the cycle.
        unsafe {
            let s = (*c.as_ptr()).data as *const ngx_stream_session_t;
            let index = (*ptr::addr_of!(ngx_stream_ssl_module)).ctx_index;
            let sscf = (*(*s).srv_conf.add(index) as *const SslSrvConf).as_ref();
            sscf.map_or(1, |c| c.verify_depth as c_int)
        }
    }

    /// Asks the client for a certificate and verifies it against `client` (whose subjects are
    /// also sent as the acceptable CAs) and `trusted`; `depth` < 0 takes the server's.
    pub fn verify_client(
        self,
        client: Option<&CertChain>,
        trusted: Option<&CertChain>,
        depth: c_int,
    ) -> Result<(), SslError> {
        let (ssl, _) = self.parts();
        let depth = if depth < 0 { self.server_verify_depth() } else { depth };
        // SAFETY: a live SSL object during its handshake.
        unsafe {
            SSL_set_verify(ssl.as_ptr(), SSL_VERIFY_PEER as c_int, Some(accept_any));
            SSL_set_verify_depth(ssl.as_ptr(), depth);
        }
        if client.is_none() && trusted.is_none() {
            return Ok(());
        }
        let mut store = Store::new()?;
        if let Some(client) = client {
            let mut names = Names::new()?;
            for cert in client.certs() {
                names.push_subject_of(cert)?;
                store.add(cert)?;
            }
            // SAFETY: the connection takes the list over.
            unsafe { SSL_set_client_CA_list(ssl.as_ptr(), names.0.as_ptr() as *mut _) };
            std::mem::forget(names);
        }
        for cert in trusted.into_iter().flat_map(CertChain::certs) {
            store.add(cert)?;
        }
        // SAFETY: SSL_set0_verify_cert_store (a macro over SSL_ctrl): the connection takes the
        // store over on success.
        let ok = unsafe {
            SSL_ctrl(ssl.as_ptr(), SSL_CTRL_SET_VERIFY_CERT_STORE as c_int, 0, store.0.as_ptr() as *mut c_void)
        };
        if ok == 0 {
            return Err(c"SSL_set0_verify_cert_store() failed");
        }
        std::mem::forget(store);
        Ok(())
    }

    /// `verify_client` with the chains `parse_*_cert` gave Lua (null for none).
    ///
    /// # Safety
    /// `client` and `trusted` are null or chains from `CertChain::into_raw` that stay live
    /// during the call.
    pub unsafe fn verify_client_raw(
        self,
        client: *mut c_void,
        trusted: *mut c_void,
        depth: c_int,
    ) -> Result<(), SslError> {
        // SAFETY: the caller's contract.
        unsafe {
            CertChain::with_raw(client, |c| {
                CertChain::with_raw(trusted, |t| self.verify_client(Some(c), Some(t), depth))
                    .unwrap_or_else(|| self.verify_client(Some(c), None, depth))
            })
            .unwrap_or_else(|| {
                CertChain::with_raw(trusted, |t| self.verify_client(None, Some(t), depth))
                    .unwrap_or_else(|| self.verify_client(None, None, depth))
            })
        }
    }
}
