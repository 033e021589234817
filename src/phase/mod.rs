//! nginx hooks, one file per phase, and what they share: making a session's Lua context (and
//! the VM it runs in).

pub mod balancer;
pub mod content;
pub mod init;
pub mod log;
pub mod preread;
#[cfg(ngx_feature = "stream_ssl")]
pub mod ssl_cert;

use crate::conf::MainConf;
use crate::conf::{main_conf_of, srv_conf_of};
use crate::runtime::session::Session;
use crate::runtime::vm::{Vm, VmRef, VmSetup};
use crate::sys::*;

/// A new VM with the `ngx` API for the configuration `mcf`; `parent` is the main VM when
/// this one is a session's own (`lua_code_cache off`).
pub unsafe fn new_vm(cycle: *mut ngx_cycle_t, mcf: &MainConf, parent: Option<*mut lua_State>) -> Result<Vm, String> {
    // SAFETY: install runs on the fresh VM's state.
    // SAFETY: the VM calls install with its new main state, which has room for LUA_MINSTACK values.
    let install = |l| crate::api::inject(&mut unsafe { crate::sys::Call::from_raw(l) }, mcf);
    let setup = VmSetup {
        api: &crate::api::API,
        install: &install,
        package_path: mcf.package_path.as_deref(),
        package_cpath: mcf.package_cpath.as_deref(),
        codes: &mcf.codes,
        parent,
    };
    // SAFETY: called while nginx loads a configuration or runs a session, never from Lua.
    unsafe { Vm::new(cycle, &setup) }
}

/// The Lua context of the nginx session `s`, made on first use.
pub unsafe fn session_of(s: *mut ngx_stream_session_t) -> Option<*mut Session> {
    // SAFETY: s is a live session.
    unsafe {
        if let Some(sess) = Session::of(s) {
            return Some(sess);
        }
        let mcf = main_conf_of(s);
        let scf = srv_conf_of(s);
        let code_cache = scf.code_cache();
        // `lua_code_cache off`: a VM of its own per session, so files and required modules
        // are loaded afresh, like upstream
        let own_vm = if code_cache {
            None
        } else {
            let log = (*(*s).connection).log;
            match new_vm(ngx_cycle, mcf, mcf.vm.as_ref().map(|vm| vm.l)) {
                Ok(vm) => {
                    init::run_init(mcf, vm.l, log).ok()?;
                    Some(VmRef::new(vm))
                }
                Err(msg) => {
                    log_error(NGX_LOG_ERR, log, 0, msg.as_bytes());
                    return None;
                }
            }
        };
        let l = match &own_vm {
            Some(vm) => vm.l(),
            None => mcf.vm.as_ref()?.l,
        };
        let sess = Session::attach(s, l, code_cache, own_vm)?;
        (*sess).send_timeout = scf.socket.send_timeout() as ngx_msec_t;
        Some(sess)
    }
}
