//! `PeerConn`: an outgoing nginx connection that a cosocket (or a keepalive pool) owns. It is
//! made by `connect_peer` (nginx's `ngx_event_connect_peer`, with a memory pool of its own for
//! TLS) and closed when dropped, so whoever holds it is the one who closes it. Also the few
//! raw connection reads a connect needs, as more methods of `Conn`.

use std::ffi::{c_int, c_void};
use std::ptr::NonNull;

use super::conn::{Conn, Dir};
use super::event::EventHandler;
use super::ngx::*;
use super::stream::StreamInfo;

/// An open outgoing connection, closed on drop.
pub struct PeerConn(pub(super) Conn);

/// What `connect_peer` gave.
pub enum Connecting {
    /// Connected at once.
    Connected(PeerConn),
    /// In progress: its write event tells when it is done.
    InProgress(PeerConn),
    /// Failed with this errno (0 when none was set).
    Failed(i32),
    /// nginx found no live peer (`NGX_BUSY`).
    NoLive,
    /// The connection's pool could not be made.
    NoMemory,
}

fn last_errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

/// Opens a TCP (or unix-domain) connection to `sockaddr` (a C sockaddr's bytes), named `name`
/// in log lines, from the local address `local` when given; nginx logs a failed `connect()`
/// as an error in `log`. Returns nginx's code too, for the caller's debug line.
pub fn connect_peer(sockaddr: &[u8], name: &[u8], local: Option<&[u8]>, log: Log) -> (isize, Connecting) {
    let mut name = ngx_str_t { len: name.len(), data: name.as_ptr() as *mut u8 };
    // SAFETY: an all-zero peer and address are nginx's empty ones.
    let (mut pc, mut addr): (ngx_peer_connection_t, ngx_addr_t) = unsafe { (std::mem::zeroed(), std::mem::zeroed()) };
    pc.sockaddr = sockaddr.as_ptr() as *mut sockaddr;
    pc.socklen = sockaddr.len() as socklen_t;
    pc.name = &mut name;
    pc.get = Some(ngx_event_get_peer);
    pc.log = log.as_ptr();
    pc.set_log_error(1); // NGX_ERROR_ERR: connect() failures are logged as errors
    pc.type_ = libc::SOCK_STREAM;
    if let Some(sa) = local {
        addr.sockaddr = sa.as_ptr() as *mut sockaddr;
        addr.socklen = sa.len() as socklen_t;
        pc.local = &mut addr;
    }
    // SAFETY: pc and what it points at (the addresses, the name) live through the call; nginx
    // copies what it keeps into the connection it makes.
    let rc = unsafe { ngx_event_connect_peer(&mut pc) };
    let conn = NonNull::new(pc.connection).map(|c| PeerConn(Conn::from_non_null(c)));
    if rc == NGX_ERROR as isize || rc == NGX_DECLINED as isize {
        let errno = last_errno();
        drop(conn);
        return (rc, Connecting::Failed(errno));
    }
    if rc == NGX_BUSY as isize {
        return (rc, Connecting::NoLive);
    }
    let Some(conn) = conn else { return (rc, Connecting::Failed(0)) };
    // a pool of its own, for TLS (it goes with the connection into a keepalive pool)
    // SAFETY: the connection is new and ours; ngx_create_pool returns null or a fresh pool.
    unsafe {
        let pool = ngx_create_pool(128, log.as_ptr());
        if pool.is_null() {
            return (rc, Connecting::NoMemory);
        }
        (*conn.0.as_ptr()).pool = pool;
    }
    if rc == NGX_OK as isize {
        (rc, Connecting::Connected(conn))
    } else {
        (rc, Connecting::InProgress(conn))
    }
}

impl Drop for PeerConn {
    /// Closes the connection: TLS shut down without waiting, then the socket, then the
    /// connection's own pool.
    fn drop(&mut self) {
        let c = self.0.as_ptr();
        // SAFETY: the connection is open and ours; nothing uses it after this.
        unsafe {
            #[cfg(ngx_feature = "stream_ssl")]
            if !(*c).ssl.is_null() {
                (*(*c).ssl).set_no_wait_shutdown(1);
                let _ = ngx_ssl_shutdown(c);
            }
            let pool = (*c).pool;
            ngx_close_connection(c);
            if !pool.is_null() {
                ngx_destroy_pool(pool);
            }
        }
    }
}

impl Conn {
    /// Makes `data` the connection's owner (what its event handlers find in `c->data`), with
    /// these handlers and `log` for the connection, its events and its pool.
    pub fn set_owner(self, data: *mut c_void, read: EventHandler, write: EventHandler, log: Log) {
        let c = self.as_ptr();
        let log = log.as_ptr();
        // SAFETY: the connection is open and ours, and so are its events and pool.
        unsafe {
            (*c).data = data;
            (*(*c).read).handler = Some(read);
            (*(*c).write).handler = Some(write);
            (*c).log = log;
            (*(*c).read).log = log;
            (*(*c).write).log = log;
            if !(*c).pool.is_null() {
                (*(*c).pool).log = log;
            }
        }
    }

    /// Marks the connection idle (kept in a pool) or in use.
    pub fn set_idle(self, idle: bool) {
        // SAFETY: the connection is open and ours.
        unsafe { (*self.as_ptr()).set_idle(idle as _) }
    }

    /// Whether nginx is closing the connection (`c->close`, set when the worker shuts down).
    pub fn closing(self) -> bool {
        // SAFETY: the connection is open.
        unsafe { (*self.as_ptr()).close() != 0 }
    }

    /// Whether an idle connection is still usable: nothing to read and not closed by the peer.
    /// A TLS connection is read through TLS, which takes in-band records such as TLS 1.3
    /// session tickets by itself.
    pub fn still_open(self) -> bool {
        let c = self.as_ptr();
        // SAFETY: the connection is open; a one-byte read (or peek) into a local byte.
        unsafe {
            let mut byte = 0u8;
            if !(*c).ssl.is_null() {
                let n = match (*c).recv {
                    Some(recv) => recv(c, &mut byte, 1),
                    None => NGX_ERROR as isize,
                };
                return n == NGX_AGAIN as isize;
            }
            let n = libc::recv((*c).fd, &mut byte as *mut u8 as *mut c_void, 1, libc::MSG_PEEK);
            if n == -1 && last_errno() == libc::EAGAIN {
                (*(*c).read).set_ready(0);
                return true;
            }
            false
        }
    }

    /// Whether the read event is ready (something came, or the peer closed).
    pub fn read_ready(self) -> bool {
        // SAFETY: the connection's read event is live.
        unsafe { (*(*self.as_ptr()).read).ready() != 0 }
    }

    fn from_non_null(c: NonNull<ngx_connection_t>) -> Conn {
        // SAFETY: a connection nginx just made for us, live until we close it.
        unsafe { Conn::from_raw(c.as_ptr()) }.expect("not null")
    }

    /// The socket's descriptor (for log lines).
    pub fn fd(self) -> i32 {
        // SAFETY: the connection is live.
        unsafe { (*self.as_ptr()).fd }
    }

    /// The pending error of the socket (`SO_ERROR`: how a connect in progress ended), or the
    /// errno of a failed lookup.
    pub fn socket_error(self) -> i32 {
        let mut errno: c_int = 0;
        let mut len = std::mem::size_of::<c_int>() as libc::socklen_t;
        let p = &mut errno as *mut c_int as *mut c_void;
        // SAFETY: the connection is live; getsockopt writes at most `len` bytes into errno.
        if unsafe { libc::getsockopt(self.fd(), libc::SOL_SOCKET, libc::SO_ERROR, p, &mut len) } == -1 {
            return last_errno();
        }
        errno
    }

    /// Sets a timer of `ms` on the event (without arming the event itself).
    pub fn set_timer(self, dir: Dir, ms: ngx_msec_t) {
        // SAFETY: the connection is live, and so is its event; the timer goes with
        // `clear_timer` or when the connection closes.
        unsafe {
            let c = self.as_ptr();
            let ev = match dir {
                Dir::Read => (*c).read,
                Dir::Write => (*c).write,
            };
            ngx_add_timer(ev, ms)
        }
    }

    /// Whether the event is active in the event loop.
    pub fn is_active(self, dir: Dir) -> bool {
        // SAFETY: the connection is live, and so are its events.
        unsafe {
            let c = self.as_ptr();
            match dir {
                Dir::Read => (*(*c).read).active() != 0,
                Dir::Write => (*(*c).write).active() != 0,
            }
        }
    }

    /// Whether the event fired for its timer (the flag stays).
    pub fn timed_out(self, dir: Dir) -> bool {
        // SAFETY: the connection is live, and so are its events.
        unsafe {
            let c = self.as_ptr();
            match dir {
                Dir::Read => (*(*c).read).timedout() != 0,
                Dir::Write => (*(*c).write).timedout() != 0,
            }
        }
    }
}

/// The core module's configuration of a session's server (`tcp_nodelay`, `resolver`).
pub fn core_srv_conf<'s>(s: StreamInfo<'s>) -> &'s ngx_stream_core_srv_conf_t {
    // SAFETY: a live session's srv_conf array holds the core module's conf, which lives as
    // long as the cycle (longer than the session).
    unsafe {
        let index = (*std::ptr::addr_of!(ngx_stream_core_module)).ctx_index;
        &*(*(*s.as_ptr()).srv_conf.add(index) as *const ngx_stream_core_srv_conf_t)
    }
}
