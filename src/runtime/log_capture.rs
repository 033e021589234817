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

use std::ptr::NonNull;

use crate::sys::conf::Conf;
use crate::sys::log_hook::{hook_error_logs, LogSink, PoolBytes};
use crate::sys::ngx::*;

/// Bytes in front of each message: its time (f64), length (u32) and level (u32).
const HEADER: usize = 16;

/// The ring buffer of captured messages. Messages are stored whole, oldest first, each
/// behind a header; when the end of the buffer is reached, writing starts again at the
/// beginning (the old messages beyond that point are then readable up to `sentinel`), and
/// the oldest messages are dropped to make room.
pub struct RingBuf {
    /// Messages less severe than this (a greater level) are not kept.
    pub filter_level: ngx_uint_t,
    data: PoolBytes,
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
    /// A buffer of `size` bytes in the configuration pool (freed with it, no cleanup needed).
    pub fn alloc(cf: &Conf, size: usize) -> Option<NonNull<RingBuf>> {
        let data = cf.alloc_bytes(size)?;
        cf.alloc_value(RingBuf {
            filter_level: NGX_LOG_DEBUG as ngx_uint_t,
            data,
            size,
            head: 0,
            tail: 0,
            sentinel: size,
            count: 0,
        })
    }

    fn buf(&mut self) -> &mut [u8] {
        self.data.bytes_mut()
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

    /// Where the text at `at` (an entry's start) is, for the C caller that reads it.
    pub fn text_ptr(&self, at: usize) -> *mut u8 {
        self.data.ptr_at(at)
    }
}

/// The hooked chains' messages at least as severe as the filter level are kept, stamped with
/// nginx's cached time.
impl LogSink for RingBuf {
    fn write(&mut self, level: ngx_uint_t, msg: &[u8]) {
        if level > self.filter_level {
            return;
        }
        let (sec, msec, _) = crate::sys::clock::cached();
        let time = sec as f64 + msec as f64 / 1000.0;
        self.push(level as u32, time, msg);
    }
}

/// Called as the cycle's modules are initialised (configuration read, listening sockets
/// configured, workers not started): with `lua_capture_error_log`, hooks the cycle's error
/// log chains.
///
/// # Safety
/// `cycle` is the cycle nginx is initialising, `ctx` its stream block's confs (complete), and
/// `rb` a buffer `RingBuf::alloc` placed in its pool.
pub unsafe fn init_cycle(cycle: *mut ngx_cycle_t, ctx: *mut ngx_stream_conf_ctx_t, rb: *mut RingBuf) -> Result<(), ()> {
    let Some(rb) = NonNull::new(rb) else { return Ok(()) };
    // SAFETY: the caller's contract; the buffer lives in the cycle's pool.
    unsafe { hook_error_logs(cycle, ctx, rb) }
}
