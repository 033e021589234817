//! nginx hooks, one file per phase; `finalize` is the common end of a Lua-driven session.

pub mod balancer;
pub mod content;
pub mod init;
pub mod log;
pub mod preread;
