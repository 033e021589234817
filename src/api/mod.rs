//! The `ngx.*` API: one file per area. `inject` builds the `ngx` table of a new VM;
//! `BUILTIN_LUA` is our own Lua layer over the exported C ABI, run right after.

pub mod abort;
pub mod balancer;
pub mod coroutine;
pub mod errlog;
pub mod exports;
pub mod log;
pub mod misc;
pub mod output;
pub mod process;
pub mod regex;
pub mod semaphore;
pub mod shdict;
pub mod sleep;
pub mod socket;
pub mod string;
pub mod thread;
pub mod timer;

use crate::runtime::session::{Phase, Session};
use crate::sys::*;

/// What every new VM gets besides the `ngx` table (`inject`).
pub static API: crate::runtime::vm::Api =
    crate::runtime::vm::Api { lua_layer: BUILTIN_LUA, modules: BUILTIN_MODULES, on_close: socket::pool::free_vm_pools };

/// The built-in Lua layer run when a VM starts, in load order.
pub const BUILTIN_LUA: &[(&str, &str)] = &[
    ("ngx_core.lua", include_str!("../lualib/ngx_core.lua")),
    ("ngx_socket.lua", include_str!("../lualib/ngx_socket.lua")),
    ("ngx_re.lua", include_str!("../lualib/ngx_re.lua")),
    ("ngx_string.lua", include_str!("../lualib/ngx_string.lua")),
    ("ngx_misc.lua", include_str!("../lualib/ngx_misc.lua")),
    ("ngx_shdict.lua", include_str!("../lualib/ngx_shdict.lua")),
];

/// Built-in modules user code `require`s by name. They are found by a searcher placed after
/// `lua_package_path`/`lua_package_cpath`, so a real lua-resty-core on the user's path wins.
pub const BUILTIN_MODULES: &[(&str, &str)] = &[
    ("ngx.semaphore", include_str!("../lualib/ngx_semaphore.lua")),
    // a cjson stand-in, when no cjson module is installed (OpenResty bundles lua-cjson)
    ("cjson", CJSON),
    ("cjson.safe", CJSON),
    ("ngx.base64", include_str!("../lualib/ngx_base64.lua")),
    ("ngx.re", include_str!("../lualib/ngx_re_module.lua")),
    ("thread.exdata", include_str!("../lualib/thread_exdata.lua")),
    ("ngx.errlog", include_str!("../lualib/ngx_errlog.lua")),
    ("ngx.process", include_str!("../lualib/ngx_process.lua")),
    ("ngx.balancer", include_str!("../lualib/ngx_balancer.lua")),
    ("resty.core", include_str!("../lualib/resty_core.lua")),
    ("resty.core.base", include_str!("../lualib/resty_core_base.lua")),
    ("resty.core.var", RESTY_CORE_PART),
    ("resty.core.ctx", RESTY_CORE_PART),
    ("resty.core.time", include_str!("../lualib/resty_core_time.lua")),
    ("resty.core.worker", RESTY_CORE_PART),
    ("resty.core.hash", RESTY_CORE_PART),
    ("resty.core.base64", RESTY_CORE_PART),
    ("resty.core.uri", RESTY_CORE_PART),
    ("resty.core.exit", RESTY_CORE_PART),
    ("resty.core.phase", RESTY_CORE_PART),
    ("resty.core.misc", RESTY_CORE_PART),
    ("resty.core.utils", RESTY_CORE_PART),
    ("resty.core.request", RESTY_CORE_PART),
    ("resty.core.coroutine", RESTY_CORE_PART),
    ("resty.core.regex", RESTY_CORE_PART),
    ("resty.core.shdict", RESTY_CORE_PART),
];

const CJSON: &str = include_str!("../lualib/cjson.lua");

/// The stand-in for lua-resty-core's part modules whose APIs are built in.
const RESTY_CORE_PART: &str = include_str!("../lualib/resty_core_part.lua");

/// The session of the running Lua code (the one `__ngx_req` in the thread's globals names, as
/// upstream and lua-resty-core look it up; kept by the runner, which is cheaper to read).
pub unsafe fn current_session(l: *mut lua_State) -> Result<*mut Session, LuaError> {
    let _ = l;
    let p = crate::runtime::scheduler::ngx_stream_lua_rs_get_request();
    if p.is_null() {
        return err("no request found");
    }
    Ok(p)
}

/// `API disabled in the context of ...` unless the session runs one of `allowed`.
pub fn check_phase(sess: &Session, allowed: &[Phase]) -> Result<(), LuaError> {
    if allowed.contains(&sess.phase) {
        Ok(())
    } else {
        err(format!("API disabled in the context of {}", sess.phase.directive_name()))
    }
}

/// Creates the global `ngx` table (also `package.loaded.ngx`) with the C-implemented APIs.
pub unsafe fn inject(l: *mut lua_State, mcf: &crate::conf::MainConf) -> Result<(), String> {
    // SAFETY: l is a fresh VM.
    unsafe {
        raw::lua_createtable(l, 0, 64);
        let t = raw::lua_gettop(l);
        misc::inject(l, t);
        log::inject(l, t);
        set_field_fn(l, t, c"say", output::say);
        set_field_fn(l, t, c"print", output::print);
        set_field_fn(l, t, c"flush", output::flush);
        set_field_fn(l, t, c"eof", output::eof);
        set_field_fn(l, t, c"sleep", sleep::sleep);
        set_field_fn(l, t, c"on_abort", abort::on_abort);
        socket::downstream::inject(l, t);
        socket::tcp::inject(l, t);
        socket::udp::inject(l, t);
        timer::inject(l, t);
        thread::inject(l, t);
        coroutine::inject(l);
        string::inject(l, t);
        shdict::inject(l, t, mcf);

        raw::lua_getfield(l, LUA_GLOBALSINDEX, c"package".as_ptr());
        raw::lua_getfield(l, -1, c"loaded".as_ptr());
        raw::lua_pushvalue(l, t);
        raw::lua_setfield(l, -2, c"ngx".as_ptr());
        raw::lua_settop(l, t);
        raw::lua_setfield(l, LUA_GLOBALSINDEX, c"ngx".as_ptr());
        raw::lua_pushcclosure(l, log::print, 0);
        raw::lua_setfield(l, LUA_GLOBALSINDEX, c"print".as_ptr());
    }
    Ok(())
}
