//! PEM and DER outside any handshake: `cert_pem_to_der`, `priv_key_pem_to_der`,
//! `parse_{pem,der}_{cert,priv_key}`, `free_cert`, `free_priv_key`, with stream-lua's
//! signatures (upstream `ngx_stream_lua_ssl_certby.c`). Each shim converts its C arguments once
//! and calls the safe code below; the OpenSSL objects are `sys::openssl`'s owned types.

use std::ffi::{c_char, c_int, c_void, CStr};

use crate::sys::cbuf::{bytes_in, bytes_out, ErrPtr};
use crate::sys::ngx::{guard, NGX_ERROR};
use crate::sys::openssl::{self, CertChain, PrivKey, SslError};

/// The DER bytes copied into `out`; their count, or the message when they do not fit.
fn copy_out(der: &[u8], out: &mut [u8]) -> Result<c_int, SslError> {
    if der.len() > out.len() {
        return Err(c"output buffer too small");
    }
    out[..der.len()].copy_from_slice(der);
    c_int::try_from(der.len()).map_err(|_| c"output buffer too small")
}

/// `cert_pem_to_der`: the DER of every certificate of `pem`, back to back, into `out`.
pub fn cert_pem_to_der(pem: &[u8], out: &mut [u8]) -> Result<c_int, SslError> {
    copy_out(&openssl::cert_pem_to_der(pem)?, out)
}

/// `priv_key_pem_to_der`: the DER of the first private key of `pem` into `out`.
pub fn priv_key_pem_to_der(pem: &[u8], passphrase: Option<&[u8]>, out: &mut [u8]) -> Result<c_int, SslError> {
    copy_out(&PrivKey::from_pem(pem, passphrase)?.to_der()?, out)
}

/// An exported call's result: the count, or `NGX_ERROR` with the message in `*err`.
///
/// # Safety
/// `err` is null or valid for a write.
unsafe fn int_result(r: Result<c_int, SslError>, err: *mut *const c_char) -> c_int {
    r.unwrap_or_else(|msg| {
        // SAFETY: the caller's contract.
        unsafe { ErrPtr::from_raw(err) }.set(msg);
        NGX_ERROR as c_int
    })
}

/// An exported call's object: the opaque pointer, or null with the message in `*err`.
///
/// # Safety
/// `err` is null or valid for a write.
unsafe fn ptr_result(r: Result<*mut c_void, SslError>, err: *mut *const c_char) -> *mut c_void {
    r.unwrap_or_else(|msg| {
        // SAFETY: the caller's contract.
        unsafe { ErrPtr::from_raw(err) }.set(msg);
        std::ptr::null_mut()
    })
}

/// `der` has room for `pem_len` bytes (the Lua layer's buffer; DER is never longer than its
/// PEM, and a longer one is refused rather than written past the end).
#[no_mangle]
pub unsafe extern "C" fn ngx_stream_lua_ffi_cert_pem_to_der(
    pem: *const u8,
    pem_len: usize,
    der: *mut u8,
    err: *mut *const c_char,
) -> c_int {
    guard(NGX_ERROR as c_int, || {
        // SAFETY: pem points at pem_len bytes and der at pem_len writable ones (the caller's
        // buffers, distinct); err is writable.
        unsafe { int_result(cert_pem_to_der(bytes_in(pem, pem_len), bytes_out(der, pem_len)), err) }
    })
}

/// `passphrase` is null or a NUL-terminated string (LuaJIT passes a Lua string so).
#[no_mangle]
pub unsafe extern "C" fn ngx_stream_lua_ffi_priv_key_pem_to_der(
    pem: *const u8,
    pem_len: usize,
    passphrase: *const c_char,
    der: *mut u8,
    err: *mut *const c_char,
) -> c_int {
    guard(NGX_ERROR as c_int, || {
        // SAFETY: as for cert_pem_to_der; passphrase is null or NUL-terminated.
        unsafe {
            let pass = (!passphrase.is_null()).then(|| CStr::from_ptr(passphrase).to_bytes());
            int_result(priv_key_pem_to_der(bytes_in(pem, pem_len), pass, bytes_out(der, pem_len)), err)
        }
    })
}

#[no_mangle]
pub unsafe extern "C" fn ngx_stream_lua_ffi_parse_pem_cert(
    pem: *const u8,
    pem_len: usize,
    err: *mut *const c_char,
) -> *mut c_void {
    guard(std::ptr::null_mut(), || {
        // SAFETY: pem points at pem_len bytes; err is writable.
        unsafe { ptr_result(CertChain::from_pem(bytes_in(pem, pem_len)).map(CertChain::into_raw), err) }
    })
}

#[no_mangle]
pub unsafe extern "C" fn ngx_stream_lua_ffi_parse_der_cert(
    der: *const u8,
    der_len: usize,
    err: *mut *const c_char,
) -> *mut c_void {
    guard(std::ptr::null_mut(), || {
        // SAFETY: der points at der_len bytes; err is writable.
        unsafe { ptr_result(CertChain::from_der(bytes_in(der, der_len)).map(CertChain::into_raw), err) }
    })
}

#[no_mangle]
pub unsafe extern "C" fn ngx_stream_lua_ffi_parse_pem_priv_key(
    pem: *const u8,
    pem_len: usize,
    err: *mut *const c_char,
) -> *mut c_void {
    guard(std::ptr::null_mut(), || {
        // SAFETY: pem points at pem_len bytes; err is writable.
        unsafe { ptr_result(PrivKey::from_pem(bytes_in(pem, pem_len), None).map(PrivKey::into_raw), err) }
    })
}

#[no_mangle]
pub unsafe extern "C" fn ngx_stream_lua_ffi_parse_der_priv_key(
    der: *const u8,
    der_len: usize,
    err: *mut *const c_char,
) -> *mut c_void {
    guard(std::ptr::null_mut(), || {
        // SAFETY: der points at der_len bytes; err is writable.
        unsafe { ptr_result(PrivKey::from_der(bytes_in(der, der_len)).map(PrivKey::into_raw), err) }
    })
}

/// `cdata` is null or a chain from `parse_*_cert`, freed once (the Lua layer's `ffi.gc`).
#[no_mangle]
pub unsafe extern "C" fn ngx_stream_lua_ffi_free_cert(cdata: *mut c_void) {
    // SAFETY: the caller's contract.
    guard((), || unsafe { CertChain::free_raw(cdata) })
}

/// `cdata` is null or a key from `parse_*_priv_key`, freed once (the Lua layer's `ffi.gc`).
#[no_mangle]
pub unsafe extern "C" fn ngx_stream_lua_ffi_free_priv_key(cdata: *mut c_void) {
    // SAFETY: the caller's contract.
    guard((), || unsafe { PrivKey::free_raw(cdata) })
}
