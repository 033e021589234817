//! The worker process's own state: whether it is shutting down, and a watch that nginx trips
//! when a graceful shutdown begins.

use std::ffi::c_int;
use std::ptr::NonNull;

use super::event::EventHandler;
use super::ngx::*;

/// Whether the worker is shutting down gracefully (`ngx_exiting`).
pub fn exiting() -> bool {
    // SAFETY: nginx's global flag, written by this (single) worker thread only.
    unsafe { ngx_exiting != 0 }
}

/// This process's pid.
pub fn pid() -> i32 {
    // SAFETY: set at process start, read by this thread only.
    unsafe { ngx_pid }
}

/// The worker's number (0 to worker_processes - 1), or `None` outside a worker.
pub fn worker_id() -> Option<usize> {
    // SAFETY: nginx's process globals, set before module code runs in the process.
    unsafe {
        let worker = ngx_process == NGX_PROCESS_WORKER as ngx_uint_t || ngx_process == NGX_PROCESS_SINGLE as ngx_uint_t;
        worker.then_some(ngx_worker)
    }
}

/// `worker_processes` of the running cycle (1 before it is configured).
pub fn worker_count() -> usize {
    // SAFETY: the cycle is set while module code runs; the core module's conf slot is null
    // or its configuration.
    unsafe {
        let ctx = (*ngx_cycle).conf_ctx;
        if ctx.is_null() {
            return 1;
        }
        let ccf = *ctx.add(ngx_core_module.index) as *const ngx_core_conf_t;
        if ccf.is_null() {
            1
        } else {
            (*ccf).worker_processes as usize
        }
    }
}

/// Fills `out` with the pids of this worker and its siblings as nginx's process table here
/// knows them (this process in its own slot); returns how many.
pub fn worker_pids(out: &mut [i32]) -> usize {
    let mut n = 0;
    #[allow(clippy::needless_range_loop)] // the slot number itself is compared below
    for slot in 0..NGX_MAX_PROCESSES as usize {
        if n >= out.len() {
            break;
        }
        let mine = slot as ngx_int_t == {
            // SAFETY: set at process start, read by this thread only.
            unsafe { ngx_process_slot }
        };
        // SAFETY: nginx's process table, written by this thread only (channel messages).
        let (pid, channel) = unsafe {
            let p = &*std::ptr::addr_of!(ngx_processes[slot]);
            (p.pid, p.channel[0])
        };
        if !mine && pid == 0 {
            break;
        }
        if mine {
            out[n] = self::pid();
            n += 1;
        }
        if n < out.len() && channel > 0 && pid > 0 {
            out[n] = pid;
            n += 1;
        }
    }
    n
}

/// nginx's kind of process (`NGX_PROCESS_*`); the master is reported as such while it runs
/// `init_by_lua*` before forking, when nginx itself still says "single".
pub fn process_type() -> ngx_uint_t {
    // SAFETY: plain reads of nginx process globals and of the core module's configuration
    // (its slot is null or the configuration).
    unsafe {
        if ngx_process == NGX_PROCESS_SINGLE as ngx_uint_t && !ngx_cycle.is_null() && !(*ngx_cycle).conf_ctx.is_null() {
            let ccf = *(*ngx_cycle).conf_ctx.add(ngx_core_module.index) as *const ngx_core_conf_t;
            if !ccf.is_null() && (*ccf).master != 0 {
                return NGX_PROCESS_MASTER as ngx_uint_t;
            }
        }
        ngx_process
    }
}

/// The master's pid (this process's when it runs alone).
pub fn master_pid() -> i32 {
    // SAFETY: plain reads of nginx process globals, set at process start.
    unsafe {
        if ngx_process == NGX_PROCESS_SINGLE as ngx_uint_t {
            ngx_pid
        } else {
            ngx_parent
        }
    }
}

/// Asks this process to exit gracefully, as a QUIT signal would.
pub fn quit_gracefully() {
    // SAFETY: nginx's event loop reads this flag (the signal handler's job), on this thread.
    unsafe { ngx_quit = 1 };
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
        log.debug_fmt(format_args!("setting SA_RESTART for signal {signo}"));
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

/// An idle stand-in connection: at graceful shutdown nginx closes idle connections by calling
/// their read handler with `close` set, which is how the owner learns the worker is leaving.
pub struct ShutdownWatch(NonNull<ngx_connection_t>);

impl ShutdownWatch {
    /// A watch whose read event calls `handler` (with `ev->data` the connection).
    pub fn new(handler: EventHandler) -> Option<ShutdownWatch> {
        // SAFETY: the cycle is set while the worker runs; ngx_get_connection records fd 0 in
        // cycle->files, whose slot is restored (the watch has no descriptor of its own); the
        // connection it returns has its read event allocated.
        unsafe {
            let files = (*ngx_cycle).files;
            let saved = if files.is_null() { std::ptr::null_mut() } else { *files };
            let c = NonNull::new(ngx_get_connection(0, cycle_log()))?;
            if !files.is_null() {
                *files = saved;
            }
            let conn = &mut *c.as_ptr();
            conn.fd = -2; // neither a real socket nor the -1 nginx skips when counting open ones
            conn.set_idle(1);
            (*conn.read).handler = Some(handler);
            Some(ShutdownWatch(c))
        }
    }
}

/// What the watch's handler is told: whether nginx is closing the watch (the worker is
/// leaving).
pub struct WatchEvent {
    pub closed: bool,
}

/// nginx calls the watch's handler with the read event of its live connection.
impl super::export::CallbackArg for WatchEvent {
    type Raw = *mut ngx_event_t;

    unsafe fn from_callback(ev: *mut ngx_event_t) -> Option<WatchEvent> {
        // SAFETY: the trait's contract: ev->data is the watch's connection.
        let closed = unsafe { (*((*ev).data as *mut ngx_connection_t)).close() != 0 };
        Some(WatchEvent { closed })
    }
}

impl Drop for ShutdownWatch {
    fn drop(&mut self) {
        // SAFETY: the connection came from ngx_get_connection and is given back once; fd -1
        // tells nginx there is no descriptor to forget.
        unsafe {
            (*self.0.as_ptr()).fd = -1;
            ngx_free_connection(self.0.as_ptr());
        }
    }
}
