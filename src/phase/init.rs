//! `init_by_lua*` (in the master, while the configuration loads) and `init_worker_by_lua*`
//! (in each worker as it starts). Both run in the VM's main thread with `_G` as their globals,
//! as upstream does, so globals they set are seen by all later code.

use crate::conf::MainConf;
use crate::runtime::code::Code;
use crate::runtime::detached::StandIn;
use crate::runtime::handle::SessionRef;
use crate::runtime::session::Phase;
use crate::runtime::vm::Vm;
use crate::sys::*;

/// Runs `code` with `pcall` under `debug.traceback` in the main thread `c`, `req` as the
/// running session meanwhile. Returns the error message (with a traceback) on failure.
fn run_in_main(c: &mut Call, code: &Code, req: Option<SessionRef>) -> Result<(), String> {
    let top = c.top();
    c.get_global(c"debug");
    c.get_field(-1, c"traceback");
    c.remove(-2);
    c.reserve(1);
    if let Err(msg) = code.push_function_on(c, true) {
        c.set_top(top);
        return Err(msg);
    }
    let ok = crate::runtime::scheduler::with_running(req, || c.pcall_with(0, 0, top + 1));
    let msg = (!ok)
        .then(|| c.to_bytes(-1).map_or_else(|| "unknown error".into(), |b| String::from_utf8_lossy(b).into_owned()));
    c.set_top(top);
    msg.map_or(Ok(()), Err)
}

fn tag(code: &Code, base: &str) -> String {
    if code.chunkname.starts_with('@') {
        format!("{base}_file")
    } else {
        base.to_string()
    }
}

/// Runs `init_by_lua*` in `vm` (the cycle's, or a session's own when the code cache is off),
/// logging a failure to `log`; an error fails the configuration.
///
/// # Safety
/// `vm` is idle: this is not called from Lua.
pub unsafe fn run_init(mcf: &MainConf, vm: &Vm, log: Option<Log>) -> Result<(), ()> {
    let Some(code) = &mcf.init else { return Ok(()) };
    // SAFETY: vm's main state is idle (the caller's contract) and lives as long as vm.
    let mut c = unsafe { Call::from_raw(vm.l) };
    run_in_main(&mut c, code, None).map_err(|m| {
        if let Some(log) = log {
            log.error(NGX_LOG_ERR, 0, format!("{} error: {m}", tag(code, "init_by_lua")).as_bytes());
        }
    })
}

/// Runs `init_worker_by_lua*` with a session-less context (for `ngx.get_phase` and the
/// APIs that check where they run).
///
/// # Safety
/// Called as the worker starts, while no Lua runs.
pub unsafe fn run_init_worker(mcf: &MainConf) {
    let (Some(code), Some(vm)) = (&mcf.init_worker, &mcf.vm) else { return };
    let sess = StandIn::new(vm.main(), Phase::InitWorker);
    // SAFETY: the VM is idle while the worker starts (the caller's contract).
    let mut c = unsafe { Call::from_raw(vm.l) };
    if let Err(m) = run_in_main(&mut c, code, Some(sess.live().view())) {
        let line = format!("{} error: {m}", tag(code, "init_worker_by_lua"));
        log_error(NGX_LOG_ERR, cycle_log(), 0, line.as_bytes());
    }
}
