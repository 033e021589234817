//! Raw LuaJIT helpers and the error boundary for Lua-callable Rust functions.
//!
//! Lua errors unwind (LuaJIT raises them with the system unwinder), so a Rust function called
//! from Lua never raises while a value with a destructor is alive: it returns `Err`, and the
//! wrapper raises after everything is dropped, outside `catch_unwind`.

use std::ffi::{c_char, c_int, c_void, CStr};
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
            // SAFETY: l is the running coroutine with n values to yield on top.
            unsafe {
                anchor_args(l, n);
                return raw::lua_yield(l, n);
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

/// The registry key of the table anchoring every coroutine a session runs (light threads,
/// user coroutines, timers), so the GC keeps them while nginx events will resume them.
pub const COROUTINES: &CStr = c"ngx_lua_coroutines";

/// The registry key of the weak-keyed table: a suspended coroutine -> the arguments of the C
/// function it yielded from (made by each new VM). A light userdata, the address of a static of
/// ours: every yield and resume looks it up, and a string key is hashed and interned each time.
pub fn yield_anchors_key() -> *mut c_void {
    static KEY: u8 = 0;
    &KEY as *const u8 as *mut c_void
}

/// Pushes the VM's yield-anchor table (or nil, before the VM made it); whether it is a table.
///
/// # Safety
/// `l` is a state of the VM with room for one value.
unsafe fn push_yield_anchors(l: *mut lua_State) -> bool {
    // SAFETY: the caller's contract; the registry is a table.
    unsafe {
        raw::lua_pushlightuserdata(l, yield_anchors_key());
        raw::lua_rawget(l, LUA_REGISTRYINDEX) == raw::LUA_TTABLE
    }
}

/// Keeps the arguments of a yielding C function alive until its coroutine is resumed: LuaJIT
/// does not mark them while the call waits when it was a tail call (`return sock:receive()`),
/// so a socket only the waiting thread refers to would be collected, closing its connection.
/// Only collectable values need it (not `ngx.sleep`'s number); a lone one (a socket's `self`)
/// is kept as it is, without a table per yield.
unsafe fn anchor_args(l: *mut lua_State, nresults: c_int) {
    // SAFETY: l is the running coroutine; the stack is restored before returning.
    unsafe {
        let nargs = raw::lua_gettop(l) - nresults;
        let collectable =
            |i: c_int| !matches!(raw::lua_type(l, i), LUA_TNIL | LUA_TBOOLEAN | LUA_TNUMBER | LUA_TLIGHTUSERDATA);
        let mut held = (1..=nargs).filter(|&i| collectable(i));
        let Some(first) = held.next() else { return };
        let lone = held.next().is_none();
        if !push_yield_anchors(l) {
            raw::lua_settop(l, -2);
            return;
        }
        raw::lua_pushthread(l);
        if lone {
            raw::lua_pushvalue(l, first);
        } else {
            raw::lua_createtable(l, nargs, 0);
            for i in 1..=nargs {
                raw::lua_pushvalue(l, i);
                raw::lua_rawseti(l, -2, i as _);
            }
        }
        raw::lua_rawset(l, -3);
        raw::lua_settop(l, -2);
    }
}

/// Lets go of what `anchor_args` kept for the suspended coroutine `co` (about to resume).
/// Most resumes find nothing kept: the entry is only cleared when there is one (setting a
/// missing key to nil would add a dead key to the table). A coroutine that never yielded
/// (the first resume of every thread) has nothing kept: no look-up at all.
pub unsafe fn release_args(co: *mut lua_State) {
    // SAFETY: co is a live coroutine of the VM (lua_status only reads its state).
    if unsafe { raw::lua_status(co) } != LUA_YIELD {
        return;
    }
    // SAFETY: co is a suspended coroutine; the stack is restored before returning.
    unsafe {
        let top = raw::lua_gettop(co);
        if push_yield_anchors(co) {
            raw::lua_pushthread(co);
            if raw::lua_rawget(co, -2) != LUA_TNIL {
                raw::lua_settop(co, -2);
                raw::lua_pushthread(co);
                raw::lua_pushnil(co);
                raw::lua_rawset(co, -3);
            }
        }
        raw::lua_settop(co, top);
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
