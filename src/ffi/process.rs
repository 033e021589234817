//! The process: `ngx.process` C ABI (`ngx_stream_lua_ffi_get_process_type`, ...).

use std::ffi::{c_char, c_int};

use super::ngx::*;

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
