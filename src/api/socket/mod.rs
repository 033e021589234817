//! What TCP and UDP cosockets share: where they may be used, the `ngx.socket` table, the
//! `lua_socket_*` settings of a session, and peer addresses parsed the way nginx parses them.
//! Upstream cosockets are `tcp/` and `udp.rs`; the downstream (request) sockets are
//! `downstream.rs` and `downstream_udp.rs`.

pub mod downstream;
pub mod downstream_udp;
pub mod out;
pub mod pool;
pub mod recv;
#[cfg(ngx_feature = "stream_ssl")]
pub mod ssl_ctx;
pub mod tcp;
pub mod udp;

use std::ffi::c_int;

use crate::conf::{SocketConf, SrvConf};
use crate::runtime::session::Session;
use crate::sys::peer_addr::parse_url;
use crate::sys::*;

/// The `ngx.socket` table of the `ngx` table at `t`, created on first use.
pub fn socket_table(c: &mut Call, t: c_int) -> c_int {
    if c.get_field(t, c"socket") != LUA_TTABLE {
        c.pop(1);
        c.new_table(0, 4);
        c.push_copy(-1);
        c.set_field(t, c"socket");
    }
    c.top()
}

/// The `lua_socket_*` settings for sockets of `sess`; outside a session (timers,
/// init_worker) those set at the `stream {}` level, as upstream's fake requests use.
pub fn socket_conf(sess: &Session) -> SocketConf {
    match sess.stream() {
        Some(s) => s.server_conf::<SrvConf>().expect("a stream session has our server conf").socket,
        None => crate::conf::stream_level_srv_conf().map(|c| c.socket).unwrap_or_default(),
    }
}

/// A parsed peer address.
pub struct PeerAddr {
    pub sockaddr: Vec<u8>,
    pub name: Vec<u8>,
}

/// Parses `host` (an IP address, `[v6]`, `unix:/path`, or a name) with nginx's own URL
/// parser, as upstream does; `Ok(None)` for a host name that needs resolving.
pub fn parse_addr(host: &[u8], port: u16) -> Result<Option<PeerAddr>, String> {
    Ok(parse_url(host, port)?.map(|p| PeerAddr { sockaddr: p.sockaddr, name: p.name }))
}

pub use crate::sys::peer_addr::sockaddr_bytes;

/// What a failed socket call reports for an errno: `strerror`'s text in lower case, as
/// upstream lowers nginx's `ngx_strerror` output ("error" when there is no errno).
pub fn errno_text(errno: i32) -> String {
    if errno == 0 {
        return "error".into();
    }
    let s = std::io::Error::from_raw_os_error(errno).to_string();
    s.split(" (os error").next().unwrap_or("error").to_lowercase()
}

/// `shutdown`'s direction (argument 2) of the TCP and the request socket: only `"send"`, in
/// upstream's words otherwise. `None`: go on; `Some(r)`: the call ends with `r`.
pub fn shutdown_direction(c: &mut Call) -> Option<LuaResult> {
    let dir = match c.type_of(2) {
        LUA_TSTRING | LUA_TNUMBER => c.to_bytes(2).unwrap_or_default().to_vec(),
        _ => return Some(c.arg_error(2, "shutdown", format!("string expected, got {}", c.type_name_at(2)))),
    };
    if dir.is_empty() {
        return Some(c.fail(b"pattern is empty"));
    }
    if dir != b"send" {
        let arg = String::from_utf8_lossy(&dir).into_owned();
        return Some(c.arg_error(2, "shutdown", format!("bad shutdown argument: {arg}")));
    }
    None
}
