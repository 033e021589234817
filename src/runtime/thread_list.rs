//! `ThreadList`: the Lua threads of a session's running phase, in the order they were made.
//! Most sessions only ever have their entry thread: it is kept inline, so a session costs no
//! list allocation until it spawns a light thread or makes a coroutine.

use crate::runtime::thread::{Thread, ThreadKey};
use crate::sys::recycled::Recycled;

#[derive(Default)]
pub struct ThreadList {
    first: Option<Recycled<Thread>>,
    rest: Vec<Recycled<Thread>>,
}

impl ThreadList {
    pub const fn new() -> ThreadList {
        ThreadList { first: None, rest: Vec::new() }
    }

    /// Adds a thread at the end. Threads that ended and let go of their coroutine are dropped
    /// whenever the list reaches a power of two from 16 on (amortised: a session that spawns
    /// and waits for threads all its life keeps only the live ones; nothing but the list's
    /// own searches can find an ended thread, see `Thread::end`).
    pub fn push(&mut self, t: Recycled<Thread>) {
        if self.first.is_none() {
            self.first = Some(t);
            return;
        }
        let n = self.rest.len();
        if n >= 16 && n.is_power_of_two() {
            self.rest.retain(|t| !t.buried());
        }
        self.rest.push(t);
    }

    /// Drops every thread (the list keeps its memory for the next phase's light threads).
    pub fn clear(&mut self) {
        self.first = None;
        self.rest.clear();
    }

    /// The `i`th thread's key (threads in the order they were made).
    pub fn key_at(&self, i: usize) -> Option<ThreadKey> {
        match i {
            0 => self.first.as_ref().map(|t| t.key),
            _ => self.rest.get(i - 1).map(|t| t.key),
        }
    }

    pub fn last_mut(&mut self) -> Option<&mut Thread> {
        match self.rest.last_mut() {
            Some(t) => Some(t),
            None => self.first.as_deref_mut(),
        }
    }

    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &Thread> {
        self.first.iter().chain(self.rest.iter()).map(|t| &**t)
    }

    pub fn iter_mut(&mut self) -> impl DoubleEndedIterator<Item = &mut Thread> {
        self.first.iter_mut().chain(self.rest.iter_mut()).map(|t| &mut **t)
    }
}
