//! The Lua runtime of a worker: the VM and its code, sessions, their threads and the
//! scheduler that resumes them on nginx events.

pub mod code;
pub mod detached;
pub mod downstream;
pub mod handle;
pub mod live;
pub mod log_capture;
pub mod paths;
pub mod scheduler;
pub mod session;
mod session_conn;
pub mod thread;
pub mod thread_list;
pub mod vm;
pub mod waiter;
