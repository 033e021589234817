//! Making and freeing `LuaObject` values: the full userdata that owns a boxed value (pushed
//! with `push_udata`) and its `__gc`, which takes the box back (`take_udata`).

use std::ffi::c_int;

use super::call::{Call, LuaObject};
use super::lua::{raw, RegistryKey, LUA_REGISTRYINDEX};
use super::recycled::RawOwner;

impl<'l> Call<'l> {
    /// Pushes a new full userdata owning `value`, with `T`'s userdata metatable (registered
    /// under `T::UDATA_METATABLE`, whose `__gc` should call `take_udata`).
    pub fn push_udata<P: RawOwner>(&mut self, value: P)
    where
        P::Target: LuaObject<Owner = P>,
    {
        self.reserve(2);
        let l = self.as_ptr();
        // SAFETY: room was reserved; the new userdata is the size of a pointer and gets the
        // box's pointer before anything can read it.
        unsafe {
            let ud = raw::lua_newuserdata(l, std::mem::size_of::<*mut P::Target>()) as *mut *mut P::Target;
            *ud = value.into_raw();
            P::Target::UDATA_METATABLE.push_from_registry(l);
            raw::lua_setmetatable(l, -2);
        }
    }

    /// The slot of the userdata at `i` when it is one of `T`'s (made by `push_udata`): it
    /// holds null (the value was taken) or the box's pointer. Null when `i` holds anything
    /// else. The slot lives as long as the userdata stays at `i`.
    fn udata_slot<T: LuaObject>(&mut self, i: c_int) -> *mut *mut T {
        let l = self.as_ptr();
        let top = self.top();
        self.reserve(2);
        // SAFETY: room was reserved and the stack is restored; only metatables are compared.
        unsafe {
            let ud = raw::lua_touserdata(l, i) as *mut *mut T;
            let mut slot = std::ptr::null_mut();
            if !ud.is_null() && raw::lua_getmetatable(l, i) != 0 {
                T::UDATA_METATABLE.push_from_registry(l);
                if raw::lua_rawequal(l, -1, -2) != 0 {
                    slot = ud;
                }
            }
            raw::lua_settop(l, top);
            slot
        }
    }

    /// Runs `f` on the value owned by the userdata at `i` made by `push_udata` (None when `i`
    /// holds no such userdata, or it was taken).
    #[cfg_attr(not(ngx_feature = "stream_ssl"), allow(dead_code))]
    pub fn with_udata<T: LuaObject, R>(&mut self, i: c_int, f: impl FnOnce(&mut T) -> R) -> Option<R> {
        let slot = self.udata_slot::<T>(i);
        // SAFETY: a slot of T's userdata holds null or a live T (the LuaObject contract), and
        // f gets no Lua state that could reach it a second time.
        unsafe { slot.as_ref().and_then(|p| p.as_mut()).map(f) }
    }

    /// The value owned by the userdata at `i` (a `T` one, made by `push_udata`), taken out:
    /// the userdata holds null from now on. None when it holds none (or is not `T`'s).
    pub fn take_udata<T: LuaObject>(&mut self, i: c_int) -> Option<T::Owner> {
        let slot = self.udata_slot::<T>(i);
        if slot.is_null() {
            return None;
        }
        // SAFETY: a slot of T's userdata holds null or the pointer push_udata took from its
        // owner (the LuaObject contract); nulling it first means nothing else can reach it.
        unsafe {
            let p = std::mem::replace(&mut *slot, std::ptr::null_mut());
            (!p.is_null()).then(|| T::Owner::from_raw(p))
        }
    }

    /// Sets the metatable of the value at `i` to the registry's `name`.
    pub fn set_registry_metatable(&mut self, i: c_int, name: impl RegistryKey) {
        let l = self.as_ptr();
        let i = if i < 0 && i > LUA_REGISTRYINDEX { self.top() + i + 1 } else { i };
        assert!(i >= 1 && i <= self.top(), "stack index out of range");
        self.reserve(1);
        // SAFETY: i is a valid index and room was reserved; setmetatable pops what getfield pushed.
        unsafe {
            name.push_from_registry(l);
            raw::lua_setmetatable(l, i);
        }
    }
}
