//! What every socket's `send` sends: the bytes taken from its argument (`send_data`), and
//! the data of a TCP cosocket send in progress. As upstream, it is copied into a buffer
//! recycled through the session's list of free output buffers (shared with `ngx.say`), so a
//! send reuses the memory of an earlier one ("lua reuse free buf memory" in the debug log).
//! A session without a pool of its own (timers) keeps the data in a vector instead.

use std::ffi::c_int;

use crate::api::output::append_value;

use crate::runtime::session::Session;
use crate::sys::pool_buf::PoolBuf;
use crate::sys::*;

pub struct OutBuf {
    /// The recycled buffer (a buffer of the session's pool: let go of with the session).
    buf: Option<PoolBuf>,
    owned: Vec<u8>,
    /// Bytes of the send already gone, and its size.
    sent: usize,
    len: usize,
}

impl OutBuf {
    pub const fn new() -> OutBuf {
        OutBuf { buf: None, owned: Vec::new(), sent: 0, len: 0 }
    }

    /// Takes `data` as the next send of a socket of `sess`. False when no buffer could be
    /// allocated.
    pub fn fill(&mut self, sess: &mut Session, data: &[u8]) -> bool {
        self.give_back(sess);
        self.sent = 0;
        self.len = data.len();
        let mut free = std::mem::take(&mut sess.out_free);
        let got = sess.stream().map(|s| s.pool_buf(&mut free, data));
        sess.out_free = free;
        match got {
            // a session without a pool of its own (timers)
            None => self.owned.extend_from_slice(data),
            Some(None) => return false,
            Some(Some(buf)) => self.buf = Some(buf),
        }
        true
    }

    /// Gives the buffer back to the free list of `sess`, the session it came from.
    pub fn give_back(&mut self, sess: &mut Session) {
        if let Some(buf) = self.buf.take() {
            buf.give_back(&mut sess.out_free);
        }
        self.forget();
    }

    /// Lets go of the buffer without giving it back (its session ended: the pool where it
    /// lives went with it).
    pub fn forget(&mut self) {
        self.buf = None;
        self.owned.clear();
        self.sent = 0;
        self.len = 0;
    }

    /// What is still to be sent.
    pub fn pending(&self) -> &[u8] {
        match &self.buf {
            Some(buf) => buf.bytes_from(self.sent),
            None => self.owned.get(self.sent..).unwrap_or_default(),
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
    send_data_into(c, idx, &mut data)?;
    Ok(data)
}

/// `send_data` appending to `data` (a buffer reused from an earlier send).
pub fn send_data_into(c: &mut Call, idx: c_int, data: &mut Vec<u8>) -> Result<(), LuaError> {
    match c.type_of(idx) {
        LUA_TNUMBER | LUA_TSTRING | LUA_TNIL | LUA_TBOOLEAN => append_value(c, idx, idx, "send", data)?,
        LUA_TTABLE => append_strict_table(c, idx, data)?,
        t => {
            let got = c.type_name(t);
            return Err(LuaError::Arg(
                idx,
                "send",
                format!("string, number, boolean, nil, or array table expected, got {got}"),
            ));
        }
    }
    Ok(())
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
