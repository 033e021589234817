//! `ngx.thread.spawn`, `ngx.thread.wait`, `ngx.thread.kill`: light threads of a session.
//!
//! A spawned thread runs at once, inside `spawn`, until it ends or waits; `spawn` then
//! returns it to its parent. Threads that wait are resumed by their own events. A thread that
//! ends keeps its results (`true, ...` or `false, err`) until its parent `wait`s for it; the
//! session's Lua is done when the entry thread and every light thread have ended.

use std::ffi::c_int;

use crate::lua_calls;
use crate::runtime::handle::SessionRef;
use crate::runtime::session::Phase;
use crate::runtime::thread::{Ended, Status};
use crate::sys::*;

lua_calls! {
    spawn => spawn_impl,
    wait => wait_impl,
    kill => kill_impl,
    co_status => co_status_impl,
}

pub fn inject(c: &mut Call, t: c_int) {
    let tt = c.new_table(0, 3);
    c.set_field_fn(tt, c"spawn", spawn);
    c.set_field_fn(tt, c"wait", wait);
    c.set_field_fn(tt, c"kill", kill);
    c.set_field(t, c"thread");

    // coroutine.status knows light threads: an ended thread not waited for is a "zombie"
    c.get_global(c"coroutine");
    let co = c.top();
    c.get_field(co, c"status");
    c.set_registry(c"ngx_lua_co_status");
    c.set_field_fn(co, c"status", co_status);
    c.pop(1);
}

fn co_status_impl(c: &mut Call) -> LuaResult {
    let Some(co) = c.to_thread(1) else {
        // Lua's own check, raised here so that Lua's function below cannot raise
        return c.arg_error(1, "status", "coroutine expected");
    };
    if let Ok(sess) = SessionRef::current(c) {
        let running = c.is_running(co);
        let status = sess.with(|s| {
            let posted = s.is_posted(co);
            let t = s.thread_mut(co).filter(|t| t.user() || t.coroutine())?;
            Some(match t.status {
                Status::Zombie => "zombie",
                Status::Dead => "dead",
                Status::Suspended => "suspended",
                Status::Normal => "normal",
                Status::Running if running => "running",
                // it spawned a thread that runs now
                Status::Running if posted => "normal",
                Status::Running => "running",
            })
        });
        // (one that ended and left the session's list: killed ones are still suspended in
        // Lua's eyes)
        let status = status.or_else(|| c.ended_thread(1).map(|_| "dead"));
        if let Some(status) = status {
            c.push_bytes(status.as_bytes());
            return Ok(1);
        }
    }
    // anything else: Lua's own answer
    let n = c.top();
    c.get_registry(c"ngx_lua_co_status");
    c.insert(1);
    c.call(n, 1);
    Ok(1)
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
    let co = c.new_coroutine(1, n);
    sess.with(|s| {
        let t = s.add_thread_key(co, true, s.current);
        // the scheduler runs the new thread first, then resumes us with the thread object
        s.rare_mut().spawned = Some((t, n - 1));
    });
    yield_values(1)
}

fn wait_impl(c: &mut Call) -> LuaResult {
    let sess = SessionRef::current(c)?;
    sess.check_phase(Phase::YIELDABLE)?;
    let n = c.top();
    let mut waiting_on = 0;
    for i in 1..=n {
        let Some(co) = c.to_thread(i) else {
            return c.arg_error(i, "wait", format!("lua thread expected, got {}", c.type_name_at(i)));
        };
        let Some(sub) = target(c, sess, i, co) else { return err("no co ctx found") };
        if !sub.user {
            return err("attempt to wait on a coroutine that is not a user thread");
        }
        if !sub.mine {
            return err("only the parent coroutine can wait on the thread");
        }
        if matches!(sub.status, Status::Running | Status::Suspended | Status::Normal) {
            sess.with(|s| s.thread_mut(co).map(|t| t.set_waited_by_parent(true)));
        }
        match sub.status {
            Status::Zombie => {
                sess.with(|s| s.stop_waiting_for_children());
                let k = c.take_thread_values(i);
                sess.with(|s| s.end_thread_of(co));
                return Ok(k);
            }
            Status::Dead if i < n => continue,
            Status::Dead => {
                sess.with(|s| s.stop_waiting_for_children());
                return c.fail(b"already waited or killed");
            }
            Status::Running | Status::Suspended | Status::Normal => waiting_on += 1,
        }
    }
    if waiting_on == 0 {
        return err("no thread to wait for");
    }
    c.ensure_yieldable()?;
    c.pop(c.top());
    sess.with_thread(|me| {
        me.set_waits_on_threads(true);
        // cancelled (killed, or its session ends): it waits on nothing any more, and its
        // children, finding it so, keep their results
        me.wait_with(|me| me.set_waits_on_threads(false));
    });
    yield_values(0)
}

/// What `wait` and `kill` need of a thread: whether it is a light thread, whether the
/// calling thread spawned it, and its status.
struct Target {
    user: bool,
    mine: bool,
    status: Status,
}

/// The session's thread running `co` (the coroutine at `i`), or one that ended and left the
/// session's list: the VM's table of ended threads still knows it (`Thread::end`).
fn target(c: &mut Call, sess: SessionRef<'_>, i: c_int, co: *mut lua_State) -> Option<Target> {
    let live = sess.with(|s| {
        let me = s.current;
        let t = s.thread_mut(co)?;
        Some(Target { user: t.user(), mine: t.parent == me, status: t.status })
    });
    live.or_else(|| {
        let ended = Ended::from_code(c.ended_thread(i)?)?;
        let me = sess.with(|s| s.current);
        Some(Target { user: ended.user(), mine: ended.parent_is(me), status: Status::Dead })
    })
}

fn kill_impl(c: &mut Call) -> LuaResult {
    let sess = SessionRef::current(c)?;
    sess.check_phase(Phase::YIELDABLE)?;
    let Some(co) = c.to_thread(1) else {
        return c.arg_error(1, "kill", format!("lua thread expected, got {}", c.type_name_at(1)));
    };
    let Some(sub) = target(c, sess, 1, co) else { return err("no co ctx found") };
    let outcome: Result<&[u8], &[u8]> = if !sub.user {
        Err(b"not user thread")
    } else if !sub.mine {
        Err(b"killer not parent")
    } else {
        match sub.status {
            Status::Zombie => Err(b"already terminated"),
            Status::Dead => return c.fail(b"already waited or killed"),
            Status::Running | Status::Suspended | Status::Normal => Ok(&b""[..]),
        }
    };
    if outcome.is_ok() || outcome == Err(b"already terminated") {
        sess.with(|s| s.end_thread_of(co));
    }
    match outcome {
        Ok(_) => {
            c.push_int(1);
            Ok(1)
        }
        Err(msg) => c.fail(msg),
    }
}
