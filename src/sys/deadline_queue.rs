//! `DeadlineQueue`: many one-shot deadlines of one kind (every `ngx.sleep` of the worker)
//! behind a single nginx timer. An entry is 16 bytes instead of an `ngx_event_t` per waiter in
//! nginx's timer tree: a sleeping thread costs ~140 bytes less. Entries that come in deadline
//! order (every sleep of the same length does) queue in a ring, added and taken in O(1); the
//! others wait in a binary heap; the earlier of the two fronts goes first.
//!
//! Entries with the same deadline fire in the order they were added, as timers of equal key
//! do in nginx's tree: in the ring by position, in the heap by a number given as they come,
//! and between the two the ring's first (an entry joins the ring only with a deadline later
//! than any the heap took, so a ring entry is older than a heap entry of the same deadline).
//! An entry is named by its key, which waits for one deadline at a time. The driver event is
//! not cancelable, as the per-waiter timers were not: a gracefully quitting worker still
//! waits for its sleepers, and for nothing else (a queue with only cancelled entries left
//! takes its timer off).

use std::cell::RefCell;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashSet, VecDeque};
use std::ffi::c_void;

use super::clock::monotonic_msec;
use super::ngx::{cycle_log, guard, ngx_add_timer, ngx_del_timer, ngx_event_t, ngx_msec_t};
use super::worker_local::WorkerLocal;

/// What the queue calls for a deadline that came: the key it was added with.
pub type Handler = fn(u64);

/// An entry of the ring (in deadline order, and in the order added among equal ones).
#[derive(Clone, Copy)]
struct Entry {
    deadline: u64,
    key: u64,
}

/// An entry of the heap: ordered by deadline, then by when it was added.
#[derive(PartialEq, Eq, PartialOrd, Ord, Clone, Copy)]
struct Late {
    deadline: u64,
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
    /// Entries added in deadline order (each at or after the one before): sorted.
    ordered: VecDeque<Entry>,
    /// Entries that came out of order.
    heap: BinaryHeap<Reverse<Late>>,
    /// The latest deadline the heap took since it was last empty (0: none): the ring takes
    /// only later ones.
    heap_max: u64,
    /// Keys of entries cancelled while still queued (left there, skipped when they come up).
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
                ordered: VecDeque::new(),
                heap: BinaryHeap::new(),
                heap_max: 0,
                cancelled: Cancelled(None),
                next_seq: 0,
                driver: None,
            })),
            handler,
        }
    }

    /// Calls the handler with `key` after `ms` (> 0) milliseconds. A key waits for one deadline
    /// at a time.
    pub fn add(&'static self, ms: ngx_msec_t, key: u64) {
        let mut q = self.inner.get().borrow_mut();
        if q.cancelled.contains(&key) {
            // the key waits again after a cancel: its old entry must not fire for it
            q.compact();
        }
        let deadline = monotonic_msec() + ms as u64;
        let first = if deadline > q.heap_max && q.ordered.back().is_none_or(|last| last.deadline <= deadline) {
            q.ordered.push_back(Entry { deadline, key });
            // (the heap holds only earlier deadlines: first when the ring was empty too)
            q.ordered.len() == 1 && q.heap.is_empty()
        } else {
            let seq = q.next_seq;
            q.next_seq += 1;
            q.heap.push(Reverse(Late { deadline, seq, key }));
            q.heap_max = q.heap_max.max(deadline);
            q.ordered.front().is_none_or(|f| deadline < f.deadline)
                && q.heap.peek().is_some_and(|Reverse(h)| h.deadline == deadline)
        };
        if first {
            // (a no-op when the timer is set for this deadline already)
            q.arm_at(Some(deadline), self);
        }
    }

    /// The entry of `key` is not to fire (its waiter went first).
    pub fn cancel(&'static self, key: u64) {
        let mut q = self.inner.get().borrow_mut();
        q.cancelled.insert(key);
        if q.all_cancelled() {
            // nothing left to wait for
            q.clear();
            q.arm(self);
        } else if q.cancelled.len() > 64 && q.cancelled.len() * 2 > q.len() {
            q.compact();
            q.arm(self);
        }
    }

    /// Lets go of the entries and the timer (the worker exits).
    pub fn release(&'static self) {
        let mut q = self.inner.get().borrow_mut();
        q.ordered = VecDeque::new();
        q.heap = BinaryHeap::new();
        q.heap_max = 0;
        q.cancelled = Cancelled(None);
        q.arm(self);
        q.driver = None;
    }

    /// The driver's timer went off: every entry due is taken out and handled, in order.
    fn fire(&'static self) {
        let mut q = self.inner.get().borrow_mut();
        while let Some(key) = q.pop_due(monotonic_msec()) {
            if !q.cancelled.is_empty() && q.cancelled.remove(&key) {
                continue;
            }
            // no borrow while the handler runs: it may add entries (a woken thread sleeps again)
            drop(q);
            (self.handler)(key);
            q = self.inner.get().borrow_mut();
        }
        if q.len() == 0 {
            if !q.cancelled.is_empty() || q.ordered.capacity() + q.heap.capacity() > 1024 {
                q.clear();
            }
            // (nginx took the timer off before this call, and no handler added to the queue)
            return;
        }
        if !q.cancelled.is_empty() && q.all_cancelled() {
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
        self.0.is_none()
    }
    fn insert(&mut self, key: u64) {
        self.0.get_or_insert_with(HashSet::new).insert(key);
    }
    fn contains(&self, key: &u64) -> bool {
        self.0.as_ref().is_some_and(|s| s.contains(key))
    }
    fn remove(&mut self, key: &u64) -> bool {
        let Some(set) = self.0.as_mut() else { return false };
        let found = set.remove(key);
        if set.is_empty() {
            self.0 = None;
        }
        found
    }
    fn clear(&mut self) {
        self.0 = None;
    }
}

impl Inner {
    fn len(&self) -> usize {
        self.ordered.len() + self.heap.len()
    }

    /// The earliest deadline.
    fn first(&self) -> Option<u64> {
        match (self.ordered.front(), self.heap.peek()) {
            (Some(a), Some(Reverse(b))) => Some(a.deadline.min(b.deadline)),
            (Some(a), None) => Some(a.deadline),
            (None, Some(Reverse(b))) => Some(b.deadline),
            (None, None) => None,
        }
    }

    /// Takes out the entry due first if its deadline is `now` or earlier; returns its key.
    fn pop_due(&mut self, now: u64) -> Option<u64> {
        // (equal deadlines: the ring's is the older)
        let from_ring = match (self.ordered.front(), self.heap.peek()) {
            (Some(a), Some(Reverse(b))) => a.deadline <= b.deadline,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => return None,
        };
        if from_ring {
            let e = self.ordered.front().filter(|e| e.deadline <= now)?;
            let key = e.key;
            self.ordered.pop_front();
            Some(key)
        } else {
            let Reverse(e) = self.heap.peek().filter(|Reverse(e)| e.deadline <= now)?;
            let key = e.key;
            self.heap.pop();
            if self.heap.is_empty() {
                self.heap_max = 0;
            }
            Some(key)
        }
    }

    /// No entry is left to fire. (Checked entry by entry once the counts say so: a number
    /// cancelled after it fired must not count.)
    fn all_cancelled(&self) -> bool {
        self.len() <= self.cancelled.len()
            && self.ordered.iter().all(|e| self.cancelled.contains(&e.key))
            && self.heap.iter().all(|Reverse(e)| self.cancelled.contains(&e.key))
    }

    /// Takes the cancelled entries out.
    fn compact(&mut self) {
        let Inner { ordered, heap, cancelled, .. } = self;
        ordered.retain(|e| !cancelled.contains(&e.key));
        heap.retain(|Reverse(e)| !cancelled.contains(&e.key));
        cancelled.clear();
        if self.heap.is_empty() {
            self.heap_max = 0;
        }
    }

    fn clear(&mut self) {
        self.ordered.clear();
        self.heap.clear();
        self.heap_max = 0;
        self.cancelled.clear();
        if self.ordered.capacity() + self.heap.capacity() > 1024 {
            // a burst is over: do not keep its memory
            self.ordered.shrink_to_fit();
            self.heap.shrink_to_fit();
        }
    }

    /// Sets the driver's timer to the earliest deadline, or takes it off (no entries).
    fn arm(&mut self, queue: &'static DeadlineQueue) {
        self.arm_at(self.first(), queue)
    }

    /// `arm` when the earliest deadline is known.
    fn arm_at(&mut self, deadline: Option<u64>, queue: &'static DeadlineQueue) {
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
