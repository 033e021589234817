//! Lua code that runs with no nginx session (a timer's callback): a stand-in session holds
//! its thread while it runs, and is freed when the thread ends.

use std::ffi::c_int;

use crate::runtime::live::LiveSession;
use crate::runtime::scheduler::{resume, Outcome};
use crate::runtime::session::{client_context, Phase, Session, TIMER_CONTEXT};
use crate::runtime::thread::ThreadKey;
use crate::runtime::vm::VmRef;
use crate::sys::recycled::Recycled;
use crate::sys::*;

/// What a detached run starts from.
pub struct Detached {
    pub main: MainState,
    /// A session's own VM (code cache off), held until the run ends.
    pub own_vm: Option<VmRef>,
    pub phase: Phase,
    /// Appended to the log context of the run's lines (a timer's origin).
    pub origin: String,
    /// The callback on the bottom of the coroutine's stack, then `nargs` arguments.
    pub co: Coroutine,
    pub nargs: c_int,
    /// Called once the thread has ended, before the stand-in session goes.
    pub done: fn(Outcome),
}

/// A stand-in session (no nginx session: `init_worker_by_lua`, a timer's callback), owned by
/// the run that holds the handle: it is freed when the handle goes, unless the run `leave`s it
/// to a waiting thread (whose end `reclaim`s it).
pub struct StandIn(LiveSession);

impl StandIn {
    /// A new stand-in session for `phase` in the VM of `main`.
    pub fn new(main: MainState, phase: Phase) -> StandIn {
        let p = Session::new_fake(main, phase).into_raw();
        // SAFETY: a fresh boxed session, live until this handle's Drop frees it.
        StandIn(unsafe { LiveSession::from_raw(p) }.expect("a boxed session"))
    }

    pub fn live(&self) -> &LiveSession {
        &self.0
    }

    /// The session outlives the handle: its thread waits, and `reclaim` takes it back when
    /// the thread ends.
    pub fn leave(self) {
        std::mem::forget(self);
    }

    /// The stand-in session a run `leave`s, back when its thread has ended.
    ///
    /// # Safety
    /// `sess` is a session `leave` left, and nothing else refers to it any more.
    pub unsafe fn reclaim(sess: LiveSession) -> StandIn {
        StandIn(sess)
    }
}

impl Drop for StandIn {
    fn drop(&mut self) {
        // SAFETY: the session came from Recycled::into_raw in `new` (the handle owns it: `leave`
        // forgets the handle, `reclaim` makes it again), and nothing refers to it any more.
        drop(unsafe { Recycled::from_raw(self.0.as_ptr()) });
    }
}

/// Runs `run.co` as the entry thread of a stand-in session.
pub fn run_detached(run: Detached) {
    let st = StandIn::new(run.main, run.phase);
    let co = run.co.into_anchored();
    let thread = st.live().with(|sess| {
        sess.own_vm = run.own_vm;
        sess.add_log_context(&run.origin);
        sess.rare_mut().detached_done = Some(run.done);
        // its entry thread holds the coroutine with the callback and its arguments
        sess.add_thread_key(co, false, ThreadKey::NONE)
    });
    match resume(st.live().view(), thread, run.nargs) {
        Outcome::Waiting => st.leave(),
        outcome => finish(st, outcome),
    }
}

/// The stand-in session's thread has ended: report, then free it.
pub(super) fn finish(st: StandIn, outcome: Outcome) {
    let rc = match outcome {
        Outcome::Exited(code) => code,
        Outcome::Failed => NGX_ERROR as isize,
        _ => NGX_OK as isize,
    };
    if let Some(done) = st.live().with(|s| s.rare().and_then(|r| r.detached_done)) {
        done(outcome);
    }
    cycle_debug_fmt(format_args!("stream lua finalize fake request: {rc}"));
    cycle_debug_fmt(format_args!("stream lua close fake stream connection {:p}", st.live().as_ptr()));
}

impl Session {
    /// The client and server named by the log lines of a timer this session creates: its
    /// own, or, for a timer's stand-in session, the ones that timer inherited (upstream's
    /// fake connections carry them from timer to timer).
    pub fn timer_origin(&self) -> String {
        match self.stream() {
            Some(s) => client_context(&s),
            None => self.log_context().strip_prefix(TIMER_CONTEXT).unwrap_or_default().to_owned(),
        }
    }
}
