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

    /// Notes `code` for the coroutine anchored at `anchor` in the VM's table of ended threads
    /// (`reg::ENDED_THREADS`, weak keys), before the anchor goes; `LUA_NOREF` is no anchor.
    pub fn note_ended(self, anchor: c_int, code: f64) {
        if anchor == LUA_NOREF {
            return;
        }
        let l = self.as_ptr();
        // SAFETY: as unref_in: the VM is alive and its main state has the few slots free that
        // this takes, and gets its stack back. Both tables are plain tables; rawset of a new
        // key may grow the weak table but runs no GC step (so no __gc handler).
        unsafe {
            (&reg::ENDED_THREADS).push_from_registry(l);
            (&reg::COROUTINES).push_from_registry(l);
            raw::lua_rawgeti(l, -1, anchor as _);
            raw::lua_replace(l, -2);
            if raw::lua_type(l, -1) == mlua::ffi::LUA_TTHREAD && raw::lua_type(l, -2) == mlua::ffi::LUA_TTABLE {
                raw::lua_pushnumber(l, code);
                raw::lua_rawset(l, -3);
                raw::lua_settop(l, -2);
            } else {
                raw::lua_settop(l, -3);
            }
        }
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
