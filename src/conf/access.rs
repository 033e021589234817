//! Where our configuration is found: a session's, the one being parsed, the running cycle's.
//! Each is the slot of our module (its `ctx_index`, which the module hands the runtime) in
//! nginx's stream configuration arrays.

use std::ptr;

use super::{MainConf, SrvConf};
use crate::runtime::session::ctx_index;
use crate::sys::*;

/// The module's server configuration of a session.
pub unsafe fn srv_conf_of<'a>(s: *mut ngx_stream_session_t) -> &'a SrvConf {
    // SAFETY: as above, for server confs.
    unsafe { &*(*(*s).srv_conf.add(ctx_index()) as *const SrvConf) }
}

/// The `stream {}` block's configuration context of `cycle`, if it has one.
pub unsafe fn stream_conf_ctx(cycle: *const ngx_cycle_t) -> Option<*mut ngx_stream_conf_ctx_t> {
    // SAFETY: conf_ctx holds one slot per core module; while the first configuration loads
    // (init_by_lua), ngx_cycle is a bare cycle without one.
    unsafe {
        if cycle.is_null() || (*cycle).conf_ctx.is_null() {
            return None;
        }
        let ctx = *(*cycle).conf_ctx.add(ngx_stream_module.index) as *mut ngx_stream_conf_ctx_t;
        (!ctx.is_null()).then_some(ctx)
    }
}

/// The module's main configuration of the running cycle (in a worker), if it has a stream block.
pub fn cycle_main_conf<'a>() -> Option<&'a MainConf> {
    // SAFETY: the running cycle's stream confs.
    unsafe {
        let ctx = stream_conf_ctx(ngx_cycle)?;
        (*(*ctx).main_conf.add(ctx_index()) as *const MainConf).as_ref()
    }
}

/// The server configuration of the `stream {}` level itself (directives given outside any
/// `server {}`) of the running cycle.
pub fn stream_level_srv_conf<'a>() -> Option<&'a SrvConf> {
    // SAFETY: the running cycle's stream confs.
    unsafe {
        let ctx = stream_conf_ctx(ngx_cycle)?;
        (*(*ctx).srv_conf.add(ctx_index()) as *const SrvConf).as_ref()
    }
}

/// The TLS client context of the first server that has one (for cosockets in timers).
#[cfg(ngx_feature = "stream_ssl")]
pub unsafe fn first_ssl_ctx() -> *mut ngx_ssl_t {
    // SAFETY: the running cycle's stream confs.
    unsafe {
        let Some(ctx) = stream_conf_ctx(ngx_cycle) else { return ptr::null_mut() };
        let cmcf = *(*ctx).main_conf.add(ngx_stream_core_module.ctx_index) as *mut ngx_stream_core_main_conf_t;
        let servers = std::slice::from_raw_parts(
            (*cmcf).servers.elts as *const *mut ngx_stream_core_srv_conf_t,
            (*cmcf).servers.nelts,
        );
        for &cscf in servers {
            let scf = *(*(*cscf).ctx).srv_conf.add(ctx_index()) as *const SrvConf;
            if let Some(p) = (*scf).ssl.ctx {
                return p.as_ptr();
            }
        }
        ptr::null_mut()
    }
}
