//! `ngx.thread.spawn`, `ngx.thread.wait`, `ngx.thread.kill`: light threads of a session.
//!
//! A spawned thread runs at once, inside `spawn`, until it ends or waits; `spawn` then
//! returns it to its parent. Threads that wait are resumed by their own events. A thread that
//! ends keeps its results (`true, ...` or `false, err`) until its parent `wait`s for it; the
//! session's Lua is done when the entry thread and every light thread have ended.

use std::ffi::c_int;

use crate::api::{check_phase, current_session};
use crate::runtime::handle::SessionRef;
use crate::runtime::scheduler::cancel_thread_wait;
use crate::runtime::session::Phase;
use crate::runtime::thread::Status;
use crate::sys::*;
use crate::{lua_api, lua_calls};

lua_calls! { spawn => spawn_impl }

lua_api! {
    wait => wait_impl,
    kill => kill_impl,
    co_status => co_status_impl,
}

pub unsafe fn inject(l: *mut lua_State, t: c_int) {
    // SAFETY: t is the ngx table.
    unsafe {
        raw::lua_createtable(l, 0, 3);
        let tt = raw::lua_gettop(l);
        set_field_fn(l, tt, c"spawn", spawn);
        set_field_fn(l, tt, c"wait", wait);
        set_field_fn(l, tt, c"kill", kill);
        raw::lua_setfield(l, t, c"thread".as_ptr());

        // coroutine.status knows light threads: an ended thread not waited for is a "zombie"
        raw::lua_getfield(l, LUA_GLOBALSINDEX, c"coroutine".as_ptr());
        let co = raw::lua_gettop(l);
        raw::lua_getfield(l, co, c"status".as_ptr());
        raw::lua_setfield(l, LUA_REGISTRYINDEX, c"ngx_lua_co_status".as_ptr());
        set_field_fn(l, co, c"status", co_status);
        raw::lua_settop(l, co - 1);
    }
}

unsafe fn co_status_impl(l: *mut lua_State) -> LuaResult {
    // SAFETY: l is the running state.
    unsafe {
        let co = raw::lua_tothread(l, 1);
        if co.is_null() {
            // Lua's own check, raised here so that Lua's function below cannot raise
            return Err(LuaError::Arg(1, "status", "coroutine expected".into()));
        }
        {
            if let Ok(sess) = current_session(l) {
                let t = (*sess).find_thread(co);
                if !t.is_null() && ((*t).user || (*t).coroutine) {
                    let s: &[u8] = match (*t).status {
                        Status::Zombie => b"zombie",
                        Status::Dead => b"dead",
                        Status::Suspended => b"suspended",
                        Status::Normal => b"normal",
                        Status::Running if co == l => b"running",
                        // it spawned a thread that runs now
                        Status::Running if (*sess).posted.iter().any(|(p, _)| *p == t) => b"normal",
                        Status::Running => b"running",
                    };
                    push_bytes(l, s);
                    return Ok(1);
                }
            }
        }
        // anything else: Lua's own answer
        raw::lua_getfield(l, LUA_REGISTRYINDEX, c"ngx_lua_co_status".as_ptr());
        raw::lua_insert(l, 1);
        let n = raw::lua_gettop(l) - 1;
        raw::lua_call(l, n, 1);
        Ok(1)
    }
}

fn spawn_impl(c: &mut Call) -> LuaResult {
    let sess = SessionRef::current(c)?;
    sess.check_phase(Phase::YIELDABLE)?;
    let n = c.top();
    if c.type_of(1) != LUA_TFUNCTION {
        return c.arg_error(1, "spawn", format!("function expected, got {}", c.type_name_at(1)));
    }
    c.ensure_yieldable()?;
    // the new thread shares the parent's globals and gets the function and its arguments
    let (co, co_ref) = c.new_coroutine(1, n);
    sess.with(|s| {
        let t = s.add_thread(co, co_ref, true, s.cur);
        // the scheduler runs the new thread first, then resumes us with the thread object
        s.spawned = Some((t, n - 1));
    });
    yield_values(1)
}

unsafe fn wait_impl(l: *mut lua_State) -> LuaResult {
    // SAFETY: l is the running coroutine of a session's thread.
    unsafe {
        let sess = current_session(l)?;
        check_phase(&*sess, Phase::YIELDABLE)?;
        let me = (*sess).cur;
        let n = raw::lua_gettop(l);
        let mut waiting_on = 0;
        for i in 1..=n {
            let co = raw::lua_tothread(l, i);
            if co.is_null() {
                let got = type_name(l, raw::lua_type(l, i));
                return Err(LuaError::Arg(i, "wait", format!("lua thread expected, got {got}")));
            }
            let sub = (*sess).find_thread(co);
            if sub.is_null() {
                return err("no co ctx found");
            }
            if !(*sub).user {
                return err("attempt to wait on a coroutine that is not a user thread");
            }
            if (*sub).parent != me {
                return err("only the parent coroutine can wait on the thread");
            }
            match (*sub).status {
                Status::Zombie => {
                    cancel_thread_wait(sess, me);
                    let k = raw::lua_gettop((*sub).co);
                    raw::lua_xmove((*sub).co, l, k);
                    (*sess).end_thread(sub);
                    return Ok(k);
                }
                Status::Dead => {
                    if i < n {
                        continue;
                    }
                    cancel_thread_wait(sess, me);
                    raw::lua_pushnil(l);
                    push_bytes(l, b"already waited or killed");
                    return Ok(2);
                }
                Status::Running | Status::Suspended | Status::Normal => {
                    (*sub).waited_by_parent = true;
                    waiting_on += 1;
                }
            }
        }
        if waiting_on == 0 {
            return err("no thread to wait for");
        }
        ensure_yieldable(l)?;
        raw::lua_settop(l, 0);
        (*me).waits_on_threads = true;
        (*me).pending = Some(cancel_thread_wait);
        yield_values(0)
    }
}

unsafe fn kill_impl(l: *mut lua_State) -> LuaResult {
    // SAFETY: l is the running coroutine of a session's thread.
    unsafe {
        let sess = current_session(l)?;
        check_phase(&*sess, Phase::YIELDABLE)?;
        let co = raw::lua_tothread(l, 1);
        if co.is_null() {
            let got = type_name(l, raw::lua_type(l, 1));
            return Err(LuaError::Arg(1, "kill", format!("lua thread expected, got {got}")));
        }
        let sub = (*sess).find_thread(co);
        if sub.is_null() {
            return err("no co ctx found");
        }
        let reply = |msg: &[u8]| {
            raw::lua_pushnil(l);
            push_bytes(l, msg);
            Ok(2)
        };
        if !(*sub).user {
            return reply(b"not user thread");
        }
        if (*sub).parent != (*sess).cur {
            return reply(b"killer not parent");
        }
        match (*sub).status {
            Status::Zombie => {
                (*sess).end_thread(sub);
                reply(b"already terminated")
            }
            Status::Dead => reply(b"already waited or killed"),
            Status::Running | Status::Suspended | Status::Normal => {
                (*sess).end_thread(sub);
                raw::lua_pushinteger(l, 1);
                Ok(1)
            }
        }
    }
}
