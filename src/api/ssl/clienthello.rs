//! `ngx.ssl.clienthello`: `ssl_get_client_hello_server_name`, `ssl_get_client_hello_ext` and
//! `ssl_set_protocols`, with stream-lua's signatures and errors (upstream
//! `ngx_stream_lua_ssl_client_helloby.c`). They read the ClientHello only while OpenSSL's
//! ClientHello callback runs (`ssl_client_hello_by_lua*`); the Lua layer refuses other phases.

use std::ffi::{c_char, c_int};

use super::conn::with_ssl;
use crate::ffi_exports;
use crate::runtime::session::Session;
use crate::sys::cbuf::ErrPtr;
use crate::sys::ngx::{TLSEXT_TYPE_server_name, NGX_DECLINED, NGX_ERROR, NGX_OK};
use crate::sys::openssl::SslError;

/// The host name of a `server_name` extension body (RFC 6066: a 2-byte list length, then
/// the first entry: type 0 (host_name), a 2-byte length, the name), checked as OpenSSL's own
/// SNI lookup checks it.
pub fn sni_host_name(ext: &[u8]) -> Result<&[u8], SslError> {
    const BAD: SslError = c"Bad SSL Client Hello Extension";
    let (list_len, rest) = match ext {
        [hi, lo, rest @ ..] if ext.len() > 2 => (usize::from(*hi) << 8 | usize::from(*lo), rest),
        _ => return Err(BAD),
    };
    if list_len != rest.len() {
        return Err(BAD);
    }
    let [kind, rest @ ..] = rest else { return Err(BAD) };
    if *kind != TLSEXT_NAMETYPE_HOST_NAME {
        return Err(BAD);
    }
    let (name_len, name) = match rest {
        [hi, lo, name @ ..] if rest.len() > 2 => (usize::from(*hi) << 8 | usize::from(*lo), name),
        _ => return Err(BAD),
    };
    name.get(..name_len).ok_or(BAD)
}

const TLSEXT_NAMETYPE_HOST_NAME: u8 = 0;

ffi_exports! {
    /// The name lies in the ClientHello OpenSSL keeps during the callback (so do the bytes
    /// of the next one).
    fn ngx_stream_lua_ffi_ssl_get_client_hello_server_name(
        r: Option<&Session>,
        name: &mut *const c_char,
        namelen: &mut usize,
        err: ErrPtr<'_>,
    ) -> c_int [NGX_ERROR as c_int] {
        with_ssl(r, err, |ssl| {
            let Some(ext) = ssl.client_hello_ext(TLSEXT_TYPE_server_name) else { return Ok(NGX_DECLINED as c_int) };
            let n = sni_host_name(ext)?;
            *name = n.as_ptr() as *const c_char;
            *namelen = n.len();
            Ok(NGX_OK as c_int)
        })
    }

    fn ngx_stream_lua_ffi_ssl_get_client_hello_ext(
        r: Option<&Session>,
        ext_type: u32,
        out: &mut *const u8,
        outlen: &mut usize,
        err: ErrPtr<'_>,
    ) -> c_int [NGX_ERROR as c_int] {
        with_ssl(r, err, |ssl| {
            let Some(ext) = ssl.client_hello_ext(ext_type) else { return Ok(NGX_DECLINED as c_int) };
            *out = ext.as_ptr();
            *outlen = ext.len();
            Ok(NGX_OK as c_int)
        })
    }

    /// `protocols` is a set of nginx's `NGX_SSL_*` bits.
    fn ngx_stream_lua_ffi_ssl_set_protocols(
        r: Option<&Session>,
        protocols: c_int,
        err: ErrPtr<'_>,
    ) -> c_int [NGX_ERROR as c_int] {
        with_ssl(r, err, |ssl| {
            ssl.set_protocols(protocols as u32);
            Ok(NGX_OK as c_int)
        })
    }
}
