//! `lua_capture_error_log`: the ring buffer that keeps the newest error log messages of the
//! process and the hook that feeds it (`api/errlog.rs` reads it for `ngx.errlog`).
//!
//! OpenResty feeds its buffer from a patch in nginx's core logger. Stock nginx has no such
//! hook, so the module puts a log *writer* node (the mechanism of `error_log memory:` and
//! syslog) at the head of every error log chain of the cycle: the main `error_log` and each
//! stream server's. A head node sees every message that passes the chain's level check, once
//! per message, which is what the core patch sees. The node keeps the head's level, so
//! nothing more is formatted than before.
//!
//! The buffer lives in the configuration pool, like upstream's, one copy per process (each
//! worker captures its own messages).

use std::ffi::c_void;
use std::ptr::{self, NonNull};

use crate::sys::ngx::*;

/// Bytes in front of each message: its time (f64), length (u32) and level (u32).
const HEADER: usize = 16;

/// The ring buffer of captured messages. Messages are stored whole, oldest first, each
/// behind a header; when the end of the buffer is reached, writing starts again at the
/// beginning (the old messages beyond that point are then readable up to `sentinel`), and
/// the oldest messages are dropped to make room.
#[repr(C)]
pub struct RingBuf {
    /// Messages less severe than this (a greater level) are not kept.
    pub filter_level: ngx_uint_t,
    data: *mut u8,
    size: usize,
    /// Where the oldest message starts.
    head: usize,
    /// Where the next message goes.
    tail: usize,
    /// End of the stored data before `tail` wrapped to the beginning.
    sentinel: usize,
    /// Messages stored.
    count: usize,
}

/// One message taken out of the buffer.
pub struct Entry {
    pub level: u32,
    pub time: f64,
    /// Offset and length of the text in the buffer.
    pub start: usize,
    pub len: usize,
}

impl RingBuf {
    /// A buffer of `size` bytes in `pool` (freed with the pool, no cleanup needed).
    pub fn alloc(pool: *mut ngx_pool_t, size: usize) -> Option<NonNull<RingBuf>> {
        // SAFETY: pool is the live configuration pool; both blocks are plain bytes owned by it.
        unsafe {
            let rb = ngx_palloc(pool, std::mem::size_of::<RingBuf>()) as *mut RingBuf;
            let data = ngx_palloc(pool, size) as *mut u8;
            if rb.is_null() || data.is_null() {
                return None;
            }
            rb.write(RingBuf {
                filter_level: NGX_LOG_DEBUG as ngx_uint_t,
                data,
                size,
                head: 0,
                tail: 0,
                sentinel: size,
                count: 0,
            });
            NonNull::new(rb)
        }
    }

    fn buf(&mut self) -> &mut [u8] {
        // SAFETY: data points at `size` bytes owned by this buffer for its whole life.
        unsafe { std::slice::from_raw_parts_mut(self.data, self.size) }
    }

    fn reset(&mut self) {
        self.head = 0;
        self.tail = 0;
        self.sentinel = self.size;
        self.count = 0;
    }

    /// Contiguous room at `tail`.
    fn free_space(&self) -> usize {
        if self.count == 0 {
            self.size
        } else if self.tail > self.head {
            self.size - self.tail
        } else {
            self.head - self.tail
        }
    }

    /// After `head` moved: past the stored data or too close to the end for a header, the
    /// next message is at the beginning.
    fn settle_head(&mut self) {
        if self.size - self.head < HEADER || self.head >= self.sentinel {
            self.head = 0;
        }
    }

    fn header_at(&mut self, at: usize) -> (f64, usize, u32) {
        let h = &self.buf()[at..at + HEADER];
        let time = f64::from_ne_bytes(h[0..8].try_into().unwrap_or_default());
        let len = u32::from_ne_bytes(h[8..12].try_into().unwrap_or_default()) as usize;
        let level = u32::from_ne_bytes(h[12..16].try_into().unwrap_or_default());
        (time, len, level)
    }

    fn drop_oldest(&mut self) {
        if self.count == 0 {
            return;
        }
        let (_, len, _) = self.header_at(self.head);
        self.head += HEADER + len;
        self.count -= 1;
        if self.count == 0 {
            self.reset();
        }
        self.settle_head();
    }

    /// Stores a message, dropping the oldest ones as needed; a message bigger than the whole
    /// buffer is not kept.
    pub fn push(&mut self, level: u32, time: f64, msg: &[u8]) {
        let need = HEADER + msg.len();
        if need > self.size {
            return;
        }
        if self.free_space() < need {
            if self.size - self.tail < need {
                // no room before the end: what lies after tail goes, writing restarts at 0
                while self.count > 0 && self.head >= self.tail {
                    self.drop_oldest();
                }
                self.sentinel = self.tail;
                self.tail = 0;
            }
            while self.free_space() < need {
                self.drop_oldest();
            }
        }
        let at = self.tail;
        let b = self.buf();
        b[at..at + 8].copy_from_slice(&time.to_ne_bytes());
        b[at + 8..at + 12].copy_from_slice(&(msg.len() as u32).to_ne_bytes());
        b[at + 12..at + 16].copy_from_slice(&level.to_ne_bytes());
        b[at + HEADER..at + need].copy_from_slice(msg);
        self.tail += need;
        self.count += 1;
        if self.tail > self.sentinel {
            self.sentinel = self.tail;
        }
    }

    /// Takes the oldest message out. Its text stays in place until the next `push`.
    pub fn pop(&mut self) -> Option<Entry> {
        if self.count == 0 || self.head >= self.sentinel {
            return None;
        }
        let (time, len, level) = self.header_at(self.head);
        let start = self.head + HEADER;
        self.head = start + len;
        self.count -= 1;
        if self.count == 0 {
            self.reset();
        }
        self.settle_head();
        Some(Entry { level, time, start, len })
    }

    pub fn text_ptr(&self, at: usize) -> *mut u8 {
        // SAFETY: at is within the buffer (an entry's start).
        unsafe { self.data.add(at) }
    }
}

/// The log writer of the head node of each hooked chain: keeps the message (without its
/// line feed) if it is at least as severe as the filter level.
unsafe extern "C" fn capture_writer(log: *mut ngx_log_t, level: ngx_uint_t, buf: *mut u8, len: usize) {
    guard((), || {
        // SAFETY: nginx passes the node we set up (wdata is its cycle's buffer) and the
        // formatted line.
        unsafe {
            let rb = (*log).wdata as *mut RingBuf;
            if rb.is_null() || buf.is_null() {
                return;
            }
            let rb = &mut *rb;
            if level > rb.filter_level {
                return;
            }
            let mut msg = std::slice::from_raw_parts(buf, len);
            if let Some(stripped) = msg.strip_suffix(b"\n") {
                msg = stripped;
            }
            let tp = ngx_cached_time;
            let time = (*tp).sec as f64 + (*tp).msec as f64 / 1000.0;
            rb.push(level as u32, time, msg);
        }
    })
}

fn is_capture_writer(w: ngx_log_writer_pt) -> bool {
    let ours: unsafe extern "C" fn(*mut ngx_log_t, ngx_uint_t, *mut u8, usize) = capture_writer;
    w.is_some_and(|f| std::ptr::fn_addr_eq(f, ours))
}

/// Puts a capturing node at the head of the chain `head` (whose address others keep, so
/// the old head's contents move to a new node behind it).
unsafe fn hook_chain(pool: *mut ngx_pool_t, head: *mut ngx_log_t, rb: *mut RingBuf) -> bool {
    // SAFETY: head is a log chain of the cycle being initialised; pool is its pool.
    unsafe {
        if head.is_null() || is_capture_writer((*head).writer) {
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
        (*head).writer = Some(capture_writer);
        (*head).wdata = rb as *mut c_void;
        (*head).next = moved;
        (*cln).handler = Some(unhook_chain);
        (*cln).data = head as *mut c_void;
        true
    }
}

/// Gives a hooked chain's head its old contents back.
unsafe extern "C" fn unhook_chain(data: *mut c_void) {
    guard((), || {
        let head = data as *mut ngx_log_t;
        // SAFETY: data is a head hook_chain set up in this pool; its old contents are in the
        // node behind it (same pool, still allocated while cleanups run).
        unsafe {
            if !head.is_null() && is_capture_writer((*head).writer) && !(*head).next.is_null() {
                ptr::copy_nonoverlapping((*head).next, head, 1);
            }
        }
    })
}

/// Called as the cycle's modules are initialised (configuration read, listening sockets
/// configured, workers not started): with `lua_capture_error_log`, hooks the cycle's error
/// log chains.
pub unsafe fn init_cycle(cycle: *mut ngx_cycle_t, ctx: *mut ngx_stream_conf_ctx_t, rb: *mut RingBuf) -> Result<(), ()> {
    // SAFETY: cycle is the cycle nginx is initialising, ctx its stream block's confs; its
    // configuration is complete.
    unsafe {
        if ngx_test_config != 0 || ngx_process == NGX_PROCESS_SIGNALLER as ngx_uint_t {
            return Ok(());
        }
        let pool = (*cycle).pool;
        let mut ok = hook_chain(pool, &mut (*cycle).new_log, rb);
        let core = ngx_stream_core_module.ctx_index;
        let main_srv = *(*ctx).srv_conf.add(core) as *mut ngx_stream_core_srv_conf_t;
        if !main_srv.is_null() {
            ok &= hook_chain(pool, (*main_srv).error_log, rb);
        }
        let cmcf = *(*ctx).main_conf.add(core) as *mut ngx_stream_core_main_conf_t;
        let servers = std::slice::from_raw_parts(
            (*cmcf).servers.elts as *const *mut ngx_stream_core_srv_conf_t,
            (*cmcf).servers.nelts,
        );
        for &cscf in servers {
            ok &= hook_chain(pool, (*cscf).error_log, rb);
        }
        // listening sockets took a copy of their chain's head already: take it again
        let ls =
            std::slice::from_raw_parts_mut((*cycle).listening.elts as *mut ngx_listening_t, (*cycle).listening.nelts);
        for l in ls {
            if !l.logp.is_null() && is_capture_writer((*l.logp).writer) && !is_capture_writer(l.log.writer) {
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
