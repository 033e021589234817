//! Peer addresses of cosockets as C sockaddr bytes: parsed by nginx's own URL parser (as
//! upstream does), or made from a Rust address; and the server configuration a stream session
//! view can read.

use std::net::SocketAddr;

use super::conf::ConfSlot;
use super::ngx::*;
use super::stream::StreamInfo;

/// A parsed peer: its sockaddr bytes and its name for log lines.
pub struct ParsedPeer {
    pub sockaddr: Vec<u8>,
    pub name: Vec<u8>,
}

/// Parses `host` (an IP address, `[v6]`, `unix:/path`, or a name) with `port` as the default
/// port; `Ok(None)` for a host name that needs resolving, `Err` with upstream's error text.
pub fn parse_url(host: &[u8], port: u16) -> Result<Option<ParsedPeer>, String> {
    let shown = String::from_utf8_lossy(host).into_owned();
    // SAFETY: a temporary pool for the parser; what we keep is copied out before it goes, and
    // the parser reads the NUL-terminated copy of host.
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
            Ok(Some(ParsedPeer { sockaddr: sa, name: if name.is_empty() { host.to_vec() } else { name } }))
        } else {
            Ok(None)
        };
        ngx_destroy_pool(pool);
        r
    }
}

/// The bytes of a plain C struct.
fn struct_bytes<T: Copy>(v: &T) -> Vec<u8> {
    // SAFETY: v is a plain C struct of size_of::<T>() initialized bytes (zeroed, then set).
    unsafe { std::slice::from_raw_parts(v as *const T as *const u8, std::mem::size_of::<T>()).to_vec() }
}

/// The C sockaddr of `sa`.
pub fn sockaddr_bytes(sa: &SocketAddr) -> Vec<u8> {
    match sa {
        SocketAddr::V4(a) => {
            // SAFETY: all-zero sockaddr_in is valid.
            let mut sin: libc::sockaddr_in = unsafe { std::mem::zeroed() };
            sin.sin_family = libc::AF_INET as _;
            sin.sin_port = a.port().to_be();
            sin.sin_addr.s_addr = u32::from_ne_bytes(a.ip().octets());
            struct_bytes(&sin)
        }
        SocketAddr::V6(a) => {
            // SAFETY: all-zero sockaddr_in6 is valid.
            let mut sin6: libc::sockaddr_in6 = unsafe { std::mem::zeroed() };
            sin6.sin6_family = libc::AF_INET6 as _;
            sin6.sin6_port = a.port().to_be();
            sin6.sin6_addr.s6_addr = a.ip().octets();
            struct_bytes(&sin6)
        }
    }
}

impl<'s> StreamInfo<'s> {
    /// A module's configuration of the session's server (`T`'s slot).
    pub fn server_conf<T: ConfSlot>(&self) -> Option<&'s T> {
        // SAFETY: every live session carries the server confs of all stream modules; the slot
        // holds a T (ConfSlot's contract), which lives as long as the cycle.
        unsafe { (*(*self.as_ptr()).srv_conf.add(T::ctx_index()) as *const T).as_ref() }
    }
}
