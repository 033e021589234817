//! Anchors of coroutines in the VM's coroutine table, let go through the VM's handle: a
//! session's thread lets go of its coroutine's anchor when it ends.

use std::ffi::c_int;

use super::coroutine::MainState;
use super::lua::{raw, COROUTINES};
use mlua::ffi::{LUA_NOREF, LUA_REGISTRYINDEX};

impl MainState {
    /// Lets go of the coroutine anchored at `anchor` in the VM's coroutine table (it may be
    /// collected from now on); `LUA_NOREF` is no anchor.
    pub fn unref_coroutine(self, anchor: c_int) {
        if anchor == LUA_NOREF {
            return;
        }
        let l = self.as_ptr();
        // SAFETY: the VM is alive (MainState's contract); its main state, idle or suspended in
        // a resume, has the LUA_MINSTACK slots free that the table lookup takes, and its
        // stack is restored after.
        unsafe {
            raw::lua_getfield(l, LUA_REGISTRYINDEX, COROUTINES.as_ptr());
            raw::luaL_unref(l, -1, anchor);
            raw::lua_settop(l, -2);
        }
    }
}
