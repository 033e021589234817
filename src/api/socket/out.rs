//! What every socket's `send` sends: the bytes taken from its argument (`send_data`), and
//! the data of a TCP cosocket send in progress. As upstream, it is copied into a buffer
//! recycled through the session's list of free output buffers (shared with `ngx.say`), so a
//! send reuses the memory of an earlier one ("lua reuse free buf memory" in the debug log).
//! A session without a pool of its own (timers) keeps the data in a vector instead.

use std::ffi::c_int;
use std::ptr;

use crate::api::output::append_value;

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

    /// Takes `data` as the next send of a socket of `sess`. False when no buffer could be
    /// allocated.
    pub fn fill(&mut self, sess: &mut Session, data: Vec<u8>) -> bool {
        self.give_back(sess);
        self.sent = 0;
        self.len = data.len();
        if sess.s.is_null() {
            self.owned = data;
            return true;
        }
        // SAFETY: the session is live, and so are its connection and pool; the buffer lives in
        // that pool until `give_back` returns it to the session's free list.
        unsafe {
            let pool = (*sess.connection()).pool;
            let log = sess.log();
            let cl = crate::runtime::downstream::get_free_buf(pool, log, &mut sess.out_free, data.len());
            if cl.is_null() {
                return false;
            }
            let b = (*cl).buf;
            ptr::copy_nonoverlapping(data.as_ptr(), (*b).last, data.len());
            (*b).last = (*b).last.add(data.len());
            self.cl = cl;
        }
        true
    }

    /// Gives the buffer back to the free list of `sess`, the session it came from.
    pub fn give_back(&mut self, sess: &mut Session) {
        let cl = std::mem::replace(&mut self.cl, ptr::null_mut());
        if !cl.is_null() {
            // SAFETY: cl came from this live session's free list and pool.
            unsafe {
                let b = (*cl).buf;
                (*b).pos = (*b).start;
                (*b).last = (*b).start;
                (*cl).next = sess.out_free;
            }
            sess.out_free = cl;
        }
        self.forget();
    }

    /// Lets go of the buffer without giving it back (its session ended: the pool where it
    /// lives went with it).
    pub fn forget(&mut self) {
        self.cl = ptr::null_mut();
        self.owned.clear();
        self.sent = 0;
        self.len = 0;
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
}

/// The bytes a socket `send` takes from argument `idx`: a string, number, boolean or nil, or
/// an array table of strings and numbers (nested tables too), as upstream's sends do.
pub fn send_data(c: &mut Call, idx: c_int) -> Result<Vec<u8>, LuaError> {
    let mut data = Vec::new();
    match c.type_of(idx) {
        LUA_TNUMBER | LUA_TSTRING | LUA_TNIL | LUA_TBOOLEAN => append_value(c, idx, idx, "send", &mut data)?,
        LUA_TTABLE => append_strict_table(c, idx, &mut data)?,
        t => {
            let got = c.type_name(t);
            return Err(LuaError::Arg(
                idx,
                "send",
                format!("string, number, boolean, nil, or array table expected, got {got}"),
            ));
        }
    }
    Ok(data)
}

/// An array table of strings and numbers only (nested tables too), as socket sends take it.
fn append_strict_table(c: &mut Call, idx: c_int, out: &mut Vec<u8>) -> Result<(), LuaError> {
    let n = c.obj_len(idx) as i64;
    for i in 1..=n {
        let t = c.raw_geti(idx, i);
        let v = c.top();
        let r = match t {
            LUA_TNUMBER | LUA_TSTRING => {
                out.extend_from_slice(c.to_bytes(v).unwrap_or_default());
                Ok(())
            }
            LUA_TTABLE => append_strict_table(c, v, out),
            t => Err(LuaError::Arg(2, "send", format!("bad data type {} found", c.type_name(t)))),
        };
        c.set_top(v - 1);
        r?;
    }
    Ok(())
}
