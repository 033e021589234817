//! `balancer_by_lua*`: an `upstream {}` block's load balancer. The directive puts its own
//! `init_upstream` in the block; that one sets up nginx's round robin and then hooks each
//! session's peer selection: every connect attempt (the first and each retry) runs the Lua
//! code synchronously (no yielding APIs), which may pick the peer with
//! `ngx.balancer.set_current_peer`; without one, round robin picks as usual.

use std::ffi::c_void;

use crate::conf::SrvConf;
use crate::runtime::code::Code;
use crate::runtime::live::LiveSession;
use crate::runtime::scheduler::Outcome;
use crate::runtime::session::Phase;
use crate::sys::conf::Conf;
use crate::sys::stream::StreamSession;
use crate::sys::*;

/// A session's balancer state. nginx's round robin data comes first: nginx hands `peer.data`
/// (this struct) to the round robin functions when we fall back to them.
#[repr(C)]
pub struct Peer {
    pub rrp: ngx_stream_upstream_rr_peer_data_t,
    /// The upstream block's configuration (its balancer code).
    conf: *const SrvConf,
    s: *mut ngx_stream_session_t,
    /// What `set_more_tries` asked for in the current run.
    pub more_tries: ngx_uint_t,
    /// How many times the Lua code ran for this session.
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
}

/// The `init_upstream` of an upstream block with `balancer_by_lua*`.
pub unsafe extern "C" fn init_upstream(cf: *mut ngx_conf_t, us: *mut ngx_stream_upstream_srv_conf_t) -> ngx_int_t {
    guard(NGX_ERROR as ngx_int_t, || {
        // SAFETY: nginx calls this with the upstream block being initialised.
        unsafe {
            if ngx_stream_upstream_init_round_robin(cf, us) != NGX_OK as ngx_int_t {
                return NGX_ERROR as ngx_int_t;
            }
            (*us).peer.init = Some(init_peer);
            NGX_OK as ngx_int_t
        }
    })
}

/// A session starts using the upstream: round robin's state, then our hooks around it.
unsafe extern "C" fn init_peer(s: *mut ngx_stream_session_t, us: *mut ngx_stream_upstream_srv_conf_t) -> ngx_int_t {
    guard(NGX_ERROR as ngx_int_t, || {
        // SAFETY: a live session with its upstream being set up; `us` is its upstream block.
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
            (*u).peer.get = Some(get_peer);
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
            (*bp).conf = *(*us).srv_conf.add(crate::runtime::session::ctx_index()) as *const SrvConf;
            (*bp).s = s;
            NGX_OK as ngx_int_t
        }
    })
}

/// Each connect attempt: run the Lua code, then connect to the peer it chose, or let round
/// robin choose.
unsafe extern "C" fn get_peer(pc: *mut ngx_peer_connection_t, data: *mut c_void) -> ngx_int_t {
    guard(NGX_ERROR as ngx_int_t, || {
        let bp = data as *mut Peer;
        // SAFETY: data is the Peer set up by init_peer for this live session, pc its peer
        // connection; the Peer is read and written between (never across) runs of Lua code,
        // which reaches it through the session's `balancer` pointer.
        unsafe {
            log_debug((*pc).log, &format!("lua balancer peer, tries: {}", (*pc).tries));
            let Some(code) = (*(*bp).conf).balancer.clone() else {
                return ngx_stream_upstream_get_round_robin_peer(pc, &mut (*bp).rrp as *mut _ as *mut c_void);
            };
            let Some(s) = StreamSession::from_raw((*bp).s) else { return NGX_ERROR as ngx_int_t };
            let Some(sess) = crate::phase::session_of(s) else {
                return NGX_ERROR as ngx_int_t;
            };
            (*bp).sockaddr = std::ptr::null_mut();
            (*bp).socklen = 0;
            (*bp).more_tries = 0;
            (*bp).total_tries += 1;
            if let Err(rc) = run_balancer(&sess, bp, &code) {
                return rc;
            }
            if (*bp).custom() {
                (*pc).sockaddr = (*bp).sockaddr;
                (*pc).socklen = (*bp).socklen;
                (*pc).set_cached(0);
                (*pc).connection = std::ptr::null_mut();
                (*pc).name = (*bp).name;
                // like upstream: retries may go on past a "single" server
                (*(*bp).rrp.peers).set_single(0);
                if (*bp).more_tries > 0 {
                    let tries = &mut (*(*s.as_ptr()).upstream).peer.tries;
                    *tries = tries.wrapping_add((*bp).more_tries);
                }
                return NGX_OK as ngx_int_t;
            }
            ngx_stream_upstream_get_round_robin_peer(pc, &mut (*bp).rrp as *mut _ as *mut c_void)
        }
    })
}

/// Runs the balancer code synchronously with `bp` as the session's balancer state; `Err`
/// carries what the connect attempt returns instead of connecting.
fn run_balancer(sess: &LiveSession, bp: *mut Peer, code: &Code) -> Result<(), ngx_int_t> {
    sess.cancel_wait();
    sess.with(|x| {
        x.phase = Phase::Balancer;
        x.on_done = None;
        x.exit_code = None;
        x.balancer = bp;
    });
    let outcome = sess.run_entry(code);
    sess.with(|x| x.balancer = std::ptr::null_mut());
    match outcome {
        Outcome::Failed => return Err(NGX_ERROR as ngx_int_t),
        Outcome::Waiting => {
            // the yielding APIs refuse to run here; a wait is never resumed
            sess.cancel_wait();
            sess.release_threads();
            sess.with(|x| x.logger()).error(NGX_LOG_ERR, 0, b"balancer_by_lua* code yielded");
            return Err(NGX_ERROR as ngx_int_t);
        }
        Outcome::Finished | Outcome::Exited(_) => {}
    }
    // ngx.exit returns to the code here: its status counts once the code is done
    match sess.with(|x| x.exit_code) {
        Some(rc) if rc == NGX_ERROR as isize || rc == NGX_BUSY as isize || rc == NGX_DECLINED as isize => Err(rc),
        Some(rc) if rc > NGX_OK as isize => Err(NGX_ERROR as ngx_int_t),
        _ => Ok(()),
    }
}

/// A connection to the peer ended (`state`: `NGX_PEER_FAILED`, `_NEXT` ...).
unsafe extern "C" fn free_peer(pc: *mut ngx_peer_connection_t, data: *mut c_void, state: ngx_uint_t) {
    guard((), || {
        // SAFETY: data is this session's Peer; pc its peer connection.
        unsafe {
            let bp = data as *mut Peer;
            log_debug((*pc).log, &format!("lua balancer free peer, tries: {}", (*pc).tries));
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

/// The `upstream {}` block being parsed gets our balancer (`balancer_by_lua*` was given in it).
pub fn hook_upstream(conf: &mut Conf) {
    if conf.set_upstream_init(Some(init_upstream)) {
        conf.error(NGX_LOG_WARN, b"load balancing method redefined");
    }
}
