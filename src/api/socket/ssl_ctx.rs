//! The TLS client context of a server's cosockets, built from its `lua_ssl_*` directives when
//! the configuration is read (nginx frees it with the configuration's pool).

use std::ptr::NonNull;

use crate::conf::SslConf;
use crate::sys::*;

/// Protocols when `lua_ssl_protocols` is not given (upstream's default set).
const DEFAULT_PROTOCOLS: usize =
    (NGX_CONF_BITMASK_SET | NGX_SSL_TLSv1 | NGX_SSL_TLSv1_1 | NGX_SSL_TLSv1_2 | NGX_SSL_TLSv1_3) as usize;

/// An nginx string over `bytes` (copied into the configuration pool, NUL-terminated).
unsafe fn pool_str(cf: *mut ngx_conf_t, bytes: &[u8]) -> Result<ngx_str_t, ()> {
    // SAFETY: cf->pool is the configuration pool.
    unsafe {
        let p = ngx_pnalloc((*cf).pool, bytes.len() + 1) as *mut u8;
        if p.is_null() {
            return Err(());
        }
        std::ptr::copy_nonoverlapping(bytes.as_ptr(), p, bytes.len());
        *p.add(bytes.len()) = 0;
        Ok(ngx_str_t { len: bytes.len(), data: p })
    }
}

pub unsafe fn create(cf: *mut ngx_conf_t, conf: &SslConf) -> Result<NonNull<ngx_ssl_t>, ()> {
    // SAFETY: cf is the configuration being merged; the context lives in its pool.
    unsafe {
        let ssl = ngx_pcalloc((*cf).pool, std::mem::size_of::<ngx_ssl_t>()) as *mut ngx_ssl_t;
        let ssl = NonNull::new(ssl).ok_or(())?;
        let s = ssl.as_ptr();
        (*s).log = (*cf).log;
        let protocols = conf.protocols.unwrap_or(DEFAULT_PROTOCOLS);
        if ngx_ssl_create(s, protocols as ngx_uint_t, std::ptr::null_mut()) != NGX_OK as isize {
            return Err(());
        }
        let cln = ngx_pool_cleanup_add((*cf).pool, 0);
        if cln.is_null() {
            ngx_ssl_cleanup_ctx(s as *mut _);
            return Err(());
        }
        (*cln).handler = Some(ngx_ssl_cleanup_ctx);
        (*cln).data = s as *mut _;

        let mut ciphers = pool_str(cf, conf.ciphers.as_deref().unwrap_or(b"DEFAULT"))?;
        if ngx_ssl_ciphers(cf, s, &mut ciphers, 0) != NGX_OK as isize {
            return Err(());
        }
        if let Some(cert) = &conf.certificate {
            let Some(key) = &conf.certificate_key else {
                let msg = format!(
                    "no \"lua_ssl_certificate_key\" is defined for certificate \"{}\"",
                    String::from_utf8_lossy(cert)
                );
                conf_log_error(NGX_LOG_EMERG, cf, msg.as_bytes());
                return Err(());
            };
            let (mut c, mut k) = (pool_str(cf, cert)?, pool_str(cf, key)?);
            if ngx_ssl_certificate(cf, s, &mut c, &mut k, std::ptr::null_mut()) != NGX_OK as isize {
                return Err(());
            }
        }
        let depth = conf.verify_depth.unwrap_or(1);
        if let Some(trusted) = &conf.trusted_certificate {
            let mut t = pool_str(cf, trusted)?;
            if ngx_ssl_trusted_certificate(cf, s, &mut t, depth as ngx_int_t) != NGX_OK as isize {
                return Err(());
            }
        }
        let mut crl = pool_str(cf, conf.crl.as_deref().unwrap_or(b""))?;
        if ngx_ssl_crl(cf, s, &mut crl) != NGX_OK as isize {
            return Err(());
        }
        if let Some(cmds) = &conf.conf_commands {
            let arr = ngx_array_create((*cf).pool, cmds.len().max(1), std::mem::size_of::<ngx_keyval_t>());
            if arr.is_null() {
                return Err(());
            }
            for (k, v) in cmds {
                let kv = ngx_array_push(arr) as *mut ngx_keyval_t;
                if kv.is_null() {
                    return Err(());
                }
                (*kv).key = pool_str(cf, k)?;
                (*kv).value = pool_str(cf, v)?;
            }
            if ngx_ssl_conf_commands(cf, s, arr) != NGX_OK as isize {
                return Err(());
            }
        }
        Ok(ssl)
    }
}
