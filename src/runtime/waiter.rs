//! `Waiter`: the slot of an object (a socket) where one Lua thread of a session waits for the
//! object's event. `park_with` puts the running thread there with the cancel that runs if
//! the thread is killed or its session ends; `take` hands the thread back when the event
//! comes, and `Parked::resume` wakes it with the values it returns. Parking, unparking and
//! waking go through here instead of each object setting `Thread` fields by hand.

use std::ffi::c_int;

use crate::runtime::handle::SessionRef;
use crate::runtime::live::LiveSession;
use crate::runtime::scheduler::wake_thread;
use crate::runtime::thread::{with_thread, Thread, ThreadKey};
use crate::sys::*;

/// A slot for one waiting thread, held by key: a thread that goes away first runs its cancel
/// function, which empties the slot (`forget`) or the whole object; a key left behind by a
/// thread that ended finds nothing.
pub struct Waiter(Option<ThreadKey>);

/// A thread taken out of its slot, to be resumed.
#[must_use = "a parked thread must be resumed"]
pub struct Parked(ThreadKey);

impl Waiter {
    pub const fn new() -> Waiter {
        Waiter(None)
    }

    pub fn is_waiting(&self) -> bool {
        self.0.is_some()
    }

    /// Whether the thread `key` is the one waiting here.
    pub fn is(&self, key: ThreadKey) -> bool {
        self.0 == Some(key)
    }

    /// Parks the running thread of `sess` here: `on_cancel` runs if the thread is killed or
    /// the session ends before the event comes.
    pub fn park_with(&mut self, sess: SessionRef, on_cancel: impl FnOnce(&mut Thread) + 'static) {
        sess.with_thread(|thread| {
            thread.wait_with(on_cancel);
            self.0 = Some(thread.key);
        });
    }

    /// `park_with` of `on_cancel(thread, data)` (no allocation per wait).
    pub fn park_with_fn(&mut self, sess: SessionRef, on_cancel: fn(&mut Thread, u64), data: u64) {
        sess.with_thread(|thread| {
            thread.wait_with_fn(on_cancel, data);
            self.0 = Some(thread.key);
        });
    }

    /// `park_with` for a cancel that works on the session (see `Thread::wait_in_session`).
    pub fn park_in_session(&mut self, sess: SessionRef, on_cancel: impl FnOnce(&LiveSession, ThreadKey) + 'static) {
        sess.with_thread(|thread| {
            thread.wait_in_session(on_cancel);
            self.0 = Some(thread.key);
        });
    }

    /// Empties the slot without touching the thread (its wait is being cancelled).
    pub fn forget(&mut self) {
        self.0 = None;
    }

    /// Lets the thread go without waking it: it no longer waits on anything here.
    pub fn release(&mut self) {
        if let Some(key) = self.0.take() {
            with_thread(key, Thread::stop_waiting);
        }
    }

    /// Takes the waiting thread out, its wait over, to be resumed (none if it went away).
    pub fn take(&mut self) -> Option<Parked> {
        let key = self.0.take()?;
        with_thread(key, Thread::stop_waiting)?;
        Some(Parked(key))
    }
}

impl Parked {
    /// Resumes the thread with the values `push` leaves on its coroutine (it returns how many).
    pub fn resume(self, push: impl FnOnce(&mut Call) -> c_int) {
        wake_thread(self.0, push)
    }
}
