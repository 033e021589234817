//! Making and freeing `LuaObject` values: the full userdata that owns a boxed value (pushed
//! with `push_udata`) and its `__gc`, which takes the box back (`take_udata`).

use std::ffi::c_int;

use super::call::{Call, LuaObject};
use super::lua::{raw, LUA_REGISTRYINDEX};

impl<'l> Call<'l> {
    /// Pushes a new full userdata owning `value`, with `T`'s userdata metatable (registered
    /// under `T::UDATA_METATABLE`, whose `__gc` should call `take_udata`).
    pub fn push_udata<T: LuaObject>(&mut self, value: Box<T>) {
        self.reserve(2);
        let l = self.as_ptr();
        // SAFETY: room was reserved; the new userdata is the size of a pointer and gets the
        // box's pointer before anything can read it.
        unsafe {
            let ud = raw::lua_newuserdata(l, std::mem::size_of::<*mut T>()) as *mut *mut T;
            *ud = Box::into_raw(value);
            raw::lua_getfield(l, LUA_REGISTRYINDEX, T::UDATA_METATABLE.as_ptr());
            raw::lua_setmetatable(l, -2);
        }
    }

    /// The value owned by the userdata at `i` (a `T` one, made by `push_udata`), taken out:
    /// the userdata holds null from now on. None when it holds none (or is not `T`'s).
    pub fn take_udata<T: LuaObject>(&mut self, i: c_int) -> Option<Box<T>> {
        let l = self.as_ptr();
        let top = self.top();
        self.reserve(2);
        // SAFETY: room was reserved and the stack is restored; a userdata with T's metatable
        // holds null or the pointer of a box made by push_udata (the LuaObject contract), and
        // nulling it first means nothing else can reach the value.
        unsafe {
            let ud = raw::lua_touserdata(l, i) as *mut *mut T;
            let mut p = std::ptr::null_mut();
            if !ud.is_null() && raw::lua_getmetatable(l, i) != 0 {
                raw::lua_getfield(l, LUA_REGISTRYINDEX, T::UDATA_METATABLE.as_ptr());
                if raw::lua_rawequal(l, -1, -2) != 0 {
                    p = std::mem::replace(&mut *ud, std::ptr::null_mut());
                }
            }
            raw::lua_settop(l, top);
            (!p.is_null()).then(|| Box::from_raw(p))
        }
    }

    /// Sets the metatable of the value at `i` to the registry's `name`.
    pub fn set_registry_metatable(&mut self, i: c_int, name: &std::ffi::CStr) {
        let l = self.as_ptr();
        let i = if i < 0 && i > LUA_REGISTRYINDEX { self.top() + i + 1 } else { i };
        assert!(i >= 1 && i <= self.top(), "stack index out of range");
        self.reserve(1);
        // SAFETY: i is a valid index and room was reserved; setmetatable pops what getfield pushed.
        unsafe {
            raw::lua_getfield(l, LUA_REGISTRYINDEX, name.as_ptr());
            raw::lua_setmetatable(l, i);
        }
    }
}
