//! Runs entry coroutines: creation (sharing the VM's `_G`, as upstream), raw `lua_resume`, and turning
//! the result into what the phase handler must do next.

use std::ffi::c_int;
use std::sync::atomic::{AtomicPtr, Ordering};

use crate::runtime::code::Code;
use crate::runtime::handle::SessionRef;
use crate::runtime::live::LiveSession;
use crate::runtime::session::{CoOp, Phase, Session};
use crate::runtime::thread::{thread_live, with_thread, Status as ThreadStatus, Thread, ThreadKey};
use crate::sys::co_state::CoState;
use crate::sys::*;

/// The session whose Lua code runs now. The built-in layer's `get_request()` reads this
/// variable through the FFI (`ngx_stream_lua_rs_running`), which LuaJIT compiles to one load:
/// `getfenv(0).__ngx_req` does not compile (OpenResty's LuaJIT has `thread.exdata` for
/// this), and a function call per read cost `ngx.var` reads ~3 ns. The value only changes
/// around a resume, which no trace runs through.
#[export_name = "ngx_stream_lua_rs_running"]
pub static RUNNING: AtomicPtr<Session> = AtomicPtr::new(std::ptr::null_mut());

/// Runs `f` with `sess` as the running session, or none (restored after: resumes may nest).
/// Taking the handle is what makes `current_log` and `SessionRef::current` sound: the session
/// is live for as long as the handle, which outlives `f`.
pub fn with_running<R>(sess: Option<SessionRef<'_>>, f: impl FnOnce() -> R) -> R {
    let p = sess.map_or(std::ptr::null_mut(), SessionRef::as_ptr);
    let prev = RUNNING.swap(p, Ordering::Relaxed);
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
pub fn run_entry(sess: SessionRef<'_>, code: &Code) -> Outcome {
    // a new phase of the same session starts with a new entry thread
    sess.release_threads();
    let (main, code_cache, log) = sess.with(|s| (s.l, s.code_cache, s.logger()));
    // (evaluating nginx variables runs no Lua)
    let resolved = sess.with(|s| code.resolve(s.stream()));
    let key = match &resolved {
        Some(Ok(file)) => &file.key,
        _ => &code.key,
    };
    // (formatted only when debug lines can be written: this runs for every session)
    log.debug_fmt(format_args!("looking up Lua code cache with key '{key}'"));
    // SAFETY: l is the main state of the VM the session runs in, which outlives the session
    // (not `sess.vm()`: holding the session's own VM again would log its reference count);
    // no Lua runs on it while a phase starts its entry thread.
    let mut c = unsafe { Call::nested(main.as_ptr()) };
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
    let co = c.move_to_new_coroutine(main, func, 0).into_anchored();
    c.set_top(top);
    // the new thread holds the coroutine with the entry function
    let t = sess.with(|s| s.add_thread_key(co, false, ThreadKey::NONE));
    resume(sess, t, 0)
}

/// What a thread is, as the scheduler reads it before resuming it.
struct Kind {
    co: CoState,
    user: bool,
    coroutine: bool,
    wrap: bool,
}

impl Kind {
    fn of(th: &Thread) -> Kind {
        Kind { co: th.co_state(), user: th.user(), coroutine: th.coroutine(), wrap: th.wrap() }
    }
}

/// Sets the status of thread `key` (nothing when it has ended: it is dead already).
fn set_status(key: ThreadKey, status: ThreadStatus) {
    with_thread(key, |t| t.status = status);
}

/// Resumes thread `t` with `nargs` values on its stack, then every thread that became ready
/// meanwhile (a parent that spawned, a parent waiting on an ended thread), in the order they
/// became ready, like upstream's posted threads. Returns when every ready thread waits for an
/// event (`Waiting`), or the session's Lua is done.
///
/// The session and each thread are borrowed only for the short reads and writes between two
/// resumes: the Lua code that runs changes both (through the C ABI and the API).
pub fn resume(sess: SessionRef<'_>, t: ThreadKey, nargs: c_int) -> Outcome {
    resume_known(sess, t, nargs, None)
}

/// `resume`, with what the caller already read of thread `t` (an event that found it).
fn resume_known(sess: SessionRef<'_>, t: ThreadKey, nargs: c_int, kind: Option<Kind>) -> Outcome {
    let (mut t, mut nargs, mut kind) = (t, nargs, kind);
    loop {
        if let Some(next) = step(sess, t, nargs, kind.take()) {
            match next {
                Step::Run(p, n) => {
                    (t, nargs) = (p, n);
                    continue;
                }
                Step::Return(o) => return o,
            }
        }
        match sess.with(next_posted) {
            Some((p, n)) => (t, nargs) = (p, n),
            None if sess.with(|s| s.entry_finished && s.live_uthreads() == 0) => return Outcome::Finished,
            None => {
                // the Lua code waits: the deferred first output leaves now (see
                // `runtime::downstream::write`; at the end, `finalize` sends it with the FIN)
                sess.with(crate::runtime::downstream::send_deferred);
                return Outcome::Waiting;
            }
        }
    }
}

/// What the scheduler does after one resume, when not the next posted thread.
enum Step {
    /// Resume this thread with that many values.
    Run(ThreadKey, c_int),
    Return(Outcome),
}

/// Resumes thread `t` once and handles how it stopped. A thread that has ended (its key
/// finds nothing) is not resumed.
fn step(sess: SessionRef<'_>, t: ThreadKey, nargs: c_int, kind: Option<Kind>) -> Option<Step> {
    let k = match kind {
        Some(k) => k,
        None => with_thread(t, |th| Kind::of(th))?,
    };
    let co = k.co;
    sess.with(|s| s.set_cur(t));
    let rc = with_running(Some(sess), || co.resume(nargs));
    match rc {
        LUA_YIELD => {
            if let Some(code) = sess.with(|s| s.exit_code) {
                // ngx.exit ends every thread of the session
                sess.cancel_waits();
                sess.with(|s| s.posted.clear());
                return Some(Step::Return(Outcome::Exited(code)));
            }
            if let Some((child, n)) = sess.with(|s| s.take_rare(|r| r.spawned.take())) {
                // ngx.thread.spawn: the child runs first, the parent later gets the thread
                // object it yielded
                sess.with(|s| s.posted.push_back((t, 1)));
                return Some(Step::Run(child, n));
            }
            if let Some(op) = sess.with(|s| s.take_rare(|r| r.co_op.take())) {
                return match op {
                    CoOp::Resume(child, n) => {
                        set_status(t, ThreadStatus::Normal);
                        set_status(child, ThreadStatus::Running);
                        Some(Step::Run(child, n))
                    }
                    CoOp::Yield(n) => {
                        set_status(t, ThreadStatus::Suspended);
                        // (none: the resumer was killed meanwhile; the other threads go on)
                        back_to_parent(t, true, n)
                    }
                };
            }
            if with_thread(t, |th| th.pending.is_none()) == Some(true) {
                // a plain coroutine.yield() in a thread: it lets the other ready threads run
                // first, then goes on (upstream's manual time slicing)
                co.set_top(0);
                sess.with(|s| s.posted.push_back((t, 0)));
            }
            None
        }
        0 if k.coroutine => {
            let n = co.top();
            let next = back_to_parent(t, true, n);
            bury_coroutine(sess, t, co);
            next
        }
        _ if k.coroutine && k.wrap => wrap_failed(sess, t, co, rc),
        _ if k.coroutine => {
            // coroutine.resume returns false and the error
            let next = back_to_parent(t, false, 1);
            bury_coroutine(sess, t, co);
            next
        }
        0 if !k.user => {
            set_status(t, ThreadStatus::Dead);
            // the session goes on until its light threads end too
            sess.with(|s| s.entry_finished = true);
            None
        }
        0 => {
            co.push_bool(true);
            co.insert(1);
            thread_ended(sess, t);
            None
        }
        _ => {
            let (kind, msg) = error_of(co, rc);
            let trace = traceback(t);
            thread_failed(sess, t, k.user, kind, &msg, &trace).map(Step::Return)
        }
    }
}

/// A user coroutine returned or failed, and its resumer has its values: it ends (see
/// `Thread::end`), so it holds no anchor and leaves the session's list. Values no resumer
/// took (it was killed) are dropped, so that Lua's own `coroutine.resume` and `status` see
/// a dead coroutine too.
fn bury_coroutine(sess: SessionRef<'_>, t: ThreadKey, co: CoState) {
    co.set_top(0);
    let main = sess.with(|s| s.main());
    with_thread(t, |th| th.end(main));
}

/// A `coroutine.wrap` coroutine failed: the error goes up to the first parent that is not a
/// wrapped coroutine, with the traceback of the whole chain (upstream's).
fn wrap_failed(sess: SessionRef<'_>, t: ThreadKey, co: CoState, rc: c_int) -> Option<Step> {
    let (kind, msg) = error_of(co, rc);
    let trace = traceback(t);
    let mut p = t;
    // (a parent that has ended: the error goes nowhere, as when it was killed)
    let coroutine = loop {
        let (coroutine, wrap, parent) = with_thread(p, |th| (th.coroutine(), th.wrap(), th.parent))?;
        if !(coroutine && wrap) {
            break coroutine;
        }
        set_status(p, ThreadStatus::Dead);
        p = parent;
    };
    if coroutine {
        // a coroutine.resume'd parent: its resumer gets false and the error
        let q = with_thread(p, |th| {
            th.status = ThreadStatus::Dead;
            th.parent
        })?;
        let qc = with_thread(q, |th| {
            th.status = ThreadStatus::Running;
            th.co_state()
        })?;
        qc.push_bool(false);
        qc.push_bytes(msg.as_bytes());
        return Some(Step::Run(q, 2));
    }
    let (pc, user) = with_thread(p, |th| (th.co_state(), th.user()))?;
    pc.set_top(0);
    pc.push_bytes(msg.as_bytes());
    thread_failed(sess, p, user, kind, &msg, &trace).map(Step::Return)
}

/// The next posted thread that is still live (a thread killed while posted is skipped: it
/// left the thread table when it ended), with how many values it is resumed with.
fn next_posted(sess: &mut Session) -> Option<(ThreadKey, c_int)> {
    while let Some((key, n)) = sess.posted.pop_front() {
        if thread_live(key) {
            return Some((key, n));
        }
    }
    None
}

/// A user coroutine yielded, returned or failed: its resumer gets `ok` and the top `n` values
/// of its stack (a `coroutine.wrap` function's caller gets the values alone, as upstream's),
/// and runs next with that many values. None when the resumer has ended (killed meanwhile):
/// the values are left where they are.
fn back_to_parent(t: ThreadKey, ok: bool, n: c_int) -> Option<Step> {
    let (co, parent, wrap) = with_thread(t, |th| (th.co_state(), th.parent, th.wrap()))?;
    let pc = with_thread(parent, |p| {
        p.status = ThreadStatus::Running;
        p.co_state()
    })?;
    if !wrap {
        pc.push_bool(ok);
    }
    co.move_to(pc, n);
    Some(Step::Run(parent, n + c_int::from(!wrap)))
}

/// A light thread ended: hand its results to a parent waiting on it (which becomes ready), or
/// keep them for a later `ngx.thread.wait`.
fn thread_ended(sess: SessionRef<'_>, t: ThreadKey) {
    let Some((co, waited, parent)) = with_thread(t, |th| {
        th.status = ThreadStatus::Zombie;
        (th.co_state(), th.waited_by_parent(), th.parent)
    }) else {
        return;
    };
    if !waited {
        return;
    }
    // (a parent that has ended waits on nothing)
    let pc = with_thread(parent, |p| {
        p.waits_on_threads().then(|| {
            // its wait is over: its cancel function goes unrun
            p.pending = None;
            p.set_waits_on_threads(false);
            p.co_state()
        })
    });
    let Some(Some(pc)) = pc else { return };
    sess.with(|s| stop_children_wait(s, parent));
    let n = co.top();
    co.move_to(pc, n);
    let main = sess.with(|s| s.main());
    with_thread(t, |th| th.end(main));
    sess.with(|s| s.posted.push_back((parent, n)));
}

/// The children of `parent` are no longer waited on.
fn stop_children_wait(sess: &mut Session, parent: ThreadKey) {
    for c in sess.threads.iter_mut() {
        if c.parent == parent {
            c.set_waited_by_parent(false);
        }
    }
}

/// Resumes the waiting thread `key` of `sess` from an nginx event handler with `nargs` values
/// already pushed onto its stack, then lets the phase finish the session when its Lua is done.
/// Nothing happens when the thread has ended. The session may be gone when this returns.
pub fn wake_key(sess: LiveSession, key: ThreadKey, nargs: c_int) {
    let Some(kind) = with_thread(key, |t| {
        t.pending = None;
        Kind::of(t)
    }) else {
        return;
    };
    wake_found(sess, key, nargs, kind);
}

/// `wake_key` for a thread found live, its wait over, read as `kind`.
fn wake_found(sess: LiveSession, key: ThreadKey, nargs: c_int, kind: Kind) {
    let outcome = resume_known(sess.view(), key, nargs, Some(kind));
    if !matches!(outcome, Outcome::Waiting) {
        let (on_done, detached) = sess.with(|s| (s.on_done, s.rare().is_some_and(|r| r.detached_done.is_some())));
        if let Some(done) = on_done {
            done(sess, outcome);
        } else if detached {
            // SAFETY: a stand-in session's thread has ended: nothing else refers to it.
            let st = unsafe { crate::runtime::detached::StandIn::reclaim(sess) };
            crate::runtime::detached::finish(st, outcome);
        }
    }
}

/// Resumes the thread named `key` with the values `push` leaves on its coroutine (it returns
/// how many), as `wake` does; nothing happens when the thread has ended or its session went.
/// Its wait is over: its cancel function is dropped unrun.
pub fn wake_thread(key: ThreadKey, push: impl FnOnce(&mut Call) -> c_int) {
    wake_keyed(key, None, |t| push(&mut t.resume_values()))
}

/// `wake_thread` with no values, for a wait whose handler logs `line` at debug level first
/// (in the thread's session's log).
pub fn wake_thread_noting(key: ThreadKey, line: &str) {
    wake_keyed(key, Some(line), |_| 0)
}

fn wake_keyed(key: ThreadKey, note: Option<&str>, push: impl FnOnce(&mut Thread) -> c_int) {
    let found = with_thread(key, |t| {
        t.stop_waiting();
        let n = push(t);
        (t.sess, n, Kind::of(t))
    });
    let Some((sess, n, kind)) = found else { return };
    if let Some(sess) = LiveSession::by_key(sess) {
        if let Some(line) = note {
            sess.view().log().debug(line);
        }
        wake_found(sess, key, n, kind);
    }
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
fn thread_failed(
    sess: SessionRef<'_>,
    t: ThreadKey,
    user: bool,
    kind: &str,
    msg: &str,
    trace: &str,
) -> Option<Outcome> {
    // upstream runs these phases with a plain pcall, hence their own wording
    let line = match sess.phase() {
        _ if user => format!("stream lua user thread aborted: {kind}: {msg}\n{trace}"),
        Phase::Log => format!("failed to run log_by_lua*: {msg}\n{trace}"),
        Phase::Balancer => format!("failed to run balancer_by_lua*: {msg}\n{trace}"),
        _ => format!("lua entry thread aborted: {kind}: {msg}\n{trace}"),
    };
    sess.log().error(NGX_LOG_ERR, 0, line.as_bytes());
    if !user {
        set_status(t, ThreadStatus::Dead);
        sess.with(|s| s.posted.clear());
        return Some(Outcome::Failed);
    }
    // what ngx.thread.wait returns for it: false, then what the failed coroutine's stack
    // holds (LuaJIT leaves the failing frame's values below the error, e.g. the argument
    // given to error()), as upstream returns it
    let co = with_thread(t, |th| th.co_state())?;
    co.push_bool(false);
    co.insert(1);
    thread_ended(sess, t);
    None
}

/// A traceback in upstream's layout: `stack traceback:`, then `coroutine N:` and the frames
/// of the failing thread (0) and of each live parent up the chain (1, 2, ...).
fn traceback(t: ThreadKey) -> String {
    let mut out = String::from("stack traceback:");
    let mut t = t;
    let mut id = 0;
    while id < 5 {
        // the entry thread's function is the handler's code itself: upstream shows it as the
        // main chunk (its LuaJIT runs the chunk, ours a closure made from it)
        let Some((co, entry, parent)) = with_thread(t, |th| (th.co_state(), !th.user() && !th.coroutine(), th.parent))
        else {
            break;
        };
        out.push_str(&format!("\ncoroutine {id}:"));
        co.frames(&mut out, entry);
        id += 1;
        t = parent;
        if with_thread(t, |th| th.status == ThreadStatus::Dead) == Some(true) {
            break;
        }
    }
    out
}
