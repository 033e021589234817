//! `StreamRef`: an nginx stream session, borrowed for as long as its owner keeps it (our
//! `Session` is freed with it): its variables, status and start time.

use std::marker::PhantomData;
use std::ptr::NonNull;

use super::ngx::*;

#[derive(Clone, Copy)]
pub struct StreamRef<'s>(NonNull<ngx_stream_session_t>, PhantomData<&'s ngx_stream_session_t>);

impl<'s> StreamRef<'s> {
    /// # Safety
    /// `s` is null or a live stream session that outlives `'s`.
    pub unsafe fn from_raw(s: *mut ngx_stream_session_t) -> Option<StreamRef<'s>> {
        NonNull::new(s).map(|p| StreamRef(p, PhantomData))
    }

    pub fn as_ptr(self) -> *mut ngx_stream_session_t {
        self.0.as_ptr()
    }

    fn get(self) -> &'s ngx_stream_session_t {
        // SAFETY: live for 's (from_raw's contract).
        unsafe { self.0.as_ref() }
    }

    /// The status code the session ends with.
    pub fn status(self) -> ngx_uint_t {
        self.get().status
    }

    /// When the session started: seconds and milliseconds.
    pub fn start_time(self) -> (i64, i64) {
        let s = self.get();
        (s.start_sec, s.start_msec as i64)
    }

    /// The value of variable `name` (lowercased into `lowcase`, at least as long as `name`):
    /// `None` when there is no such variable or it has no value here.
    pub fn variable(self, name: &[u8], lowcase: &mut [u8]) -> Option<&'s [u8]> {
        let lowcase = &mut lowcase[..name.len()];
        // SAFETY: both buffers hold name.len() bytes; nginx only reads name.
        let hash = unsafe { ngx_hash_strlow(lowcase.as_mut_ptr(), name.as_ptr() as *mut u8, name.len()) };
        let mut key = ngx_str_t { len: name.len(), data: lowcase.as_mut_ptr() };
        // SAFETY: a live session; the value it returns lives in the session's pool.
        unsafe {
            let vv = ngx_stream_get_variable(self.as_ptr(), &mut key, hash);
            if vv.is_null() || (*vv).not_found() != 0 {
                return None;
            }
            Some(bytes_of((*vv).data, (*vv).len() as usize))
        }
    }

    /// Sets changeable variable `name` (lowercased into `lowcase`) to `value` (`None`: not
    /// found), copied into the session's pool; the error text on failure.
    pub fn set_variable(self, name: &[u8], lowcase: &mut [u8], value: Option<&[u8]>) -> Result<(), String> {
        let lowcase = &mut lowcase[..name.len()];
        // SAFETY: both buffers hold name.len() bytes; nginx only reads name.
        let hash = unsafe { ngx_hash_strlow(lowcase.as_mut_ptr(), name.as_ptr() as *mut u8, name.len()) };
        let shown = String::from_utf8_lossy(lowcase).into_owned();
        let s = self.as_ptr();
        // SAFETY: a live session: its main confs, variables and pool are nginx's; the value
        // and the variable value record are allocated in that pool, which lives as long.
        unsafe {
            let cmcf = *(*s).main_conf.add(ngx_stream_core_module.ctx_index) as *mut ngx_stream_core_main_conf_t;
            let v = ngx_hash_find(&mut (*cmcf).variables_hash, hash, lowcase.as_mut_ptr(), name.len())
                as *mut ngx_stream_variable_t;
            if v.is_null() {
                return Err(format!(
                    "variable \"{shown}\" not found for writing; maybe it is a built-in variable that is not \
                     changeable or you forgot to use \"set ${shown} '';\" in the config file to define it first"
                ));
            }
            if (*v).flags & NGX_STREAM_VAR_CHANGEABLE as ngx_uint_t == 0 {
                return Err(format!("variable \"{shown}\" not changeable"));
            }
            let pool = (*(*s).connection).pool;
            let len = value.map_or(0, <[u8]>::len);
            let data = if len == 0 {
                std::ptr::null_mut()
            } else {
                let p = ngx_pnalloc(pool, len) as *mut u8;
                if p.is_null() {
                    return Err("no memory".into());
                }
                std::ptr::copy_nonoverlapping(value.unwrap_or_default().as_ptr(), p, len);
                p
            };
            let fill = |vv: *mut ngx_stream_variable_value_t| {
                (*vv).data = data;
                (*vv).set_len(len as u32);
                (*vv).set_valid(value.is_some() as u32);
                (*vv).set_not_found(value.is_none() as u32);
                (*vv).set_no_cacheable(0);
            };
            if let Some(set) = (*v).set_handler {
                let vv = ngx_pcalloc(pool, std::mem::size_of::<ngx_stream_variable_value_t>())
                    as *mut ngx_stream_variable_value_t;
                if vv.is_null() {
                    return Err("no memory".into());
                }
                fill(vv);
                set(s, vv, (*v).data);
                return Ok(());
            }
            if (*v).flags & NGX_STREAM_VAR_INDEXED as ngx_uint_t != 0 {
                fill((*s).variables.add((*v).index));
                return Ok(());
            }
        }
        Err(format!("variable \"{shown}\" cannot be assigned a value"))
    }
}

/// A peer address parsed for the session's upstream (lives in the session's pool).
pub struct PeerAddr {
    pub sockaddr: *mut sockaddr,
    pub socklen: socklen_t,
    pub name: *mut ngx_str_t,
}

/// Why an address was refused: nginx's own static message, or ours.
pub enum AddrError {
    Nginx(*const std::ffi::c_char),
    Ours(&'static [u8]),
}

impl<'s> StreamRef<'s> {
    fn pool(self) -> *mut ngx_pool_t {
        // SAFETY: a live session has a live connection with its pool.
        unsafe { (*self.get().connection).pool }
    }

    /// A copy of `b` in the session's pool (at least one byte allocated).
    fn pool_copy(self, b: &[u8]) -> Option<*mut u8> {
        // SAFETY: the pool is live; the copy fits the allocation.
        unsafe {
            let p = ngx_pnalloc(self.pool(), b.len().max(1)) as *mut u8;
            if p.is_null() {
                return None;
            }
            std::ptr::copy_nonoverlapping(b.as_ptr(), p, b.len());
            Some(p)
        }
    }

    /// Whether the session has an upstream (it is being proxied).
    pub fn has_upstream(self) -> bool {
        !self.get().upstream.is_null()
    }

    /// `addr` (an IP address, with or without a port; names are not resolved) as a peer of
    /// the upstream, with `port` when it has none (cut to 16 bits, as nginx's).
    pub fn parse_peer(self, addr: &[u8], port: i32) -> Result<PeerAddr, AddrError> {
        let data = self.pool_copy(addr).ok_or(AddrError::Ours(b"no memory\0"))?;
        // SAFETY: an all-zero ngx_url_t is an empty request; ngx_parse_url allocates what it
        // returns in the session's pool, which lives as long as the session.
        unsafe {
            let mut url: ngx_url_t = std::mem::zeroed();
            url.url = ngx_str_t { len: addr.len(), data };
            url.default_port = port as in_port_t;
            url.set_uri_part(0);
            url.set_no_resolve(1);
            if ngx_parse_url(self.pool(), &mut url) != NGX_OK as ngx_int_t {
                return Err(if url.err.is_null() {
                    AddrError::Ours(b"invalid address\0")
                } else {
                    AddrError::Nginx(url.err)
                });
            }
            if url.addrs.is_null() || (*url.addrs).sockaddr.is_null() {
                return Err(AddrError::Ours(b"no host allowed\0"));
            }
            let a = &mut *url.addrs;
            Ok(PeerAddr { sockaddr: a.sockaddr, socklen: a.socklen, name: &mut a.name })
        }
    }

    /// Makes the upstream connection bind to local address `addr` (with an optional port).
    pub fn bind_upstream_local(self, addr: &[u8]) -> Result<(), &'static [u8]> {
        let s = self.as_ptr();
        // SAFETY: the session's upstream is live (checked by the caller's has_upstream); the
        // address record and its text live in the session's pool.
        unsafe {
            let local = ngx_pcalloc(self.pool(), std::mem::size_of::<ngx_addr_t>()) as *mut ngx_addr_t;
            let data = self.pool_copy(addr);
            let (Some(data), false) = (data, local.is_null()) else { return Err(b"no memory") };
            if ngx_parse_addr_port(self.pool(), local, data, addr.len()) != NGX_OK as ngx_int_t {
                return Err(b"parse addr port failed");
            }
            (*local).name = ngx_str_t { len: addr.len(), data };
            (*(*s).upstream).peer.local = local;
        }
        Ok(())
    }
}

/// `len` bytes at `p`, which lives for `'s` (empty for null).
///
/// # Safety
/// `p` is null or points at `len` bytes valid for `'s`.
unsafe fn bytes_of<'s>(p: *const u8, len: usize) -> &'s [u8] {
    if p.is_null() || len == 0 {
        &[]
    } else {
        // SAFETY: the caller's contract.
        unsafe { std::slice::from_raw_parts(p, len) }
    }
}
