//! The exported string/hash C ABI lua-resty-core's `resty.core.{uri,base64,hash,misc}`
//! declare for stream, with upstream's names and signatures.

use std::ffi::{c_int, c_uint};

use crate::api::string;
use crate::runtime::session::Session;
use crate::sys::cbuf::{bytes_in as bytes, bytes_out as bytes_mut};
use crate::sys::ngx::*;

pub use crate::sys::digest::{md5, sha1};

#[no_mangle]
pub unsafe extern "C" fn ngx_stream_lua_ffi_uri_escaped_length(src: *const u8, len: usize, kind: c_int) -> usize {
    // SAFETY: src holds len bytes.
    guard(len, || len + 2 * string::escape_count(unsafe { bytes(src, len) }, kind as u32))
}

#[no_mangle]
pub unsafe extern "C" fn ngx_stream_lua_ffi_escape_uri(src: *const u8, len: usize, dst: *mut u8, kind: c_int) {
    guard((), || {
        // SAFETY: src holds len bytes; dst holds the escaped length (the caller asked for it).
        unsafe {
            let src = bytes(src, len);
            let dlen = len + 2 * string::escape_count(src, kind as u32);
            string::escape_uri_into(src, bytes_mut(dst, dlen), kind as u32);
        }
    })
}

#[no_mangle]
pub unsafe extern "C" fn ngx_stream_lua_ffi_unescape_uri(src: *const u8, len: usize, dst: *mut u8) -> usize {
    // SAFETY: src and dst hold len bytes; unescaping never grows.
    guard(0, || unsafe { string::unescape_uri_into(bytes(src, len), bytes_mut(dst, len)) })
}

#[no_mangle]
pub unsafe extern "C" fn ngx_stream_lua_ffi_encode_base64(
    src: *const u8,
    len: usize,
    dst: *mut u8,
    no_padding: c_int,
) -> usize {
    guard(0, || {
        let dlen = len.div_ceil(3) * 4;
        // SAFETY: src holds len bytes, dst the encoded length (at most dlen).
        unsafe { string::encode_base64_into(bytes(src, len), bytes_mut(dst, dlen), no_padding != 0) }
    })
}

#[no_mangle]
pub unsafe extern "C" fn ngx_stream_lua_ffi_decode_base64(
    src: *const u8,
    len: usize,
    dst: *mut u8,
    dlen: *mut usize,
) -> c_int {
    // nginx's decoder, as upstream: it stops at the first '=' and rejects other non-alphabet bytes
    // SAFETY: src holds len bytes, dst the decoded length; dlen is writable.
    unsafe {
        let mut input = ngx_str_t { len, data: src as *mut u8 };
        let mut out = ngx_str_t { len: 0, data: dst };
        let rc = ngx_decode_base64(&mut out, &mut input);
        *dlen = out.len;
        (rc == NGX_OK as ngx_int_t) as c_int
    }
}

#[no_mangle]
pub unsafe extern "C" fn ngx_stream_lua_ffi_md5_bin(src: *const u8, len: usize, dst: *mut u8) {
    // SAFETY: src holds len bytes, dst 16.
    guard((), || unsafe { bytes_mut(dst, 16).copy_from_slice(&md5(&[bytes(src, len)])) })
}

#[no_mangle]
pub unsafe extern "C" fn ngx_stream_lua_ffi_md5(src: *const u8, len: usize, dst: *mut u8) {
    guard((), || {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        // SAFETY: src holds len bytes, dst 32.
        let (src, dst) = unsafe { (bytes(src, len), bytes_mut(dst, 32)) };
        for (i, b) in md5(&[src]).iter().enumerate() {
            dst[2 * i] = HEX[(b >> 4) as usize];
            dst[2 * i + 1] = HEX[(b & 0xf) as usize];
        }
    })
}

#[no_mangle]
pub unsafe extern "C" fn ngx_stream_lua_ffi_sha1_bin(src: *const u8, len: usize, dst: *mut u8) -> c_int {
    guard(0, || {
        // SAFETY: src holds len bytes, dst 20.
        unsafe { bytes_mut(dst, 20).copy_from_slice(&sha1(&[bytes(src, len)])) };
        1
    })
}

#[no_mangle]
pub unsafe extern "C" fn ngx_stream_lua_ffi_crc32_short(src: *const u8, len: usize) -> c_uint {
    // SAFETY: src holds len bytes.
    guard(0, || string::crc32(unsafe { bytes(src, len) }))
}

#[no_mangle]
pub unsafe extern "C" fn ngx_stream_lua_ffi_crc32_long(src: *const u8, len: usize) -> c_uint {
    // SAFETY: src holds len bytes.
    guard(0, || string::crc32(unsafe { bytes(src, len) }))
}

/// `ngx.status` in stream: the session's status code.
#[no_mangle]
pub unsafe extern "C" fn ngx_stream_lua_ffi_get_resp_status(r: *mut Session) -> c_int {
    // SAFETY: r is null or the running session (what `get_request()` gave the caller).
    match unsafe { r.as_ref() }.and_then(|s| s.stream()) {
        Some(stream) => stream.status() as c_int,
        None => -101, // FFI_BAD_CONTEXT
    }
}

/// The `env NAME=value;` directive's value for `os.getenv` before workers start: points
/// `*env_buf` at `NAME=value` and sets `*name_len`.
#[no_mangle]
pub unsafe extern "C" fn ngx_stream_lua_ffi_get_conf_env(
    name: *const u8,
    env_buf: *mut *mut u8,
    name_len: *mut usize,
) -> c_int {
    // SAFETY: name is NUL-terminated; the core conf's env array holds ngx_str_t entries whose
    // data is NUL-terminated `NAME=value` (or just `NAME`).
    unsafe {
        let cycle = ngx_cycle;
        if cycle.is_null() || (*cycle).conf_ctx.is_null() || name.is_null() {
            return NGX_DECLINED as c_int;
        }
        let ccf = *(*cycle).conf_ctx.add(ngx_core_module.index) as *mut ngx_core_conf_t;
        if ccf.is_null() {
            return NGX_DECLINED as c_int;
        }
        let want = std::ffi::CStr::from_ptr(name as *const std::ffi::c_char).to_bytes();
        let env = &(*ccf).env;
        let vars = env.elts as *const ngx_str_t;
        for i in 0..env.nelts {
            let v = &*vars.add(i);
            if *v.data.add(v.len) == b'=' && want.starts_with(ngx_bytes(v)) {
                *env_buf = v.data;
                *name_len = v.len;
                return NGX_OK as c_int;
            }
        }
        NGX_DECLINED as c_int
    }
}
