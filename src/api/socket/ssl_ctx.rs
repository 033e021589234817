//! The TLS client context of a server's cosockets, built from its `lua_ssl_*` directives when
//! the configuration is read (nginx frees it with the configuration's pool).

use std::ptr::NonNull;

use crate::conf::SslConf;
use crate::sys::conf::Conf;
use crate::sys::ssl_client::{create_client_ctx, ClientCtxSettings, CtxError};
use crate::sys::*;

/// Protocols when `lua_ssl_protocols` is not given (upstream's default set).
const DEFAULT_PROTOCOLS: usize =
    (NGX_CONF_BITMASK_SET | NGX_SSL_TLSv1 | NGX_SSL_TLSv1_1 | NGX_SSL_TLSv1_2 | NGX_SSL_TLSv1_3) as usize;

/// The client context of the server whose configuration `cf` merges.
pub fn create(cf: &Conf, conf: &SslConf) -> Result<NonNull<ngx_ssl_t>, ()> {
    let settings = ClientCtxSettings {
        protocols: conf.protocols.unwrap_or(DEFAULT_PROTOCOLS),
        ciphers: conf.ciphers.as_deref().unwrap_or(b"DEFAULT"),
        certificate: conf.certificate.as_deref().map(|cert| (cert, conf.certificate_key.as_deref())),
        trusted_certificate: conf.trusted_certificate.as_deref(),
        verify_depth: conf.verify_depth.unwrap_or(1),
        crl: conf.crl.as_deref().unwrap_or(b""),
        conf_commands: conf.conf_commands.as_deref(),
    };
    create_client_ctx(cf, &settings).map_err(|e| {
        if let (CtxError::NoKey, Some(cert)) = (e, &conf.certificate) {
            let msg = format!(
                "no \"lua_ssl_certificate_key\" is defined for certificate \"{}\"",
                String::from_utf8_lossy(cert)
            );
            cf.error(NGX_LOG_EMERG, msg.as_bytes());
        }
    })
}
