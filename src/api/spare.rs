//! The worker's spare byte vector, for bytes that only pass through on their way to Lua or to
//! nginx (a read's result, `ngx.say`'s text): taken, filled, used, given back, so steady
//! traffic allocates nothing for them.

use std::cell::Cell;

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
