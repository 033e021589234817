//! PEM and DER outside any handshake: `cert_pem_to_der`, `priv_key_pem_to_der`,
//! `parse_{pem,der}_{cert,priv_key}`, `free_cert`, `free_priv_key`, with stream-lua's
//! signatures (upstream `ngx_stream_lua_ssl_certby.c`). The OpenSSL objects are `sys::openssl`'s owned types.

use std::ffi::{c_int, c_void, CStr};

use crate::ffi_exports;
use crate::sys::cbuf::{bytes_out, ErrPtr};
use crate::sys::ngx::NGX_ERROR;
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
fn int_result(r: Result<c_int, SslError>, mut err: ErrPtr) -> c_int {
    r.unwrap_or_else(|msg| {
        err.set(msg);
        NGX_ERROR as c_int
    })
}

/// An exported call's object: the opaque pointer, or null with the message in `*err`.
fn ptr_result(r: Result<*mut c_void, SslError>, mut err: ErrPtr) -> *mut c_void {
    r.unwrap_or_else(|msg| {
        err.set(msg);
        std::ptr::null_mut()
    })
}

ffi_exports! {
    /// `der` has room for `pem_len` bytes (the Lua layer's buffer; DER is never longer than
    /// its PEM, and a longer one is refused rather than written past the end).
    fn ngx_stream_lua_ffi_cert_pem_to_der(
        pem: bytes[pem_len],
        der: *mut u8,
        err: ErrPtr<'_>,
    ) -> c_int [NGX_ERROR as c_int] {
        // SAFETY: der points at pem_len writable bytes (the caller's buffer, not pem's).
        let der = unsafe { bytes_out(der, pem.len()) };
        int_result(cert_pem_to_der(pem, der), err)
    }

    /// `passphrase` is null or a NUL-terminated string (LuaJIT passes a Lua string so).
    fn ngx_stream_lua_ffi_priv_key_pem_to_der(
        pem: bytes[pem_len],
        passphrase: cstr,
        der: *mut u8,
        err: ErrPtr<'_>,
    ) -> c_int [NGX_ERROR as c_int] {
        // SAFETY: as for cert_pem_to_der.
        let der = unsafe { bytes_out(der, pem.len()) };
        int_result(priv_key_pem_to_der(pem, passphrase.map(CStr::to_bytes), der), err)
    }

    fn ngx_stream_lua_ffi_parse_pem_cert(pem: bytes[pem_len], err: ErrPtr<'_>) -> *mut c_void [std::ptr::null_mut()] {
        ptr_result(CertChain::from_pem(pem).map(CertChain::into_raw), err)
    }

    fn ngx_stream_lua_ffi_parse_der_cert(der: bytes[der_len], err: ErrPtr<'_>) -> *mut c_void [std::ptr::null_mut()] {
        ptr_result(CertChain::from_der(der).map(CertChain::into_raw), err)
    }

    fn ngx_stream_lua_ffi_parse_pem_priv_key(
        pem: bytes[pem_len],
        err: ErrPtr<'_>,
    ) -> *mut c_void [std::ptr::null_mut()] {
        ptr_result(PrivKey::from_pem(pem, None).map(PrivKey::into_raw), err)
    }

    fn ngx_stream_lua_ffi_parse_der_priv_key(
        der: bytes[der_len],
        err: ErrPtr<'_>,
    ) -> *mut c_void [std::ptr::null_mut()] {
        ptr_result(PrivKey::from_der(der).map(PrivKey::into_raw), err)
    }

    /// `cdata` is null or a chain from `parse_*_cert`, given back once (the Lua layer's
    /// `ffi.gc`).
    fn ngx_stream_lua_ffi_free_cert(cdata: Option<CertChain>) [()] {
        drop(cdata)
    }

    /// `cdata` is null or a key from `parse_*_priv_key`, given back once.
    fn ngx_stream_lua_ffi_free_priv_key(cdata: Option<PrivKey>) [()] {
        drop(cdata)
    }
}
