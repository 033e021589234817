//! Lua threads of a session: the entry thread of the running phase and the light threads it
//! spawns (`ngx.thread.spawn`). Each has its own wait: what it waits for and how to cancel it.
//!
//! Every thread whose coroutine is anchored has a `ThreadKey` in the worker's thread table:
//! events and wait queues hold the key, and a thread that ended (or whose session went) is
//! simply not found when they fire.

use std::cell::RefCell;
use std::ffi::c_int;
use std::ptr::NonNull;

use crate::runtime::live::LiveSession;
use crate::runtime::session::SessionKey;
use crate::sys::co_state::CoState;
use crate::sys::key_timer::KeyTimer;
use crate::sys::recycled::{Recyclable, Recycled};
use crate::sys::registry::{self, Key, Slots, WorkerSlots};
use crate::sys::worker_local::WorkerLocal;
use crate::sys::*;

/// Cancels a wait set with `Thread::wait_with` (or `wait_with_fn`: a plain function and one
/// word of data, which costs no allocation per wait).
pub enum OnCancel {
    Fn(fn(&mut Thread, u64), u64),
    Boxed(Box<dyn FnOnce(&mut Thread)>),
}

/// The name of a live thread in the worker's thread table.
pub type ThreadKey = Key;

/// The worker's threads whose coroutines are anchored (see `ThreadKey`).
static THREADS: WorkerSlots<Thread> = WorkerLocal::new(RefCell::new(Slots::new()));

crate::recyclable!(Thread);

// every sleeping or waiting Lua thread of the worker has one: 72 bytes is a malloc chunk of 80
const _: () = assert!(std::mem::size_of::<Thread>() <= 72);

/// Runs `f` with the thread named `key`; `None` when it has ended or its session went.
/// No `&mut Session` may be held while `f` runs (callers are event handlers).
pub fn with_thread<R>(key: ThreadKey, f: impl FnOnce(&mut Thread) -> R) -> Option<R> {
    registry::with(&THREADS, key, f)
}

/// Whether the thread named `key` is live (its coroutine anchored, in the table).
pub fn thread_live(key: ThreadKey) -> bool {
    THREADS.with(|t| t.borrow().get(key).is_some())
}

/// Lets go of the worker's thread table (the worker exits).
pub fn release_registry() {
    THREADS.with(|t| t.borrow_mut().clear());
    Thread::release_free_list();
    crate::runtime::session::Session::release_free_list();
    crate::sys::key_timer::release_free_list();
}

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
    /// What kind of thread it is and who waits on whom, one bit each (see the accessors):
    /// one byte instead of five keeps a thread at 72 bytes.
    flags: u8,
    pub status: Status,
    /// The thread that spawned (or resumed) this one (`ThreadKey::NONE`: the entry thread).
    pub parent: ThreadKey,
    /// The thread waits for an event: this cancels the wait if the thread is killed or its
    /// session ends first.
    pub pending: Option<OnCancel>,
    /// A one-shot event of this thread that names it by key (`ngx.sleep(0)`, semaphore timeouts,
    /// the phase run a request socket's `peek` posts).
    pub wake_ev: KeyTimer,
    /// Its name in the worker's thread table while its coroutine is anchored.
    pub key: ThreadKey,
    /// The session that owns the thread.
    pub sess: SessionKey,
}

const USER: u8 = 1;
const COROUTINE: u8 = 2;
const WRAP: u8 = 4;
const WAITED_BY_PARENT: u8 = 8;
const WAITS_ON_THREADS: u8 = 16;

/// A flag's getter and setter.
macro_rules! thread_flag {
    ($(#[$doc:meta])* $get:ident, $set:ident, $bit:ident) => {
        $(#[$doc])*
        pub fn $get(&self) -> bool {
            self.flags & $bit != 0
        }
        pub fn $set(&mut self, on: bool) {
            if on {
                self.flags |= $bit
            } else {
                self.flags &= !$bit
            }
        }
    };
}

impl Thread {
    /// A light thread (not the entry thread).
    pub fn user(&self) -> bool {
        self.flags & USER != 0
    }
    thread_flag!(
        /// A user coroutine (`coroutine.create`), run by `coroutine.resume`.
        coroutine, set_coroutine, COROUTINE
    );
    thread_flag!(
        /// Made by `coroutine.wrap`: its errors propagate to its parent.
        wrap, set_wrap, WRAP
    );
    thread_flag!(
        /// The parent waits on this thread in `ngx.thread.wait`.
        waited_by_parent, set_waited_by_parent, WAITED_BY_PARENT
    );
    thread_flag!(
        /// This thread waits in `ngx.thread.wait` for some of its children.
        waits_on_threads, set_waits_on_threads, WAITS_ON_THREADS
    );

    pub fn new(sess: SessionKey, co: Anchored, user: bool, parent: ThreadKey) -> Recycled<Thread> {
        let (co, co_ref) = co.into_parts();
        let mut t = Recycled::new(Thread {
            co,
            co_ref,
            flags: if user { USER } else { 0 },
            status: Status::Running,
            parent,
            pending: None,
            wake_ev: KeyTimer::new(),
            key: Key::NONE,
            sess,
        });
        // SAFETY: the thread is boxed (a stable address) and leaves the table in `unref` or
        // Drop, before it goes; the table lends it only to event handlers, which run while no
        // other reference to the thread is in use.
        t.key = THREADS.with(|ts| unsafe { ts.borrow_mut().insert(NonNull::from(&mut *t)) });
        t
    }

    /// Marks the thread waiting: `on_cancel` runs if it is killed or its session ends first.
    pub fn wait_with(&mut self, on_cancel: impl FnOnce(&mut Thread) + 'static) {
        self.pending = Some(OnCancel::Boxed(Box::new(on_cancel)));
    }

    /// `wait_with` of `on_cancel(thread, data)`.
    pub fn wait_with_fn(&mut self, on_cancel: fn(&mut Thread, u64), data: u64) {
        self.pending = Some(OnCancel::Fn(on_cancel, data));
    }

    /// `wait_with` for a cancel that works on the thread's session (given with the thread's
    /// key): the session owns the thread, so it is live whenever the thread's wait is cancelled.
    pub fn wait_in_session(&mut self, on_cancel: impl FnOnce(&LiveSession, ThreadKey) + 'static) {
        self.wait_with(move |t| {
            if let Some(sess) = LiveSession::by_key(t.sess) {
                on_cancel(&sess, t.key);
            }
        });
    }

    /// The thread's coroutine, as the scheduler drives it.
    pub fn co_state(&self) -> CoState {
        // SAFETY: the coroutine is anchored while the thread is live (until `unref`, after
        // which the scheduler no longer runs or reads it), and the scheduler uses the handle
        // only while the coroutine is not running, or to resume it.
        unsafe { CoState::from_raw(self.co) }.expect("a thread has a coroutine")
    }

    /// The coroutine of a thread found in the thread table (so anchored), waiting in a yield:
    /// the values pushed here are what the yield returns when the scheduler resumes it.
    pub fn resume_values(&mut self) -> Call<'_> {
        // SAFETY: a thread in the table has its coroutine anchored (`unref` takes it out
        // first); a waiting thread's coroutine is suspended, and the &mut self borrow keeps
        // anyone else from using it while the handle lives.
        unsafe { Call::suspended(self.co) }
    }

    /// The thread's wait is over (its event came): nothing to cancel any more.
    pub fn stop_waiting(&mut self) {
        self.pending = None;
        self.wake_ev.disarm();
    }

    /// Cancels the pending wait, if any, and the thread's own events.
    pub fn cancel_wait(&mut self) {
        match self.pending.take() {
            Some(OnCancel::Fn(f, data)) => f(self, data),
            Some(OnCancel::Boxed(f)) => f(self),
            None => {}
        }
        self.wake_ev.disarm();
    }

    /// Lets go of the coroutine (its anchor in `main`, the VM of its session).
    pub fn unref(&mut self, main: MainState) {
        // its coroutine may be collected from now on: events must not find it
        THREADS.with(|t| t.borrow_mut().remove(self.key));
        main.unref_coroutine(std::mem::replace(&mut self.co_ref, LUA_NOREF));
    }

    /// Ends the thread: its wait is cancelled and its coroutine let go. A light thread or a
    /// user coroutine is noted in the VM's table of ended threads first: the session's list
    /// drops it later (`ThreadList::push`), and `ngx.thread.wait`/`kill` still tell it apart.
    pub fn end(&mut self, main: MainState) {
        self.cancel_wait();
        if self.user() || self.coroutine() {
            main.note_ended(self.co_ref, Ended::of(self).code());
        }
        self.unref(main);
        self.status = Status::Dead;
    }

    /// Whether the thread ended and let go of its coroutine: nothing runs or reads it any
    /// more, and its session's list may drop it.
    pub fn buried(&self) -> bool {
        self.status == Status::Dead && self.co_ref == LUA_NOREF
    }
}

/// What the VM's table of ended threads keeps of a light thread or user coroutine once it
/// left its session's list (its presence says it ended): whether it was a light thread and
/// its parent's key, packed in the 53 bits a Lua number holds exactly (the key's slot and the
/// low 20 bits of its generation).
#[derive(Clone, Copy)]
pub struct Ended(u64);

impl Ended {
    const USER: u64 = 1;

    fn key_bits(k: ThreadKey) -> u64 {
        let raw = k.raw();
        ((raw & 0xffff_ffff) | ((raw >> 32) & 0xf_ffff) << 32) << 1
    }

    pub fn of(t: &Thread) -> Ended {
        Ended(Ended::key_bits(t.parent) | if t.user() { Ended::USER } else { 0 })
    }

    pub fn code(self) -> f64 {
        self.0 as f64
    }

    /// The record a `code` came from (None for anything else).
    pub fn from_code(v: f64) -> Option<Ended> {
        (v >= 0.0 && v < (1u64 << 53) as f64 && v.fract() == 0.0).then_some(Ended(v as u64))
    }

    pub fn user(self) -> bool {
        self.0 & Ended::USER != 0
    }

    pub fn parent_is(self, k: ThreadKey) -> bool {
        self.0 & !Ended::USER == Ended::key_bits(k)
    }
}

impl Drop for Thread {
    fn drop(&mut self) {
        THREADS.with(|t| t.borrow_mut().remove(self.key));
    }
}
