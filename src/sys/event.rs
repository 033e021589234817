//! `Timer`: an nginx event owned by Rust, for one-shot timers and posted wake-ups. Its event
//! lives in a box made on first use, so it keeps its address (nginx's timer tree and posted
//! queues point at it) however its owner moves, and dropping it takes it off both.

use std::ffi::c_void;

use super::ngx::{
    ngx_add_timer, ngx_del_timer, ngx_delete_posted_event, ngx_event_t, ngx_msec_t, ngx_post_event, ngx_posted_events,
    ngx_posted_next_events, Log,
};

/// What nginx calls when the event fires (`ev->data` is what it was armed with).
pub type EventHandler = unsafe extern "C" fn(*mut ngx_event_t);

#[derive(Default)]
pub struct Timer {
    ev: Option<Box<ngx_event_t>>,
}

impl Timer {
    pub const fn new() -> Timer {
        Timer { ev: None }
    }

    /// The event (made idle on first use); for code that arms it through nginx's own calls.
    pub fn event(&mut self) -> &mut ngx_event_t {
        // SAFETY: an all-zero ngx_event_t is nginx's idle event.
        self.ev.get_or_insert_with(|| Box::new(unsafe { std::mem::zeroed() }))
    }

    fn prepare(&mut self, handler: EventHandler, data: *mut c_void, log: Log) -> &mut ngx_event_t {
        self.disarm();
        let ev = self.event();
        ev.handler = Some(handler);
        ev.data = data;
        ev.log = log.as_ptr();
        ev
    }

    /// Calls `handler` with the event after `ms` milliseconds.
    pub fn arm(&mut self, ms: ngx_msec_t, handler: EventHandler, data: *mut c_void, log: Log) {
        let ev = self.prepare(handler, data, log);
        // SAFETY: the event is boxed (a stable address) and idle; Drop takes it off the tree.
        unsafe { ngx_add_timer(ev, ms) }
    }

    /// Arms the timer with no data of the owner's: the handler gets the event, whose address
    /// (returned, and `key_of` in the handler) names the timer. nginx's debug lines read
    /// `ev->data` as a connection, so it points at the event itself, never at nothing.
    pub fn arm_keyed(&mut self, ms: ngx_msec_t, handler: EventHandler, log: Log) -> usize {
        let key = self.event() as *mut ngx_event_t;
        self.arm(ms, handler, key as *mut c_void, log);
        key as usize
    }

    /// The key `arm_keyed` returned, from the event a handler is given (an identity only:
    /// nothing is read through it).
    pub fn key_of(ev: *mut ngx_event_t) -> usize {
        ev as usize
    }

    /// Calls `handler` with the event once this round of events is done.
    pub fn post(&mut self, handler: EventHandler, data: *mut c_void, log: Log) {
        let ev = self.prepare(handler, data, log);
        // SAFETY: the event is boxed and idle; the queue is nginx's, of this worker's only thread.
        unsafe { ngx_post_event(ev, std::ptr::addr_of_mut!(ngx_posted_events)) }
    }

    /// Calls `handler` with the event after the events already pending (nginx's "next"
    /// queue, which runs after this round of timers and I/O).
    #[allow(dead_code)] // ngx.sleep moved to KeyTimer; kept for the socket code's waits
    pub fn post_next(&mut self, handler: EventHandler, data: *mut c_void, log: Log) {
        let ev = self.prepare(handler, data, log);
        // SAFETY: the event is boxed and idle; the queue is nginx's, of this worker's only thread.
        unsafe { ngx_post_event(ev, std::ptr::addr_of_mut!(ngx_posted_next_events)) }
    }

    /// Whether the timer is armed (set in nginx's timer tree).
    #[allow(dead_code)] // as post_next
    pub fn is_set(&self) -> bool {
        self.ev.as_ref().is_some_and(|ev| ev.timer_set() != 0)
    }

    /// When an armed timer is due (nginx's timer key: its expiry on the worker's clock).
    pub fn due(&self) -> Option<ngx_msec_t> {
        self.ev.as_ref().filter(|ev| ev.timer_set() != 0).map(|ev| ev.timer.key as ngx_msec_t)
    }

    /// Takes the event off the timer tree and the posted queue, where it is.
    pub fn disarm(&mut self) {
        let Some(ev) = self.ev.as_mut() else { return };
        if ev.timer_set() != 0 {
            // SAFETY: the event is in the timer tree (timer_set).
            unsafe { ngx_del_timer(&mut **ev) };
        }
        if ev.posted() != 0 {
            // SAFETY: the event is in a posted queue (posted).
            unsafe { ngx_delete_posted_event(&mut **ev) };
        }
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        self.disarm();
    }
}
