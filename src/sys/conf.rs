//! Safe handles over nginx's configuration parser: `Conf` (the parser state of a stream
//! configuration context) and `Directive` (one directive being handled: its command, arguments
//! and configuration slot). Directive set functions are thin shims made by `conf_directives!`
//! around safe `fn(&mut Directive) -> ConfResult` bodies.

use std::ffi::{c_char, c_void, CStr};
use std::marker::PhantomData;
use std::ptr::{self, NonNull};

use super::ngx::*;

/// Why a directive failed.
pub enum ConfError {
    /// The message was logged already (`NGX_CONF_ERROR`).
    Logged,
    /// nginx logs `"NAME" directive MSG` (a set function's returned string).
    Msg(&'static CStr),
}

pub type ConfResult = Result<(), ConfError>;

/// A directive's handler, as `ngx_command_t.set` holds it.
pub type SetFn = unsafe extern "C" fn(*mut ngx_conf_t, *mut ngx_command_t, *mut c_void) -> *mut c_char;

/// `"NAME" directive is duplicate`.
pub const DUPLICATE: ConfError = ConfError::Msg(c"is duplicate");

/// A shared memory zone declared while the configuration is read.
pub struct ShmZone<'a>(&'a mut ngx_shm_zone_t);

impl ShmZone<'_> {
    /// What its owner keeps in it (null until set).
    pub fn data(&self) -> *mut c_void {
        self.0.data
    }

    pub fn size(&self) -> usize {
        self.0.shm.size
    }

    /// The handler nginx calls once the zone is mapped, and the data it finds there.
    pub fn set_init(&mut self, init: ngx_shm_zone_init_pt, data: *mut c_void) {
        self.0.init = init;
        self.0.data = data;
    }
}

/// A configuration type that the module keeps in nginx's stream configuration arrays.
///
/// # Safety
/// The module's slot at `ctx_index()` in the arrays that `OFFSET` selects in a stream
/// configuration context (`NGX_STREAM_MAIN_CONF_OFFSET` or `NGX_STREAM_SRV_CONF_OFFSET`) always
/// holds a `Self` (or is still null before `create_*_conf` ran).
pub unsafe trait ConfSlot: Sized {
    const OFFSET: usize;
    fn ctx_index() -> usize;
}

/// nginx's parser inside a `stream {}` block (a server, an upstream or the block itself), for
/// the length of one callback.
pub struct Conf<'a> {
    cf: NonNull<ngx_conf_t>,
    _cf: PhantomData<&'a mut ngx_conf_t>,
}

/// Module hooks that run inside the `stream {}` block (`create_*_conf`, `merge_srv_conf`,
/// `postconfiguration`) get nginx's parser state.
impl super::export::CallbackArg for Conf<'_> {
    type Raw = *mut ngx_conf_t;

    unsafe fn from_callback(raw: *mut ngx_conf_t) -> Option<Self> {
        // SAFETY: the trait's contract: nginx runs these hooks with its parser in the block.
        unsafe { Conf::from_raw(raw) }
    }
}

impl<'a> Conf<'a> {
    /// # Safety
    /// `cf` is nginx's live parser state, its `ctx` a stream configuration context, and nothing
    /// else uses it while the handle lives.
    pub unsafe fn from_raw(cf: *mut ngx_conf_t) -> Option<Conf<'a>> {
        NonNull::new(cf).map(|cf| Conf { cf, _cf: PhantomData })
    }

    /// Moves `value` into the configuration's pool: it lives, and is dropped, with the cycle's
    /// configuration.
    pub fn own<P: super::recycled::RawOwner>(&self, value: P) -> Option<*mut P::Target> {
        // SAFETY: the parser's pool is live (from_raw's contract).
        unsafe { pool_own(self.raw().pool, value) }
    }

    /// `ngx_shared_memory_add`: the zone `name` of `size` bytes owned by `tag` (None when
    /// nginx refused; it logged why). `name` must live as long as the cycle (a directive's
    /// word does).
    pub fn shared_memory_add(&self, name: ngx_str_t, size: usize, tag: *mut c_void) -> Option<ShmZone<'a>> {
        let mut name = name;
        // SAFETY: the live parser; nginx copies the name's ngx_str_t and keeps the zone in the
        // cycle, which outlives 'a.
        unsafe { ngx_shared_memory_add(self.as_ptr(), &mut name, size, tag).as_mut() }.map(ShmZone)
    }

    /// The log of the cycle being configured (what its shared zones log to).
    pub fn cycle_log(&self) -> Option<Log> {
        // SAFETY: the cycle being configured is live; new_log is a field of it.
        unsafe { Log::from_raw(ptr::addr_of_mut!((*self.raw().cycle).new_log)) }
    }

    /// For nginx functions that take the parser state.
    pub fn as_ptr(&self) -> *mut ngx_conf_t {
        self.cf.as_ptr()
    }

    fn raw(&self) -> &ngx_conf_t {
        // SAFETY: the handle's parser state is live (from_raw's contract).
        unsafe { self.cf.as_ref() }
    }

    /// `ngx_conf_log_error`: nginx appends ` in FILE:LINE`.
    pub fn error(&self, level: u32, msg: &[u8]) {
        // SAFETY: the live parser state.
        unsafe { conf_log_error(level, self.as_ptr(), msg) }
    }

    /// The configuration pool (lives as long as the cycle being configured).
    pub fn pool(&self) -> *mut ngx_pool_t {
        self.raw().pool
    }

    /// The cycle being configured.
    pub fn cycle(&self) -> *mut ngx_cycle_t {
        self.raw().cycle
    }

    pub fn log(&self) -> *mut ngx_log_t {
        self.raw().log
    }

    /// The cycle's prefix (where relative paths start).
    pub fn prefix(&self) -> &[u8] {
        // SAFETY: the cycle being configured has its prefix set and outlives the parser.
        unsafe { ngx_bytes(&(*self.cycle()).prefix) }
    }

    fn file(&self) -> &ngx_conf_file_t {
        // SAFETY: a file is being parsed while directives run.
        unsafe { &*self.raw().conf_file }
    }

    /// The name of the file being parsed.
    pub fn file_name(&self) -> &[u8] {
        ngx_bytes(&self.file().file.name)
    }

    /// nginx's line counter.
    pub fn line(&self) -> usize {
        self.file().line
    }

    pub fn set_line(&mut self, line: usize) {
        // SAFETY: the file being parsed; this handle is its only user.
        unsafe { (*self.raw().conf_file).line = line }
    }

    fn ctx(&self) -> &ngx_stream_conf_ctx_t {
        // SAFETY: a stream configuration context (from_raw's contract).
        unsafe { &*(self.raw().ctx as *const ngx_stream_conf_ctx_t) }
    }

    /// The module's main configuration (none before `create_main_conf` made it).
    pub fn main_conf<T: ConfSlot>(&mut self) -> Option<&mut T> {
        // SAFETY: the slot holds a T (ConfSlot's contract); the &mut self borrow keeps this
        // the only reference made through the handle.
        unsafe { (*self.ctx().main_conf.add(T::ctx_index()) as *mut T).as_mut() }
    }

    fn module_srv_conf(&self, module: &ngx_module_t) -> *mut c_void {
        // SAFETY: every stream module has a server conf slot at its ctx_index.
        unsafe { *self.ctx().srv_conf.add(module.ctx_index) }
    }

    /// The `server {}` being parsed hands its sessions to `handler` (its content phase).
    pub fn set_content_handler(&mut self, handler: ngx_stream_content_handler_pt) {
        // SAFETY: a plain read of the core module's index, set by nginx.
        let cscf = self.module_srv_conf(unsafe { &*ptr::addr_of!(ngx_stream_core_module) });
        // SAFETY: the core module's server conf of this server.
        unsafe { (*(cscf as *mut ngx_stream_core_srv_conf_t)).handler = handler }
    }

    /// The `upstream {}` block being parsed gets `init` as its `init_upstream` (with the
    /// server flags round robin takes); true when another balancer had set one before.
    pub fn set_upstream_init(&mut self, init: ngx_stream_upstream_init_pt) -> bool {
        // SAFETY: a plain read of the upstream module's index, set by nginx.
        let uscf = self.module_srv_conf(unsafe { &*ptr::addr_of!(ngx_stream_upstream_module) });
        // SAFETY: the upstream module's server conf of this block is its upstream conf.
        let uscf = unsafe { &mut *(uscf as *mut ngx_stream_upstream_srv_conf_t) };
        let redefined = uscf.peer.init_upstream.is_some();
        uscf.peer.init_upstream = init;
        uscf.flags = (NGX_STREAM_UPSTREAM_CREATE
            | NGX_STREAM_UPSTREAM_WEIGHT
            | NGX_STREAM_UPSTREAM_MAX_FAILS
            | NGX_STREAM_UPSTREAM_FAIL_TIMEOUT
            | NGX_STREAM_UPSTREAM_DOWN) as ngx_uint_t;
        redefined
    }

    /// Adds `handler` to the stream core's handlers of `phase` (at postconfiguration).
    pub fn add_phase_handler(&mut self, phase: ngx_stream_phases, handler: ngx_stream_handler_pt) -> Result<(), ()> {
        // SAFETY: a plain read of the core module's index, set by nginx.
        let idx = unsafe { (*ptr::addr_of!(ngx_stream_core_module)).ctx_index };
        // SAFETY: the core module's main conf of the stream block; its phase arrays hold
        // handler pointers and grow in the configuration pool.
        unsafe {
            let cmcf = *self.ctx().main_conf.add(idx) as *mut ngx_stream_core_main_conf_t;
            let h = ngx_array_push(&mut (*cmcf).phases[phase as usize].handlers) as *mut ngx_stream_handler_pt;
            if h.is_null() {
                return Err(());
            }
            *h = handler;
        }
        Ok(())
    }

    /// Runs `f` with the cycle being configured as nginx's current cycle (`ngx_cycle`).
    pub fn with_current_cycle<R>(&mut self, f: impl FnOnce(&mut Self) -> R) -> R {
        // SAFETY: nginx's globals are only touched by its single thread, which runs us; the
        // cycle being configured outlives the call, and the old value is put back after it.
        let saved = unsafe { std::mem::replace(&mut *ptr::addr_of_mut!(ngx_cycle), self.cycle()) };
        let r = f(self);
        // SAFETY: as above.
        unsafe { ngx_cycle = saved };
        r
    }

    /// `$name` as a changeable, indexed stream variable that reads "not found" until set.
    pub fn add_variable(&mut self, name: &[u8]) -> Result<(), ()> {
        let flags = (NGX_STREAM_VAR_CHANGEABLE | NGX_STREAM_VAR_WEAK) as ngx_uint_t;
        let mut name = ngx_str_t { len: name.len(), data: name.as_ptr() as *mut u8 };
        // SAFETY: the live parser; nginx copies the name into its own storage and only reads ours.
        unsafe {
            let var = ngx_stream_add_variable(self.as_ptr(), &mut name, flags);
            if var.is_null() {
                return Err(());
            }
            if (*var).get_handler.is_none() {
                (*var).get_handler = Some(not_found_variable);
            }
            if ngx_stream_get_variable_index(self.as_ptr(), &mut name) == NGX_ERROR as ngx_int_t {
                return Err(());
            }
        }
        Ok(())
    }

    /// Reads the raw text of a block directive's body (nginx's reader stands right after its
    /// `{`) from nginx's 4 KiB configuration buffer, and when `scan` fails there, from the
    /// buffer and the rest of the file. `scan` returns the body's length and its newlines; the
    /// reader then moves past the body and its closing `}`, counting the lines.
    pub fn read_block<E>(
        &mut self,
        scan: impl Fn(&[u8]) -> Result<(usize, usize), E>,
    ) -> Result<Vec<u8>, BlockError<E>> {
        // SAFETY: during a directive handler conf_file, its buffer and file are live; the buffer
        // holds unread bytes in [pos, last), and file.offset is where the buffer's data ends.
        unsafe {
            let cfile = self.raw().conf_file;
            let b = (*cfile).buffer;
            let buffered = std::slice::from_raw_parts((*b).pos, (*b).last.offset_from((*b).pos) as usize);
            let offset = (*cfile).file.offset as usize;
            let size = (*cfile).file.info.st_size as usize;
            let mut all = Vec::new();
            let mut result = scan(buffered);
            // any failure may just be the buffer's end: look at the rest of the file first
            if result.is_err() && (*cfile).file.fd != -1 && offset < size {
                all = buffered.to_vec();
                all.resize(buffered.len() + size - offset, 0);
                let rest = &mut all[buffered.len()..];
                let n = ngx_read_file(&mut (*cfile).file, rest.as_mut_ptr(), rest.len(), offset as off_t);
                if n < 0 || n as usize != rest.len() {
                    return Err(BlockError::Read);
                }
                result = scan(&all);
            }
            let (code_len, newlines) = result.map_err(BlockError::Scan)?;
            let consumed = code_len + 1;
            (*cfile).line += newlines;
            if all.is_empty() {
                let code = buffered[..code_len].to_vec();
                (*b).pos = (*b).pos.add(consumed);
                return Ok(code);
            }
            // nginx refills its buffer from file.offset once pos reaches last
            let extra = &all[buffered.len()..consumed];
            (*cfile).file.offset = (offset + extra.len()) as off_t;
            (*b).pos = (*b).start;
            (*b).last = (*b).start;
            let dump = (*cfile).dump;
            if !dump.is_null() {
                let n = extra.len().min((*dump).end.offset_from((*dump).last) as usize);
                ptr::copy_nonoverlapping(extra.as_ptr(), (*dump).last, n);
                (*dump).last = (*dump).last.add(n);
            }
            all.truncate(code_len);
            Ok(all)
        }
    }
}

/// Why `Conf::read_block` found no block.
pub enum BlockError<E> {
    /// The rest of the file could not be read.
    Read,
    /// The scanner's verdict on all the text there is.
    Scan(E),
}

/// A stream variable's get handler for a variable with no value yet.
unsafe extern "C" fn not_found_variable(
    _s: *mut ngx_stream_session_t,
    v: *mut ngx_stream_variable_value_t,
    _data: usize,
) -> ngx_int_t {
    // SAFETY: nginx passes the value slot to fill.
    unsafe { (*v).set_not_found(1) };
    NGX_OK as ngx_int_t
}

/// A cache manager or loader process (these run no Lua).
pub fn helper_process() -> bool {
    // SAFETY: a plain read of an nginx process global, set before modules' init_process.
    unsafe { ngx_process == NGX_PROCESS_HELPER as ngx_uint_t }
}

/// One directive being handled: the parser, the command and the module's configuration slot.
pub struct Directive<'a> {
    conf: Conf<'a>,
    cmd: &'a ngx_command_t,
    slot: *mut c_void,
}

impl<'a> std::ops::Deref for Directive<'a> {
    type Target = Conf<'a>;
    fn deref(&self) -> &Conf<'a> {
        &self.conf
    }
}

impl<'a> std::ops::DerefMut for Directive<'a> {
    fn deref_mut(&mut self) -> &mut Conf<'a> {
        &mut self.conf
    }
}

impl<'a> Directive<'a> {
    /// # Safety
    /// As `Conf::from_raw`; `cmd` is the command being handled (with its name and `conf`
    /// offset), `cf->args` its arguments, and `slot` the module's configuration at that offset.
    pub unsafe fn from_raw(cf: *mut ngx_conf_t, cmd: *mut ngx_command_t, slot: *mut c_void) -> Option<Directive<'a>> {
        // SAFETY: the caller's contract.
        let conf = unsafe { Conf::from_raw(cf) }?;
        // SAFETY: as above; commands are static.
        let cmd = unsafe { cmd.as_ref() }?;
        Some(Directive { conf, cmd, slot })
    }

    /// The directive's name.
    pub fn name(&self) -> &[u8] {
        ngx_bytes(&self.cmd.name)
    }

    /// The directive's words as nginx keeps them, its name first.
    pub fn raw_args(&self) -> &[ngx_str_t] {
        // SAFETY: cf->args is an array of ngx_str_t while a directive is handled.
        unsafe {
            let a = &*self.raw().args;
            std::slice::from_raw_parts(a.elts as *const ngx_str_t, a.nelts)
        }
    }

    /// Word `i` (0 is the name).
    pub fn arg(&self, i: usize) -> &[u8] {
        ngx_bytes(&self.raw_args()[i])
    }

    /// `ngx_atoi` of word `i` (negative: not a number).
    pub fn atoi(&self, i: usize) -> isize {
        let v = self.raw_args()[i];
        // SAFETY: v points at its len bytes.
        unsafe { ngx_atoi(v.data, v.len) }
    }

    /// `ngx_parse_time` (milliseconds) of word `i` (negative: invalid).
    pub fn parse_msec(&self, i: usize) -> isize {
        let mut v = self.raw_args()[i];
        // SAFETY: as atoi.
        unsafe { ngx_parse_time(&mut v, 0) }
    }

    /// `ngx_parse_size` of word `i` (negative: invalid).
    pub fn parse_size(&self, i: usize) -> isize {
        let mut v = self.raw_args()[i];
        // SAFETY: as atoi.
        unsafe { ngx_parse_size(&mut v) }
    }

    /// Word `i` compiled as a stream complex value (a string with variables), kept in the
    /// configuration pool.
    pub fn complex_value(&self, i: usize) -> Option<*mut ngx_stream_complex_value_t> {
        // SAFETY: the live parser; the value and its compiled form live in its pool.
        unsafe {
            let cv = ngx_pcalloc(self.pool(), std::mem::size_of::<ngx_stream_complex_value_t>())
                as *mut ngx_stream_complex_value_t;
            if cv.is_null() {
                return None;
            }
            let value = ((*self.raw().args).elts as *mut ngx_str_t).add(i);
            let mut ccv: ngx_stream_compile_complex_value_t = std::mem::zeroed();
            ccv.cf = self.as_ptr();
            ccv.value = value;
            ccv.complex_value = cv;
            (ngx_stream_compile_complex_value(&mut ccv) == NGX_OK as isize).then_some(cv)
        }
    }

    /// The directive's configuration slot (main or server, as its table entry says).
    ///
    /// Panics when `T` is not the type the directive's table entry gives it (a bug).
    pub fn conf<T: ConfSlot>(&mut self) -> &mut T {
        assert_eq!(self.cmd.conf, T::OFFSET, "directive conf type");
        // SAFETY: nginx passes the module's conf at the command's offset, which holds a T
        // (ConfSlot's contract); &mut self makes it the only reference through the handle.
        unsafe { &mut *(self.slot as *mut T) }
    }
}

/// Runs a directive's safe body inside the panic boundary and gives nginx its answer.
///
/// # Safety
/// As `Directive::from_raw`.
pub unsafe fn run_directive(
    cf: *mut ngx_conf_t,
    cmd: *mut ngx_command_t,
    slot: *mut c_void,
    body: fn(&mut Directive) -> ConfResult,
) -> *mut c_char {
    guard(CONF_ERROR, || {
        // SAFETY: the caller's contract.
        let Some(mut d) = (unsafe { Directive::from_raw(cf, cmd, slot) }) else { return CONF_ERROR };
        match body(&mut d) {
            Ok(()) => CONF_OK,
            Err(ConfError::Logged) => CONF_ERROR,
            Err(ConfError::Msg(m)) => m.as_ptr() as *mut c_char,
        }
    })
}

/// Declares directive set functions (`ngx_command_t.set`) over safe
/// `fn(&mut Directive) -> ConfResult` bodies.
#[macro_export]
macro_rules! conf_directives {
    ($($(#[$attr:meta])* $vis:vis $name:ident => $body:expr),* $(,)?) => {
        $(
            $(#[$attr])*
            $vis unsafe extern "C" fn $name(
                cf: *mut $crate::sys::ngx_conf_t,
                cmd: *mut $crate::sys::ngx_command_t,
                conf: *mut ::std::ffi::c_void,
            ) -> *mut ::std::ffi::c_char {
                let body: fn(&mut $crate::sys::conf::Directive) -> $crate::sys::conf::ConfResult = $body;
                // SAFETY: nginx calls a set function with its parser inside the stream block,
                // the command being handled and the module's conf at the command's offset.
                unsafe { $crate::sys::conf::run_directive(cf, cmd, conf, body) }
            }
        )*
    };
}

/// The configuration context of a cycle's `stream {}` block (or of one of its servers), for
/// reading the configurations a finished configuration load left.
#[derive(Clone, Copy)]
pub struct StreamCtx<'a>(&'a ngx_stream_conf_ctx_t);

impl<'a> StreamCtx<'a> {
    /// The `stream {}` block of `cycle`, if it has one.
    ///
    /// # Safety
    /// `cycle` is null or a live cycle whose configuration was loaded (or is loading) and
    /// outlives `'a`.
    pub unsafe fn of_cycle(cycle: *const ngx_cycle_t) -> Option<StreamCtx<'a>> {
        // SAFETY: conf_ctx holds one slot per core module; while the first configuration loads
        // (init_by_lua), ngx_cycle is a bare cycle without one.
        unsafe {
            let cycle = cycle.as_ref()?;
            if cycle.conf_ctx.is_null() {
                return None;
            }
            let ctx = *cycle.conf_ctx.add((*ptr::addr_of!(ngx_stream_module)).index) as *const ngx_stream_conf_ctx_t;
            ctx.as_ref().map(StreamCtx)
        }
    }

    /// The `stream {}` block of the running cycle (`ngx_cycle`), if it has one.
    pub fn running() -> Option<StreamCtx<'static>> {
        // SAFETY: nginx's running cycle lives until the process moves to the next one, after
        // every callback of this one returned.
        unsafe { StreamCtx::of_cycle(ngx_cycle) }
    }

    /// For nginx and runtime functions that take the context.
    pub fn as_ptr(self) -> *mut ngx_stream_conf_ctx_t {
        self.0 as *const ngx_stream_conf_ctx_t as *mut ngx_stream_conf_ctx_t
    }

    /// The module's main configuration.
    pub fn main_conf<T: ConfSlot>(self) -> Option<&'a T> {
        // SAFETY: the slot holds a T (ConfSlot's contract), which lives as long as the cycle.
        unsafe { (*self.0.main_conf.add(T::ctx_index()) as *const T).as_ref() }
    }

    /// The module's server configuration of this level.
    pub fn srv_conf<T: ConfSlot>(self) -> Option<&'a T> {
        // SAFETY: as main_conf.
        unsafe { (*self.0.srv_conf.add(T::ctx_index()) as *const T).as_ref() }
    }

    /// The contexts of the block's `server {}`s.
    pub fn servers(self) -> impl Iterator<Item = StreamCtx<'a>> {
        // SAFETY: a plain read of the core module's index, set by nginx.
        let core = unsafe { (*ptr::addr_of!(ngx_stream_core_module)).ctx_index };
        // SAFETY: the core module's main conf lists its servers' core confs, each with the
        // server's context; all live as long as the cycle.
        let servers: &'a [*mut ngx_stream_core_srv_conf_t] = unsafe {
            let cmcf = &*(*self.0.main_conf.add(core) as *const ngx_stream_core_main_conf_t);
            if cmcf.servers.nelts == 0 {
                &[]
            } else {
                std::slice::from_raw_parts(cmcf.servers.elts as *const _, cmcf.servers.nelts)
            }
        };
        // SAFETY: as above.
        servers.iter().filter_map(|&cscf| unsafe { (*cscf).ctx.as_ref() }.map(StreamCtx))
    }
}
