//! OpenSSL's certificate and ClientHello callbacks of servers with `ssl_certificate_by_lua*`
//! / `ssl_client_hello_by_lua*`: they run the hook's Lua code in the session's own Lua
//! context (so `ngx.ctx` carries into preread, content and log) and turn its outcome into
//! the callback's answer. `ssl_cert.rs` describes how a hook that waits is driven.

use std::ffi::{c_int, c_void};

use crate::conf::SrvConf;
use crate::ngx_callbacks;
use crate::runtime::live::LiveSession;
use crate::runtime::scheduler::Outcome;
use crate::runtime::session::Phase;
use crate::sys::ssl_drive::HandshakeConn;
use crate::sys::ssl_hook::{not_reusable, reusable, Alert, HookContext, HookLog, HookSsl};
use crate::sys::stream::StreamSession;
use crate::sys::*;

/// A hook and the texts of its log lines.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Hook {
    Cert,
    ClientHello,
}

impl Hook {
    fn phase(self) -> Phase {
        match self {
            Hook::Cert => Phase::SslCert,
            Hook::ClientHello => Phase::SslClientHello,
        }
    }

    fn context(self) -> HookContext {
        match self {
            Hook::Cert => HookContext::Cert,
            Hook::ClientHello => HookContext::ClientHello,
        }
    }

    fn code(self, conf: &SrvConf) -> Option<std::rc::Rc<crate::runtime::code::Code>> {
        match self {
            Hook::Cert => conf.ssl_cert.clone(),
            Hook::ClientHello => conf.ssl_client_hello.clone(),
        }
    }

    /// `ssl cert` / `ssl client hello` (the reusable-connection debug line).
    fn short(self) -> &'static str {
        match self {
            Hook::Cert => "ssl cert",
            Hook::ClientHello => "ssl client hello",
        }
    }

    /// The prefix of the outcome's debug lines.
    fn tag(self) -> &'static str {
        match self {
            Hook::Cert => "lua_certificate_by_lua",
            Hook::ClientHello => "lua_client_hello_by_lua",
        }
    }

    /// `cert cb` / `client hello cb`.
    fn cb(self) -> &'static str {
        match self {
            Hook::Cert => "cert cb",
            Hook::ClientHello => "client hello cb",
        }
    }

    fn on_done(self) -> fn(LiveSession, Outcome) {
        match self {
            Hook::Cert => cert_done,
            Hook::ClientHello => client_hello_done,
        }
    }

    fn directive(self) -> &'static str {
        match self {
            Hook::Cert => "ssl_certificate_by_lua*",
            Hook::ClientHello => "ssl_client_hello_by_lua*",
        }
    }
}

ngx_callbacks! {
    /// `SSL_CTX_set_cert_cb`'s callback: 1 goes on, 0 fails the handshake.
    pub fn cert_cb(ssl: HookSsl, _arg: *mut c_void) -> c_int [0] {
        run_hook(ssl.s, Hook::Cert)
    }

    /// `SSL_CTX_set_client_hello_cb`'s callback: `SSL_CLIENT_HELLO_SUCCESS` (1) goes on,
    /// `SSL_CLIENT_HELLO_ERROR` (0) fails the handshake with an internal-error alert.
    pub fn client_hello_cb(ssl: HookSsl, al: Alert, _arg: *mut c_void) -> c_int [0] {
        let rc = run_hook(ssl.s, Hook::ClientHello);
        if rc == 0 {
            let mut al = al;
            al.set(SSL_AD_INTERNAL_ERROR as c_int);
        }
        rc
    }
}

/// Runs the hook of the session's server; the callback's answer (-1: the hook waits, the
/// driver steps again when it is done, and this callback then gives its answer).
fn run_hook(s: StreamSession, hook: Hook) -> c_int {
    let log = s.log();
    let hc = HandshakeConn::of(&s);
    if let Some(hc) = hc {
        // called again: after the hook waited, or for a second ClientHello
        let again = hc.with_state(|st| {
            let waiting = st.waiting == Some(hook.context());
            match *st.done_of(hook.context()) {
                Some(rc) => Some(rc),
                None if waiting => Some(-1),
                None => None,
            }
        });
        if let Some(Some(rc)) = again {
            if rc >= 0 {
                log.debug_fmt(format_args!("stream {}: {} exit code: {rc}", hook.tag(), hook.cb()));
            }
            return rc;
        }
    }
    log.debug_fmt(format_args!("stream {}: connection reusable: {}", hook.short(), reusable(&s) as u8));
    not_reusable(&s);
    let Some(code) = s.srv_conf::<SrvConf>().and_then(|c| hook.code(c)) else {
        log.error(NGX_LOG_ALERT, 0, format!("no {} defined in the server", hook.directive()).as_bytes());
        return 0;
    };
    let context = HookLog::enter(&s, hook.context());
    let Ok(sess) = crate::phase::session_of(s) else { return 0 };
    sess.with(|x| {
        x.phase = hook.phase();
        x.on_done = None;
        x.exit_code = None;
    });
    let outcome = sess.run_entry(&code);
    if let Outcome::Waiting = outcome {
        let parked = hc.and_then(|hc| {
            hc.with_state(|st| {
                st.waiting = Some(hook.context());
                st.saved_log = context.map(HookLog::keep);
            })
        });
        if parked.is_some() {
            sess.with(|x| x.on_done = Some(hook.on_done()));
            return -1;
        }
        // a handshake we do not drive cannot wait
        log.error(NGX_LOG_ERR, 0, format!("{} cannot wait in this handshake", hook.directive()).as_bytes());
        end_hook(&sess);
        return 0;
    }
    let rc = handler_rc(outcome);
    end_hook(&sess);
    let exit = exit_code(rc);
    if let Some(hc) = hc {
        hc.with_state(|st| *st.done_of(hook.context()) = Some(exit));
    }
    log.debug_fmt(format_args!("stream {}: handler return value: {rc}, {} exit code: {exit}", hook.tag(), hook.cb()));
    exit
}

/// The handler's return value for the hook's outcome (upstream's `rc`).
fn handler_rc(outcome: Outcome) -> isize {
    match outcome {
        Outcome::Finished | Outcome::Waiting => NGX_OK as isize,
        Outcome::Exited(code) => code,
        Outcome::Failed => NGX_STREAM_INTERNAL_SERVER_ERROR as isize,
    }
}

/// The callback's answer for `rc`: 0 fails the handshake.
fn exit_code(rc: isize) -> c_int {
    if rc == NGX_ERROR as isize || rc >= NGX_STREAM_BAD_REQUEST as isize {
        0
    } else {
        1
    }
}

/// The hook's Lua is over: its threads end, and the later phases start afresh (their own
/// entry thread, no exit code), keeping `ngx.ctx`.
fn end_hook(sess: &LiveSession) {
    sess.cancel_wait();
    sess.release_threads();
    sess.with(|x| {
        x.exit_code = None;
        x.on_done = None;
    });
}

/// A hook that waited is done (`Session::on_done`): its answer waits for the callback, and
/// the driver steps again.
fn hook_done(sess: LiveSession, hook: Hook, outcome: Outcome) {
    let exit = exit_code(handler_rc(outcome));
    end_hook(&sess);
    let s = sess.stream();
    let Some(hc) = HandshakeConn::of(&s) else { return };
    hc.with_state(|st| {
        st.waiting = None;
        *st.done_of(hook.context()) = Some(exit);
        if let Some(saved) = st.saved_log.take() {
            saved.restore();
        }
    });
    crate::phase::ssl_drive::step_later(hc);
}

fn cert_done(sess: LiveSession, outcome: Outcome) {
    hook_done(sess, Hook::Cert, outcome);
}

fn client_hello_done(sess: LiveSession, outcome: Outcome) {
    hook_done(sess, Hook::ClientHello, outcome);
}
