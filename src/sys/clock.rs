//! nginx's clock: the cached wall time of the event loop, its monotonic milliseconds, and the
//! calendar split of a time.

use super::ngx::{ngx_cached_time, ngx_current_msec, ngx_gmtime, ngx_time_update, ngx_tm_t, time_t};

/// The cached time: seconds, milliseconds, minutes east of UTC.
#[inline]
pub fn cached() -> (i64, i64, i64) {
    // SAFETY: ngx_cached_time points at a valid slot once nginx has started.
    unsafe {
        let tp = ngx_cached_time;
        ((*tp).sec, (*tp).msec as i64, (*tp).gmtoff as i64)
    }
}

/// Milliseconds of nginx's monotonic clock.
#[inline]
pub fn monotonic_msec() -> u64 {
    // SAFETY: a plain read of nginx's event-loop clock.
    unsafe { ngx_current_msec as u64 }
}

/// Refreshes the cached time, as the event loop does.
pub fn update() {
    // SAFETY: called from the worker's thread, like the event loop's own updates.
    unsafe { ngx_time_update() }
}

/// `secs` (since the epoch) as UTC calendar fields (nginx's: year as is, month from 1).
pub fn gmtime(secs: i64) -> ngx_tm_t {
    // SAFETY: ngx_gmtime only fills the struct it is given; all-zero is a valid ngx_tm_t.
    unsafe {
        let mut tm: ngx_tm_t = std::mem::zeroed();
        ngx_gmtime(secs as time_t, &mut tm);
        tm
    }
}
