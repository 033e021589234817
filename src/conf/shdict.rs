//! The `lua_shared_dict` zones of a configuration: one `Dict` per directive, in the
//! configuration's pool. Their entries and locking are `sys::shdict`; the Lua and FFI API over
//! them is `api::shdict`.

use super::MainConf;
use crate::sys::shdict::Store;
use crate::sys::*;

/// The per-cycle handle of one dict (in the configuration pool); the FFI's "zone" pointer.
pub struct Dict {
    pub name: Vec<u8>,
    /// The zone's size in bytes.
    pub capacity: usize,
    /// Set when nginx initialises the zone (after the configuration is read).
    pub store: Option<Store>,
    pub mcf: *mut MainConf,
    pub cycle: *mut ngx_cycle_t,
    pub log: Log,
}

/// The dicts of a configuration.
pub fn dicts(mcf: &MainConf) -> impl Iterator<Item = &Dict> {
    // SAFETY: a configuration's dicts live in its pool, as long as the configuration.
    mcf.shdicts.iter().map(|&d| unsafe { &*d })
}
