//! Raw LuaJIT helpers and the error boundary for Lua-callable Rust functions.
//!
//! Lua errors unwind (LuaJIT raises them with the system unwinder), so a Rust function called
//! from Lua never raises while a value with a destructor is alive: it returns `Err`, and the
//! wrapper raises after everything is dropped, outside `catch_unwind`.

use std::ffi::{c_char, c_int, CStr};
use std::panic::{catch_unwind, AssertUnwindSafe};

use super::call::Call;

pub use mlua::ffi as raw;
pub use mlua::ffi::{
    lua_CFunction, lua_State, LUA_ERRERR, LUA_ERRMEM, LUA_ERRRUN, LUA_ERRSYNTAX, LUA_GLOBALSINDEX, LUA_MULTRET,
    LUA_NOREF, LUA_REGISTRYINDEX, LUA_TBOOLEAN, LUA_TFUNCTION, LUA_TLIGHTUSERDATA, LUA_TNIL, LUA_TNONE, LUA_TNUMBER,
    LUA_TSTRING, LUA_TTABLE, LUA_YIELD,
};

/// An error a Lua-facing function reports.
pub enum LuaError {
    /// A message raised like `luaL_error` (prefixed with the caller's position).
    Msg(String),
    /// A message raised as it is, without the caller's position (like errors LuaJIT raises
    /// itself, e.g. a yield across a C-call boundary).
    Raw(String),
    /// Not an error: the function ends by yielding this many values (done by the boundary,
    /// outside `catch_unwind`, because a failing yield raises a Lua error).
    Yield(c_int),
    /// `bad argument #N to 'NAME' (MSG)`, raised by `luaL_argerror`, which finds the name
    /// the caller used (`?` when there is none, e.g. through `pcall`); the name given here
    /// documents which API raises it.
    Arg(c_int, #[allow(dead_code)] &'static str, String),
}

pub type LuaResult = Result<c_int, LuaError>;

extern "C-unwind" {
    fn lua_isyieldable(l: *mut lua_State) -> c_int;
}

/// Ends a Lua C function by yielding its top `n` values. Callers check `can_yield` first,
/// before they arm what wakes the thread up.
pub fn yield_values(n: c_int) -> LuaResult {
    Err(LuaError::Yield(n))
}

/// Whether the running coroutine can yield here (not inside a C call such as a metamethod or
/// an `xpcall` message handler); otherwise the yielding APIs fail like upstream's.
pub unsafe fn ensure_yieldable(l: *mut lua_State) -> Result<(), LuaError> {
    // SAFETY: l is the running state.
    if unsafe { lua_isyieldable(l) } != 0 {
        Ok(())
    } else {
        Err(LuaError::Raw("attempt to yield across C-call boundary".into()))
    }
}

pub fn err<T>(msg: impl Into<String>) -> Result<T, LuaError> {
    Err(LuaError::Msg(msg.into()))
}

/// `lua_boundary` for a function written over the safe `Call` handle.
///
/// # Safety
/// `l` is the state LuaJIT runs the C function with.
pub unsafe fn call_boundary(l: *mut lua_State, f: fn(&mut Call) -> LuaResult) -> c_int {
    // SAFETY: l is the running state of a C function: it has LUA_MINSTACK free slots.
    unsafe { boundary(l, |l| f(&mut Call::from_raw(l))) }
}

#[inline(always)]
unsafe fn boundary(l: *mut lua_State, f: impl FnOnce(*mut lua_State) -> LuaResult) -> c_int {
    let (msg, arg) = match catch_unwind(AssertUnwindSafe(|| f(l))) {
        Ok(Ok(n)) => return n,
        // SAFETY: nothing with a destructor is alive here if the yield raises.
        Ok(Err(LuaError::Yield(n))) => {
            // The function's arguments are yielded too, below its n values: LuaJIT does not
            // mark them while the call waits when it was a tail call (`return sock:receive()`),
            // so a socket only the waiting thread refers to would be collected, closing its
            // connection. Left on the suspended coroutine's stack they stay marked, and cost
            // nothing: a resume returns only the values pushed for it (the top `nargs`), and
            // the call's frame goes with its return. The scheduler reads a yield's values as
            // the top n too.
            // SAFETY: l is the running coroutine with n values to yield on top.
            unsafe {
                debug_assert!(n <= raw::lua_gettop(l));
                return raw::lua_yield(l, raw::lua_gettop(l));
            }
        }
        Ok(Err(LuaError::Msg(m))) => (m, None),
        Ok(Err(LuaError::Raw(m))) => {
            // SAFETY: the message is on the stack; nothing with a destructor is alive.
            unsafe {
                push_bytes(l, m.as_bytes());
                drop(m);
                raw::lua_error(l)
            }
        }
        Ok(Err(LuaError::Arg(n, _, m))) => (m, Some(n)),
        Err(_) => ("internal error (panic) in stream lua".to_string(), None),
    };
    // SAFETY: l is valid; the message is a Lua string on the stack while it is used, and no
    // Rust value needing a destructor is alive when the error unwinds.
    unsafe {
        push_bytes(l, msg.as_bytes());
        drop(msg);
        let p = raw::lua_tolstring(l, -1, std::ptr::null_mut());
        match arg {
            Some(n) => raw::luaL_argerror(l, n, p),
            None => raw::luaL_error(l, c"%s".as_ptr(), p),
        }
    }
}

/// A registry entry of ours at a fixed slot of the registry's array part: a look-up is an
/// array index, where a name is measured, hashed and interned and a light userdata key is
/// interned each time. Slots `1..=REG_SLOTS` are filled (with `false`) as a VM is created,
/// before anything can call `luaL_ref` on the registry, so `luaL_ref` never hands one out.
/// Every slot is given once, in `reg` below.
pub struct RegKey(c_int);

/// How many registry slots `reserve_reg_slots` takes.
pub const REG_SLOTS: c_int = 16;

impl RegKey {
    const fn new(slot: c_int) -> RegKey {
        assert!(slot >= 1 && slot <= REG_SLOTS);
        RegKey(slot)
    }
}

/// Our registry slots, one entry each.
pub mod reg {
    use super::RegKey;

    /// The table anchoring every coroutine a session runs (light threads, user coroutines,
    /// timers), so the GC keeps them while nginx events will resume them.
    pub static COROUTINES: RegKey = RegKey::new(1);
    /// The code cache: compiled entry functions by key.
    pub static CODE_CACHE: RegKey = RegKey::new(2);
    /// Cosocket objects: each kind's table metatable (its methods) and the metatable of the
    /// userdata its table holds (its `__gc`).
    pub static TCP_MT: RegKey = RegKey::new(3);
    pub static TCP_UDATA_MT: RegKey = RegKey::new(4);
    pub static UDP_MT: RegKey = RegKey::new(5);
    pub static UDP_UDATA_MT: RegKey = RegKey::new(6);
    pub static REQ_MT: RegKey = RegKey::new(7);
    pub static REQ_UDATA_MT: RegKey = RegKey::new(8);
    pub static REQ_UDP_MT: RegKey = RegKey::new(9);
    pub static REQ_UDP_UDATA_MT: RegKey = RegKey::new(10);
    pub static SSL_SESSION_MT: RegKey = RegKey::new(11);
    /// Light threads and user coroutines that ended while their session ran, with what
    /// `ngx.thread.wait`/`kill` must still know of them (their kind and parent), once they
    /// left the session's thread list. Weak keys: an entry goes with its coroutine.
    pub static ENDED_THREADS: RegKey = RegKey::new(12);
}

/// Takes the registry slots of `reg` in a new VM's main state `l`, before any other code ran.
///
/// # Safety
/// `l` is a new main state with room for one value.
pub unsafe fn reserve_reg_slots(l: *mut lua_State) {
    for slot in 1..=REG_SLOTS {
        // SAFETY: the caller's contract; the registry has no metamethods.
        unsafe {
            debug_assert!(raw::lua_objlen(l, LUA_REGISTRYINDEX) < slot as usize);
            raw::lua_pushboolean(l, 0);
            raw::lua_rawseti_(l, LUA_REGISTRYINDEX, slot);
        }
    }
}

/// What keys the registry: a name (`&CStr`), or a `RegKey` of ours.
pub trait RegistryKey: Copy {
    /// Pushes `registry[key]`.
    ///
    /// # Safety
    /// `l` is a state of the VM with room for two values.
    unsafe fn push_from_registry(self, l: *mut lua_State);
    /// Pops the top value into `registry[key]`.
    ///
    /// # Safety
    /// `l` is a state of the VM with a value on top and room for one more.
    unsafe fn set_in_registry(self, l: *mut lua_State);
}

impl RegistryKey for &CStr {
    unsafe fn push_from_registry(self, l: *mut lua_State) {
        // SAFETY: the caller's contract; the registry has no metamethods.
        unsafe { raw::lua_getfield(l, LUA_REGISTRYINDEX, self.as_ptr()) };
    }
    unsafe fn set_in_registry(self, l: *mut lua_State) {
        // SAFETY: the caller's contract; the registry has no metamethods.
        unsafe { raw::lua_setfield(l, LUA_REGISTRYINDEX, self.as_ptr()) }
    }
}

impl RegistryKey for &'static RegKey {
    unsafe fn push_from_registry(self, l: *mut lua_State) {
        // SAFETY: the caller's contract.
        unsafe { raw::lua_rawgeti_(l, LUA_REGISTRYINDEX, self.0) }
    }
    unsafe fn set_in_registry(self, l: *mut lua_State) {
        // SAFETY: the caller's contract.
        unsafe { raw::lua_rawseti_(l, LUA_REGISTRYINDEX, self.0) }
    }
}

/// LuaJIT's x64 interpreter reads a C function's result count from the whole `rax`, while the
/// C ABI leaves the upper half of an `int` return undefined (C compilers zero it, Rust code may
/// not: garbage there corrupts the Lua stack). Every Lua C function returns through this.
#[inline(always)]
pub fn zero_extend(n: c_int) -> c_int {
    #[cfg(target_arch = "x86_64")]
    {
        let out: u64;
        // SAFETY: a 32-bit register move, which clears the upper half; no memory access.
        unsafe { std::arch::asm!("mov {0:e}, {1:e}", out(reg) out, in(reg) n, options(pure, nomem, nostack)) };
        out as c_int
    }
    #[cfg(not(target_arch = "x86_64"))]
    n
}

/// Declares `extern "C-unwind"` Lua C functions over safe `fn(&mut Call) -> LuaResult` bodies.
#[macro_export]
macro_rules! lua_calls {
    ($($name:ident => $body:path),* $(,)?) => {
        $(
            pub unsafe extern "C-unwind" fn $name(l: *mut $crate::sys::lua_State) -> ::std::ffi::c_int {
                // SAFETY: called by LuaJIT with its running state.
                let n = unsafe { $crate::sys::call_boundary(l, $body) };
                $crate::sys::zero_extend(n)
            }
        )*
    };
}

pub unsafe fn push_bytes(l: *mut lua_State, b: &[u8]) {
    // SAFETY: l is valid; lua_pushlstring copies.
    unsafe { raw::lua_pushlstring_(l, b.as_ptr() as *const c_char, b.len()) }
}

/// The string at `idx` (numbers are converted in place, as `lua_tolstring` does).
pub unsafe fn to_bytes<'a>(l: *mut lua_State, idx: c_int) -> Option<&'a [u8]> {
    let mut len = 0usize;
    // SAFETY: l is valid; the returned pointer lives while the value stays on the stack.
    unsafe {
        let p = raw::lua_tolstring(l, idx, &mut len);
        if p.is_null() {
            None
        } else {
            Some(std::slice::from_raw_parts(p as *const u8, len))
        }
    }
}
