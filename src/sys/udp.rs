//! `UdpConn`: a connected datagram socket with its nginx connection, owned by a UDP cosocket.
//! Dropping it closes both (nginx takes the events and timers off).

use std::ffi::{c_int, c_void};
use std::sync::atomic::{AtomicU64, Ordering};

use super::conn::{Conn, Dir};
use super::event::EventHandler;
use super::ngx::*;

pub struct UdpConn(pub(super) Conn);

/// The result of one receive attempt.
pub enum Recv {
    Data(Vec<u8>),
    Again,
    /// Failed with this errno.
    Failed(i32),
}

fn last_errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

impl UdpConn {
    /// Creates a datagram socket connected to `sockaddr` (`name` only for the debug log),
    /// first bound to `local` when given (`Err(())`: not a valid address), with its nginx
    /// connection (upstream's `ngx_stream_lua_udp_connect`). Its events log to `log` (the
    /// owner keeps it live beside the connection, as `Conn::set_owner`'s callers do); its read
    /// events go to `on_read` with `owner` as the connection's data (stored, never read here).
    /// Returns the errno of a failure (0: not an OS error).
    pub fn connect(
        sockaddr: &[u8],
        name: &[u8],
        local: Option<Result<Vec<u8>, ()>>,
        log: Log,
        on_read: EventHandler,
        owner: *mut c_void,
    ) -> Result<UdpConn, i32> {
        let log = log.as_ptr();
        if sockaddr.len() < std::mem::size_of::<libc::sa_family_t>() {
            return Err(libc::EINVAL);
        }
        // SAFETY: sockaddr holds at least its family (checked above) and is passed to the
        // kernel with its length; log is live (a Log handle); the new connection is ours until
        // closed.
        unsafe {
            let sa = sockaddr.as_ptr() as *const libc::sockaddr;
            let family = c_int::from(libc::sa_family_t::from_ne_bytes([sockaddr[0], sockaddr[1]]));
            let fd = libc::socket(family, libc::SOCK_DGRAM | libc::SOCK_NONBLOCK, 0);
            log_debug(log, format_args!("UDP socket {fd}"));
            if fd == -1 {
                let e = last_errno();
                log_error(NGX_LOG_ALERT, log, e, b"socket() failed");
                return Err(e);
            }
            if let Some(local) = local {
                let Ok(local) = local else {
                    libc::close(fd);
                    return Err(libc::EINVAL);
                };
                if libc::bind(fd, local.as_ptr() as *const libc::sockaddr, local.len() as libc::socklen_t) == -1 {
                    let e = last_errno();
                    log_error(NGX_LOG_CRIT, log, e, b"bind() failed");
                    libc::close(fd);
                    return Err(e);
                }
            }
            let c = ngx_get_connection(fd, log);
            let Some(conn) = Conn::from_raw(c) else {
                libc::close(fd);
                return Err(0);
            };
            let udp = UdpConn(conn);
            (*(*c).read).log = log;
            (*(*c).write).log = log;
            (*c).type_ = libc::SOCK_DGRAM;
            (*c).number = AtomicU64::from_ptr(ngx_connection_counter).fetch_add(1, Ordering::SeqCst) as _;
            if family == libc::AF_UNIX {
                // an autobound name, so that the peer can answer
                log_debug(log, format_args!("datagram unix domain socket autobind"));
                let mut addr: libc::sockaddr = std::mem::zeroed();
                addr.sa_family = libc::AF_UNIX as _;
                if libc::bind(fd, &addr, std::mem::size_of::<libc::sa_family_t>() as _) != 0 {
                    let e = last_errno();
                    log_error(NGX_LOG_CRIT, log, e, b"bind() failed");
                    return Err(e);
                }
            }
            log_debug(log, format_args!("connect to {}, fd:{fd} #{}", String::from_utf8_lossy(name), (*c).number));
            if libc::connect(fd, sa, sockaddr.len() as _) == -1 {
                let e = last_errno();
                log_error(NGX_LOG_CRIT, log, e, b"connect() failed");
                return Err(e);
            }
            // UDP sockets are always ready to write
            (*(*c).write).set_ready(1);
            (*(*c).write).handler = Some(ignore);
            (*(*c).read).handler = Some(on_read);
            (*c).data = owner;
            if ngx_handle_read_event((*c).read, 0) != NGX_OK as ngx_int_t {
                return Err(0);
            }
            Ok(udp)
        }
    }

    fn log(&self) -> *mut ngx_log_t {
        self.0.log().map_or(std::ptr::null_mut(), Log::as_ptr)
    }

    /// Sends `data` as one datagram: Ok(bytes sent), or Err(errno) (logged as nginx's
    /// `sendmsg() failed` unless EAGAIN).
    pub fn send(&self, data: &[u8]) -> Result<usize, i32> {
        let c = self.0.as_ptr();
        // SAFETY: the connection is open; send reads data.len() bytes of data.
        unsafe {
            let sent = loop {
                let r = libc::send((*c).fd, data.as_ptr() as *const c_void, data.len(), 0);
                if r == -1 && last_errno() == libc::EINTR {
                    continue;
                }
                break r;
            };
            log_debug(self.log(), format_args!("sendto: fd:{} {sent} of {} to \"\"", (*c).fd, data.len()));
            if sent == -1 {
                let e = last_errno();
                if e != libc::EAGAIN {
                    (*(*c).write).set_error(1);
                    ngx_connection_error(c, e, c"sendmsg() failed".as_ptr() as *mut _);
                }
                return Err(e);
            }
            Ok(sent as usize)
        }
    }

    /// One datagram of at most `max` bytes, if one is there (nginx's UDP recv, which logs
    /// receive errors as nginx does).
    pub fn recv(&self, max: usize) -> Recv {
        let mut buf = vec![0u8; max];
        // SAFETY: the connection is open; buf has room for max bytes.
        let n = unsafe { ngx_udp_unix_recv(self.0.as_ptr(), buf.as_mut_ptr(), max) };
        match n {
            n if n >= 0 => {
                buf.truncate(n as usize);
                Recv::Data(buf)
            }
            n if n == NGX_AGAIN as isize => Recv::Again,
            _ => Recv::Failed(last_errno()),
        }
    }

    /// (Re)starts the read timeout while the read event is armed (else takes a timer off).
    pub fn arm_read_timer(&self, ms: ngx_msec_t) {
        // SAFETY: the connection is open, and so is its read event.
        let active = unsafe { (*(*self.0.as_ptr()).read).active() != 0 };
        if active {
            self.0.add_timer(Dir::Read, ms);
        } else {
            self.0.clear_timer(Dir::Read);
        }
    }
}

impl Drop for UdpConn {
    fn drop(&mut self) {
        // SAFETY: the connection is ours and open; nginx removes its events and timers.
        unsafe { ngx_close_connection(self.0.as_ptr()) }
    }
}

/// The write handler: UDP sockets are always writable.
unsafe extern "C" fn ignore(_ev: *mut ngx_event_t) {}

/// A copy of `log` (a socket keeps its own, as upstream's UDP sockets do).
pub fn copy_log(log: Log) -> ngx_log_t {
    // SAFETY: a Log handle is live while it is used.
    unsafe { *log.as_ptr() }
}

/// A handle on a log kept in place (a socket's own copy), for one use.
pub fn log_of(log: &mut ngx_log_t) -> Log {
    // SAFETY: the reference is live; the handle is used while it is.
    unsafe { Log::from_raw(log) }.expect("a log reference is not null")
}
