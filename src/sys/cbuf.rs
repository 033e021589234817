//! C buffers handed to our exported functions: byte ranges in (`*const u8` + length), fixed
//! buffers out (`*mut u8` + size) and caller-owned growable ones (`*mut *mut u8` +
//! `*mut usize`). The shims convert them
//! once; the code behind works on slices and these handles.

use std::ffi::{c_char, CStr};

/// `len` bytes at `p` (empty when `p` is null).
///
/// # Safety
/// `p` is null or points at `len` readable bytes that stay valid and unchanged for `'a`.
pub unsafe fn bytes_in<'a>(p: *const u8, len: usize) -> &'a [u8] {
    // Only null needs the stand-in (a non-null pointer with length 0 is a valid empty
    // slice). Testing `len == 0` too made LLVM combine both tests with `sete`, whose partial
    // register write waits for the register's last value: in a loop of calls that chained
    // each call to the one before (crc32_short of one byte: 3 ns a call instead of 1).
    if p.is_null() {
        return &[];
    }
    // SAFETY: the caller's contract.
    unsafe { std::slice::from_raw_parts(p, len) }
}

/// The NUL-terminated string at `p` (None when `p` is null).
///
/// # Safety
/// `p` is null or points at a NUL-terminated string that stays valid and unchanged for `'a`.
pub unsafe fn cstr_in<'a>(p: *const u8) -> Option<&'a CStr> {
    // SAFETY: the caller's contract.
    (!p.is_null()).then(|| unsafe { CStr::from_ptr(p as *const c_char) })
}

/// The `len` writable bytes at `p` (empty when `p` is null).
///
/// # Safety
/// `p` is null or points at `len` writable bytes that nothing else uses for `'a`.
pub unsafe fn bytes_out<'a>(p: *mut u8, len: usize) -> &'a mut [u8] {
    // (only null needs the stand-in: see bytes_in)
    if p.is_null() {
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

/// A caller's error buffer (`u_char *err, size_t *errlen`): `*errlen` bytes of room on entry,
/// the length of the message on return.
pub struct ErrBuf<'a> {
    buf: &'a mut [u8],
    len: Option<&'a mut usize>,
}

impl<'a> ErrBuf<'a> {
    /// # Safety
    /// `err` is null or points at `*errlen` writable bytes; `errlen` is null or valid for reads
    /// and writes; both for `'a`.
    pub unsafe fn from_raw(err: *mut u8, errlen: *mut usize) -> ErrBuf<'a> {
        if err.is_null() || errlen.is_null() {
            return ErrBuf { buf: &mut [], len: None };
        }
        // SAFETY: the caller's contract.
        unsafe { ErrBuf { buf: bytes_out(err, *errlen), len: Some(&mut *errlen) } }
    }

    /// Writes `msg` (cut to the room there is) and its length.
    pub fn set(&mut self, msg: &[u8]) {
        let Some(len) = self.len.as_mut() else { return };
        let n = msg.len().min(self.buf.len());
        self.buf[..n].copy_from_slice(&msg[..n]);
        **len = n;
    }
}

/// A caller's `const char **err` out-parameter, which only ever receives static C strings (the
/// caller reads them after the call returns, so nothing shorter-lived may go there).
/// `#[repr(transparent)]` over a nullable reference, so an export can take it as its parameter.
#[repr(transparent)]
pub struct ErrPtr<'a>(Option<&'a mut *const c_char>);

impl<'a> ErrPtr<'a> {
    /// # Safety
    /// `err` is null or valid for writes for `'a`.
    pub unsafe fn from_raw(err: *mut *const c_char) -> ErrPtr<'a> {
        // SAFETY: the caller's contract.
        ErrPtr(unsafe { err.as_mut() })
    }

    /// Points the caller's pointer at `msg`.
    pub fn set(&mut self, msg: &'static CStr) {
        if let Some(e) = self.0.as_mut() {
            **e = msg.as_ptr();
        }
    }

    /// Sets the caller's pointer to null: no error.
    pub fn clear(&mut self) {
        if let Some(e) = self.0.as_mut() {
            **e = std::ptr::null();
        }
    }
}
