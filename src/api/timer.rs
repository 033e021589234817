//! `ngx.timer.at`, `ngx.timer.every`, `ngx.timer.running_count`, `ngx.timer.pending_count`.
//!
//! A timer holds a coroutine with the callback and its arguments. When it fires, the callback
//! runs as the entry thread of a session-less context (it may sleep and, later, use sockets).
//! When the worker shuts down, pending timers run at once with `premature = true`: a fake
//! idle "watcher" connection is closed by nginx at graceful shutdown and triggers that.

use std::cell::RefCell;
use std::collections::HashSet;
use std::ffi::{c_int, c_void, CStr};
use std::ptr;

use crate::api::current_session;
use crate::runtime::scheduler::{resume, Outcome};
use crate::runtime::session::{Phase, Session};
use crate::runtime::vm::{VmRef, COROUTINES};
use crate::sys::*;
use crate::{lua_api, lua_calls};

pub const DEFAULT_MAX_PENDING: usize = 1024;
pub const DEFAULT_MAX_RUNNING: usize = 256;

struct Timer {
    ev: ngx_event_t,
    /// The VM main state, and the VM itself when it is a session's own (code cache off).
    l: *mut lua_State,
    vm: Option<VmRef>,
    /// The coroutine: stack holds the callback then its arguments.
    co: *mut lua_State,
    co_ref: c_int,
    /// Repeat interval of `ngx.timer.every` (0 for `ngx.timer.at`).
    every: ngx_msec_t,
    /// The creating session's client and server, for the timer's log lines.
    origin: String,
}

/// Per-worker timer bookkeeping.
struct Timers {
    pending: HashSet<*mut Timer>,
    running: usize,
    watcher: *mut ngx_connection_t,
}

thread_local! {
    static TIMERS: RefCell<Timers> = RefCell::new(Timers {
        pending: HashSet::new(),
        running: 0,
        watcher: ptr::null_mut(),
    });
}

lua_api! {
    timer_at => at_impl,
    timer_every => every_impl,
}

lua_calls! {
    running_count => running_count_impl,
    pending_count => pending_count_impl,
}

pub fn inject(c: &mut Call, t: c_int) {
    let tt = c.new_table(0, 4);
    c.set_field_fn(tt, c"at", timer_at);
    c.set_field_fn(tt, c"every", timer_every);
    c.set_field_fn(tt, c"running_count", running_count);
    c.set_field_fn(tt, c"pending_count", pending_count);
    c.set_field(t, c"timer");
}

fn running_count_impl(c: &mut Call) -> LuaResult {
    c.push_int(TIMERS.with(|t| t.borrow().running) as i64);
    Ok(1)
}

fn pending_count_impl(c: &mut Call) -> LuaResult {
    c.push_int(TIMERS.with(|t| t.borrow().pending.len()) as i64);
    Ok(1)
}

unsafe fn at_impl(l: *mut lua_State) -> LuaResult {
    unsafe { add_timer(l, false) }
}

unsafe fn every_impl(l: *mut lua_State) -> LuaResult {
    unsafe { add_timer(l, true) }
}

unsafe fn add_timer(l: *mut lua_State, every: bool) -> LuaResult {
    let fname = if every { "every" } else { "at" };
    // SAFETY: l is the running state; values move between l and the new coroutine.
    unsafe {
        let nargs = raw::lua_gettop(l);
        if nargs < 2 {
            return err(format!("expecting at least 2 arguments but got {nargs}"));
        }
        if raw::lua_isnumber(l, 1) == 0 {
            let got = type_name(l, raw::lua_type(l, 1));
            return Err(LuaError::Arg(1, fname, format!("number expected, got {got}")));
        }
        let delay = (raw::lua_tonumber(l, 1) * 1000.0) as ngx_msec_t;
        if every && delay == 0 {
            return err("delay cannot be zero");
        }
        if raw::lua_type(l, 2) != LUA_TFUNCTION || raw::lua_iscfunction(l, 2) != 0 {
            return Err(LuaError::Arg(2, fname, "Lua function expected".into()));
        }
        let sess = current_session(l).map_err(|_| LuaError::Msg("no request".into()))?;
        if ngx_exiting != 0 && delay > 0 {
            raw::lua_pushnil(l);
            push_bytes(l, b"process exiting");
            return Ok(2);
        }
        let max = max_pending();
        if TIMERS.with(|t| t.borrow().pending.len()) >= max {
            raw::lua_pushnil(l);
            push_bytes(l, b"too many pending timers");
            return Ok(2);
        }
        // (while exiting, only 0-delay timers are made: they simply run; the watcher that
        // aborts pending timers is gone by then, and a new one would outlive the worker)
        if ngx_exiting == 0 && !ensure_watcher() {
            return err("no memory");
        }
        let vm_l = (*sess).l;
        let (co, co_ref) = new_timer_thread(vm_l, l, 2, nargs - 2);
        let t = Box::into_raw(Box::new(Timer {
            ev: std::mem::zeroed(),
            l: vm_l,
            vm: (*sess).own_vm.clone(),
            co,
            co_ref,
            every: if every { delay } else { 0 },
            origin: origin_of(sess),
        }));
        arm(t, delay);
        raw::lua_pushinteger(l, 1);
        Ok(1)
    }
}

/// The client and server named by the log lines of a timer `sess` creates: its own, or, when
/// `sess` is itself a timer, the ones that timer inherited (upstream's fake connections carry
/// them from timer to timer).
unsafe fn origin_of(sess: *mut Session) -> String {
    use crate::runtime::session::{client_context, TIMER_CONTEXT};
    // SAFETY: sess is the running (possibly fake) session; one with an nginx session keeps it
    // alive while its Lua runs.
    unsafe {
        if (*sess).s.is_null() {
            return (*sess).log_context.strip_prefix(TIMER_CONTEXT).unwrap_or_default().to_owned();
        }
        client_context((*sess).s)
    }
}

/// The `lua_max_pending_timers` of the running cycle.
fn max_pending() -> usize {
    crate::conf::cycle_main_conf().map_or(DEFAULT_MAX_PENDING, |m| m.max_pending_timers.unwrap_or(DEFAULT_MAX_PENDING))
}

fn max_running() -> usize {
    crate::conf::cycle_main_conf().map_or(DEFAULT_MAX_RUNNING, |m| m.max_running_timers.unwrap_or(DEFAULT_MAX_RUNNING))
}

/// A coroutine of `vm` (sharing its `_G`), holding the function at `from[func]` and the
/// `nargs` values above it (moved out of `from`).
unsafe fn new_timer_thread(
    vm: *mut lua_State,
    from: *mut lua_State,
    func: c_int,
    nargs: c_int,
) -> (*mut lua_State, c_int) {
    // SAFETY: vm is idle apart from the running thread `from`, which belongs to it.
    unsafe {
        raw::lua_getfield(vm, LUA_REGISTRYINDEX, COROUTINES.as_ptr());
        let co = raw::lua_newthread(vm);
        let co_ref = raw::luaL_ref(vm, -2);
        raw::lua_settop(vm, -2);
        raw::lua_pushvalue(from, func);
        raw::lua_xmove(from, co, 1);
        if nargs > 0 {
            raw::lua_xmove(from, co, nargs);
        }
        (co, co_ref)
    }
}

unsafe fn arm(t: *mut Timer, delay: ngx_msec_t) {
    // SAFETY: t is a live timer owned by the pending set from here on.
    unsafe {
        (*t).ev.handler = Some(fired);
        (*t).ev.data = t as *mut c_void;
        (*t).ev.log = cycle_log();
        ngx_add_timer(&mut (*t).ev, delay);
    }
    TIMERS.with(|ts| ts.borrow_mut().pending.insert(t));
}

unsafe extern "C" fn fired(ev: *mut ngx_event_t) {
    guard((), || {
        log_debug(cycle_log(), "stream lua ngx.timer expired");
        // SAFETY: ev is the event of a pending timer.
        // premature runs come from abort_pending only: a timer that fires while the worker
        // exits (a 0-delay one made then) runs normally, as upstream's
        unsafe { run((*ev).data as *mut Timer, false) }
    })
}

/// Runs a due (or, at shutdown, premature) timer.
unsafe fn run(t: *mut Timer, premature: bool) {
    TIMERS.with(|ts| ts.borrow_mut().pending.remove(&t));
    // SAFETY: t came from Box::into_raw in add_timer and is no longer pending.
    let mut t = unsafe { Box::from_raw(t) };
    unsafe {
        if t.every > 0 && ngx_exiting == 0 {
            // the next run is armed before this one starts, with the same function and args
            let n = raw::lua_gettop(t.co);
            for i in 1..=n {
                raw::lua_pushvalue(t.co, i);
            }
            let (co, co_ref) = new_timer_thread(t.l, t.co, n + 1, n - 1);
            raw::lua_settop(t.co, n);
            let next = Box::into_raw(Box::new(Timer {
                ev: std::mem::zeroed(),
                l: t.l,
                vm: t.vm.clone(),
                co,
                co_ref,
                every: t.every,
                origin: t.origin.clone(),
            }));
            arm(next, t.every);
        }
        let max = max_running();
        if TIMERS.with(|ts| ts.borrow().running) >= max {
            let why = format!("stream lua: {max} lua_max_running_timers are not enough");
            log_failed(&t, &why);
            drop_thread(&t);
            return;
        }
        let mut sess = Session::new_fake(t.l, Phase::Timer);
        // the timer's hold on a session's own VM passes to its run (not a second one: upstream's
        // VM reference count, in its debug lines, counts the pending timer and its run as one)
        sess.own_vm = t.vm.take();
        sess.log_context.push_str(&t.origin);
        let sess = Box::into_raw(sess);
        let thread = (*sess).add_thread(t.co, t.co_ref, false, ptr::null_mut());
        (*sess).on_done = Some(done);
        TIMERS.with(|ts| ts.borrow_mut().running += 1);
        raw::lua_pushboolean(t.co, premature as c_int);
        raw::lua_insert(t.co, 2);
        let n = raw::lua_gettop(t.co) - 1;
        let outcome = resume(sess, thread, n);
        if !matches!(outcome, Outcome::Waiting) {
            done(sess, outcome);
        }
    }
}

/// The timer's thread has ended: free its context.
unsafe fn done(sess: *mut Session, outcome: Outcome) {
    TIMERS.with(|ts| ts.borrow_mut().running -= 1);
    let rc = match outcome {
        Outcome::Exited(code) => code,
        Outcome::Failed => NGX_ERROR as isize,
        _ => NGX_OK as isize,
    };
    log_debug(cycle_log(), &format!("stream lua finalize fake request: {rc}"));
    log_debug(cycle_log(), &format!("stream lua close fake stream connection {sess:p}"));
    // SAFETY: sess came from Box::into_raw in run().
    drop(unsafe { Box::from_raw(sess) });
}

unsafe fn log_failed(t: &Timer, why: &str) {
    // SAFETY: the callback is at the bottom of the timer's coroutine stack.
    unsafe {
        let mut ar: raw::lua_Debug = std::mem::zeroed();
        raw::lua_pushvalue(t.co, 1);
        raw::lua_getinfo(t.co, c">Sf".as_ptr(), &mut ar);
        raw::lua_settop(t.co, -2);
        let src = if ar.source.is_null() {
            "(unknown)".into()
        } else {
            CStr::from_ptr(ar.source).to_string_lossy().into_owned()
        };
        let line = format!("stream lua failed to run timer with function defined at {src}:{}: {why}", ar.linedefined);
        log_error(NGX_LOG_ALERT, cycle_log(), 0, line.as_bytes());
    }
}

unsafe fn drop_thread(t: &Timer) {
    // SAFETY: the coroutine is anchored in the VM's coroutine table.
    unsafe {
        raw::lua_getfield(t.l, LUA_REGISTRYINDEX, COROUTINES.as_ptr());
        raw::luaL_unref(t.l, -1, t.co_ref);
        raw::lua_settop(t.l, -2);
    }
}

/// Creates the idle fake connection whose closing at graceful shutdown runs pending timers.
unsafe fn ensure_watcher() -> bool {
    if TIMERS.with(|t| !t.borrow().watcher.is_null()) {
        return true;
    }
    // SAFETY: ngx_get_connection records fd 0 in cycle->files; restore that slot.
    unsafe {
        let files = (*ngx_cycle).files;
        let saved = if files.is_null() { ptr::null_mut() } else { *files };
        let c = ngx_get_connection(0, cycle_log());
        if !files.is_null() {
            *files = saved;
        }
        if c.is_null() {
            return false;
        }
        (*c).fd = -2; // neither a real socket nor the -1 nginx skips when counting open ones
        (*c).set_idle(1);
        (*(*c).read).handler = Some(abort_pending);
        TIMERS.with(|t| t.borrow_mut().watcher = c);
    }
    true
}

unsafe extern "C" fn abort_pending(ev: *mut ngx_event_t) {
    guard((), || {
        // SAFETY: ev is the watcher's read event; nginx closes idle connections on shutdown.
        unsafe {
            let c = (*ev).data as *mut ngx_connection_t;
            if (*c).close() == 0 {
                return;
            }
            (*c).fd = -1;
            ngx_free_connection(c);
            TIMERS.with(|t| t.borrow_mut().watcher = ptr::null_mut());
            log_debug(cycle_log(), "lua abort pending timers");
            let pending: Vec<*mut Timer> = TIMERS.with(|t| t.borrow().pending.iter().copied().collect());
            log_debug(
                cycle_log(),
                &format!("stream lua found {} pending timers to be aborted prematurely", pending.len()),
            );
            for t in pending {
                if (*t).ev.timer_set() != 0 {
                    ngx_del_timer(&mut (*t).ev);
                }
                log_debug(cycle_log(), "stream lua ngx.timer expired");
                run(t, true);
            }
        }
    })
}
