//! OpenSSL's certificate and ClientHello callbacks of servers with `ssl_certificate_by_lua*`
//! / `ssl_client_hello_by_lua*`: they run the hook's Lua code in the session's own Lua
//! context (so `ngx.ctx` carries into preread, content and log) and turn its outcome into
//! the callback's answer. `ssl_cert.rs` describes how a hook that waits is driven.

use std::ffi::{c_int, c_void};

use crate::conf::SrvConf;
use crate::runtime::live::LiveSession;
use crate::runtime::scheduler::Outcome;
use crate::runtime::session::Phase;
use crate::sys::ssl_hook::{callback_session, not_reusable, reusable, HookContext, HookLog};
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

    fn directive(self) -> &'static str {
        match self {
            Hook::Cert => "ssl_certificate_by_lua*",
            Hook::ClientHello => "ssl_client_hello_by_lua*",
        }
    }
}

/// `SSL_CTX_set_cert_cb`'s callback: 1 goes on, 0 fails the handshake.
pub unsafe extern "C" fn cert_cb(ssl: *mut SSL, _arg: *mut c_void) -> c_int {
    // SAFETY: OpenSSL runs the callback for a connection nginx set up for a stream session.
    let Some(s) = (unsafe { callback_session(ssl) }) else { return 0 };
    guard(0, || run_hook(s, Hook::Cert))
}

/// `SSL_CTX_set_client_hello_cb`'s callback: `SSL_CLIENT_HELLO_SUCCESS` (1) goes on,
/// `SSL_CLIENT_HELLO_ERROR` (0) fails the handshake with an internal-error alert.
pub unsafe extern "C" fn client_hello_cb(ssl: *mut SSL, al: *mut c_int, _arg: *mut c_void) -> c_int {
    // SAFETY: as cert_cb.
    let Some(s) = (unsafe { callback_session(ssl) }) else { return 0 };
    let rc = guard(0, || run_hook(s, Hook::ClientHello));
    if rc == 0 {
        // SAFETY: OpenSSL passes a writable alert code.
        if let Some(al) = unsafe { al.as_mut() } {
            *al = SSL_AD_INTERNAL_ERROR as c_int;
        }
    }
    rc
}

/// Runs the hook of the session's server; the callback's answer.
fn run_hook(s: StreamSession, hook: Hook) -> c_int {
    let log = s.log();
    log.debug(&format!("stream {}: connection reusable: {}", hook.short(), reusable(&s) as u8));
    not_reusable(&s);
    let Some(code) = s.srv_conf::<SrvConf>().and_then(|c| hook.code(c)) else {
        log.error(NGX_LOG_ALERT, 0, format!("no {} defined in the server", hook.directive()).as_bytes());
        return 0;
    };
    let _context = HookLog::enter(&s, hook.context());
    let Ok(sess) = crate::phase::session_of(s) else { return 0 };
    sess.with(|x| {
        x.phase = hook.phase();
        x.on_done = None;
        x.exit_code = None;
    });
    let outcome = sess.run_entry(&code);
    let rc = match outcome {
        Outcome::Finished => NGX_OK as isize,
        Outcome::Exited(code) => code,
        Outcome::Failed => NGX_STREAM_INTERNAL_SERVER_ERROR as isize,
        Outcome::Waiting => {
            log.error(
                NGX_LOG_ERR,
                0,
                format!("{} cannot wait in this handshake (not implemented yet)", hook.directive()).as_bytes(),
            );
            NGX_ERROR as isize
        }
    };
    end_hook(&sess);
    let exit = if rc == NGX_ERROR as isize || rc >= NGX_STREAM_BAD_REQUEST as isize { 0 } else { 1 };
    log.debug(&format!("stream {}: handler return value: {rc}, {} exit code: {exit}", hook.tag(), hook.cb()));
    exit
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
