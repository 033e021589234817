//! Host names of cosocket peers, resolved through the `resolver` of the session's server
//! (nginx's asynchronous resolver): the asking thread waits, and the answer (a sockaddr with
//! the port set, or upstream's error text) goes to the caller's `done` function.

use std::ffi::c_void;
use std::ptr;

use crate::runtime::session::Session;
use crate::runtime::thread::Thread;
use crate::sys::*;

/// What the caller does with the answer of a resolution that had to wait.
pub type Done = unsafe fn(*mut Session, *mut Thread, *mut c_void, Result<Vec<u8>, String>);
/// Tells the caller a wait was cancelled (the thread was killed or the session ended).
pub type Cancelled = unsafe fn(*mut c_void);

pub enum Resolve {
    /// The thread must yield; `done` is called later.
    Waiting,
    /// Answered at once (from the resolver's cache, or an error).
    Ready(Result<Vec<u8>, String>),
}

struct Wait {
    sess: *mut Session,
    thread: *mut Thread,
    data: *mut c_void,
    done: Done,
    cancelled: Cancelled,
    host: Vec<u8>,
    port: u16,
    ctx: *mut ngx_resolver_ctx_t,
    /// Still inside `start`: an answer is kept for it instead of going to `done`.
    starting: bool,
    answer: Option<Result<Vec<u8>, String>>,
}

/// The server configuration whose resolver serves `sess` (timers use the first server's).
unsafe fn core_srv_conf(sess: &Session) -> *mut ngx_stream_core_srv_conf_t {
    // SAFETY: a live session's confs, or the cycle's stream confs.
    unsafe {
        if !sess.s.is_null() {
            return *(*sess.s).srv_conf.add(ngx_stream_core_module.ctx_index) as *mut ngx_stream_core_srv_conf_t;
        }
        let Some(ctx) = crate::conf::stream_conf_ctx(ngx_cycle) else { return ptr::null_mut() };
        let cmcf = *(*ctx).main_conf.add(ngx_stream_core_module.ctx_index) as *mut ngx_stream_core_main_conf_t;
        if (*cmcf).servers.nelts == 0 {
            return ptr::null_mut();
        }
        *((*cmcf).servers.elts as *mut *mut ngx_stream_core_srv_conf_t)
    }
}

/// Starts resolving `host` for the running thread of `sess`.
pub unsafe fn start(
    sess: *mut Session,
    host: &[u8],
    port: u16,
    data: *mut c_void,
    done: Done,
    cancelled: Cancelled,
) -> Resolve {
    let shown = String::from_utf8_lossy(host).into_owned();
    // SAFETY: sess is the running session; the wait box lives until answered or cancelled.
    unsafe {
        let cscf = core_srv_conf(&*sess);
        if cscf.is_null() || (*cscf).resolver.is_null() {
            return Resolve::Ready(Err(format!("no resolver defined to resolve \"{shown}\"")));
        }
        let mut wait = Box::new(Wait {
            sess,
            thread: (*sess).cur,
            data,
            done,
            cancelled,
            host: host.to_vec(),
            port,
            ctx: ptr::null_mut(),
            starting: true,
            answer: None,
        });
        let mut temp: ngx_resolver_ctx_t = std::mem::zeroed();
        temp.name = ngx_str_t { len: wait.host.len(), data: wait.host.as_mut_ptr() };
        let ctx = ngx_resolve_start((*cscf).resolver, &mut temp);
        if ctx.is_null() {
            return Resolve::Ready(Err("failed to start the resolver".into()));
        }
        if ctx as isize == -1 {
            // NGX_NO_RESOLVER
            return Resolve::Ready(Err(format!("no resolver defined to resolve \"{shown}\"")));
        }
        (*ctx).name = ngx_str_t { len: wait.host.len(), data: wait.host.as_mut_ptr() };
        (*ctx).handler = Some(on_resolved);
        (*ctx).timeout = (*cscf).resolver_timeout;
        wait.ctx = ctx;
        let w = Box::into_raw(wait);
        (*ctx).data = w as *mut c_void;
        if ngx_resolve_name(ctx) != NGX_OK as isize {
            // nginx freed ctx
            drop(Box::from_raw(w));
            return Resolve::Ready(Err("failed to run the resolver".into()));
        }
        (*w).starting = false;
        if let Some(answer) = (*w).answer.take() {
            drop(Box::from_raw(w));
            return Resolve::Ready(answer);
        }
        let t = (*sess).cur;
        (*t).pending = Some(cancel);
        (*t).wait_obj = w as *mut c_void;
        Resolve::Waiting
    }
}

/// The answer of `ctx` as a sockaddr with our port, or upstream's error text.
unsafe fn answer(ctx: *mut ngx_resolver_ctx_t, host: &[u8], port: u16) -> Result<Vec<u8>, String> {
    // SAFETY: ctx is the finished resolution nginx hands us.
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
        // SAFETY: ctx->data is our wait box, live until here.
        unsafe {
            let w = (*ctx).data as *mut Wait;
            let res = answer(ctx, &(*w).host, (*w).port);
            ngx_resolve_name_done(ctx);
            (*w).ctx = ptr::null_mut();
            if (*w).starting {
                (*w).answer = Some(res);
                return;
            }
            let wait = Box::from_raw(w);
            (*wait.thread).pending = None;
            (*wait.thread).wait_obj = ptr::null_mut();
            (wait.done)(wait.sess, wait.thread, wait.data, res);
        }
    })
}

/// The handler of a query whose thread went away: nothing waits for the answer any more.
unsafe extern "C" fn on_abandoned(ctx: *mut ngx_resolver_ctx_t) {
    // SAFETY: the resolver hands back a query it no longer uses.
    guard((), || unsafe { ngx_resolve_name_done(ctx) })
}

unsafe fn cancel(_sess: *mut Session, t: *mut Thread) {
    // SAFETY: the thread's wait object is our wait box.
    unsafe {
        let w = (*t).wait_obj as *mut Wait;
        (*t).wait_obj = ptr::null_mut();
        if w.is_null() {
            return;
        }
        let wait = Box::from_raw(w);
        if !wait.ctx.is_null() {
            log_debug((*wait.sess).log(), "stream lua tcp socket abort resolver");
            // not ngx_resolve_name_done here: this may run inside the resolver's own loop over
            // the queries waiting for one answer (another thread woken by it kills this one),
            // which would then call a freed query. The resolver calls it as usual, and it is
            // let go then; its timer must not hold up a worker that is shutting down.
            let ctx = wait.ctx;
            (*ctx).handler = Some(on_abandoned);
            (*ctx).data = ptr::null_mut();
            if !(*ctx).event.is_null() {
                (*(*ctx).event).set_cancelable(1);
            }
        }
        (wait.cancelled)(wait.data);
    }
}
