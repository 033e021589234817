//! C buffers handed to our exported functions: byte ranges in (`*const u8` + length), fixed
//! buffers out (`*mut u8` + size) and caller-owned growable ones (`*mut *mut u8` +
//! `*mut usize`). The shims convert them
//! once; the code behind works on slices and these handles.

/// `len` bytes at `p` (empty when `p` is null or `len` is 0).
///
/// # Safety
/// `p` is null or points at `len` readable bytes that stay valid and unchanged for `'a`.
pub unsafe fn bytes_in<'a>(p: *const u8, len: usize) -> &'a [u8] {
    if p.is_null() || len == 0 {
        return &[];
    }
    // SAFETY: the caller's contract.
    unsafe { std::slice::from_raw_parts(p, len) }
}

/// The `len` writable bytes at `p` (empty when `p` is null or `len` is 0).
///
/// # Safety
/// `p` is null or points at `len` writable bytes that nothing else uses for `'a`.
pub unsafe fn bytes_out<'a>(p: *mut u8, len: usize) -> &'a mut [u8] {
    if p.is_null() || len == 0 {
        return &mut [];
    }
    // SAFETY: the caller's contract.
    unsafe { std::slice::from_raw_parts_mut(p, len) }
}

/// A caller's output buffer: `*buf` has room for `*len` bytes on entry; on return `*len` is the
/// length written, and a value that did not fit is in a `malloc`'ed buffer put in `*buf`
/// (the caller frees it).
pub struct OutBuf<'a> {
    buf: &'a mut *mut u8,
    len: &'a mut usize,
}

impl<'a> OutBuf<'a> {
    /// # Safety
    /// `buf` and `len` are valid for reads and writes for `'a`, and `*buf` points at `*len`
    /// writable bytes.
    pub unsafe fn from_raw(buf: *mut *mut u8, len: *mut usize) -> OutBuf<'a> {
        // SAFETY: the caller's contract.
        unsafe { OutBuf { buf: &mut *buf, len: &mut *len } }
    }

    /// Sets the length the caller reads back.
    pub fn set_len(&mut self, n: usize) {
        *self.len = n;
    }

    /// Copies `v` out (to a new `malloc`'ed buffer when it does not fit); false when out of
    /// memory.
    pub fn write(&mut self, v: &[u8]) -> bool {
        if *self.len < v.len() {
            // SAFETY: malloc has no preconditions.
            let p = unsafe { libc::malloc(v.len().max(1)) } as *mut u8;
            if p.is_null() {
                return false;
            }
            *self.buf = p;
        }
        // SAFETY: *buf has room for v.len() bytes (the caller's buffer was big enough, or it
        // is the new one).
        unsafe { std::ptr::copy_nonoverlapping(v.as_ptr(), *self.buf, v.len()) };
        *self.len = v.len();
        true
    }

    /// Writes one byte at the start of the buffer, leaving the length as it is; false when
    /// the buffer has no room.
    pub fn put_first(&mut self, b: u8) -> bool {
        if *self.len < 1 {
            return false;
        }
        // SAFETY: *buf has room for at least one byte.
        unsafe { **self.buf = b };
        true
    }
}
