//! `Conn`: a handle on a live nginx connection that a socket owns or borrows. It does the
//! connection's raw work (receive, send, arming its read and write events with their timers)
//! and returns typed results, so socket code never touches `ngx_connection_t` fields.

use std::ptr::NonNull;

use super::ngx::{
    ngx_add_timer, ngx_connection_t, ngx_connection_tcp_nodelay_e_NGX_TCP_NODELAY_SET,
    ngx_connection_tcp_nodelay_e_NGX_TCP_NODELAY_UNSET, ngx_connection_tcp_nopush_e_NGX_TCP_NOPUSH_SET,
    ngx_connection_tcp_nopush_e_NGX_TCP_NOPUSH_UNSET, ngx_del_timer, ngx_event_t, ngx_exiting, ngx_handle_read_event,
    ngx_handle_write_event, ngx_msec_t, ngx_tcp_nopush, ngx_terminate, Log, NGX_AGAIN, NGX_ERROR, NGX_OK,
};

/// What a receive or send did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Io {
    /// This many bytes went (more than 0).
    Done(usize),
    /// Nothing now: wait for the event.
    Again,
    /// The peer closed its side (receives only).
    Eof,
    /// Failed with this errno.
    Err(i32),
}

/// One of a connection's two events.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dir {
    Read,
    Write,
}

/// Whether the worker is shutting down (connections are not kept for reuse then).
pub fn worker_exiting() -> bool {
    // SAFETY: nginx's process flags, written by this worker's signal handling between events.
    unsafe { ngx_terminate != 0 || ngx_exiting != 0 }
}

#[derive(Clone, Copy)]
pub struct Conn(NonNull<ngx_connection_t>);

fn last_errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

impl Conn {
    /// # Safety
    /// `c` is null or a live connection (with its read and write events) that stays live
    /// while the handle is used.
    pub unsafe fn from_raw(c: *mut ngx_connection_t) -> Option<Conn> {
        NonNull::new(c).map(Conn)
    }

    pub fn as_ptr(self) -> *mut ngx_connection_t {
        self.0.as_ptr()
    }

    /// The connection's log.
    pub fn log(self) -> Option<Log> {
        // SAFETY: the connection is live (the constructor's contract); its log outlives it.
        unsafe { Log::from_raw(self.0.as_ref().log) }
    }

    /// Receives up to `n` bytes appended to `buf`, into its spare capacity: a buffer's room
    /// is not zero-filled first (a new connection's first read would clear a whole chunk).
    pub fn recv_append(self, buf: &mut Vec<u8>, n: usize) -> Io {
        buf.reserve(n);
        let c = self.as_ptr();
        let len = buf.len();
        // SAFETY: the connection is live; recv writes at most n bytes into the spare capacity
        // after len (reserved above), and reports how many it wrote.
        let got = unsafe {
            match (*c).recv {
                Some(recv) => recv(c, buf.as_mut_ptr().add(len), n),
                None => NGX_ERROR as isize,
            }
        };
        match got {
            got if got > 0 => {
                // SAFETY: recv initialised got <= n bytes after len.
                unsafe { buf.set_len(len + got as usize) };
                Io::Done(got as usize)
            }
            0 => Io::Eof,
            got if got == NGX_AGAIN as isize => Io::Again,
            _ => Io::Err(last_errno()),
        }
    }

    /// Sends (part of) `data` through the connection's send handler; sending nothing counts
    /// as an error, as a failed send does.
    pub fn send(self, data: &[u8]) -> Io {
        let c = self.as_ptr();
        // SAFETY: the connection is live; send only reads data.len() bytes of data.
        let n = unsafe {
            match (*c).send {
                Some(send) => send(c, data.as_ptr() as *mut u8, data.len()),
                None => NGX_ERROR as isize,
            }
        };
        match n {
            n if n > 0 => Io::Done(n as usize),
            n if n == NGX_AGAIN as isize => Io::Again,
            _ => Io::Err(last_errno()),
        }
    }

    /// Sends `data` as one write (a datagram): Ok when all of it went; otherwise the errno of
    /// a failed send, or None (nothing or part of it went, or no errno was set).
    pub fn send_whole(self, data: &[u8]) -> Result<(), Option<i32>> {
        let c = self.as_ptr();
        // SAFETY: the connection is live; send only reads data.len() bytes of data.
        let sent = unsafe {
            match (*c).send {
                Some(send) => send(c, data.as_ptr() as *mut u8, data.len()),
                None => NGX_ERROR as isize,
            }
        };
        if sent == data.len() as isize {
            return Ok(());
        }
        let errno = last_errno();
        Err((sent < 0 && errno != 0).then_some(errno))
    }

    /// Takes up to `max` bytes of what waits unread in the connection's buffer (nginx's
    /// preread data, or a UDP session's datagram); None when nothing does.
    pub fn take_buffered(self, max: usize) -> Option<Vec<u8>> {
        // SAFETY: the connection is live; its buffer, when set, holds unread bytes in
        // [pos, last), and moving pos past the bytes taken marks them read.
        unsafe {
            let b = self.0.as_ref().buffer;
            if b.is_null() || (*b).pos >= (*b).last {
                return None;
            }
            let len = ((*b).last.offset_from((*b).pos) as usize).min(max);
            let out = std::slice::from_raw_parts((*b).pos, len).to_vec();
            (*b).pos = (*b).pos.add(len);
            Some(out)
        }
    }

    fn event(self, dir: Dir) -> *mut ngx_event_t {
        // SAFETY: the connection is live; its events live as long as it does.
        unsafe {
            match dir {
                Dir::Read => self.0.as_ref().read,
                Dir::Write => self.0.as_ref().write,
            }
        }
    }

    /// Asks the event loop for the event again (after an `Again`); false when it failed.
    pub fn rearm(self, dir: Dir) -> bool {
        let ev = self.event(dir);
        // SAFETY: ev is the live connection's event, registered with this worker's event loop.
        let rc = unsafe {
            match dir {
                Dir::Read => ngx_handle_read_event(ev, 0),
                Dir::Write => ngx_handle_write_event(ev, 0),
            }
        };
        rc == NGX_OK as isize
    }

    /// Waits for the event, for at most `timeout` ms (0: no timer); false when the event
    /// could not be armed (then no timer is set either).
    pub fn wait(self, dir: Dir, timeout: ngx_msec_t) -> bool {
        if !self.rearm(dir) {
            return false;
        }
        if timeout > 0 {
            // SAFETY: the event is live; its timer goes with `clear_timer` or the connection.
            unsafe { ngx_add_timer(self.event(dir), timeout) };
        }
        true
    }

    /// `setsockopt(level, opt)` with an int value; Err(errno) when it failed.
    pub fn set_option(self, level: libc::c_int, opt: libc::c_int, value: libc::c_int) -> Result<(), i32> {
        let p = &value as *const libc::c_int as *const libc::c_void;
        let len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
        // SAFETY: the connection is live; setsockopt reads `len` bytes of `value`.
        if unsafe { libc::setsockopt((*self.as_ptr()).fd, level, opt, p, len) } == -1 {
            return Err(last_errno());
        }
        Ok(())
    }

    /// Shuts the sending side of the socket down; Err(errno) when it failed.
    pub fn shutdown_write(self) -> Result<(), i32> {
        // SAFETY: the connection is live; shutdown only takes its descriptor.
        if unsafe { libc::shutdown((*self.as_ptr()).fd, libc::SHUT_WR) } == -1 {
            return Err(last_errno());
        }
        Ok(())
    }

    /// Whether neither event saw an end of file, an error or a timeout: a connection fit to be
    /// kept for reuse.
    pub fn is_sound(self) -> bool {
        // SAFETY: the connection is live, and so are its events.
        let (rev, wev) = unsafe { (&*self.event(Dir::Read), &*self.event(Dir::Write)) };
        rev.eof() == 0 && rev.error() == 0 && rev.timedout() == 0 && wev.error() == 0 && wev.timedout() == 0
    }

    /// Whether TCP_NODELAY is still in nginx's "unset" state on the connection.
    pub fn nodelay_unset(self) -> bool {
        // SAFETY: the connection is live.
        unsafe { self.0.as_ref().tcp_nodelay() == ngx_connection_tcp_nodelay_e_NGX_TCP_NODELAY_UNSET }
    }

    /// Sets TCP_NODELAY on the socket and records it; false when setsockopt failed.
    pub fn set_nodelay(self) -> bool {
        let on: libc::c_int = 1;
        let c = self.as_ptr();
        // SAFETY: the connection is live; setsockopt reads `on` (an int) only.
        unsafe {
            let p = &on as *const libc::c_int as *const libc::c_void;
            if libc::setsockopt((*c).fd, libc::IPPROTO_TCP, libc::TCP_NODELAY, p, 4) == -1 {
                return false;
            }
            (*c).set_tcp_nodelay(ngx_connection_tcp_nodelay_e_NGX_TCP_NODELAY_SET);
        }
        true
    }

    /// Sets TCP_CORK on a plain TCP connection about to close, so that the output written
    /// last leaves with the FIN in one segment (nginx's `tcp_nopush` state records it; unix
    /// sockets are "disabled" there, TLS is left alone). False when nothing was set.
    pub fn cork_for_close(self) -> bool {
        let c = self.as_ptr();
        // SAFETY: the connection is live; `ngx_tcp_nopush` only takes its descriptor.
        unsafe {
            if (*c).tcp_nopush() != ngx_connection_tcp_nopush_e_NGX_TCP_NOPUSH_UNSET
                || !(*c).ssl.is_null()
                || (*c).type_ != libc::SOCK_STREAM
                || ngx_tcp_nopush((*c).fd) == -1
            {
                return false;
            }
            (*c).set_tcp_nopush(ngx_connection_tcp_nopush_e_NGX_TCP_NOPUSH_SET);
        }
        true
    }

    /// Whether the event fired for its timer (and forgets that it did).
    pub fn take_timedout(self, dir: Dir) -> bool {
        // SAFETY: the event is live and only touched by this worker's thread.
        let ev = unsafe { &mut *self.event(dir) };
        if ev.timedout() == 0 {
            return false;
        }
        ev.set_timedout(0);
        true
    }

    /// Takes the event's timer off, if it is set.
    pub fn clear_timer(self, dir: Dir) {
        let ev = self.event(dir);
        // SAFETY: the event is live; ngx_del_timer takes a set timer off the tree.
        unsafe {
            if (*ev).timer_set() != 0 {
                ngx_del_timer(ev);
            }
        }
    }
}
