//! `ngx.balancer`: the exported `ngx_stream_lua_ffi_balancer_*` functions (stream-lua's names
//! and signatures, as lua-resty-core 0.1.31's `ngx/balancer.lua` declares them) that only work
//! while `balancer_by_lua*` runs. The Lua side is `lualib/ngx_balancer.lua`.

use std::ffi::{c_int, c_long, CStr};

use crate::ffi_exports;
use crate::runtime::session::{Phase, Session};
use crate::sys::cbuf::{ErrBuf, ErrPtr};
use crate::sys::stream::StreamInfo;
use crate::sys::upstream::Peer;
use crate::sys::*;

/// The checks every call starts with, in upstream's order and words (C strings: they go out
/// as `const char *`).
fn balancer_of(sess: Option<&mut Session>) -> Result<(&mut Peer, StreamInfo<'_>), &'static CStr> {
    let Some(sess) = sess else { return Err(c"no request found") };
    let phase = sess.phase;
    let (peer, stream) = sess.balancer_parts();
    let stream = stream.filter(|s| s.has_upstream()).ok_or(c"no upstream found")?;
    if phase != Phase::Balancer {
        return Err(c"API disabled in the current context");
    }
    let peer = peer.ok_or(c"no upstream peer data found")?;
    Ok((peer, stream))
}

ffi_exports! {
    fn ngx_stream_lua_ffi_balancer_set_current_peer(
        r: Option<&mut Session>,
        addr: bytes[addr_len],
        port: c_int,
        mut err: ErrPtr<'_>,
    ) -> c_int [NGX_ERROR] {
        let (peer, stream) = match balancer_of(r) {
            Ok(found) => found,
            Err(msg) => {
                err.set(msg);
                return NGX_ERROR;
            }
        };
        match stream.parse_peer(addr, port) {
            Ok(a) => {
                peer.sockaddr = a.sockaddr;
                peer.socklen = a.socklen;
                peer.name = a.name;
                NGX_OK as c_int
            }
            Err(msg) => {
                err.set(msg);
                NGX_ERROR
            }
        }
    }

    fn ngx_stream_lua_ffi_balancer_set_more_tries(
        r: Option<&mut Session>,
        count: c_int,
        mut err: ErrPtr<'_>,
    ) -> c_int [NGX_ERROR] {
        let (peer, _) = match balancer_of(r) {
            Ok(found) => found,
            Err(msg) => {
                err.set(msg);
                return NGX_ERROR;
            }
        };
        // stock nginx does not tell us `proxy_next_upstream_tries` (OpenResty's patch does),
        // so, as upstream built without it, nothing is reduced and no warning
        err.clear();
        peer.more_tries = count as ngx_uint_t;
        NGX_OK as c_int
    }

    fn ngx_stream_lua_ffi_balancer_get_last_failure(
        r: Option<&mut Session>,
        status: Option<&mut c_int>,
        mut err: ErrPtr<'_>,
    ) -> c_int [NGX_ERROR] {
        let (peer, _) = match balancer_of(r) {
            Ok(found) => found,
            Err(msg) => {
                err.set(msg);
                return NGX_ERROR;
            }
        };
        if let Some(status) = status {
            *status = 0;
        }
        peer.last_peer_state
    }

    /// Per-session proxy timeouts need OpenResty's nginx patch (the proxy module keeps them in
    /// its private configuration); on stock nginx upstream refuses, and so do we.
    fn ngx_stream_lua_ffi_balancer_set_timeouts(
        _r: *mut Session,
        _connect_timeout: c_long,
        _timeout: c_long,
        mut err: ErrPtr<'_>,
    ) -> c_int [NGX_ERROR] {
        err.set(c"required Nginx patch not present, API disabled");
        NGX_ERROR
    }

    fn ngx_stream_lua_ffi_balancer_bind_to_local_addr(
        r: Option<&mut Session>,
        addr: bytes[addr_len],
        err: err_buf[errbuf_size],
    ) -> c_int [NGX_ERROR] {
        let fail = |err: &mut ErrBuf, msg: &[u8]| {
            err.set(msg);
            NGX_ERROR
        };
        let Some(sess) = r else { return fail(&mut err, b"no request found") };
        let phase = sess.phase;
        let stream = match sess.balancer_parts() {
            (_, Some(stream)) if stream.has_upstream() => stream,
            _ => return fail(&mut err, b"no upstream found"),
        };
        // (upstream checks no peer data here)
        if phase != Phase::Balancer {
            return fail(&mut err, b"API disabled in the current context");
        }
        match stream.bind_upstream_local(addr) {
            Ok(()) => NGX_OK as c_int,
            Err(msg) => fail(&mut err, msg),
        }
    }
}
