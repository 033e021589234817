//! Per-session Lua state: which phase runs, the entry coroutine, `ngx.ctx`, exit status and
//! output buffers. It lives in the connection pool and is dropped by the pool's cleanup.

use std::ffi::c_int;
use std::ptr;

use crate::ngx_callbacks;
use crate::runtime::thread::{Status as ThreadStatus, Thread, ThreadKey};
use crate::runtime::thread_list::ThreadList;
use crate::sys::downstream::ChainList;
use crate::sys::recycled::Recycled;
use crate::sys::registry::{Key, Slots, WorkerSlots};
use crate::sys::stream::{HostSession, StreamInfo, StreamSession};
use crate::sys::worker_local::WorkerLocal;
use crate::sys::*;

/// A coroutine operation Lua asked the scheduler for (it yields to do it).
#[derive(Clone, Copy)]
pub enum CoOp {
    /// `coroutine.resume`: run this coroutine with that many arguments on its stack.
    Resume(ThreadKey, c_int),
    /// `coroutine.yield` in a user coroutine, with that many values.
    Yield(c_int),
}

/// Upstream's context bits (`NGX_STREAM_LUA_CONTEXT_*`), also returned through the C ABI.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(i32)]
#[allow(dead_code)] // phases of later milestones
pub enum Phase {
    Content = 0x0001,
    Log = 0x0002,
    Timer = 0x0004,
    InitWorker = 0x0008,
    Balancer = 0x0010,
    Preread = 0x0020,
    SslCert = 0x0040,
    SslClientHello = 0x0080,
}

impl Phase {
    /// Where Lua may wait (sleep, cosockets, semaphores, light threads): the phases that run
    /// in a coroutine nginx resumes on events.
    pub const YIELDABLE: &'static [Phase] =
        &[Phase::Content, Phase::Preread, Phase::Timer, Phase::SslCert, Phase::SslClientHello];

    /// The wording of `API disabled in the context of ...`.
    pub fn directive_name(self) -> &'static str {
        match self {
            Phase::Content => "content_by_lua*",
            Phase::Log => "log_by_lua*",
            Phase::Timer => "ngx.timer",
            Phase::InitWorker => "init_worker_by_lua*",
            Phase::Balancer => "balancer_by_lua*",
            Phase::Preread => "preread_by_lua*",
            Phase::SslCert => "ssl_certificate_by_lua*",
            Phase::SslClientHello => "ssl_client_hello_by_lua*",
        }
    }
}

/// A function run with its data when the session ends.
/// What runs when the session ends: a function given its owner's key (a socket's) and the
/// session, which has left the session table and let go of its threads by then.
pub type Cleanup = (fn(Key, &Session), Key);

pub struct Session {
    /// Unique in the worker: what a request socket object names its session by (a key's
    /// slot is reused by later sessions; an id never is).
    pub id: u64,
    /// Its name in the worker's session table (how its threads reach it).
    pub key: SessionKey,
    /// The nginx session it is attached to (none for a session-less context).
    pub s: HostSession,
    /// The VM's main state.
    pub l: MainState,
    pub phase: Phase,
    /// The Lua threads of the running phase, the entry thread first.
    pub threads: ThreadList,
    /// The thread Lua code runs in right now (`ThreadKey::NONE` before the first resume).
    pub current: ThreadKey,
    /// Threads ready to run again (with how many values they are resumed), in order.
    pub posted: std::collections::VecDeque<(ThreadKey, c_int)>,
    /// The entry thread has returned while light threads still run.
    pub entry_finished: bool,
    /// `ngx.exit` was called with this code.
    pub exit_code: Option<isize>,
    /// Reference of the `ngx.ctx` table in the registry's ctx tables, or LUA_NOREF.
    pub ctx_ref: c_int,
    pub out_free: ChainList,
    pub out_busy: ChainList,
    /// The session's first output, kept back until the Lua code waits or ends (see
    /// `runtime::downstream::write`).
    pub out_deferred: ChainList,
    pub code_cache: bool,
    /// The session's private VM (`lua_code_cache off`); dropped after the fields above.
    #[allow(dead_code)] // held for its Drop
    pub own_vm: Option<crate::runtime::vm::VmRef>,
    /// What only some sessions use, made on first use (`rare_mut`).
    rare: Option<Box<Rare>>,
    /// What the phase does once the entry thread has ended.
    pub on_done: Option<fn(crate::runtime::live::LiveSession, crate::runtime::scheduler::Outcome)>,
    /// `ngx.req.socket()` state, once acquired.
    /// (The request socket's state is the API's: the runtime only keeps it with the session.)
    pub req_sock: Option<Box<dyn std::any::Any>>,
    pub content_started: bool,
    /// The server's `lua_socket_send_timeout`: how long output may take to drain at the end.
    pub send_timeout: ngx_msec_t,
    /// `ngx.eof()` was called: output is refused from now on.
    pub eof: bool,
    /// Lua code has written to the client (or its first output is deferred).
    pub output_started: bool,
    /// A phase handler of ours is on the stack (nginx called it just now).
    pub in_handler: bool,
    /// `ngx.req.socket()` was taken in a UDP session.
    pub udp_sock_taken: bool,
    /// Run when the session ends, like upstream's `ngx_stream_lua_cleanup_add` (a cosocket
    /// closes its connection); a slot is emptied when its owner goes first.
    pub cleanups: Vec<Option<Cleanup>>,
}

// Every connection running Lua holds one (the sleep row of scripts/bench/issue14.sh counts it):
// what only some sessions use stays in `Rare`.
const _: () = assert!(std::mem::size_of::<Session>() <= 232);

/// The parts of a session that only some use (light threads, user coroutines, `ngx.on_abort`,
/// `ngx.flush(true)`, the preread phase, `balancer_by_lua*`, a timer's or init_worker's own
/// log): boxed apart, so that a plain session carries one pointer for all of them.
pub struct Rare {
    /// A thread just spawned, to run before its parent (with its argument count).
    pub spawned: Option<(ThreadKey, c_int)>,
    /// The `ngx.on_abort` callback's thread, waiting for a client abort.
    pub on_abort: Option<ThreadKey>,
    /// A `coroutine.resume`/`yield` to carry out.
    pub co_op: Option<CoOp>,
    /// A stand-in session's report to its creator when its thread ends (`runtime::detached`,
    /// whose `finish` the scheduler calls instead of an `on_done`).
    pub detached_done: Option<fn(crate::runtime::scheduler::Outcome)>,
    /// The threads waiting in `ngx.flush(true)` for nginx's buffered output to leave.
    pub flush_waiters: Vec<ThreadKey>,
    /// What the preread handler returns once its Lua code is done.
    pub preread_rc: Option<ngx_int_t>,
    /// `peek(n)` waits for n bytes in the preread buffer.
    pub peek_need: Option<usize>,
    /// While `balancer_by_lua*` runs: the session's balancer state, for `ngx.balancer`.
    pub balancer: *mut crate::sys::upstream::Peer,
    /// The log of a session-less context, boxed with the text it adds to each line (a
    /// connection's session logs through its connection).
    stand_in_log: Option<Box<StandInLog>>,
}

impl Default for Rare {
    fn default() -> Rare {
        Rare {
            spawned: None,
            on_abort: None,
            co_op: None,
            detached_done: None,
            flush_waiters: Vec::new(),
            preread_rc: None,
            peek_need: None,
            balancer: ptr::null_mut(),
            stand_in_log: None,
        }
    }
}

/// `API disabled in the context of ...` unless the session runs one of `allowed`.
pub fn check_phase(sess: &Session, allowed: &[Phase]) -> Result<(), LuaError> {
    if allowed.contains(&sess.phase) {
        Ok(())
    } else {
        err(format!("API disabled in the context of {}", sess.phase.directive_name()))
    }
}

/// Our module's index among the stream modules (its `ctx_index`): where a session keeps its
/// context. The module sets it before any session exists, at each configuration load.
static CTX_INDEX: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

pub fn set_ctx_index(i: usize) {
    CTX_INDEX.store(i, std::sync::atomic::Ordering::Relaxed);
}

pub fn ctx_index() -> usize {
    CTX_INDEX.load(std::sync::atomic::Ordering::Relaxed)
}

/// The next session id (an atomic, not a thread-local: a worker has one thread, and a static
/// costs no TLS look-up in a loaded module).
static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

/// The worker's sessions, by key: a thread names its session by key, and finds nothing once
/// the session went.
static SESSIONS: WorkerSlots<Session> = WorkerLocal::new(std::cell::RefCell::new(Slots::new()));

// A session and its entry thread are made for every connection: their memory is reused.
crate::recyclable!(Session);

/// The name of a live session in the worker's session table.
pub type SessionKey = Key;

/// The session named `key`, while it is live (an identity: `LiveSession::by_key` holds it).
pub fn session_ptr(key: SessionKey) -> Option<std::ptr::NonNull<Session>> {
    SESSIONS.with(|t| t.borrow().get(key))
}

/// A session-less context's own log: the cycle's, with the text each line ends with
/// (", context: ngx.timer, client: ..."), which its handler reads through `log.data`.
struct StandInLog {
    log: ngx_log_t,
    context: String,
}

impl Session {
    /// The nginx stream session this one belongs to (none for a session-less context).
    pub fn stream(&self) -> Option<StreamInfo<'_>> {
        self.s.info()
    }

    /// The parts only some sessions use, if this one made them.
    pub fn rare(&self) -> Option<&Rare> {
        self.rare.as_deref()
    }

    /// The parts only some sessions use, made now if they were not.
    pub fn rare_mut(&mut self) -> &mut Rare {
        self.rare.get_or_insert_with(Default::default)
    }

    /// Takes what one of the rare parts holds, if this session made them.
    pub fn take_rare<T>(&mut self, f: impl FnOnce(&mut Rare) -> Option<T>) -> Option<T> {
        self.rare.as_deref_mut().and_then(f)
    }

    /// The balancer's state while `balancer_by_lua*` runs for this session, beside the stream
    /// session (both live apart from this struct).
    pub fn balancer_parts(&mut self) -> (Option<&mut crate::sys::upstream::Peer>, Option<StreamInfo<'_>>) {
        // SAFETY: balancer is null or the peer data of the upstream connection being set up,
        // set by the balancer phase for as long as its Lua code runs and cleared after.
        (unsafe { self.rare.as_deref().and_then(|r| r.balancer.as_mut()) }, self.s.info())
    }

    /// The thread Lua code runs in now (`current`), borrowed with the session.
    pub fn cur_thread(&mut self) -> Option<&mut Thread> {
        let cur = self.current;
        self.threads.iter_mut().rev().find(|t| t.key == cur)
    }

    /// Makes the thread `key` the one Lua code runs in.
    pub fn set_cur(&mut self, key: ThreadKey) {
        self.current = key;
    }

    /// Whether some thread of the session waits for an event.
    pub fn waiting(&self) -> bool {
        self.threads.iter().any(|t| t.pending.is_some())
    }

    /// The session's thread running the coroutine `co` (compared, never dereferenced).
    pub fn thread_mut(&mut self, co: *mut lua_State) -> Option<&mut Thread> {
        self.threads.iter_mut().rev().find(|t| t.co == co)
    }

    /// Whether the thread running `co` is posted to run again.
    pub fn is_posted(&self, co: *mut lua_State) -> bool {
        let Some(t) = self.threads.iter().rev().find(|t| t.co == co) else { return false };
        self.posted.iter().any(|&(k, _)| k == t.key)
    }

    /// The running thread no longer waits in `ngx.thread.wait` for its children.
    pub fn stop_waiting_for_children(&mut self) {
        let me = self.current;
        for t in self.threads.iter_mut() {
            if t.key == me {
                t.set_waits_on_threads(false);
            }
            if t.parent == me {
                t.set_waited_by_parent(false);
            }
        }
    }

    /// Ends the thread running `co`, when it is one of the session's.
    pub fn end_thread_of(&mut self, co: *mut lua_State) {
        let main = self.main();
        if let Some(t) = self.thread_mut(co) {
            t.end(main);
        }
    }

    /// Light threads that have not ended.
    pub fn live_uthreads(&self) -> usize {
        self.threads
            .iter()
            // (a suspended light thread is an on_abort callback that has not started)
            .filter(|t| {
                t.user() && !matches!(t.status, ThreadStatus::Zombie | ThreadStatus::Dead | ThreadStatus::Suspended)
            })
            .count()
    }

    /// Adds a thread and returns its key.
    pub fn add_thread_key(&mut self, co: Anchored, user: bool, parent: ThreadKey) -> ThreadKey {
        let t = Thread::new(self.key, co, user, parent);
        let key = t.key;
        self.threads.push(t);
        key
    }

    /// The main state of the VM the session runs in.
    pub fn main(&self) -> MainState {
        self.l
    }

    /// The session's log as a handle.
    pub fn logger(&self) -> Log {
        // SAFETY: log() is the connection's log or the session's own stand-in, both live as long
        // as the session, for which the handle is used.
        unsafe { Log::from_raw(self.log()) }.expect("a session log")
    }

    /// The session's log, or the context's own for sessions without a connection.
    pub fn log(&self) -> *mut ngx_log_t {
        if self.s.is_none() {
            return self
                .rare()
                .and_then(|r| r.stand_in_log.as_deref())
                .map_or(ptr::null_mut(), |l| &l.log as *const ngx_log_t as *mut ngx_log_t);
        }
        self.s.log()
    }

    /// What a session-less context's log lines end with (empty for a connection's session).
    pub fn log_context(&self) -> &str {
        self.rare().and_then(|r| r.stand_in_log.as_deref()).map_or("", |l| l.context.as_str())
    }

    /// Appends `text` to what the session-less context's log lines end with.
    pub fn add_log_context(&mut self, text: &str) {
        if let Some(l) = self.rare.as_deref_mut().and_then(|r| r.stand_in_log.as_deref_mut()) {
            l.context.push_str(text);
        }
    }

    /// `l` is the main state of the VM the session runs in, which outlives the session and
    /// its threads (the worker's VM, or the session's own, dropped last).
    fn new(
        s: HostSession,
        l: MainState,
        phase: Phase,
        code_cache: bool,
        own_vm: Option<crate::runtime::vm::VmRef>,
    ) -> Recycled<Session> {
        let mut sess = Recycled::new(Session {
            id: NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            key: Key::NONE,
            s,
            l,
            phase,
            threads: ThreadList::new(),
            current: ThreadKey::NONE,
            posted: Default::default(),
            entry_finished: false,
            exit_code: None,
            ctx_ref: LUA_NOREF,
            out_free: ChainList::default(),
            out_busy: ChainList::default(),
            out_deferred: ChainList::default(),
            code_cache,
            own_vm,
            rare: None,
            on_done: None,
            req_sock: None,
            content_started: false,
            send_timeout: 60_000,
            eof: false,
            output_started: false,
            in_handler: false,
            udp_sock_taken: false,
            cleanups: Vec::new(),
        });
        // SAFETY: the session is boxed (a stable address: its owners keep the box, or its raw
        // form, and never move the value out) and leaves the table in Drop, before it goes.
        sess.key = SESSIONS.with(|t| unsafe { t.borrow_mut().insert(std::ptr::NonNull::from(&mut *sess)) });
        sess
    }

    /// A context with no nginx session, for code that runs outside one (init_worker, timers).
    /// A timer's log context is TIMER_CONTEXT followed by its origin's client and server.
    pub fn new_fake(main: MainState, phase: Phase) -> Recycled<Session> {
        let mut sess = Session::new(HostSession::default(), main, phase, true, None);
        // SAFETY: the cycle's log is valid while the worker runs.
        let mut own = Box::new(StandInLog { log: unsafe { *cycle_log() }, context: String::new() });
        // each line names the context, as upstream's log handlers do
        let context = match phase {
            Phase::Timer => Some(TIMER_CONTEXT),
            Phase::InitWorker => Some(", context: init_worker_by_lua*"),
            _ => None,
        };
        if let Some(context) = context {
            own.context = context.into();
            own.log.handler = Some(log_context);
            // (the box stays where it is while the session holds it)
            own.log.data = &mut *own as *mut StandInLog as *mut std::ffi::c_void;
        }
        sess.rare_mut().stand_in_log = Some(own);
        sess
    }

    /// Registers `f(data, session)` to run when the session ends; returns its slot for
    /// `remove_cleanup`.
    pub fn add_cleanup(&mut self, f: fn(Key, &Session), data: Key) -> usize {
        // a slot given back earlier (a socket closed, then connected again) is reused
        if let Some(slot) = self.cleanups.iter().position(|c| c.is_none()) {
            let at = &self.cleanups[slot] as *const _;
            self.logger().debug_fmt(format_args!("lua stream cleanup reuse: {at:p}"));
            self.cleanups[slot] = Some((f, data));
            return slot;
        }
        self.cleanups.push(Some((f, data)));
        self.cleanups.len() - 1
    }

    pub fn remove_cleanup(&mut self, slot: usize) {
        if let Some(c) = self.cleanups.get_mut(slot) {
            *c = None;
        }
    }

    /// Lets go of every thread (a new phase starts with a new entry thread).
    ///
    /// Waits are cancelled first with the session borrowed, so a cancel that works on the
    /// session must not find it: callers cancel through `SessionRef::cancel_waits` before, and
    /// `Drop` takes the session out of the table before.
    pub fn release_threads(&mut self) {
        let main = self.main();
        for t in self.threads.iter_mut() {
            t.cancel_wait();
            t.unref(main);
        }
        self.threads.clear();
        self.posted.clear();
        if let Some(r) = self.rare.as_deref_mut() {
            (r.spawned, r.co_op, r.on_abort) = (None, None, None);
        }
        self.set_cur(ThreadKey::NONE);
        self.entry_finished = false;
    }

    /// The context of a live nginx session, if Lua has run for it.
    pub fn of(s: &StreamSession) -> Option<*mut Session> {
        let p = s.ctx(ctx_index());
        (!p.is_null()).then_some(p as *mut Session)
    }

    /// A new context for the nginx session `s`, owned by its connection's pool and found by
    /// `of` from now on. `l` is the VM it runs in; `own_vm` the VM it owns (code cache off).
    pub fn attach(
        s: &StreamSession,
        l: MainState,
        code_cache: bool,
        own_vm: Option<crate::runtime::vm::VmRef>,
    ) -> Option<*mut Session> {
        // SAFETY: the context goes into the session's connection pool: the session outlives it.
        let host = unsafe { HostSession::new(s.as_ptr()) };
        let raw = s.own(Session::new(host, l, Phase::Content, code_cache, own_vm))?;
        s.set_ctx(ctx_index(), raw as *mut std::ffi::c_void);
        Some(raw)
    }
}

ngx_callbacks! {
    /// Appends the context to error lines logged by timer code, like upstream.
    fn log_context(log: *mut ngx_log_t, buf: *mut u8, len: usize) -> *mut u8 [buf] {
        // SAFETY: log->data is the StandInLog this log is part of (a stand-in session owns
        // it while its log is in use); nginx gives `len` bytes at buf.
        unsafe {
            let text = (*((*log).data as *const StandInLog)).context.as_bytes();
            let n = text.len().min(len);
            std::ptr::copy_nonoverlapping(text.as_ptr(), buf, n);
            buf.add(n)
        }
    }
}

/// ", client: ADDR, server: ADDR" of a session's connection, for lines logged on its behalf.
/// How a timer's log lines start their context (its origin's client and server follow).
pub const TIMER_CONTEXT: &str = ", context: ngx.timer";

pub fn client_context(s: &StreamInfo) -> String {
    let mut out = String::new();
    let client = s.client_text();
    if !client.is_empty() {
        out.push_str(&format!(", client: {}", String::from_utf8_lossy(client)));
    }
    let server = s.server_text();
    if !server.is_empty() {
        out.push_str(&format!(", server: {}", String::from_utf8_lossy(server)));
    }
    out
}

impl Drop for Session {
    fn drop(&mut self) {
        // out of the table first: the threads' cancels must not reach a session being dropped
        // (they skip their session's part; its memory goes with it)
        SESSIONS.with(|t| t.borrow_mut().remove(self.key));
        self.release_threads();
        for (f, data) in std::mem::take(&mut self.cleanups).into_iter().flatten() {
            f(data, self);
        }
        if self.ctx_ref != LUA_NOREF {
            let log = self.logger();
            log.debug_fmt(format_args!("lua release ngx.ctx at ref {}", self.ctx_ref));
            self.main().unref_in(crate::runtime::vm::CTX_TABLES, self.ctx_ref);
        }
        // the session's slot must not point at freed memory during the rest of cleanup
        if let Some(s) = self.s.stream() {
            s.set_ctx(ctx_index(), ptr::null_mut());
        }
    }
}
