//! `CoState`: a coroutine of a session's thread as the scheduler drives it: resumed, its
//! results or error read, values moved between a coroutine and the one that resumed it, and
//! its frames listed for a traceback. The raw calls live here, each with its reason; the
//! scheduler holds the handle only while the thread's coroutine is anchored.

use std::ffi::{c_int, CStr};
use std::ptr::NonNull;

use super::lua::{push_bytes, raw, to_bytes};
use mlua::ffi::lua_State;

#[derive(Clone, Copy, PartialEq, Eq)]
pub struct CoState(NonNull<lua_State>);

impl CoState {
    /// # Safety
    /// `co` is a coroutine of a live VM, anchored while the handle (or a copy) is used, and
    /// the handle is used only while the coroutine is not running (suspended, ended or not
    /// started), except through `resume`.
    pub unsafe fn from_raw(co: *mut lua_State) -> Option<CoState> {
        NonNull::new(co).map(CoState)
    }

    pub fn as_ptr(self) -> *mut lua_State {
        self.0.as_ptr()
    }

    fn reserve(self, n: c_int) {
        // SAFETY: the coroutine is alive and not running (from_raw's contract).
        if unsafe { raw::lua_checkstack(self.as_ptr(), n) } == 0 {
            panic!("Lua stack overflow");
        }
    }

    /// Runs the coroutine with the top `nargs` values of its stack as the arguments (or the
    /// results of the yield it waits in); returns LuaJIT's status (0, LUA_YIELD, an error).
    pub fn resume(self, nargs: c_int) -> c_int {
        // SAFETY: the coroutine is suspended or not started (from_raw's contract) with nargs
        // values on top (below them, what a yielding C function left: not returned).
        unsafe { raw::lua_resume_(self.as_ptr(), nargs) }
    }

    pub fn top(self) -> c_int {
        // SAFETY: the coroutine is alive and not running.
        unsafe { raw::lua_gettop(self.as_ptr()) }
    }

    pub fn set_top(self, i: c_int) {
        assert!(i >= 0 && i <= self.top(), "a position on the stack");
        // SAFETY: as top; i is within the stack (shrinking it).
        unsafe { raw::lua_settop(self.as_ptr(), i) }
    }

    pub fn push_bool(self, v: bool) {
        self.reserve(1);
        // SAFETY: room was reserved.
        unsafe { raw::lua_pushboolean(self.as_ptr(), v as c_int) }
    }

    pub fn push_bytes(self, b: &[u8]) {
        self.reserve(1);
        // SAFETY: room was reserved; the bytes are copied.
        unsafe { push_bytes(self.as_ptr(), b) }
    }

    /// Moves the top value down to position `i`.
    pub fn insert(self, i: c_int) {
        assert!(i >= 1 && i <= self.top(), "a position on the stack");
        // SAFETY: as top; i is a valid position.
        unsafe { raw::lua_insert(self.as_ptr(), i) }
    }

    /// Moves the top `n` values onto `to` (a coroutine of the same VM).
    pub fn move_to(self, to: CoState, n: c_int) {
        assert!(n >= 0 && n <= self.top(), "values to move");
        to.reserve(n);
        // SAFETY: both coroutines are alive, not running and of the same VM (the scheduler
        // moves values between a session's threads only); room was reserved on `to`.
        unsafe { raw::lua_xmove(self.as_ptr(), to.as_ptr(), n) }
    }

    /// The error on top after a failed resume, as text (`None` if it is not a string).
    pub fn error_text(self) -> Option<String> {
        // SAFETY: as top; the string is copied before the stack changes.
        unsafe {
            if raw::lua_isstring(self.as_ptr(), -1) == 0 {
                return None;
            }
            Some(String::from_utf8_lossy(to_bytes(self.as_ptr(), -1).unwrap_or_default()).into_owned())
        }
    }

    /// Appends the coroutine's frames to `out`, one per line in upstream's layout; `entry`:
    /// the bottom Lua function is the handler's code itself, shown as the main chunk.
    pub fn frames(self, out: &mut String, entry: bool) {
        let co = self.as_ptr();
        let mut level = 0;
        // SAFETY: lua_getstack/lua_getinfo only read the (not running) coroutine's frames;
        // the strings the record points at live as long as those frames.
        unsafe {
            let mut ar: raw::lua_Debug = std::mem::zeroed();
            let mut depth = 0;
            while raw::lua_getstack(co, depth, &mut ar) != 0 {
                depth += 1;
            }
            while raw::lua_getstack(co, level, &mut ar) != 0 {
                if level >= 22 {
                    out.push_str("\n\t...");
                    break;
                }
                raw::lua_getinfo(co, c"Snl".as_ptr(), &mut ar);
                let src = CStr::from_ptr(ar.short_src.as_ptr()).to_string_lossy();
                out.push_str(&format!("\n\t{src}:"));
                if ar.currentline > 0 {
                    out.push_str(&format!("{}:", ar.currentline));
                }
                let namewhat =
                    if ar.namewhat.is_null() { "" } else { CStr::from_ptr(ar.namewhat).to_str().unwrap_or("") };
                if !namewhat.is_empty() && !ar.name.is_null() {
                    out.push_str(&format!(" in function '{}'", CStr::from_ptr(ar.name).to_string_lossy()));
                } else {
                    let what = if ar.what.is_null() { "" } else { CStr::from_ptr(ar.what).to_str().unwrap_or("") };
                    match what {
                        "main" => out.push_str(" in main chunk"),
                        "Lua" if entry && level == depth - 1 => out.push_str(" in main chunk"),
                        "C" | "tail" => out.push_str(" ?"),
                        _ => out.push_str(&format!(" in function <{src}:{}>", ar.linedefined)),
                    }
                }
                level += 1;
            }
        }
    }
}
