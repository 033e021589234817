//! `StreamSession`: a safe handle on a live nginx stream session for the length of one nginx
//! callback (a phase handler, a balancer hook), with the few things the phase handlers do to
//! it directly: its configuration slots, log, preread buffer, phase engine and finalization.

use std::marker::PhantomData;
use std::ptr::{self, NonNull};

use super::conf::ConfSlot;
use super::ngx::*;

/// Not `Copy`: `finalize_session` consumes it, since the session may be freed there.
pub struct StreamSession<'a> {
    s: NonNull<ngx_stream_session_t>,
    _s: PhantomData<&'a mut ngx_stream_session_t>,
}

impl<'a> StreamSession<'a> {
    /// # Safety
    /// `s` is null or a live stream session (with its connection) that stays live while the
    /// handle is used: the handle must not outlive the callback that received `s`, nor be used
    /// after `finalize`.
    pub unsafe fn from_raw(s: *mut ngx_stream_session_t) -> Option<StreamSession<'a>> {
        NonNull::new(s).map(|s| StreamSession { s, _s: PhantomData })
    }

    /// For nginx and runtime functions that take the session.
    pub fn as_ptr(&self) -> *mut ngx_stream_session_t {
        self.s.as_ptr()
    }

    fn raw(&self) -> &ngx_stream_session_t {
        // SAFETY: the session is live (from_raw's contract).
        unsafe { self.s.as_ref() }
    }

    /// The session's client connection.
    pub fn connection(&self) -> *mut ngx_connection_t {
        self.raw().connection
    }

    /// The connection's log.
    pub fn log(&self) -> Log {
        // SAFETY: a live session's connection has a log that lives as long as it.
        unsafe { Log::from_raw((*self.connection()).log) }.expect("a stream connection has a log")
    }

    /// The module's server configuration of the session's server.
    pub fn srv_conf<T: ConfSlot>(&self) -> Option<&'a T> {
        // SAFETY: every session carries the server confs of all stream modules; ours holds a
        // T (ConfSlot's contract) and lives as long as the cycle.
        unsafe { (*self.raw().srv_conf.add(T::ctx_index()) as *const T).as_ref() }
    }

    /// The module's main configuration, read-only (a session's VM and handlers).
    pub fn main_conf<T: ConfSlot>(&self) -> Option<&'a T> {
        // SAFETY: as srv_conf, for the main confs.
        unsafe { (*self.raw().main_conf.add(T::ctx_index()) as *const T).as_ref() }
    }

    /// Runs `f` with the module's main configuration borrowed (it holds per-process counters).
    pub fn with_main_conf<T: ConfSlot, R>(&self, f: impl FnOnce(&mut T) -> R) -> Option<R> {
        // SAFETY: as srv_conf for the main confs; the borrow ends with f, which is given nothing
        // that could reach the configuration again.
        unsafe { (*self.raw().main_conf.add(T::ctx_index()) as *mut T).as_mut() }.map(f)
    }

    /// The first `n` bytes of nginx's preread buffer, when that many have arrived.
    pub fn peeked(&self, n: usize) -> Option<&'a [u8]> {
        // SAFETY: the connection's buffer, when set, holds unread bytes in [pos, last) and lives
        // as long as the connection.
        unsafe {
            let b = (*self.connection()).buffer;
            if b.is_null() || ((*b).last.offset_from((*b).pos) as usize) < n {
                return None;
            }
            Some(std::slice::from_raw_parts((*b).pos, n))
        }
    }

    /// `ngx_stream_finalize_session`: the handle must not be used afterwards.
    pub fn finalize_session(self, rc: ngx_uint_t) {
        // SAFETY: the session is live; the caller drops the handle (it is finalized).
        unsafe { ngx_stream_finalize_session(self.as_ptr(), rc) }
    }

    /// Runs the session's phases again from its current handler, with nginx's own handler on
    /// the client's write events (a phase handler that waited is done). The session may end
    /// there, so the handle is consumed.
    pub fn run_phases(self) {
        // SAFETY: the session and its connection are live; nginx's phase runner takes it.
        unsafe {
            (*(*self.connection()).write).handler = Some(ngx_stream_session_handler);
            ngx_stream_core_run_phases(self.as_ptr());
        }
    }

    /// Moves the running phase handler behind the other handlers of its phase group. Returns
    /// true when it moved, so the caller lets the next handler run.
    pub fn postpone_to_phase_end(&self) -> bool {
        // SAFETY: a plain read of the core module's index, set by nginx.
        let core = unsafe { (*ptr::addr_of!(ngx_stream_core_module)).ctx_index };
        // SAFETY: the stream core's phase engine is a flat array; the running handler (at
        // s->phase_handler) and its group's end (`next` - 1) are inside it, and nothing else
        // reads the array while we reorder it.
        unsafe {
            let s = self.s.as_ptr();
            let cmcf = *(*s).main_conf.add(core) as *mut ngx_stream_core_main_conf_t;
            let ph = (*cmcf).phase_engine.handlers;
            let cur = ph.add((*s).phase_handler as usize);
            let last = ph.add((*cur).next - 1);
            if cur >= last {
                return false;
            }
            let tmp = ptr::read(cur);
            ptr::copy(cur.add(1), cur, last.offset_from(cur) as usize);
            ptr::write(last, tmp);
            (*s).phase_handler -= 1; // the checker's ++ lands on the handler now at this index
            true
        }
    }
}
