//! The raw side of `lua_capture_error_log`: bytes and values placed in the configuration pool,
//! and a log *writer* node put at the head of every error log chain of a cycle, which hands
//! each message to a `LogSink` (the runtime's ring buffer).
//!
//! Stock nginx has no hook in its core logger, so the writer node (the mechanism of
//! `error_log memory:` and syslog) stands in for it: the head of a chain sees every message
//! that passes the chain's level check, once. The node keeps the head's level, so nothing
//! more is formatted than before.

use std::ffi::c_void;
use std::ptr::{self, NonNull};

use super::conf::Conf;
use super::ngx::*;

/// A block of bytes in a configuration pool, freed with the pool (no cleanup).
pub struct PoolBytes {
    data: NonNull<u8>,
    size: usize,
}

impl PoolBytes {
    pub fn bytes_mut(&mut self) -> &mut [u8] {
        // SAFETY: data points at `size` bytes of a pool that outlives the block's owner (the
        // cycle's configuration), zeroed when allocated; &mut self is the only way to them.
        unsafe { std::slice::from_raw_parts_mut(self.data.as_ptr(), self.size) }
    }

    /// The address of byte `at`, for C callers that read the bytes there (never dereferenced
    /// here).
    pub fn ptr_at(&self, at: usize) -> *mut u8 {
        assert!(at <= self.size, "an offset in the block");
        self.data.as_ptr().wrapping_add(at)
    }
}

impl Conf<'_> {
    /// `size` zeroed bytes in the configuration pool.
    pub fn alloc_bytes(&self, size: usize) -> Option<PoolBytes> {
        // SAFETY: the parser's pool is live while the handle is; ngx_pcalloc returns `size`
        // zeroed bytes owned by the pool, or null.
        let data = NonNull::new(unsafe { ngx_pcalloc(self.pool(), size) } as *mut u8)?;
        Some(PoolBytes { data, size })
    }

    /// `value` placed in the configuration pool, for the cycle's life; it is never dropped
    /// (the pool frees its memory only): give it nothing that needs a drop.
    pub fn alloc_value<T>(&self, value: T) -> Option<NonNull<T>> {
        // SAFETY: as alloc_bytes; ngx_palloc aligns to the pointer size, enough for the
        // plain records placed here (checked).
        let p = NonNull::new(unsafe { ngx_palloc(self.pool(), std::mem::size_of::<T>()) } as *mut T)?;
        assert!(std::mem::align_of::<T>() <= std::mem::size_of::<usize>(), "pool alignment");
        // SAFETY: p is fresh room for a T.
        unsafe { p.as_ptr().write(value) };
        Some(p)
    }
}

/// Where a hooked chain's messages go.
pub trait LogSink: 'static {
    /// A message of `level` (its line feed removed) that passed the chain's level check.
    fn write(&mut self, level: ngx_uint_t, msg: &[u8]);
}

/// The writer of the head node of each hooked chain: hands the message to the sink.
unsafe extern "C" fn capture_writer<S: LogSink>(log: *mut ngx_log_t, level: ngx_uint_t, buf: *mut u8, len: usize) {
    guard((), || {
        // SAFETY: nginx passes the node hook_chain set up (wdata is the sink given to
        // hook_error_logs, which lives as long as the cycle) and the formatted line; nginx
        // runs writers only from its logging, where no other borrow of the sink is alive.
        unsafe {
            let sink = (*log).wdata as *mut S;
            if sink.is_null() || buf.is_null() {
                return;
            }
            let mut msg = std::slice::from_raw_parts(buf, len);
            if let Some(stripped) = msg.strip_suffix(b"\n") {
                msg = stripped;
            }
            (*sink).write(level, msg);
        }
    })
}

fn is_capture_writer<S: LogSink>(w: ngx_log_writer_pt) -> bool {
    let ours: unsafe extern "C" fn(*mut ngx_log_t, ngx_uint_t, *mut u8, usize) = capture_writer::<S>;
    w.is_some_and(|f| std::ptr::fn_addr_eq(f, ours))
}

/// Puts a capturing node at the head of the chain `head` (whose address others keep, so
/// the old head's contents move to a new node behind it).
///
/// # Safety
/// `head` is null or a log chain of the cycle being initialised; `pool` is its pool; `sink`
/// lives as long as the pool.
unsafe fn hook_chain<S: LogSink>(pool: *mut ngx_pool_t, head: *mut ngx_log_t, sink: NonNull<S>) -> bool {
    // SAFETY: the caller's contract.
    unsafe {
        if head.is_null() || is_capture_writer::<S>((*head).writer) {
            return true;
        }
        let moved = ngx_palloc(pool, std::mem::size_of::<ngx_log_t>()) as *mut ngx_log_t;
        // undone when the pool goes: cleanups run newest first, so before the one that
        // unloads this module (registered by load_module), whose code the writer is
        let cln = ngx_pool_cleanup_add(pool, 0);
        if moved.is_null() || cln.is_null() {
            return false;
        }
        ptr::copy_nonoverlapping(head, moved, 1);
        (*head).writer = Some(capture_writer::<S>);
        (*head).wdata = sink.as_ptr() as *mut c_void;
        (*head).next = moved;
        (*cln).handler = Some(unhook_chain::<S>);
        (*cln).data = head as *mut c_void;
        true
    }
}

/// Gives a hooked chain's head its old contents back.
unsafe extern "C" fn unhook_chain<S: LogSink>(data: *mut c_void) {
    guard((), || {
        let head = data as *mut ngx_log_t;
        // SAFETY: data is a head hook_chain set up in this pool; its old contents are in the
        // node behind it (same pool, still allocated while cleanups run).
        unsafe {
            if !head.is_null() && is_capture_writer::<S>((*head).writer) && !(*head).next.is_null() {
                ptr::copy_nonoverlapping((*head).next, head, 1);
            }
        }
    })
}

/// Hooks the error log chains of `cycle` (its main `error_log`, the stream block's and each
/// stream server's) so that `sink` gets their messages; nothing in `nginx -t` or a signaller.
/// Err when the pool ran out.
///
/// # Safety
/// `cycle` is the cycle nginx is initialising (configuration read, listening sockets set up,
/// workers not started), `ctx` its stream block, and `sink` lives in its pool.
pub unsafe fn hook_error_logs<S: LogSink>(
    cycle: *mut ngx_cycle_t,
    ctx: *mut ngx_stream_conf_ctx_t,
    sink: NonNull<S>,
) -> Result<(), ()> {
    // SAFETY: the caller's contract; the core module's confs of a loaded stream block are
    // set, and its server list holds its servers' core confs.
    unsafe {
        if ngx_test_config != 0 || ngx_process == NGX_PROCESS_SIGNALLER as ngx_uint_t {
            return Ok(());
        }
        let pool = (*cycle).pool;
        let mut ok = hook_chain(pool, &mut (*cycle).new_log, sink);
        let core = ngx_stream_core_module.ctx_index;
        let main_srv = *(*ctx).srv_conf.add(core) as *mut ngx_stream_core_srv_conf_t;
        if !main_srv.is_null() {
            ok &= hook_chain(pool, (*main_srv).error_log, sink);
        }
        let cmcf = *(*ctx).main_conf.add(core) as *mut ngx_stream_core_main_conf_t;
        let servers = match (*cmcf).servers.nelts {
            0 => &[][..],
            n => std::slice::from_raw_parts((*cmcf).servers.elts as *const *mut ngx_stream_core_srv_conf_t, n),
        };
        for &cscf in servers {
            ok &= hook_chain(pool, (*cscf).error_log, sink);
        }
        // listening sockets took a copy of their chain's head already: take it again
        let ls = match (*cycle).listening.nelts {
            0 => &mut [][..],
            n => std::slice::from_raw_parts_mut((*cycle).listening.elts as *mut ngx_listening_t, n),
        };
        for l in ls {
            if !l.logp.is_null() && is_capture_writer::<S>((*l.logp).writer) && !is_capture_writer::<S>(l.log.writer) {
                l.log = *l.logp;
            }
        }
        if ok {
            Ok(())
        } else {
            Err(())
        }
    }
}
