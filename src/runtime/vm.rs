//! The Lua VM: one per configuration cycle, created in the master at postconfiguration and
//! inherited by every worker through fork (so each worker runs its own copy), like upstream.

use std::ffi::{c_int, CStr, CString};

use crate::runtime::code::Code;
use crate::sys::*;

/// What the layers above the runtime put into every new VM besides the `ngx` table: the
/// built-in Lua layer run right after it, the modules user code may `require`, and what to
/// free when a VM closes. The module passes it in, so the runtime knows no `ngx.*` area.
pub struct Api {
    /// Our Lua layer over the exported C ABI, run in order: (chunk name, source).
    pub lua_layer: &'static [(&'static str, &'static str)],
    /// Modules found by `require` behind the user's paths: (module name, source).
    pub modules: &'static [(&'static str, &'static str)],
    /// Frees what the API keeps per VM (cosocket pools) when a session's own VM closes.
    pub on_close: fn(*mut lua_State),
}

/// How to set up a VM.
pub struct VmSetup<'a> {
    pub api: &'static Api,
    /// Creates the global `ngx` table with the C-implemented functions.
    pub install: &'a dyn Fn(*mut lua_State) -> Result<(), String>,
    /// `lua_package_path` / `lua_package_cpath`.
    pub package_path: Option<&'a [u8]>,
    pub package_cpath: Option<&'a [u8]>,
    /// Handler code to compile up front.
    pub codes: &'a [std::rc::Rc<Code>],
    /// The main VM, when this one is a session's own (code cache off).
    pub parent: Option<*mut lua_State>,
}

pub struct Vm {
    /// The main state (an identity and the raw handle for the phases; owned by `state`).
    pub l: *mut lua_State,
    /// Closes the VM when the last holder goes.
    #[allow(dead_code)] // held for its Drop
    state: OwnedState,
    on_close: fn(*mut lua_State),
}

/// A shared handle on a session's own VM (`lua_code_cache off`): the session and the timers
/// it created hold it; the VM closes with the last one, with upstream's debug lines.
#[derive(Clone)]
pub struct VmRef(std::rc::Rc<Vm>);

impl VmRef {
    pub fn new(vm: Vm) -> VmRef {
        VmRef(std::rc::Rc::new(vm))
    }

    pub fn main(&self) -> MainState {
        self.0.main()
    }
}

impl Drop for VmRef {
    fn drop(&mut self) {
        let n = std::rc::Rc::strong_count(&self.0);
        cycle_debug_fmt(format_args!("stream lua decrementing the reference count for Lua VM: {n}"));
        if n == 1 {
            cycle_debug_fmt(format_args!("stream lua close the global Lua VM {:p}", self.0.l));
            // its cosocket pools go with it, as upstream's live in the VM's registry
            (self.0.on_close)(self.0.l);
        }
    }
}

/// Registry keys shared with the built-in Lua layer.
pub const CTX_TABLES: &std::ffi::CStr = c"ngx_lua_ctx_tables";

/// Expands `;;` to the default path and `$prefix` / `${prefix}` to nginx's prefix.
fn expand_path(conf: &[u8], default: &[u8], prefix: &[u8]) -> Vec<u8> {
    let s = String::from_utf8_lossy(conf);
    let prefix = String::from_utf8_lossy(prefix);
    let s = s.replace("${prefix}", &prefix).replace("$prefix", &prefix);
    let default = String::from_utf8_lossy(default);
    s.replace(";;", &format!(";{default};")).into_bytes()
}

/// All handlers share `_G`; a new global written by a session, timer or thread (not by
/// init/init_worker code) is kept but logged as upstream's write guard does.
const GLOBAL_WRITE_GUARD: &str = r#"
local rawset, tostring, log, WARN = rawset, tostring, ngx.log, ngx.WARN
local get_phase = ngx.get_phase
local traceback = debug.traceback
local quiet = { init = true, init_worker = true }
setmetatable(_G, {
    __newindex = function(g, name, value)
        rawset(g, name, value)
        if quiet[get_phase()] then
            return
        end
        log(WARN, "writing a global Lua variable ('", tostring(name),
            "') which may lead to race conditions between concurrent requests, so ",
            "prefer the use of 'local' variables", traceback("", 2))
    end,
})
"#;

/// Appends a searcher for `BUILTIN_MODULES` (passed as a name -> source table) to
/// `package.loaders`, behind the path and cpath searchers. The built-in modules stand for a
/// lua-resty-core installed in the default `package.path` (where OpenResty has it): they are
/// found only while `package.path` still holds one of the default entries (the second
/// argument), so a path without `;;` fails to find `resty.core` as upstream's does.
const BUILTIN_SEARCHER: &str = r#"
local sources, defaults = ...
local loadstring, find = loadstring, string.find
local function in_default_path()
    local path = package.path
    for i = 1, #defaults do
        if find(path, defaults[i], 1, true) then
            return true
        end
    end
    return false
end
table.insert(package.loaders, function(name)
    local src = sources[name]
    if not src or not in_default_path() then
        return nil
    end
    local f, err = loadstring(src, "=[stream-lua-rs " .. name .. "]")
    if not f then
        error(err, 0)
    end
    return f
end)
"#;

/// The entries of a fresh VM's default `package.path` that name a directory (not `./?.lua`).
fn default_entries(c: &mut Call) -> Vec<Vec<u8>> {
    let path = package_field(c, c"path").unwrap_or_default();
    path.split(|&b| b == b';').filter(|e| e.contains(&b'/') && !e.starts_with(b"./")).map(<[u8]>::to_vec).collect()
}

/// `package.path` or `package.cpath` (stack unchanged).
fn package_field(c: &mut Call, field: &CStr) -> Option<Vec<u8>> {
    c.get_global(c"package");
    c.get_field(-1, field);
    let v = c.to_bytes(-1).map(<[u8]>::to_vec);
    c.pop(2);
    v
}

/// Sets `package.path` or `package.cpath`.
fn set_package_field(c: &mut Call, field: &CStr, v: &[u8]) {
    let pkg = c.top() + 1;
    c.get_global(c"package");
    c.set_field_str(pkg, field, v);
    c.pop(1);
}

/// `lua_package_path` / `lua_package_cpath`, with `;;` and `$prefix` expanded.
fn set_paths(c: &mut Call, setup: &VmSetup, prefix: &[u8]) {
    for (conf, field) in [(setup.package_path, c"path"), (setup.package_cpath, c"cpath")] {
        if let Some(conf) = conf {
            let default = package_field(c, field).unwrap_or_default();
            set_package_field(c, field, &expand_path(conf, &default, prefix));
        }
    }
}

/// `package.path` and `package.cpath` as `from` has them now.
fn copy_paths(from: &mut Call, c: &mut Call) {
    for field in [c"path", c"cpath"] {
        if let Some(v) = package_field(from, field) {
            set_package_field(c, field, &v);
        }
    }
}

/// Runs `src` as a chunk named `name`, with the `nargs` values on top as its arguments; the
/// error message on failure.
fn run_chunk(c: &mut Call, src: &[u8], name: &CStr, nargs: c_int) -> Result<(), String> {
    let base = c.top() - nargs;
    let ok = c.load(src, name) && {
        c.insert(base + 1);
        c.pcall(nargs, 0)
    };
    if ok {
        return Ok(());
    }
    let msg = c.pop_message().unwrap_or_default();
    c.set_top(base);
    Err(msg)
}

impl Vm {
    /// The VM's main state, for what runs in it (the VM outlives them: the worker's lives until
    /// the worker exits; a session's own is held beside them by its `VmRef`).
    pub fn main(&self) -> MainState {
        // SAFETY: the VM owns its main state (`state`), as said above.
        unsafe { MainState::from_raw(self.l) }.expect("a VM has a main state")
    }

    /// A new VM for `cycle`, set up as `setup` says.
    ///
    /// # Safety
    /// `cycle` is the cycle being set up (its log and prefix are read); `setup.parent` is the
    /// idle main state of a live VM.
    pub unsafe fn new(cycle: *mut ngx_cycle_t, setup: &VmSetup) -> Result<Vm, String> {
        // SAFETY: the caller's contract: the cycle and its log are alive while it is set up.
        let (log, prefix) = unsafe { (Log::from_raw((*cycle).log), ngx_bytes(&(*cycle).prefix).to_vec()) };
        let mut state = OwnedState::new().ok_or("failed to create the Lua VM")?;
        let l = state.as_ptr();
        let c = &mut state.call();
        c.open_libs();
        crate::runtime::paths::add_distro_dirs(c);
        crate::sys::cmodule::wrap_searchers(c)?;

        let defaults = match setup.parent {
            // `lua_code_cache off`: a session's VM takes the paths the main VM has now
            // (init_by_lua may have changed them), as upstream's
            Some(parent) => {
                let defaults = default_entries(c);
                // SAFETY: the parent is an idle main state (the caller's contract).
                copy_paths(&mut unsafe { Call::from_raw(parent) }, c);
                defaults
            }
            None => {
                crate::runtime::paths::prepend_debug_default(c, log);
                let defaults = default_entries(c);
                set_paths(c, setup, &prefix);
                defaults
            }
        };

        crate::runtime::code::init_cache(c);
        c.new_table(0, 0);
        c.set_registry(CTX_TABLES);
        c.new_table(0, 0);
        c.set_registry(&reg::COROUTINES);
        let ended = c.new_table(0, 0);
        let mode = c.new_table(0, 1);
        c.set_field_str(mode, c"__mode", b"k");
        c.set_metatable_of(ended);
        c.set_registry(&reg::ENDED_THREADS);

        (setup.install)(l)?;
        run_builtin_lua(c, setup.api, &defaults)?;
        load_resty_core(c)?;
        guard_globals(c);

        // compile everything once, before workers fork; code that does not compile (already
        // reported) and files missing now are loaded, and reported, when they run
        for code in setup.codes {
            if code.is_available() && code.push_function_on(c, true).is_ok() {
                c.pop(1);
            }
        }
        Ok(Vm { l, state, on_close: setup.api.on_close })
    }
}

/// `require "resty.core"` as upstream does in every new VM: a lua-resty-core on the package
/// path if there is one, else our built-in stand-in (which always loads).
fn load_resty_core(c: &mut Call) -> Result<(), String> {
    c.get_global(c"require");
    c.push_bytes(b"resty.core");
    if !c.pcall(1, 0) {
        return Err(format!(
            "failed to load the 'resty.core' module (https://github.com/openresty/lua-resty-core); \
             ensure you are using an OpenResty release from https://openresty.org/en/download.html \
             (reason: {})",
            c.pop_message().unwrap_or_default()
        ));
    }
    Ok(())
}

/// Installs the write guard on `_G` (after resty.core, whose loading may set globals).
fn guard_globals(c: &mut Call) {
    if let Err(msg) = run_chunk(c, GLOBAL_WRITE_GUARD.as_bytes(), c"=_G write guard", 0) {
        cycle_error(NGX_LOG_ERR, 0, format!("failed to install the _G write guard: {msg}").as_bytes());
    }
}

/// Runs the embedded Lua layer (our own code over the exported C ABI), then installs the
/// searcher for the built-in modules.
fn run_builtin_lua(c: &mut Call, api: &Api, defaults: &[Vec<u8>]) -> Result<(), String> {
    for (name, src) in api.lua_layer {
        let chunk = CString::new(format!("=[stream-lua-rs {name}]")).unwrap_or_default();
        run_chunk(c, src.as_bytes(), &chunk, 0)
            .map_err(|msg| format!("failed to load the built-in Lua layer {name}: {msg}"))?;
    }
    let sources = c.new_table(0, api.modules.len() as c_int);
    for (name, src) in api.modules {
        let name = CString::new(*name).unwrap_or_default();
        c.set_field_str(sources, &name, src.as_bytes());
    }
    let entries = c.new_table(defaults.len() as c_int, 0);
    for (i, entry) in defaults.iter().enumerate() {
        c.push_bytes(entry);
        c.raw_seti(entries, i + 1);
    }
    run_chunk(c, BUILTIN_SEARCHER.as_bytes(), c"=[stream-lua-rs searcher]", 2)
        .map_err(|msg| format!("failed to install the built-in modules: {msg}"))
}
