//! `KeyTimer`: a one-shot nginx timer (or posted wake-up) that calls a plain `fn` with a
//! key of its owner's (a registry key) rather than handing the handler a raw pointer. The
//! handler looks its object up by the key, so an object that went away is just not found.

use std::ffi::c_void;

use super::clock::monotonic_msec;
use super::recycled::{Recyclable, Recycled};

use super::ngx::{
    guard, ngx_add_timer, ngx_del_timer, ngx_delete_posted_event, ngx_event_t, ngx_msec_t, ngx_post_event,
    ngx_posted_events, ngx_posted_next_events, Log,
};

/// What the timer calls: its key, and the log it was armed with (none if that was null).
pub type Handler = fn(u64, Option<Log>);

/// The event and what it calls; the event comes first, so the event's address is the box's.
/// (Recycled memory keeps nothing armed: a timer is disarmed before it drops.)
#[repr(C)]
struct Armed {
    ev: ngx_event_t,
    handler: Handler,
    key: u64,
    /// A timer armed by `arm_lazy`: when its wait is due (nginx's msec clock), and whether
    /// the wait is over (`idle`: the timer stays in nginx's tree, and does nothing when due).
    lazy: Option<Lazy>,
}

#[derive(Clone, Copy)]
struct Lazy {
    due: ngx_msec_t,
    idle: bool,
}

// Every socket and thread has a timer and most arm it: their events' memory is reused.
crate::recyclable!(Armed);

/// Gives the kept memory back (the worker exits).
pub fn release_free_list() {
    Armed::release_free_list();
}

#[derive(Default)]
pub struct KeyTimer {
    armed: Option<Recycled<Armed>>,
}

impl KeyTimer {
    pub const fn new() -> KeyTimer {
        KeyTimer { armed: None }
    }

    fn prepare(&mut self, handler: Handler, key: u64, log: Log, lazy: Option<Lazy>) -> &mut ngx_event_t {
        self.disarm();
        let armed = self.armed.get_or_insert_with(|| {
            // SAFETY: an all-zero ngx_event_t is nginx's idle event.
            Recycled::new(Armed { ev: unsafe { std::mem::zeroed() }, handler, key, lazy: None })
        });
        armed.handler = handler;
        armed.key = key;
        armed.lazy = lazy;
        let ev = &mut armed.ev;
        ev.set_cancelable(0);
        ev.handler = Some(fire);
        // nginx's debug lines read ev->data as a connection: point it at the event itself
        ev.data = ev as *mut ngx_event_t as *mut c_void;
        ev.log = log.as_ptr();
        ev
    }

    /// Calls `handler(key)` after `ms` milliseconds.
    pub fn arm(&mut self, ms: ngx_msec_t, handler: Handler, key: u64, log: Log) {
        let ev = self.prepare(handler, key, log, None);
        // SAFETY: the event is boxed (a stable address) and idle; Drop takes it off the tree.
        unsafe { ngx_add_timer(ev, ms) }
    }

    /// Calls `handler(key)` after `ms` milliseconds, as `arm` does, for a timer armed and
    /// made `idle` again and again (a read timeout per receive): a timer still in nginx's tree
    /// from an earlier wait, due no later than this one, stays there with the new due time (no
    /// delete and insert per wait); when it comes early, it is set again for the rest.
    pub fn arm_lazy(&mut self, ms: ngx_msec_t, handler: Handler, key: u64, log: Log) {
        let due = monotonic_msec().wrapping_add(ms as u64) as ngx_msec_t;
        if let Some(a) = self.armed.as_mut() {
            if a.lazy.is_some() && a.ev.timer_set() != 0 && !later(a.ev.timer.key as ngx_msec_t, due) {
                a.handler = handler;
                a.key = key;
                a.ev.log = log.as_ptr();
                a.ev.set_cancelable(0);
                a.lazy = Some(Lazy { due, idle: false });
                return;
            }
        }
        let ev = self.prepare(handler, key, log, Some(Lazy { due, idle: false }));
        // SAFETY: the event is boxed (a stable address) and idle; Drop takes it off the tree.
        unsafe { ngx_add_timer(ev, ms) }
    }

    /// Ends the wait of a timer armed by `arm_lazy`: its handler is not called, and the timer
    /// stays in nginx's tree for the next `arm_lazy` (or until due, or the owner drops it),
    /// cancelable meanwhile: a gracefully quitting worker does not wait for it.
    pub fn idle(&mut self) {
        match self.armed.as_deref_mut() {
            Some(Armed { ev, lazy: Some(l), .. }) => {
                ev.set_cancelable(1);
                l.idle = true;
            }
            _ => self.disarm(),
        }
    }

    /// Calls `handler(key)` once this round of events is done.
    pub fn post(&mut self, handler: Handler, key: u64, log: Log) {
        let ev = self.prepare(handler, key, log, None);
        // SAFETY: the event is boxed and idle; the queue is nginx's, of this worker's only thread.
        unsafe { ngx_post_event(ev, std::ptr::addr_of_mut!(ngx_posted_events)) }
    }

    /// Calls `handler(key)` after the events already pending (nginx's "next" queue).
    pub fn post_next(&mut self, handler: Handler, key: u64, log: Log) {
        let ev = self.prepare(handler, key, log, None);
        // SAFETY: the event is boxed and idle; the queue is nginx's, of this worker's only thread.
        unsafe { ngx_post_event(ev, std::ptr::addr_of_mut!(ngx_posted_next_events)) }
    }

    /// Whether the wake-up is posted (waits in a posted queue).
    pub fn is_posted(&self) -> bool {
        self.armed.as_ref().is_some_and(|a| a.ev.posted() != 0)
    }

    /// Takes the event off the timer tree and the posted queue, where it is.
    pub fn disarm(&mut self) {
        let Some(a) = self.armed.as_mut() else { return };
        if a.ev.timer_set() != 0 {
            // SAFETY: the event is in the timer tree (timer_set).
            unsafe { ngx_del_timer(&mut a.ev) };
        }
        if a.ev.posted() != 0 {
            // SAFETY: the event is in a posted queue (posted).
            unsafe { ngx_delete_posted_event(&mut a.ev) };
        }
    }
}

impl Drop for KeyTimer {
    fn drop(&mut self) {
        self.disarm();
    }
}

/// Whether nginx msec time `a` comes after `b` (the clock wraps, as nginx's timer tree allows).
fn later(a: ngx_msec_t, b: ngx_msec_t) -> bool {
    (a.wrapping_sub(b) as isize) > 0
}

unsafe extern "C" fn fire(ev: *mut ngx_event_t) {
    guard((), || {
        // SAFETY: ev is the first field of a live `Armed` (as below), whose fields only this
        // worker's thread touches; nginx has just taken the event off its tree, so adding it
        // again is adding an idle event.
        unsafe {
            let armed = ev as *mut Armed;
            if let Some(l) = (*armed).lazy {
                let now = monotonic_msec() as ngx_msec_t;
                if l.idle {
                    // the wait it served is over: nothing to do, and out of the tree now
                    (*armed).lazy = None;
                    (*armed).ev.set_cancelable(0);
                    return;
                }
                if later(l.due, now) {
                    // set again for the rest of a later wait than the one it was added for
                    ngx_add_timer(ev, l.due.wrapping_sub(now));
                    return;
                }
                (*armed).lazy = None;
            }
        }
        // SAFETY: ev is the first field of a live `Armed` (only `prepare` sets this handler,
        // and a dropped KeyTimer takes its event off nginx's queues); the fields are copied
        // out before the handler runs, which may drop the timer.
        let (handler, key, log) = unsafe {
            let armed = ev as *const Armed;
            ((*armed).handler, (*armed).key, (*armed).ev.log)
        };
        // SAFETY: the log was given with the event by its owner, whose events go with it.
        handler(key, unsafe { Log::from_raw(log) })
    })
}
