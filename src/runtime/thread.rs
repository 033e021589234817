//! Lua threads of a session: the entry thread of the running phase and the light threads it
//! spawns (`ngx.thread.spawn`). Each has its own wait: what it waits for and how to cancel it.

use std::ffi::c_int;

use crate::runtime::session::Session;
use crate::sys::*;

/// Cancels what a thread waits for.
pub type Cancel = unsafe fn(*mut Session, *mut Thread);

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Status {
    Running,
    /// A user coroutine not running now (created, or it yielded).
    Suspended,
    /// A user coroutine that resumed another one and waits for it.
    Normal,
    /// A light thread that ended and whose results (`true, ...` or `false, err`) wait on its
    /// stack for `ngx.thread.wait`.
    Zombie,
    Dead,
}

pub struct Thread {
    pub co: *mut lua_State,
    /// Anchor of the coroutine in the VM's coroutine table.
    pub co_ref: c_int,
    /// A light thread (not the entry thread).
    pub user: bool,
    /// A user coroutine (`coroutine.create`), run by `coroutine.resume`.
    pub coroutine: bool,
    /// Made by `coroutine.wrap`: its errors propagate to its parent.
    pub wrap: bool,
    pub status: Status,
    /// The thread that spawned this one.
    pub parent: *mut Thread,
    /// The parent waits on this thread in `ngx.thread.wait`.
    pub waited_by_parent: bool,
    /// This thread waits in `ngx.thread.wait` for some of its children.
    pub waits_on_threads: bool,
    pub pending: Option<Cancel>,
    /// What the thread waits on, for its cancel function (a semaphore).
    pub wait_obj: *mut std::ffi::c_void,
    /// The `ngx.sleep` timer (and other one-shot events of this thread).
    pub sleep_ev: Timer,
    pub sess: *mut Session,
}

impl Thread {
    pub fn new(sess: *mut Session, co: *mut lua_State, co_ref: c_int, user: bool, parent: *mut Thread) -> Box<Thread> {
        Box::new(Thread {
            co,
            co_ref,
            user,
            coroutine: false,
            wrap: false,
            status: Status::Running,
            parent,
            waited_by_parent: false,
            waits_on_threads: false,
            pending: None,
            wait_obj: std::ptr::null_mut(),
            sleep_ev: Timer::new(),
            sess,
        })
    }

    /// Cancels the pending wait, if any, and the thread's own events.
    pub unsafe fn cancel_wait(&mut self) {
        if let Some(cancel) = self.pending.take() {
            // SAFETY: the cancel function matches the wait that set it.
            unsafe { cancel(self.sess, self) };
        }
        self.sleep_ev.disarm();
    }

    /// Lets go of the coroutine (the registry anchor).
    pub unsafe fn unref(&mut self, l: *mut lua_State) {
        if self.co_ref != LUA_NOREF {
            // SAFETY: the coroutine table lives in the VM's registry.
            unsafe {
                raw::lua_getfield(l, LUA_REGISTRYINDEX, crate::runtime::vm::COROUTINES.as_ptr());
                raw::luaL_unref(l, -1, self.co_ref);
                raw::lua_settop(l, -2);
            }
            self.co_ref = LUA_NOREF;
        }
    }
}
