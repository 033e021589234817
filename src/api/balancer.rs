//! `ngx.balancer`: the exported `ngx_stream_lua_ffi_balancer_*` functions (stream-lua's names
//! and signatures, as lua-resty-core 0.1.31's `ngx/balancer.lua` declares them) that only work
//! while `balancer_by_lua*` runs. The Lua side is `lualib/ngx_balancer.lua`.

use std::ffi::{c_char, c_int, c_long};

use crate::phase::balancer::Peer;
use crate::runtime::session::{Phase, Session};
use crate::sys::*;

/// The checks every call starts with, in upstream's order and words.
unsafe fn balancer_of(r: *mut Session) -> Result<(*mut Peer, *mut ngx_stream_session_t), &'static [u8]> {
    if r.is_null() {
        return Err(b"no request found\0");
    }
    // SAFETY: r is a live session context (the running one).
    unsafe {
        let s = (*r).s;
        if s.is_null() || (*s).upstream.is_null() {
            return Err(b"no upstream found\0");
        }
        if (*r).phase != Phase::Balancer {
            return Err(b"API disabled in the current context\0");
        }
        if (*r).balancer.is_null() {
            return Err(b"no upstream peer data found\0");
        }
        Ok(((*r).balancer, s))
    }
}

/// Points `*err` at a static NUL-terminated message.
/// `balancer_of`, with its failure left in `err` for the caller to return `NGX_ERROR`.
unsafe fn balancer_or_err(r: *mut Session, err: *mut *const c_char) -> Option<(*mut Peer, *mut ngx_stream_session_t)> {
    // SAFETY: as for balancer_of.
    unsafe { balancer_of(r).map_err(|msg| set_err(err, msg)).ok() }
}

unsafe fn set_err(err: *mut *const c_char, msg: &'static [u8]) {
    if !err.is_null() {
        // SAFETY: err is the caller's out pointer; msg ends with NUL and is static.
        unsafe { *err = msg.as_ptr() as *const c_char };
    }
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
        // SAFETY: r is null or the running session; addr points at addr_len bytes.
        unsafe {
            let Some((bp, s)) = balancer_or_err(r, err) else { return NGX_ERROR };
            let pool = (*(*s).connection).pool;
            let mut url: ngx_url_t = std::mem::zeroed();
            let data = ngx_pnalloc(pool, addr_len.max(1)) as *mut u8;
            if data.is_null() {
                set_err(err, b"no memory\0");
                return NGX_ERROR;
            }
            if addr_len > 0 {
                std::ptr::copy_nonoverlapping(addr, data, addr_len);
            }
            url.url = ngx_str_t { len: addr_len, data };
            // as upstream: the port is cut to 16 bits, names are not resolved
            url.default_port = port as in_port_t;
            url.set_uri_part(0);
            url.set_no_resolve(1);
            if ngx_parse_url(pool, &mut url) != NGX_OK as ngx_int_t {
                if !url.err.is_null() {
                    *err = url.err;
                } else {
                    set_err(err, b"invalid address\0");
                }
                return NGX_ERROR;
            }
            if url.addrs.is_null() || (*url.addrs).sockaddr.is_null() {
                set_err(err, b"no host allowed\0");
                return NGX_ERROR;
            }
            (*bp).sockaddr = (*url.addrs).sockaddr;
            (*bp).socklen = (*url.addrs).socklen;
            (*bp).name = &mut (*url.addrs).name;
            NGX_OK as c_int
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
        // SAFETY: r is null or the running session.
        unsafe {
            let Some((bp, _)) = balancer_or_err(r, err) else { return NGX_ERROR };
            // stock nginx does not tell us `proxy_next_upstream_tries` (OpenResty's patch
            // does), so, as upstream built without it, nothing is reduced and no warning
            if !err.is_null() {
                *err = std::ptr::null();
            }
            (*bp).more_tries = count as ngx_uint_t;
            NGX_OK as c_int
        }
    })
}

#[no_mangle]
pub unsafe extern "C" fn ngx_stream_lua_ffi_balancer_get_last_failure(
    r: *mut Session,
    status: *mut c_int,
    err: *mut *const c_char,
) -> c_int {
    guard(NGX_ERROR, || {
        // SAFETY: r is null or the running session; status is the caller's int.
        unsafe {
            let Some((bp, _)) = balancer_or_err(r, err) else { return NGX_ERROR };
            if !status.is_null() {
                *status = 0;
            }
            (*bp).last_peer_state
        }
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
    // SAFETY: err is the caller's out pointer.
    unsafe { set_err(err, b"required Nginx patch not present, API disabled\0") };
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
        // SAFETY: r is null or the running session; the buffers are sized by the caller.
        unsafe {
            let fail = |msg: &[u8]| {
                let msg = msg.strip_suffix(b"\0").unwrap_or(msg);
                let n = msg.len().min(*errbuf_size);
                std::ptr::copy_nonoverlapping(msg.as_ptr(), errbuf, n);
                *errbuf_size = n;
                NGX_ERROR
            };
            let s = match balancer_of(r) {
                Ok((_, s)) => s,
                // upstream checks no peer data here
                Err(b"no upstream peer data found\0") => (*r).s,
                Err(msg) => return fail(msg),
            };
            let pool = (*(*s).connection).pool;
            let local = ngx_pcalloc(pool, std::mem::size_of::<ngx_addr_t>()) as *mut ngx_addr_t;
            let data = ngx_pnalloc(pool, addr_len.max(1)) as *mut u8;
            if local.is_null() || data.is_null() {
                return fail(b"no memory");
            }
            if addr_len > 0 {
                std::ptr::copy_nonoverlapping(addr, data, addr_len);
            }
            if ngx_parse_addr_port(pool, local, data, addr_len) != NGX_OK as ngx_int_t {
                return fail(b"parse addr port failed");
            }
            (*local).name = ngx_str_t { len: addr_len, data };
            (*(*s).upstream).peer.local = local;
            NGX_OK as c_int
        }
    })
}
