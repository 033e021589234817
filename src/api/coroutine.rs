//! nginx-aware `coroutine.*`: user coroutines created while a session's Lua runs are threads
//! of its scheduler, so they may wait on nginx events (sleep, sockets, semaphores) like any
//! thread. `resume` and `yield` hand control through the scheduler: the resumer waits
//! ("normal") while the coroutine runs, and gets `true, ...` / `false, err` back when it
//! yields, returns or fails. Outside a session (init_by_lua), Lua's own functions apply.

use std::ffi::CStr;

use crate::lua_calls;
use crate::runtime::handle::SessionRef;
use crate::runtime::session::{CoOp, Phase};
use crate::runtime::thread::{Status, ThreadKey};
use crate::sys::*;

lua_calls! {
    co_create => create_impl,
    co_wrap => wrap_impl,
    co_wrap_runner => wrap_runner_impl,
    co_resume => resume_impl,
    co_yield => yield_impl,
}

/// Registry keys of Lua's own coroutine functions (kept for code outside sessions).
const ORIG_CREATE: &CStr = c"ngx_lua_co_create";
const ORIG_RESUME: &CStr = c"ngx_lua_co_resume";
const ORIG_YIELD: &CStr = c"ngx_lua_co_yield";
const ORIG_WRAP: &CStr = c"ngx_lua_co_wrap_orig";

pub fn inject(c: &mut Call) {
    c.get_global(c"coroutine");
    let co = c.top();
    for (name, under, key, f) in [
        (c"create", c"_create", ORIG_CREATE, co_create as lua_CFunction),
        (c"resume", c"_resume", ORIG_RESUME, co_resume),
        (c"yield", c"_yield", ORIG_YIELD, co_yield),
    ] {
        c.get_field(co, name);
        c.push_copy(-1);
        c.set_registry(key);
        // lua-resty-core and others look for the originals under these names too
        c.set_field(co, under);
        c.set_field_fn(co, name, f);
    }
    // coroutine.wrap itself is set by the built-in Lua layer, over this one
    c.get_field(co, c"wrap");
    c.set_registry(ORIG_WRAP);
    c.pop(1);
    c.push_fn(co_wrap);
    c.set_registry(c"ngx_lua_co_wrap");
}

/// Calls Lua's own coroutine function `key` with the arguments on the stack.
fn call_orig(c: &mut Call, key: &CStr) -> LuaResult {
    let n = c.top();
    c.get_registry(key);
    c.insert(1);
    // the original cannot raise for the checked arguments; an error is raised as ours
    if !c.pcall(n, LUA_MULTRET) {
        return Err(LuaError::Msg(String::from_utf8_lossy(c.to_bytes(-1).unwrap_or_default()).into_owned()));
    }
    Ok(c.top())
}

/// The running session, when Lua runs in one of its threads.
fn session_of<'c>(c: &Call<'c>) -> Option<SessionRef<'c>> {
    SessionRef::current(c).ok().filter(|s| s.with(|s| s.current != ThreadKey::NONE))
}

fn create_impl(c: &mut Call) -> LuaResult {
    if c.type_of(1) != LUA_TFUNCTION || c.is_cfunction(1) {
        return c.arg_error(1, "create", "Lua function expected");
    }
    let Some(sess) = session_of(c) else { return call_orig(c, ORIG_CREATE) };
    if sess.phase() == Phase::Balancer {
        // upstream allows coroutines only where code may yield
        sess.check_phase(&[])?;
    }
    c.set_top(1);
    let co = c.new_coroutine(1, 1);
    sess.with(|s| {
        s.add_thread_key(co, false, ThreadKey::NONE);
        let t = s.threads.last_mut().expect("just added");
        t.set_coroutine(true);
        t.status = Status::Suspended;
    });
    Ok(1)
}

/// `coroutine.wrap`, as upstream's: a C closure over a coroutine of the session's scheduler,
/// whose calls resume it. Its caller gets the values the coroutine yields or returns without
/// resume's leading `true` (`scheduler::back_to_parent`), and an error inside goes up to the
/// caller instead of being returned. Outside a session, LuaJIT's own.
fn wrap_impl(c: &mut Call) -> LuaResult {
    let Some(sess) = session_of(c) else { return call_orig(c, ORIG_WRAP) };
    create_impl(c)?;
    if let Some(co) = c.to_thread(-1) {
        sess.with(|s| s.thread_mut(co).map(|t| t.set_wrap(true)));
    }
    c.push_closure(co_wrap_runner, 1);
    Ok(1)
}

/// A call of a `coroutine.wrap` function: `coroutine.resume` of its coroutine (the upvalue).
fn wrap_runner_impl(c: &mut Call) -> LuaResult {
    c.push_upvalue(1);
    c.insert(1);
    resume_impl(c)
}

fn resume_impl(c: &mut Call) -> LuaResult {
    let Some(co) = c.to_thread(1) else {
        return c.arg_error(1, "resume", "coroutine expected");
    };
    let sess = session_of(c);
    let status = sess.and_then(|s| s.with(|s| s.thread_mut(co).filter(|t| t.coroutine()).map(|t| t.status)));
    let (Some(sess), Some(status)) = (sess, status) else {
        return call_orig(c, ORIG_RESUME);
    };
    if status != Status::Suspended {
        let msg: &[u8] = match status {
            Status::Dead => b"cannot resume dead coroutine",
            Status::Running => b"cannot resume running coroutine",
            Status::Normal => b"cannot resume normal coroutine",
            _ => b"cannot resume non-suspended coroutine",
        };
        c.push_bool(false);
        c.push_bytes(msg);
        return Ok(2);
    }
    c.ensure_yieldable()?;
    let n = c.top() - 1;
    c.give_to_thread_at(1, n);
    c.set_top(0);
    sess.with(|s| {
        let cur = s.current;
        if let Some(th) = s.thread_mut(co) {
            th.parent = cur;
            s.rare_mut().co_op = Some(CoOp::Resume(th.key, n));
        }
    });
    yield_values(0)
}

fn yield_impl(c: &mut Call) -> LuaResult {
    let n = c.top();
    c.ensure_yieldable()?;
    if let Some(sess) = session_of(c) {
        if sess.with_thread(|t| t.coroutine() && c.is_running(t.co)) {
            sess.with(|s| s.rare_mut().co_op = Some(CoOp::Yield(n)));
        }
    }
    // entry and light threads, or no session: a plain yield
    yield_values(n)
}
