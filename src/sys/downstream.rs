//! More of the raw layer for the downstream connection (the request socket, output waits,
//! abort checks): `Conn`'s event handlers, flags and preread buffer, and a marker userdata
//! whose collection can be logged.

use std::ffi::{c_void, CStr};

use super::call::Call;
use super::conn::{Conn, Dir};
use super::event::EventHandler;
use super::lua::{raw, LUA_REGISTRYINDEX};
use super::ngx::{
    ngx_add_timer, ngx_connection_t, ngx_delete_posted_event, ngx_event_t, ngx_msec_t, ngx_post_event,
    ngx_posted_events,
};

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
    pub fn push_marker(&mut self, name: &CStr) {
        self.reserve(2);
        let l = self.as_ptr();
        // SAFETY: room was reserved; setmetatable pops what getfield pushed.
        unsafe {
            raw::lua_newuserdata(l, 0);
            raw::lua_getfield(l, LUA_REGISTRYINDEX, name.as_ptr());
            raw::lua_setmetatable(l, -2);
        }
    }
}
