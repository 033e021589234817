//! `ngx.timer.at`, `ngx.timer.every`, `ngx.timer.running_count`, `ngx.timer.pending_count`.
//!
//! A timer holds a coroutine with the callback and its arguments. When it fires, the callback
//! runs as the entry thread of a session-less context (it may sleep and, later, use sockets).
//! When the worker shuts down, pending timers run at once with `premature = true`: an idle
//! stand-in connection, which nginx closes at graceful shutdown, triggers that.

use std::cell::RefCell;
use std::collections::HashMap;
use std::ffi::c_int;

use crate::lua_calls;
use crate::ngx_callbacks;
use crate::runtime::detached::{run_detached, Detached};
use crate::runtime::handle::SessionRef;
use crate::runtime::scheduler::Outcome;
use crate::runtime::session::Phase;
use crate::runtime::vm::VmRef;
use crate::sys::worker::{exiting, ShutdownWatch, WatchEvent};
use crate::sys::worker_local::WorkerLocal;
use crate::sys::*;

pub const DEFAULT_MAX_PENDING: usize = 1024;
pub const DEFAULT_MAX_RUNNING: usize = 256;

/// A timer waiting to fire. Fields drop in order: the coroutine goes before the VM it
/// belongs to.
struct Pending {
    ev: Timer,
    /// Its number in the order timers were made.
    seq: u64,
    /// The coroutine: its stack holds the callback then its arguments.
    co: Coroutine,
    main: MainState,
    /// The creating session's own VM (code cache off), held until the timer has run.
    vm: Option<VmRef>,
    /// Repeat interval of `ngx.timer.every` (0 for `ngx.timer.at`).
    every: ngx_msec_t,
    /// The creating session's client and server, for the timer's log lines.
    origin: String,
}

/// Per-worker timer bookkeeping. The timer's event carries its key into `pending`.
#[derive(Default)]
struct Timers {
    /// By the address of their event, which stays put (a `Timer` boxes it).
    pending: HashMap<usize, Box<Pending>>,
    /// How many timers were made, to number them (premature runs due at the same time go in
    /// that order).
    made: u64,
    running: usize,
    watch: Option<ShutdownWatch>,
}

/// The worker's timers, made on first use (a `static` cannot make a `HashMap` up front).
/// Never dropped: at process exit the cycle and the VMs are gone already, so what is left (a
/// graceful shutdown has run every pending timer by then) stays, reachable, as it is.
static TIMERS: WorkerLocal<RefCell<Option<Timers>>> = WorkerLocal::new(RefCell::new(None));

/// Runs `f` on the worker's timers (not re-entered: `f` calls no Lua).
fn timers<R>(f: impl FnOnce(&mut Timers) -> R) -> R {
    TIMERS.with(|t| f(t.borrow_mut().get_or_insert_with(Timers::default)))
}

lua_calls! {
    timer_at => at_impl,
    timer_every => every_impl,
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
    c.push_int(timers(|t| t.running) as i64);
    Ok(1)
}

fn pending_count_impl(c: &mut Call) -> LuaResult {
    c.push_int(timers(|t| t.pending.len()) as i64);
    Ok(1)
}

fn at_impl(c: &mut Call) -> LuaResult {
    add_timer(c, false)
}

fn every_impl(c: &mut Call) -> LuaResult {
    add_timer(c, true)
}

fn add_timer(c: &mut Call, every: bool) -> LuaResult {
    let fname = if every { "every" } else { "at" };
    let nargs = c.top();
    if nargs < 2 {
        return err(format!("expecting at least 2 arguments but got {nargs}"));
    }
    if !c.is_number(1) {
        return c.arg_error(1, fname, format!("number expected, got {}", c.type_name_at(1)));
    }
    let delay = (c.to_number(1) * 1000.0) as ngx_msec_t;
    if every && delay == 0 {
        return err("delay cannot be zero");
    }
    if c.type_of(2) != LUA_TFUNCTION || c.is_cfunction(2) {
        return c.arg_error(2, fname, "Lua function expected");
    }
    let sess = SessionRef::current(c).map_err(|_| LuaError::Msg("no request".into()))?;
    if exiting() && delay > 0 {
        return c.fail(b"process exiting");
    }
    if timers(|t| t.pending.len()) >= max_pending() {
        return c.fail(b"too many pending timers");
    }
    // (while exiting, only 0-delay timers are made: they simply run; the watch that aborts
    // pending timers is gone by then, and a new one would outlive the worker)
    if !exiting() && !ensure_watch() {
        return err("no memory");
    }
    let (main, vm) = sess.vm();
    let co = c.move_to_new_coroutine(main, 2, nargs - 2);
    let every = if every { delay } else { 0 };
    let origin = sess.with(|s| s.timer_origin());
    arm(Box::new(Pending { ev: Timer::new(), seq: 0, co, main, vm, every, origin }), delay);
    c.push_int(1);
    Ok(1)
}

/// The `lua_max_pending_timers` of the running cycle.
fn max_pending() -> usize {
    crate::conf::cycle_main_conf().map_or(DEFAULT_MAX_PENDING, |m| m.max_pending_timers.unwrap_or(DEFAULT_MAX_PENDING))
}

fn max_running() -> usize {
    crate::conf::cycle_main_conf().map_or(DEFAULT_MAX_RUNNING, |m| m.max_running_timers.unwrap_or(DEFAULT_MAX_RUNNING))
}

/// Makes `t` pending; its event fires after `delay`.
fn arm(mut t: Box<Pending>, delay: ngx_msec_t) {
    timers(|ts| {
        ts.made += 1;
        t.seq = ts.made;
        let key = t.ev.arm_keyed(delay, fired, Log::cycle().expect("the cycle's log"));
        ts.pending.insert(key, t);
    });
}

ngx_callbacks! {
    fn fired(ev: *mut ngx_event_t) [()] {
        let key = Timer::key_of(ev);
        cycle_debug("stream lua ngx.timer expired");
        // premature runs come from abort_pending only: a timer that fires while the worker
        // exits (a 0-delay one made then) runs normally, as upstream's
        if let Some(t) = timers(|ts| ts.pending.remove(&key)) {
            run(*t, false);
        }
    }
}

/// Runs a due (or, at shutdown, premature) timer.
fn run(t: Pending, premature: bool) {
    let Pending { ev, seq: _, mut co, main, vm, every, origin } = t;
    drop(ev);
    if every > 0 && !exiting() {
        // the next run is armed before this one starts, with the same function and args
        let next = Pending {
            ev: Timer::new(),
            seq: 0,
            co: co.duplicate(),
            main,
            vm: vm.clone(),
            every,
            origin: origin.clone(),
        };
        arm(Box::new(next), every);
    }
    let max = max_running();
    if timers(|ts| ts.running) >= max {
        let (src, line) = co.function_origin(1);
        let msg = format!(
            "stream lua failed to run timer with function defined at {src}:{line}: \
             stream lua: {max} lua_max_running_timers are not enough"
        );
        cycle_error(NGX_LOG_ALERT, 0, msg.as_bytes());
        drop(co); // before the VM it belongs to
        return;
    }
    timers(|ts| ts.running += 1);
    co.insert_bool(2, premature);
    let nargs = co.top() - 1;
    // the timer's hold on a session's own VM passes to its run (not a second one: upstream's
    // VM reference count, in its debug lines, counts the pending timer and its run as one)
    run_detached(Detached { main, own_vm: vm, phase: Phase::Timer, origin, co, nargs, done });
}

/// The timer's thread has ended.
fn done(_outcome: Outcome) {
    timers(|ts| ts.running -= 1);
}

/// Makes the idle stand-in connection whose closing at graceful shutdown runs pending timers.
fn ensure_watch() -> bool {
    timers(|t| {
        if t.watch.is_none() {
            t.watch = ShutdownWatch::new(abort_pending);
        }
        t.watch.is_some()
    })
}

ngx_callbacks! {
    fn abort_pending(ev: WatchEvent) [()] {
        if !ev.closed {
            return;
        }
        timers(|t| t.watch = None);
        cycle_debug("lua abort pending timers");
        // in the order they are due (upstream walks nginx's timer tree), then as they were made
        let mut keys: Vec<(Option<ngx_msec_t>, u64, usize)> =
            timers(|t| t.pending.iter().map(|(k, t)| (t.ev.due(), t.seq, *k)).collect());
        keys.sort_unstable();
        cycle_debug_fmt(format_args!("stream lua found {} pending timers to be aborted prematurely", keys.len()));
        for (_, _, key) in keys {
            // (one at a time: each run sees the others still pending, as upstream's do)
            if let Some(t) = timers(|ts| ts.pending.remove(&key)) {
                cycle_debug("stream lua ngx.timer expired");
                run(*t, true);
            }
        }
    }
}
