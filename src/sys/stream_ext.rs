//! More of what the runtime reads from a stream session through `StreamInfo`: its transport,
//! its addresses, a complex value evaluated for it, and the running cycle's prefix.

use super::ngx::*;
use super::stream::StreamInfo;

impl<'s> StreamInfo<'s> {
    /// Whether the session is a UDP one (a datagram connection).
    pub fn is_udp(&self) -> bool {
        // SAFETY: the session is live for 's (from_raw's contract), and so is its connection.
        unsafe { (*(*self.as_ptr()).connection).type_ == libc::SOCK_DGRAM }
    }

    /// The client's address as text (empty when nginx has none).
    pub fn client_text(&self) -> &'s [u8] {
        // SAFETY: the session is live for 's (from_raw's contract), and so is its connection
        // with its address text (in the connection's pool).
        unsafe { ngx_bytes(&(*(*self.as_ptr()).connection).addr_text) }
    }

    /// The listening socket's address as text (empty when none).
    pub fn server_text(&self) -> &'s [u8] {
        // SAFETY: as client_text; a listening socket lives as long as the cycle, which
        // outlives its sessions.
        unsafe {
            let ls = (*(*self.as_ptr()).connection).listening;
            if ls.is_null() {
                return &[];
            }
            ngx_bytes(&(*ls).addr_text)
        }
    }

    /// `cv` evaluated for this session (none when nginx fails to).
    ///
    /// # Safety
    /// `cv` is a complex value compiled for the stream module in the running cycle.
    pub unsafe fn complex_value(&self, cv: *mut ngx_stream_complex_value_t) -> Option<&'s [u8]> {
        let mut out = ngx_str_t { len: 0, data: std::ptr::null_mut() };
        // SAFETY: the caller's contract; the session is live for 's.
        if unsafe { ngx_stream_complex_value(self.as_ptr(), cv, &mut out) } != NGX_OK as isize {
            return None;
        }
        if out.data.is_null() || out.len == 0 {
            return Some(&[]);
        }
        // SAFETY: nginx made the text in the session's pool (or it is the compiled value's own),
        // live for 's.
        Some(unsafe { std::slice::from_raw_parts(out.data, out.len) })
    }
}

/// The running cycle's prefix (where relative paths start).
pub fn running_prefix() -> Vec<u8> {
    // SAFETY: ngx_cycle is the running cycle, whose prefix is set once configured.
    unsafe { ngx_bytes(&(*ngx_cycle).prefix) }.to_vec()
}
