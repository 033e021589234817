//! `WorkerLocal<T>`: state of the worker's one thread kept in a plain `static`. A
//! `thread_local!` in a module nginx loads with `dlopen` is reached through `__tls_get_addr`
//! on every access (~20 instructions and a call); the tables every event and Lua call looks
//! things up in are hot enough for that to show. An nginx worker runs all our code on one
//! thread, and `with` checks that it does: the first thread to use a value owns it, and any
//! other thread panics (caught by the panic boundary) instead of racing.

use std::sync::atomic::{AtomicUsize, Ordering};

pub struct WorkerLocal<T> {
    /// `pthread_self()` of the owning thread; 0 until the first use.
    owner: AtomicUsize,
    value: T,
}

// SAFETY: the value is only ever reached through `with`, which lets the owning thread alone
// through; the owner field itself is atomic.
unsafe impl<T> Sync for WorkerLocal<T> {}

impl<T> WorkerLocal<T> {
    pub const fn new(value: T) -> WorkerLocal<T> {
        WorkerLocal { owner: AtomicUsize::new(0), value }
    }

    /// Runs `f` with the value; panics when called from a thread other than the owner.
    #[inline]
    pub fn with<R>(&'static self, f: impl FnOnce(&T) -> R) -> R {
        // SAFETY: pthread_self has no preconditions.
        let me = unsafe { libc::pthread_self() } as usize;
        if self.owner.load(Ordering::Relaxed) != me {
            self.claim(me);
        }
        f(&self.value)
    }

    /// The first use makes the caller the owner (a forked worker keeps its master's thread
    /// identity, so values set up before the fork stay usable).
    #[cold]
    #[inline(never)]
    fn claim(&self, me: usize) {
        if let Err(owner) = self.owner.compare_exchange(0, me, Ordering::Relaxed, Ordering::Relaxed) {
            assert_eq!(owner, me, "worker-local state used from another thread");
        }
    }
}
