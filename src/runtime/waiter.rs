//! `Waiter`: the slot of an object (a socket) where one Lua thread of a session waits for the
//! object's event. `park` puts the running thread there with the cancel function that runs if
//! the thread is killed or its session ends; `take` hands the thread back when the event
//! comes, and `Parked::resume` wakes it with the values it returns. Parking, unparking and
//! waking go through here instead of each object setting `Thread` fields by hand.

use std::ffi::{c_int, c_void};
use std::ptr;

use crate::runtime::handle::SessionRef;
use crate::runtime::scheduler::wake;
use crate::runtime::thread::{Cancel, Thread};
use crate::sys::*;

/// A slot for one waiting thread. The thread stays live while it is here: a thread that goes
/// away first runs its cancel function, which empties the slot (`forget`) or the whole object.
pub struct Waiter(*mut Thread);

/// A thread taken out of its slot, to be resumed.
#[must_use = "a parked thread must be resumed"]
pub struct Parked(*mut Thread);

impl Waiter {
    pub const fn new() -> Waiter {
        Waiter(ptr::null_mut())
    }

    pub fn is_waiting(&self) -> bool {
        !self.0.is_null()
    }

    /// Whether `t` is the thread waiting here.
    pub fn is(&self, t: *mut Thread) -> bool {
        !t.is_null() && self.0 == t
    }

    /// Parks the running thread of `sess` here: `cancel` runs (given `obj` as the thread's wait
    /// object) if the thread is killed or the session ends before the event comes.
    pub fn park(&mut self, sess: SessionRef, cancel: Cancel, obj: *mut c_void) {
        sess.with_thread(|thread, t| {
            thread.pending = Some(cancel);
            thread.wait_obj = obj;
            self.0 = t;
        });
    }

    /// Empties the slot without touching the thread (its wait is being cancelled).
    pub fn forget(&mut self) {
        self.0 = ptr::null_mut();
    }

    /// Lets the thread go without waking it: it no longer waits on anything here.
    pub fn release(&mut self) {
        let t = std::mem::replace(&mut self.0, ptr::null_mut());
        if !t.is_null() {
            // SAFETY: a thread in the slot is live (the type's contract).
            unsafe {
                (*t).pending = None;
                (*t).wait_obj = ptr::null_mut();
            }
        }
    }

    /// Takes the waiting thread out, its wait over, to be resumed.
    pub fn take(&mut self) -> Option<Parked> {
        let t = std::mem::replace(&mut self.0, ptr::null_mut());
        if t.is_null() {
            return None;
        }
        // SAFETY: a thread in the slot is live (the type's contract).
        unsafe {
            (*t).pending = None;
            (*t).wait_obj = ptr::null_mut();
        }
        Some(Parked(t))
    }
}

impl Parked {
    /// Resumes the thread with the values `push` leaves on its coroutine (it returns how many).
    pub fn resume(self, push: impl FnOnce(&mut Call) -> c_int) {
        // SAFETY: the thread was live in its slot and nothing ran since it was taken out; its
        // coroutine is suspended in a yield, so values pushed on it are what the yield returns.
        unsafe {
            let n = push(&mut Call::nested((*self.0).co));
            wake((*self.0).sess, self.0, n);
        }
    }
}
