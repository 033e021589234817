//! The storage behind `lua_shared_dict`: one nginx shared-memory zone per dict, holding a
//! slab pool with a red-black tree of entries (keyed by the CRC32 of the key, ties broken by
//! the key bytes) and an LRU queue (most recently used first) that expiry and eviction walk
//! from the old end. All workers map the same zone; every operation holds the zone's mutex.
//!
//! This file is the unsafe layer: raw entries in shared memory. `shdict.rs` builds the Lua
//! API on top of `Locked`.

use std::ffi::c_void;
use std::mem::{offset_of, size_of};
use std::ptr;

use crate::conf::MainConf;
use crate::sys::*;

/// Value types, numbered as Lua's type tags (and as upstream stores them).
pub const T_NIL: u8 = 0;
pub const T_BOOLEAN: u8 = 1;
pub const T_NUMBER: u8 = 3;
pub const T_STRING: u8 = 4;
pub const T_LIST: u8 = 5;

/// The per-cycle handle of one dict (in the configuration pool); the FFI's "zone" pointer.
pub struct Dict {
    pub name: Vec<u8>,
    pub zone: *mut ngx_shm_zone_t,
    /// Set when nginx initialises the zone (after the configuration is read).
    pub shpool: *mut ngx_slab_pool_t,
    pub sh: *mut Shared,
    pub mcf: *mut MainConf,
    pub cycle: *mut ngx_cycle_t,
    pub log: *mut ngx_log_t,
}

/// The root of a dict, allocated in its own zone.
#[repr(C)]
pub struct Shared {
    tree: ngx_rbtree_t,
    sentinel: ngx_rbtree_node_t,
    lru: ngx_queue_t,
}

/// One key and its value, allocated from the slab pool. It starts as an `ngx_rbtree_node_t`
/// up to its colour byte (all nginx's tree code touches) and packs the rest after it, so an
/// entry costs what upstream's does (same slab size classes, same eviction points). The key
/// bytes follow the header, then the value bytes; a list keeps an `ngx_queue_t` of `Item`s
/// there instead.
#[repr(C)]
pub struct Entry {
    node_key: ngx_rbtree_key_t,
    node_left: *mut ngx_rbtree_node_t,
    node_right: *mut ngx_rbtree_node_t,
    node_parent: *mut ngx_rbtree_node_t,
    node_color: u8,
    pub value_type: u8,
    key_len: u16,
    /// Value bytes, or the number of items of a list.
    pub value_len: u32,
    /// Milliseconds since the epoch; 0 = never.
    pub expires: u64,
    lru: ngx_queue_t,
    pub user_flags: u32,
}

/// One element of a list value.
#[repr(C)]
pub struct Item {
    queue: ngx_queue_t,
    value_len: u32,
    pub value_type: u8,
}

/// Where an entry's key (an item's value) starts: right after the last header field.
const HEAD: usize = offset_of!(Entry, user_flags) + size_of::<u32>();
const ITEM_HEAD: usize = offset_of!(Item, value_type) + 1;

// the entry's first fields are the tree node's, so nginx can link it
const _: () = assert!(offset_of!(Entry, node_color) == offset_of!(ngx_rbtree_node_t, color));

fn align8(n: usize) -> usize {
    (n + 7) & !7
}

/// nginx's cached time in milliseconds.
pub fn now_ms() -> u64 {
    // SAFETY: ngx_cached_time points at a valid slot once nginx runs.
    unsafe {
        let tp = ngx_cached_time;
        (*tp).sec as u64 * 1000 + (*tp).msec as u64
    }
}

/// The absolute expiry for a time-to-live in milliseconds (0 = none).
pub fn expiry(ttl_ms: i64) -> u64 {
    if ttl_ms > 0 {
        now_ms() + ttl_ms as u64
    } else {
        0
    }
}

// ---- ngx_queue_t (C macros in nginx) ------------------------------------------------------

unsafe fn q_init(q: *mut ngx_queue_t) {
    // SAFETY: q is a queue head in shared memory.
    unsafe {
        (*q).prev = q;
        (*q).next = q;
    }
}

unsafe fn q_insert_head(h: *mut ngx_queue_t, x: *mut ngx_queue_t) {
    // SAFETY: h is a live queue head, x an unlinked element.
    unsafe {
        (*x).next = (*h).next;
        (*(*x).next).prev = x;
        (*x).prev = h;
        (*h).next = x;
    }
}

unsafe fn q_insert_tail(h: *mut ngx_queue_t, x: *mut ngx_queue_t) {
    // SAFETY: as above.
    unsafe {
        (*x).prev = (*h).prev;
        (*(*x).prev).next = x;
        (*x).next = h;
        (*h).prev = x;
    }
}

unsafe fn q_remove(x: *mut ngx_queue_t) {
    // SAFETY: x is linked in a queue.
    unsafe {
        (*(*x).next).prev = (*x).prev;
        (*(*x).prev).next = (*x).next;
    }
}

// ---- entries -------------------------------------------------------------------------------

impl Entry {
    pub fn key(&self) -> &[u8] {
        // SAFETY: key_len key bytes follow the header of every entry.
        unsafe { std::slice::from_raw_parts((self as *const Entry as *const u8).add(HEAD), self.key_len as usize) }
    }

    /// The stored value bytes (not for lists).
    pub fn value(&self) -> &[u8] {
        // SAFETY: value_len value bytes follow the key.
        unsafe {
            std::slice::from_raw_parts(
                (self as *const Entry as *const u8).add(HEAD + self.key_len as usize),
                self.value_len as usize,
            )
        }
    }

    fn value_mut(&mut self) -> *mut u8 {
        // SAFETY: as above.
        unsafe { (self as *mut Entry as *mut u8).add(HEAD + self.key_len as usize) }
    }

    fn list_head(&mut self) -> *mut ngx_queue_t {
        // SAFETY: a list entry was allocated with an aligned queue head after its key.
        unsafe { (self as *mut Entry as *mut u8).add(align8(HEAD + self.key_len as usize)) as *mut ngx_queue_t }
    }

    pub fn expired(&self, now: u64) -> bool {
        self.expires != 0 && self.expires <= now
    }

    /// Overwrites the value in place (the caller checked the size matches).
    pub fn set_value(&mut self, value_type: u8, value: &[u8], expires: u64, user_flags: u32) {
        debug_assert_eq!(value.len(), self.value_len as usize);
        // SAFETY: the entry has room for value_len bytes after its key.
        unsafe { ptr::copy_nonoverlapping(value.as_ptr(), self.value_mut(), value.len()) };
        self.value_type = value_type;
        self.expires = expires;
        self.user_flags = user_flags;
    }

    pub fn list_len(&self) -> u32 {
        self.value_len
    }
}

impl Item {
    pub fn value(&self) -> &[u8] {
        // SAFETY: value_len bytes follow the item header.
        unsafe {
            std::slice::from_raw_parts((self as *const Item as *const u8).add(ITEM_HEAD), self.value_len as usize)
        }
    }
}

unsafe fn entry_of_lru(q: *mut ngx_queue_t) -> *mut Entry {
    // SAFETY: q is the lru field of an Entry.
    unsafe { (q as *mut u8).sub(offset_of!(Entry, lru)) as *mut Entry }
}

/// Orders equal hashes by key bytes, as lookups do (nginx's `ngx_memn2cmp`: bytes first,
/// then length).
fn cmp_keys(a: &[u8], b: &[u8]) -> std::cmp::Ordering {
    let n = a.len().min(b.len());
    a[..n].cmp(&b[..n]).then(a.len().cmp(&b.len()))
}

unsafe extern "C" fn insert_value(
    mut temp: *mut ngx_rbtree_node_t,
    node: *mut ngx_rbtree_node_t,
    sentinel: *mut ngx_rbtree_node_t,
) {
    // SAFETY: nginx calls this with the tree's root, the new node and the sentinel; every
    // node in the tree is the head of an Entry.
    unsafe {
        let key = (*(node as *mut Entry)).key();
        loop {
            let p = if (*node).key != (*temp).key {
                if (*node).key < (*temp).key {
                    &mut (*temp).left
                } else {
                    &mut (*temp).right
                }
            } else if cmp_keys(key, (*(temp as *mut Entry)).key()).is_lt() {
                &mut (*temp).left
            } else {
                &mut (*temp).right
            };
            if *p == sentinel {
                *p = node;
                break;
            }
            temp = *p;
        }
        (*node).parent = temp;
        (*node).left = sentinel;
        (*node).right = sentinel;
        (*node).color = 1; // red
    }
}

// ---- zone set-up ---------------------------------------------------------------------------

/// The zone's init handler: attach to the old cycle's tree on a reload (`data` is the old
/// `Dict`), or build an empty one; then, once every dict is ready, run `init_by_lua`.
pub unsafe extern "C" fn init_zone(zone: *mut ngx_shm_zone_t, data: *mut c_void) -> ngx_int_t {
    guard(NGX_ERROR as ngx_int_t, || {
        // SAFETY: zone->data is the Dict set when the directive was read; data is null or
        // the previous cycle's Dict for the same zone, still alive during the reload.
        unsafe {
            let d = &mut *((*zone).data as *mut Dict);
            let old = data as *mut Dict;
            d.shpool = (*zone).shm.addr as *mut ngx_slab_pool_t;
            if !old.is_null() {
                d.sh = (*old).sh;
            } else if (*zone).shm.exists != 0 {
                d.sh = (*d.shpool).data as *mut Shared;
            } else {
                let sh = ngx_slab_alloc(d.shpool, size_of::<Shared>()) as *mut Shared;
                if sh.is_null() {
                    return NGX_ERROR as ngx_int_t;
                }
                (*d.shpool).data = sh as *mut c_void;
                d.sh = sh;
                let sentinel = ptr::addr_of_mut!((*sh).sentinel);
                (*sentinel).color = 0;
                (*sh).tree.root = sentinel;
                (*sh).tree.sentinel = sentinel;
                (*sh).tree.insert = Some(insert_value);
                q_init(ptr::addr_of_mut!((*sh).lru));
                // nginx appends this to its slab "no memory" messages
                let what = format!(" in lua_shared_dict zone \"{}\"\0", String::from_utf8_lossy(&d.name));
                let ctx = ngx_slab_alloc(d.shpool, what.len()) as *mut u8;
                if ctx.is_null() {
                    return NGX_ERROR as ngx_int_t;
                }
                ptr::copy_nonoverlapping(what.as_ptr(), ctx, what.len());
                (*d.shpool).log_ctx = ctx;
                (*d.shpool).set_log_nomem(0);
            }
            let mcf = &mut *d.mcf;
            mcf.shm_zones_inited += 1;
            if mcf.shm_zones_inited == mcf.shdicts.len() && ngx_test_config == 0 {
                if let Some(l) = mcf.vm.as_ref().map(|vm| vm.l) {
                    // init_by_lua sees the cycle being configured, as in postconfiguration
                    let saved = ngx_cycle;
                    ngx_cycle = d.cycle;
                    let rc = crate::phase::init::run_init(mcf, l, d.log);
                    ngx_cycle = saved;
                    if rc.is_err() {
                        return NGX_ERROR as ngx_int_t;
                    }
                }
            }
            NGX_OK as ngx_int_t
        }
    })
}

// ---- locked access -------------------------------------------------------------------------

/// A dict with its mutex held (released on drop, also when unwinding).
pub struct Locked<'a> {
    d: &'a Dict,
}

/// What a key lookup found.
pub enum Found {
    Missing,
    Live(*mut Entry),
    /// Present but past its expiry (still usable by `get_stale`, or reusable in place).
    Expired(*mut Entry),
}

impl Dict {
    pub fn lock(&self) -> Locked<'_> {
        // SAFETY: the zone is initialised before any Lua code can reach the dict.
        unsafe { ngx_shmtx_lock(ptr::addr_of_mut!((*self.shpool).mutex)) };
        Locked { d: self }
    }

    pub fn capacity(&self) -> usize {
        // SAFETY: zone is this dict's shm zone.
        unsafe { (*self.zone).shm.size }
    }
}

impl Drop for Locked<'_> {
    fn drop(&mut self) {
        // SAFETY: we hold the mutex.
        unsafe { ngx_shmtx_unlock(ptr::addr_of_mut!((*self.d.shpool).mutex)) };
    }
}

impl Locked<'_> {
    fn sh(&self) -> *mut Shared {
        self.d.sh
    }

    fn lru(&self) -> *mut ngx_queue_t {
        // SAFETY: sh is live shared memory.
        unsafe { ptr::addr_of_mut!((*self.sh()).lru) }
    }

    pub fn debug(&self, msg: &str) {
        // SAFETY: the dict's log is its cycle's, set when the zone was added.
        unsafe { log_debug(self.d.log, msg) };
    }

    /// Free pages, in bytes.
    pub fn free_space(&self) -> usize {
        // SAFETY: we hold the mutex.
        unsafe { (*self.d.shpool).pfree * ngx_pagesize }
    }

    /// Finds a key, expired or not, without touching the LRU order.
    pub fn peek(&self, hash: u32, key: &[u8]) -> Option<*mut Entry> {
        // SAFETY: the tree's nodes are Entries; we hold the mutex.
        unsafe {
            let sentinel = (*self.sh()).tree.sentinel;
            let mut node = (*self.sh()).tree.root;
            let hash = hash as ngx_rbtree_key_t;
            while node != sentinel {
                if hash != (*node).key {
                    node = if hash < (*node).key { (*node).left } else { (*node).right };
                    continue;
                }
                match cmp_keys(key, (*(node as *mut Entry)).key()) {
                    std::cmp::Ordering::Equal => return Some(node as *mut Entry),
                    std::cmp::Ordering::Less => node = (*node).left,
                    std::cmp::Ordering::Greater => node = (*node).right,
                }
            }
            None
        }
    }

    /// Finds a key and marks it most recently used.
    pub fn lookup(&self, hash: u32, key: &[u8]) -> Found {
        match self.peek(hash, key) {
            None => Found::Missing,
            Some(e) => {
                self.touch(e);
                // SAFETY: e is a live entry.
                if unsafe { (*e).expired(now_ms()) } {
                    Found::Expired(e)
                } else {
                    Found::Live(e)
                }
            }
        }
    }

    pub fn touch(&self, e: *mut Entry) {
        // SAFETY: e is linked in the LRU queue.
        unsafe {
            q_remove(ptr::addr_of_mut!((*e).lru));
            q_insert_head(self.lru(), ptr::addr_of_mut!((*e).lru));
        }
    }

    /// Unlinks and frees an entry (and the items of a list).
    pub fn remove(&self, e: *mut Entry) {
        // SAFETY: e is a live entry of this dict; we hold the mutex.
        unsafe {
            if (*e).value_type == T_LIST {
                self.free_items(e);
            }
            q_remove(ptr::addr_of_mut!((*e).lru));
            ngx_rbtree_delete(ptr::addr_of_mut!((*self.sh()).tree), e as *mut ngx_rbtree_node_t);
            ngx_slab_free_locked(self.d.shpool, e as *mut c_void);
        }
    }

    fn free_items(&self, e: *mut Entry) {
        // SAFETY: e is a list entry; its items are slab allocations.
        unsafe {
            let head = (*e).list_head();
            let mut q = (*head).next;
            while q != head {
                let next = (*q).next;
                ngx_slab_free_locked(self.d.shpool, q as *mut c_void);
                q = next;
            }
            q_init(head);
        }
    }

    /// Frees entries from the old end of the LRU queue: with `force` the oldest one whatever
    /// its expiry, then (like without) up to two more that have expired. Returns how many.
    pub fn expire(&self, force: bool) -> usize {
        let now = now_ms();
        let mut freed = 0;
        for i in 0..3 {
            // SAFETY: the LRU queue links live entries.
            unsafe {
                let lru = self.lru();
                if (*lru).prev == lru {
                    break;
                }
                let e = entry_of_lru((*lru).prev);
                if (i > 0 || !force) && !(*e).expired(now) {
                    break;
                }
                self.remove(e);
            }
            freed += 1;
            if !force && i == 1 {
                break;
            }
        }
        freed
    }

    /// Slab memory for an entry or item, evicting the oldest entries when the zone is full
    /// (unless `safe`); `forcible` tells whether live entries were evicted.
    fn alloc(&self, size: usize, safe: bool, forcible: &mut bool) -> Option<*mut c_void> {
        // SAFETY: we hold the mutex.
        let p = unsafe { ngx_slab_alloc_locked(self.d.shpool, size) };
        if !p.is_null() {
            return Some(p);
        }
        if safe {
            return None;
        }
        for _ in 0..30 {
            if self.expire(true) == 0 {
                break;
            }
            *forcible = true;
            // SAFETY: as above.
            let p = unsafe { ngx_slab_alloc_locked(self.d.shpool, size) };
            if !p.is_null() {
                return Some(p);
            }
        }
        None
    }

    /// Creates an entry holding `value` (inserted, most recently used).
    #[allow(clippy::too_many_arguments)]
    pub fn insert(
        &self,
        hash: u32,
        key: &[u8],
        value_type: u8,
        value: &[u8],
        expires: u64,
        user_flags: u32,
        safe: bool,
        forcible: &mut bool,
    ) -> Option<*mut Entry> {
        let e = self.alloc(HEAD + key.len() + value.len(), safe, forcible)? as *mut Entry;
        // SAFETY: e is a fresh allocation of the right size.
        unsafe {
            ptr::write_bytes(e as *mut u8, 0, HEAD);
            (*e).node_key = hash as ngx_rbtree_key_t;
            (*e).key_len = key.len() as u16;
            (*e).value_len = value.len() as u32;
            ptr::copy_nonoverlapping(key.as_ptr(), (e as *mut u8).add(HEAD), key.len());
            (*e).set_value(value_type, value, expires, user_flags);
            self.link(e);
        }
        Some(e)
    }

    fn link(&self, e: *mut Entry) {
        // SAFETY: e is an unlinked, initialised entry.
        unsafe {
            ngx_rbtree_insert(ptr::addr_of_mut!((*self.sh()).tree), e as *mut ngx_rbtree_node_t);
            q_insert_head(self.lru(), ptr::addr_of_mut!((*e).lru));
        }
    }

    /// Creates an empty list entry (no eviction: a full zone fails the push).
    pub fn insert_list(&self, hash: u32, key: &[u8]) -> Option<*mut Entry> {
        let size = align8(HEAD + key.len()) + size_of::<ngx_queue_t>();
        // SAFETY: we hold the mutex.
        let e = unsafe { ngx_slab_alloc_locked(self.d.shpool, size) } as *mut Entry;
        if e.is_null() {
            return None;
        }
        // SAFETY: e is a fresh allocation of the right size.
        unsafe {
            ptr::write_bytes(e as *mut u8, 0, HEAD);
            (*e).node_key = hash as ngx_rbtree_key_t;
            (*e).key_len = key.len() as u16;
            (*e).value_type = T_LIST;
            ptr::copy_nonoverlapping(key.as_ptr(), (e as *mut u8).add(HEAD), key.len());
            q_init((*e).list_head());
            self.link(e);
        }
        Some(e)
    }

    /// Empties a list entry in place (an expired list reused by a push).
    pub fn reset_list(&self, e: *mut Entry) {
        self.free_items(e);
        // SAFETY: e is a live list entry.
        unsafe {
            (*e).expires = 0;
            (*e).value_len = 0;
        }
    }

    /// Adds an item at the front or back of a list; returns the new length.
    pub fn push(&self, e: *mut Entry, front: bool, value_type: u8, value: &[u8]) -> Option<u32> {
        // SAFETY: we hold the mutex.
        let it = unsafe { ngx_slab_alloc_locked(self.d.shpool, ITEM_HEAD + value.len()) } as *mut Item;
        if it.is_null() {
            return None;
        }
        // SAFETY: it is a fresh allocation; e a live list entry.
        unsafe {
            (*it).value_len = value.len() as u32;
            (*it).value_type = value_type;
            ptr::copy_nonoverlapping(value.as_ptr(), (it as *mut u8).add(ITEM_HEAD), value.len());
            let head = (*e).list_head();
            if front {
                q_insert_head(head, ptr::addr_of_mut!((*it).queue));
            } else {
                q_insert_tail(head, ptr::addr_of_mut!((*it).queue));
            }
            (*e).value_len += 1;
            Some((*e).value_len)
        }
    }

    /// The first or last item of a non-empty list.
    pub fn list_end(&self, e: *mut Entry, front: bool) -> *mut Item {
        // SAFETY: e is a live list entry with at least one item.
        unsafe {
            let head = (*e).list_head();
            (if front { (*head).next } else { (*head).prev }) as *mut Item
        }
    }

    /// Unlinks and frees one item of the list `e` (the entry goes with its last item).
    pub fn pop(&self, e: *mut Entry, it: *mut Item) {
        // SAFETY: it is linked in e's list.
        unsafe {
            q_remove(ptr::addr_of_mut!((*it).queue));
            ngx_slab_free_locked(self.d.shpool, it as *mut c_void);
            if (*e).value_len <= 1 {
                self.debug("lua shared dict list: empty node after pop, remove it");
                self.remove(e);
            } else {
                (*e).value_len -= 1;
                self.touch(e);
            }
        }
    }

    /// Entries from the least recently used on, as long as `visit` returns true.
    pub fn each_oldest_first(&self, mut visit: impl FnMut(*mut Entry) -> bool) {
        // SAFETY: the LRU queue links live entries; `visit` may remove the one it is given.
        unsafe {
            let lru = self.lru();
            let mut q = (*lru).prev;
            while q != lru {
                let prev = (*q).prev;
                if !visit(entry_of_lru(q)) {
                    break;
                }
                q = prev;
            }
        }
    }
}
