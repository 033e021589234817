//! The raw side of our TLS handshake driver (see `phase/ssl_cert.rs` for the design): a
//! stream session's client connection as the driver sees it (`HandshakeConn`), the state a
//! handshake's hooks and the driver share (`DriveState`, kept in the `SSL`'s ex data), and the
//! nginx steps the driver copies from `ngx_stream_ssl_init_connection` and `ngx_ssl_handshake`
//! (setup, event arming, hand-over, failure logging).

use std::ffi::{c_int, c_void};
use std::marker::PhantomData;
use std::ptr::{self, NonNull};
use std::sync::OnceLock;

use super::event::EventHandler;
use super::ngx::*;
use super::openssl::SslConn;
use super::ssl_hook::{HookContext, SavedLog, SslSrvConf};
use super::stream::StreamSession;

/// What a handshake's hooks and the driver share.
#[derive(Default)]
pub struct DriveState {
    /// The hook whose Lua code waits (its callback returned the retry value).
    pub waiting: Option<HookContext>,
    /// Each hook's answer once it has run to its end (cert, ClientHello): a callback called
    /// again in the same handshake (after a wait, or for the second ClientHello of a
    /// HelloRetryRequest) gives it without running the hook again, as upstream.
    pub done: [Option<c_int>; 2],
    /// nginx's log handler while a waiting hook's context is in the log.
    pub saved_log: Option<SavedLog>,
}

impl DriveState {
    pub fn done_of(&mut self, hook: HookContext) -> &mut Option<c_int> {
        &mut self.done[hook as usize]
    }
}

/// Our `SSL` ex data index (one per process, made on first use).
fn ex_index() -> c_int {
    static INDEX: OnceLock<c_int> = OnceLock::new();
    // SAFETY: a new index for SSL objects (CRYPTO_EX_INDEX_SSL), without callbacks: the data
    // is owned by the connection's pool.
    *INDEX.get_or_init(|| unsafe { CRYPTO_get_ex_new_index(0, 0, ptr::null_mut(), None, None, None) })
}

/// Where a session's client connection is in its TLS setup.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum TlsState {
    /// No TLS object yet.
    None,
    /// A handshake runs; `driven` when we drive it.
    Handshaking {
        driven: bool,
    },
    Handshaked,
}

/// The driver's view of a stream session's client connection, for one nginx callback.
#[derive(Clone, Copy)]
pub struct HandshakeConn<'a> {
    s: NonNull<ngx_stream_session_t>,
    c: NonNull<ngx_connection_t>,
    _s: PhantomData<&'a ngx_stream_session_t>,
}

/// The TLS driver's event handlers: the connection an event of it belongs to, and whether
/// the event timed out.
pub struct HandshakeEvent<'a> {
    pub hc: HandshakeConn<'a>,
    pub timedout: bool,
}

/// nginx fires the driver's handlers on a read or write event of a live stream client
/// connection (`ev->data` is the connection, its `data` the session).
impl super::export::CallbackArg for HandshakeEvent<'_> {
    type Raw = *mut ngx_event_t;

    unsafe fn from_callback(ev: *mut ngx_event_t) -> Option<Self> {
        // SAFETY: the trait's contract, as above.
        unsafe {
            let ev = ev.as_ref()?;
            let c = NonNull::new(ev.data as *mut ngx_connection_t)?;
            let s = NonNull::new((*c.as_ptr()).data as *mut ngx_stream_session_t)?;
            Some(HandshakeEvent { hc: HandshakeConn { s, c, _s: PhantomData }, timedout: ev.timedout() != 0 })
        }
    }
}

/// nginx calls `c->ssl->handler` with a live stream client connection (its `data` the session).
impl super::export::CallbackArg for HandshakeConn<'_> {
    type Raw = *mut ngx_connection_t;

    unsafe fn from_callback(c: *mut ngx_connection_t) -> Option<Self> {
        let c = NonNull::new(c)?;
        // SAFETY: the trait's contract, as above.
        let s = NonNull::new(unsafe { (*c.as_ptr()).data } as *mut ngx_stream_session_t)?;
        Some(HandshakeConn { s, c, _s: PhantomData })
    }
}

impl<'a> HandshakeConn<'a> {
    pub fn of(s: &StreamSession<'a>) -> Option<HandshakeConn<'a>> {
        let c = NonNull::new(s.connection())?;
        Some(HandshakeConn { s: NonNull::new(s.as_ptr())?, c, _s: PhantomData })
    }

    /// The session (for finalizing or running its phases).
    pub fn session(self) -> StreamSession<'a> {
        // SAFETY: the handle's session is live for 'a.
        unsafe { StreamSession::from_raw(self.s.as_ptr()) }.expect("a handshake has its session")
    }

    fn conn(&self) -> &ngx_connection_t {
        // SAFETY: the handle's connection is live for 'a.
        unsafe { self.c.as_ref() }
    }

    /// Whether the session came in on a `listen ... ssl` address (`s->ssl`).
    pub fn tls_listen(self) -> bool {
        // SAFETY: a live session.
        unsafe { (*self.s.as_ptr()).ssl() != 0 }
    }

    fn ssl_srv_conf(self) -> Option<&'a SslSrvConf> {
        // SAFETY: every session has the server confs of all stream modules; the TLS module's
        // lives as long as the cycle.
        unsafe {
            let index = (*ptr::addr_of!(ngx_stream_ssl_module)).ctx_index;
            (*(*self.s.as_ptr()).srv_conf.add(index) as *const SslSrvConf).as_ref()
        }
    }

    /// Whether the session's server has a TLS context (certificates).
    pub fn server_has_tls(self) -> bool {
        self.ssl_srv_conf().is_some_and(|c| !c.ssl.ctx.is_null())
    }

    fn state_ptr(self) -> Option<NonNull<DriveState>> {
        let ssl = self.ssl_ptr()?;
        // SAFETY: a live SSL object; our index holds null or a DriveState in the pool.
        NonNull::new(unsafe { SSL_get_ex_data(ssl.as_ptr(), ex_index()) } as *mut DriveState)
    }

    fn ssl_ptr(self) -> Option<NonNull<SSL>> {
        // SAFETY: c->ssl is null or the connection's TLS state, live as long as it.
        let ssl = unsafe { self.conn().ssl.as_ref()? };
        NonNull::new(ssl.connection)
    }

    pub fn tls_state(self) -> TlsState {
        // SAFETY: as ssl_ptr.
        match unsafe { self.conn().ssl.as_ref() } {
            None => TlsState::None,
            Some(ssl) if ssl.handshaked() != 0 => TlsState::Handshaked,
            Some(_) => TlsState::Handshaking { driven: self.state_ptr().is_some() },
        }
    }

    /// The connection's TLS object.
    pub fn ssl(self) -> Option<SslConn<'a>> {
        // SAFETY: the connection's live OpenSSL object, which lives as long as it.
        self.ssl_ptr().map(|ssl| unsafe { SslConn::from_parts(ssl, self.c) })
    }

    /// Runs `f` on the shared state of a driven handshake (none when we do not drive it).
    /// `f` must not run Lua.
    pub fn with_state<R>(self, f: impl FnOnce(&mut DriveState) -> R) -> Option<R> {
        // SAFETY: the state lives in the connection's pool; the borrow lasts only for `f`,
        // which reaches no other path to it.
        self.state_ptr().map(|p| f(unsafe { &mut *p.as_ptr() }))
    }

    /// `ngx_stream_ssl_init_connection`'s setup, without its first handshake step: TCP_NODELAY
    /// as configured, the TLS object with our shared state, the handshake timer.
    pub fn start(self) -> Result<(), ()> {
        let sscf = self.ssl_srv_conf().ok_or(())?;
        let c = self.c.as_ptr();
        // SAFETY: a live session and connection; the TLS module's server conf is the one
        // nginx's handler would use (its `ssl` lives as long as the cycle); the state is
        // owned by the connection's pool, which outlives the SSL object.
        unsafe {
            let core = (*ptr::addr_of!(ngx_stream_core_module)).ctx_index;
            let cscf = *(*self.s.as_ptr()).srv_conf.add(core) as *const ngx_stream_core_srv_conf_t;
            if (*cscf).tcp_nodelay != 0 && ngx_tcp_nodelay(c) != NGX_OK as ngx_int_t {
                return Err(());
            }
            (*(*c).log).action = c"SSL handshaking".as_ptr() as *mut _;
            let ssl = ptr::addr_of!(sscf.ssl) as *mut ngx_ssl_t;
            if ngx_ssl_create_connection(ssl, c, 0) != NGX_OK as ngx_int_t {
                return Err(());
            }
            let state = pool_own((*c).pool, Box::<DriveState>::default()).ok_or(())?;
            if SSL_set_ex_data((*(*c).ssl).connection, ex_index(), state as *mut c_void) == 0 {
                return Err(());
            }
            ngx_add_timer((*c).read, sscf.handshake_timeout);
        }
        Ok(())
    }

    /// OpenSSL waits for the socket: both events go to `handler`, as `ngx_ssl_handshake` arms
    /// them for its own.
    pub fn wait_io(self, want_write: bool, handler: EventHandler) -> Result<(), ()> {
        let c = self.c.as_ptr();
        // SAFETY: the live connection's events.
        unsafe {
            let (rev, wev) = ((*c).read, (*c).write);
            if want_write {
                (*wev).set_ready(0);
            } else {
                (*rev).set_ready(0);
            }
            (*rev).handler = Some(handler);
            (*wev).handler = Some(handler);
            if ngx_handle_read_event(rev, 0) != NGX_OK as ngx_int_t
                || ngx_handle_write_event(wev, 0) != NGX_OK as ngx_int_t
            {
                return Err(());
            }
        }
        Ok(())
    }

    /// A hook waits: socket events go to `handler`, which only watches the timer. With a
    /// level-triggered event method (poll, select) the socket's events are taken out, or a
    /// readable socket would call the handler again and again (marking them ready makes
    /// `ngx_handle_*_event` delete them there; with epoll's edge-triggered events it is a
    /// no-op); `wait_io` puts them back.
    pub fn park(self, handler: EventHandler) {
        // SAFETY: the live connection's events.
        unsafe {
            let (rev, wev) = ((*self.c.as_ptr()).read, (*self.c.as_ptr()).write);
            (*rev).handler = Some(handler);
            (*wev).handler = Some(handler);
            (*rev).set_ready(1);
            (*wev).set_ready(1);
            // a failure to delete leaves the events as they were: the handler ignores them
            ngx_handle_read_event(rev, 0);
            ngx_handle_write_event(wev, 0);
        }
    }

    /// A waiting hook is done: `handler` steps the handshake on from nginx's posted events
    /// (never from inside the Lua wake-up that ended the hook).
    pub fn post_step(self, handler: EventHandler) {
        // SAFETY: the live connection's write event; nginx drops it from the posted queue if
        // the connection closes first.
        unsafe {
            let wev = (*self.c.as_ptr()).write;
            (*wev).handler = Some(handler);
            ngx_post_event(wev, ptr::addr_of_mut!(ngx_posted_events));
        }
    }

    /// Hands the handshake to nginx (`ngx_ssl_handshake`), which finishes its state (the
    /// SSL I/O functions, `handshaked`, OCSP checks of client certificates). On `NGX_AGAIN`,
    /// nginx calls `done` when it is over.
    pub fn hand_over(self, done: unsafe extern "C" fn(*mut ngx_connection_t)) -> ngx_int_t {
        let c = self.c.as_ptr();
        // SAFETY: a live connection with a TLS object nginx made.
        unsafe {
            let rc = ngx_ssl_handshake(c);
            if rc == NGX_AGAIN as ngx_int_t {
                (*(*c).ssl).handler = Some(done);
            }
            rc
        }
    }

    pub fn handshaked(self) -> bool {
        self.tls_state() == TlsState::Handshaked
    }

    /// The handshake is over: its timer goes.
    pub fn stop_timer(self) {
        // SAFETY: the live connection's read event.
        unsafe {
            let rev = (*self.c.as_ptr()).read;
            if (*rev).timer_set() != 0 {
                ngx_del_timer(rev);
            }
        }
    }

    /// Logs a failed handshake step as `ngx_ssl_handshake` does and marks the connection so
    /// it closes without a TLS shutdown.
    pub fn log_failure(self, sslerr: c_int, errno: c_int) {
        let c = self.c.as_ptr();
        let sslerr = sslerr as u32;
        let err = if sslerr == SSL_ERROR_SYSCALL { errno as ngx_err_t } else { 0 };
        // SAFETY: a live connection with TLS state; OpenSSL's queue still holds the step's
        // errors (nothing cleared it since).
        unsafe {
            (*(*c).ssl).set_no_wait_shutdown(1);
            (*(*c).ssl).set_no_send_shutdown(1);
            (*(*c).read).set_eof(1);
            if sslerr == SSL_ERROR_ZERO_RETURN || ERR_peek_error() == 0 {
                ngx_connection_error(c, err, c"peer closed connection in SSL handshake".as_ptr() as *mut _);
                return;
            }
            if (*(*c).ssl).handshake_rejected() != 0 {
                // `ssl_reject_handshake on` for the name the client asked for
                ngx_connection_error(c, err, c"handshake rejected".as_ptr() as *mut _);
                ERR_clear_error();
                return;
            }
            (*(*c).read).set_error(1);
            let level = failure_level(self.conn(), sslerr, err);
            ngx_ssl_error(level as ngx_uint_t, (*c).log, err, c"SSL_do_handshake() failed".as_ptr() as *mut _);
        }
    }
}

/// nginx's level for a failed handshake step (`ngx_ssl_connection_error`): a client-side
/// cause (a reset, a protocol error of the peer) is `info` on client connections, the rest
/// `crit`.
fn failure_level(c: &ngx_connection_t, sslerr: u32, err: ngx_err_t) -> u32 {
    let peer_caused = if sslerr == SSL_ERROR_SYSCALL {
        [
            libc::ECONNRESET,
            libc::EPIPE,
            libc::ENOTCONN,
            libc::ETIMEDOUT,
            libc::ECONNREFUSED,
            libc::ENETDOWN,
            libc::ENETUNREACH,
            libc::EHOSTDOWN,
            libc::EHOSTUNREACH,
        ]
        .contains(&err)
    } else if sslerr == SSL_ERROR_SSL {
        // SAFETY: reads this thread's error queue.
        let reason = (unsafe { ERR_peek_last_error() } as u64 & ERR_REASON_MASK as u64) as u32;
        PEER_REASONS.contains(&reason)
    } else {
        false
    };
    if !peer_caused {
        return NGX_LOG_CRIT;
    }
    match c.log_error() {
        x if x == ngx_connection_log_error_e_NGX_ERROR_IGNORE_ECONNRESET
            || x == ngx_connection_log_error_e_NGX_ERROR_INFO =>
        {
            NGX_LOG_INFO
        }
        x if x == ngx_connection_log_error_e_NGX_ERROR_ERR => NGX_LOG_ERR,
        _ => NGX_LOG_CRIT,
    }
}

/// OpenSSL reason codes nginx 1.28 counts as the peer's doing (`ngx_ssl_connection_error`).
const PEER_REASONS: &[u32] = &[
    101, 102, 103, 108, 110, 111, 112, 115, 118, 122, 129, 133, 137, 145, 146, 149, 150, 151, 152, 154, 155, 156, 159,
    160, 182, 183, 186, 187, 193, 198, 213, 220, 226, 227, 234, 235, 244, 245, 246, 252, 253, 256, 258, 266, 267, 270,
    271, 281, 291, 292, 293, 298, 300, 306, 335, 336, 337, 338, 345, 373, 376, 377, 396, 409, 443, 1000, 1010, 1020,
    1021, 1022, 1030, 1040, 1041, 1042, 1043, 1044, 1045, 1046, 1047, 1048, 1049, 1050, 1051, 1060, 1070, 1071, 1080,
    1090, 1100,
];
