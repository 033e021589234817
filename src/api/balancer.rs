//! `ngx.balancer`: the exported `ngx_stream_lua_ffi_balancer_*` functions (stream-lua's names
//! and signatures, as lua-resty-core 0.1.31's `ngx/balancer.lua` declares them) that only work
//! while `balancer_by_lua*` runs. The Lua side is `lualib/ngx_balancer.lua`.

use std::ffi::{c_char, c_int, c_long, CStr};

use crate::api::exports::session;
use crate::runtime::session::{Phase, Session};
use crate::sys::cbuf::{bytes_in, ErrBuf, ErrPtr};
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

#[no_mangle]
pub unsafe extern "C" fn ngx_stream_lua_ffi_balancer_set_current_peer(
    r: *mut Session,
    addr: *const u8,
    addr_len: usize,
    port: c_int,
    err: *mut *const c_char,
) -> c_int {
    guard(NGX_ERROR, || {
        // SAFETY: r as `session` wants; addr points at addr_len bytes; err is null or writable.
        let (sess, addr, mut err) = unsafe { (session(r), bytes_in(addr, addr_len), ErrPtr::from_raw(err)) };
        let (peer, stream) = match balancer_of(sess) {
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
    })
}

#[no_mangle]
pub unsafe extern "C" fn ngx_stream_lua_ffi_balancer_set_more_tries(
    r: *mut Session,
    count: c_int,
    err: *mut *const c_char,
) -> c_int {
    guard(NGX_ERROR, || {
        // SAFETY: r as `session` wants; err is null or writable.
        let (sess, mut err) = unsafe { (session(r), ErrPtr::from_raw(err)) };
        let (peer, _) = match balancer_of(sess) {
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
    })
}

#[no_mangle]
pub unsafe extern "C" fn ngx_stream_lua_ffi_balancer_get_last_failure(
    r: *mut Session,
    status: *mut c_int,
    err: *mut *const c_char,
) -> c_int {
    guard(NGX_ERROR, || {
        // SAFETY: r as `session` wants; status and err are null or writable.
        let (sess, status, mut err) = unsafe { (session(r), status.as_mut(), ErrPtr::from_raw(err)) };
        let (peer, _) = match balancer_of(sess) {
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
    })
}

/// Per-session proxy timeouts need OpenResty's nginx patch (the proxy module keeps them in its
/// private configuration); on stock nginx upstream refuses, and so do we.
#[no_mangle]
pub unsafe extern "C" fn ngx_stream_lua_ffi_balancer_set_timeouts(
    _r: *mut Session,
    _connect_timeout: c_long,
    _timeout: c_long,
    err: *mut *const c_char,
) -> c_int {
    // SAFETY: err is null or the caller's out pointer.
    unsafe { ErrPtr::from_raw(err) }.set(c"required Nginx patch not present, API disabled");
    NGX_ERROR
}

#[no_mangle]
pub unsafe extern "C" fn ngx_stream_lua_ffi_balancer_bind_to_local_addr(
    r: *mut Session,
    addr: *const u8,
    addr_len: usize,
    errbuf: *mut u8,
    errbuf_size: *mut usize,
) -> c_int {
    guard(NGX_ERROR, || {
        // SAFETY: r as `session` wants; addr points at addr_len bytes; the error buffer holds
        // *errbuf_size bytes.
        let (sess, addr, mut err) =
            unsafe { (session(r), bytes_in(addr, addr_len), ErrBuf::from_raw(errbuf, errbuf_size)) };
        let fail = |err: &mut ErrBuf, msg: &[u8]| {
            err.set(msg);
            NGX_ERROR
        };
        let Some(sess) = sess else { return fail(&mut err, b"no request found") };
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
    })
}
