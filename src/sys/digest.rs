//! nginx's MD5 and SHA-1 (the code upstream uses too), which the `ngx` crate does not bind.

use std::ffi::c_void;

/// Room for `ngx_md5_t` (88 bytes) or `ngx_sha1_t` (96 bytes), suitably aligned.
#[repr(C, align(8))]
struct HashCtx([u8; 128]);

extern "C" {
    fn ngx_md5_init(ctx: *mut c_void);
    fn ngx_md5_update(ctx: *mut c_void, data: *const c_void, size: usize);
    fn ngx_md5_final(result: *mut u8, ctx: *mut c_void);
    fn ngx_sha1_init(ctx: *mut c_void);
    fn ngx_sha1_update(ctx: *mut c_void, data: *const c_void, size: usize);
    fn ngx_sha1_final(result: *mut u8, ctx: *mut c_void);
}

/// MD5 of the concatenated `parts`.
pub fn md5(parts: &[&[u8]]) -> [u8; 16] {
    let mut ctx = HashCtx([0; 128]);
    let mut out = [0u8; 16];
    let c = ctx.0.as_mut_ptr() as *mut c_void;
    // SAFETY: ctx is large enough for ngx_md5_t; out holds the 16-byte digest.
    unsafe {
        ngx_md5_init(c);
        for p in parts {
            ngx_md5_update(c, p.as_ptr() as *const c_void, p.len());
        }
        ngx_md5_final(out.as_mut_ptr(), c);
    }
    out
}

/// SHA-1 of the concatenated `parts`.
pub fn sha1(parts: &[&[u8]]) -> [u8; 20] {
    let mut ctx = HashCtx([0; 128]);
    let mut out = [0u8; 20];
    let c = ctx.0.as_mut_ptr() as *mut c_void;
    // SAFETY: ctx is large enough for ngx_sha1_t; out holds the 20-byte digest.
    unsafe {
        ngx_sha1_init(c);
        for p in parts {
            ngx_sha1_update(c, p.as_ptr() as *const c_void, p.len());
        }
        ngx_sha1_final(out.as_mut_ptr(), c);
    }
    out
}
