//! A Lua state owned by Rust: a VM's main state, closed when dropped.

use std::ptr::NonNull;

use super::call::Call;
use super::lua::raw;
use mlua::ffi::lua_State;

pub struct OwnedState(NonNull<lua_State>);

impl OwnedState {
    /// A new state (`luaL_newstate`) with our registry slots taken; `None` when LuaJIT cannot
    /// allocate one.
    pub fn new() -> Option<OwnedState> {
        // SAFETY: luaL_newstate has no preconditions.
        let l = NonNull::new(unsafe { raw::luaL_newstate() })?;
        // SAFETY: a new main state, with LUA_MINSTACK free slots, that ran nothing yet.
        unsafe { super::lua::reserve_reg_slots(l.as_ptr()) };
        Some(OwnedState(l))
    }

    pub fn as_ptr(&self) -> *mut lua_State {
        self.0.as_ptr()
    }

    /// The state as a call handle, for work done on it between events (set-up, loading).
    /// Each use leaves the stack as it found it.
    pub fn call(&mut self) -> Call<'_> {
        // SAFETY: the state is alive, owned here, and not running: its main stack keeps
        // LUA_MINSTACK free slots above a balanced top.
        unsafe { Call::from_raw(self.as_ptr()) }
    }
}

impl Drop for OwnedState {
    fn drop(&mut self) {
        // SAFETY: the state is owned here and no coroutine of it runs any more.
        unsafe { raw::lua_close(self.as_ptr()) }
    }
}
