//! Where our configuration is found: a session's and the running cycle's. Each is the slot of
//! our module (its `ctx_index`, which the module hands the runtime) in nginx's stream
//! configuration arrays; `sys::conf` and `sys::stream` read them.

use super::{MainConf, SrvConf};
use crate::runtime::handle::SessionRef;
use crate::runtime::session::Session;
use crate::sys::conf::StreamCtx;
use crate::sys::stream::StreamSession;
use crate::sys::*;

/// The module's server configuration of a session.
///
/// # Safety
/// `s` is a live stream session.
pub unsafe fn srv_conf_of<'a>(s: *mut ngx_stream_session_t) -> &'a SrvConf {
    // SAFETY: the caller's contract; every session has our server conf.
    unsafe { StreamSession::from_raw(s) }.and_then(|s| s.srv_conf()).expect("a stream session has our server conf")
}

/// The module's main configuration of the running cycle (in a worker), if it has a stream block.
pub fn cycle_main_conf<'a>() -> Option<&'a MainConf> {
    StreamCtx::running()?.main_conf()
}

/// The server configuration of the `stream {}` level itself (directives given outside any
/// `server {}`) of the running cycle.
pub fn stream_level_srv_conf<'a>() -> Option<&'a SrvConf> {
    StreamCtx::running()?.srv_conf()
}

/// The TLS client context of the first server that has one (for cosockets in timers).
#[cfg(ngx_feature = "stream_ssl")]
pub fn first_ssl_ctx() -> *mut ngx_ssl_t {
    let Some(ctx) = StreamCtx::running() else { return std::ptr::null_mut() };
    ctx.servers()
        .find_map(|server| server.srv_conf::<SrvConf>().and_then(|c| c.ssl.ctx))
        .map_or(std::ptr::null_mut(), |p| p.as_ptr())
}

// The server configuration as seen from the runtime's session handles (the runtime itself
// names no configuration type).
impl Session {
    /// The server's configuration (none for a session-less context).
    pub fn server_conf(&self) -> Option<&SrvConf> {
        self.stream().and_then(|s| s.server_conf_slot())
    }
}

impl<'c> SessionRef<'c> {
    /// The server's configuration (none in a session-less context: a timer, init_worker).
    pub fn srv_conf(self) -> Option<&'c SrvConf> {
        let s = self.with(|s| s.s.as_ptr());
        // SAFETY: a live stream session's server configuration lives as long as its cycle.
        (!s.is_null()).then(|| unsafe { srv_conf_of(s) })
    }
}
