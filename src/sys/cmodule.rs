//! Lua C modules (`cjson.so`, ...) must call the LuaJIT that runs them: ours. A module leaves
//! `lua_*` undefined and the dynamic linker binds it to the first definition in the process'
//! global scope. That is ours, unless the host nginx carries another LuaJIT (linked in, e.g.
//! with OpenResty's http Lua module, or from a module loaded before ours); then the module
//! would drive our states with the other LuaJIT's code and break or crash.
//!
//! So the C searchers are wrapped: before a module's `luaopen_*` runs, those of its imported
//! LuaJIT API entries (GOT slots) that point elsewhere are pointed at our functions (nothing
//! is written when they already are ours). Limit: a module that another LuaJIT of the same
//! process has loaded too (the same file) is shared with it and then bound to ours.

use std::ffi::{c_char, c_int, c_void, CStr};

use super::call::Call;
use super::lua::{raw, zero_extend};
use super::ngx::{cycle_debug_fmt, cycle_error, NGX_LOG_WARN};
use mlua::ffi::lua_State;

/// An ELF64 dynamic entry, relocation with addend and symbol (as in `<elf.h>`).
#[repr(C)]
struct Dyn {
    tag: i64,
    val: u64,
}

#[repr(C)]
struct Rela {
    offset: u64,
    info: u64,
    addend: i64,
}

#[repr(C)]
struct Sym {
    name: u32,
    info: u8,
    other: u8,
    shndx: u16,
    value: u64,
    size: u64,
}

const DT_NULL: i64 = 0;
const DT_PLTRELSZ: i64 = 2;
const DT_STRTAB: i64 = 5;
const DT_SYMTAB: i64 = 6;
const DT_RELA: i64 = 7;
const DT_RELASZ: i64 = 8;
const DT_JMPREL: i64 = 23;

/// Relocation types that store a symbol's address: (absolute, GOT entry, PLT slot).
#[cfg(target_arch = "x86_64")]
const RELOCS: (u32, u32, u32) = (1, 6, 7);
#[cfg(target_arch = "aarch64")]
const RELOCS: (u32, u32, u32) = (257, 1025, 1026);

/// `rebind(f)`: points the imports of the shared object holding C function `f` at our LuaJIT.
unsafe extern "C-unwind" fn rebind(l: *mut lua_State) -> c_int {
    // SAFETY: l is a live state; only reads argument 1; no Lua error is raised.
    let f = unsafe { raw::lua_tocfunction(l, 1) };
    if let Some(f) = f {
        let addr = f as usize;
        let r = std::panic::catch_unwind(|| unsafe { rebind_object(addr) });
        if let Ok(Err(e)) = r {
            cycle_error(NGX_LOG_WARN, 0, format!("stream lua: C module not rebound to our LuaJIT: {e}").as_bytes());
        }
    }
    zero_extend(0)
}

/// Wraps `package.loaders[3]` and `[4]` (C and all-in-one searchers) and `package.loadlib`
/// so that what they find is rebound before it runs.
pub fn wrap_searchers(c: &mut Call) -> Result<(), String> {
    const WRAP: &str = r#"
local rebind = ...
local loaders = package.loaders
for i = 3, 4 do
    local search = loaders[i]
    if search then
        loaders[i] = function(name)
            local f = search(name)
            if type(f) == "function" then
                rebind(f)
            end
            return f
        end
    end
end
local loadlib = package.loadlib
package.loadlib = function(path, name)
    local f, err, where = loadlib(path, name)
    if type(f) == "function" then
        rebind(f)
    end
    return f, err, where
end
"#;
    if c.load(WRAP.as_bytes(), c"=[stream-lua-rs cmodule]") {
        c.push_fn(rebind);
        if c.pcall(1, 0) {
            return Ok(());
        }
    }
    Err(c.pop_message().unwrap_or_default())
}

/// The loaded object containing `addr`: its load base, dynamic section and RELRO range.
struct Object {
    base: usize,
    dynamic: usize,
    relro: Option<(usize, usize)>,
}

fn object_of(addr: usize) -> Option<Object> {
    struct Search {
        addr: usize,
        found: Option<Object>,
    }
    unsafe extern "C" fn visit(info: *mut libc::dl_phdr_info, _size: usize, data: *mut c_void) -> c_int {
        // SAFETY: dl_iterate_phdr hands a valid info; data is our Search.
        unsafe {
            let s = &mut *(data as *mut Search);
            let info = &*info;
            let base = info.dlpi_addr as usize;
            let phdrs = std::slice::from_raw_parts(info.dlpi_phdr, info.dlpi_phnum as usize);
            let inside = phdrs.iter().any(|p| {
                p.p_type == libc::PT_LOAD
                    && (base + p.p_vaddr as usize..base + (p.p_vaddr + p.p_memsz) as usize).contains(&s.addr)
            });
            if !inside {
                return 0;
            }
            let dynamic = phdrs.iter().find(|p| p.p_type == libc::PT_DYNAMIC).map(|p| base + p.p_vaddr as usize);
            let relro = phdrs
                .iter()
                .find(|p| p.p_type == libc::PT_GNU_RELRO)
                .map(|p| (base + p.p_vaddr as usize, base + (p.p_vaddr + p.p_memsz) as usize));
            if let Some(dynamic) = dynamic {
                s.found = Some(Object { base, dynamic, relro });
            }
            1
        }
    }
    let mut s = Search { addr, found: None };
    // SAFETY: the callback only reads what it is given.
    unsafe { libc::dl_iterate_phdr(Some(visit), &mut s as *mut Search as *mut c_void) };
    s.found
}

/// Our own definition of a LuaJIT API symbol.
fn own_symbol(name: &CStr) -> Option<usize> {
    thread_local! {
        static SELF: usize = {
            // SAFETY: dladdr/dlopen(RTLD_NOLOAD) only look up our already loaded object.
            unsafe {
                let mut info: libc::Dl_info = std::mem::zeroed();
                if libc::dladdr(raw::lua_pushnil as *const c_void, &mut info) == 0 || info.dli_fname.is_null() {
                    0
                } else {
                    libc::dlopen(info.dli_fname, libc::RTLD_LAZY | libc::RTLD_NOLOAD) as usize
                }
            }
        };
    }
    let handle = SELF.with(|h| *h);
    if handle == 0 {
        return None;
    }
    // SAFETY: handle is our loaded object.
    let p = unsafe { libc::dlsym(handle as *mut c_void, name.as_ptr()) };
    (!p.is_null()).then_some(p as usize)
}

fn is_luajit_api(name: &[u8]) -> bool {
    [&b"lua_"[..], b"luaL_", b"luaJIT_", b"luaopen_"].iter().any(|p| name.starts_with(p))
}

/// Rewrites the object's relocated slots for undefined LuaJIT API symbols to our addresses.
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
unsafe fn rebind_object(addr: usize) -> Result<(), String> {
    let obj = object_of(addr).ok_or("no loaded object holds it")?;
    // glibc relocates the d_ptr entries of a loaded object's dynamic section on these targets;
    // an entry below the base is still an offset.
    let abs = |v: u64| if (v as usize) < obj.base { obj.base + v as usize } else { v as usize };
    let (mut symtab, mut strtab, mut tables) = (0, 0, [(0usize, 0usize); 2]);
    // SAFETY: the dynamic section of a loaded object ends with DT_NULL.
    unsafe {
        let mut d = obj.dynamic as *const Dyn;
        while (*d).tag != DT_NULL {
            match (*d).tag {
                DT_SYMTAB => symtab = abs((*d).val),
                DT_STRTAB => strtab = abs((*d).val),
                DT_RELA => tables[0].0 = abs((*d).val),
                DT_RELASZ => tables[0].1 = (*d).val as usize,
                DT_JMPREL => tables[1].0 = abs((*d).val),
                DT_PLTRELSZ => tables[1].1 = (*d).val as usize,
                _ => {}
            }
            d = d.add(1);
        }
    }
    if symtab == 0 || strtab == 0 {
        return Err("no symbol table".into());
    }
    let mut rebound = 0;
    // SAFETY: sysconf reads a system constant; it has no preconditions.
    let page = 4096usize.max(unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as usize);
    for (start, size) in tables {
        if start == 0 {
            continue;
        }
        // SAFETY: the relocation tables, symbols and slots belong to the loaded object.
        unsafe {
            let relas = std::slice::from_raw_parts(start as *const Rela, size / std::mem::size_of::<Rela>());
            for r in relas {
                let kind = (r.info & 0xffff_ffff) as u32;
                let absolute = kind == RELOCS.0;
                if !absolute && kind != RELOCS.1 && kind != RELOCS.2 {
                    continue;
                }
                let sym = &*((symtab as *const Sym).add((r.info >> 32) as usize));
                if sym.shndx != 0 {
                    continue; // defined in the module itself
                }
                let name = CStr::from_ptr((strtab + sym.name as usize) as *const c_char);
                if !is_luajit_api(name.to_bytes()) {
                    continue;
                }
                let Some(ours) = own_symbol(name) else { continue };
                let value = if absolute { ours.wrapping_add(r.addend as usize) } else { ours };
                let slot = obj.base + r.offset as usize;
                let protected = obj.relro.is_some_and(|(a, b)| (a..b).contains(&slot));
                let pg = slot & !(page - 1);
                if protected && libc::mprotect(pg as *mut c_void, page, libc::PROT_READ | libc::PROT_WRITE) != 0 {
                    return Err(format!("mprotect failed for {}", name.to_string_lossy()));
                }
                if std::ptr::read_volatile(slot as *const usize) == value {
                    continue;
                }
                rebound += 1;
                std::ptr::write_volatile(slot as *mut usize, value);
                if protected {
                    libc::mprotect(pg as *mut c_void, page, libc::PROT_READ);
                }
            }
        }
    }
    if rebound > 0 {
        cycle_debug_fmt(format_args!("stream lua bound {rebound} LuaJIT API imports of a C module to our LuaJIT"));
    }
    Ok(())
}

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
unsafe fn rebind_object(_addr: usize) -> Result<(), String> {
    Err("not supported on this architecture".into())
}
