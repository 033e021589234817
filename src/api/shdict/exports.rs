//! The shared dicts' exported C ABI: what lua-resty-core's `resty.core.shdict` declares
//! (`ngx_stream_lua_ffi_shdict_*`), our list functions, and the struct-argument variants.
//! Each export converts its raw arguments once and calls the safe body below it.

use std::ffi::{c_char, c_double, c_int, c_long};
use std::ptr;

use super::zone::*;
use super::*;
use crate::ffi_exports;
use crate::sys::cbuf::{ErrPtr, OutBuf};

/// A stored number (8 native-endian bytes; callers check the length).
pub(super) fn read_f64(v: &[u8]) -> f64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(v);
    f64::from_ne_bytes(b)
}

// ---- the exported C ABI --------------------------------------------------------------------

ffi_exports! {
    /// The dict a `ngx.shared.NAME` userdata holds (its block is the Dict pointer).
    fn ngx_stream_lua_ffi_shdict_udata_to_zone(zone_udata: Option<&*mut Dict>) -> *mut Dict [ptr::null_mut()] {
        zone_udata.map_or(ptr::null_mut(), |z| *z)
    }

    fn ngx_stream_lua_ffi_shdict_store(
        zone: &Dict,
        op: c_int,
        key: bytes[key_len],
        value_type: c_int,
        str_value_buf: bytes[str_value_len],
        num_value: c_double,
        exptime: c_long,
        user_flags: c_int,
        mut errmsg: ErrPtr<'_>,
        forcible: &mut c_int,
    ) -> c_int [RC_ERROR] {
        store(zone, op, key, value_type, str_value_buf, num_value, exptime, user_flags, &mut errmsg, forcible)
    }
}

#[allow(clippy::too_many_arguments)]
fn store(
    d: &Dict,
    op: c_int,
    key: &[u8],
    value_type: c_int,
    str_value: &[u8],
    num_value: f64,
    exptime: c_long,
    user_flags: c_int,
    errmsg: &mut ErrPtr,
    forcible: &mut c_int,
) -> c_int {
    *forcible = 0;
    let num = num_value.to_ne_bytes();
    let flag = [u8::from(num_value != 0.0)];
    let value: Option<&[u8]> = match value_type as u8 {
        T_STRING => Some(str_value),
        T_NUMBER => Some(&num),
        T_BOOLEAN => Some(&flag),
        T_NIL if op & (OP_ADD | OP_REPLACE) != 0 => {
            errmsg.set(c"attempt to add or replace nil values");
            return RC_ERROR;
        }
        T_NIL => None,
        _ => {
            errmsg.set(c"unsupported value type");
            return RC_ERROR;
        }
    };
    let vt = value_type as u8;
    let h = hash(key);
    let mut g = d.lock();
    g.expire(false);
    let old = match g.lookup(h, key) {
        Found::Missing | Found::Expired(_) if op & OP_REPLACE != 0 => {
            errmsg.set(c"not found");
            return RC_DECLINED;
        }
        Found::Live(_) if op & OP_ADD != 0 => {
            errmsg.set(c"exists");
            return RC_DECLINED;
        }
        Found::Live(e) | Found::Expired(e) => Some(e),
        Found::Missing => None,
    };
    if let Some(mut e) = old {
        match value {
            Some(v) if v.len() == e.value_len() && e.value_type() != T_LIST => {
                d.debug("lua shared dict set: found old entry and value size matched, reusing it");
                e.set_value(vt, v, expiry(exptime), user_flags as u32);
                return RC_OK;
            }
            Some(_) => d.debug("lua shared dict set: found old entry but value size NOT matched, removing it first"),
            None => {}
        }
        e.remove();
    }
    let Some(v) = value else { return RC_OK };
    d.debug("lua shared dict set: creating a new entry");
    let mut evicted = false;
    let made = g.insert(h, key, vt, v, expiry(exptime), user_flags as u32, op & OP_SAFE != 0, &mut evicted).is_some();
    *forcible = c_int::from(evicted);
    if !made {
        errmsg.set(c"no memory");
        return RC_ERROR;
    }
    RC_OK
}

ffi_exports! {
    fn ngx_stream_lua_ffi_shdict_get(
        zone: &Dict,
        key: bytes[key_len],
        value_type: &mut c_int,
        str_value_buf: out_buf[str_value_len],
        num_value: &mut c_double,
        user_flags: &mut c_int,
        get_stale: c_int,
        is_stale: Option<&mut c_int>,
        errmsg: ErrPtr<'_>,
    ) -> c_int [RC_ERROR] {
        let out = GetOut { value_type, buf: str_value_buf, num: num_value, user_flags, is_stale, errmsg };
        get(zone, key, get_stale != 0, out)
    }
}

/// Where `get` puts what it found.
struct GetOut<'a> {
    value_type: &'a mut c_int,
    buf: OutBuf<'a>,
    num: &'a mut f64,
    user_flags: &'a mut c_int,
    is_stale: Option<&'a mut c_int>,
    errmsg: ErrPtr<'a>,
}

fn get(d: &Dict, key: &[u8], get_stale: bool, mut out: GetOut) -> c_int {
    out.errmsg.clear();
    let h = hash(key);
    let mut g = d.lock();
    if !get_stale {
        g.expire(false);
    }
    let (e, stale) = match g.lookup(h, key) {
        Found::Live(e) => (e, false),
        Found::Expired(e) if get_stale => (e, true),
        _ => {
            *out.value_type = T_NIL as c_int;
            return RC_OK;
        }
    };
    let value = e.value();
    *out.value_type = e.value_type() as c_int;
    let bad_size = |what: &str| {
        cycle_error(
            NGX_LOG_ERR,
            0,
            format!(
                "bad lua {what} value size found for key {} in shared_dict {}: {}",
                String::from_utf8_lossy(key),
                String::from_utf8_lossy(&d.name),
                value.len()
            )
            .as_bytes(),
        );
        RC_ERROR
    };
    match e.value_type() {
        T_STRING => {
            if !out.buf.write(value) {
                return RC_ERROR;
            }
        }
        T_NUMBER => {
            if value.len() != 8 {
                return bad_size("number");
            }
            *out.num = read_f64(value);
            out.buf.set_len(8);
        }
        T_BOOLEAN => {
            if value.len() != 1 {
                return bad_size("boolean");
            }
            if !out.buf.put_first(value[0]) {
                return RC_ERROR;
            }
        }
        T_LIST => {
            out.errmsg.set(c"value is a list");
            return RC_ERROR;
        }
        other => {
            cycle_error(
                NGX_LOG_ERR,
                0,
                format!(
                    "bad value type found for key {} in shared_dict {}: {other}",
                    String::from_utf8_lossy(key),
                    String::from_utf8_lossy(&d.name)
                )
                .as_bytes(),
            );
            return RC_ERROR;
        }
    }
    *out.user_flags = e.user_flags() as c_int;
    if get_stale {
        if let Some(s) = out.is_stale {
            *s = c_int::from(stale);
        }
    }
    RC_OK
}

ffi_exports! {
    fn ngx_stream_lua_ffi_shdict_incr(
        zone: &Dict,
        key: bytes[key_len],
        value: &mut c_double,
        mut errmsg: ErrPtr<'_>,
        has_init: c_int,
        init: c_double,
        init_ttl: c_long,
        forcible: &mut c_int,
    ) -> c_int [RC_ERROR] {
        let init = (has_init != 0).then_some(init);
        incr(zone, key, value, &mut errmsg, init, init_ttl, forcible)
    }
}

fn incr(
    d: &Dict,
    key: &[u8],
    value: &mut f64,
    errmsg: &mut ErrPtr,
    init: Option<f64>,
    init_ttl: c_long,
    forcible: &mut c_int,
) -> c_int {
    *forcible = 0;
    let h = hash(key);
    let mut g = d.lock();
    g.expire(false);
    let found = g.lookup(h, key);
    if let Found::Live(mut e) = found {
        if e.value_type() != T_NUMBER || e.value_len() != 8 {
            errmsg.set(c"not a number");
            return RC_ERROR;
        }
        let num = read_f64(e.value()) + *value;
        let (expires, flags) = (e.expires(), e.user_flags());
        e.set_value(T_NUMBER, &num.to_ne_bytes(), expires, flags);
        *value = num;
        return RC_OK;
    }
    let Some(init) = init else {
        errmsg.set(c"not found");
        return RC_ERROR;
    };
    let num = *value + init;
    let bytes = num.to_ne_bytes();
    if let Found::Expired(mut e) = found {
        if e.value_len() == 8 && e.value_type() != T_LIST {
            d.debug("lua shared dict incr: found old entry and value size matched, reusing it");
            e.set_value(T_NUMBER, &bytes, expiry(init_ttl), 0);
            *value = num;
            return RC_OK;
        }
        d.debug("lua shared dict incr: found old entry but value size NOT matched, removing it first");
        e.remove();
    }
    d.debug("lua shared dict incr: creating a new entry");
    let mut evicted = false;
    let made = g.insert(h, key, T_NUMBER, &bytes, expiry(init_ttl), 0, false, &mut evicted).is_some();
    *forcible = c_int::from(evicted);
    if !made {
        errmsg.set(c"no memory");
        return RC_ERROR;
    }
    *value = num;
    RC_OK
}

ffi_exports! {
    fn ngx_stream_lua_ffi_shdict_flush_all(zone: &Dict) -> c_int [RC_ERROR] {
        let mut g = zone.lock();
        // marked expired, they are freed lazily
        g.each_oldest_first(|mut e| {
            e.set_expires(1);
            true
        });
        g.expire(true);
        RC_OK
    }

    fn ngx_stream_lua_ffi_shdict_get_ttl(zone: &Dict, key: bytes[key_len]) -> c_long [RC_DECLINED as c_long] {
        let Some(expires) = zone.lock().peek(hash(key), key).map(|e| e.expires()) else { return RC_DECLINED as c_long };
        if expires == 0 {
            0
        } else {
            expires as i64 as c_long - now_ms() as i64 as c_long
        }
    }

    fn ngx_stream_lua_ffi_shdict_set_expire(zone: &Dict, key: bytes[key_len], exptime: c_long) -> c_int [RC_ERROR] {
        let mut g = zone.lock();
        let Some(mut e) = g.peek(hash(key), key) else { return RC_DECLINED };
        e.set_expires(expiry(exptime));
        RC_OK
    }

    fn ngx_stream_lua_ffi_shdict_capacity(zone: &Dict) -> usize [0] {
        zone.capacity()
    }

    fn ngx_stream_lua_ffi_shdict_free_space(zone: &Dict) -> usize [0] {
        zone.lock().free_space()
    }
}

// ---- lists (our own ABI: upstream has Lua C functions here, which LuaJIT cannot compile) --

/// `lpush`/`rpush` results besides the new length.
const LIST_NOT_A_LIST: c_int = -1;
const LIST_NO_MEMORY: c_int = -2;

ffi_exports! {
    /// Adds a string (`value_type` 4) or number (3) at the front or back of the list at `key`,
    /// creating it (or replacing an expired value); returns the new length, `LIST_NOT_A_LIST` or
    /// `LIST_NO_MEMORY`.
    fn ngx_stream_lua_rs_ffi_shdict_push(
        zone: &Dict,
        front: c_int,
        key: bytes[key_len],
        value_type: c_int,
        str_value: bytes[str_len],
        num_value: c_double,
    ) -> c_int [LIST_NO_MEMORY] {
        let num = num_value.to_ne_bytes();
        let (vt, value): (u8, &[u8]) =
            if value_type as u8 == T_NUMBER { (T_NUMBER, &num) } else { (T_STRING, str_value) };
        push(zone, front != 0, key, vt, value)
    }
}

fn push(d: &Dict, front: bool, key: &[u8], vt: u8, value: &[u8]) -> c_int {
    let h = hash(key);
    let mut g = d.lock();
    g.expire(false);
    let mut e = match g.lookup(h, key) {
        Found::Expired(mut e) if e.value_type() == T_LIST => {
            d.debug("lua shared dict push: found old entry and value type matched, reusing it");
            e.reset_list();
            e
        }
        Found::Live(e) if e.value_type() != T_LIST => return LIST_NOT_A_LIST,
        Found::Live(e) => e,
        found => {
            if let Found::Expired(e) = found {
                d.debug("lua shared dict push: found old entry and value type not matched, remove it first");
                e.remove();
            }
            d.debug("lua shared dict list: creating a new entry");
            match g.insert_list(h, key) {
                Some(e) => e,
                None => return LIST_NO_MEMORY,
            }
        }
    };
    match e.push(front, vt, value) {
        Some(n) => n as c_int,
        None => {
            if e.list_len() == 0 {
                d.debug("lua shared dict list: no memory for create list node and list empty, remove it");
                e.remove();
            }
            LIST_NO_MEMORY
        }
    }
}

ffi_exports! {
    /// Takes the first or last item of the list at `key`: `value_type` 0 when there is none, else
    /// a string (copied to `*str_value`, or to a malloc'ed buffer when longer than `*str_len`)
    /// or a number. Returns 0, `LIST_NOT_A_LIST`, or -3 for a damaged list (`errmsg` says why).
    fn ngx_stream_lua_rs_ffi_shdict_pop(
        zone: &Dict,
        front: c_int,
        key: bytes[key_len],
        value_type: &mut c_int,
        str_value: out_buf[str_len],
        num_value: &mut c_double,
        mut errmsg: ErrPtr<'_>,
    ) -> c_int [RC_ERROR] {
        pop(zone, front != 0, key, value_type, str_value, num_value, &mut errmsg)
    }
}

fn pop(
    d: &Dict,
    front: bool,
    key: &[u8],
    value_type: &mut c_int,
    mut buf: OutBuf,
    num: &mut f64,
    errmsg: &mut ErrPtr,
) -> c_int {
    *value_type = T_NIL as c_int;
    let h = hash(key);
    let mut g = d.lock();
    g.expire(false);
    let Found::Live(e) = g.lookup(h, key) else { return RC_OK };
    if e.value_type() != T_LIST {
        return LIST_NOT_A_LIST;
    }
    if e.list_len() == 0 {
        errmsg.set(c"bad lua list length found");
        return -3;
    }
    let Some(it) = e.list_end(front) else {
        errmsg.set(c"bad lua list length found");
        return -3;
    };
    let v = it.value();
    match it.value_type() {
        T_STRING => {
            if !buf.write(v) {
                errmsg.set(c"no memory");
                return -3;
            }
        }
        T_NUMBER if v.len() == 8 => *num = read_f64(v),
        _ => {
            errmsg.set(c"bad list node value type found");
            return -3;
        }
    }
    *value_type = it.value_type() as c_int;
    if e.pop(front) {
        d.debug("lua shared dict list: empty node after pop, remove it");
    }
    RC_OK
}

ffi_exports! {
    /// The length of the list at `key` (0 when missing), or `LIST_NOT_A_LIST`.
    fn ngx_stream_lua_rs_ffi_shdict_llen(zone: &Dict, key: bytes[key_len]) -> c_int [0] {
        let mut g = zone.lock();
        g.expire(false);
        match g.lookup(hash(key), key) {
            Found::Live(e) if e.value_type() != T_LIST => LIST_NOT_A_LIST,
            Found::Live(e) => e.list_len() as c_int,
            _ => 0,
        }
    }
}

// ---- the same, with arguments in a struct (what lua-resty-core calls on macOS) -----------

#[repr(C)]
pub struct GetParams {
    zone: *mut Dict,
    key: *const u8,
    key_len: usize,
    value_type: *mut c_int,
    str_value_buf: *mut *mut u8,
    str_value_len: *mut usize,
    num_value: *mut c_double,
    user_flags: *mut c_int,
    get_stale: c_int,
    is_stale: *mut c_int,
    errmsg: *mut *const c_char,
}

#[repr(C)]
pub struct StoreParams {
    zone: *mut Dict,
    op: c_int,
    key: *const u8,
    key_len: usize,
    value_type: c_int,
    str_value_buf: *const u8,
    str_value_len: usize,
    num_value: c_double,
    exptime: c_long,
    user_flags: c_int,
    errmsg: *mut *const c_char,
    forcible: *mut c_int,
}

#[repr(C)]
pub struct IncrParams {
    zone: *mut Dict,
    key: *const u8,
    key_len: usize,
    num_value: *mut c_double,
    errmsg: *mut *const c_char,
    has_init: c_int,
    init: c_double,
    init_ttl: c_long,
    forcible: *mut c_int,
}

ffi_exports! {
    fn ngx_stream_lua_ffi_shdict_get_macos(p: &GetParams) -> c_int [RC_ERROR] {
        // SAFETY: the caller fills every field as for ngx_stream_lua_ffi_shdict_get.
        unsafe {
            ngx_stream_lua_ffi_shdict_get(
                &*p.zone,
                p.key,
                p.key_len,
                &mut *p.value_type,
                p.str_value_buf,
                p.str_value_len,
                &mut *p.num_value,
                &mut *p.user_flags,
                p.get_stale,
                p.is_stale.as_mut(),
                ErrPtr::from_raw(p.errmsg),
            )
        }
    }

    fn ngx_stream_lua_ffi_shdict_store_macos(p: &StoreParams) -> c_int [RC_ERROR] {
        // SAFETY: as above, for ngx_stream_lua_ffi_shdict_store.
        unsafe {
            ngx_stream_lua_ffi_shdict_store(
                &*p.zone,
                p.op,
                p.key,
                p.key_len,
                p.value_type,
                p.str_value_buf,
                p.str_value_len,
                p.num_value,
                p.exptime,
                p.user_flags,
                ErrPtr::from_raw(p.errmsg),
                &mut *p.forcible,
            )
        }
    }

    fn ngx_stream_lua_ffi_shdict_incr_macos(p: &IncrParams) -> c_int [RC_ERROR] {
        // SAFETY: as above, for ngx_stream_lua_ffi_shdict_incr.
        unsafe {
            ngx_stream_lua_ffi_shdict_incr(
                &*p.zone,
                p.key,
                p.key_len,
                &mut *p.num_value,
                ErrPtr::from_raw(p.errmsg),
                p.has_init,
                p.init,
                p.init_ttl,
                &mut *p.forcible,
            )
        }
    }
}
