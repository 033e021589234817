//! C closures on `Call`: making one over values on the stack, and reading the upvalues of the
//! running one (the `receiveuntil` iterators carry their socket and index this way).

use std::ffi::c_int;

use super::call::Call;
use super::lua::{lua_CFunction, raw, LUA_GLOBALSINDEX};

impl<'l> Call<'l> {
    /// Pops the top `n` values and pushes a C closure of `f` with them as its upvalues.
    pub fn push_closure(&mut self, f: lua_CFunction, n: c_int) {
        assert!(n >= 0 && n <= self.top(), "not enough values for the upvalues");
        self.reserve(1);
        // SAFETY: the stack holds the n upvalues, room was reserved; f is a Lua C function.
        unsafe { raw::lua_pushcclosure(self.as_ptr(), f, n) }
    }

    /// Pushes upvalue `n` (from 1) of the running C function (nil when it has none such).
    pub fn push_upvalue(&mut self, n: c_int) {
        assert!(n >= 1, "upvalues count from 1");
        self.reserve(1);
        // SAFETY: room was reserved; LuaJIT reads an upvalue pseudo-index past the function's
        // upvalues as nil.
        unsafe { raw::lua_pushvalue(self.as_ptr(), LUA_GLOBALSINDEX - n) }
    }

    /// Upvalue `n` (from 1) of the running C function as an integer (0 when not a number).
    pub fn upvalue_integer(&self, n: c_int) -> i64 {
        assert!(n >= 1, "upvalues count from 1");
        // SAFETY: as in push_upvalue.
        unsafe { raw::lua_tointeger(self.as_ptr(), LUA_GLOBALSINDEX - n) as i64 }
    }
}
