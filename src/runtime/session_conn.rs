//! The running session's downstream connection as a `Conn` handle.

use crate::runtime::handle::SessionRef;
use crate::sys::Conn;

impl<'c> SessionRef<'c> {
    /// The session's downstream connection (none in a session-less context: a timer's).
    pub fn conn(self) -> Option<Conn> {
        let c = self.with(|s| if s.s.is_null() { std::ptr::null_mut() } else { s.connection() });
        // SAFETY: a live stream session's connection lives as long as the session, which
        // outlives the Lua call ('c) that uses the handle.
        unsafe { Conn::from_raw(c) }
    }
}
