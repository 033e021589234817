//! Host names of cosocket peers for `udp.rs`'s `setpeername`, through the `resolver` of the
//! session's server (`sys::resolver`): the asking thread waits, and the answer (a sockaddr
//! with the port set, or upstream's error text) goes to the caller's `done` function. TCP
//! cosockets own their query (`tcp/connect.rs`).

use std::ffi::c_void;

use crate::runtime::session::Session;
use crate::runtime::thread::Thread;
use crate::sys::resolver::{resolve, Answer, Query, Resolver, Started};
use crate::sys::*;

/// What the caller does with the answer of a resolution that had to wait.
pub type Done = unsafe fn(*mut Session, *mut Thread, *mut c_void, Result<Vec<u8>, String>);
/// Tells the caller a wait was cancelled (the thread was killed or the session ended).
pub type Cancelled = unsafe fn(*mut c_void);

pub enum Resolve {
    /// The thread must yield; `done` is called later.
    Waiting,
    /// Answered at once (from the resolver's cache, or an error).
    Ready(Result<Vec<u8>, String>),
}

struct Wait {
    sess: *mut Session,
    thread: *mut Thread,
    data: *mut c_void,
    done: Done,
    cancelled: Cancelled,
    query: Option<Query>,
}

/// The resolver of a session's server (timers use the first server's).
pub fn resolver_of(sess: &Session) -> Resolver {
    Resolver::of(sess.stream())
}

/// Starts resolving `host` for the running thread of `sess`.
///
/// # Safety
/// `sess` is the running session, with a running thread.
pub unsafe fn start(
    sess: *mut Session,
    host: &[u8],
    port: u16,
    data: *mut c_void,
    done: Done,
    cancelled: Cancelled,
) -> Resolve {
    // SAFETY: sess is the running session (the caller's contract); the wait box lives until
    // answered or cancelled.
    unsafe {
        let t = (*sess).cur;
        let w = Box::into_raw(Box::new(Wait { sess, thread: t, data, done, cancelled, query: None }));
        match resolve(resolver_of(&*sess), host, port, answered, w as *mut c_void) {
            Started::Ready(answer) => {
                drop(Box::from_raw(w));
                Resolve::Ready(answer)
            }
            Started::Waiting(q) => {
                (*w).query = Some(q);
                (*t).pending = Some(cancel);
                (*t).wait_obj = w as *mut c_void;
                Resolve::Waiting
            }
        }
    }
}

/// The resolver's answer for a waiting thread.
unsafe fn answered(data: *mut c_void, answer: Answer) {
    // SAFETY: data is our wait box, live until answered or cancelled; its query is answered
    // (dropping it does nothing more).
    unsafe {
        let wait = Box::from_raw(data as *mut Wait);
        (*wait.thread).pending = None;
        (*wait.thread).wait_obj = std::ptr::null_mut();
        (wait.done)(wait.sess, wait.thread, wait.data, answer);
    }
}

unsafe fn cancel(_sess: *mut Session, t: *mut Thread) {
    // SAFETY: the thread's wait object is our wait box.
    unsafe {
        let w = (*t).wait_obj as *mut Wait;
        (*t).wait_obj = std::ptr::null_mut();
        if w.is_null() {
            return;
        }
        let wait = Box::from_raw(w);
        if wait.query.as_ref().is_some_and(Query::pending) {
            log_debug((*wait.sess).log(), "stream lua tcp socket abort resolver");
        }
        drop(wait.query);
        (wait.cancelled)(wait.data);
    }
}
