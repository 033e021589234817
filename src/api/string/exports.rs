//! The exported string/hash C ABI lua-resty-core's `resty.core.{uri,base64,hash,misc}`
//! declare for stream, with upstream's names and signatures.

use std::ffi::{c_int, c_uint};

use crate::api::string;
use crate::ffi_exports;
use crate::runtime::session::Session;
use crate::sys::cbuf::bytes_out as bytes_mut;
use crate::sys::ngx::*;

pub use crate::sys::digest::{md5, sha1};

ffi_exports! {
    fn ngx_stream_lua_ffi_uri_escaped_length(src: bytes[len], kind: c_int) -> usize [len] {
        len + 2 * string::escape_count(src, kind as u32)
    }

    /// `dst` holds the escaped length (the caller asked for it with the function above).
    fn ngx_stream_lua_ffi_escape_uri(src: bytes[len], dst: *mut u8, kind: c_int) [()] {
        let dlen = len + 2 * string::escape_count(src, kind as u32);
        // SAFETY: dst holds dlen bytes (the caller's contract above).
        string::escape_uri_into(src, unsafe { bytes_mut(dst, dlen) }, kind as u32);
    }

    /// `dst` holds `len` bytes: unescaping never grows.
    fn ngx_stream_lua_ffi_unescape_uri(src: bytes[len], dst: *mut u8) -> usize [0] {
        // SAFETY: dst holds len bytes (above).
        string::unescape_uri_into(src, unsafe { bytes_mut(dst, len) })
    }

    /// `dst` holds the encoded length (at most `dlen`).
    fn ngx_stream_lua_ffi_encode_base64(src: bytes[len], dst: *mut u8, no_padding: c_int) -> usize [0] {
        let dlen = len.div_ceil(3) * 4;
        // SAFETY: dst holds dlen bytes (above).
        string::encode_base64_into(src, unsafe { bytes_mut(dst, dlen) }, no_padding != 0)
    }

    /// nginx's decoder, as upstream: it stops at the first '=' and rejects other non-alphabet
    /// bytes; `dst` holds the decoded length.
    fn ngx_stream_lua_ffi_decode_base64(src: bytes[len], dst: *mut u8, dlen: &mut usize) -> c_int [0] {
        let mut input = ngx_str_t { len: src.len(), data: src.as_ptr() as *mut u8 };
        let mut out = ngx_str_t { len: 0, data: dst };
        // SAFETY: input holds its bytes; dst has room for what they decode to.
        let rc = unsafe { ngx_decode_base64(&mut out, &mut input) };
        *dlen = out.len;
        (rc == NGX_OK as ngx_int_t) as c_int
    }

    fn ngx_stream_lua_ffi_md5_bin(src: bytes[len], dst: &mut [u8; 16]) [()] {
        dst.copy_from_slice(&md5(&[src]))
    }

    fn ngx_stream_lua_ffi_md5(src: bytes[len], dst: &mut [u8; 32]) [()] {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        for (i, b) in md5(&[src]).iter().enumerate() {
            dst[2 * i] = HEX[(b >> 4) as usize];
            dst[2 * i + 1] = HEX[(b & 0xf) as usize];
        }
    }

    fn ngx_stream_lua_ffi_sha1_bin(src: bytes[len], dst: &mut [u8; 20]) -> c_int [0] {
        dst.copy_from_slice(&sha1(&[src]));
        1
    }

    fn ngx_stream_lua_ffi_crc32_short(src: bytes[len]) -> c_uint [0] {
        string::crc32(src)
    }

    fn ngx_stream_lua_ffi_crc32_long(src: bytes[len]) -> c_uint [0] {
        string::crc32(src)
    }
}

/// `ngx.status` in stream: the session's status code.
#[no_mangle]
pub extern "C" fn ngx_stream_lua_ffi_get_resp_status(r: Option<&Session>) -> c_int {
    match r.and_then(|s| s.stream()) {
        Some(stream) => stream.status() as c_int,
        None => -101, // FFI_BAD_CONTEXT
    }
}

ffi_exports! {
    /// The `env NAME=value;` directive's value for `os.getenv` before workers start: points
    /// `*env_buf` at `NAME=value` and sets `*name_len`.
    fn ngx_stream_lua_ffi_get_conf_env(
        name: cstr,
        env_buf: &mut *mut u8,
        name_len: &mut usize,
    ) -> c_int [NGX_DECLINED as c_int] {
        let Some(want) = name.map(|n| n.to_bytes()) else { return NGX_DECLINED as c_int };
        // SAFETY: the core conf's env array holds ngx_str_t entries whose data is
        // NUL-terminated `NAME=value` (or just `NAME`).
        unsafe {
            let cycle = ngx_cycle;
            if cycle.is_null() || (*cycle).conf_ctx.is_null() {
                return NGX_DECLINED as c_int;
            }
            let ccf = *(*cycle).conf_ctx.add(ngx_core_module.index) as *mut ngx_core_conf_t;
            if ccf.is_null() {
                return NGX_DECLINED as c_int;
            }
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
        }
        NGX_DECLINED as c_int
    }
}
