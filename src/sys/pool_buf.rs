//! `PoolBuf`: a chain link and buffer of a stream session's pool holding the data of one
//! cosocket send, recycled through the session's list of free output buffers (shared with
//! `ngx.say`, as upstream: "lua reuse free buf memory" in the debug log).

use std::ptr::{self, NonNull};

use super::downstream::{get_free_buf, ChainList};
use super::ngx::*;
use super::stream::StreamInfo;

/// A buffer of a session's pool with the bytes of one send from its start. It is pool memory:
/// its owner keeps it only while that session lives, and lets go of it (drops it; nothing is
/// freed) when the session ends.
pub struct PoolBuf(NonNull<ngx_chain_t>);

impl StreamInfo<'_> {
    /// A buffer of the session's pool holding `data`: a recycled one from `free` (the
    /// session's free list) when big enough, else a new one. None when out of memory.
    pub fn pool_buf(&self, free: &mut ChainList, data: &[u8]) -> Option<PoolBuf> {
        let c = self.client_conn().as_ptr();
        // SAFETY: the session is live, and so are its connection, pool and log; `free` is the
        // session's list of this module's consumed buffers; the buffer got has room for data.
        unsafe {
            let cl = NonNull::new(get_free_buf((*c).pool, (*c).log, &mut free.0, data.len()))?;
            let b = (*cl.as_ptr()).buf;
            ptr::copy_nonoverlapping(data.as_ptr(), (*b).last, data.len());
            (*b).last = (*b).last.add(data.len());
            Some(PoolBuf(cl))
        }
    }
}

impl PoolBuf {
    /// The bytes of the send from `from` on.
    pub fn bytes_from(&self, from: usize) -> &[u8] {
        // SAFETY: the buffer lives while its session does (the owner's contract), and holds
        // the send's bytes between pos and last.
        unsafe {
            let b = (*self.0.as_ptr()).buf;
            let len = (*b).last.offset_from((*b).pos) as usize;
            let from = from.min(len);
            std::slice::from_raw_parts((*b).pos.add(from), len - from)
        }
    }

    /// Gives the buffer back, emptied, to `free` (the free list of the session it came from).
    pub fn give_back(self, free: &mut ChainList) {
        let cl = self.0.as_ptr();
        // SAFETY: cl is a link of the session's pool (live: the owner's contract).
        unsafe {
            let b = (*cl).buf;
            (*b).pos = (*b).start;
            (*b).last = (*b).start;
            (*cl).next = free.0;
        }
        free.0 = cl;
    }
}
