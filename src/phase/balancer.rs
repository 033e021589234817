//! `balancer_by_lua*`: an `upstream {}` block's load balancer. The directive puts nginx's
//! peer selection hooks (`sys::upstream`) in the block with `LuaBalancer` as the chooser: every
//! connect attempt (the first and each retry) runs the Lua code synchronously (no yielding
//! APIs), which may pick the peer with `ngx.balancer.set_current_peer`; without one, round
//! robin picks as usual.

use crate::conf::SrvConf;
use crate::runtime::code::Code;
use crate::runtime::live::LiveSession;
use crate::runtime::scheduler::Outcome;
use crate::runtime::session::Phase;
use crate::sys::conf::Conf;
use crate::sys::stream::StreamSession;
pub use crate::sys::upstream::Peer;
use crate::sys::upstream::{init_upstream, Balancer, PeerRef};
use crate::sys::*;

/// Runs an upstream block's `balancer_by_lua*` code for each connect attempt.
pub struct LuaBalancer;

impl Balancer for LuaBalancer {
    type Conf = SrvConf;

    fn choose(s: StreamSession, conf: &SrvConf, peer: &PeerRef) -> Option<Result<(), ngx_int_t>> {
        let code = conf.balancer.clone()?;
        let Ok(sess) = crate::phase::session_of(s) else {
            return Some(Err(NGX_ERROR as ngx_int_t));
        };
        peer.with(Peer::begin_try);
        Some(run_balancer(&sess, peer.as_ptr(), &code))
    }
}

/// Runs the balancer code synchronously with `bp` as the session's balancer state; `Err`
/// carries what the connect attempt returns instead of connecting.
fn run_balancer(sess: &LiveSession, bp: *mut Peer, code: &Code) -> Result<(), ngx_int_t> {
    sess.cancel_wait();
    sess.with(|x| {
        x.phase = Phase::Balancer;
        x.on_done = None;
        x.exit_code = None;
        x.rare_mut().balancer = bp;
    });
    let outcome = sess.run_entry(code);
    sess.with(|x| x.rare_mut().balancer = std::ptr::null_mut());
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

/// The `upstream {}` block being parsed gets our balancer (`balancer_by_lua*` was given in it).
pub fn hook_upstream(conf: &mut Conf) {
    if conf.set_upstream_init(Some(init_upstream::<LuaBalancer>)) {
        conf.error(NGX_LOG_WARN, b"load balancing method redefined");
    }
}
