//! Per-worker pools of idle TCP cosocket connections (`setkeepalive`), keyed by `host:port`,
//! the unix path or the `pool` option of connect. The newest connection is reused first; a
//! full pool closes its oldest one. An idle connection that becomes readable (the peer closed
//! it or sent something unexpected) or reaches its keepalive timeout is closed and dropped.
//!
//! With a `backlog`, a pool counts its connections as upstream does (open, idle or being
//! opened, plus the connects waiting for a slot); a connect beyond `pool_size` waits in the
//! queue, and each connection put back or closed wakes the first waiter. A connection put back
//! is handed to that waiter: a new connect cannot take it meanwhile (the C module lets it,
//! and the woken waiter then opens one beyond `pool_size`; under load that made nearly every
//! session open its own connection).

use std::borrow::Borrow;
use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::ffi::c_void;
use std::hash::{BuildHasher, Hash, Hasher};
use std::rc::Rc;

use crate::ngx_callbacks;
use crate::sys::conn_connect::PeerConn;
use crate::sys::worker_local::WorkerLocal;
use crate::sys::*;

/// A connection going into or coming out of a pool: the pool owns it while it is idle.
pub struct Idle {
    pub conn: PeerConn,
    pub reused: usize,
}

/// A pool's key, shared by the map and the pool; its idle connections' `data` points at the
/// Vec (so putting a connection back copies no key).
#[derive(Clone, PartialEq, Eq)]
struct Key(Rc<Vec<u8>>);

impl Borrow<[u8]> for Key {
    fn borrow(&self) -> &[u8] {
        &self.0
    }
}

impl Hash for Key {
    fn hash<H: Hasher>(&self, h: &mut H) {
        self.0.as_slice().hash(h)
    }
}

/// FxHash-style hashing of pool keys: they are short and come from the configuration and
/// the Lua code, so SipHash's resistance to chosen keys buys nothing for its cost.
#[derive(Clone, Copy, Default)]
struct FxBuild;

impl BuildHasher for FxBuild {
    type Hasher = Fx;
    fn build_hasher(&self) -> Fx {
        Fx(0)
    }
}

struct Fx(u64);

impl Fx {
    #[inline]
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
}

impl Hasher for Fx {
    fn write(&mut self, bytes: &[u8]) {
        let mut words = bytes.chunks_exact(8);
        for w in &mut words {
            self.add(u64::from_le_bytes(w.try_into().expect("8 bytes")));
        }
        // the last 1 to 7 bytes as one word, from at most two (overlapping) reads
        let tail = words.remainder();
        let n = tail.len();
        if n >= 4 {
            let lo = u32::from_le_bytes(tail[..4].try_into().expect("4 bytes"));
            let hi = u32::from_le_bytes(tail[n - 4..].try_into().expect("4 bytes"));
            self.add(lo as u64 | (hi as u64) << 32);
        } else if n > 0 {
            self.add(tail[0] as u64 | (tail[n / 2] as u64) << 8 | (tail[n - 1] as u64) << 16);
        }
    }

    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }

    fn finish(&self) -> u64 {
        // the table takes its bucket from the low bits: fold the well-mixed high ones in
        self.0 ^ self.0 >> 32
    }
}

type Pools = HashMap<Key, Pool, FxBuild>;

/// The worker's pools (a plain static: see WorkerLocal).
static POOLS: WorkerLocal<RefCell<Pools>> = WorkerLocal::new(RefCell::new(HashMap::with_hasher(FxBuild)));

struct Pool {
    key: Key,
    size: usize,
    /// Newest first.
    conns: VecDeque<Idle>,
    /// Connected sockets counted in this pool (besides the idle ones); the pool goes away
    /// when it has neither, as upstream frees it.
    active: usize,
    /// How many connects may wait for a free slot (`backlog` option; none when negative).
    backlog: i64,
    /// Connects waiting for a slot (counted in `active`), first come first served.
    waiting: VecDeque<Waiter>,
}

/// Tells a queued connect to go on (it posts an event, so it runs after the call that freed
/// the slot); run with no pool borrowed.
pub type Go = Rc<dyn Fn()>;

struct Waiter {
    /// The queued connect's identity (compared, never dereferenced).
    id: *const c_void,
    go: Go,
    /// Told already: until it runs, an idle connection put back is kept for it.
    woken: bool,
}

impl Pool {
    /// Idle connections kept for woken waiters.
    fn reserved(&self) -> usize {
        self.waiting.iter().filter(|w| w.woken).count()
    }
}

/// What joining a pool gave.
pub enum Join {
    /// No pool for this key (the connection is not counted).
    NoPool,
    Joined,
    /// The pool is full: wait for a slot (the connection is counted already).
    Queued,
    /// The pool and its backlog are full.
    TooMany,
}

/// Sets `key` to the key of pool `name` of Lua VM `vm` (reusing its buffer): pools belong to
/// a VM, as upstream keeps them in the VM's registry, so a session's own VM
/// (`lua_code_cache off`) takes its pools with it when it closes (free_vm_pools). The VM's
/// address (its native bytes, VM_PART long: cheaper than text), then the name (`name`'s
/// parts one after the other).
pub fn set_vm_key(key: &mut Vec<u8>, vm: *mut lua_State, name: &[&[u8]]) {
    key.clear();
    key.reserve(VM_PART + name.iter().map(|part| part.len()).sum::<usize>());
    key.extend_from_slice(&vm_prefix(vm));
    name.iter().for_each(|part| key.extend_from_slice(part));
}

/// The length of a key's VM part.
const VM_PART: usize = size_of::<usize>();

fn vm_prefix(vm: *mut lua_State) -> [u8; VM_PART] {
    (vm as usize).to_ne_bytes()
}

/// The pool's name as log lines show it (without the VM part of the key).
fn key_text(key: &[u8]) -> String {
    String::from_utf8_lossy(key.get(VM_PART..).unwrap_or_default()).into_owned()
}

/// Frees the pools of Lua VM `vm`, which is closing, and closes their idle connections.
pub fn free_vm_pools(vm: *mut lua_State) {
    let prefix = vm_prefix(vm);
    let freed: Vec<(Key, Pool)> = POOLS.with(|p| p.borrow_mut().extract_if(|k, _| k.0.starts_with(&prefix)).collect());
    for (key, pool) in freed {
        let at = &pool as *const Pool as usize;
        cycle_debug_fmt(format_args!(
            "stream lua tcp socket keepalive: free connection pool {at:X} for \"{}\"",
            key_text(&key.0)
        ));
        // closing a pooled connection deletes its idle timer
        drop(pool.conns);
    }
}

/// Creates pool `key` (the caller checked it does not exist).
fn create<'a>(pools: &'a mut Pools, key: &[u8], size: usize, backlog: i64, log: Log) -> &'a mut Pool {
    log.debug_fmt(format_args!("stream lua tcp socket connection pool size: {size}, backlog: {backlog}"));
    log.debug_fmt(format_args!("stream lua tcp socket keepalive create connection pool for key \"{}\"", key_text(key)));
    let key = Key(Rc::new(key.to_vec()));
    let pool = Pool { key: key.clone(), size, conns: VecDeque::new(), active: 0, backlog, waiting: VecDeque::new() };
    pools.entry(key).or_insert(pool)
}

/// Drops pool `key` once nothing uses it any more.
fn free_if_unused(pools: &mut Pools, key: &[u8], log: Log) {
    if pools.get(key).is_some_and(|p| p.active == 0 && p.conns.is_empty()) {
        log.debug_fmt(format_args!("stream lua tcp socket keepalive: free connection pool for \"{}\"", key_text(key)));
        pools.remove(key);
    }
}

/// A socket about to connect joins pool `key`: the existing one, or a new one of
/// `create_size` slots (connect's `pool_size`/`backlog` options).
pub fn join(key: &[u8], create_size: Option<(usize, i64)>, log: Log) -> Join {
    POOLS.with(|p| {
        let mut pools = p.borrow_mut();
        let pool = match pools.get_mut(key) {
            Some(pool) => pool,
            None => {
                let Some((size, backlog)) = create_size else { return Join::NoPool };
                create(&mut pools, key, size, backlog, log)
            }
        };
        let total = (pool.active + pool.conns.len() + 1) as i64;
        if pool.backlog >= 0 && total > pool.size as i64 + pool.backlog {
            return Join::TooMany;
        }
        pool.active += 1;
        if pool.backlog >= 0 && total > pool.size as i64 {
            log.debug_fmt(format_args!(
                "stream lua tcp socket queue connect operation for connection pool \"{}\", connections: {total}",
                key_text(key)
            ));
            return Join::Queued;
        }
        Join::Joined
    })
}

/// Queues a connect (named `id`) that got `Join::Queued`; `go` is called when a slot frees up.
pub fn enqueue(key: &[u8], id: *const c_void, go: Go) {
    POOLS.with(|p| {
        if let Some(pool) = p.borrow_mut().get_mut(key) {
            pool.waiting.push_back(Waiter { id, go, woken: false });
        }
    })
}

/// Puts a woken connect back at the head of the queue when it found neither an idle
/// connection nor room for a new one (the idle connection it was woken for was closed and
/// another waiter took the freed slot).
pub fn requeue(key: &[u8], id: *const c_void, go: Go) {
    POOLS.with(|p| {
        if let Some(pool) = p.borrow_mut().get_mut(key) {
            pool.waiting.push_front(Waiter { id, go, woken: false });
        }
    })
}

/// Whether a connect woken from the queue (counted, out of the queue now) may open a new
/// connection: fewer than `pool_size` are open or being opened.
pub fn has_room(key: &[u8]) -> bool {
    POOLS.with(|p| {
        p.borrow().get(key).is_none_or(|pool| {
            let open = pool.active.saturating_sub(pool.waiting.len() + 1) + pool.conns.len();
            open < pool.size
        })
    })
}

/// Takes a queued connect out of the queue (resumed, timed out or cancelled); it stays
/// counted.
pub fn dequeue(key: &[u8], id: *const c_void) {
    POOLS.with(|p| {
        if let Some(pool) = p.borrow_mut().get_mut(key) {
            pool.waiting.retain(|w| w.id != id);
        }
    })
}

/// A slot of pool `key` freed up or a connection was put back: the first queued connect not
/// told yet is told to go on.
fn resume_waiter(key: &[u8]) {
    if let Some(go) = POOLS.with(|p| p.borrow_mut().get_mut(key).and_then(next_waiter)) {
        go();
    }
}

/// Marks the first queued connect of `pool` not told yet as told; its `go` is to be called
/// with no pool borrowed.
fn next_waiter(pool: &mut Pool) -> Option<Go> {
    let w = pool.waiting.iter_mut().find(|w| !w.woken)?;
    w.woken = true;
    Some(w.go.clone())
}

/// A socket counted in pool `key` closed its connection (or gave up connecting): its slot
/// goes to the first queued connect.
pub fn leave(key: &[u8], log: Log) {
    uncount(key, log);
    resume_waiter(key);
}

/// A socket counted in pool `key` no longer counts, waking nobody (a queued connect that
/// timed out, as upstream; `leave` wakes the next one).
pub fn uncount(key: &[u8], log: Log) {
    POOLS.with(|p| {
        let mut pools = p.borrow_mut();
        if let Some(pool) = pools.get_mut(key) {
            pool.active = pool.active.saturating_sub(1);
        }
        free_if_unused(&mut pools, key, log);
    });
}

/// The newest idle connection of pool `key` for a woken waiter (counted already, and out of
/// the queue now).
pub fn take_counted(key: &[u8], log: Log) -> Option<Idle> {
    let idle = take_for(key, log, true)?;
    POOLS.with(|p| {
        if let Some(pool) = p.borrow_mut().get_mut(key) {
            pool.active = pool.active.saturating_sub(1);
        }
    });
    Some(idle)
}

pub fn exists(key: &[u8]) -> bool {
    POOLS.with(|p| p.borrow().contains_key(key))
}

/// The newest idle connection of pool `key` for a new connect, taken out of it (it counts
/// as active now); none while every idle connection is kept for a woken waiter.
pub fn take(key: &[u8], log: Log) -> Option<Idle> {
    take_for(key, log, false)
}

fn take_for(key: &[u8], log: Log, waiter: bool) -> Option<Idle> {
    let item = POOLS.with(|p| {
        let mut pools = p.borrow_mut();
        let pool = pools.get_mut(key)?;
        if !waiter && pool.conns.len() <= pool.reserved() {
            return None;
        }
        let item = pool.conns.pop_front()?;
        pool.active += 1;
        Some(item)
    })?;
    let c = item.conn.conn_ref();
    log.debug_fmt(format_args!(
        "stream lua tcp socket get keepalive peer: using connection {:p}, fd:{}",
        c.as_ptr(),
        c.fd()
    ));
    c.clear_timer(Dir::Read);
    c.set_idle(false);
    Some(item)
}

/// Puts a connection into pool `key` (created with `size` slots if new), with a keepalive
/// timeout in ms (0: none); `counted`: its socket had joined the pool. False when the
/// connection turned out to be unusable (closed).
pub fn put(key: &[u8], size: usize, idle: Idle, timeout: ngx_msec_t, counted: bool, log: Log) -> bool {
    // the pool owns the connection from here until drop_conn or take; this function's
    // copy of the handle is used only before it returns
    let c = *idle.conn.conn_ref();
    log.debug_fmt(format_args!("stream lua tcp socket set keepalive: saving connection {:p}", c.as_ptr()));
    let (evicted, data, next) = POOLS.with(|p| {
        let mut pools = p.borrow_mut();
        let pool = match pools.get_mut(key) {
            Some(pool) => pool,
            None => create(&mut pools, key, size, -1, log),
        };
        if counted {
            pool.active = pool.active.saturating_sub(1);
        }
        let evicted = if pool.conns.len() >= pool.size { pool.conns.pop_back() } else { None };
        let data = Rc::as_ptr(&pool.key.0) as *mut c_void;
        pool.conns.push_front(idle);
        (evicted, data, next_waiter(pool))
    });
    // closes the oldest connection (which calls nothing here, so the waiter goes on after)
    drop(evicted);
    if let Some(go) = next {
        go();
    }
    let cycle = Log::cycle().expect("the cycle's log");
    c.set_owner(data, on_idle_read, on_idle_write, cycle);
    c.set_idle(true);
    c.clear_timer(Dir::Write);
    c.clear_timer(Dir::Read);
    if timeout > 0 {
        cycle_debug_fmt(format_args!("stream lua tcp socket keepalive timeout: {timeout} ms"));
        c.set_timer(Dir::Read, timeout);
    } else {
        cycle_debug("stream lua tcp socket keepalive timeout: unlimited");
    }
    if c.read_ready() && !c.still_open() {
        drop_conn(key, c);
        return false;
    }
    true
}

/// Closes the pooled connection `c` and removes it from pool `key`.
fn drop_conn(key: &[u8], c: Conn) {
    POOLS.with(|p| {
        let mut pools = p.borrow_mut();
        let Some(pool) = pools.get_mut(key) else { return };
        let Some(i) = pool.conns.iter().position(|b| b.conn.conn_ref().as_ptr() == c.as_ptr()) else {
            return;
        };
        let removed = pool.conns.remove(i).expect("found");
        cycle_debug_fmt(format_args!(
            "stream lua tcp socket keepalive close handler: fd:{}",
            removed.conn.conn_ref().fd()
        ));
        // closing it does not call back into the pools
        drop(removed);
        free_if_unused(&mut pools, key, Log::cycle().expect("the cycle's log"));
    });
    resume_waiter(key);
}

/// The read event of idle connection `c`: its keepalive timeout, or the peer closed it or
/// sent something (then it is closed), or a stale event.
fn idle_read(c: Conn) -> bool {
    if c.timed_out(Dir::Read) {
        cycle_debug("stream lua tcp socket keepalive max idle timeout");
    } else if !c.closing() {
        cycle_debug("stream lua tcp socket keepalive close handler check stale events");
        if c.still_open() && c.rearm(Dir::Read) {
            return true;
        }
    }
    false
}

ngx_callbacks! {
    /// nginx calls the idle handlers only with events of pooled connections.
    fn on_idle_read(ev: ConnEvent) [()] {
        // SAFETY: c->data of a pooled connection is its pool's key, which the pool keeps
        // while it holds the connection (until drop_conn; the key is copied before).
        let key = unsafe { &*(ev.conn.data() as *const Vec<u8>) }.clone();
        if !idle_read(ev.conn) {
            drop_conn(&key, ev.conn);
        }
    }

    fn on_idle_write(_ev: *mut ngx_event_t) [()] {}
}

/// Closes every pooled connection (worker exit).
pub fn close_all() {
    let pools = POOLS.with(|p| std::mem::take(&mut *p.borrow_mut()));
    // closing each pooled connection
    drop(pools);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vm_key_layout() {
        let mut key = b"stale".to_vec();
        for vm in [0usize, 1, 0x7f12_3400_789a, usize::MAX] {
            set_vm_key(&mut key, vm as *mut lua_State, &[b"127.0.0.1", b":80"]);
            assert!(key.starts_with(&vm_prefix(vm as *mut lua_State)));
            assert_eq!(key_text(&key), "127.0.0.1:80");
        }
        assert_ne!(vm_prefix(0x12 as *mut lua_State), vm_prefix(0x1200 as *mut lua_State));
    }

    #[test]
    fn fx_tells_tails_apart() {
        let keys: Vec<Vec<u8>> = (0..24).flat_map(|n| [vec![b'a'; n], vec![b'b'; n]]).collect();
        let mut hashes: Vec<u64> = keys.iter().map(|k| FxBuild.hash_one(k.as_slice())).collect();
        hashes.sort();
        hashes.dedup();
        assert_eq!(hashes.len(), keys.len() - 1, "only the two empty keys are alike");
    }
}
