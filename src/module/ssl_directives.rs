//! `ssl_certificate_by_lua_block|_file` and `ssl_client_hello_by_lua_block|_file` (upstream
//! `ngx_stream_lua_ssl_certby.c`, `ngx_stream_lua_ssl_client_helloby.c`), in `stream {}` and
//! `server {}`, and the merge step that gives a TLS server its hooks and registers OpenSSL's
//! callbacks on its `SSL_CTX` (`phase/ssl_hook.rs` runs them).

use std::rc::Rc;

use super::directives::{no_code, read_lua_block, register_code};
use crate::conf::{MainConf, SrvConf};
use crate::conf_directives;
use crate::runtime::code::{Code, CodeSource};
use crate::sys::conf::{ConfError, ConfResult, Directive, DUPLICATE};
use crate::sys::*;

/// Which TLS hook a directive sets.
#[derive(Clone, Copy)]
enum Hook {
    Cert,
    ClientHello,
}

impl Hook {
    fn slot(self, conf: &mut SrvConf) -> &mut Option<Rc<Code>> {
        match self {
            Hook::Cert => &mut conf.ssl_cert,
            Hook::ClientHello => &mut conf.ssl_client_hello,
        }
    }

    /// Upstream names inline hook code after the directive, without file and line.
    fn chunk_name(self) -> String {
        match self {
            Hook::Cert => "=ssl_certificate_by_lua".into(),
            Hook::ClientHello => "=ssl_client_hello_by_lua".into(),
        }
    }
}

fn set_hook(d: &mut Directive, hook: Hook, code: Code) -> ConfResult {
    if hook.slot(d.conf::<SrvConf>()).is_some() {
        return Err(DUPLICATE);
    }
    let code = register_code(d, code)?;
    *hook.slot(d.conf::<SrvConf>()) = Some(code);
    Ok(())
}

fn hook_block(d: &mut Directive, hook: Hook) -> ConfResult {
    let src = read_lua_block(d)?;
    if src.is_empty() {
        return Err(no_code(d));
    }
    match set_hook(d, hook, Code::new(CodeSource::Inline(src), hook.chunk_name())) {
        Err(ConfError::Msg(m)) => {
            // as the other blocks: the message without the directive name
            d.error(NGX_LOG_EMERG, m.to_bytes());
            Err(ConfError::Logged)
        }
        rv => rv,
    }
}

fn hook_file(d: &mut Directive, hook: Hook) -> ConfResult {
    let arg = d.arg(1).to_vec();
    if arg.is_empty() {
        return Err(no_code(d));
    }
    let path = crate::runtime::paths::rebase(d.prefix(), &arg);
    set_hook(d, hook, Code::file(path, &arg))
}

conf_directives! {
    pub ssl_certificate_by_lua_block => |d| hook_block(d, Hook::Cert),
    pub ssl_certificate_by_lua_file => |d| hook_file(d, Hook::Cert),
    pub ssl_client_hello_by_lua_block => |d| hook_block(d, Hook::ClientHello),
    pub ssl_client_hello_by_lua_file => |d| hook_file(d, Hook::ClientHello),
}

/// A server with TLS inherits the hooks of `stream {}` and gets OpenSSL's callbacks on its
/// `SSL_CTX`; one without TLS keeps only its own code, which never runs (upstream's merge).
#[cfg(ngx_feature = "stream_ssl")]
pub fn merge_hooks(cf: &mut crate::sys::conf::Conf, parent: &SrvConf, conf: &mut SrvConf) {
    let Some(tls) = crate::sys::ssl_hook::ServerTls::of(cf) else { return };
    if conf.ssl_client_hello.is_none() {
        conf.ssl_client_hello = parent.ssl_client_hello.clone();
    }
    if conf.ssl_cert.is_none() {
        conf.ssl_cert = parent.ssl_cert.clone();
    }
    if conf.ssl_client_hello.is_some() {
        tls.set_client_hello_cb(crate::phase::ssl_hook::client_hello_cb);
    }
    if conf.ssl_cert.is_some() {
        tls.set_cert_cb(crate::phase::ssl_hook::cert_cb);
    }
    if conf.ssl_client_hello.is_some() || conf.ssl_cert.is_some() {
        if let Some(mcf) = cf.main_conf::<MainConf>() {
            mcf.has_ssl_hook = true;
        }
    }
}
