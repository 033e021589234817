//! nginx helpers: logging, strings, pools and the panic boundary for nginx callbacks.

use super::recycled::RawOwner;
use std::ffi::{c_char, c_void};
use std::panic::{catch_unwind, AssertUnwindSafe};

pub use ngx::ffi::*;

/// Bytes of an `ngx_str_t` (empty when its data pointer is null).
pub fn ngx_bytes(s: &ngx_str_t) -> &[u8] {
    // (only null needs the stand-in: see cbuf::bytes_in)
    if s.data.is_null() {
        return &[];
    }
    // SAFETY: nginx strings point at `len` valid bytes for the lifetime of their owner.
    unsafe { std::slice::from_raw_parts(s.data, s.len) }
}

/// The cycle's log, for messages that belong to no session.
pub fn cycle_log() -> *mut ngx_log_t {
    // SAFETY: ngx_cycle is set by nginx before any module code runs.
    unsafe {
        let cycle = ngx_cycle;
        if cycle.is_null() {
            std::ptr::null_mut()
        } else {
            (*cycle).log
        }
    }
}

/// An nginx log that is live for as long as the handle is used: made only from a log whose
/// owner (the cycle, a connection) outlives the code holding it.
#[derive(Clone, Copy)]
pub struct Log(std::ptr::NonNull<ngx_log_t>);

impl Log {
    /// # Safety
    /// `p` is null or a valid nginx log that stays valid while the handle is used.
    pub unsafe fn from_raw(p: *mut ngx_log_t) -> Option<Log> {
        std::ptr::NonNull::new(p).map(Log)
    }

    /// The cycle's log (none before nginx has one).
    pub fn cycle() -> Option<Log> {
        // SAFETY: the cycle's log lives as long as the cycle, which outlives every call into us.
        unsafe { Log::from_raw(cycle_log()) }
    }

    pub fn as_ptr(self) -> *mut ngx_log_t {
        self.0.as_ptr()
    }

    /// The log's level (`error_log`'s, or NGX_LOG_DEBUG_ALL for `debug`).
    pub fn level(self) -> ngx_uint_t {
        // SAFETY: the handle's log is valid (its constructor's contract).
        unsafe { self.0.as_ref().log_level }
    }

    /// Whether a message at `level` would be written.
    pub fn enabled(self, level: u32) -> bool {
        // SAFETY: the handle's log is valid (its constructor's contract).
        unsafe { self.0.as_ref().log_level >= level as ngx_uint_t }
    }

    /// Writes `msg` at debug level when the log takes the stream subsystem's debug lines
    /// (printed by `--with-debug` nginx; upstream's tests look for several of them).
    pub fn debug(self, msg: &str) {
        // SAFETY: the handle's log is valid (its constructor's contract).
        unsafe { log_debug_str(self.as_ptr(), msg) }
    }

    /// `debug` of a line formatted only when the log takes debug lines (`format_args!`): the
    /// hot paths pay no formatting or allocation for a line nobody reads.
    pub fn debug_fmt(self, args: std::fmt::Arguments) {
        // SAFETY: the handle's log is valid (its constructor's contract).
        unsafe { log_debug(self.as_ptr(), args) }
    }

    /// Writes `msg` at `level` (with the text of `err` when it is not 0).
    pub fn error(self, level: u32, err: ngx_err_t, msg: &[u8]) {
        if self.enabled(level) {
            // SAFETY: the log is valid; "%*s" takes a length and a pointer.
            unsafe {
                ngx_log_error_core(
                    level as ngx_uint_t,
                    self.as_ptr(),
                    err,
                    c"%*s".as_ptr(),
                    msg.len(),
                    msg.as_ptr() as *const c_char,
                )
            }
        }
    }
}

/// nginx's prefix (`-p`), copied.
pub fn cycle_prefix() -> Vec<u8> {
    // SAFETY: ngx_cycle is set before any module code runs and its prefix string lives with it.
    unsafe {
        let cycle = ngx_cycle;
        if cycle.is_null() {
            return Vec::new();
        }
        ngx_bytes(&(*cycle).prefix).to_vec()
    }
}

/// A debug line in the cycle's log (for what belongs to no session).
pub fn cycle_debug(msg: &str) {
    if let Some(log) = Log::cycle() {
        log.debug(msg);
    }
}

/// `cycle_debug` of a line formatted only when the cycle's log takes debug lines.
pub fn cycle_debug_fmt(args: std::fmt::Arguments) {
    if let Some(log) = Log::cycle() {
        log.debug_fmt(args);
    }
}

/// A line at `level` in the cycle's log.
pub fn cycle_error(level: u32, err: ngx_err_t, msg: &[u8]) {
    if let Some(log) = Log::cycle() {
        log.error(level, err, msg);
    }
}

/// `ngx_log_error` (a C macro) for a pre-formatted message.
///
/// # Safety
/// `log` is null or a valid nginx log.
pub unsafe fn log_error(level: u32, log: *mut ngx_log_t, err: ngx_err_t, msg: &[u8]) {
    if log.is_null() {
        return;
    }
    // SAFETY: log is a valid nginx log; "%*s" takes a length and a pointer.
    unsafe {
        if (*log).log_level < level as ngx_uint_t {
            return;
        }
        ngx_log_error_core(level as ngx_uint_t, log, err, c"%*s".as_ptr(), msg.len(), msg.as_ptr() as *const c_char);
    }
}

/// Debug logging for the stream subsystem (printed by `--with-debug` nginx at `debug` level);
/// upstream's tests look for several of these lines. The line is formatted only when the log
/// takes debug lines: hot paths pay nothing for a line nobody reads.
///
/// # Safety
/// `log` is null or a valid nginx log.
pub unsafe fn log_debug(log: *mut ngx_log_t, args: std::fmt::Arguments) {
    // SAFETY: log is null or valid (the caller's contract).
    if !unsafe { debug_on(log) } {
        return;
    }
    match args.as_str() {
        // SAFETY: as above.
        Some(s) => unsafe { log_debug_str(log, s) },
        // SAFETY: as above.
        None => unsafe { log_debug_str(log, &args.to_string()) },
    }
}

/// Whether `log` (null or valid) takes the stream subsystem's debug lines.
unsafe fn debug_on(log: *mut ngx_log_t) -> bool {
    // SAFETY: log is null or a valid nginx log (the caller's contract).
    !log.is_null() && unsafe { (*log).log_level } & NGX_LOG_DEBUG_STREAM as ngx_uint_t != 0
}

/// `log_debug` of a line already made.
///
/// # Safety
/// `log` is null or a valid nginx log.
unsafe fn log_debug_str(log: *mut ngx_log_t, msg: &str) {
    // SAFETY: log is null or valid (the caller's contract).
    if !unsafe { debug_on(log) } {
        return;
    }
    // SAFETY: log is valid; "%*s" takes a length and a pointer.
    unsafe {
        ngx_log_error_core(
            NGX_LOG_DEBUG as ngx_uint_t,
            log,
            0,
            c"%*s".as_ptr(),
            msg.len(),
            msg.as_ptr() as *const c_char,
        );
    }
}

/// `ngx_conf_log_error` with a pre-formatted message (nginx appends " in FILE:LINE").
///
/// # Safety
/// `cf` is the configuration being parsed.
pub unsafe fn conf_log_error(level: u32, cf: *mut ngx_conf_t, msg: &[u8]) {
    // SAFETY: cf is the live configuration being parsed.
    unsafe {
        ngx_conf_log_error(level as ngx_uint_t, cf, 0, c"%*s".as_ptr(), msg.len(), msg.as_ptr() as *const c_char);
    }
}

/// `NGX_CONF_ERROR` as a directive handler's return value.
pub const CONF_ERROR: *mut c_char = usize::MAX as *mut c_char;
pub const CONF_OK: *mut c_char = std::ptr::null_mut();

/// Registers `drop` of an owned value (a `Box`, a `Recycled`) as a pool cleanup, so the value
/// lives exactly as long as the pool (a session, a cycle).
///
/// # Safety
/// `pool` is a live nginx pool.
pub unsafe fn pool_own<P: RawOwner>(pool: *mut ngx_pool_t, value: P) -> Option<*mut P::Target> {
    unsafe extern "C" fn drop_owned<P: RawOwner>(data: *mut c_void) {
        guard((), || {
            // SAFETY: data came from into_raw below and is dropped once, by nginx.
            drop(unsafe { P::from_raw(data as *mut P::Target) });
        })
    }
    // SAFETY: pool is live; the cleanup owns the raw value from here on.
    unsafe {
        let cln = ngx_pool_cleanup_add(pool, 0);
        if cln.is_null() {
            return None;
        }
        let raw = value.into_raw();
        (*cln).handler = Some(drop_owned::<P>);
        (*cln).data = raw as *mut c_void;
        Some(raw)
    }
}

/// The panic boundary: every `extern "C"` entry point from nginx runs its body through this.
/// A panic is logged at `alert` level and turned into `on_panic`, never unwound into C.
/// Inlined, so that the body is compiled into the entry point with only a landing pad added
/// (out of line it cost a hot FFI call ~50 instructions: arguments spilled for the closure,
/// six callee-saved registers for the logging path); the logging is out of line.
#[inline(always)]
pub fn guard<R>(on_panic: R, f: impl FnOnce() -> R) -> R {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(e) => {
            log_panic(e);
            on_panic
        }
    }
}

#[cold]
#[inline(never)]
fn log_panic(e: Box<dyn std::any::Any + Send>) {
    let what = e
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| e.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into());
    cycle_error(NGX_LOG_ALERT, 0, format!("stream lua: internal error (panic caught): {what}").as_bytes());
}
