//! `SessionRef`: a live session, for the length of one Lua call (`current`) or of a phase
//! handler's borrow of its `LiveSession` (`LiveSession::view`). It is the one place that lends
//! a `&mut Session`, and never for longer than a closure: Lua code (a `__gc` handler, a
//! metamethod) may reach the same session, so borrows stay short and never span a call back
//! into Lua, as mlua's handles do with the Lua state.

use std::marker::PhantomData;
use std::ptr::NonNull;

use crate::runtime::scheduler::ngx_stream_lua_rs_get_request;
use crate::runtime::session::{Phase, Session};
use crate::runtime::thread::{with_thread, Thread};
use crate::runtime::vm::VmRef;
use crate::sys::*;

#[derive(Clone, Copy)]
pub struct SessionRef<'c> {
    p: NonNull<Session>,
    _call: PhantomData<&'c ()>,
}

impl<'c> SessionRef<'c> {
    /// The session the calling Lua code runs for (`no request found` outside any, as in
    /// upstream's `init_by_lua`).
    pub fn current(_call: &Call<'c>) -> Result<Self, LuaError> {
        match NonNull::new(ngx_stream_lua_rs_get_request()) {
            Some(p) => Ok(SessionRef { p, _call: PhantomData }),
            None => err("no request found"),
        }
    }

    /// The view of a phase handler's session.
    ///
    /// # Safety
    /// `p` is a live session for `'c` (`LiveSession` lends the view for as long as the handle
    /// is borrowed), borrowed by no one else while the view's `with` runs.
    pub(super) unsafe fn of_live(p: NonNull<Session>) -> Self {
        SessionRef { p, _call: PhantomData }
    }

    /// The session as an identity (the running-session marker), never dereferenced here.
    pub fn as_ptr(self) -> *mut Session {
        self.p.as_ptr()
    }

    /// Runs `f` with the session borrowed. `f` is given no Lua state, so nothing it does can
    /// run Lua code that would reach the session a second time.
    pub fn with<R>(self, f: impl FnOnce(&mut Session) -> R) -> R {
        // SAFETY: the running session outlives the Lua call ('c) that found it, and this is the
        // only borrow of it while f runs (the scheduler holds none while Lua runs).
        f(unsafe { &mut *self.p.as_ptr() })
    }

    /// The same thread-of-control borrow for the running thread.
    pub fn with_thread<R>(self, f: impl FnOnce(&mut Thread) -> R) -> R {
        self.with(|s| f(s.cur_thread().expect("Lua runs in a thread of its session")))
    }

    /// The main state of the VM the session runs in, with the session's own VM (code cache
    /// off) to hold beside anything made from it.
    pub fn vm(self) -> (MainState, Option<VmRef>) {
        self.with(|s| (s.main(), s.own_vm.clone()))
    }

    pub fn phase(self) -> Phase {
        self.with(|s| s.phase)
    }

    /// The session's log (its connection's, or the stand-in of a session-less context).
    pub fn log(self) -> Log {
        self.with(|s| s.logger())
    }

    /// Whether the session is a UDP one (a datagram connection).
    pub fn is_udp(self) -> bool {
        self.with(|s| s.stream().is_some_and(|st| st.is_udp()))
    }

    /// Cancels what every thread of the session waits for. No borrow of the session is held
    /// while a cancel runs: a cancel may reach the session again (`Thread::wait_in_session`).
    pub fn cancel_waits(self) {
        // by position, the session not borrowed while each cancel runs (cancels add no threads)
        let mut i = 0;
        while let Some(key) = self.with(|s| s.threads.key_at(i)) {
            with_thread(key, Thread::cancel_wait);
            i += 1;
        }
    }

    /// Lets go of every thread (their waits cancelled first, as `cancel_waits`).
    pub fn release_threads(self) {
        self.cancel_waits();
        self.with(|s| s.release_threads());
    }

    /// `API disabled in the context of ...` unless the session runs one of `allowed`.
    pub fn check_phase(self, allowed: &[Phase]) -> Result<(), LuaError> {
        self.with(|s| crate::runtime::session::check_phase(s, allowed))
    }
}
