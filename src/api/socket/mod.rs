//! What TCP and UDP cosockets share: where they may be used, the `ngx.socket` table, the
//! `lua_socket_*` settings of a session, and peer addresses parsed the way nginx parses them.
//! Upstream cosockets are `tcp/` and `udp.rs`; the downstream (request) sockets are
//! `downstream.rs` and `downstream_udp.rs`.

pub mod downstream;
pub mod downstream_udp;
pub mod out;
pub mod pool;
pub mod recv;
pub mod resolve;
#[cfg(ngx_feature = "stream_ssl")]
pub mod ssl;
#[cfg(ngx_feature = "stream_ssl")]
pub mod ssl_ctx;
pub mod tcp;
pub mod udp;

use std::ffi::c_int;

use crate::conf::SocketConf;
use crate::runtime::session::Session;
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
    if sess.s.is_null() {
        return crate::conf::stream_level_srv_conf().map(|c| c.socket).unwrap_or_default();
    }
    // SAFETY: a live session's server conf.
    unsafe { crate::conf::srv_conf_of(sess.s).socket }
}

/// A parsed peer address.
pub struct PeerAddr {
    pub sockaddr: Vec<u8>,
    pub name: Vec<u8>,
}

/// Parses `host` (an IP address, `[v6]`, `unix:/path`, or a name) with nginx's own URL
/// parser, as upstream does; `Ok(None)` for a host name that needs resolving.
pub fn parse_addr(host: &[u8], port: u16) -> Result<Option<PeerAddr>, String> {
    let shown = String::from_utf8_lossy(host).into_owned();
    // SAFETY: a temporary pool for the parser; what we keep is copied out before it goes.
    unsafe {
        let pool = ngx_create_pool(1024, cycle_log());
        if pool.is_null() {
            return Err("no memory".into());
        }
        let mut text = host.to_vec();
        text.push(0);
        let mut u: ngx_url_t = std::mem::zeroed();
        u.url = ngx_str_t { len: host.len(), data: text.as_mut_ptr() };
        u.default_port = port;
        u.set_no_resolve(1);
        let r = if ngx_parse_url(pool, &mut u) != NGX_OK as isize {
            if u.err.is_null() {
                Err(format!("failed to parse host name \"{shown}\""))
            } else {
                let why = std::ffi::CStr::from_ptr(u.err).to_string_lossy().into_owned();
                Err(format!("failed to parse host name \"{shown}\": {why}"))
            }
        } else if u.naddrs > 0 && !(*u.addrs).sockaddr.is_null() {
            let a = &*u.addrs;
            let sa = std::slice::from_raw_parts(a.sockaddr as *const u8, a.socklen as usize).to_vec();
            let name = ngx_bytes(&a.name).to_vec();
            Ok(Some(PeerAddr { sockaddr: sa, name: if name.is_empty() { host.to_vec() } else { name } }))
        } else {
            Ok(None)
        };
        ngx_destroy_pool(pool);
        r
    }
}

/// The C sockaddr of `sa`.
pub fn sockaddr_bytes(sa: &std::net::SocketAddr) -> Vec<u8> {
    match sa {
        std::net::SocketAddr::V4(a) => {
            // SAFETY: all-zero sockaddr_in is valid.
            let mut sin: libc::sockaddr_in = unsafe { std::mem::zeroed() };
            sin.sin_family = libc::AF_INET as _;
            sin.sin_port = a.port().to_be();
            sin.sin_addr.s_addr = u32::from_ne_bytes(a.ip().octets());
            // SAFETY: plain struct bytes.
            unsafe { std::slice::from_raw_parts(&sin as *const _ as *const u8, std::mem::size_of_val(&sin)).to_vec() }
        }
        std::net::SocketAddr::V6(a) => {
            // SAFETY: all-zero sockaddr_in6 is valid.
            let mut sin6: libc::sockaddr_in6 = unsafe { std::mem::zeroed() };
            sin6.sin6_family = libc::AF_INET6 as _;
            sin6.sin6_port = a.port().to_be();
            sin6.sin6_addr.s6_addr = a.ip().octets();
            // SAFETY: plain struct bytes.
            unsafe { std::slice::from_raw_parts(&sin6 as *const _ as *const u8, std::mem::size_of_val(&sin6)).to_vec() }
        }
    }
}

/// Pushes `nil, msg` and returns 2.
pub unsafe fn fail(l: *mut lua_State, msg: &[u8]) -> LuaResult {
    // SAFETY: l has room for two values.
    unsafe {
        raw::lua_pushnil(l);
        push_bytes(l, msg);
    }
    Ok(2)
}

/// What a failed socket call reports for an errno: `strerror`'s text in lower case, as
/// upstream lowers nginx's `ngx_strerror` output ("error" when there is no errno).
pub fn errno_text(errno: i32) -> String {
    if errno == 0 {
        return "error".into();
    }
    let s = std::io::Error::from_raw_os_error(errno).to_string();
    s.split(" (os error").next().unwrap_or("error").to_lowercase()
}
