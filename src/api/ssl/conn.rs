//! The TLS state of the session's downstream connection, readable in any phase once nginx
//! has set TLS up (`listen ... ssl`), the handshake under way inside the TLS hooks:
//! `ssl_server_name`, `ssl_get_tls1_version`, `ssl_client_random`, `ssl_raw_server_addr`,
//! `ssl_server_port`, `ssl_raw_client_addr`; the certificate setters (`ssl_clear_certs`,
//! `ssl_set_der_*`, `set_cert`, `set_priv_key`) and `ssl_verify_client`, with stream-lua's
//! signatures and errors (upstream `ngx_stream_lua_ssl_certby.c`). Each export is one
//! `with_ssl` call over the opaque request pointer.

use std::ffi::{c_char, c_int, c_void};

use crate::api::exports::session;
use crate::runtime::session::{Phase, Session};
use crate::sys::cbuf::{bytes_in, bytes_out, ErrPtr};
use crate::sys::ngx::{guard, NGX_DECLINED, NGX_ERROR, NGX_OK};
use crate::sys::openssl::{CertChain, PrivKey, RawAddr, SslConn, SslError};

/// The TLS state of the session behind the opaque request pointer.
///
/// # Safety
/// As `exports::session`: `r` is null or the running session (what the built-in layer's
/// `get_request()` gave), live for the whole call.
pub(super) unsafe fn ssl_of<'a>(r: *mut Session) -> Result<SslConn<'a>, SslError> {
    // SAFETY: the caller's contract; only a shared reference is kept.
    let sess: &'a Session = unsafe { session(r) }.ok_or(c"no request found")?;
    SslConn::of(sess.stream().ok_or(c"bad request")?)
}

/// `NGX_ERROR`, with `*err` pointed at `msg`.
///
/// # Safety
/// `err` is null or valid for a write.
pub(super) unsafe fn set_err(err: *mut *const c_char, msg: SslError) -> c_int {
    // SAFETY: the caller's contract.
    unsafe { ErrPtr::from_raw(err) }.set(msg);
    NGX_ERROR as c_int
}

/// `f`'s status on the TLS state of the session behind `r`; a failure's message goes to
/// `*err` with `NGX_ERROR` (the shape of every exported function here).
///
/// # Safety
/// `r` as `ssl_of` wants; `err` is null or valid for a write.
pub(super) unsafe fn with_ssl<'a>(
    r: *mut Session,
    err: *mut *const c_char,
    f: impl FnOnce(SslConn<'a>) -> Result<c_int, SslError>,
) -> c_int {
    // SAFETY: the caller's contract, for both.
    unsafe {
        match ssl_of(r).and_then(f) {
            Ok(rc) => rc,
            Err(msg) => set_err(err, msg),
        }
    }
}

const OK: c_int = NGX_OK as c_int;

/// `NGX_OK` with the name in `*name`/`*namelen`, `NGX_DECLINED` when the client sent none.
#[no_mangle]
pub unsafe extern "C" fn ngx_stream_lua_ffi_ssl_server_name(
    r: *mut Session,
    name: *mut *const c_char,
    namelen: *mut usize,
    err: *mut *const c_char,
) -> c_int {
    // SAFETY: r as `ssl_of` wants; name, namelen and err are the caller's writable out
    // pointers; the name stays valid while the connection's TLS state does.
    guard(NGX_ERROR as c_int, || unsafe {
        with_ssl(r, err, |ssl| {
            let Some(n) = ssl.server_name() else { return Ok(NGX_DECLINED as c_int) };
            *name = n.as_ptr();
            *namelen = n.to_bytes().len();
            Ok(OK)
        })
    })
}

/// The protocol version (`0x0303` for TLS 1.2, ...), or `NGX_ERROR`.
#[no_mangle]
pub unsafe extern "C" fn ngx_stream_lua_ffi_ssl_get_tls1_version(r: *mut Session, err: *mut *const c_char) -> c_int {
    // SAFETY: r as `ssl_of` wants; err is writable.
    guard(NGX_ERROR as c_int, || unsafe { with_ssl(r, err, |ssl| Ok(ssl.version())) })
}

/// `out` has room for `*outlen` bytes; on return `*outlen` is the count copied (the full
/// length when `*outlen` was 0).
#[no_mangle]
pub unsafe extern "C" fn ngx_stream_lua_ffi_ssl_client_random(
    r: *mut Session,
    out: *mut u8,
    outlen: *mut usize,
    err: *mut *const c_char,
) -> c_int {
    // SAFETY: r as `ssl_of` wants; outlen is readable and writable, out has *outlen writable
    // bytes; err is writable.
    guard(NGX_ERROR as c_int, || unsafe {
        with_ssl(r, err, |ssl| {
            *outlen = ssl.client_random(bytes_out(out, *outlen));
            Ok(OK)
        })
    })
}

/// stream-lua's address kinds (`NGX_STREAM_LUA_ADDR_TYPE_*`): 0 unix, 1 inet, 2 inet6.
fn addr_parts(a: RawAddr<'_>) -> (&[u8], c_int) {
    match a {
        RawAddr::Unix(p) => (p, 0),
        RawAddr::Inet(a) => (a, 1),
        RawAddr::Inet6(a) => (a, 2),
    }
}

/// Writes an address result to the caller's out pointers.
///
/// # Safety
/// `addr`, `addrlen` and `addrtype` are writable; the address bytes outlive the caller's use
/// (they are the connection's).
unsafe fn put_addr(a: RawAddr<'_>, addr: *mut *const c_char, addrlen: *mut usize, addrtype: *mut c_int) -> c_int {
    let (bytes, kind) = addr_parts(a);
    // SAFETY: the caller's contract.
    unsafe {
        *addr = bytes.as_ptr() as *const c_char;
        *addrlen = bytes.len();
        *addrtype = kind;
    }
    NGX_OK as c_int
}

/// The server address the client connected to: binary (4 or 16 bytes) or a unix path.
#[no_mangle]
pub unsafe extern "C" fn ngx_stream_lua_ffi_ssl_raw_server_addr(
    r: *mut Session,
    addr: *mut *const c_char,
    addrlen: *mut usize,
    addrtype: *mut c_int,
    err: *mut *const c_char,
) -> c_int {
    // SAFETY: r as `ssl_of` wants; the out pointers are the caller's, writable.
    guard(NGX_ERROR as c_int, || unsafe {
        with_ssl(r, err, |ssl| Ok(put_addr(ssl.server_addr()?, addr, addrlen, addrtype)))
    })
}

/// The client's address: binary (4 or 16 bytes) or a unix path.
#[no_mangle]
pub unsafe extern "C" fn ngx_stream_lua_ffi_ssl_raw_client_addr(
    r: *mut Session,
    addr: *mut *const c_char,
    addrlen: *mut usize,
    addrtype: *mut c_int,
    err: *mut *const c_char,
) -> c_int {
    // SAFETY: r as `ssl_of` wants; the out pointers are the caller's, writable.
    guard(NGX_ERROR as c_int, || unsafe {
        with_ssl(r, err, |ssl| Ok(put_addr(ssl.client_addr(), addr, addrlen, addrtype)))
    })
}

#[no_mangle]
pub unsafe extern "C" fn ngx_stream_lua_ffi_ssl_server_port(
    r: *mut Session,
    server_port: *mut u16,
    err: *mut *const c_char,
) -> c_int {
    // SAFETY: r as `ssl_of` wants; server_port and err are writable.
    guard(NGX_ERROR as c_int, || unsafe {
        with_ssl(r, err, |ssl| {
            *server_port = ssl.server_port()?;
            Ok(OK)
        })
    })
}

#[no_mangle]
pub unsafe extern "C" fn ngx_stream_lua_ffi_ssl_clear_certs(r: *mut Session, err: *mut *const c_char) -> c_int {
    // SAFETY: r as `ssl_of` wants; err is writable.
    guard(NGX_ERROR as c_int, || unsafe {
        with_ssl(r, err, |ssl| {
            ssl.clear_certs();
            Ok(OK)
        })
    })
}

/// `data` is one or more DER certificates, leaf first.
#[no_mangle]
pub unsafe extern "C" fn ngx_stream_lua_ffi_ssl_set_der_certificate(
    r: *mut Session,
    data: *const u8,
    len: usize,
    err: *mut *const c_char,
) -> c_int {
    // SAFETY: r as `ssl_of` wants; data points at len bytes; err is writable.
    guard(NGX_ERROR as c_int, || unsafe {
        with_ssl(r, err, |ssl| {
            // upstream names any certificate it cannot read the same way
            let chain = CertChain::from_der(bytes_in(data, len)).map_err(|e| match e.to_bytes() {
                b"d2i_X509_bio() failed in rest of chain" => c"d2i_X509_bio() failed",
                _ => e,
            })?;
            ssl.use_cert_chain(&chain).map(|()| OK)
        })
    })
}

#[no_mangle]
pub unsafe extern "C" fn ngx_stream_lua_ffi_ssl_set_der_private_key(
    r: *mut Session,
    data: *const u8,
    len: usize,
    err: *mut *const c_char,
) -> c_int {
    // SAFETY: r as `ssl_of` wants; data points at len bytes; err is writable.
    guard(NGX_ERROR as c_int, || unsafe {
        with_ssl(r, err, |ssl| ssl.use_priv_key(&PrivKey::from_der(bytes_in(data, len))?).map(|()| OK))
    })
}

/// `cdata` is null or a chain from `parse_*_cert` that Lua still holds.
#[no_mangle]
pub unsafe extern "C" fn ngx_stream_lua_ffi_set_cert(
    r: *mut Session,
    cdata: *mut c_void,
    err: *mut *const c_char,
) -> c_int {
    // SAFETY: r as `ssl_of` wants; cdata as described, live during the call; err is writable.
    guard(NGX_ERROR as c_int, || unsafe {
        with_ssl(r, err, |ssl| {
            CertChain::with_raw(cdata, |chain| ssl.use_cert_chain(chain))
                .unwrap_or(Err(c"invalid certificate chain"))
                .map(|()| OK)
        })
    })
}

/// `cdata` is null or a key from `parse_*_priv_key` that Lua still holds.
#[no_mangle]
pub unsafe extern "C" fn ngx_stream_lua_ffi_set_priv_key(
    r: *mut Session,
    cdata: *mut c_void,
    err: *mut *const c_char,
) -> c_int {
    // SAFETY: r as `ssl_of` wants; cdata as described, live during the call; err is writable.
    guard(NGX_ERROR as c_int, || unsafe {
        with_ssl(r, err, |ssl| {
            PrivKey::with_raw(cdata, |key| ssl.use_priv_key(key))
                .unwrap_or(Err(c"invalid private key failed"))
                .map(|()| OK)
        })
    })
}

/// Inside `ssl_certificate_by_lua*` only: ask the client for a certificate, verified against
/// `client_certs` (named to the client as acceptable CAs) and `trusted_certs` (chains from
/// `parse_*_cert`, or null); `depth` < 0 takes the server's `ssl_verify_depth`.
#[no_mangle]
pub unsafe extern "C" fn ngx_stream_lua_ffi_ssl_verify_client(
    r: *mut Session,
    client_certs: *mut c_void,
    trusted_certs: *mut c_void,
    depth: c_int,
    err: *mut *const c_char,
) -> c_int {
    // SAFETY: r as `exports::session` and `ssl_of` want (a shared look at its phase); the
    // chains are null or Lua's, live during the call; err is null or writable.
    guard(NGX_ERROR as c_int, || unsafe {
        match session(r).map(|sess| sess.phase) {
            None => set_err(err, c"no request ctx found"),
            Some(phase) if phase != Phase::SslCert => set_err(err, c"API disabled in the current context"),
            Some(_) => with_ssl(r, err, |ssl| ssl.verify_client_raw(client_certs, trusted_certs, depth).map(|()| OK)),
        }
    })
}
