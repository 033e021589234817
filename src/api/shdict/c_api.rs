//! The shared dicts' C API for other nginx modules (`ngx_stream_lua_api.h`).

use std::ffi::{c_double, c_int};

use super::exports::*;
use super::zone::*;
use super::*;
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

/// The dict named `name` of the running configuration (null if there is none).
#[no_mangle]
pub unsafe extern "C" fn ngx_stream_lua_find_zone(name: *const u8, len: usize) -> *mut Dict {
    guard(ptr::null_mut(), || {
        // SAFETY: the caller passes len readable bytes.
        let name = unsafe { key_slice(name, len) };
        let Some(mcf) = crate::conf::cycle_main_conf() else { return ptr::null_mut() };
        mcf.shdicts
            .iter()
            .copied()
            // SAFETY: the running cycle's dicts are live.
            .find(|&d| unsafe { (*d).name.as_slice() } == name)
            .unwrap_or(ptr::null_mut())
    })
}

/// Reads a live key: `NGX_OK` with `value` filled (a string is copied into the caller's
/// buffer `value.s`, cut to its length), `NGX_DECLINED` when missing or expired, `NGX_ERROR`
/// for a list or a string without a buffer.
#[no_mangle]
pub unsafe extern "C" fn ngx_stream_lua_shared_dict_get(
    zone: *mut Dict,
    key: *const u8,
    key_len: usize,
    value: *mut LuaValue,
) -> ngx_int_t {
    guard(NGX_ERROR as ngx_int_t, || {
        // SAFETY: the caller passes a live dict, its key and a value to fill.
        unsafe {
            if zone.is_null() || value.is_null() {
                return NGX_ERROR as ngx_int_t;
            }
            let key = key_slice(key, key_len);
            let g = (*zone).lock();
            let Found::Live(e) = g.lookup(hash(key), key) else { return NGX_DECLINED as ngx_int_t };
            let e = &*e;
            let v = &mut *value;
            v.value_type = e.value_type;
            let data = e.value();
            match e.value_type {
                T_STRING => {
                    if v.value.s.data.is_null() || v.value.s.len == 0 {
                        drop(g);
                        log_error(NGX_LOG_ERR, cycle_log(), 0, b"no string buffer initialized");
                        return NGX_ERROR as ngx_int_t;
                    }
                    let n = data.len().min(v.value.s.len);
                    ptr::copy_nonoverlapping(data.as_ptr(), v.value.s.data, n);
                    v.value.s.len = n;
                }
                T_NUMBER if data.len() == 8 => {
                    v.value.n = read_f64(data);
                }
                T_BOOLEAN if data.len() == 1 => v.value.b = c_int::from(data[0]),
                _ => return NGX_ERROR as ngx_int_t,
            }
            NGX_OK as ngx_int_t
        }
    })
}
