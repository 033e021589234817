//! `Recycled<T>`: a box whose memory goes back to a per-worker free list when it is dropped,
//! for values made and dropped for every connection (a session, its entry thread): taking
//! memory from the list is a pop and a write, where malloc and free cost ~200 instructions.
//! The value itself is dropped as a box's would be; only its memory stays.

use std::cell::RefCell;
use std::mem::{ManuallyDrop, MaybeUninit};
use std::ops::{Deref, DerefMut};

use super::worker_local::WorkerLocal;

/// How many freed values' memory a worker keeps, per type.
const KEEP: usize = 64;

/// A worker's list of freed memory for `T`.
pub struct FreeList<T>(RefCell<Vec<Box<MaybeUninit<T>>>>);

impl<T> FreeList<T> {
    pub const fn new() -> FreeList<T> {
        FreeList(RefCell::new(Vec::new()))
    }
}

impl<T> Default for FreeList<T> {
    fn default() -> Self {
        FreeList::new()
    }
}

/// A type whose boxes are recycled, with its worker's free list.
pub trait Recyclable: Sized + 'static {
    fn free_list() -> &'static WorkerLocal<FreeList<Self>>;

    /// Gives the kept memory back (the worker exits).
    fn release_free_list() {
        Self::free_list().with(|f| f.0.borrow_mut().clear());
    }
}

/// Makes a type `Recyclable`, with a free list of its own.
#[macro_export]
macro_rules! recyclable {
    ($t:ty) => {
        impl $crate::sys::recycled::Recyclable for $t {
            fn free_list() -> &'static $crate::sys::worker_local::WorkerLocal<$crate::sys::recycled::FreeList<$t>> {
                static FREE: $crate::sys::worker_local::WorkerLocal<$crate::sys::recycled::FreeList<$t>> =
                    $crate::sys::worker_local::WorkerLocal::new($crate::sys::recycled::FreeList::new());
                &FREE
            }
        }
    };
}

pub struct Recycled<T: Recyclable>(ManuallyDrop<Box<T>>);

impl<T: Recyclable> Recycled<T> {
    pub fn new(value: T) -> Recycled<T> {
        let spare = T::free_list().with(|f| f.0.borrow_mut().pop());
        let b = match spare {
            Some(mem) => Box::write(mem, value),
            None => Box::new(value),
        };
        Recycled(ManuallyDrop::new(b))
    }

    /// The value's address, owned by the caller until `from_raw` (as `Box::into_raw`).
    pub fn into_raw(self) -> *mut T {
        let mut this = ManuallyDrop::new(self);
        // SAFETY: `this` is never used or dropped again; the box is taken out once.
        Box::into_raw(unsafe { ManuallyDrop::take(&mut this.0) })
    }

    /// # Safety
    /// `p` came from `into_raw` and is given back once.
    pub unsafe fn from_raw(p: *mut T) -> Recycled<T> {
        // SAFETY: the caller's contract: p is the box `into_raw` let go of.
        Recycled(ManuallyDrop::new(unsafe { Box::from_raw(p) }))
    }
}

impl<T: Recyclable> Drop for Recycled<T> {
    fn drop(&mut self) {
        // SAFETY: the box is taken out once, here; self.0 is not used after.
        let raw = Box::into_raw(unsafe { ManuallyDrop::take(&mut self.0) });
        // SAFETY: raw is the live value of a box: dropped once here, its memory kept.
        unsafe { std::ptr::drop_in_place(raw) };
        // SAFETY: the same allocation, now holding a dropped value (MaybeUninit has T's layout).
        let mem = unsafe { Box::from_raw(raw as *mut MaybeUninit<T>) };
        T::free_list().with(|f| {
            let mut f = f.0.borrow_mut();
            if f.len() < KEEP {
                f.push(mem);
            }
        });
    }
}

impl<T: Recyclable> Deref for Recycled<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: Recyclable> DerefMut for Recycled<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.0
    }
}

/// An owning pointer that nginx can hold as a `void *` and give back once.
pub trait RawOwner {
    type Target;
    fn into_raw(self) -> *mut Self::Target;
    /// # Safety
    /// `p` came from `into_raw` of the same type and is given back once.
    unsafe fn from_raw(p: *mut Self::Target) -> Self;
}

impl<T> RawOwner for Box<T> {
    type Target = T;
    fn into_raw(self) -> *mut T {
        Box::into_raw(self)
    }
    unsafe fn from_raw(p: *mut T) -> Self {
        // SAFETY: the caller's contract.
        unsafe { Box::from_raw(p) }
    }
}

impl<T: Recyclable> RawOwner for Recycled<T> {
    type Target = T;
    fn into_raw(self) -> *mut T {
        Recycled::into_raw(self)
    }
    unsafe fn from_raw(p: *mut T) -> Self {
        // SAFETY: the caller's contract.
        unsafe { Recycled::from_raw(p) }
    }
}
