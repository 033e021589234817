//! More of the raw layer for the downstream connection (the request socket, output waits,
//! abort checks): `Conn`'s event handlers, flags and preread buffer, and a marker userdata
//! whose collection can be logged.

use std::ffi::c_void;
use std::ptr;

use super::call::Call;
use super::conf::ConfSlot;
use super::conn::{Conn, Dir};
use super::event::EventHandler;
use super::lua::{raw, RegistryKey};
use super::ngx::*;
use super::stream::{StreamInfo, StreamSession};

/// The nginx version whose preread phase peeks (`ngx_stream_preread_peek`, nginx 1.25.5).
const PREREAD_PEEK_SINCE: u32 = 1_025_005;

/// Handlers nginx calls with a live connection (`c->ssl->handler`).
impl super::export::CallbackArg for Conn {
    type Raw = *mut ngx_connection_t;

    unsafe fn from_callback(c: *mut ngx_connection_t) -> Option<Conn> {
        // SAFETY: the trait's contract.
        unsafe { Conn::from_raw(c) }
    }
}

/// An event handler's connection: the one whose read or write event fired.
pub struct ConnEvent {
    pub conn: Conn,
}

/// nginx calls a connection's event handlers with one of its events (`ev->data` is the live
/// connection).
impl super::export::CallbackArg for ConnEvent {
    type Raw = *mut ngx_event_t;

    unsafe fn from_callback(ev: *mut ngx_event_t) -> Option<ConnEvent> {
        // SAFETY: the trait's contract.
        unsafe { Conn::of_event(ev) }.map(|conn| ConnEvent { conn })
    }
}

/// A client connection's event handler: the connection and its stream session.
pub struct ClientEvent<'a> {
    pub conn: Conn,
    pub stream: StreamSession<'a>,
}

/// The handlers set on a live stream session's client connection (`ev->data` is the
/// connection, `c->data` the session) get this.
impl super::export::CallbackArg for ClientEvent<'_> {
    type Raw = *mut ngx_event_t;

    unsafe fn from_callback(ev: *mut ngx_event_t) -> Option<Self> {
        // SAFETY: the trait's contract.
        let conn = unsafe { Conn::of_event(ev) }?;
        // SAFETY: as above: the connection's data is its live session.
        let stream = unsafe { StreamSession::from_raw(conn.data() as *mut ngx_stream_session_t) }?;
        Some(ClientEvent { conn, stream })
    }
}

impl Conn {
    /// The connection an event of it belongs to.
    ///
    /// # Safety
    /// `ev` is a read or write event of a live connection (its `data` is that connection).
    pub unsafe fn of_event(ev: *mut ngx_event_t) -> Option<Conn> {
        // SAFETY: the caller's contract.
        unsafe { Conn::from_raw((*ev).data as *mut ngx_connection_t) }
    }

    fn raw(&self) -> &ngx_connection_t {
        // SAFETY: the connection is live (the constructor's contract) and only touched by this
        // worker's thread.
        unsafe { &*self.as_ptr() }
    }

    fn ev(self, dir: Dir) -> *mut ngx_event_t {
        match dir {
            Dir::Read => self.raw().read,
            Dir::Write => self.raw().write,
        }
    }

    /// The connection's `data` (a stream session's connection points at its session).
    pub fn data(self) -> *mut c_void {
        self.raw().data
    }

    /// Whether it is a datagram (UDP) connection.
    pub fn is_datagram(self) -> bool {
        self.raw().type_ == libc::SOCK_DGRAM
    }

    /// Whether nginx still holds output for it (its filters' `buffered` flags).
    pub fn buffered(self) -> bool {
        self.raw().buffered() != 0
    }

    /// Whether its descriptor is gone (the connection is being closed).
    pub fn is_closing(self) -> bool {
        self.raw().fd == -1
    }

    /// Marks it failed (nginx closes a failed connection without lingering).
    pub fn set_error(self) {
        // SAFETY: the connection is live and only touched by this worker's thread.
        unsafe { (*self.as_ptr()).set_error(1) }
    }

    /// Marks it timed out.
    pub fn set_timedout(self) {
        // SAFETY: as set_error.
        unsafe { (*self.as_ptr()).set_timedout(1) }
    }

    /// Makes `handler` what nginx calls for the event (None: nothing).
    pub fn set_handler(self, dir: Dir, handler: Option<EventHandler>) {
        // SAFETY: the event is the live connection's; only this worker's thread touches it.
        unsafe { (*self.ev(dir)).handler = handler }
    }

    /// Sets (or resets) the event's timer to `ms`.
    pub fn add_timer(self, dir: Dir, ms: ngx_msec_t) {
        // SAFETY: the event is live; its timer goes with `clear_timer` or the connection.
        unsafe { ngx_add_timer(self.ev(dir), ms) }
    }

    /// Whether the event is throttled (`delayed`, a rate limit).
    pub fn is_delayed(self, dir: Dir) -> bool {
        // SAFETY: as set_handler.
        unsafe { (*self.ev(dir)).delayed() != 0 }
    }

    /// Ends the event's throttling.
    pub fn clear_delayed(self, dir: Dir) {
        // SAFETY: as set_handler.
        unsafe { (*self.ev(dir)).set_delayed(0) }
    }

    /// Whether the event's timer is set.
    pub fn has_timer(self, dir: Dir) -> bool {
        // SAFETY: as set_handler.
        unsafe { (*self.ev(dir)).timer_set() != 0 }
    }

    /// Whether the event is ready or saw an end of file (its edge may not come again).
    pub fn ready_or_eof(self, dir: Dir) -> bool {
        // SAFETY: as set_handler.
        let ev = unsafe { &*self.ev(dir) };
        ev.ready() != 0 || ev.eof() != 0
    }

    /// Marks the event as having seen an end of file.
    pub fn set_eof(self, dir: Dir) {
        // SAFETY: as set_handler.
        unsafe { (*self.ev(dir)).set_eof(1) }
    }

    /// Queues the event to run after this round of events.
    pub fn post(self, dir: Dir) {
        // SAFETY: the event is live and stays so while posted (nginx unposts a closing
        // connection's events); the queue is this worker's.
        unsafe { ngx_post_event(self.ev(dir), std::ptr::addr_of_mut!(ngx_posted_events)) }
    }

    /// The first `n` bytes of what waits unread in its buffer (nginx's preread data), when
    /// that many have arrived; they stay unread.
    pub fn peek_buffered(self, n: usize) -> Option<Vec<u8>> {
        let b = self.raw().buffer;
        // SAFETY: the buffer, when set, holds unread bytes in [pos, last).
        unsafe {
            if b.is_null() || ((*b).last.offset_from((*b).pos) as usize) < n {
                return None;
            }
            Some(std::slice::from_raw_parts((*b).pos, n).to_vec())
        }
    }

    /// Takes the event off nginx's posted queue, if it is there.
    pub fn unpost(self, dir: Dir) {
        let ev = self.ev(dir);
        // SAFETY: the event is live; a posted event is in this worker's queue.
        unsafe {
            if (*ev).posted() != 0 {
                ngx_delete_posted_event(ev);
            }
        }
    }

    /// Whether nginx's preread phase only peeks at the connection's data (`MSG_PEEK`: nginx
    /// 1.25.5+ with edge-triggered epoll and EPOLLRDHUP, or kqueue, on a connection without
    /// TLS). Its preread buffer is then a copy of what the socket still holds, not data taken
    /// from it.
    pub fn preread_peeks(self) -> bool {
        // older nginx always reads in the preread phase
        if nginx_version < PREREAD_PEEK_SINCE {
            return false;
        }
        #[cfg(ngx_feature = "stream_ssl")]
        if !self.raw().ssl.is_null() {
            return false;
        }
        // SAFETY: nginx's event flags, set once by the event module before any connection.
        let (flags, rdhup) = unsafe { (ngx_event_flags as u32, ngx_use_epoll_rdhup != 0) };
        flags & NGX_USE_CLEAR_EVENT != 0
            && (flags & NGX_USE_KQUEUE_EVENT != 0 || (flags & NGX_USE_EPOLL_EVENT != 0 && rdhup))
    }

    /// Peeks one byte from the socket without reading it: Ok(true) when one waits, Ok(false)
    /// at an end of file, Err(errno) when recv failed (EAGAIN: nothing yet).
    pub fn peek_byte(self) -> Result<bool, i32> {
        let mut byte = 0u8;
        // SAFETY: the descriptor is the live connection's; recv writes at most 1 byte.
        let n = unsafe { libc::recv(self.raw().fd, &mut byte as *mut u8 as *mut c_void, 1, libc::MSG_PEEK) };
        match n {
            n if n > 0 => Ok(true),
            0 => Ok(false),
            _ => Err(std::io::Error::last_os_error().raw_os_error().unwrap_or(0)),
        }
    }
}

impl<'l> Call<'l> {
    /// Pushes an empty userdata with the registry's metatable `name` (a marker whose `__gc`
    /// tells when its owner is collected).
    pub fn push_marker(&mut self, name: impl RegistryKey) {
        self.reserve(2);
        let l = self.as_ptr();
        // SAFETY: room was reserved; setmetatable pops what getfield pushed.
        unsafe {
            raw::lua_newuserdata(l, 0);
            name.push_from_registry(l);
            raw::lua_setmetatable(l, -2);
        }
    }
}

/// Marks the buffers this module allocates, so nginx hands them back to us for reuse.
static BUF_TAG: u8 = 0;

fn buf_tag() -> ngx_buf_tag_t {
    std::ptr::addr_of!(BUF_TAG) as *mut c_void
}

/// One free buffer of at least `size` bytes: a recycled one from `free` when big enough
/// (cosocket sends share the list, as upstream), else a new one from `pool`.
///
/// # Safety
/// `pool` and `log` are live; `free` is a list of this module's consumed buffers from `pool`.
pub unsafe fn get_free_buf(
    pool: *mut ngx_pool_t,
    log: *mut ngx_log_t,
    free: &mut *mut ngx_chain_t,
    size: usize,
) -> *mut ngx_chain_t {
    // SAFETY: the caller's contract: the list's links and buffers are live pool memory.
    unsafe {
        if !(*free).is_null() {
            let cl = *free;
            *free = (*cl).next;
            (*cl).next = ptr::null_mut();
            let b = (*cl).buf;
            let cap = (*b).end.offset_from((*b).start) as usize;
            if cap >= size {
                log_debug(
                    log,
                    format_args!("lua reuse free buf memory {cap} >= {size}, cl:{:p}, p:{:p}", cl, (*b).start),
                );
                (*b).pos = (*b).start;
                (*b).last = (*b).start;
                return cl;
            }
            log_debug(
                log,
                format_args!(
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

/// A list of buffer links of one session's pool (its free or its busy output buffers). Only
/// this layer makes links or walks the list; the session just keeps it (empty to start).
pub struct ChainList(pub(super) *mut ngx_chain_t);

impl Default for ChainList {
    fn default() -> Self {
        ChainList(ptr::null_mut())
    }
}

impl ChainList {
    pub fn is_empty(&self) -> bool {
        self.0.is_null()
    }
}

/// A session's recycled output buffers: consumed ones (`free`) and ones nginx still sends
/// (`busy`).
pub struct OutChains<'a> {
    pub free: &'a mut ChainList,
    pub busy: &'a mut ChainList,
}

/// Runs `chain` (or just what nginx holds, when null) through the stream filters towards the
/// client of `s`.
///
/// # Safety
/// `s` is a live stream session; `chain`, when set, is a chain of its pool.
unsafe fn filter(s: *mut ngx_stream_session_t, chain: *mut ngx_chain_t) -> isize {
    // SAFETY: the top filter is set once nginx has configured the stream module; the rest is
    // the caller's contract.
    unsafe {
        match ngx_stream_top_filter {
            Some(f) => f(s, chain, 1),
            None => NGX_ERROR as isize,
        }
    }
}

/// # Safety
/// `s` is a live stream session.
unsafe fn client_conn(s: *mut ngx_stream_session_t) -> Conn {
    // SAFETY: the caller's contract; the session's connection lives as long as it.
    unsafe { Conn::from_raw((*s).connection) }.expect("a stream session has a connection")
}

impl StreamSession<'_> {
    /// The client connection as a `Conn`.
    pub fn conn(&self) -> Conn {
        // SAFETY: the handle's session is live.
        unsafe { client_conn(self.as_ptr()) }
    }

    /// The status the session will be finalized with.
    pub fn stored_status(&self) -> ngx_uint_t {
        // SAFETY: the session is live.
        unsafe { (*self.as_ptr()).status }
    }

    /// Keeps `rc` as the status to finalize with later.
    pub fn store_status(&self, rc: ngx_uint_t) {
        // SAFETY: the session is live and only touched by this worker's thread.
        unsafe { (*self.as_ptr()).status = rc }
    }

    /// Sends on what nginx holds for the client.
    pub fn flush_held(&self) -> isize {
        // SAFETY: the session is live.
        unsafe { filter(self.as_ptr(), ptr::null_mut()) }
    }
}

impl<'s> StreamInfo<'s> {
    /// The client connection as a `Conn`.
    pub fn client_conn(&self) -> Conn {
        // SAFETY: the view's session is live for 's.
        unsafe { client_conn(self.as_ptr()) }
    }

    /// The server configuration slot `T` of the session's server.
    pub fn server_conf_slot<T: ConfSlot>(&self) -> Option<&'s T> {
        // SAFETY: every session carries the server confs of all stream modules; the slot holds
        // a T (ConfSlot's contract) and lives as long as the cycle.
        unsafe { (*(*self.as_ptr()).srv_conf.add(T::ctx_index()) as *const T).as_ref() }
    }

    /// Sends on what nginx holds for the client.
    pub fn flush_output(&self) -> isize {
        // SAFETY: the session is live for 's.
        unsafe { filter(self.as_ptr(), ptr::null_mut()) }
    }

    /// Sends `data` to the client, copied into a recycled (or new) buffer of the session's
    /// pool (`bufs` are the session's lists); an nginx rc.
    pub fn send_output(&self, data: &[u8], bufs: OutChains) -> isize {
        let mut filled = ChainList::default();
        if !self.fill_output(data, bufs.free, &mut filled) {
            return NGX_ERROR as isize;
        }
        self.send_filled(bufs, &mut filled)
    }

    /// Copies `data` into a recycled (or new) buffer of the session's pool, kept in `filled`
    /// (empty before) to be sent later by `send_filled`; false when there was no memory.
    pub fn fill_output(&self, data: &[u8], free: &mut ChainList, filled: &mut ChainList) -> bool {
        debug_assert!(filled.0.is_null());
        let c = self.client_conn();
        // SAFETY: the connection, its pool and log are live; the buffers are from that pool,
        // and the new one has room for data.
        unsafe {
            let cl = get_free_buf((*c.as_ptr()).pool, (*c.as_ptr()).log, &mut free.0, data.len());
            if cl.is_null() {
                return false;
            }
            let b = (*cl).buf;
            ptr::copy_nonoverlapping(data.as_ptr(), (*b).last, data.len());
            (*b).last = (*b).last.add(data.len());
            (*b).set_flush(1);
            filled.0 = cl;
        }
        true
    }

    /// Sends the buffer `fill_output` kept (none: nothing happens) through the filters; an
    /// nginx rc. The buffer joins the session's lists.
    pub fn send_filled(&self, bufs: OutChains, filled: &mut ChainList) -> isize {
        let mut out = std::mem::take(filled).0;
        if out.is_null() {
            return NGX_OK as isize;
        }
        let c = self.client_conn();
        // SAFETY: the session and its pool are live; `out` is a buffer of that pool that
        // `fill_output` filled, and the lists are the session's.
        unsafe {
            let rc = filter(self.as_ptr(), out);
            ngx_chain_update_chains((*c.as_ptr()).pool, &mut bufs.free.0, &mut bufs.busy.0, &mut out, buf_tag());
            rc
        }
    }
}
