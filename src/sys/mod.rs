//! The raw layer: nginx's and LuaJIT's C APIs, PCRE2, and the panic boundary. Nothing in here
//! uses the rest of the crate; everything above it works through the helpers defined here.

mod anchor;
pub mod call;
pub mod cbuf;
pub mod clock;
mod closure;
pub mod cmodule;
pub mod co_state;
pub mod conf;
pub mod conn;
pub mod conn_connect;
pub mod conn_ref;
pub mod coroutine;
pub mod deadline_queue;
pub mod digest;
pub mod downstream;
pub mod event;
pub mod export;
pub mod key_timer;
pub mod log_hook;
pub mod lua;
pub mod ngx;
mod object;
#[cfg(ngx_feature = "stream_ssl")]
pub mod openssl;
pub mod pcall;
pub mod pcre2;
pub mod peer_addr;
pub mod pool_buf;
pub mod recycled;
pub mod registry;
pub mod resolver;
mod resume;
pub mod shdict;
#[cfg(ngx_feature = "stream_ssl")]
pub mod ssl_client;
#[cfg(ngx_feature = "stream_ssl")]
pub mod ssl_drive;
#[cfg(ngx_feature = "stream_ssl")]
pub mod ssl_hook;
#[cfg(ngx_feature = "stream_ssl")]
pub mod ssl_verify;
pub mod state;
pub mod stream;
pub mod stream_ext;
pub mod udata;
pub mod udp;
pub mod upstream;
pub mod worker;
pub mod worker_local;

pub use self::call::{Call, LuaObject};
pub use self::conn::{worker_exiting, Conn, Dir, Io};
pub use self::coroutine::{Anchored, Coroutine, MainState};
pub use self::downstream::{ClientEvent, ConnEvent};
pub use self::event::Timer;
pub use self::lua::*;
pub use self::ngx::*;
pub use self::state::OwnedState;
