//! The worker process's own state: whether it is shutting down, and a watch that nginx trips
//! when a graceful shutdown begins.

use std::ptr::NonNull;

use super::event::EventHandler;
use super::ngx::{
    cycle_log, ngx_connection_t, ngx_cycle, ngx_event_t, ngx_exiting, ngx_free_connection, ngx_get_connection,
};

/// Whether the worker is shutting down gracefully (`ngx_exiting`).
pub fn exiting() -> bool {
    // SAFETY: nginx's global flag, written by this (single) worker thread only.
    unsafe { ngx_exiting != 0 }
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

    /// In the handler: whether nginx is closing the watch (the worker is leaving).
    ///
    /// # Safety
    /// `ev` is the read event of a live watch, as passed to its handler.
    pub unsafe fn is_closed(ev: *mut ngx_event_t) -> bool {
        // SAFETY: ev->data is the watch's connection (the caller's contract).
        unsafe { (*((*ev).data as *mut ngx_connection_t)).close() != 0 }
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
