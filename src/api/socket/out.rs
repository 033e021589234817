//! The data of a TCP cosocket send in progress. As upstream, it is copied into a buffer
//! recycled through the session's list of free output buffers (shared with `ngx.say`), so a
//! send reuses the memory of an earlier one ("lua reuse free buf memory" in the debug log).
//! A session without a pool of its own (timers) keeps the data in a vector instead.

use std::ptr;

use crate::runtime::session::Session;
use crate::sys::*;

pub struct OutBuf {
    /// The recycled buffer, or null.
    cl: *mut ngx_chain_t,
    owned: Vec<u8>,
    /// Bytes of the send already gone, and its size.
    sent: usize,
    len: usize,
}

impl OutBuf {
    pub const fn new() -> OutBuf {
        OutBuf { cl: ptr::null_mut(), owned: Vec::new(), sent: 0, len: 0 }
    }

    /// Takes `data` as the next send of a socket of `sess` (a live session). False when no
    /// buffer could be allocated.
    pub unsafe fn fill(&mut self, sess: *mut Session, data: Vec<u8>) -> bool {
        // SAFETY: sess is live; its connection's pool outlives the buffer (see `release`).
        unsafe {
            self.release(sess);
            self.sent = 0;
            self.len = data.len();
            if (*sess).s.is_null() {
                self.owned = data;
                return true;
            }
            let pool = (*(*sess).connection()).pool;
            let cl = crate::runtime::downstream::get_free_buf(pool, (*sess).log(), &mut (*sess).out_free, data.len());
            if cl.is_null() {
                return false;
            }
            let b = (*cl).buf;
            ptr::copy_nonoverlapping(data.as_ptr(), (*b).last, data.len());
            (*b).last = (*b).last.add(data.len());
            self.cl = cl;
            true
        }
    }

    /// What is still to be sent.
    pub fn pending(&self) -> &[u8] {
        if self.cl.is_null() {
            return self.owned.get(self.sent..).unwrap_or_default();
        }
        // SAFETY: the buffer holds the `len` bytes of this send from its start.
        unsafe {
            let b = (*self.cl).buf;
            std::slice::from_raw_parts((*b).pos.add(self.sent), self.len - self.sent)
        }
    }

    pub fn advance(&mut self, n: usize) {
        self.sent = (self.sent + n).min(self.len);
    }

    /// The size of the send.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Gives the buffer back to the free list of `sess` (null once the session ended: its
    /// pool, where the buffer lives, goes with it).
    pub unsafe fn release(&mut self, sess: *mut Session) {
        let cl = std::mem::replace(&mut self.cl, ptr::null_mut());
        if !cl.is_null() && !sess.is_null() {
            // SAFETY: cl came from this live session's free list and pool.
            unsafe {
                let b = (*cl).buf;
                (*b).pos = (*b).start;
                (*b).last = (*b).start;
                (*cl).next = (*sess).out_free;
                (*sess).out_free = cl;
            }
        }
        self.owned.clear();
        self.sent = 0;
        self.len = 0;
    }
}
