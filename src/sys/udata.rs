//! `Call` helpers for plain userdata that carry one address (a shared dict's `[1]` slot), and
//! for pushing numbers and metatables; the dict code builds `ngx.shared` with them.

use std::ffi::{c_int, c_void};
use std::mem::size_of;

use super::call::Call;
use super::lua::raw;

impl Call<'_> {
    /// Pushes a new full userdata holding the address `p` (no metatable).
    pub fn push_udata_addr(&mut self, p: *mut c_void) {
        self.reserve(1);
        // SAFETY: room was reserved; the new block has room for one address.
        unsafe {
            let ud = raw::lua_newuserdata(self.as_ptr(), size_of::<*mut c_void>()) as *mut *mut c_void;
            *ud = p;
        }
    }

    /// The address held by the full userdata at `t[n]` (`t` a table), as `push_udata_addr`
    /// made it; None when that slot holds no userdata big enough for one.
    pub fn udata_addr_at(&mut self, t: c_int, n: i64) -> Option<*mut c_void> {
        if self.type_of(t) != mlua::ffi::LUA_TTABLE {
            return None;
        }
        let ty = self.raw_geti(t, n);
        let addr = if ty == mlua::ffi::LUA_TUSERDATA && self.obj_len(-1) >= size_of::<*mut c_void>() {
            // SAFETY: the top is a full userdata of at least one address's size.
            Some(unsafe { *(raw::lua_touserdata(self.as_ptr(), -1) as *const *mut c_void) })
        } else {
            None
        };
        self.pop(1);
        addr
    }

    /// Pushes a Lua number.
    pub fn push_f64(&mut self, v: f64) {
        self.reserve(1);
        // SAFETY: room was reserved.
        unsafe { raw::lua_pushnumber(self.as_ptr(), v) }
    }

    /// Pops a table and makes it the metatable of the value at `i`.
    pub fn set_metatable_of(&mut self, i: c_int) {
        let top = self.top();
        let a = if i < 0 { top + i + 1 } else { i };
        assert!(
            self.type_of(-1) == mlua::ffi::LUA_TTABLE && a >= 1 && a < top,
            "set_metatable_of needs a value and a table"
        );
        // SAFETY: a table is on top and i is a stack index below it.
        unsafe { raw::lua_setmetatable(self.as_ptr(), i) };
    }
}
