//! The nginx module tables and configuration lifecycle; `directives.rs` and
//! `process_directives.rs` hold the directive handlers.

pub mod directives;
pub mod process_directives;
#[cfg(ngx_feature = "stream_ssl")]
pub mod ssl_directives;

use crate::ngx_callbacks;
use std::ffi::{c_char, c_void};
use std::ptr;

use crate::conf::{cycle_main_conf, MainConf, SrvConf};
use crate::module::directives::COMMANDS;
use crate::sys::conf::{Conf, StreamCtx};
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

ngx_callbacks! {
    fn create_main_conf(cf: Conf) -> *mut c_void [ptr::null_mut()] {
        // nginx numbered the stream modules before it creates their confs
        // SAFETY: a plain read of our module's index, set by nginx.
        crate::runtime::session::set_ctx_index(unsafe { ngx_stream_lua_module.ctx_index });
        cf.own(Box::<MainConf>::default()).map_or(ptr::null_mut(), |p| p as *mut c_void)
    }

    fn create_srv_conf(cf: Conf) -> *mut c_void [ptr::null_mut()] {
        cf.own(Box::<SrvConf>::default()).map_or(ptr::null_mut(), |p| p as *mut c_void)
    }
}

ngx_callbacks! {
    fn merge_srv_conf(conf: Conf, parent: *mut c_void, child: *mut c_void) -> *mut c_char [CONF_ERROR] {
        // SAFETY: nginx merges the two confs that create_srv_conf made for this module
        // (distinct objects), with nothing else using them during the call.
        let (parent, child) = unsafe { ((parent as *const SrvConf).as_ref(), (child as *mut SrvConf).as_mut()) };
        let (Some(parent), Some(child)) = (parent, child) else { return CONF_ERROR };
        let mut conf = conf;
        merge(&mut conf, parent, child).map_or(CONF_ERROR, |()| CONF_OK)
    }
}

fn merge(cf: &mut Conf, parent: &SrvConf, conf: &mut SrvConf) -> Result<(), ()> {
    let configured_here = conf.ssl.configured();
    conf.merge(parent);
    #[cfg(ngx_feature = "stream_ssl")]
    ssl_directives::merge_hooks(cf, parent, conf);
    // a TLS client context for the cosockets of servers that run Lua (or set lua_ssl_*)
    if conf.content.is_some() || conf.preread.is_some() || configured_here {
        tls_client_ctx(cf, conf)?;
    }
    Ok(())
}

#[cfg(ngx_feature = "stream_ssl")]
fn tls_client_ctx(cf: &Conf, conf: &mut SrvConf) -> Result<(), ()> {
    conf.ssl.ctx = Some(crate::api::socket::ssl_ctx::create(cf, &conf.ssl)?);
    Ok(())
}

/// nginx without TLS for stream servers: cosockets have no `sslhandshake`.
#[cfg(not(ngx_feature = "stream_ssl"))]
fn tls_client_ctx(_cf: &Conf, _conf: &mut SrvConf) -> Result<(), ()> {
    Ok(())
}

ngx_callbacks! {
    /// Each worker runs `init_worker_by_lua*` as it starts.
    fn init_process(_cycle: *mut ngx_cycle_t) -> ngx_int_t [NGX_OK as ngx_int_t] {
        if let Some(mcf) = cycle_main_conf() {
            if crate::sys::conf::helper_process() {
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
    }
}

ngx_callbacks! {
    /// The configuration is complete and the listening sockets are set up: `lua_capture_error_log`
    /// hooks the cycle's error logs.
    fn init_module(cycle: *mut ngx_cycle_t) -> ngx_int_t [NGX_ERROR as ngx_int_t] {
        // SAFETY: nginx initialises `cycle`'s modules: its configuration is loaded.
        let Some(ctx) = (unsafe { StreamCtx::of_cycle(cycle) }) else { return NGX_OK as ngx_int_t };
        let Some(rb) = ctx.main_conf::<MainConf>().and_then(|m| m.misc.capture) else { return NGX_OK as ngx_int_t };
        // SAFETY: as above; rb lives in the cycle's configuration pool.
        match unsafe { crate::runtime::log_capture::init_cycle(cycle, ctx.as_ptr(), rb.as_ptr()) } {
            Ok(()) => NGX_OK as ngx_int_t,
            Err(()) => NGX_ERROR as ngx_int_t,
        }
    }
}

ngx_callbacks! {
    /// Pooled cosocket connections are closed as the worker exits, and the runtime's thread
    /// table and the memory kept for reuse are let go.
    fn exit_process(_cycle: *mut ngx_cycle_t) [()] {
        crate::api::socket::pool::close_all();
        crate::runtime::thread::release_registry();
        crate::api::spare::release();
        crate::api::sleep::release();
        crate::api::socket::tcp::release_free_list();
    }
}

ngx_callbacks! {
    /// Creates the cycle's VM in the master (workers inherit it) and compiles every handler.
    fn postconfiguration(conf: Conf) -> ngx_int_t [NGX_ERROR as ngx_int_t] {
        let mut conf = conf;
        match postconfigure(&mut conf) {
            Ok(()) => NGX_OK as ngx_int_t,
            Err(()) => NGX_ERROR as ngx_int_t,
        }
    }
}

fn postconfigure(conf: &mut Conf) -> Result<(), ()> {
    crate::runtime::live::set_take_peeker(crate::api::socket::downstream::take_peeker);
    let mcf = conf.main_conf::<MainConf>().ok_or(())?;
    let (has_preread, has_log) = (mcf.has_preread, mcf.has_log);
    #[cfg(ngx_feature = "stream_ssl")]
    let mcf_has_ssl_hook = mcf.has_ssl_hook;
    if has_preread {
        conf.add_phase_handler(
            ngx_stream_phases_NGX_STREAM_PREREAD_PHASE,
            Some(crate::phase::preread::preread_handler),
        )?;
    }
    if has_log {
        conf.add_phase_handler(ngx_stream_phases_NGX_STREAM_LOG_PHASE, Some(crate::phase::log::log_handler))?;
    }
    // our TLS handshake driver runs before nginx's handler (a phase runs its handlers
    // last-registered first), so the TLS hooks can wait
    #[cfg(ngx_feature = "stream_ssl")]
    if mcf_has_ssl_hook {
        conf.add_phase_handler(
            ngx_stream_phases_NGX_STREAM_SSL_PHASE,
            Some(crate::phase::ssl_drive::ssl_phase_handler),
        )?;
    }
    let (cycle, log) = (conf.cycle(), conf.log());
    let mcf = conf.main_conf::<MainConf>().ok_or(())?;
    if mcf.codes.is_empty() {
        return Ok(());
    }
    // SAFETY: nginx is loading the configuration; no Lua runs yet.
    match unsafe { crate::phase::new_vm(cycle, mcf, None) } {
        Ok(vm) => mcf.vm = Some(vm),
        Err(msg) => {
            // upstream's level for a VM that fails to initialize (resty.core ...)
            conf.error(NGX_LOG_ALERT, msg.as_bytes());
            return Err(());
        }
    }
    // with shared dicts, init_by_lua waits until nginx has set up their zones
    if !mcf.shdicts.is_empty() {
        mcf.zones_ready = Some(crate::phase::init::run_init);
        return Ok(());
    }
    // init_by_lua sees the cycle being configured (its env, prefix...), as upstream's
    conf.with_current_cycle(|c| {
        let mcf = c.main_conf::<MainConf>().ok_or(())?;
        let vm = mcf.vm.as_ref().ok_or(())?;
        // SAFETY: the configuration's log lives as long as the parser.
        let log = unsafe { Log::from_raw(log) };
        // SAFETY: the new VM is idle.
        unsafe { crate::phase::init::run_init(mcf, vm, log) }
    })
}
