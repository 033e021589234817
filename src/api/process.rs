//! The process: `ngx.process` C ABI (`ngx_stream_lua_ffi_get_process_type`, ...),
//! `lua_sa_restart` (signal handlers that restart interrupted system calls) and
//! `lua_malloc_trim` (giving freed heap memory back to the system).

use std::ffi::{c_char, c_int};

use crate::sys::ngx::*;
use crate::sys::worker;

pub use crate::sys::worker::{malloc_trim, set_sa_restart};

#[no_mangle]
pub extern "C" fn ngx_stream_lua_ffi_get_process_type() -> c_int {
    guard(NGX_ERROR, || worker::process_type() as c_int)
}

/// Stock nginx has no privileged agent process (it is an OpenResty core patch); the message
/// is upstream's for an nginx built without it.
#[no_mangle]
pub extern "C" fn ngx_stream_lua_ffi_enable_privileged_agent(
    err: Option<&mut *mut c_char>,
    _connections: u32,
) -> c_int {
    // (err is the caller's `char *[1]`; the message is a static C string)
    if let Some(err) = err {
        *err = c"missing privileged agent process patch in the nginx core".as_ptr() as *mut c_char;
    }
    NGX_ERROR
}

/// Asks this process to exit gracefully, as a QUIT signal would.
#[no_mangle]
pub extern "C" fn ngx_stream_lua_ffi_process_signal_graceful_exit() {
    worker::quit_gracefully()
}

#[no_mangle]
pub extern "C" fn ngx_stream_lua_ffi_master_pid() -> c_int {
    worker::master_pid() as c_int
}
