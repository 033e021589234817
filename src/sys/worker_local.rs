//! `WorkerLocal<T>`: state of the worker's one thread kept in a plain `static`. A
//! `thread_local!` in a module nginx loads with `dlopen` is reached through `__tls_get_addr`
//! on every access (~20 instructions and a call); the tables every event and Lua call looks
//! things up in are hot enough for that to show. An nginx worker runs all our code on one
//! thread, and `with` checks that it does: the first thread to use a value owns it, and any
//! other thread panics (caught by the panic boundary) instead of racing.

use std::sync::atomic::{AtomicUsize, Ordering};

pub struct WorkerLocal<T> {
    /// `thread_id()` of the owning thread; 0 until the first use.
    owner: AtomicUsize,
    value: T,
}

// SAFETY: the value is only ever reached through `get` (and `with`, over it), which lets the
// owning thread alone through; the owner field itself is atomic.
unsafe impl<T> Sync for WorkerLocal<T> {}

impl<T> WorkerLocal<T> {
    pub const fn new(value: T) -> WorkerLocal<T> {
        WorkerLocal { owner: AtomicUsize::new(0), value }
    }

    /// Runs `f` with the value; panics when called from a thread other than the owner.
    #[inline]
    pub fn with<R>(&'static self, f: impl FnOnce(&T) -> R) -> R {
        f(self.get())
    }

    /// The value, after the same check as `with`. Sound to hand out for `'static`: when `T`
    /// is not `Sync`, a `&T` cannot leave the owning thread, and when it is, it may.
    #[inline]
    pub fn get(&'static self) -> &'static T {
        let me = thread_id();
        if self.owner.load(Ordering::Relaxed) != me {
            self.claim(me);
        }
        &self.value
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

/// The calling thread's identity: the address of its control block. On x86_64 Linux that is
/// the first word at the `fs` base, which is what glibc's and musl's `pthread_self` return,
/// read in one instruction instead of a call.
#[inline(always)]
fn thread_id() -> usize {
    #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
    {
        let id: usize;
        // SAFETY: on x86_64 Linux every thread's fs base points at its control block, whose
        // first word points at itself; the read has no side effects.
        unsafe {
            std::arch::asm!("mov {}, qword ptr fs:[0]", out(reg) id, options(nostack, readonly, preserves_flags, pure))
        };
        id
    }
    #[cfg(not(all(target_arch = "x86_64", target_os = "linux")))]
    {
        // SAFETY: pthread_self has no preconditions.
        unsafe { libc::pthread_self() as usize }
    }
}
