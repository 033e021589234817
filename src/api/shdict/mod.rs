//! `lua_shared_dict` and `ngx.shared.DICT`: the directive, the `ngx.shared` tables and the
//! methods upstream implements as Lua C functions (`flush_expired`, `get_keys`). Our own
//! `ngx_shdict.lua` puts the other methods on the exported C ABI (`exports.rs`), as
//! lua-resty-core does; `c_api.rs` is the C API for other nginx modules and `zone.rs` the
//! storage itself.

pub mod c_api;
pub mod exports;
pub mod zone;

use std::ffi::{c_int, c_void};
use std::mem::size_of;
use std::ptr;

use self::zone::*;
use crate::conf::MainConf;
use crate::lua_api;
use crate::sys::*;

const OP_ADD: c_int = 0x0001;
const OP_REPLACE: c_int = 0x0002;
const OP_SAFE: c_int = 0x0004;

const RC_OK: c_int = 0;
const RC_ERROR: c_int = -1;
const RC_DECLINED: c_int = -5;

fn hash(key: &[u8]) -> u32 {
    crate::api::string::crc32(key)
}

// ---- the directive -------------------------------------------------------------------------

/// `lua_shared_dict NAME SIZE`: declares the zone (nginx creates and maps it after the
/// configuration is read, then calls `init_zone`).
pub unsafe fn declare(
    cf: *mut ngx_conf_t,
    mcf: &mut MainConf,
    name: &ngx_str_t,
    size: &ngx_str_t,
) -> Result<(), String> {
    if name.len == 0 {
        return Err(format!("invalid lua shared dict name \"{}\"", String::from_utf8_lossy(ngx_bytes(name))));
    }
    let mut size_str = *size;
    // SAFETY: size_str is a valid nginx string.
    let bytes = unsafe { ngx_parse_size(&mut size_str) };
    if bytes <= 8191 {
        return Err(format!("invalid lua shared dict size \"{}\"", String::from_utf8_lossy(ngx_bytes(size))));
    }
    let mut zname = *name;
    // SAFETY: cf is the configuration being read; the module is the zone's tag.
    unsafe {
        let zone = ngx_shared_memory_add(
            cf,
            &mut zname,
            bytes as usize,
            ptr::addr_of_mut!(crate::module::ngx_stream_lua_module) as *mut c_void,
        );
        if zone.is_null() {
            return Err(String::new()); // nginx logged why
        }
        if !(*zone).data.is_null() {
            let other = &*((*zone).data as *const Dict);
            return Err(format!(
                "lua_shared_dict \"{}\" is already defined as \"{}\"",
                String::from_utf8_lossy(ngx_bytes(name)),
                String::from_utf8_lossy(&other.name)
            ));
        }
        let dict = Box::new(Dict {
            name: ngx_bytes(name).to_vec(),
            zone,
            shpool: ptr::null_mut(),
            sh: ptr::null_mut(),
            mcf,
            cycle: (*cf).cycle,
            log: ptr::addr_of_mut!((*(*cf).cycle).new_log),
        });
        let Some(d) = pool_own((*cf).pool, dict) else { return Err("out of memory".into()) };
        (*zone).init = Some(init_zone);
        (*zone).data = d as *mut c_void;
        mcf.shdicts.push(d);
    }
    Ok(())
}

// ---- ngx.shared ----------------------------------------------------------------------------

lua_api! {
    flush_expired => flush_expired_impl,
    get_keys => get_keys_impl,
}

/// Sets `ngx.shared` on the table at `t`: one table per dict, `{ [1] = userdata }` holding
/// the `Dict` pointer, all sharing one metatable that is its own `__index`.
pub unsafe fn inject(l: *mut lua_State, t: c_int, mcf: &MainConf) {
    // SAFETY: l is a fresh VM; t an absolute index.
    unsafe {
        raw::lua_createtable(l, 0, mcf.shdicts.len() as c_int);
        if !mcf.shdicts.is_empty() {
            raw::lua_createtable(l, 0, 22);
            let mt = raw::lua_gettop(l);
            set_field_fn(l, mt, c"flush_expired", flush_expired);
            set_field_fn(l, mt, c"get_keys", get_keys);
            raw::lua_pushvalue(l, mt);
            raw::lua_setfield(l, mt, c"__index".as_ptr());
            for &d in &mcf.shdicts {
                push_bytes(l, &(*d).name);
                raw::lua_createtable(l, 1, 0);
                let ud = raw::lua_newuserdata(l, size_of::<*mut Dict>()) as *mut *mut Dict;
                *ud = d;
                raw::lua_rawseti(l, -2, 1);
                raw::lua_pushvalue(l, mt);
                raw::lua_setmetatable(l, -2);
                raw::lua_rawset(l, mt - 1);
            }
            raw::lua_settop(l, mt - 1);
        }
        raw::lua_setfield(l, t, c"shared".as_ptr());
    }
}

/// The dict of a method's `self` (the table at index 1), if it is one.
unsafe fn dict_of<'a>(l: *mut lua_State) -> Option<&'a Dict> {
    // SAFETY: index 1 exists (callers checked the argument count).
    unsafe {
        raw::lua_rawgeti(l, 1, 1);
        let ud = raw::lua_touserdata(l, -1) as *mut *mut Dict;
        raw::lua_settop(l, -2);
        if ud.is_null() {
            return None;
        }
        (*ud).as_ref()
    }
}

/// `self` and the optional count of `flush_expired` / `get_keys`.
unsafe fn dict_and_count<'a>(
    l: *mut lua_State,
    fname: &'static str,
    default: c_int,
) -> Result<(&'a Dict, c_int), LuaError> {
    // SAFETY: l is the running state.
    unsafe {
        let n = raw::lua_gettop(l);
        if n != 1 && n != 2 {
            return err(format!("expecting 1 or 2 argument(s), but saw {n}"));
        }
        let t = raw::lua_type(l, 1);
        if t != raw::LUA_TTABLE {
            return Err(LuaError::Arg(1, fname, format!("table expected, got {}", type_name(l, t))));
        }
        let Some(d) = dict_of(l) else { return err("bad user data for the ngx_shm_zone_t pointer") };
        let mut count = default;
        if n == 2 {
            if raw::lua_isnumber(l, 2) == 0 {
                let t = raw::lua_type(l, 2);
                return Err(LuaError::Arg(2, fname, format!("number expected, got {}", type_name(l, t))));
            }
            count = raw::lua_tointeger(l, 2) as c_int;
        }
        Ok((d, count))
    }
}

unsafe fn flush_expired_impl(l: *mut lua_State) -> LuaResult {
    // SAFETY: l is the running state.
    unsafe {
        let (d, max) = dict_and_count(l, "flush_expired", 0)?;
        let g = d.lock();
        let now = now_ms();
        let mut freed = 0;
        g.each_oldest_first(|e| {
            if (*e).expired(now) {
                g.remove(e);
                freed += 1;
                if max != 0 && freed == max {
                    return false;
                }
            }
            true
        });
        drop(g);
        raw::lua_pushnumber(l, freed as f64);
        Ok(1)
    }
}

unsafe fn get_keys_impl(l: *mut lua_State) -> LuaResult {
    // SAFETY: l is the running state.
    unsafe {
        let (d, max) = dict_and_count(l, "get_keys", 1024)?;
        // collected first: no Lua allocation (which may raise) while the mutex is held
        let mut keys: Vec<Vec<u8>> = Vec::new();
        {
            let g = d.lock();
            let now = now_ms();
            g.each_oldest_first(|e| {
                if !(*e).expired(now) {
                    keys.push((*e).key().to_vec());
                    if max != 0 && keys.len() == max as usize {
                        return false;
                    }
                }
                true
            });
        }
        raw::lua_createtable(l, keys.len() as c_int, 0);
        for (i, k) in keys.iter().enumerate() {
            push_bytes(l, k);
            raw::lua_rawseti(l, -2, i as i64 + 1);
        }
        Ok(1)
    }
}
