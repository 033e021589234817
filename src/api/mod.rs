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
pub mod spare;
#[cfg(ngx_feature = "stream_ssl")]
pub mod ssl;
pub mod string;
pub mod thread;
pub mod timer;

use crate::sys::*;

/// What every new VM gets besides the `ngx` table (`inject`).
pub static API: crate::runtime::vm::Api =
    crate::runtime::vm::Api { lua_layer: BUILTIN_LUA, modules: BUILTIN_MODULES, on_close: socket::pool::free_vm_pools };

/// The built-in Lua layer run when a VM starts, in load order (the FFI declarations first).
pub const BUILTIN_LUA: &[(&str, &str)] = &[
    ("ngx_ffi_decls.lua", include_str!("../lualib/ngx_ffi_decls.lua")),
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
    ("ngx.ssl", include_str!("../lualib/ngx_ssl.lua")),
    ("ngx.ssl.clienthello", include_str!("../lualib/ngx_ssl_clienthello.lua")),
    ("ngx.ssl.rs_reply", include_str!("../lualib/ngx_ssl_reply.lua")),
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

/// Creates the global `ngx` table (also `package.loaded.ngx`) with the C-implemented APIs.
pub fn inject(c: &mut Call, mcf: &crate::conf::MainConf) -> Result<(), String> {
    let t = c.new_table(0, 64);
    misc::inject(c, t);
    log::inject(c, t);
    c.set_field_fn(t, c"say", output::say);
    c.set_field_fn(t, c"print", output::print);
    c.set_field_fn(t, c"flush", output::flush);
    c.set_field_fn(t, c"eof", output::eof);
    c.set_field_fn(t, c"sleep", sleep::sleep);
    c.set_field_fn(t, c"on_abort", abort::on_abort);
    string::inject(c, t);
    timer::inject(c, t);
    thread::inject(c, t);
    coroutine::inject(c);
    socket::downstream::inject(c, t);
    socket::tcp::inject(c, t);
    socket::udp::inject(c, t);
    shdict::inject(c, t, mcf);
    c.get_global(c"package");
    c.get_field(-1, c"loaded");
    c.push_copy(t);
    c.set_field(-2, c"ngx");
    c.pop(2);
    c.set_global(c"ngx");
    c.push_fn(log::print);
    c.set_global(c"print");
    Ok(())
}
