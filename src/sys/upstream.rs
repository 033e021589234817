//! nginx's upstream peer selection with a pluggable chooser: an `upstream {}` block's
//! `init_upstream` sets up nginx's round robin and hooks each session's peer selection, so that
//! every connect attempt (the first and each retry) first asks `Balancer::choose`, then
//! connects to the peer it set in `Peer`, or lets round robin pick.

use std::ffi::c_void;
use std::ptr::NonNull;

use super::conf::ConfSlot;
use super::ngx::*;
use super::stream::StreamSession;

/// A session's balancer state. nginx's round robin data comes first: nginx hands `peer.data`
/// (this struct) to the round robin functions when we fall back to them.
#[repr(C)]
pub struct Peer {
    rrp: ngx_stream_upstream_rr_peer_data_t,
    /// The upstream block's configuration (a `Balancer::Conf`).
    conf: *const c_void,
    s: *mut ngx_stream_session_t,
    /// What `set_more_tries` asked for in the current run.
    pub more_tries: ngx_uint_t,
    /// How many times the chooser ran for this session.
    pub total_tries: ngx_uint_t,
    /// The peer `set_current_peer` chose in the current run (none: round robin).
    pub sockaddr: *mut sockaddr,
    pub socklen: socklen_t,
    pub name: *mut ngx_str_t,
    /// The `NGX_PEER_*` state the last chosen peer was freed with (0: none yet).
    pub last_peer_state: i32,
    /// Round robin's TLS session hooks, used when round robin picked the peer.
    rr_set_session: ngx_event_set_peer_session_pt,
    rr_save_session: ngx_event_save_peer_session_pt,
}

impl Peer {
    fn custom(&self) -> bool {
        !self.sockaddr.is_null() && self.socklen != 0
    }

    /// A new run of the chooser: no peer chosen, no extra tries yet.
    pub fn begin_try(&mut self) {
        self.sockaddr = std::ptr::null_mut();
        self.socklen = 0;
        self.more_tries = 0;
        self.total_tries += 1;
    }
}

/// The session's `Peer` while a connect attempt asks the chooser. Code the chooser runs may
/// change the `Peer` through `as_ptr` (the `ngx.balancer` functions), so the handle lends it
/// only inside `with`.
pub struct PeerRef(NonNull<Peer>);

impl PeerRef {
    pub fn with<R>(&self, f: impl FnOnce(&mut Peer) -> R) -> R {
        // SAFETY: the Peer lives in the session's pool for the whole connect attempt; no other
        // reference to it is held while f runs (f is given nothing that runs the chooser's code).
        f(unsafe { &mut *self.0.as_ptr() })
    }

    /// For the session's `balancer` pointer, which the `ngx.balancer` functions use.
    pub fn as_ptr(&self) -> *mut Peer {
        self.0.as_ptr()
    }
}

/// What picks the peer of a connect attempt.
pub trait Balancer {
    /// The upstream block's configuration.
    type Conf: ConfSlot;

    /// Called for each connect attempt. `None`: nothing to run, round robin picks. `Some(Ok)`:
    /// connect to the peer set in `peer`, or round robin's when none was set. `Some(Err(rc))`:
    /// the attempt returns `rc`.
    fn choose(s: StreamSession, conf: &Self::Conf, peer: &PeerRef) -> Option<Result<(), ngx_int_t>>;
}

/// The `init_upstream` of an upstream block whose peers `B` picks.
pub unsafe extern "C" fn init_upstream<B: Balancer>(
    cf: *mut ngx_conf_t,
    us: *mut ngx_stream_upstream_srv_conf_t,
) -> ngx_int_t {
    guard(NGX_ERROR as ngx_int_t, || {
        // SAFETY: nginx calls this with the upstream block being initialised.
        unsafe {
            if ngx_stream_upstream_init_round_robin(cf, us) != NGX_OK as ngx_int_t {
                return NGX_ERROR as ngx_int_t;
            }
            (*us).peer.init = Some(init_peer::<B>);
            NGX_OK as ngx_int_t
        }
    })
}

/// A session starts using the upstream: round robin's state, then our hooks around it.
unsafe extern "C" fn init_peer<B: Balancer>(
    s: *mut ngx_stream_session_t,
    us: *mut ngx_stream_upstream_srv_conf_t,
) -> ngx_int_t {
    guard(NGX_ERROR as ngx_int_t, || {
        // SAFETY: a live session with its upstream being set up; `us` is its upstream block,
        // whose module confs hold a B::Conf at our slot.
        unsafe {
            let u = (*s).upstream;
            let pool = (*(*s).connection).pool;
            let bp = ngx_pcalloc(pool, std::mem::size_of::<Peer>()) as *mut Peer;
            if bp.is_null() {
                return NGX_ERROR as ngx_int_t;
            }
            (*u).peer.data = bp as *mut c_void;
            if ngx_stream_upstream_init_round_robin_peer(s, us) != NGX_OK as ngx_int_t {
                return NGX_ERROR as ngx_int_t;
            }
            (*u).peer.get = Some(get_peer::<B>);
            (*u).peer.free = Some(free_peer);
            (*u).peer.notify = None;
            (*bp).rr_set_session = (*u).peer.set_session;
            (*bp).rr_save_session = (*u).peer.save_session;
            if (*bp).rr_set_session.is_some() {
                (*u).peer.set_session = Some(set_session);
            }
            if (*bp).rr_save_session.is_some() {
                (*u).peer.save_session = Some(save_session);
            }
            (*bp).conf = *(*us).srv_conf.add(B::Conf::ctx_index()) as *const c_void;
            (*bp).s = s;
            NGX_OK as ngx_int_t
        }
    })
}

/// Each connect attempt: ask the chooser, then connect to the peer it chose, or let round
/// robin choose.
unsafe extern "C" fn get_peer<B: Balancer>(pc: *mut ngx_peer_connection_t, data: *mut c_void) -> ngx_int_t {
    guard(NGX_ERROR as ngx_int_t, || {
        let bp = data as *mut Peer;
        // SAFETY: data is the Peer init_peer set up for this live session, pc its peer
        // connection, conf the upstream block's B::Conf; the Peer is only read here, before
        // and after (never across) the chooser.
        let (log, tries, conf, s) = unsafe { ((*pc).log, (*pc).tries, &*((*bp).conf as *const B::Conf), (*bp).s) };
        // SAFETY: pc's log lives as long as the connection attempt.
        unsafe { log_debug(log, format_args!("lua balancer peer, tries: {tries}")) };
        // SAFETY: the session is live during its connect attempts.
        let Some(s) = (unsafe { StreamSession::from_raw(s) }) else { return NGX_ERROR as ngx_int_t };
        // SAFETY: as above.
        let peer = PeerRef(unsafe { NonNull::new_unchecked(bp) });
        match B::choose(s, conf, &peer) {
            Some(Err(rc)) => return rc,
            Some(Ok(())) => {}
            None => {
                // SAFETY: the round robin data nginx set up for this session comes first in Peer.
                return unsafe { ngx_stream_upstream_get_round_robin_peer(pc, bp as *mut c_void) };
            }
        }
        // SAFETY: as above; the chooser is done.
        unsafe {
            if (*bp).custom() {
                (*pc).sockaddr = (*bp).sockaddr;
                (*pc).socklen = (*bp).socklen;
                (*pc).set_cached(0);
                (*pc).connection = std::ptr::null_mut();
                (*pc).name = (*bp).name;
                // like upstream: retries may go on past a "single" server
                (*(*bp).rrp.peers).set_single(0);
                if (*bp).more_tries > 0 {
                    let tries = &mut (*(*(*bp).s).upstream).peer.tries;
                    *tries = tries.wrapping_add((*bp).more_tries);
                }
                return NGX_OK as ngx_int_t;
            }
            ngx_stream_upstream_get_round_robin_peer(pc, bp as *mut c_void)
        }
    })
}

/// A connection to the peer ended (`state`: `NGX_PEER_FAILED`, `_NEXT` ...).
unsafe extern "C" fn free_peer(pc: *mut ngx_peer_connection_t, data: *mut c_void, state: ngx_uint_t) {
    guard((), || {
        // SAFETY: data is this session's Peer; pc its peer connection.
        unsafe {
            let bp = data as *mut Peer;
            log_debug((*pc).log, format_args!("lua balancer free peer, tries: {}", (*pc).tries));
            if (*bp).custom() {
                (*bp).last_peer_state = state as i32;
                if (*pc).tries > 0 {
                    (*pc).tries -= 1;
                }
                return;
            }
            ngx_stream_upstream_free_round_robin_peer(pc, data, state);
        }
    })
}

/// TLS session reuse (`proxy_ssl_session_reuse`) only for peers round robin picked.
unsafe extern "C" fn set_session(pc: *mut ngx_peer_connection_t, data: *mut c_void) -> ngx_int_t {
    guard(NGX_OK as ngx_int_t, || {
        // SAFETY: as free_peer; the saved hook is round robin's own.
        unsafe {
            let bp = data as *mut Peer;
            match (*bp).rr_set_session {
                Some(f) if !(*bp).custom() => f(pc, data),
                _ => NGX_OK as ngx_int_t,
            }
        }
    })
}

unsafe extern "C" fn save_session(pc: *mut ngx_peer_connection_t, data: *mut c_void) {
    guard((), || {
        // SAFETY: as set_session.
        unsafe {
            let bp = data as *mut Peer;
            if let Some(f) = (*bp).rr_save_session {
                if !(*bp).custom() {
                    f(pc, data);
                }
            }
        }
    })
}
