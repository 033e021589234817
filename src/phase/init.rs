//! `init_by_lua*` (in the master, while the configuration loads) and `init_worker_by_lua*`
//! (in each worker as it starts). Both run in the VM's main thread with `_G` as their globals,
//! as upstream does, so globals they set are seen by all later code.

use crate::conf::MainConf;
use crate::runtime::code::Code;
use crate::runtime::session::{Phase, Session};
use crate::sys::*;

/// Runs `code` with `pcall` in the main thread, `req` as the running session meanwhile.
/// Returns the error message (with a traceback) on failure.
unsafe fn run_in_main(l: *mut lua_State, code: &Code, req: *mut Session) -> Result<(), String> {
    // SAFETY: l is the cycle's VM, not running anything else.
    unsafe {
        let top = raw::lua_gettop(l);
        raw::lua_getfield(l, LUA_GLOBALSINDEX, c"debug".as_ptr());
        raw::lua_getfield(l, -1, c"traceback".as_ptr());
        raw::lua_remove(l, -2);
        code.push_closure_raw(l)?;
        let rc = crate::runtime::scheduler::with_running(req, || raw::lua_pcall(l, 0, 0, top + 1));
        let msg = (rc != 0).then(|| {
            to_bytes(l, -1).map(|b| String::from_utf8_lossy(b).into_owned()).unwrap_or_else(|| "unknown error".into())
        });
        raw::lua_settop(l, top);
        msg.map_or(Ok(()), Err)
    }
}

fn tag(code: &Code, base: &str) -> String {
    if code.chunkname.starts_with('@') {
        format!("{base}_file")
    } else {
        base.to_string()
    }
}

/// Runs `init_by_lua*` in the VM `l` (the cycle's, or a session's own when the code cache
/// is off); an error fails the configuration.
pub unsafe fn run_init(mcf: &MainConf, l: *mut lua_State, log: *mut ngx_log_t) -> Result<(), ()> {
    let Some(code) = &mcf.init else { return Ok(()) };
    // SAFETY: the VM is idle.
    unsafe { run_in_main(l, code, std::ptr::null_mut()) }.map_err(|m| {
        log_error(NGX_LOG_ERR, log, 0, format!("{} error: {m}", tag(code, "init_by_lua")).as_bytes());
    })
}

/// Runs `init_worker_by_lua*` with a session-less context (for `ngx.get_phase` and the
/// APIs that check where they run).
pub unsafe fn run_init_worker(mcf: &MainConf) {
    let (Some(code), Some(vm)) = (&mcf.init_worker, &mcf.vm) else { return };
    let mut sess = Session::new_fake(vm.l, Phase::InitWorker);
    // SAFETY: the VM is idle while the worker starts; sess outlives the call.
    if let Err(m) = unsafe { run_in_main(vm.l, code, &mut *sess) } {
        let line = format!("{} error: {m}", tag(code, "init_worker_by_lua"));
        log_error(NGX_LOG_ERR, cycle_log(), 0, line.as_bytes());
    }
}
