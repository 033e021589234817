//! `Owner`: the live session a cosocket (TCP or UDP) is linked to, for socket code outside a
//! Lua call (events, cancels, cleanups, `__gc`) that must touch it. A socket keeps the
//! session's key; `of` turns it into a handle only while that session is alive (a session
//! leaves the worker's table before it goes, and a reused slot has a new generation).

use std::ptr::NonNull;

use crate::runtime::session::{session_ptr, Session, SessionKey};

#[derive(Clone, Copy)]
pub(crate) struct Owner(NonNull<Session>);

impl Owner {
    /// The session named `key`, if it is still alive.
    pub(crate) fn of(key: Option<SessionKey>) -> Option<Owner> {
        key.and_then(session_ptr).map(Owner)
    }

    /// Runs `f` with the session borrowed.
    pub(crate) fn with<R>(self, f: impl FnOnce(&mut Session) -> R) -> R {
        // SAFETY: made by `of` from a live session just before this use, within the same
        // event or call; nginx runs one event at a time, nothing holds a borrow of the session
        // while socket code runs, and f gets no Lua state to reach it again.
        f(unsafe { &mut *self.0.as_ptr() })
    }
}
