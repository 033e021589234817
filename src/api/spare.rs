//! The worker's spare byte vectors: one for bytes that only pass through on their way to Lua
//! or to nginx (a read's result, `ngx.say`'s text), and a few receive buffers of sockets that
//! closed, for the next sockets: taken, used, given back, so steady traffic allocates nothing
//! for them.

use std::cell::{Cell, RefCell};

use crate::sys::worker_local::WorkerLocal;

static SPARE: WorkerLocal<Cell<Vec<u8>>> = WorkerLocal::new(Cell::new(Vec::new()));

/// Vectors larger than this give their memory back rather than stay spare.
const SPARE_MAX: usize = 64 * 1024;

/// An empty vector, with the spare one's capacity when it is free.
pub fn take() -> Vec<u8> {
    SPARE.with(Cell::take)
}

/// Keeps `v`'s memory for the next `take` (unless it is large).
pub fn give_back(mut v: Vec<u8>) {
    if v.capacity() <= SPARE_MAX {
        v.clear();
        SPARE.with(|s| s.set(v));
    }
}

/// The spare vector for the length of a call: given back when it drops, on every path out.
pub struct Spare(Vec<u8>);

impl Spare {
    pub fn take() -> Spare {
        Spare(take())
    }
}

impl std::ops::Deref for Spare {
    type Target = Vec<u8>;
    fn deref(&self) -> &Vec<u8> {
        &self.0
    }
}

impl std::ops::DerefMut for Spare {
    fn deref_mut(&mut self) -> &mut Vec<u8> {
        &mut self.0
    }
}

impl Drop for Spare {
    fn drop(&mut self) {
        give_back(std::mem::take(&mut self.0));
    }
}

static RECV_BUFS: WorkerLocal<RefCell<Vec<Vec<u8>>>> = WorkerLocal::new(RefCell::new(Vec::new()));

/// How many receive buffers a worker keeps, and the largest it keeps (a socket's buffer is
/// `lua_socket_buffer_size`, 4 or 8 KB, unless a large read grew it): at most 256 KB.
const RECV_BUFS_KEPT: usize = 16;
const RECV_BUF_MAX: usize = 16 * 1024;

/// An empty receive buffer, with the capacity of one given back earlier if there is one.
pub fn take_recv_buf() -> Vec<u8> {
    RECV_BUFS.with(|b| b.borrow_mut().pop()).unwrap_or_default()
}

/// Keeps the memory of a socket's receive buffer for another socket (unless it is large, or
/// enough are kept).
pub fn keep_recv_buf(mut v: Vec<u8>) {
    if v.capacity() == 0 || v.capacity() > RECV_BUF_MAX {
        return;
    }
    v.clear();
    RECV_BUFS.with(|b| {
        let mut b = b.borrow_mut();
        if b.len() < RECV_BUFS_KEPT {
            b.push(v);
        }
    });
}

/// Gives the kept memory back (the worker exits).
pub fn release() {
    SPARE.with(Cell::take);
    RECV_BUFS.with(|b| b.borrow_mut().clear());
}
