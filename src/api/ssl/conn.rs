//! The TLS state of the session's downstream connection, readable in any phase once nginx
//! has set TLS up (`listen ... ssl`), the handshake under way inside the TLS hooks:
//! `ssl_server_name`, `ssl_get_tls1_version`, `ssl_client_random`, `ssl_raw_server_addr`,
//! `ssl_server_port`, `ssl_raw_client_addr`; the certificate setters (`ssl_clear_certs`,
//! `ssl_set_der_*`, `set_cert`, `set_priv_key`) and `ssl_verify_client`, with stream-lua's
//! signatures and errors (upstream `ngx_stream_lua_ssl_certby.c`). Each export is one
//! `with_ssl` call on the session behind the opaque request pointer.

use std::ffi::{c_char, c_int, c_void};

use crate::ffi_exports;
use crate::runtime::session::{Phase, Session};
use crate::sys::cbuf::{bytes_out, ErrPtr};
use crate::sys::ngx::{NGX_DECLINED, NGX_ERROR, NGX_OK};
use crate::sys::openssl::{CertChain, PrivKey, RawAddr, SslConn, SslError};

/// The TLS state of the session behind the opaque request pointer.
pub(super) fn ssl_of(r: Option<&Session>) -> Result<SslConn<'_>, SslError> {
    let sess = r.ok_or(c"no request found")?;
    SslConn::of(sess.stream().ok_or(c"bad request")?)
}

/// `f`'s status on the TLS state of the session behind `r`; a failure's message goes to
/// `*err` with `NGX_ERROR` (the shape of every exported function here).
pub(super) fn with_ssl<'a>(
    r: Option<&'a Session>,
    mut err: ErrPtr,
    f: impl FnOnce(SslConn<'a>) -> Result<c_int, SslError>,
) -> c_int {
    match ssl_of(r).and_then(f) {
        Ok(rc) => rc,
        Err(msg) => {
            err.set(msg);
            NGX_ERROR as c_int
        }
    }
}

const OK: c_int = NGX_OK as c_int;

ffi_exports! {
    /// `NGX_OK` with the name in `*name`/`*namelen` (valid while the connection's TLS state
    /// is), `NGX_DECLINED` when the client sent none.
    fn ngx_stream_lua_ffi_ssl_server_name(
        r: Option<&Session>,
        name: &mut *const c_char,
        namelen: &mut usize,
        err: ErrPtr<'_>,
    ) -> c_int [NGX_ERROR as c_int] {
        with_ssl(r, err, |ssl| {
            let Some(n) = ssl.server_name() else { return Ok(NGX_DECLINED as c_int) };
            *name = n.as_ptr();
            *namelen = n.to_bytes().len();
            Ok(OK)
        })
    }

    /// The protocol version (`0x0303` for TLS 1.2, ...), or `NGX_ERROR`.
    fn ngx_stream_lua_ffi_ssl_get_tls1_version(r: Option<&Session>, err: ErrPtr<'_>) -> c_int [NGX_ERROR as c_int] {
        with_ssl(r, err, |ssl| Ok(ssl.version()))
    }

    /// `out` has room for `*outlen` bytes; on return `*outlen` is the count copied (the full
    /// length when `*outlen` was 0).
    fn ngx_stream_lua_ffi_ssl_client_random(
        r: Option<&Session>,
        out: *mut u8,
        outlen: &mut usize,
        err: ErrPtr<'_>,
    ) -> c_int [NGX_ERROR as c_int] {
        // SAFETY: out has *outlen writable bytes.
        let out = unsafe { bytes_out(out, *outlen) };
        with_ssl(r, err, |ssl| {
            *outlen = ssl.client_random(out);
            Ok(OK)
        })
    }
}

/// stream-lua's address kinds (`NGX_STREAM_LUA_ADDR_TYPE_*`): 0 unix, 1 inet, 2 inet6.
fn addr_parts(a: RawAddr<'_>) -> (&[u8], c_int) {
    match a {
        RawAddr::Unix(p) => (p, 0),
        RawAddr::Inet(a) => (a, 1),
        RawAddr::Inet6(a) => (a, 2),
    }
}

/// Writes an address result (bytes of the connection's, which outlive the caller's use) to
/// the caller's out pointers.
fn put_addr(a: RawAddr<'_>, addr: &mut *const c_char, addrlen: &mut usize, addrtype: &mut c_int) -> c_int {
    let (bytes, kind) = addr_parts(a);
    *addr = bytes.as_ptr() as *const c_char;
    *addrlen = bytes.len();
    *addrtype = kind;
    NGX_OK as c_int
}

ffi_exports! {
    /// The server address the client connected to: binary (4 or 16 bytes) or a unix path.
    fn ngx_stream_lua_ffi_ssl_raw_server_addr(
        r: Option<&Session>,
        addr: &mut *const c_char,
        addrlen: &mut usize,
        addrtype: &mut c_int,
        err: ErrPtr<'_>,
    ) -> c_int [NGX_ERROR as c_int] {
        with_ssl(r, err, |ssl| Ok(put_addr(ssl.server_addr()?, addr, addrlen, addrtype)))
    }

    /// The client's address: binary (4 or 16 bytes) or a unix path.
    fn ngx_stream_lua_ffi_ssl_raw_client_addr(
        r: Option<&Session>,
        addr: &mut *const c_char,
        addrlen: &mut usize,
        addrtype: &mut c_int,
        err: ErrPtr<'_>,
    ) -> c_int [NGX_ERROR as c_int] {
        with_ssl(r, err, |ssl| Ok(put_addr(ssl.client_addr(), addr, addrlen, addrtype)))
    }

    fn ngx_stream_lua_ffi_ssl_server_port(
        r: Option<&Session>,
        server_port: &mut u16,
        err: ErrPtr<'_>,
    ) -> c_int [NGX_ERROR as c_int] {
        with_ssl(r, err, |ssl| {
            *server_port = ssl.server_port()?;
            Ok(OK)
        })
    }

    fn ngx_stream_lua_ffi_ssl_clear_certs(r: Option<&Session>, err: ErrPtr<'_>) -> c_int [NGX_ERROR as c_int] {
        with_ssl(r, err, |ssl| {
            ssl.clear_certs();
            Ok(OK)
        })
    }

    /// `data` is one or more DER certificates, leaf first.
    fn ngx_stream_lua_ffi_ssl_set_der_certificate(
        r: Option<&Session>,
        data: bytes[len],
        err: ErrPtr<'_>,
    ) -> c_int [NGX_ERROR as c_int] {
        with_ssl(r, err, |ssl| {
            // upstream names any certificate it cannot read the same way
            let chain = CertChain::from_der(data).map_err(|e| match e.to_bytes() {
                b"d2i_X509_bio() failed in rest of chain" => c"d2i_X509_bio() failed",
                _ => e,
            })?;
            ssl.use_cert_chain(&chain).map(|()| OK)
        })
    }

    fn ngx_stream_lua_ffi_ssl_set_der_private_key(
        r: Option<&Session>,
        data: bytes[len],
        err: ErrPtr<'_>,
    ) -> c_int [NGX_ERROR as c_int] {
        with_ssl(r, err, |ssl| ssl.use_priv_key(&PrivKey::from_der(data)?).map(|()| OK))
    }

    /// `cdata` is null or a chain from `parse_*_cert` that Lua still holds.
    fn ngx_stream_lua_ffi_set_cert(
        r: Option<&Session>,
        cdata: *mut c_void,
        err: ErrPtr<'_>,
    ) -> c_int [NGX_ERROR as c_int] {
        with_ssl(r, err, |ssl| {
            // SAFETY: cdata as described, live during the call.
            unsafe { CertChain::with_raw(cdata, |chain| ssl.use_cert_chain(chain)) }
                .unwrap_or(Err(c"invalid certificate chain"))
                .map(|()| OK)
        })
    }

    /// `cdata` is null or a key from `parse_*_priv_key` that Lua still holds.
    fn ngx_stream_lua_ffi_set_priv_key(
        r: Option<&Session>,
        cdata: *mut c_void,
        err: ErrPtr<'_>,
    ) -> c_int [NGX_ERROR as c_int] {
        with_ssl(r, err, |ssl| {
            // SAFETY: cdata as described, live during the call.
            unsafe { PrivKey::with_raw(cdata, |key| ssl.use_priv_key(key)) }
                .unwrap_or(Err(c"invalid private key failed"))
                .map(|()| OK)
        })
    }

    /// Inside `ssl_certificate_by_lua*` only: ask the client for a certificate, verified
    /// against `client_certs` (named to the client as acceptable CAs) and `trusted_certs`
    /// (chains from `parse_*_cert`, or null); `depth` < 0 takes the server's
    /// `ssl_verify_depth`.
    fn ngx_stream_lua_ffi_ssl_verify_client(
        r: Option<&Session>,
        client_certs: *mut c_void,
        trusted_certs: *mut c_void,
        depth: c_int,
        mut err: ErrPtr<'_>,
    ) -> c_int [NGX_ERROR as c_int] {
        let msg = match r.map(|sess| sess.phase) {
            None => c"no request ctx found",
            Some(phase) if phase != Phase::SslCert => c"API disabled in the current context",
            Some(_) => {
                return with_ssl(r, err, |ssl| {
                    // SAFETY: the chains are null or Lua's, live during the call.
                    unsafe { ssl.verify_client_raw(client_certs, trusted_certs, depth) }.map(|()| OK)
                })
            }
        };
        err.set(msg);
        NGX_ERROR as c_int
    }
}
