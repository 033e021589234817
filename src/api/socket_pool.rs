//! Per-worker pools of idle TCP cosocket connections (`setkeepalive`), keyed by `host:port`,
//! the unix path or the `pool` option of connect. The newest connection is reused first; a
//! full pool closes its oldest one. An idle connection that becomes readable (the peer closed
//! it or sent something unexpected) or reaches its keepalive timeout is closed and dropped.

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::ffi::c_void;

use crate::ffi::*;

/// A connection going into or coming out of a pool.
pub struct Idle {
    pub c: *mut ngx_connection_t,
    pub reused: usize,
}

struct Pooled {
    idle: Idle,
    key: Vec<u8>,
}

struct Pool {
    size: usize,
    /// Newest first.
    conns: VecDeque<Box<Pooled>>,
}

thread_local! {
    static POOLS: RefCell<HashMap<Vec<u8>, Pool>> = RefCell::new(HashMap::new());
}

pub fn exists(key: &[u8]) -> bool {
    POOLS.with(|p| p.borrow().contains_key(key))
}

/// The newest idle connection of pool `key`, taken out of it.
pub fn take(key: &[u8]) -> Option<Idle> {
    let item = POOLS.with(|p| p.borrow_mut().get_mut(key)?.conns.pop_front())?;
    let c = item.idle.c;
    // SAFETY: a pooled connection is open and ours.
    unsafe {
        if (*(*c).read).timer_set() != 0 {
            ngx_del_timer((*c).read);
        }
        (*c).set_idle(0);
    }
    Some(item.idle)
}

/// Puts a connection into pool `key` (created with `size` slots if new), with a keepalive
/// timeout in ms (0: none). False when the connection turned out to be unusable (closed).
pub unsafe fn put(key: &[u8], size: usize, idle: Idle, timeout: ngx_msec_t) -> bool {
    let c = idle.c;
    let item = Box::new(Pooled { idle, key: key.to_vec() });
    let evicted = POOLS.with(|p| {
        let mut pools = p.borrow_mut();
        let pool = pools.entry(key.to_vec()).or_insert_with(|| Pool { size, conns: VecDeque::new() });
        let evicted = if pool.conns.len() >= pool.size { pool.conns.pop_back() } else { None };
        pool.conns.push_front(item);
        let data = &**pool.conns.front().expect("just pushed") as *const Pooled as *mut c_void;
        (evicted, data)
    });
    let (evicted, data) = evicted;
    if let Some(old) = evicted {
        // SAFETY: the evicted connection is open and ours.
        unsafe { ngx_close_connection(old.idle.c) };
    }
    // SAFETY: c is an open connection handed over to the pool.
    unsafe {
        let log = cycle_log();
        (*c).data = data;
        (*c).set_idle(1);
        (*c).log = log;
        (*(*c).read).log = log;
        (*(*c).write).log = log;
        (*(*c).read).handler = Some(on_idle_read);
        (*(*c).write).handler = Some(on_idle_write);
        if (*(*c).write).timer_set() != 0 {
            ngx_del_timer((*c).write);
        }
        if (*(*c).read).timer_set() != 0 {
            ngx_del_timer((*c).read);
        }
        if timeout > 0 {
            ngx_add_timer((*c).read, timeout);
        }
        if (*(*c).read).ready() != 0 && !still_open(c) {
            drop_conn(data as *mut Pooled);
            return false;
        }
    }
    true
}

/// Whether an idle connection is still usable: nothing to read and not closed by the peer.
unsafe fn still_open(c: *mut ngx_connection_t) -> bool {
    let mut byte = 0u8;
    // SAFETY: c->fd is an open socket.
    let n = unsafe { libc::recv((*c).fd, &mut byte as *mut u8 as *mut c_void, 1, libc::MSG_PEEK) };
    if n == -1 && std::io::Error::last_os_error().raw_os_error() == Some(libc::EAGAIN) {
        // SAFETY: as above.
        unsafe { (*(*c).read).set_ready(0) };
        return true;
    }
    false
}

/// Closes a pooled connection and removes it from its pool.
unsafe fn drop_conn(item: *mut Pooled) {
    // SAFETY: item is in its pool; removing it frees it after we are done with it.
    unsafe {
        let key = (*item).key.clone();
        let c = (*item).idle.c;
        let removed = POOLS.with(|p| {
            let mut pools = p.borrow_mut();
            let pool = pools.get_mut(&key)?;
            let i = pool.conns.iter().position(|b| &**b as *const Pooled == item as *const Pooled)?;
            pool.conns.remove(i)
        });
        ngx_close_connection(c);
        drop(removed);
    }
}

unsafe extern "C" fn on_idle_read(rev: *mut ngx_event_t) {
    guard((), || {
        // SAFETY: rev belongs to a pooled connection (c->data is its pool item).
        unsafe {
            let c = (*rev).data as *mut ngx_connection_t;
            let item = (*c).data as *mut Pooled;
            if (*c).close() == 0 && (*rev).timedout() == 0 && still_open(c) {
                if ngx_handle_read_event(rev, 0) == NGX_OK as isize {
                    return;
                }
            }
            log_debug(cycle_log(), "stream lua tcp socket keepalive close handler");
            drop_conn(item);
        }
    })
}

unsafe extern "C" fn on_idle_write(_wev: *mut ngx_event_t) {}

/// Closes every pooled connection (worker exit).
pub fn close_all() {
    let pools = POOLS.with(|p| std::mem::take(&mut *p.borrow_mut()));
    for (_, pool) in pools {
        for item in pool.conns {
            // SAFETY: pooled connections are open and ours.
            unsafe { ngx_close_connection(item.idle.c) };
        }
    }
}
