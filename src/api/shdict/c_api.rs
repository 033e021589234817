//! The shared dicts' C API for other nginx modules (`ngx_stream_lua_api.h`).

use std::ffi::{c_double, c_int};

use super::exports::*;
use super::zone::*;
use super::*;
use crate::ffi_exports;

// ---- the C API other nginx modules use (ngx_stream_lua_api.h) ---------------------------

/// A dict's value as `ngx_stream_lua_shared_dict_get` hands it out.
#[repr(C)]
pub struct LuaValue {
    value_type: u8,
    value: LuaValueUnion,
}

#[repr(C)]
pub union LuaValueUnion {
    b: c_int,
    n: c_double,
    s: ngx_str_t,
}

ffi_exports! {
    /// The dict named `name` of the running configuration (null if there is none).
    fn ngx_stream_lua_find_zone(name: bytes[len]) -> *mut Dict [ptr::null_mut()] {
        let Some(mcf) = crate::conf::cycle_main_conf() else { return ptr::null_mut() };
        dicts(mcf).find(|d| d.name == name).map_or(ptr::null_mut(), |d| d as *const Dict as *mut Dict)
    }

    /// Reads a live key: `NGX_OK` with `value` filled (a string is copied into the caller's
    /// buffer `value.s`, cut to its length), `NGX_DECLINED` when missing or expired,
    /// `NGX_ERROR` for a list or a string without a buffer.
    fn ngx_stream_lua_shared_dict_get(
        zone: Option<&Dict>,
        key: bytes[key_len],
        value: Option<&mut LuaValue>,
    ) -> ngx_int_t [NGX_ERROR as ngx_int_t] {
        let (Some(d), Some(v)) = (zone, value) else { return NGX_ERROR as ngx_int_t };
        // SAFETY: a string value's buffer is value.s: len writable bytes at data, or null.
        let buf: &mut [u8] = unsafe {
            let s = v.value.s;
            if s.data.is_null() || s.len == 0 { &mut [] } else { std::slice::from_raw_parts_mut(s.data, s.len) }
        };
        shared_dict_get(d, key, v, buf)
    }
}

fn shared_dict_get(d: &Dict, key: &[u8], v: &mut LuaValue, buf: &mut [u8]) -> ngx_int_t {
    let mut g = d.lock();
    let Found::Live(e) = g.lookup(hash(key), key) else { return NGX_DECLINED as ngx_int_t };
    v.value_type = e.value_type();
    let data = e.value();
    match e.value_type() {
        T_STRING => {
            if buf.is_empty() {
                drop(g);
                cycle_error(NGX_LOG_ERR, 0, b"no string buffer initialized");
                return NGX_ERROR as ngx_int_t;
            }
            let n = data.len().min(buf.len());
            buf[..n].copy_from_slice(&data[..n]);
            v.value.s = ngx_str_t { data: buf.as_mut_ptr(), len: n };
        }
        T_NUMBER if data.len() == 8 => v.value.n = read_f64(data),
        T_BOOLEAN if data.len() == 1 => v.value.b = c_int::from(data[0]),
        _ => return NGX_ERROR as ngx_int_t,
    }
    NGX_OK as ngx_int_t
}
