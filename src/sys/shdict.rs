//! The raw storage of a `lua_shared_dict`: one nginx shared-memory zone per dict, holding a
//! slab pool with a red-black tree of entries (keyed by the CRC32 of the key, ties broken by
//! the key bytes) and an LRU queue (most recently used first) that expiry and eviction walk
//! from the old end. All workers map the same zone; every operation holds the zone's mutex.
//!
//! `Store` is the zone, `Locked` its held mutex, and `EntryMut` one entry borrowed from the
//! lock: an entry can only be reached while the mutex is held, and only one at a time, so a
//! removed entry cannot be used again.

use std::ffi::c_void;
use std::marker::PhantomData;
use std::mem::{offset_of, size_of};
use std::ptr::{self, NonNull};

use super::ngx::*;

/// Value types, numbered as Lua's type tags (and as upstream stores them).
pub const T_NIL: u8 = 0;
pub const T_BOOLEAN: u8 = 1;
pub const T_NUMBER: u8 = 3;
pub const T_STRING: u8 = 4;
pub const T_LIST: u8 = 5;

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
    value_type: u8,
    key_len: u16,
    /// Value bytes, or the number of items of a list.
    value_len: u32,
    /// Milliseconds since the epoch; 0 = never.
    expires: u64,
    lru: ngx_queue_t,
    user_flags: u32,
}

/// One element of a list value.
#[repr(C)]
pub struct Item {
    queue: ngx_queue_t,
    value_len: u32,
    value_type: u8,
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

/// Orders equal hashes by key bytes, as lookups do (nginx's `ngx_memn2cmp`: bytes first,
/// then length).
fn cmp_keys(a: &[u8], b: &[u8]) -> std::cmp::Ordering {
    let n = a.len().min(b.len());
    a[..n].cmp(&b[..n]).then(a.len().cmp(&b.len()))
}

/// The tree's insert callback: by hash, then by key bytes.
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

// ---- the zone ------------------------------------------------------------------------------

/// A dict's zone: its slab pool (at the start of the zone) and the root allocated in it.
#[derive(Clone, Copy)]
pub struct Store {
    pool: NonNull<ngx_slab_pool_t>,
    sh: NonNull<Shared>,
}

impl Store {
    /// Builds an empty dict in a fresh zone; None when the pool is out of memory. `log_ctx`
    /// is what nginx appends to the pool's "no memory" messages.
    ///
    /// # Safety
    /// `pool` is the slab pool at the start of a freshly made zone that stays mapped while
    /// the handle is used.
    pub unsafe fn create(pool: *mut ngx_slab_pool_t, log_ctx: &str) -> Option<Store> {
        let pool = NonNull::new(pool)?;
        let pool_p = pool.as_ptr();
        // SAFETY: the pool is a live slab pool; nobody else uses the fresh zone yet.
        let sh = NonNull::new(unsafe { ngx_slab_alloc(pool_p, size_of::<Shared>()) } as *mut Shared)?;
        let sh_p = sh.as_ptr();
        // SAFETY: sh is a fresh allocation of a Shared; the tree and the queue are set up
        // as nginx's ngx_rbtree_init and ngx_queue_init do.
        unsafe {
            (*pool_p).data = sh_p as *mut c_void;
            let sentinel = ptr::addr_of_mut!((*sh_p).sentinel);
            (*sentinel).color = 0;
            (*sh_p).tree.root = sentinel;
            (*sh_p).tree.sentinel = sentinel;
            (*sh_p).tree.insert = Some(insert_value);
            ngx_queue_init(ptr::addr_of_mut!((*sh_p).lru));
        }
        let ctx = format!("{log_ctx}\0");
        // SAFETY: as above.
        let p = unsafe { ngx_slab_alloc(pool_p, ctx.len()) } as *mut u8;
        if p.is_null() {
            return None;
        }
        // SAFETY: p has room for ctx; the pool keeps it as a C string.
        unsafe {
            ptr::copy_nonoverlapping(ctx.as_ptr(), p, ctx.len());
            (*pool_p).log_ctx = p;
            (*pool_p).set_log_nomem(0);
        }
        Some(Store { pool, sh })
    }

    /// The dict a zone already holds: `old`'s root (a reload), else the one the pool points
    /// at (a zone kept from an earlier cycle).
    ///
    /// # Safety
    /// `pool` is the slab pool of a zone `create` set up, mapped while the handle is used;
    /// `old` is the handle of the same zone.
    pub unsafe fn attach(pool: *mut ngx_slab_pool_t, old: Option<Store>) -> Option<Store> {
        let pool = NonNull::new(pool)?;
        let sh = match old {
            Some(o) => o.sh,
            // SAFETY: create stored the root in the pool's data.
            None => NonNull::new(unsafe { (*pool.as_ptr()).data } as *mut Shared)?,
        };
        Some(Store { pool, sh })
    }

    /// Takes the zone's mutex (released when the guard drops, also when unwinding).
    pub fn lock(&self) -> Locked<'_> {
        // SAFETY: the pool is live (the constructors' contract); its mutex guards the zone.
        unsafe { ngx_shmtx_lock(ptr::addr_of_mut!((*self.pool.as_ptr()).mutex)) };
        Locked { pool: self.pool.as_ptr(), sh: self.sh.as_ptr(), _store: PhantomData }
    }
}

// ---- locked access -------------------------------------------------------------------------

/// A dict with its mutex held.
pub struct Locked<'s> {
    pool: *mut ngx_slab_pool_t,
    sh: *mut Shared,
    _store: PhantomData<&'s Store>,
}

impl Drop for Locked<'_> {
    fn drop(&mut self) {
        // SAFETY: we hold the mutex.
        unsafe { ngx_shmtx_unlock(ptr::addr_of_mut!((*self.pool).mutex)) };
    }
}

/// What a key lookup found.
pub enum Found<'g> {
    Missing,
    Live(EntryMut<'g>),
    /// Present but past its expiry (still usable by `get_stale`, or reusable in place).
    Expired(EntryMut<'g>),
}

impl Locked<'_> {
    fn lru(&self) -> *mut ngx_queue_t {
        // SAFETY: sh is the live root.
        unsafe { ptr::addr_of_mut!((*self.sh).lru) }
    }

    fn entry(&mut self, e: NonNull<Entry>) -> EntryMut<'_> {
        EntryMut { e, pool: self.pool, sh: self.sh, _lock: PhantomData }
    }

    /// Free pages, in bytes.
    pub fn free_space(&self) -> usize {
        // SAFETY: we hold the mutex.
        unsafe { (*self.pool).pfree * ngx_pagesize }
    }

    /// Finds a key, expired or not, without touching the LRU order.
    pub fn peek(&mut self, hash: u32, key: &[u8]) -> Option<EntryMut<'_>> {
        // SAFETY: the tree's nodes are Entries; we hold the mutex.
        let found = unsafe {
            let sentinel = (*self.sh).tree.sentinel;
            let mut node = (*self.sh).tree.root;
            let hash = hash as ngx_rbtree_key_t;
            loop {
                if node == sentinel {
                    break None;
                }
                if hash != (*node).key {
                    // Volatile reads keep this a branch, as in the C module's walk: LLVM
                    // otherwise loads from a selected address (setbe; load), so every level
                    // waits for its comparison before the next load, while a walk repeated
                    // for one key (a counter, a miss) takes turns a branch predicts. With
                    // 1,000 keys, `get` of a missing key and `incr` ran 2x slower than C's.
                    let left = ptr::read_volatile(ptr::addr_of!((*node).left));
                    let right = ptr::read_volatile(ptr::addr_of!((*node).right));
                    node = if hash < (*node).key { left } else { right };
                    continue;
                }
                match cmp_keys(key, (*(node as *mut Entry)).key()) {
                    std::cmp::Ordering::Equal => break NonNull::new(node as *mut Entry),
                    std::cmp::Ordering::Less => node = (*node).left,
                    std::cmp::Ordering::Greater => node = (*node).right,
                }
            }
        };
        found.map(|e| self.entry(e))
    }

    /// Finds a key and marks it most recently used.
    pub fn lookup(&mut self, hash: u32, key: &[u8]) -> Found<'_> {
        match self.peek(hash, key) {
            None => Found::Missing,
            Some(mut e) => {
                e.touch();
                if e.expired(now_ms()) {
                    Found::Expired(e)
                } else {
                    Found::Live(e)
                }
            }
        }
    }

    /// The least recently used entry.
    fn oldest(&mut self) -> Option<EntryMut<'_>> {
        let lru = self.lru();
        // SAFETY: the LRU queue links the lru fields of live entries.
        let e = unsafe {
            let q = (*lru).prev;
            if q == lru {
                return None;
            }
            NonNull::new((q as *mut u8).sub(offset_of!(Entry, lru)) as *mut Entry)
        };
        e.map(|e| self.entry(e))
    }

    /// Frees entries from the old end of the LRU queue: with `force` the oldest one whatever
    /// its expiry, then (like without) up to two more that have expired. Returns how many.
    pub fn expire(&mut self, force: bool) -> usize {
        let now = now_ms();
        let mut freed = 0;
        for i in 0..3 {
            let Some(e) = self.oldest() else { break };
            if (i > 0 || !force) && !e.expired(now) {
                break;
            }
            e.remove();
            freed += 1;
            if !force && i == 1 {
                break;
            }
        }
        freed
    }

    /// Entries from the least recently used on, as long as `visit` returns true. `visit` may
    /// remove the entry it is given.
    pub fn each_oldest_first(&mut self, mut visit: impl FnMut(EntryMut<'_>) -> bool) {
        let lru = self.lru();
        // SAFETY: the LRU queue links live entries.
        let mut q = unsafe { (*lru).prev };
        while q != lru {
            // SAFETY: q is the lru field of a live entry; its neighbour is read before `visit`
            // can free it.
            let (prev, e) = unsafe {
                ((*q).prev, NonNull::new_unchecked((q as *mut u8).sub(offset_of!(Entry, lru)) as *mut Entry))
            };
            if !visit(self.entry(e)) {
                break;
            }
            q = prev;
        }
    }

    /// Slab memory, evicting the oldest entries when the zone is full (unless `safe`);
    /// `forcible` tells whether live entries were evicted.
    fn alloc(&mut self, size: usize, safe: bool, forcible: &mut bool) -> Option<NonNull<u8>> {
        // SAFETY: we hold the mutex.
        let p = unsafe { ngx_slab_alloc_locked(self.pool, size) } as *mut u8;
        if !p.is_null() || safe {
            return NonNull::new(p);
        }
        for _ in 0..30 {
            if self.expire(true) == 0 {
                break;
            }
            *forcible = true;
            // SAFETY: as above.
            let p = unsafe { ngx_slab_alloc_locked(self.pool, size) } as *mut u8;
            if !p.is_null() {
                return NonNull::new(p);
            }
        }
        None
    }

    /// Fills the header and key of a fresh entry and links it (most recently used).
    fn link(&mut self, p: NonNull<u8>, hash: u32, key: &[u8], value_type: u8, value_len: u32) -> EntryMut<'_> {
        let e = p.as_ptr() as *mut Entry;
        // SAFETY: p is a fresh allocation with room for the header and the key; it is
        // linked into the tree and the queue the guard holds.
        unsafe {
            ptr::write_bytes(p.as_ptr(), 0, HEAD);
            (*e).node_key = hash as ngx_rbtree_key_t;
            (*e).key_len = key.len() as u16;
            (*e).value_type = value_type;
            (*e).value_len = value_len;
            ptr::copy_nonoverlapping(key.as_ptr(), p.as_ptr().add(HEAD), key.len());
            ngx_rbtree_insert(ptr::addr_of_mut!((*self.sh).tree), e as *mut ngx_rbtree_node_t);
            ngx_queue_insert_after(self.lru(), ptr::addr_of_mut!((*e).lru));
        }
        self.entry(p.cast())
    }

    /// Creates an entry holding `value` (inserted, most recently used).
    #[allow(clippy::too_many_arguments)]
    pub fn insert(
        &mut self,
        hash: u32,
        key: &[u8],
        value_type: u8,
        value: &[u8],
        expires: u64,
        user_flags: u32,
        safe: bool,
        forcible: &mut bool,
    ) -> Option<EntryMut<'_>> {
        debug_assert!(value_type != T_LIST);
        let p = self.alloc(HEAD + key.len() + value.len(), safe, forcible)?;
        let mut e = self.link(p, hash, key, value_type, value.len() as u32);
        e.set_value(value_type, value, expires, user_flags);
        Some(e)
    }

    /// Creates an empty list entry (no eviction: a full zone fails the push).
    pub fn insert_list(&mut self, hash: u32, key: &[u8]) -> Option<EntryMut<'_>> {
        let size = align8(HEAD + key.len()) + size_of::<ngx_queue_t>();
        // SAFETY: we hold the mutex.
        let p = NonNull::new(unsafe { ngx_slab_alloc_locked(self.pool, size) } as *mut u8)?;
        let e = self.link(p, hash, key, T_LIST, 0);
        // SAFETY: the list head fits after the key (the size above).
        unsafe { ngx_queue_init(e.list_head()) };
        Some(e)
    }
}

// ---- one entry -----------------------------------------------------------------------------

/// An entry of a locked dict; it borrows the lock, so no other entry is reached meanwhile.
pub struct EntryMut<'g> {
    e: NonNull<Entry>,
    pool: *mut ngx_slab_pool_t,
    sh: *mut Shared,
    _lock: PhantomData<&'g mut ()>,
}

impl Entry {
    pub fn key(&self) -> &[u8] {
        // SAFETY: key_len key bytes follow the header of every entry.
        unsafe { std::slice::from_raw_parts((self as *const Entry as *const u8).add(HEAD), self.key_len as usize) }
    }

    /// The stored value bytes (empty for a list).
    pub fn value(&self) -> &[u8] {
        if self.value_type == T_LIST {
            return &[];
        }
        // SAFETY: value_len value bytes follow the key.
        unsafe {
            std::slice::from_raw_parts(
                (self as *const Entry as *const u8).add(HEAD + self.key_len as usize),
                self.value_len as usize,
            )
        }
    }

    pub fn value_type(&self) -> u8 {
        self.value_type
    }

    /// The stored size of a value (the number of items of a list).
    pub fn value_len(&self) -> usize {
        self.value_len as usize
    }

    pub fn expires(&self) -> u64 {
        self.expires
    }

    pub fn user_flags(&self) -> u32 {
        self.user_flags
    }

    pub fn expired(&self, now: u64) -> bool {
        self.expires != 0 && self.expires <= now
    }

    pub fn list_len(&self) -> u32 {
        self.value_len
    }
}

impl std::ops::Deref for EntryMut<'_> {
    type Target = Entry;
    fn deref(&self) -> &Entry {
        // SAFETY: the entry is live while the lock it borrows is held.
        unsafe { self.e.as_ref() }
    }
}

impl EntryMut<'_> {
    fn raw(&self) -> *mut Entry {
        self.e.as_ptr()
    }

    fn list_head(&self) -> *mut ngx_queue_t {
        // SAFETY: a list entry was allocated with an aligned queue head after its key.
        unsafe { (self.raw() as *mut u8).add(align8(HEAD + self.key_len as usize)) as *mut ngx_queue_t }
    }

    /// Overwrites the value in place: same size, not a list (callers check).
    pub fn set_value(&mut self, value_type: u8, value: &[u8], expires: u64, user_flags: u32) {
        assert!(
            value.len() == self.value_len as usize && self.value_type != T_LIST && value_type != T_LIST,
            "a shared dict value overwritten in place by one of another size, or a list"
        );
        let e = self.raw();
        // SAFETY: the entry has room for value_len bytes after its key.
        unsafe {
            ptr::copy_nonoverlapping(value.as_ptr(), (e as *mut u8).add(HEAD + (*e).key_len as usize), value.len());
            (*e).value_type = value_type;
            (*e).expires = expires;
            (*e).user_flags = user_flags;
        }
    }

    pub fn set_expires(&mut self, expires: u64) {
        // SAFETY: the entry is live and ours while the lock is held.
        unsafe { (*self.raw()).expires = expires };
    }

    /// Marks the entry most recently used.
    pub fn touch(&mut self) {
        let (sh, e) = (self.sh, self.raw());
        // SAFETY: the entry is linked in the dict's LRU queue, whose head is in the root.
        unsafe {
            ngx_queue_remove(ptr::addr_of_mut!((*e).lru));
            ngx_queue_insert_after(ptr::addr_of_mut!((*sh).lru), ptr::addr_of_mut!((*e).lru));
        }
    }

    /// Unlinks and frees the entry (and the items of a list).
    pub fn remove(self) {
        if self.value_type == T_LIST {
            self.free_items();
        }
        let e = self.raw();
        // SAFETY: e is linked in the tree and the queue; nothing refers to it afterwards
        // (this handle was the only one).
        unsafe {
            ngx_queue_remove(ptr::addr_of_mut!((*e).lru));
            ngx_rbtree_delete(ptr::addr_of_mut!((*self.sh).tree), e as *mut ngx_rbtree_node_t);
            ngx_slab_free_locked(self.pool, e as *mut c_void);
        }
    }

    fn free_items(&self) {
        let head = self.list_head();
        // SAFETY: a list's items are slab allocations linked from its head.
        unsafe {
            let mut q = (*head).next;
            while q != head {
                let next = (*q).next;
                ngx_slab_free_locked(self.pool, q as *mut c_void);
                q = next;
            }
            ngx_queue_init(head);
        }
    }

    /// Empties a list entry in place (an expired list reused by a push).
    pub fn reset_list(&mut self) {
        if self.value_type != T_LIST {
            return;
        }
        self.free_items();
        // SAFETY: the entry is live and ours while the lock is held.
        unsafe {
            (*self.raw()).expires = 0;
            (*self.raw()).value_len = 0;
        }
    }

    /// Adds an item at the front or back of a list; returns the new length (None when out of
    /// memory or not a list).
    pub fn push(&mut self, front: bool, value_type: u8, value: &[u8]) -> Option<u32> {
        if self.value_type != T_LIST {
            return None;
        }
        // SAFETY: we hold the mutex.
        let it = unsafe { ngx_slab_alloc_locked(self.pool, ITEM_HEAD + value.len()) } as *mut Item;
        if it.is_null() {
            return None;
        }
        let head = self.list_head();
        let e = self.raw();
        // SAFETY: it is a fresh allocation of the right size; head the list's live queue.
        unsafe {
            (*it).value_len = value.len() as u32;
            (*it).value_type = value_type;
            ptr::copy_nonoverlapping(value.as_ptr(), (it as *mut u8).add(ITEM_HEAD), value.len());
            if front {
                ngx_queue_insert_after(head, ptr::addr_of_mut!((*it).queue));
            } else {
                ngx_queue_insert_before(head, ptr::addr_of_mut!((*it).queue));
            }
            (*e).value_len += 1;
            Some((*e).value_len)
        }
    }

    /// The first or last item of a list (None when it has none).
    pub fn list_end(&self, front: bool) -> Option<&Item> {
        if self.value_type != T_LIST {
            return None;
        }
        let head = self.list_head();
        // SAFETY: the list's queue links live items.
        unsafe {
            let q = if front { (*head).next } else { (*head).prev };
            if q == head {
                None
            } else {
                Some(&*(q as *const Item))
            }
        }
    }

    /// Unlinks and frees the first or last item of a list; the entry goes with its last item
    /// (then this returns true).
    pub fn pop(mut self, front: bool) -> bool {
        if self.value_type != T_LIST {
            return false;
        }
        let head = self.list_head();
        // SAFETY: the list's queue links live items, each a slab allocation.
        unsafe {
            let q = if front { (*head).next } else { (*head).prev };
            if q != head {
                ngx_queue_remove(q);
                ngx_slab_free_locked(self.pool, q as *mut c_void);
            }
        }
        if self.value_len <= 1 {
            self.remove();
            return true;
        }
        // SAFETY: the entry is live and ours while the lock is held.
        unsafe { (*self.raw()).value_len -= 1 };
        self.touch();
        false
    }
}

impl Item {
    pub fn value(&self) -> &[u8] {
        // SAFETY: value_len bytes follow the item header.
        unsafe {
            std::slice::from_raw_parts((self as *const Item as *const u8).add(ITEM_HEAD), self.value_len as usize)
        }
    }

    pub fn value_type(&self) -> u8 {
        self.value_type
    }
}
