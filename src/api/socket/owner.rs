//! `Owner`: the live session a cosocket (TCP or UDP) is linked to, for socket code outside a
//! Lua call (events, cancels, cleanups, `__gc`) that must touch it. A socket keeps the
//! session's address (an identity) and id; `live` turns them into a handle only while that
//! session is alive, so the one raw conversion of both socket kinds is here.

use std::ptr::NonNull;

use crate::runtime::session::{is_live, Session};

#[derive(Clone, Copy)]
pub(crate) struct Owner(NonNull<Session>);

impl Owner {
    /// The session at `sess` (id `id`) if it is still alive: while the socket's cleanup is
    /// `registered` in it (a session's end takes its cleanups out first), or else while its
    /// id is live (an address alone may have been reused by a newer session).
    pub(crate) fn live(sess: *mut Session, id: u64, registered: bool) -> Option<Owner> {
        if !registered && !is_live(id) {
            return None;
        }
        NonNull::new(sess).map(Owner)
    }

    /// The session at `sess`, in which the caller's cleanup is still registered (so it is
    /// alive: a session's end takes its cleanups out first).
    pub(crate) fn registered(sess: *mut Session) -> Option<Owner> {
        NonNull::new(sess).map(Owner)
    }

    /// Runs `f` with the session borrowed.
    pub(crate) fn with<R>(self, f: impl FnOnce(&mut Session) -> R) -> R {
        // SAFETY: made by `live` from a live session just before this use, within the same
        // event or call; nginx runs one event at a time, nothing holds a borrow of the session
        // while socket code runs, and f gets no Lua state to reach it again.
        f(unsafe { &mut *self.0.as_ptr() })
    }
}
