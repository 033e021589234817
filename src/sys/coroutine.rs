//! Coroutines kept outside any Lua stack (a timer's callback waiting for its turn): each is
//! anchored in its VM's coroutine table, so the collector keeps it, and let go when dropped.

use std::ffi::{c_int, CStr};
use std::ptr::NonNull;

use super::call::Call;
use super::lua::{raw, reg, RegistryKey};
use mlua::ffi::lua_State;

/// The main state of a VM that is alive for as long as anything made from this value.
#[derive(Clone, Copy)]
pub struct MainState(NonNull<lua_State>);

impl MainState {
    /// # Safety
    /// `l` is a VM's main state, and that VM outlives every `MainState` and `Coroutine` made
    /// from this one (the worker's VM lives until the worker exits; a session's own VM is
    /// held, beside them, by its `VmRef`).
    pub unsafe fn from_raw(l: *mut lua_State) -> Option<MainState> {
        NonNull::new(l).map(MainState)
    }

    pub fn as_ptr(self) -> *mut lua_State {
        self.0.as_ptr()
    }
}

/// A coroutine anchored in its VM's coroutine table, on its way to the session thread that
/// will own the anchor (and let go of it when it ends). Only this layer makes one, from a
/// coroutine it just created, so its parts are a live coroutine and its anchor.
pub struct Anchored {
    co: NonNull<lua_State>,
    anchor: c_int,
}

impl Anchored {
    /// # Safety
    /// `co` is a coroutine just created and anchored at `anchor` in its VM's coroutine table.
    pub(super) unsafe fn new(co: NonNull<lua_State>, anchor: c_int) -> Anchored {
        Anchored { co, anchor }
    }

    /// The coroutine and its anchor, for the thread taking them over.
    pub fn into_parts(self) -> (*mut lua_State, c_int) {
        (self.co.as_ptr(), self.anchor)
    }
}

/// An anchored coroutine that is not running: values are pushed onto it before it starts.
pub struct Coroutine {
    main: MainState,
    co: NonNull<lua_State>,
    anchor: c_int,
}

impl Coroutine {
    /// A new coroutine of `main`'s VM with an empty stack.
    fn new(main: MainState) -> Coroutine {
        let l = main.as_ptr();
        // SAFETY: the main state is alive and idle apart from its running coroutine; the
        // coroutine table is made with the VM; one slot each for the table and the thread
        // (LUA_MINSTACK is always free on a main state between calls).
        unsafe {
            (&reg::COROUTINES).push_from_registry(l);
            let co = raw::lua_newthread(l);
            let anchor = raw::luaL_ref(l, -2);
            raw::lua_settop(l, -2);
            Coroutine { main, co: NonNull::new(co).expect("lua_newthread"), anchor }
        }
    }

    fn l(&self) -> *mut lua_State {
        self.co.as_ptr()
    }

    /// Grows the stack for `n` more values.
    fn reserve(&mut self, n: c_int) {
        // SAFETY: the coroutine is alive (anchored) and not running.
        if unsafe { raw::lua_checkstack(self.l(), n) } == 0 {
            panic!("Lua stack overflow");
        }
    }

    pub fn top(&self) -> c_int {
        // SAFETY: the coroutine is alive and not running.
        unsafe { raw::lua_gettop(self.l()) }
    }

    /// Pushes `v` and moves it down to index `at`.
    pub fn insert_bool(&mut self, at: c_int, v: bool) {
        assert!(at >= 1 && at <= self.top() + 1, "insert position on the stack");
        self.reserve(1);
        // SAFETY: room was reserved; `at` is a valid position.
        unsafe {
            raw::lua_pushboolean(self.l(), v as c_int);
            raw::lua_insert(self.l(), at);
        }
    }

    /// A new coroutine of the same VM holding copies of this one's values.
    pub fn duplicate(&self) -> Coroutine {
        let mut copy = Coroutine::new(self.main);
        let n = self.top();
        copy.reserve(n);
        let from = self.l();
        // SAFETY: both coroutines are alive and idle; `from` is grown for the copies before
        // they move to the new stack, which was grown for them.
        unsafe {
            if raw::lua_checkstack(from, n) == 0 {
                panic!("Lua stack overflow");
            }
            for i in 1..=n {
                raw::lua_pushvalue(from, i);
            }
            raw::lua_xmove(from, copy.l(), n);
        }
        copy
    }

    /// Where the Lua function at `i` is defined: its chunk's source and first line.
    pub fn function_origin(&mut self, i: c_int) -> (String, c_int) {
        self.reserve(1);
        // SAFETY: room was reserved; `lua_getinfo` with '>' pops the function it is given, and
        // the debug record only points at strings the function's prototype keeps.
        unsafe {
            let mut ar: raw::lua_Debug = std::mem::zeroed();
            raw::lua_pushvalue(self.l(), i);
            raw::lua_getinfo(self.l(), c">S".as_ptr(), &mut ar);
            let src = if ar.source.is_null() {
                "(unknown)".into()
            } else {
                CStr::from_ptr(ar.source).to_string_lossy().into_owned()
            };
            (src, ar.linedefined)
        }
    }

    /// Hands the coroutine and its anchor over (to a session thread, which lets go of the
    /// anchor when it ends).
    pub fn into_anchored(self) -> Anchored {
        let this = std::mem::ManuallyDrop::new(self);
        Anchored { co: this.co, anchor: this.anchor }
    }
}

impl Drop for Coroutine {
    fn drop(&mut self) {
        self.main.unref_coroutine(self.anchor);
    }
}

impl Call<'_> {
    /// Moves the function at `func` and the top `nargs` values off this stack into a new
    /// coroutine of `main`'s VM, which must be the VM this call runs in.
    pub fn move_to_new_coroutine(&mut self, main: MainState, func: c_int, nargs: c_int) -> Coroutine {
        assert!(func >= 1 && nargs >= 0 && nargs <= self.top(), "values to move");
        let mut co = Coroutine::new(main);
        co.reserve(nargs + 1);
        self.reserve(1);
        // SAFETY: room was reserved on both stacks; both states belong to the same VM, as
        // lua_xmove requires (the caller's contract, checked by LuaJIT's assertions in debug).
        unsafe {
            raw::lua_pushvalue(self.as_ptr(), func);
            raw::lua_xmove(self.as_ptr(), co.l(), 1);
            raw::lua_xmove(self.as_ptr(), co.l(), nargs);
        }
        co
    }
}
