//! nginx hooks, one file per phase, and what they share: making a session's Lua context (and
//! the VM it runs in).

pub mod balancer;
pub mod content;
pub mod init;
pub mod log;
pub mod preread;
#[cfg(ngx_feature = "stream_ssl")]
pub mod ssl_cert;
#[cfg(ngx_feature = "stream_ssl")]
pub mod ssl_drive;
#[cfg(ngx_feature = "stream_ssl")]
pub mod ssl_hook;

use crate::conf::{MainConf, SrvConf};
use crate::runtime::live::LiveSession;
use crate::runtime::vm::{Vm, VmRef, VmSetup};
use crate::sys::stream::StreamSession;
use crate::sys::*;

/// A new VM with the `ngx` API for the configuration `mcf`; `parent` is the main VM when
/// this one is a session's own (`lua_code_cache off`).
///
/// # Safety
/// Called while nginx loads a configuration or runs a session, never from Lua (`parent` is
/// idle); `cycle` is the cycle being set up.
pub unsafe fn new_vm(cycle: *mut ngx_cycle_t, mcf: &MainConf, parent: Option<&Vm>) -> Result<Vm, String> {
    // SAFETY: install runs on the fresh VM's state.
    // SAFETY: the VM calls install with its new main state, which has room for LUA_MINSTACK values.
    let install = |l| crate::api::inject(&mut unsafe { crate::sys::Call::from_raw(l) }, mcf);
    let setup = VmSetup {
        api: &crate::api::API,
        install: &install,
        package_path: mcf.package_path.as_deref(),
        package_cpath: mcf.package_cpath.as_deref(),
        codes: &mcf.codes,
        parent: parent.map(|vm| vm.l),
    };
    // SAFETY: called while nginx loads a configuration or runs a session, never from Lua.
    unsafe { Vm::new(cycle, &setup) }
}

/// The Lua context of the nginx session `s`, made on first use; it owns the session from then
/// on. Without one, `s` comes back.
pub fn session_of(s: StreamSession) -> Result<LiveSession, StreamSession> {
    let s = match LiveSession::of(s) {
        Ok(sess) => return Ok(sess),
        Err(s) => s,
    };
    let (Some(mcf), Some(scf)) = (s.main_conf::<MainConf>(), s.srv_conf::<SrvConf>()) else { return Err(s) };
    // `lua_code_cache off`: a VM of its own per session, so files and required modules
    // are loaded afresh, like upstream
    let own_vm = if scf.code_cache() {
        None
    } else {
        let log = s.log();
        // SAFETY: a session's phase handler runs outside Lua; the running cycle lives on.
        match unsafe { new_vm(ngx_cycle, mcf, mcf.vm.as_ref()) } {
            Ok(vm) => {
                // SAFETY: the new VM is idle.
                if unsafe { init::run_init(mcf, &vm, Some(log)) }.is_err() {
                    return Err(s);
                }
                Some(VmRef::new(vm))
            }
            Err(msg) => {
                log.error(NGX_LOG_ERR, 0, msg.as_bytes());
                return Err(s);
            }
        }
    };
    let sess = LiveSession::attach(s, mcf.vm.as_ref(), own_vm)?;
    sess.with(|x| x.send_timeout = scf.socket.send_timeout() as ngx_msec_t);
    Ok(sess)
}
