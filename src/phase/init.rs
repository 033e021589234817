//! `init_by_lua*` (in the master, while the configuration loads: globals it sets are seen by
//! every worker) and `init_worker_by_lua*` (in each worker as it starts).

use crate::conf::MainConf;
use crate::ffi::*;
use crate::lua::runner::{run_entry, Outcome};
use crate::lua::session::{Phase, Session};

/// Runs `init_by_lua*` in the VM's main thread; an error fails the configuration.
pub unsafe fn run_init(mcf: &MainConf, log: *mut ngx_log_t) -> Result<(), ()> {
    let (Some(code), Some(vm)) = (&mcf.init, &mcf.vm) else { return Ok(()) };
    let l = vm.l;
    // SAFETY: l is the cycle's VM, not running anything else.
    unsafe {
        let top = raw::lua_gettop(l);
        raw::lua_getfield(l, LUA_GLOBALSINDEX, c"debug".as_ptr());
        raw::lua_getfield(l, -1, c"traceback".as_ptr());
        raw::lua_remove(l, -2);
        let msg = match code.push_closure(l, true) {
            Err(m) => Some(m),
            Ok(()) => {
                if raw::lua_pcall(l, 0, 0, top + 1) != 0 {
                    let m = to_bytes(l, -1).map(|b| String::from_utf8_lossy(b).into_owned());
                    Some(m.unwrap_or_else(|| "unknown reason".into()))
                } else {
                    None
                }
            }
        };
        raw::lua_settop(l, top);
        match msg {
            None => Ok(()),
            Some(m) => {
                let tag = if code.chunkname.starts_with('@') { "init_by_lua_file" } else { "init_by_lua" };
                log_error(NGX_LOG_ERR, log, 0, format!("{tag} error: {m}").as_bytes());
                Err(())
            }
        }
    }
}

/// Runs `init_worker_by_lua*` in a context with no session.
pub unsafe fn run_init_worker(mcf: &MainConf) {
    let (Some(code), Some(vm)) = (&mcf.init_worker, &mcf.vm) else { return };
    let mut sess = Session::new_fake(vm.l, Phase::InitWorker);
    let p: *mut Session = &mut *sess;
    // SAFETY: p stays valid until sess is dropped below.
    unsafe {
        if let Outcome::Waiting = run_entry(p, code) {
            (*p).cancel_wait();
        }
    }
    drop(sess);
}
