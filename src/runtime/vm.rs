//! The Lua VM: one per configuration cycle, created in the master at postconfiguration and
//! inherited by every worker through fork (so each worker runs its own copy), like upstream.

use std::ffi::{c_int, CString};

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
    pub l: *mut lua_State,
    on_close: fn(*mut lua_State),
}

impl Drop for Vm {
    fn drop(&mut self) {
        if !self.l.is_null() {
            // SAFETY: the state is owned by this Vm and no coroutine of it runs any more.
            unsafe { raw::lua_close(self.l) };
        }
    }
}

/// A shared handle on a session's own VM (`lua_code_cache off`): the session and the timers
/// it created hold it; the VM closes with the last one, with upstream's debug lines.
#[derive(Clone)]
pub struct VmRef(std::rc::Rc<Vm>);

impl VmRef {
    pub fn new(vm: Vm) -> VmRef {
        VmRef(std::rc::Rc::new(vm))
    }

    pub fn l(&self) -> *mut lua_State {
        self.0.l
    }
}

impl Drop for VmRef {
    fn drop(&mut self) {
        let n = std::rc::Rc::strong_count(&self.0);
        cycle_debug(&format!("stream lua decrementing the reference count for Lua VM: {n}"));
        if n == 1 {
            cycle_debug(&format!("stream lua close the global Lua VM {:p}", self.0.l));
            // its cosocket pools go with it, as upstream's live in the VM's registry
            (self.0.on_close)(self.0.l);
        }
    }
}

/// Registry keys shared with the built-in Lua layer.
pub const CTX_TABLES: &std::ffi::CStr = c"ngx_lua_ctx_tables";
pub use crate::sys::COROUTINES;

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
unsafe fn default_entries(l: *mut lua_State) -> Vec<Vec<u8>> {
    // SAFETY: l is a fresh VM with the package library open; the stack is restored.
    unsafe {
        raw::lua_getfield(l, LUA_GLOBALSINDEX, c"package".as_ptr());
        raw::lua_getfield(l, -1, c"path".as_ptr());
        let path = to_bytes(l, -1).unwrap_or_default().to_vec();
        raw::lua_settop(l, -3);
        path.split(|&b| b == b';').filter(|e| e.contains(&b'/') && !e.starts_with(b"./")).map(<[u8]>::to_vec).collect()
    }
}

/// `lua_package_path` / `lua_package_cpath`, with `;;` and `$prefix` expanded.
unsafe fn set_paths(l: *mut lua_State, setup: &VmSetup, prefix: &[u8]) {
    // SAFETY: l is a fresh VM with the package library open; the stack is restored.
    unsafe {
        for (conf, field) in [(setup.package_path, c"path"), (setup.package_cpath, c"cpath")] {
            if let Some(conf) = conf {
                raw::lua_getfield(l, LUA_GLOBALSINDEX, c"package".as_ptr());
                raw::lua_getfield(l, -1, field.as_ptr());
                let default = to_bytes(l, -1).unwrap_or_default().to_vec();
                raw::lua_settop(l, -2);
                set_field_str(l, raw::lua_gettop(l), field, &expand_path(conf, &default, prefix));
                raw::lua_settop(l, -2);
            }
        }
    }
}

/// `package.path` and `package.cpath` as `from` has them now.
unsafe fn copy_paths(from: *mut lua_State, l: *mut lua_State) {
    // SAFETY: both are live VMs with the package library; the stacks are restored.
    unsafe {
        raw::lua_getfield(from, LUA_GLOBALSINDEX, c"package".as_ptr());
        raw::lua_getfield(l, LUA_GLOBALSINDEX, c"package".as_ptr());
        for field in [c"path", c"cpath"] {
            raw::lua_getfield(from, -1, field.as_ptr());
            if let Some(v) = to_bytes(from, -1) {
                set_field_str(l, raw::lua_gettop(l), field, v);
            }
            raw::lua_settop(from, -2);
        }
        raw::lua_settop(from, -2);
        raw::lua_settop(l, -2);
    }
}

impl Vm {
    /// A new VM for `cycle`, set up as `setup` says.
    pub unsafe fn new(cycle: *mut ngx_cycle_t, setup: &VmSetup) -> Result<Vm, String> {
        let parent = setup.parent;
        // SAFETY: a fresh state, set up step by step on its own stack.
        unsafe {
            let l = raw::luaL_newstate();
            if l.is_null() {
                return Err("failed to create the Lua VM".into());
            }
            let vm = Vm { l, on_close: setup.api.on_close };
            raw::luaL_openlibs(l);
            crate::runtime::paths::add_distro_dirs(l);
            crate::runtime::cmodule::wrap_searchers(l)?;

            if parent.is_none() {
                crate::runtime::paths::prepend_debug_default(l, (*cycle).log);
            }
            let defaults = default_entries(l);
            match parent {
                // `lua_code_cache off`: a session's VM takes the paths the main VM has now
                // (init_by_lua may have changed them), as upstream's
                Some(parent) => copy_paths(parent, l),
                None => set_paths(l, setup, ngx_bytes(&(*cycle).prefix)),
            }

            crate::runtime::code::init_cache(l);
            raw::lua_createtable(l, 0, 0);
            raw::lua_setfield(l, LUA_REGISTRYINDEX, CTX_TABLES.as_ptr());
            raw::lua_createtable(l, 0, 0);
            raw::lua_setfield(l, LUA_REGISTRYINDEX, COROUTINES.as_ptr());
            raw::lua_createtable(l, 0, 0);
            raw::lua_createtable(l, 0, 1);
            push_bytes(l, b"k");
            raw::lua_setfield(l, -2, c"__mode".as_ptr());
            raw::lua_setmetatable(l, -2);
            raw::lua_setfield(l, LUA_REGISTRYINDEX, YIELD_ANCHORS.as_ptr());

            (setup.install)(l)?;
            vm.run_builtin_lua(setup.api, &defaults)?;
            vm.load_resty_core()?;
            vm.guard_globals();

            // compile everything once, before workers fork; code that does not compile (already
            // reported) and files missing now are loaded, and reported, when they run
            for code in setup.codes {
                if code.is_available() && code.push_closure(l, true).is_ok() {
                    raw::lua_settop(l, -2);
                }
            }
            Ok(vm)
        }
    }

    /// `require "resty.core"` as upstream does in every new VM: a lua-resty-core on the
    /// package path if there is one, else our built-in stand-in (which always loads).
    unsafe fn load_resty_core(&self) -> Result<(), String> {
        // SAFETY: self.l is live; errors leave a message on the stack.
        unsafe {
            let l = self.l;
            raw::lua_getfield(l, LUA_GLOBALSINDEX, c"require".as_ptr());
            push_bytes(l, b"resty.core");
            if raw::lua_pcall(l, 1, 0, 0) != 0 {
                let msg = to_bytes(l, -1).map(|b| String::from_utf8_lossy(b).into_owned());
                raw::lua_settop(l, -2);
                return Err(format!(
                    "failed to load the 'resty.core' module (https://github.com/openresty/lua-resty-core); \
                     ensure you are using an OpenResty release from https://openresty.org/en/download.html \
                     (reason: {})",
                    msg.unwrap_or_default()
                ));
            }
        }
        Ok(())
    }

    /// Installs the write guard on `_G` (after resty.core, whose loading may set globals).
    unsafe fn guard_globals(&self) {
        // SAFETY: self.l is live; an error (none expected) is logged and popped.
        unsafe {
            let l = self.l;
            let src = GLOBAL_WRITE_GUARD;
            let rc = raw::luaL_loadbuffer(l, src.as_ptr() as *const _, src.len(), c"=_G write guard".as_ptr());
            if rc != 0 || raw::lua_pcall(l, 0, 0, 0) != 0 {
                let msg = to_bytes(l, -1).map(|b| String::from_utf8_lossy(b).into_owned());
                raw::lua_settop(l, -2);
                let line = format!("failed to install the _G write guard: {}", msg.unwrap_or_default());
                log_error(NGX_LOG_ERR, cycle_log(), 0, line.as_bytes());
            }
        }
    }

    /// Runs the embedded Lua layer (our own code over the exported C ABI).
    unsafe fn run_builtin_lua(&self, api: &Api, defaults: &[Vec<u8>]) -> Result<(), String> {
        for (name, src) in api.lua_layer {
            let chunk = CString::new(format!("=[stream-lua-rs {name}]")).unwrap_or_default();
            // SAFETY: self.l is live; errors leave a message on the stack.
            unsafe {
                let rc: c_int = raw::luaL_loadbuffer(self.l, src.as_ptr() as *const _, src.len(), chunk.as_ptr());
                if rc != 0 || raw::lua_pcall(self.l, 0, 0, 0) != 0 {
                    let msg = to_bytes(self.l, -1).map(|b| String::from_utf8_lossy(b).into_owned());
                    raw::lua_settop(self.l, -2);
                    return Err(format!("failed to load the built-in Lua layer {name}: {}", msg.unwrap_or_default()));
                }
            }
        }
        // SAFETY: self.l is live; the searcher source is ours and compiles.
        unsafe {
            let l = self.l;
            raw::lua_createtable(l, 0, api.modules.len() as c_int);
            let t = raw::lua_gettop(l);
            for (name, src) in api.modules {
                raw::lua_pushlstring(l, src.as_ptr() as *const _, src.len());
                let name = CString::new(*name).unwrap_or_default();
                raw::lua_setfield(l, t, name.as_ptr());
            }
            let rc: c_int = raw::luaL_loadbuffer(
                l,
                BUILTIN_SEARCHER.as_ptr() as *const _,
                BUILTIN_SEARCHER.len(),
                c"=[stream-lua-rs searcher]".as_ptr(),
            );
            raw::lua_pushvalue(l, t);
            raw::lua_createtable(l, defaults.len() as c_int, 0);
            for (i, entry) in (1..).zip(defaults) {
                push_bytes(l, entry);
                raw::lua_rawseti(l, -2, i as _);
            }
            if rc != 0 || raw::lua_pcall(l, 2, 0, 0) != 0 {
                let msg = to_bytes(l, -1).map(|b| String::from_utf8_lossy(b).into_owned());
                raw::lua_settop(l, t - 1);
                return Err(format!("failed to install the built-in modules: {}", msg.unwrap_or_default()));
            }
            raw::lua_settop(l, t - 1);
        }
        Ok(())
    }
}
