//! The raw layer: nginx's and LuaJIT's C APIs, PCRE2, and the panic boundary. Nothing in here
//! uses the rest of the crate; everything above it works through the helpers defined here.

pub mod call;
mod closure;
pub mod conn;
pub mod digest;
pub mod event;
pub mod lua;
pub mod ngx;
mod object;
pub mod pcre2;

pub use self::call::{Call, LuaObject};
pub use self::conn::{worker_exiting, Conn, Dir, Io};
pub use self::event::Timer;
pub use self::lua::*;
pub use self::ngx::*;
