//! The running session's downstream connection as a `Conn` handle.

use crate::runtime::handle::SessionRef;
use crate::sys::Conn;

impl<'c> SessionRef<'c> {
    /// The session's downstream connection (none in a session-less context: a timer's).
    pub fn conn(self) -> Option<Conn> {
        self.with(|s| s.s.conn())
    }
}
