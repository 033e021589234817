//! `Slots<T>`: a worker's table of live objects that nginx events and waits name by `Key`
//! (a slot index and that slot's generation) instead of by address. An object that went
//! away is simply not found: its slot's generation moved on, so a reused slot never answers
//! for an old key. Looking a key up is an index and a compare, no hashing.

use std::cell::{Cell, RefCell};
use std::ptr::NonNull;

use super::worker_local::WorkerLocal;

/// The name of an object in a `Slots` table. It packs into a `u64` (`raw`), which is how keys
/// travel through timers, nginx's `data` pointers and (in two exact halves) Lua.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Key {
    idx: u32,
    gen: u32,
}

impl Key {
    /// A key that names nothing (generation 0 is never handed out).
    pub const NONE: Key = Key { idx: 0, gen: 0 };

    pub fn raw(self) -> u64 {
        (u64::from(self.gen) << 32) | u64::from(self.idx)
    }

    pub fn from_raw(v: u64) -> Key {
        Key { idx: v as u32, gen: (v >> 32) as u32 }
    }

    /// The key as the `void *` that a connection (`c->data`), a resolver query or a session
    /// cleanup carries back: a number, never dereferenced. (Not for an event's own `data`,
    /// which nginx's debug lines read as a connection: use a `KeyTimer` there.)
    pub fn as_data(self) -> *mut std::ffi::c_void {
        self.raw() as usize as *mut std::ffi::c_void
    }

    /// The key `as_data` made.
    pub fn from_data(data: *mut std::ffi::c_void) -> Key {
        Key::from_raw(data as usize as u64)
    }
}

struct Slot<T> {
    /// Odd while the slot holds an object: each insert and remove moves it on.
    gen: u32,
    ptr: Option<NonNull<T>>,
    /// `with` lends the object now (a second `with` on it gets nothing).
    lent: Cell<bool>,
}

/// The table. Objects are not owned: their owner inserts them and removes them before they
/// go (`insert`'s contract).
pub struct Slots<T> {
    slots: Vec<Slot<T>>,
    free: Vec<u32>,
}

impl<T> Default for Slots<T> {
    fn default() -> Self {
        Slots::new()
    }
}

/// A worker's table, as the runtime and the cosockets declare theirs.
pub type WorkerSlots<T> = WorkerLocal<RefCell<Slots<T>>>;

impl<T> Slots<T> {
    pub const fn new() -> Slots<T> {
        Slots { slots: Vec::new(), free: Vec::new() }
    }

    /// Adds an object and returns its key.
    ///
    /// # Safety
    /// `ptr` stays valid until `remove(key)`, and while `with` lends it no other reference
    /// to it is used.
    pub unsafe fn insert(&mut self, ptr: NonNull<T>) -> Key {
        let idx = match self.free.pop() {
            Some(idx) => idx,
            None => {
                self.slots.push(Slot { gen: 0, ptr: None, lent: Cell::new(false) });
                (self.slots.len() - 1) as u32
            }
        };
        let slot = &mut self.slots[idx as usize];
        slot.gen = slot.gen.wrapping_add(1) | 1;
        slot.ptr = Some(ptr);
        Key { idx, gen: slot.gen }
    }

    /// Forgets the object of `key` (its owner is letting it go); false if it was not here.
    pub fn remove(&mut self, key: Key) -> bool {
        match self.slots.get_mut(key.idx as usize) {
            Some(slot) if slot.gen == key.gen && slot.ptr.is_some() => {
                slot.gen = slot.gen.wrapping_add(1) & !1;
                slot.ptr = None;
                self.free.push(key.idx);
                true
            }
            _ => false,
        }
    }

    /// The object of `key`, if it is still here (an identity: compare, never dereference).
    pub fn get(&self, key: Key) -> Option<NonNull<T>> {
        self.slots.get(key.idx as usize).filter(|s| s.gen == key.gen).and_then(|s| s.ptr)
    }

    /// Forgets every object and gives the memory back (the worker exits).
    pub fn clear(&mut self) {
        *self = Slots::default();
    }
}

/// Runs `f` with the object of `key` in the worker's table `table`; `None` when the object
/// is gone (or already lent by an outer `with`). The table is not borrowed while `f` runs,
/// so `f` may insert and remove objects.
pub fn with<T: 'static, R>(table: &'static WorkerSlots<T>, key: Key, f: impl FnOnce(&mut T) -> R) -> Option<R> {
    // (one owner check for the lend and the give-back)
    let table = table.get();
    let ptr = {
        let t = table.borrow();
        let slot = t.slots.get(key.idx as usize).filter(|s| s.gen == key.gen)?;
        let ptr = slot.ptr?;
        (!slot.lent.replace(true)).then_some(ptr)?
    };
    /// Gives the slot back when `f` returns or unwinds.
    struct Lend<T: 'static>(&'static RefCell<Slots<T>>, Key);
    impl<T: 'static> Drop for Lend<T> {
        fn drop(&mut self) {
            if let Some(slot) = self.0.borrow().slots.get(self.1.idx as usize) {
                slot.lent.set(false);
            }
        }
    }
    let _lend = Lend(table, key);
    // SAFETY: the object is in the table, so valid (insert's contract), and not lent to
    // anyone else (the flag just set); the reference does not outlive f.
    Some(f(unsafe { &mut *ptr.as_ptr() }))
}

#[cfg(test)]
mod tests {
    use super::*;

    static T: WorkerSlots<u32> = WorkerLocal::new(RefCell::new(Slots::new()));

    #[test]
    fn stale_keys_find_nothing() {
        let mut a = 1u32;
        let mut b = 2u32;
        // SAFETY: a and b outlive their entries (removed below).
        let ka = T.with(|t| unsafe { t.borrow_mut().insert(NonNull::from(&mut a)) });
        assert_eq!(with(&T, ka, |v| *v), Some(1));
        assert!(T.with(|t| t.borrow_mut().remove(ka)));
        assert_eq!(with(&T, ka, |v| *v), None);
        // the slot is reused under a new generation: the old key still finds nothing
        // SAFETY: as above.
        let kb = T.with(|t| unsafe { t.borrow_mut().insert(NonNull::from(&mut b)) });
        assert_ne!(ka, kb);
        assert_eq!(with(&T, ka, |v| *v), None);
        assert_eq!(with(&T, kb, |v| *v), Some(2));
        assert_eq!(Key::from_raw(kb.raw()), kb);
        // a nested lend of the same object gets nothing
        assert_eq!(with(&T, kb, |_| with(&T, kb, |v| *v)), Some(None));
        assert!(T.with(|t| t.borrow_mut().remove(kb)));
        assert!(!T.with(|t| t.borrow_mut().remove(kb)));
        assert_eq!(with(&T, Key::NONE, |v| *v), None);
        T.with(|t| t.borrow_mut().clear());
    }
}
