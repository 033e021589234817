//! Lua code that runs with no nginx session (a timer's callback): a stand-in session holds
//! its thread while it runs, and is freed when the thread ends.

use std::ffi::c_int;

use crate::runtime::live::LiveSession;
use crate::runtime::scheduler::{resume, Outcome};
use crate::runtime::session::{client_context, Phase, Session, TIMER_CONTEXT};
use crate::runtime::thread::ThreadKey;
use crate::runtime::vm::VmRef;
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

/// Runs `run.co` as the entry thread of a stand-in session.
pub fn run_detached(run: Detached) {
    let mut sess = Session::new_fake(run.main.as_ptr(), run.phase);
    sess.own_vm = run.own_vm;
    sess.log_context.push_str(&run.origin);
    sess.detached_done = Some(run.done);
    let (co, anchor) = run.co.into_raw();
    // its entry thread holds the coroutine with the callback and its arguments
    let thread = sess.add_thread_key(co, anchor, false, ThreadKey::NONE);
    let sess = Box::into_raw(sess);
    // SAFETY: sess is a fresh stand-in session, owned by this run until `finish` frees it.
    let live = unsafe { LiveSession::from_raw(sess) }.expect("a boxed session");
    let outcome = resume(live.view(), thread, run.nargs);
    if !matches!(outcome, Outcome::Waiting) {
        // SAFETY: the thread has ended without waiting: nothing else refers to sess.
        unsafe { finish(sess, outcome) };
    }
}

/// The stand-in session's thread has ended: report, then free it.
///
/// # Safety
/// `sess` came from `run_detached`'s `Box::into_raw` and nothing refers to it any more.
pub(super) unsafe fn finish(sess: *mut Session, outcome: Outcome) {
    // SAFETY: the caller's contract.
    let sess = unsafe { Box::from_raw(sess) };
    let rc = match outcome {
        Outcome::Exited(code) => code,
        Outcome::Failed => NGX_ERROR as isize,
        _ => NGX_OK as isize,
    };
    if let Some(done) = sess.detached_done {
        done(outcome);
    }
    cycle_debug(&format!("stream lua finalize fake request: {rc}"));
    cycle_debug(&format!("stream lua close fake stream connection {:p}", &*sess));
}

impl Session {
    /// The client and server named by the log lines of a timer this session creates: its
    /// own, or, for a timer's stand-in session, the ones that timer inherited (upstream's
    /// fake connections carry them from timer to timer).
    pub fn timer_origin(&self) -> String {
        match self.stream() {
            Some(s) => client_context(&s),
            None => self.log_context.strip_prefix(TIMER_CONTEXT).unwrap_or_default().to_owned(),
        }
    }
}
