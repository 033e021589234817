//! Output to the downstream connection: `ngx.say`'s and cosocket sends' pool buffers,
//! recycled per session, the stream filter chain, and the end of a Lua-driven session
//! (`finalize`, which lets buffered output drain first).

use std::ffi::c_void;
use std::ptr;

use crate::conf::{srv_conf_of, SrvConf};
use crate::runtime::live::LiveSession;
use crate::runtime::session::Session;
use crate::sys::*;

impl Session {
    /// The downstream connection (none for a session-less context: a timer's).
    pub fn downstream(&self) -> Option<Conn> {
        if self.s.is_null() {
            return None;
        }
        // SAFETY: a stream session's connection lives as long as the session, which this
        // context is part of.
        unsafe { Conn::from_raw(self.connection()) }
    }

    /// The server's configuration (none for a session-less context).
    pub fn server_conf(&self) -> Option<&SrvConf> {
        // SAFETY: s is null or the live stream session this context belongs to.
        (!self.s.is_null()).then(|| unsafe { srv_conf_of(self.s) })
    }

    /// Sends on what nginx holds for the client (its filters' buffered output).
    pub fn flush_held(&mut self) -> isize {
        if self.s.is_null() {
            return NGX_ERROR as isize;
        }
        // SAFETY: a live stream session, whose filters are set up.
        unsafe { send_chain(self.s, ptr::null_mut()) }
    }
}

/// The session whose downstream connection `ev` is an event of (none when Lua never ran for
/// it), for the nginx callbacks of that connection.
///
/// # Safety
/// `ev` is a read or write event of a live stream session's connection.
pub unsafe fn event_session(ev: *mut ngx_event_t) -> Option<LiveSession> {
    // SAFETY: the caller's contract: ev->data is the connection, c->data its stream session,
    // whose context stays live for this callback.
    unsafe {
        let c = Conn::of_event(ev)?;
        LiveSession::from_raw(Session::of(c.data() as *mut ngx_stream_session_t)?)
    }
}

/// Marks the buffers this module allocates, so nginx hands them back to us for reuse.
static BUF_TAG: u8 = 0;

fn buf_tag() -> ngx_buf_tag_t {
    ptr::addr_of!(BUF_TAG) as *mut c_void
}

/// Sends `data` to the client, copying it into a recycled (or new) pool buffer (an error for
/// a session-less context, which has no client).
pub fn write(sess: &mut Session, data: &[u8]) -> isize {
    if sess.s.is_null() {
        return NGX_ERROR as isize;
    }
    // SAFETY: a session with a stream session has a live connection and pool, as long as the
    // session; buffers come from that pool.
    unsafe {
        let c = sess.connection();
        let pool = (*c).pool;
        let log = sess.log();
        let cl = get_free_buf(pool, log, &mut sess.out_free, data.len());
        if cl.is_null() {
            return NGX_ERROR as isize;
        }
        let b = (*cl).buf;
        ptr::copy_nonoverlapping(data.as_ptr(), (*b).last, data.len());
        (*b).last = (*b).last.add(data.len());
        (*b).set_flush(1);
        let mut out = cl;
        let rc = send_chain(sess.s, out);
        ngx_chain_update_chains(pool, &mut sess.out_free, &mut sess.out_busy, &mut out, buf_tag());
        rc
    }
}

/// One free buffer of at least `size` bytes: a recycled one when big enough (cosocket sends
/// share the list, as upstream).
pub unsafe fn get_free_buf(
    pool: *mut ngx_pool_t,
    log: *mut ngx_log_t,
    free: &mut *mut ngx_chain_t,
    size: usize,
) -> *mut ngx_chain_t {
    // SAFETY: free is this session's list of consumed buffers from the same pool.
    unsafe {
        if !(*free).is_null() {
            let cl = *free;
            *free = (*cl).next;
            (*cl).next = ptr::null_mut();
            let b = (*cl).buf;
            let cap = (*b).end.offset_from((*b).start) as usize;
            if cap >= size {
                log_debug(log, &format!("lua reuse free buf memory {cap} >= {size}, cl:{:p}, p:{:p}", cl, (*b).start));
                (*b).pos = (*b).start;
                (*b).last = (*b).start;
                return cl;
            }
            log_debug(
                log,
                &format!(
                    "lua reuse free buf chain, but reallocate memory because {size} >= {cap}, cl:{:p}, p:{:p}",
                    cl,
                    (*b).start
                ),
            );
            ngx_pfree(pool, (*b).start as *mut c_void);
            let start = ngx_palloc(pool, size) as *mut u8;
            if start.is_null() {
                return ptr::null_mut();
            }
            (*b).start = start;
            (*b).pos = start;
            (*b).last = start;
            (*b).end = start.add(size);
            return cl;
        }
        let cl = ngx_alloc_chain_link(pool);
        if cl.is_null() {
            return ptr::null_mut();
        }
        let b = ngx_create_temp_buf(pool, size.max(1));
        if b.is_null() {
            return ptr::null_mut();
        }
        (*b).tag = buf_tag();
        (*cl).buf = b;
        (*cl).next = ptr::null_mut();
        cl
    }
}

/// Runs `chain` (or just what nginx holds, when null) through the stream filters towards the
/// client.
pub unsafe fn send_chain(s: *mut ngx_stream_session_t, chain: *mut ngx_chain_t) -> isize {
    // SAFETY: the top filter is set once nginx has configured the stream module.
    unsafe {
        match ngx_stream_top_filter {
            Some(f) => f(s, chain, 1),
            None => NGX_ERROR as isize,
        }
    }
}

/// Ends the session with `rc` once buffered output has reached the client, following
/// upstream: errors close at once, `ngx.DONE` leaves the session to its owner.
pub unsafe fn finalize(s: *mut ngx_stream_session_t, rc: isize) {
    // SAFETY: s is live.
    log_debug(unsafe { (*(*s).connection).log }, &format!("finalize stream request: {rc}"));
    let mut rc = rc;
    if rc == NGX_ERROR as isize {
        rc = NGX_STREAM_INTERNAL_SERVER_ERROR as isize;
    }
    if rc == NGX_DONE as isize {
        return;
    }
    if rc == NGX_OK as isize {
        rc = NGX_STREAM_OK as isize;
    }
    // SAFETY: s is live until ngx_stream_finalize_session.
    unsafe {
        let c = (*s).connection;
        if rc != NGX_DECLINED as isize && rc != NGX_STREAM_INTERNAL_SERVER_ERROR as isize && (*c).buffered() != 0 {
            (*s).status = rc as ngx_uint_t;
            // the session is over for Lua: client read events no longer matter
            (*(*c).read).handler = Some(ignore_event);
            let wev = (*c).write;
            (*wev).handler = Some(flush_then_finalize);
            if (*wev).delayed() == 0 {
                ngx_add_timer(wev, send_timeout(s));
            }
            if ngx_handle_write_event(wev, 0) == NGX_OK as isize {
                return;
            }
            rc = NGX_STREAM_INTERNAL_SERVER_ERROR as isize;
        }
        ngx_stream_finalize_session(s, rc as ngx_uint_t);
    }
}

/// A read or write handler for events that no longer matter.
pub unsafe extern "C" fn ignore_event(_ev: *mut ngx_event_t) {}

/// Write handler while the last output drains; the status waits in `s->status`.
unsafe extern "C" fn flush_then_finalize(wev: *mut ngx_event_t) {
    guard((), || {
        // SAFETY: wev belongs to the session's connection (wev->data = c, c->data = s).
        unsafe {
            let c = (*wev).data as *mut ngx_connection_t;
            let s = (*c).data as *mut ngx_stream_session_t;
            if (*wev).timedout() != 0 {
                log_error(NGX_LOG_INFO, (*c).log, libc::ETIMEDOUT, b"client timed out");
                (*c).set_timedout(1);
                ngx_stream_finalize_session(s, NGX_STREAM_INTERNAL_SERVER_ERROR as ngx_uint_t);
                return;
            }
            let rc = send_chain(s, std::ptr::null_mut());
            if rc == NGX_ERROR as isize {
                ngx_stream_finalize_session(s, NGX_STREAM_INTERNAL_SERVER_ERROR as ngx_uint_t);
                return;
            }
            if (*c).buffered() != 0 {
                if (*wev).delayed() == 0 {
                    ngx_add_timer(wev, send_timeout(s));
                }
                if ngx_handle_write_event(wev, 0) != NGX_OK as isize {
                    ngx_stream_finalize_session(s, NGX_STREAM_INTERNAL_SERVER_ERROR as ngx_uint_t);
                }
                return;
            }
            if (*wev).timer_set() != 0 {
                ngx_del_timer(wev);
            }
            ngx_stream_finalize_session(s, (*s).status);
        }
    })
}

/// How long the last output may take to drain: the session's `lua_socket_send_timeout`.
unsafe fn send_timeout(s: *mut ngx_stream_session_t) -> ngx_msec_t {
    // SAFETY: s is live; its Lua context stays until the session is finalized.
    unsafe { Session::of(s).map_or(60_000, |sess| (*sess).send_timeout) }
}
