//! A `Call` on a suspended coroutine, for pushing the values its pending `yield` returns when
//! the scheduler resumes it (an event's results: `true`, `nil, "timeout"`, data read).

use super::call::Call;
use super::lua::lua_State;

impl<'l> Call<'l> {
    /// A handle on `co`, which waits in a yield (or has not started), to push the values it
    /// is resumed with; they land above whatever its stack holds, as the resume expects.
    ///
    /// # Safety
    /// `co` is a coroutine anchored (not collectable) for `'l`, suspended, and used by nothing
    /// else while the handle lives.
    pub unsafe fn suspended(co: *mut lua_State) -> Call<'l> {
        // SAFETY: a suspended, anchored coroutine is a live state nobody else uses (the
        // caller's contract); `nested` assumes no free slot, so every push grows its stack.
        unsafe { Call::nested(co) }
    }
}
