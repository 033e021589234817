//! Host names resolved through nginx's asynchronous resolver (the `resolver` of a stream
//! server). `Resolver` names a server's resolver; `resolve` asks it, and a `Query` is an answer
//! still to come, owned by whoever waits for it: dropping it abandons the query.

use std::ffi::c_void;
use std::ptr::{self, NonNull};

use super::ngx::*;
use super::stream::StreamInfo;

/// A sockaddr (with the port set) or upstream's error text.
pub type Answer = Result<Vec<u8>, String>;

/// What is called with the answer of a query that had to wait (`key` as given to `resolve`:
/// the asker's name in its table, so an asker that went is not found).
pub type OnAnswer = fn(key: u64, answer: Answer);

/// A stream server's resolver and its timeout (none when the server has no `resolver`).
#[derive(Clone, Copy)]
pub struct Resolver {
    r: Option<NonNull<ngx_resolver_t>>,
    timeout: ngx_msec_t,
}

fn core_index() -> usize {
    // SAFETY: a plain read of the core module's index, set by nginx before any session.
    unsafe { (*ptr::addr_of!(ngx_stream_core_module)).ctx_index }
}

impl Resolver {
    /// # Safety
    /// `cscf` is null or a core server conf, live as long as the cycle.
    unsafe fn of_core(cscf: *const ngx_stream_core_srv_conf_t) -> Resolver {
        // SAFETY: the caller's contract.
        match unsafe { cscf.as_ref() } {
            Some(c) => Resolver { r: NonNull::new(c.resolver), timeout: c.resolver_timeout },
            None => Resolver { r: None, timeout: 0 },
        }
    }

    /// The resolver of a session's server; without a session (timers), the first server's.
    pub fn of(stream: Option<StreamInfo>) -> Resolver {
        match stream {
            // SAFETY: a live session's core server conf lives as long as the cycle.
            Some(s) => unsafe { Resolver::of_core(super::conn_connect::core_srv_conf(s)) },
            // SAFETY: null, or the running cycle's first server's conf.
            None => unsafe { Resolver::of_core(first_core_srv_conf()) },
        }
    }
}

/// The core conf of the running cycle's first stream server (null when none).
fn first_core_srv_conf() -> *const ngx_stream_core_srv_conf_t {
    let Some(ctx) = super::conf::StreamCtx::running() else { return ptr::null() };
    // SAFETY: the core module's main conf lists its servers' core confs, live as long as the
    // cycle.
    unsafe {
        let cmcf = *(*ctx.as_ptr()).main_conf.add(core_index()) as *const ngx_stream_core_main_conf_t;
        if (*cmcf).servers.nelts == 0 {
            return ptr::null();
        }
        *((*cmcf).servers.elts as *const *const ngx_stream_core_srv_conf_t)
    }
}

/// The state of a query, boxed so that nginx can point at it.
struct State {
    ctx: *mut ngx_resolver_ctx_t,
    host: Vec<u8>,
    port: u16,
    /// Still inside `resolve`: an answer is kept for it instead of going to `on_answer`.
    starting: bool,
    answer: Option<Answer>,
    on_answer: OnAnswer,
    data: u64,
}

/// A query waiting for its answer; dropped, it is abandoned.
pub struct Query(*mut State);

pub enum Started {
    /// Answered at once (from the resolver's cache, or an error).
    Ready(Answer),
    /// The answer goes to `on_answer` later, unless the query is dropped first.
    Waiting(Query),
}

/// Resolves `host` through `resolver`; the answer's sockaddr gets `port`.
pub fn resolve(resolver: Resolver, host: &[u8], port: u16, on_answer: OnAnswer, data: u64) -> Started {
    let shown = String::from_utf8_lossy(host).into_owned();
    let Some(r) = resolver.r else {
        return Started::Ready(Err(format!("no resolver defined to resolve \"{shown}\"")));
    };
    let state = Box::into_raw(Box::new(State {
        ctx: ptr::null_mut(),
        host: host.to_vec(),
        port,
        starting: true,
        answer: None,
        on_answer,
        data,
    }));
    // SAFETY: the state box lives until answered or abandoned (Query's drop); the name nginx
    // points at is its host, which lives as long; nginx owns ctx from ngx_resolve_start on and
    // frees it on failure or in ngx_resolve_name_done.
    unsafe {
        let mut temp: ngx_resolver_ctx_t = std::mem::zeroed();
        temp.name = ngx_str_t { len: (*state).host.len(), data: (*state).host.as_mut_ptr() };
        let ctx = ngx_resolve_start(r.as_ptr(), &mut temp);
        if ctx.is_null() {
            drop(Box::from_raw(state));
            return Started::Ready(Err("failed to start the resolver".into()));
        }
        if ctx as isize == -1 {
            // NGX_NO_RESOLVER
            drop(Box::from_raw(state));
            return Started::Ready(Err(format!("no resolver defined to resolve \"{shown}\"")));
        }
        (*ctx).name = temp.name;
        (*ctx).handler = Some(on_resolved);
        (*ctx).timeout = resolver.timeout;
        (*ctx).data = state as *mut c_void;
        (*state).ctx = ctx;
        if ngx_resolve_name(ctx) != NGX_OK as isize {
            // nginx freed ctx
            drop(Box::from_raw(state));
            return Started::Ready(Err("failed to run the resolver".into()));
        }
        (*state).starting = false;
        if let Some(answer) = (*state).answer.take() {
            drop(Box::from_raw(state));
            return Started::Ready(answer);
        }
    }
    Started::Waiting(Query(state))
}

/// The answer of `ctx` as a sockaddr with `port`, or upstream's error text.
///
/// # Safety
/// `ctx` is a finished resolution nginx handed to its handler.
unsafe fn answer(ctx: *mut ngx_resolver_ctx_t, host: &[u8], port: u16) -> Answer {
    // SAFETY: the caller's contract: state, naddrs and addrs are set.
    unsafe {
        let state = (*ctx).state;
        if state != 0 {
            let why = std::ffi::CStr::from_ptr(ngx_resolver_strerror(state)).to_string_lossy().into_owned();
            return Err(format!("{} could not be resolved ({state}: {why})", String::from_utf8_lossy(host)));
        }
        if (*ctx).naddrs == 0 {
            return Err(format!("{} could not be resolved (3: Host not found)", String::from_utf8_lossy(host)));
        }
        let a = &*(*ctx).addrs;
        let mut sa = std::slice::from_raw_parts(a.sockaddr as *const u8, a.socklen as usize).to_vec();
        // the port sits at the same offset in sockaddr_in and sockaddr_in6
        let off = std::mem::offset_of!(libc::sockaddr_in, sin_port);
        if sa.len() >= off + 2 {
            sa[off..off + 2].copy_from_slice(&port.to_be_bytes());
        }
        Ok(sa)
    }
}

unsafe extern "C" fn on_resolved(ctx: *mut ngx_resolver_ctx_t) {
    guard((), || {
        // SAFETY: ctx->data is the query's state, live until answered or abandoned (an
        // abandoned query's handler is on_abandoned); nothing reads the state after on_answer,
        // which may drop the Query (freeing it).
        unsafe {
            let s = (*ctx).data as *mut State;
            let res = answer(ctx, &(*s).host, (*s).port);
            ngx_resolve_name_done(ctx);
            (*s).ctx = ptr::null_mut();
            if (*s).starting {
                (*s).answer = Some(res);
                return;
            }
            let (on_answer, data) = ((*s).on_answer, (*s).data);
            on_answer(data, res);
        }
    })
}

/// The handler of a query nobody waits for any more.
unsafe extern "C" fn on_abandoned(ctx: *mut ngx_resolver_ctx_t) {
    // SAFETY: the resolver hands back a query it no longer uses.
    guard((), || unsafe { ngx_resolve_name_done(ctx) })
}

impl Query {
    /// Whether the answer is still to come.
    pub fn pending(&self) -> bool {
        // SAFETY: the state lives as long as the Query.
        unsafe { !(*self.0).ctx.is_null() }
    }
}

impl Drop for Query {
    fn drop(&mut self) {
        // SAFETY: the state is ours (nginx's ctx points at it only while pending, and is
        // pointed away here).
        unsafe {
            let state = Box::from_raw(self.0);
            let ctx = state.ctx;
            if !ctx.is_null() {
                // not ngx_resolve_name_done here: this may run inside the resolver's own loop
                // over the queries waiting for one answer (another thread woken by it drops
                // this one), which would then call a freed query. The resolver calls it as
                // usual, and it is let go then; its timer must not hold up a worker that is
                // shutting down.
                (*ctx).handler = Some(on_abandoned);
                (*ctx).data = ptr::null_mut();
                if !(*ctx).event.is_null() {
                    (*(*ctx).event).set_cancelable(1);
                }
            }
        }
    }
}
