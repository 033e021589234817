//! References kept in tables of the VM's registry, let go through the VM's handle: a thread's
//! anchor in the coroutine table when the thread ends, a session's `ngx.ctx` table in the ctx
//! tables when the session ends.

use std::ffi::c_int;

use super::coroutine::MainState;
use super::lua::{raw, reg, RegistryKey};
use mlua::ffi::LUA_NOREF;

impl MainState {
    /// Lets go of the coroutine anchored at `anchor` in the VM's coroutine table (it may be
    /// collected from now on); `LUA_NOREF` is no anchor.
    pub fn unref_coroutine(self, anchor: c_int) {
        self.unref_in(&reg::COROUTINES, anchor);
    }

    /// Lets go of reference `r` in the registry table `table` (what it names may be collected
    /// from now on); `LUA_NOREF` is no reference.
    pub fn unref_in(self, table: impl RegistryKey, r: c_int) {
        if r == LUA_NOREF {
            return;
        }
        let l = self.as_ptr();
        // SAFETY: the VM is alive (MainState's contract); its main state, idle or suspended in
        // a resume, has the LUA_MINSTACK slots free that the table lookup takes, and its
        // stack is restored after (luaL_unref on a non-table does nothing).
        unsafe {
            table.push_from_registry(l);
            raw::luaL_unref(l, -1, r);
            raw::lua_settop(l, -2);
        }
    }
}
