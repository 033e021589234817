//! `LiveSession`: the Lua context of a live nginx session, as the phase handlers hold it for
//! the length of one nginx callback. It is a pointer, not a borrow: running Lua changes the
//! session (through the C ABI), so the handle lends the session only through its `view` (a
//! `SessionRef`, whose `with` closure runs no Lua), and the scheduler calls take the handle
//! itself.

use std::ptr::NonNull;

use crate::runtime::code::Code;
use crate::runtime::handle::SessionRef;
use crate::runtime::scheduler::{self, Outcome};
use crate::runtime::session::{session_ptr, Session, SessionKey};
use crate::runtime::thread::{with_thread, ThreadKey};
use crate::runtime::vm::{Vm, VmRef};
use crate::sys::stream::StreamSession;

/// Not `Copy`: `finalize` consumes it, since the session may be freed there.
pub struct LiveSession(NonNull<Session>);

/// How the request socket hands over the thread waiting in its `peek` (none when no thread
/// waits there). The API layer registers it (`set_take_peeker`): the runtime does not name it.
pub type TakePeeker = fn(&mut Session) -> Option<ThreadKey>;

static TAKE_PEEKER: std::sync::OnceLock<TakePeeker> = std::sync::OnceLock::new();

/// Registers the request socket's `TakePeeker` (the first registration stays: it is the same
/// function at every configuration load).
pub fn set_take_peeker(f: TakePeeker) {
    let _ = TAKE_PEEKER.set(f);
}

/// A thread taken off a wait by `LiveSession::wake_peeker`, to be resumed.
pub struct Woken(ThreadKey);

impl LiveSession {
    /// # Safety
    /// `sess` is null or the context of a live nginx session, which stays live while the
    /// handle is used (the nginx callback that made it, until `finalize`).
    pub unsafe fn from_raw(sess: *mut Session) -> Option<LiveSession> {
        NonNull::new(sess).map(LiveSession)
    }

    /// The session named `key`, while it is live (none once it went). The session table
    /// holds only live sessions (a session leaves it in its Drop), so the handle is valid as
    /// `from_raw` requires for as long as the caller's nginx callback runs.
    pub fn by_key(key: SessionKey) -> Option<LiveSession> {
        session_ptr(key).map(LiveSession)
    }

    /// The context of `s`, if Lua has run for it (else `s` back). The context owns the nginx
    /// session from here on (`stream`, `finalize`).
    pub fn of(s: StreamSession<'_>) -> Result<LiveSession, StreamSession<'_>> {
        match LiveSession::of_ref(&s) {
            Some(sess) => Ok(sess),
            None => Err(s),
        }
    }

    /// The context of `s`, if Lua has run for it, while the caller goes on using `s`.
    pub fn of_ref(s: &StreamSession<'_>) -> Option<LiveSession> {
        // SAFETY: s is live; its context, when set, lives in its connection's pool.
        Session::of(s).and_then(|p| unsafe { LiveSession::from_raw(p) })
    }

    /// A new context for `s`, found by `of` from now on (else `s` back). It runs in its own VM
    /// `own_vm` (code cache off) or else in the cycle's `shared` one.
    pub fn attach<'a>(
        s: StreamSession<'a>,
        shared: Option<&Vm>,
        own_vm: Option<VmRef>,
    ) -> Result<LiveSession, StreamSession<'a>> {
        let code_cache = own_vm.is_none();
        let main = match (&own_vm, shared) {
            (Some(vm), _) => vm.main(),
            (None, Some(vm)) => vm.main(),
            (None, None) => return Err(s),
        };
        // SAFETY: the new context lives in the session's connection pool.
        match Session::attach(&s, main, code_cache, own_vm).and_then(|p| unsafe { LiveSession::from_raw(p) }) {
            Some(sess) => Ok(sess),
            None => Err(s),
        }
    }

    /// For `Session::on_done` and the runtime's raw entry points.
    pub fn as_ptr(&self) -> *mut Session {
        self.0.as_ptr()
    }

    /// The session as a `SessionRef`, for as long as the handle is borrowed.
    pub fn view(&self) -> SessionRef<'_> {
        // SAFETY: the session is live while the handle is (from_raw's contract), and phase
        // code holds no other borrow of it.
        unsafe { SessionRef::of_live(self.0) }
    }

    /// Runs `f` with the session borrowed; `f` is given no Lua state, so nothing it does
    /// reaches the session a second time.
    pub fn with<R>(&self, f: impl FnOnce(&mut Session) -> R) -> R {
        self.view().with(f)
    }

    /// The nginx session.
    pub fn stream(&self) -> StreamSession<'_> {
        // SAFETY: a live context's nginx session is live.
        unsafe { StreamSession::from_raw(self.with(|s| s.s.as_ptr())) }
            .expect("a session context has its nginx session")
    }

    /// Cancels what every thread waits for.
    pub fn cancel_wait(&self) {
        self.view().cancel_waits()
    }

    /// Lets go of every thread.
    pub fn release_threads(&self) {
        self.view().release_threads()
    }

    /// Starts `code` in a new entry thread and runs it as far as it goes.
    pub fn run_entry(&self, code: &Code) -> Outcome {
        scheduler::run_entry(self.view(), code)
    }

    /// The thread waiting in the request socket's `peek`, given `data` as its result; none
    /// when no thread waits there.
    pub fn wake_peeker(&self, data: &[u8]) -> Option<Woken> {
        let take = TAKE_PEEKER.get()?;
        let key = self.with(take)?;
        with_thread(key, |th| {
            th.stop_waiting();
            th.resume_values().push_bytes(data);
        })?;
        Some(Woken(key))
    }

    /// Resumes a thread `wake_peeker` woke, with its one value.
    pub fn resume(&self, t: Woken) -> Outcome {
        scheduler::resume(self.view(), t.0, 1)
    }

    /// Runs the session's phases again (see `StreamSession::run_phases`); it may end there.
    pub fn run_phases(self) {
        let s = self.stream().as_ptr();
        // SAFETY: the session is live; both handles are consumed.
        if let Some(s) = unsafe { StreamSession::from_raw(s) } {
            s.run_phases();
        }
    }

    /// Ends the session with `rc` (see `downstream::finalize`); it may be freed.
    pub fn finalize(self, rc: isize) {
        crate::runtime::downstream::finalize(self.stream(), rc)
    }
}
