//! The nginx module tables and configuration lifecycle; `directives.rs` and
//! `process_directives.rs` hold the directive handlers.

pub mod directives;
pub mod process_directives;

use std::ffi::{c_char, c_void};
use std::ptr;

use crate::conf::{cycle_main_conf, main_conf_of_cf, MainConf, SrvConf};
use crate::module::directives::COMMANDS;
use crate::sys::*;

static mut CTX: ngx_stream_module_t = ngx_stream_module_t {
    preconfiguration: None,
    postconfiguration: Some(postconfiguration),
    create_main_conf: Some(create_main_conf),
    init_main_conf: None,
    create_srv_conf: Some(create_srv_conf),
    merge_srv_conf: Some(merge_srv_conf),
};

#[no_mangle]
#[allow(non_upper_case_globals)]
pub static mut ngx_stream_lua_module: ngx_module_t = ngx_module_t {
    ctx: ptr::addr_of_mut!(CTX) as *mut c_void,
    commands: ptr::addr_of_mut!(COMMANDS) as *mut ngx_command_t,
    type_: NGX_STREAM_MODULE as ngx_uint_t,
    init_module: Some(init_module),
    init_process: Some(init_process),
    exit_process: Some(exit_process),
    ..ngx_module_t::default()
};

unsafe extern "C" fn create_main_conf(cf: *mut ngx_conf_t) -> *mut c_void {
    guard(ptr::null_mut(), || {
        // nginx numbered the stream modules before it creates their confs
        // SAFETY: a plain read of our module's index, set by nginx.
        crate::runtime::session::set_ctx_index(unsafe { ngx_stream_lua_module.ctx_index });
        // SAFETY: cf->pool lives as long as the cycle's configuration.
        pool_own(unsafe { (*cf).pool }, Box::<MainConf>::default()).map_or(ptr::null_mut(), |p| p as *mut c_void)
    })
}

unsafe extern "C" fn create_srv_conf(cf: *mut ngx_conf_t) -> *mut c_void {
    guard(ptr::null_mut(), || {
        // SAFETY: as above.
        pool_own(unsafe { (*cf).pool }, Box::<SrvConf>::default()).map_or(ptr::null_mut(), |p| p as *mut c_void)
    })
}

unsafe extern "C" fn merge_srv_conf(cf: *mut ngx_conf_t, parent: *mut c_void, child: *mut c_void) -> *mut c_char {
    guard(CONF_ERROR, || {
        // SAFETY: both were created by create_srv_conf.
        unsafe {
            let conf = &mut *(child as *mut SrvConf);
            let configured_here = conf.ssl.configured();
            conf.merge(&*(parent as *const SrvConf));
            // a TLS client context for the cosockets of servers that run Lua (or set lua_ssl_*)
            if (conf.content.is_some() || conf.preread.is_some() || configured_here)
                && tls_client_ctx(cf, conf).is_err()
            {
                return CONF_ERROR;
            }
        }
        CONF_OK
    })
}

#[cfg(ngx_feature = "stream_ssl")]
unsafe fn tls_client_ctx(cf: *mut ngx_conf_t, conf: &mut SrvConf) -> Result<(), ()> {
    // SAFETY: cf is the configuration being merged.
    conf.ssl.ctx = Some(unsafe { crate::api::socket::ssl_ctx::create(cf, &conf.ssl) }?);
    Ok(())
}

/// nginx without TLS for stream servers: cosockets have no `sslhandshake`.
#[cfg(not(ngx_feature = "stream_ssl"))]
unsafe fn tls_client_ctx(_cf: *mut ngx_conf_t, _conf: &mut SrvConf) -> Result<(), ()> {
    Ok(())
}

type PhaseHandler = unsafe extern "C" fn(*mut ngx_stream_session_t) -> ngx_int_t;

/// Each worker runs `init_worker_by_lua*` as it starts.
unsafe extern "C" fn init_process(cycle: *mut ngx_cycle_t) -> ngx_int_t {
    guard(NGX_OK as ngx_int_t, || {
        // SAFETY: the cycle's conf_ctx has the stream block's context when it exists.
        let _ = cycle;
        if let Some(mcf) = cycle_main_conf() {
            // SAFETY: a plain read of an nginx process global.
            if unsafe { ngx_process } == NGX_PROCESS_HELPER as ngx_uint_t {
                // cache manager/loader processes run no Lua (as upstream)
                return NGX_OK as ngx_int_t;
            }
            if mcf.misc.sa_restart() {
                if let Some(log) = Log::cycle() {
                    crate::api::process::set_sa_restart(log);
                }
            }
            // SAFETY: the worker is starting; nothing else runs Lua.
            unsafe { crate::phase::init::run_init_worker(mcf) };
        }
        NGX_OK as ngx_int_t
    })
}

/// The configuration is complete and the listening sockets are set up: `lua_capture_error_log`
/// hooks the cycle's error logs.
unsafe extern "C" fn init_module(cycle: *mut ngx_cycle_t) -> ngx_int_t {
    guard(NGX_ERROR as ngx_int_t, || {
        // SAFETY: nginx initialises `cycle`'s modules; nothing runs on it yet.
        let Some(ctx) = (unsafe { crate::conf::stream_conf_ctx(cycle) }) else { return NGX_OK as ngx_int_t };
        // SAFETY: ctx is the cycle's stream block, with our main conf in its slot.
        let mcf = unsafe { (*(*ctx).main_conf.add(crate::runtime::session::ctx_index()) as *const MainConf).as_ref() };
        let Some(rb) = mcf.and_then(|m| m.misc.capture) else { return NGX_OK as ngx_int_t };
        // SAFETY: as above; rb lives in the cycle's configuration pool.
        match unsafe { crate::runtime::log_capture::init_cycle(cycle, ctx, rb.as_ptr()) } {
            Ok(()) => NGX_OK as ngx_int_t,
            Err(()) => NGX_ERROR as ngx_int_t,
        }
    })
}

/// Pooled cosocket connections are closed as the worker exits.
unsafe extern "C" fn exit_process(_cycle: *mut ngx_cycle_t) {
    guard((), crate::api::socket::pool::close_all)
}

/// Creates the cycle's VM in the master (workers inherit it) and compiles every handler.
unsafe extern "C" fn postconfiguration(cf: *mut ngx_conf_t) -> ngx_int_t {
    guard(NGX_ERROR as ngx_int_t, || {
        // SAFETY: cf is the stream block's configuration context.
        unsafe {
            let mcf = main_conf_of_cf(cf);
            let cmcf = *(*((*cf).ctx as *mut ngx_stream_conf_ctx_t)).main_conf.add(ngx_stream_core_module.ctx_index)
                as *mut ngx_stream_core_main_conf_t;
            let phases = [
                (
                    mcf.has_preread,
                    ngx_stream_phases_NGX_STREAM_PREREAD_PHASE,
                    crate::phase::preread::preread_handler as PhaseHandler,
                ),
                (mcf.has_log, ngx_stream_phases_NGX_STREAM_LOG_PHASE, crate::phase::log::log_handler as PhaseHandler),
            ];
            for (wanted, phase, handler) in phases {
                if wanted {
                    let h = ngx_array_push(&mut (*cmcf).phases[phase as usize].handlers) as *mut ngx_stream_handler_pt;
                    if h.is_null() {
                        return NGX_ERROR as ngx_int_t;
                    }
                    *h = Some(handler);
                }
            }
            if mcf.codes.is_empty() {
                return NGX_OK as ngx_int_t;
            }
            match crate::phase::new_vm((*cf).cycle, mcf, None) {
                Ok(vm) => mcf.vm = Some(vm),
                Err(msg) => {
                    // upstream's level for a VM that fails to initialize (resty.core ...)
                    conf_log_error(NGX_LOG_ALERT, cf, msg.as_bytes());
                    return NGX_ERROR as ngx_int_t;
                }
            }
            let l = mcf.vm.as_ref().map_or(std::ptr::null_mut(), |vm| vm.l);
            // init_by_lua sees the cycle being configured (its env, prefix...), as upstream's
            let saved = ngx_cycle;
            ngx_cycle = (*cf).cycle;
            // with shared dicts, init_by_lua waits until nginx has set up their zones
            let rc = if mcf.shdicts.is_empty() { crate::phase::init::run_init(mcf, l, (*cf).log) } else { Ok(()) };
            ngx_cycle = saved;
            match rc {
                Ok(()) => NGX_OK as ngx_int_t,
                Err(()) => NGX_ERROR as ngx_int_t,
            }
        }
    })
}
