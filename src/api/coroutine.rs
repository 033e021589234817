//! nginx-aware `coroutine.*`: user coroutines created while a session's Lua runs are threads
//! of its scheduler, so they may wait on nginx events (sleep, sockets, semaphores) like any
//! thread. `resume` and `yield` hand control through the scheduler: the resumer waits
//! ("normal") while the coroutine runs, and gets `true, ...` / `false, err` back when it
//! yields, returns or fails. Outside a session (init_by_lua), Lua's own functions apply.

use std::ffi::CStr;

use crate::api::{check_phase, current_session};
use crate::lua_api;
use crate::runtime::session::{CoOp, Phase, Session};
use crate::runtime::thread::Status;
use crate::runtime::vm::COROUTINES;
use crate::sys::*;

lua_api! {
    co_create => create_impl,
    co_create_wrapped => create_wrapped_impl,
    co_resume => resume_impl,
    co_yield => yield_impl,
}

/// Registry keys of Lua's own coroutine functions (kept for code outside sessions).
const ORIG_CREATE: &CStr = c"ngx_lua_co_create";
const ORIG_RESUME: &CStr = c"ngx_lua_co_resume";
const ORIG_YIELD: &CStr = c"ngx_lua_co_yield";

pub unsafe fn inject(l: *mut lua_State) {
    // SAFETY: l is a fresh VM.
    unsafe {
        raw::lua_getfield(l, LUA_GLOBALSINDEX, c"coroutine".as_ptr());
        let co = raw::lua_gettop(l);
        for (name, key, f) in [
            (c"create", ORIG_CREATE, co_create as lua_CFunction),
            (c"resume", ORIG_RESUME, co_resume),
            (c"yield", ORIG_YIELD, co_yield),
        ] {
            raw::lua_getfield(l, co, name.as_ptr());
            raw::lua_pushvalue(l, -1);
            raw::lua_setfield(l, LUA_REGISTRYINDEX, key.as_ptr());
            // lua-resty-core and others look for the originals under these names too
            let under = format!("_{}\0", name.to_str().unwrap_or(""));
            raw::lua_setfield(l, co, under.as_ptr() as *const _);
            set_field_fn(l, co, name, f);
        }
        raw::lua_settop(l, co - 1);
        // for the built-in coroutine.wrap only (not a visible field of `coroutine`)
        raw::lua_pushcclosure(l, co_create_wrapped, 0);
        raw::lua_setfield(l, LUA_REGISTRYINDEX, c"ngx_lua_co_create_wrapped".as_ptr());
    }
}

/// Calls Lua's own coroutine function `key` with the arguments on the stack.
unsafe fn call_orig(l: *mut lua_State, key: &CStr) -> LuaResult {
    // SAFETY: l is the running state; the original cannot raise for the checked arguments.
    unsafe {
        raw::lua_getfield(l, LUA_REGISTRYINDEX, key.as_ptr());
        raw::lua_insert(l, 1);
        let n = raw::lua_gettop(l) - 1;
        if raw::lua_pcall(l, n, LUA_MULTRET, 0) != 0 {
            let msg = String::from_utf8_lossy(to_bytes(l, -1).unwrap_or_default()).into_owned();
            return Err(LuaError::Msg(msg));
        }
        Ok(raw::lua_gettop(l))
    }
}

fn session_of(l: *mut lua_State) -> Option<*mut Session> {
    // SAFETY: reading the running thread's globals.
    unsafe { current_session(l).ok().filter(|s| !(**s).cur.is_null()) }
}

unsafe fn create_impl(l: *mut lua_State) -> LuaResult {
    // SAFETY: l is the running state.
    unsafe {
        if raw::lua_type(l, 1) != LUA_TFUNCTION || raw::lua_iscfunction(l, 1) != 0 {
            return Err(LuaError::Arg(1, "create", "Lua function expected".into()));
        }
        let Some(sess) = session_of(l) else { return call_orig(l, ORIG_CREATE) };
        if (*sess).phase == Phase::Balancer {
            // upstream allows coroutines only where code may yield
            check_phase(&*sess, &[])?;
        }
        raw::lua_settop(l, 1);
        let co = raw::lua_newthread(l);
        raw::lua_getfield(l, LUA_REGISTRYINDEX, COROUTINES.as_ptr());
        raw::lua_pushvalue(l, 2);
        let co_ref = raw::luaL_ref(l, -2);
        raw::lua_settop(l, 2);
        raw::lua_pushvalue(l, 1);
        raw::lua_xmove(l, co, 1);
        let t = (*sess).add_thread(co, co_ref, false, std::ptr::null_mut());
        (*t).coroutine = true;
        (*t).status = Status::Suspended;
        Ok(1)
    }
}

/// `coroutine.create` for `coroutine.wrap`: an error in such a coroutine propagates to its
/// parent instead of being returned by resume (upstream's wrap).
unsafe fn create_wrapped_impl(l: *mut lua_State) -> LuaResult {
    // SAFETY: l is the running state.
    unsafe {
        let n = create_impl(l)?;
        if let Some(sess) = session_of(l) {
            let t = (*sess).find_thread(raw::lua_tothread(l, -1));
            if !t.is_null() {
                (*t).wrap = true;
            }
        }
        Ok(n)
    }
}

unsafe fn resume_impl(l: *mut lua_State) -> LuaResult {
    // SAFETY: l is the running state.
    unsafe {
        let co = raw::lua_tothread(l, 1);
        if co.is_null() {
            return Err(LuaError::Arg(1, "resume", "coroutine expected".into()));
        }
        let sess = session_of(l);
        let t = sess.map_or(std::ptr::null_mut(), |s| (*s).find_thread(co));
        let Some(sess) = sess.filter(|_| !t.is_null() && (*t).coroutine) else {
            return call_orig(l, ORIG_RESUME);
        };
        if (*t).status != Status::Suspended {
            raw::lua_pushboolean(l, 0);
            let msg: &[u8] = match (*t).status {
                Status::Dead => b"cannot resume dead coroutine",
                Status::Running => b"cannot resume running coroutine",
                Status::Normal => b"cannot resume normal coroutine",
                _ => b"cannot resume non-suspended coroutine",
            };
            push_bytes(l, msg);
            return Ok(2);
        }
        ensure_yieldable(l)?;
        let n = raw::lua_gettop(l) - 1;
        raw::lua_xmove(l, co, n);
        raw::lua_settop(l, 0);
        (*t).parent = (*sess).cur;
        (*sess).co_op = Some(CoOp::Resume(t, n));
        yield_values(0)
    }
}

unsafe fn yield_impl(l: *mut lua_State) -> LuaResult {
    // SAFETY: l is the running state.
    unsafe {
        let n = raw::lua_gettop(l);
        ensure_yieldable(l)?;
        if let Some(sess) = session_of(l) {
            let t = (*sess).cur;
            if (*t).coroutine && (*t).co == l {
                (*sess).co_op = Some(CoOp::Yield(n));
                return yield_values(n);
            }
        }
        // entry and light threads, or no session: a plain yield
        yield_values(n)
    }
}
