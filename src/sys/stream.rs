//! `StreamSession`: a safe handle on a live nginx stream session for the length of one nginx
//! callback (a phase handler, a balancer hook), with the few things the phase handlers do to
//! it directly: its configuration slots, log, preread buffer, phase engine and finalization.

use std::ffi::c_void;
use std::marker::PhantomData;
use std::ptr::{self, NonNull};

use super::conf::ConfSlot;
use super::conn::Conn;
use super::ngx::*;

/// Not `Copy`: `finalize_session` consumes it, since the session may be freed there.
pub struct StreamSession<'a> {
    s: NonNull<ngx_stream_session_t>,
    _s: PhantomData<&'a mut ngx_stream_session_t>,
}

/// Phase handlers get the live session nginx runs them for; the handle lives for the call.
impl super::export::CallbackArg for StreamSession<'_> {
    type Raw = *mut ngx_stream_session_t;

    unsafe fn from_callback(raw: *mut ngx_stream_session_t) -> Option<Self> {
        // SAFETY: the trait's contract: nginx calls phase handlers with a live session.
        unsafe { StreamSession::from_raw(raw) }
    }
}

impl<'a> StreamSession<'a> {
    /// # Safety
    /// `s` is null or a live stream session (with its connection) that stays live while the
    /// handle is used: the handle must not outlive the callback that received `s`, nor be used
    /// after `finalize`.
    pub unsafe fn from_raw(s: *mut ngx_stream_session_t) -> Option<StreamSession<'a>> {
        NonNull::new(s).map(|s| StreamSession { s, _s: PhantomData })
    }

    /// For nginx and runtime functions that take the session.
    pub fn as_ptr(&self) -> *mut ngx_stream_session_t {
        self.s.as_ptr()
    }

    fn raw(&self) -> &ngx_stream_session_t {
        // SAFETY: the session is live (from_raw's contract).
        unsafe { self.s.as_ref() }
    }

    /// The session's client connection.
    pub fn connection(&self) -> *mut ngx_connection_t {
        self.raw().connection
    }

    /// The connection's log.
    pub fn log(&self) -> Log {
        // SAFETY: a live session's connection has a log that lives as long as it.
        unsafe { Log::from_raw((*self.connection()).log) }.expect("a stream connection has a log")
    }

    /// The module's server configuration of the session's server.
    pub fn srv_conf<T: ConfSlot>(&self) -> Option<&'a T> {
        // SAFETY: every session carries the server confs of all stream modules; ours holds a
        // T (ConfSlot's contract) and lives as long as the cycle.
        unsafe { (*self.raw().srv_conf.add(T::ctx_index()) as *const T).as_ref() }
    }

    /// The module's main configuration, read-only (a session's VM and handlers).
    pub fn main_conf<T: ConfSlot>(&self) -> Option<&'a T> {
        // SAFETY: as srv_conf, for the main confs.
        unsafe { (*self.raw().main_conf.add(T::ctx_index()) as *const T).as_ref() }
    }

    /// The first `n` bytes of nginx's preread buffer, when that many have arrived.
    pub fn peeked(&self, n: usize) -> Option<&'a [u8]> {
        // SAFETY: the connection's buffer, when set, holds unread bytes in [pos, last) and lives
        // as long as the connection.
        unsafe {
            let b = (*self.connection()).buffer;
            if b.is_null() || ((*b).last.offset_from((*b).pos) as usize) < n {
                return None;
            }
            Some(std::slice::from_raw_parts((*b).pos, n))
        }
    }

    /// The session's context slot of the stream module numbered `index` (`s->ctx[index]`).
    pub fn ctx(&self, index: usize) -> *mut c_void {
        // SAFETY: s->ctx has one slot per stream module (the index is checked).
        unsafe { *self.raw().ctx.add(checked_module_index(index)) }
    }

    /// Sets that slot.
    pub fn set_ctx(&self, index: usize, p: *mut c_void) {
        // SAFETY: as `ctx`; the slot is the module's own.
        unsafe { *self.raw().ctx.add(checked_module_index(index)) = p }
    }

    /// Moves `value` into the connection's pool: it lives, and is dropped, with the session.
    pub fn own<P: super::recycled::RawOwner>(&self, value: P) -> Option<*mut P::Target> {
        // SAFETY: a live session's connection has its pool.
        unsafe { pool_own((*self.connection()).pool, value) }
    }

    /// `ngx_stream_finalize_session`: the handle must not be used afterwards.
    pub fn finalize_session(self, rc: ngx_uint_t) {
        // SAFETY: the session is live; the caller drops the handle (it is finalized).
        unsafe { ngx_stream_finalize_session(self.as_ptr(), rc) }
    }

    /// Runs the session's phases again from its current handler, with nginx's own handler on
    /// the client's write events (a phase handler that waited is done). The session may end
    /// there, so the handle is consumed.
    pub fn run_phases(self) {
        // SAFETY: the session and its connection are live; nginx's phase runner takes it.
        unsafe {
            (*(*self.connection()).write).handler = Some(ngx_stream_session_handler);
            ngx_stream_core_run_phases(self.as_ptr());
        }
    }

    /// Moves the running phase handler behind the other handlers of its phase group. Returns
    /// true when it moved, so the caller lets the next handler run.
    pub fn postpone_to_phase_end(&self) -> bool {
        // SAFETY: a plain read of the core module's index, set by nginx.
        let core = unsafe { (*ptr::addr_of!(ngx_stream_core_module)).ctx_index };
        // SAFETY: the stream core's phase engine is a flat array; the running handler (at
        // s->phase_handler) and its group's end (`next` - 1) are inside it, and nothing else
        // reads the array while we reorder it.
        unsafe {
            let s = self.s.as_ptr();
            let cmcf = *(*s).main_conf.add(core) as *mut ngx_stream_core_main_conf_t;
            let ph = (*cmcf).phase_engine.handlers;
            let cur = ph.add((*s).phase_handler as usize);
            let last = ph.add((*cur).next - 1);
            if cur >= last {
                return false;
            }
            let tmp = ptr::read(cur);
            ptr::copy(cur.add(1), cur, last.offset_from(cur) as usize);
            ptr::write(last, tmp);
            (*s).phase_handler -= 1; // the checker's ++ lands on the handler now at this index
            true
        }
    }
}

/// `index`, when it names a stream module (a slot of `s->ctx`); panics otherwise.
fn checked_module_index(index: usize) -> usize {
    // SAFETY: a plain read of a count nginx sets while it reads the configuration.
    let max = unsafe { ngx_stream_max_module };
    assert!(index < max, "stream module index {index} out of range");
    index
}

/// The nginx stream session a Lua context is attached to, as that context holds it (empty
/// for a context without one: a timer's). The context lives in the session's connection pool
/// and is dropped by its cleanup, so the session outlives the context and the handle in it.
#[derive(Clone, Copy, Default)]
pub struct HostSession(Option<NonNull<ngx_stream_session_t>>);

impl HostSession {
    /// # Safety
    /// `s` is null or a live stream session that outlives whatever holds the handle.
    pub unsafe fn new(s: *mut ngx_stream_session_t) -> HostSession {
        HostSession(NonNull::new(s))
    }

    pub fn is_none(self) -> bool {
        self.0.is_none()
    }

    pub fn as_ptr(self) -> *mut ngx_stream_session_t {
        self.0.map_or(ptr::null_mut(), NonNull::as_ptr)
    }

    /// The session's variables, status and peers.
    pub fn info(&self) -> Option<StreamInfo<'_>> {
        // SAFETY: live while the holder is (new's contract).
        unsafe { StreamInfo::from_raw(self.as_ptr()) }
    }

    /// The session as its phase code works on it.
    pub fn stream(&self) -> Option<StreamSession<'_>> {
        // SAFETY: as above.
        unsafe { StreamSession::from_raw(self.as_ptr()) }
    }

    /// Its client connection (null when there is no session).
    pub fn connection(self) -> *mut ngx_connection_t {
        self.stream().map_or(ptr::null_mut(), |s| s.connection())
    }

    /// Its client connection as a handle.
    pub fn conn(self) -> Option<Conn> {
        // SAFETY: a live session's connection lives as long as it.
        unsafe { Conn::from_raw(self.connection()) }
    }

    /// Its connection's log (null when there is no session).
    pub fn log(self) -> *mut ngx_log_t {
        let c = self.connection();
        if c.is_null() {
            return ptr::null_mut();
        }
        // SAFETY: a live session's connection lives as long as it.
        unsafe { (*c).log }
    }
}

// ---- variables, status, upstream peers ----

/// A view of a live stream session that cannot end it (what Lua-facing code gets from our
/// `Session`): its variables, status, start time and upstream peer settings.
#[derive(Clone, Copy)]
pub struct StreamInfo<'s>(NonNull<ngx_stream_session_t>, PhantomData<&'s ngx_stream_session_t>);

impl<'s> StreamInfo<'s> {
    /// # Safety
    /// `s` is null or a live stream session that outlives `'s`.
    pub unsafe fn from_raw(s: *mut ngx_stream_session_t) -> Option<StreamInfo<'s>> {
        NonNull::new(s).map(|p| StreamInfo(p, PhantomData))
    }

    pub fn as_ptr(&self) -> *mut ngx_stream_session_t {
        self.0.as_ptr()
    }

    fn raw(&self) -> &'s ngx_stream_session_t {
        // SAFETY: live for 's (from_raw's contract).
        unsafe { &*self.0.as_ptr() }
    }

    fn connection(&self) -> *mut ngx_connection_t {
        self.raw().connection
    }

    /// The status code the session ends with.
    pub fn status(&self) -> ngx_uint_t {
        self.raw().status
    }

    /// When the session started: seconds and milliseconds.
    pub fn start_time(&self) -> (i64, i64) {
        let s = self.raw();
        (s.start_sec, s.start_msec as i64)
    }

    /// The value of variable `name` (lowercased into `lowcase`, at least as long as `name`):
    /// `None` when there is no such variable or it has no value here.
    #[inline]
    pub fn variable(&self, name: &[u8], lowcase: &mut [u8]) -> Option<&'s [u8]> {
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
            Some(crate::sys::cbuf::bytes_in((*vv).data, value_len(vv)))
        }
    }

    /// Sets changeable variable `name` (lowercased into `lowcase`) to `value` (`None`: not
    /// found), copied into the session's pool; the error text on failure.
    pub fn set_variable(&self, name: &[u8], lowcase: &mut [u8], value: Option<&[u8]>) -> Result<(), String> {
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
pub type AddrError = &'static std::ffi::CStr;

impl<'s> StreamInfo<'s> {
    fn pool(&self) -> *mut ngx_pool_t {
        // SAFETY: a live session has a live connection with its pool.
        unsafe { (*self.connection()).pool }
    }

    /// A copy of `b` in the session's pool (at least one byte allocated).
    fn pool_copy(&self, b: &[u8]) -> Option<*mut u8> {
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
    pub fn has_upstream(&self) -> bool {
        !self.raw().upstream.is_null()
    }

    /// `addr` (an IP address, with or without a port; names are not resolved) as a peer of
    /// the upstream, with `port` when it has none (cut to 16 bits, as nginx's).
    pub fn parse_peer(&self, addr: &[u8], port: i32) -> Result<PeerAddr, AddrError> {
        let data = self.pool_copy(addr).ok_or(c"no memory")?;
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
                    c"invalid address"
                } else {
                    // SAFETY: ngx_parse_url only sets err to string literals of nginx's.
                    std::ffi::CStr::from_ptr(url.err)
                });
            }
            if url.addrs.is_null() || (*url.addrs).sockaddr.is_null() {
                return Err(c"no host allowed");
            }
            let a = &mut *url.addrs;
            Ok(PeerAddr { sockaddr: a.sockaddr, socklen: a.socklen, name: &mut a.name })
        }
    }

    /// Makes the upstream connection bind to local address `addr` (with an optional port).
    pub fn bind_upstream_local(&self, addr: &[u8]) -> Result<(), &'static [u8]> {
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

/// The `len:28` bitfield of a variable value, read as the one word it sits in: bindgen's
/// getter assembles it byte by byte (~25 instructions on every `ngx.var` read).
///
/// # Safety
/// `v` points at a live variable value.
#[inline(always)]
unsafe fn value_len(v: *const ngx_variable_value_t) -> usize {
    #[cfg(target_endian = "little")]
    {
        // SAFETY: the bitfield unit is the struct's first 4 bytes (u32-aligned, repr(C)); with
        // the little-endian C bitfield layout `len` is its low 28 bits.
        let len = (unsafe { v.cast::<u32>().read() } & 0x0FFF_FFFF) as usize;
        // SAFETY: as above.
        debug_assert_eq!(len, unsafe { (*v).len() } as usize);
        len
    }
    #[cfg(not(target_endian = "little"))]
    {
        // SAFETY: the caller's contract.
        unsafe { (*v).len() as usize }
    }
}
