//! The process: `ngx.process` C ABI (`ngx_stream_lua_ffi_get_process_type`, ...),
//! `lua_sa_restart` (signal handlers that restart interrupted system calls) and
//! `lua_malloc_trim` (giving freed heap memory back to the system).

use std::ffi::{c_char, c_int};

use crate::sys::ngx::*;

/// nginx's kind of process (`NGX_PROCESS_*`); the master is reported as such while it runs
/// `init_by_lua*` before forking, when nginx itself still says "single".
fn process_type() -> c_int {
    // SAFETY: plain reads of nginx process globals and of the core module's configuration.
    unsafe {
        if ngx_process == NGX_PROCESS_SINGLE as ngx_uint_t && !ngx_cycle.is_null() && !(*ngx_cycle).conf_ctx.is_null() {
            let ccf = *(*ngx_cycle).conf_ctx.add(ngx_core_module.index) as *const ngx_core_conf_t;
            if !ccf.is_null() && (*ccf).master != 0 {
                return NGX_PROCESS_MASTER as c_int;
            }
        }
        ngx_process as c_int
    }
}

#[no_mangle]
pub extern "C" fn ngx_stream_lua_ffi_get_process_type() -> c_int {
    guard(NGX_ERROR, process_type)
}

/// Stock nginx has no privileged agent process (it is an OpenResty core patch); the message
/// is upstream's for an nginx built without it.
#[no_mangle]
pub unsafe extern "C" fn ngx_stream_lua_ffi_enable_privileged_agent(err: *mut *mut c_char, _connections: u32) -> c_int {
    if !err.is_null() {
        // SAFETY: err is the caller's `char *[1]`; the message is a static C string.
        unsafe { *err = c"missing privileged agent process patch in the nginx core".as_ptr() as *mut c_char };
    }
    NGX_ERROR
}

/// Asks this process to exit gracefully, as a QUIT signal would.
#[no_mangle]
pub extern "C" fn ngx_stream_lua_ffi_process_signal_graceful_exit() {
    // SAFETY: nginx's event loop reads this flag (the signal handler's job).
    unsafe { ngx_quit = 1 };
}

#[no_mangle]
pub extern "C" fn ngx_stream_lua_ffi_master_pid() -> c_int {
    // SAFETY: plain reads of nginx process globals.
    unsafe {
        if ngx_process == NGX_PROCESS_SINGLE as ngx_uint_t {
            ngx_pid as c_int
        } else {
            ngx_parent as c_int
        }
    }
}

/// The signals nginx handles, plus the ones it leaves to the system that may still interrupt
/// a blocking call made from Lua (`io.popen():read()`, `os.execute`...).
fn sa_restart_signals() -> [c_int; 12] {
    [
        libc::SIGHUP,   // reconfigure
        libc::SIGUSR1,  // reopen
        libc::SIGWINCH, // noaccept
        libc::SIGTERM,  // terminate
        libc::SIGQUIT,  // shutdown
        libc::SIGUSR2,  // change binary
        libc::SIGALRM,
        libc::SIGINT,
        libc::SIGIO,
        libc::SIGCHLD,
        libc::SIGSYS,
        libc::SIGPIPE,
    ]
}

/// `lua_sa_restart on`: adds `SA_RESTART` to the handlers of those signals, so a system call
/// Lua code is blocked in resumes after the handler instead of failing with `EINTR`.
pub fn set_sa_restart(log: Log) {
    for signo in sa_restart_signals() {
        log.debug(&format!("setting SA_RESTART for signal {signo}"));
        // SAFETY: sigaction reads and writes a zeroed struct of ours.
        unsafe {
            let mut act: libc::sigaction = std::mem::zeroed();
            if libc::sigaction(signo, std::ptr::null(), &mut act) != 0 {
                let e = *libc::__errno_location();
                log.error(NGX_LOG_WARN, e, format!("failed to get sigaction for signal {signo}").as_bytes());
            }
            act.sa_flags |= libc::SA_RESTART;
            if libc::sigaction(signo, &act, std::ptr::null_mut()) != 0 {
                let e = *libc::__errno_location();
                log.error(NGX_LOG_WARN, e, format!("failed to set sigaction for signal {signo}").as_bytes());
            }
        }
    }
}

/// `malloc_trim(1)`: returns free heap memory at the top of the heap and in free pages to
/// the system (glibc).
pub fn malloc_trim() -> c_int {
    // SAFETY: a glibc call without pointers.
    unsafe { libc::malloc_trim(1) }
}
