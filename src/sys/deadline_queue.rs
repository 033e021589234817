//! `DeadlineQueue`: many one-shot deadlines of one kind (every `ngx.sleep` of the worker)
//! behind a single nginx timer. An entry is 24 bytes in a binary heap instead of an
//! `ngx_event_t` per waiter in nginx's timer tree: a sleeping thread costs ~100 bytes less, and
//! arming or firing one touches one contiguous array instead of a tree node each.
//!
//! Entries with the same deadline fire in the order they were added, as timers of equal key
//! do in nginx's tree. The driver event is not cancelable, as the per-waiter timers were not:
//! a gracefully quitting worker still waits for its sleepers, and for nothing else (a queue
//! with only cancelled entries left takes its timer off).

use std::cell::RefCell;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashSet};
use std::ffi::c_void;

use super::clock::monotonic_msec;
use super::ngx::{cycle_log, guard, ngx_add_timer, ngx_del_timer, ngx_event_t, ngx_msec_t};
use super::worker_local::WorkerLocal;

/// What the queue calls for a deadline that came: the key it was added with.
pub type Handler = fn(u64);

#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct Entry {
    deadline: u64,
    /// Unique per entry (from 1): orders equal deadlines and names the entry for `cancel`.
    seq: u64,
    key: u64,
}

/// The nginx event that stands for the earliest deadline; the event comes first, so the
/// event's address is the box's.
#[repr(C)]
struct Driver {
    ev: ngx_event_t,
    queue: &'static DeadlineQueue,
}

struct Inner {
    heap: BinaryHeap<Reverse<Entry>>,
    /// Entries cancelled while still in the heap (left there, skipped when they come up).
    cancelled: Cancelled,
    next_seq: u64,
    /// Made on first use (the queue is a `static`; the event needs a stable address).
    driver: Option<Box<Driver>>,
}

pub struct DeadlineQueue {
    inner: WorkerLocal<RefCell<Inner>>,
    handler: Handler,
}

impl DeadlineQueue {
    pub const fn new(handler: Handler) -> DeadlineQueue {
        DeadlineQueue {
            inner: WorkerLocal::new(RefCell::new(Inner {
                heap: BinaryHeap::new(),
                cancelled: Cancelled(None),
                next_seq: 1,
                driver: None,
            })),
            handler,
        }
    }

    /// Calls the handler with `key` after `ms` (> 0) milliseconds. Returns the entry's
    /// number, for `cancel`.
    pub fn add(&'static self, ms: ngx_msec_t, key: u64) -> u64 {
        let mut q = self.inner.get().borrow_mut();
        let seq = q.next_seq;
        q.next_seq += 1;
        let deadline = monotonic_msec() + ms as u64;
        q.heap.push(Reverse(Entry { deadline, seq, key }));
        if q.heap.peek().is_some_and(|Reverse(top)| top.seq == seq) {
            q.arm(self);
        }
        seq
    }

    /// The entry numbered `seq` is not to fire (its waiter went first).
    pub fn cancel(&'static self, seq: u64) {
        let mut q = self.inner.get().borrow_mut();
        q.cancelled.insert(seq);
        if q.all_cancelled() {
            // nothing left to wait for
            q.clear();
            q.arm(self);
        } else if q.cancelled.len() > 64 && q.cancelled.len() * 2 > q.heap.len() {
            let Inner { heap, cancelled, .. } = &mut *q;
            let live: Vec<_> =
                std::mem::take(heap).into_iter().filter(|Reverse(e)| !cancelled.contains(&e.seq)).collect();
            *heap = BinaryHeap::from(live);
            cancelled.clear();
            q.arm(self);
        }
    }

    /// Lets go of the entries and the timer (the worker exits).
    pub fn release(&'static self) {
        let mut q = self.inner.get().borrow_mut();
        q.heap = BinaryHeap::new();
        q.cancelled = Cancelled(None);
        q.arm(self);
        q.driver = None;
    }

    /// The driver's timer went off: every entry due is taken out and handled, in order.
    fn fire(&'static self) {
        loop {
            let key = {
                let mut q = self.inner.get().borrow_mut();
                let now = monotonic_msec();
                match q.heap.peek() {
                    Some(Reverse(top)) if top.deadline <= now => {}
                    _ => break,
                }
                let Some(Reverse(e)) = q.heap.pop() else { break };
                if !q.cancelled.is_empty() && q.cancelled.remove(&e.seq) {
                    continue;
                }
                e.key
            };
            // the borrow is over: the handler may add entries (a woken thread sleeps again)
            (self.handler)(key);
        }
        let mut q = self.inner.get().borrow_mut();
        if q.all_cancelled() {
            q.clear();
        }
        q.arm(self);
    }
}

/// A set made on the first cancel (a `static` cannot make a `HashSet` up front).
struct Cancelled(Option<HashSet<u64>>);

impl Cancelled {
    fn len(&self) -> usize {
        self.0.as_ref().map_or(0, HashSet::len)
    }
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    fn insert(&mut self, seq: u64) {
        self.0.get_or_insert_with(HashSet::new).insert(seq);
    }
    fn contains(&self, seq: &u64) -> bool {
        self.0.as_ref().is_some_and(|s| s.contains(seq))
    }
    fn remove(&mut self, seq: &u64) -> bool {
        self.0.as_mut().is_some_and(|s| s.remove(seq))
    }
    fn clear(&mut self) {
        self.0 = None;
    }
}

impl Inner {
    /// No entry is left to fire. (Checked entry by entry once the counts say so: a number
    /// cancelled after it fired must not count.)
    fn all_cancelled(&self) -> bool {
        self.heap.len() <= self.cancelled.len() && self.heap.iter().all(|Reverse(e)| self.cancelled.contains(&e.seq))
    }

    fn clear(&mut self) {
        self.heap.clear();
        self.cancelled.clear();
        if self.heap.capacity() > 1024 {
            // a burst is over: do not keep its memory
            self.heap.shrink_to_fit();
        }
    }

    /// Sets the driver's timer to the earliest deadline, or takes it off (no entries).
    fn arm(&mut self, queue: &'static DeadlineQueue) {
        let deadline = self.heap.peek().map(|Reverse(top)| top.deadline);
        if deadline.is_none() && self.driver.is_none() {
            return;
        }
        let driver = self.driver.get_or_insert_with(|| {
            Box::new(Driver {
                // SAFETY: an all-zero ngx_event_t is nginx's idle event.
                ev: unsafe { std::mem::zeroed() },
                queue,
            })
        });
        let ev = &mut driver.ev;
        if ev.timer_set() != 0 {
            if Some(ev.timer.key as u64) == deadline {
                return;
            }
            // SAFETY: the event is in nginx's timer tree (timer_set). (ngx_add_timer would
            // keep a set timer that moves by less than 300 ms: it is taken off first.)
            unsafe { ngx_del_timer(ev) };
        }
        let Some(deadline) = deadline else { return };
        ev.handler = Some(fire);
        // nginx's debug lines read ev->data as a connection: point it at the event itself
        ev.data = ev as *mut ngx_event_t as *mut c_void;
        ev.log = cycle_log();
        // SAFETY: the event is boxed (a stable address) and not in the tree; `release` takes
        // it off before the box goes.
        unsafe { ngx_add_timer(ev, deadline.saturating_sub(monotonic_msec()) as ngx_msec_t) }
    }
}

unsafe extern "C" fn fire(ev: *mut ngx_event_t) {
    guard((), || {
        // SAFETY: ev is the first field of a live `Driver` (only `arm` sets this handler, and
        // `release` takes the event off the tree before the driver goes).
        let queue = unsafe { (*(ev as *const Driver)).queue };
        queue.fire()
    })
}
