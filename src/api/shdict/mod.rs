//! `lua_shared_dict` and `ngx.shared.DICT`: the directive, the `ngx.shared` tables and the
//! methods upstream implements as Lua C functions (`flush_expired`, `get_keys`). Our own
//! `ngx_shdict.lua` puts the other methods on the exported C ABI (`exports.rs`), as
//! lua-resty-core does; `c_api.rs` is the C API for other nginx modules, `zone.rs` the
//! per-cycle `Dict` and its zone's set-up, and `sys::shdict` the storage itself.

pub mod c_api;
pub mod exports;
pub mod zone;

use std::ffi::{c_int, c_void};
use std::ptr;

use self::zone::*;
use crate::conf::MainConf;
use crate::lua_calls;
use crate::sys::conf::Directive;
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
/// configuration is read, then calls `init_zone`). `tag` names the zone's owner for nginx (our
/// module, which the directive's caller passes in: the API layer does not name the module).
pub fn declare(d: &mut Directive, tag: *mut c_void) -> Result<(), String> {
    let (name, size) = (d.raw_args()[1], d.parse_size(2));
    if name.len == 0 {
        return Err(format!("invalid lua shared dict name \"{}\"", String::from_utf8_lossy(d.arg(1))));
    }
    if size <= 8191 {
        return Err(format!("invalid lua shared dict size \"{}\"", String::from_utf8_lossy(d.arg(2))));
    }
    let Some(mut zone) = d.shared_memory_add(name, size as usize, tag) else { return Err(String::new()) };
    if !zone.data().is_null() {
        // SAFETY: a zone of ours holds its Dict, which lives in the configuration's pool.
        let other = unsafe { &*(zone.data() as *const Dict) };
        return Err(format!(
            "lua_shared_dict \"{}\" is already defined as \"{}\"",
            String::from_utf8_lossy(d.arg(1)),
            String::from_utf8_lossy(&other.name)
        ));
    }
    let Some(log) = d.cycle_log() else { return Err(String::new()) };
    let dict = Box::new(Dict {
        name: d.arg(1).to_vec(),
        capacity: zone.size(),
        store: None,
        mcf: d.conf::<MainConf>(),
        cycle: d.cycle(),
        log,
    });
    let Some(p) = d.own(dict) else { return Err("out of memory".into()) };
    zone.set_init(Some(init_zone), p as *mut c_void);
    d.conf::<MainConf>().shdicts.push(p);
    Ok(())
}

// ---- ngx.shared ----------------------------------------------------------------------------

lua_calls! {
    flush_expired => flush_expired_impl,
    get_keys => get_keys_impl,
}

/// Sets `ngx.shared` on the table at `t`: one table per dict, `{ [1] = userdata }` holding
/// the `Dict` pointer, all sharing one metatable that is its own `__index`.
pub fn inject(c: &mut Call, t: c_int, mcf: &MainConf) {
    let shared = c.new_table(0, mcf.shdicts.len() as c_int);
    if !mcf.shdicts.is_empty() {
        let mt = c.new_table(0, 22);
        c.set_field_fn(mt, c"flush_expired", flush_expired);
        c.set_field_fn(mt, c"get_keys", get_keys);
        c.push_copy(mt);
        c.set_field(mt, c"__index");
        for (&p, d) in mcf.shdicts.iter().zip(dicts(mcf)) {
            c.push_bytes(&d.name);
            let dict = c.new_table(1, 0);
            c.push_udata_addr(p as *mut c_void);
            c.raw_seti(dict, 1);
            c.push_copy(mt);
            c.set_metatable_of(dict);
            c.raw_set(shared);
        }
        c.set_top(shared);
    }
    c.set_field(t, c"shared");
}

/// `self` and the optional count of `flush_expired` / `get_keys`.
fn dict_and_count(c: &mut Call, fname: &'static str, default: c_int) -> Result<(&'static Dict, c_int), LuaError> {
    let n = c.top();
    if n != 1 && n != 2 {
        return err(format!("expecting 1 or 2 argument(s), but saw {n}"));
    }
    if c.type_of(1) != LUA_TTABLE {
        return c.arg_error(1, fname, format!("table expected, got {}", c.type_name_at(1)));
    }
    let Some(d) = c.udata_addr_at(1, 1).and_then(known_dict) else {
        return err("bad user data for the ngx_shm_zone_t pointer");
    };
    let mut count = default;
    if n == 2 {
        if !c.is_number(2) {
            return c.arg_error(2, fname, format!("number expected, got {}", c.type_name_at(2)));
        }
        count = c.to_integer(2) as c_int;
    }
    Ok((d, count))
}

fn flush_expired_impl(c: &mut Call) -> LuaResult {
    let (d, max) = dict_and_count(c, "flush_expired", 0)?;
    let mut g = d.lock();
    let now = now_ms();
    let mut freed = 0;
    g.each_oldest_first(|e| {
        if e.expired(now) {
            e.remove();
            freed += 1;
            if max != 0 && freed == max {
                return false;
            }
        }
        true
    });
    drop(g);
    c.push_f64(freed as f64);
    Ok(1)
}

fn get_keys_impl(c: &mut Call) -> LuaResult {
    let (d, max) = dict_and_count(c, "get_keys", 1024)?;
    // collected first: no Lua allocation (which may raise) while the mutex is held
    let mut keys: Vec<Vec<u8>> = Vec::new();
    {
        let mut g = d.lock();
        let now = now_ms();
        g.each_oldest_first(|e| {
            if !e.expired(now) {
                keys.push(e.key().to_vec());
                if max != 0 && keys.len() == max as usize {
                    return false;
                }
            }
            true
        });
    }
    let t = c.new_table(keys.len() as c_int, 0);
    for (i, k) in keys.iter().enumerate() {
        c.push_bytes(k);
        c.raw_seti(t, i + 1);
    }
    Ok(1)
}
