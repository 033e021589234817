//! Runs entry coroutines: creation (sharing the VM's `_G`, as upstream), raw `lua_resume`, and turning
//! the result into what the phase handler must do next.

use std::ffi::c_int;
use std::sync::atomic::{AtomicPtr, Ordering};

use crate::runtime::code::Code;
use crate::runtime::live::LiveSession;
use crate::runtime::session::{CoOp, Phase, Session};
use crate::runtime::thread::{thread_ptr, with_thread, Status as ThreadStatus, Thread, ThreadKey};
use crate::sys::co_state::CoState;
use crate::sys::*;

/// The session whose Lua code runs now. The built-in layer's `get_request()` reads it through
/// `ngx_stream_lua_rs_get_request` rather than `getfenv(0).__ngx_req`: LuaJIT cannot compile
/// `getfenv` (OpenResty's LuaJIT has `thread.exdata` for this), and a trace that stops at
/// every `ngx.ctx` or `ngx.var` access makes them tens of times slower.
static RUNNING: AtomicPtr<Session> = AtomicPtr::new(std::ptr::null_mut());

/// Runs `f` with `sess` as the running session (restored after: resumes may nest).
pub fn with_running<R>(sess: *mut Session, f: impl FnOnce() -> R) -> R {
    let prev = RUNNING.swap(sess, Ordering::Relaxed);
    let r = f();
    RUNNING.store(prev, Ordering::Relaxed);
    r
}

#[no_mangle]
pub extern "C" fn ngx_stream_lua_rs_get_request() -> *mut Session {
    RUNNING.load(Ordering::Relaxed)
}

/// The log of the running session, or the cycle's when Lua runs for no session.
pub fn current_log() -> Option<Log> {
    let sess = RUNNING.load(Ordering::Relaxed);
    if sess.is_null() {
        return Log::cycle();
    }
    // SAFETY: the running session is live while its Lua code runs, and so is the log of its
    // connection (or its own stand-in log), for as long as that code can hold the handle.
    unsafe { Log::from_raw((*sess).log()) }
}

pub enum Outcome {
    /// The entry function returned.
    Finished,
    /// `ngx.exit(code)` was called.
    Exited(isize),
    /// The entry thread raised an error (already logged).
    Failed,
    /// The entry thread waits for an nginx event (its wake-up is armed).
    Waiting,
}

/// Starts `code` in a new entry coroutine of the session and runs it until it ends.
///
/// `sess` stays a raw pointer: Lua code changes the session (through the C ABI) while it runs,
/// so no Rust reference to it may live across a resume.
pub unsafe fn run_entry(sess: *mut Session, code: &Code) -> Outcome {
    // SAFETY: sess is the live context of the session being run; a new phase of the same
    // session starts with a new entry thread.
    let (l, s, code_cache, log) = unsafe {
        (*sess).release_threads();
        ((*sess).l, (*sess).s, (*sess).code_cache, (*sess).logger())
    };
    // SAFETY: s is the session's nginx session, or null for a session-less context.
    let resolved = unsafe { code.resolve(s) };
    let key = match &resolved {
        Some(Ok(file)) => &file.key,
        _ => &code.key,
    };
    log.debug(&format!("looking up Lua code cache with key '{key}'"));
    // SAFETY: l is the main state of the VM the session runs in, which outlives the session;
    // no Lua runs on it while a phase starts its entry thread.
    let (main, mut c) = unsafe { (MainState::from_raw(l).expect("a session runs in a VM"), Call::nested(l)) };
    let top = c.top();
    let pushed = match &resolved {
        None => code.push_closure(&mut c, code_cache),
        Some(Ok(file)) => file.push_closure(&mut c, code_cache),
        Some(Err(e)) => Err(e.clone()),
    };
    if let Err(msg) = pushed {
        c.set_top(top);
        log.error(NGX_LOG_ERR, 0, msg.as_bytes());
        return Outcome::Failed;
    }
    let func = c.top();
    let (co, anchor) = c.move_to_new_coroutine(main, func, 0).into_raw();
    c.set_top(top);
    // SAFETY: as above; the new thread holds the coroutine with the entry function.
    unsafe {
        let t = (*sess).add_thread(co, anchor, false, std::ptr::null_mut());
        resume(sess, t, 0)
    }
}

/// Resumes thread `t` with `nargs` values on its stack, then every thread that became ready
/// meanwhile (a parent that spawned, a parent waiting on an ended thread), in the order they
/// became ready, like upstream's posted threads. Returns when every ready thread waits for an
/// event (`Waiting`), or the session's Lua is done.
pub unsafe fn resume(sess: *mut Session, t: *mut Thread, nargs: c_int) -> Outcome {
    let (mut t, mut nargs) = (t, nargs);
    loop {
        // SAFETY: sess and t are live; t's coroutine is anchored in the registry.
        unsafe {
            (*sess).cur = t;
            let co = (*t).co_state();
            let rc = with_running(sess, || co.resume(nargs));
            match rc {
                LUA_YIELD => {
                    if let Some(code) = (*sess).exit_code {
                        // ngx.exit ends every thread of the session
                        (*sess).cancel_wait();
                        (*sess).posted.clear();
                        return Outcome::Exited(code);
                    }
                    if let Some((child, n)) = (*sess).spawned.take() {
                        let child = thread_ptr(child).expect("a thread just spawned is live");
                        // ngx.thread.spawn: the child runs first, the parent later gets the
                        // thread object it yielded
                        (*sess).posted.push_back(((*t).key, 1));
                        (t, nargs) = (child, n);
                        continue;
                    }
                    if let Some(op) = (*sess).co_op.take() {
                        let next = match op {
                            CoOp::Resume(child, n) => {
                                let child = thread_ptr(child).expect("a resumed coroutine is live");
                                (*t).status = ThreadStatus::Normal;
                                (*child).status = ThreadStatus::Running;
                                Some((child, n))
                            }
                            CoOp::Yield(n) => {
                                (*t).status = ThreadStatus::Suspended;
                                back_to_parent(t, true, n).map(|p| (p, n + 1))
                            }
                        };
                        // (none: the resumer was killed meanwhile; the other threads go on)
                        if let Some(next) = next {
                            (t, nargs) = next;
                            continue;
                        }
                    } else if (*t).pending.is_none() {
                        // a plain coroutine.yield() in a thread: it lets the other ready
                        // threads run first, then goes on (upstream's manual time slicing)
                        co.set_top(0);
                        (*sess).posted.push_back(((*t).key, 0));
                    }
                }
                0 if (*t).coroutine => {
                    let n = co.top();
                    (*t).status = ThreadStatus::Dead;
                    if let Some(p) = back_to_parent(t, true, n) {
                        (t, nargs) = (p, n + 1);
                        continue;
                    }
                }
                _ if (*t).coroutine && (*t).wrap => {
                    // coroutine.wrap: the error goes up to the first parent that is not a
                    // wrapped coroutine, with the traceback of the whole chain (upstream's)
                    let (kind, msg) = error_of(co, rc);
                    let trace = traceback(t);
                    let mut p = t;
                    while (*p).coroutine && (*p).wrap {
                        (*p).status = ThreadStatus::Dead;
                        p = (*p).parent;
                    }
                    if (*p).coroutine {
                        // a coroutine.resume'd parent: its resumer gets false and the error
                        (*p).status = ThreadStatus::Dead;
                        let q = (*p).parent;
                        if is_live(q) {
                            let qc = (*q).co_state();
                            qc.push_bool(false);
                            qc.push_bytes(msg.as_bytes());
                            (*q).status = ThreadStatus::Running;
                            (t, nargs) = (q, 2);
                            continue;
                        }
                    } else if is_live(p) {
                        let pc = (*p).co_state();
                        pc.set_top(0);
                        pc.push_bytes(msg.as_bytes());
                        if let Some(o) = thread_failed(sess, p, kind, &msg, &trace) {
                            return o;
                        }
                    }
                }
                _ if (*t).coroutine => {
                    // coroutine.resume returns false and the error
                    (*t).status = ThreadStatus::Dead;
                    if let Some(p) = back_to_parent(t, false, 1) {
                        (t, nargs) = (p, 2);
                        continue;
                    }
                }
                0 if !(*t).user => {
                    (*t).status = ThreadStatus::Dead;
                    // the session goes on until its light threads end too
                    (*sess).entry_finished = true;
                }
                0 => {
                    co.push_bool(true);
                    co.insert(1);
                    thread_ended(sess, t);
                }
                _ => {
                    let (kind, msg) = error_of(co, rc);
                    let trace = traceback(t);
                    if let Some(o) = thread_failed(sess, t, kind, &msg, &trace) {
                        return o;
                    }
                }
            }
            match next_posted(&mut *sess) {
                Some((p, n)) => (t, nargs) = (p, n),
                None if (*sess).entry_finished && (*sess).live_uthreads() == 0 => return Outcome::Finished,
                None => return Outcome::Waiting,
            }
        }
    }
}

/// The next posted thread that is still live (a thread killed while posted is skipped: it
/// left the thread table when it ended), with how many values it is resumed with.
fn next_posted(sess: &mut Session) -> Option<(*mut Thread, c_int)> {
    while let Some((key, n)) = sess.posted.pop_front() {
        if let Some(t) = thread_ptr(key) {
            return Some((t, n));
        }
    }
    None
}

/// Whether the thread `t` (one of the session's, ended ones included) has not ended: it is
/// still in the thread table.
unsafe fn is_live(t: *mut Thread) -> bool {
    // SAFETY: a session's threads stay in its list (ended ones too) until the phase ends.
    !t.is_null() && thread_ptr(unsafe { (*t).key }) == Some(t)
}

/// A user coroutine yielded, returned or failed: its resumer gets `ok` and the top `n` values
/// of its stack, and runs next. None when the resumer has ended (killed meanwhile): the values
/// are left where they are.
unsafe fn back_to_parent(t: *mut Thread, ok: bool, n: c_int) -> Option<*mut Thread> {
    // SAFETY: t is a user coroutine resumed by its parent thread, which stays in the session's
    // list even when it has ended.
    unsafe {
        let parent = (*t).parent;
        if !is_live(parent) {
            return None;
        }
        let pc = (*parent).co_state();
        pc.push_bool(ok);
        (*t).co_state().move_to(pc, n);
        (*parent).status = ThreadStatus::Running;
        Some(parent)
    }
}

/// A light thread ended: hand its results to a parent waiting on it (which becomes ready), or
/// keep them for a later `ngx.thread.wait`.
unsafe fn thread_ended(sess: *mut Session, t: *mut Thread) {
    // SAFETY: sess and t are live.
    unsafe {
        (*t).status = ThreadStatus::Zombie;
        let parent = (*t).parent;
        if (*t).waited_by_parent && !parent.is_null() && (*parent).waits_on_threads {
            (*parent).pending = None;
            cancel_thread_wait(sess, parent);
            let co = (*t).co_state();
            let n = co.top();
            co.move_to((*parent).co_state(), n);
            (*sess).end_thread(t);
            (*sess).posted.push_back(((*parent).key, n));
        }
    }
}

/// Cancels an `ngx.thread.wait`: the children stop being waited on.
pub unsafe fn cancel_thread_wait(sess: *mut Session, t: *mut Thread) {
    // SAFETY: sess is live; its threads are boxed.
    unsafe {
        (*t).waits_on_threads = false;
        for c in (*sess).threads.iter_mut() {
            if c.parent == t {
                c.waited_by_parent = false;
            }
        }
    }
}

/// Resumes a waiting thread from an nginx event handler with `nargs` values already pushed
/// onto its stack, then lets the phase finish the session when its Lua is done. The session
/// may be gone when this returns.
pub unsafe fn wake(sess: *mut Session, t: *mut Thread, nargs: c_int) {
    // SAFETY: sess and t are live (their events are cancelled when they go).
    unsafe {
        (*t).pending = None;
        (*t).on_cancel = None;
        let outcome = resume(sess, t, nargs);
        if !matches!(outcome, Outcome::Waiting) {
            if let Some(done) = (*sess).on_done {
                done(LiveSession::from_raw(sess).expect("a live session"), outcome);
            } else if (*sess).detached_done.is_some() {
                crate::runtime::detached::finish(sess, outcome);
            }
        }
    }
}

/// Resumes the thread named `key` with the values `push` leaves on its coroutine (it returns
/// how many), as `wake` does; nothing happens when the thread has ended or its session went.
/// Its wait is over: its cancel function is dropped unrun.
pub fn wake_thread(key: ThreadKey, push: impl FnOnce(&mut Call) -> c_int) {
    let found = with_thread(key, |t| {
        t.stop_waiting();
        let n = push(&mut t.resume_values());
        (t.sess, t as *mut Thread, n)
    });
    let Some((sess, t, n)) = found else { return };
    // SAFETY: the thread was in the table, so it and its session (which owns it) are live,
    // and no borrow of either is held now.
    unsafe { wake(sess, t, n) }
}

/// The kind of a failed resume and its error message (the error value on top of `co`).
fn error_of(co: CoState, rc: c_int) -> (&'static str, String) {
    let kind = match rc {
        LUA_ERRRUN => "runtime error",
        LUA_ERRSYNTAX => "syntax error",
        LUA_ERRMEM => "memory allocation error",
        LUA_ERRERR => "error handler error",
        _ => "unknown error",
    };
    (kind, co.error_text().unwrap_or_else(|| "unknown reason".to_string()))
}

/// The entry thread or light thread `t` failed (its error value on top of its stack): logged
/// in upstream's words; the entry thread's failure ends the session's Lua (`Some`), a light
/// thread's leaves `false, err` for `ngx.thread.wait`.
unsafe fn thread_failed(sess: *mut Session, t: *mut Thread, kind: &str, msg: &str, trace: &str) -> Option<Outcome> {
    // SAFETY: sess and t are live.
    unsafe {
        let user = (*t).user;
        // upstream runs these phases with a plain pcall, hence their own wording
        let line = match (*sess).phase {
            _ if user => format!("stream lua user thread aborted: {kind}: {msg}\n{trace}"),
            Phase::Log => format!("failed to run log_by_lua*: {msg}\n{trace}"),
            Phase::Balancer => format!("failed to run balancer_by_lua*: {msg}\n{trace}"),
            _ => format!("lua entry thread aborted: {kind}: {msg}\n{trace}"),
        };
        log_error(NGX_LOG_ERR, (*sess).log(), 0, line.as_bytes());
        if !user {
            (*t).status = ThreadStatus::Dead;
            (*sess).posted.clear();
            return Some(Outcome::Failed);
        }
        // what ngx.thread.wait returns for it: false, then what the failed coroutine's stack
        // holds (LuaJIT leaves the failing frame's values below the error, e.g. the argument
        // given to error()), as upstream returns it
        let co = (*t).co_state();
        co.push_bool(false);
        co.insert(1);
        thread_ended(sess, t);
        None
    }
}

/// A traceback in upstream's layout: `stack traceback:`, then `coroutine N:` and the frames
/// of the failing thread (0) and of each live parent up the chain (1, 2, ...).
pub unsafe fn traceback(t: *mut Thread) -> String {
    let mut out = String::from("stack traceback:");
    let mut t = t;
    let mut id = 0;
    // SAFETY: the threads of a chain are live (a parent outlives its running children).
    unsafe {
        while !t.is_null() && id < 5 {
            out.push_str(&format!("\ncoroutine {id}:"));
            // the entry thread's function is the handler's code itself: upstream shows it as
            // the main chunk (its LuaJIT runs the chunk, ours a closure made from it)
            let entry = !(*t).user && !(*t).coroutine;
            (*t).co_state().frames(&mut out, entry);
            id += 1;
            t = (*t).parent;
            if !t.is_null() && (*t).status == ThreadStatus::Dead {
                break;
            }
        }
    }
    out
}
