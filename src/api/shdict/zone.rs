//! The per-cycle handle of a `lua_shared_dict` (`Dict`) and the zone's init handler. The
//! storage itself (entries in the zone's slab pool, under its mutex) is `sys::shdict`.

use std::ffi::c_void;

pub use crate::conf::shdict::{dicts, Dict};
use crate::ngx_callbacks;
pub use crate::sys::shdict::{now_ms, Found, Locked, Store, T_BOOLEAN, T_LIST, T_NIL, T_NUMBER, T_STRING};
use crate::sys::*;

/// The absolute expiry for a time-to-live in milliseconds (0 = none).
pub fn expiry(ttl_ms: i64) -> u64 {
    if ttl_ms > 0 {
        now_ms() + ttl_ms as u64
    } else {
        0
    }
}

impl Dict {
    /// Takes the dict's mutex. Lua code reaches a dict only after nginx initialised its zone.
    pub fn lock(&self) -> Locked<'_> {
        self.store.as_ref().expect("lua_shared_dict zone not initialised").lock()
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    pub fn debug(&self, msg: &str) {
        self.log.debug(msg);
    }
}

/// The dict at address `p`, if it is one of the running configuration's (what a dict table's
/// `[1]` userdata holds).
pub fn known_dict(p: *mut c_void) -> Option<&'static Dict> {
    let mcf = crate::conf::cycle_main_conf()?;
    mcf.shdicts.iter().position(|&d| d as *mut c_void == p).and_then(|i| dicts(mcf).nth(i))
}

// ---- zone set-up ---------------------------------------------------------------------------

ngx_callbacks! {
    /// The zone's init handler: attach to the old cycle's tree on a reload (`data` is the old
    /// `Dict`), or build an empty one; then, once every dict is ready, run `init_by_lua`.
    pub fn init_zone(zone: *mut ngx_shm_zone_t, data: *mut c_void) -> ngx_int_t [NGX_ERROR as ngx_int_t] {
        // SAFETY: zone->data is the Dict set when the directive was read; data is null or
        // the previous cycle's Dict for the same zone, still alive during the reload; the
        // zone's memory starts with its slab pool and stays mapped for the cycle.
        unsafe {
            let d = &mut *((*zone).data as *mut Dict);
            let old = (data as *const Dict).as_ref();
            let pool = (*zone).shm.addr as *mut ngx_slab_pool_t;
            d.store = if let Some(old) = old {
                Store::attach(pool, old.store)
            } else if (*zone).shm.exists != 0 {
                Store::attach(pool, None)
            } else {
                // nginx appends this to its slab "no memory" messages
                let what = format!(" in lua_shared_dict zone \"{}\"", String::from_utf8_lossy(&d.name));
                Store::create(pool, &what)
            };
            if d.store.is_none() {
                return NGX_ERROR as ngx_int_t;
            }
            let mcf = &mut *d.mcf;
            mcf.shm_zones_inited += 1;
            if mcf.shm_zones_inited == mcf.shdicts.len() && ngx_test_config == 0 {
                if let Some(vm) = mcf.vm.as_ref() {
                    // init_by_lua sees the cycle being configured, as in postconfiguration
                    let saved = ngx_cycle;
                    ngx_cycle = d.cycle;
                    let rc = mcf.zones_ready.map_or(Ok(()), |run_init| run_init(mcf, vm, Some(d.log)));
                    ngx_cycle = saved;
                    if rc.is_err() {
                        return NGX_ERROR as ngx_int_t;
                    }
                }
            }
            NGX_OK as ngx_int_t
        }
    }
}
