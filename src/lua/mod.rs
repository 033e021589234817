//! The Lua side: per-cycle VM, code loading and the coroutine runner.

pub mod cmodule;
pub mod code;
pub mod paths;
pub mod runner;
pub mod session;
pub mod thread;
pub mod vm;
