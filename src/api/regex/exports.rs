//! The exported regex ABI (`ngx_stream_lua_ffi_*_regex`, replacement templates, script engine)
//! with the struct layouts lua-resty-core 0.1.31 declares for stream, over PCRE2.

use std::cell::{Cell, RefCell};
use std::ffi::{c_char, c_int, c_void};
use std::ptr;
use std::rc::Rc;
use std::sync::OnceLock;

use crate::api::regex::{compile_template, Template};
use crate::ffi_exports;
use crate::sys::cbuf::{bytes_in, bytes_out};
use crate::sys::ngx::*;
use crate::sys::pcre2;
use crate::sys::worker_local::WorkerLocal;

const MODE_DFA: c_int = 1 << 1;
const MODE_JIT: c_int = 1 << 2;
const NO_UTF8_CHECK: c_int = 1 << 4;
const DFA_WORKSPACE: usize = 100;
const MIN_JIT_STACK: usize = 32 * 1024;

/// `ngx_stream_lua_complex_value_t`: a template's text, and (when it refers to captures) its
/// program in `lengths`/`values`, which only our script engine reads.
#[repr(C)]
pub struct ComplexValue {
    value: ngx_str_t,
    lengths: *mut c_void,
    values: *mut c_void,
}

/// `ngx_stream_lua_regex_t` as declared to LuaJIT, followed by our own fields.
#[repr(C)]
pub struct Regex {
    pool: *mut c_void,
    name_table: *mut u8,
    name_count: c_int,
    name_entry_size: c_int,
    ncaptures: c_int,
    captures: *mut c_int,
    regex: *mut pcre2::RawCode,
    regex_sd: *mut c_void,
    replace: *mut ComplexValue,
    pattern: *const u8,
    // not part of the declared layout
    code: pcre2::Code,
    caps: Vec<c_int>,
    /// This regex's own match data (made on its first match), so a match needs no shared
    /// state but the matcher.
    md: Option<pcre2::MatchData>,
    matcher: Option<Rc<Matcher>>,
    replace_cv: Option<Box<ComplexValue>>,
    replace_text: Vec<u8>,
    template: Option<Box<Template>>,
}

/// The opaque `ngx_stream_lua_script_engine_t`: one match's subject and captures.
pub struct ScriptEngine {
    subj: *const u8,
    caps: *const c_int,
    ncaps: usize,
}

/// The worker's match settings shared by every regex, like upstream's static context: the
/// match context (with `lua_regex_match_limit`) and the JIT stack it runs on. Each regex keeps
/// a reference, so a match reaches it without a thread-local lookup.
struct Matcher {
    ctx: pcre2::MatchContext,
    /// Declared after `ctx`, which uses it: dropped after it.
    jit_stack: RefCell<Option<pcre2::JitStack>>,
    /// The configuration load whose lua_regex_match_limit the context has (0: none yet, while
    /// init_by_lua runs at the first start; a reload's new cycle has its own). Not the cycle's
    /// address: a reload's cycle may be given an older, freed one's.
    limit_of: Cell<usize>,
}

/// The worker's match context (and JIT stack), shared by its regexes.
static MATCHER: WorkerLocal<RefCell<Option<Rc<Matcher>>>> = WorkerLocal::new(RefCell::new(None));

impl Matcher {
    /// The worker's matcher, made on first use (None when out of memory).
    fn get() -> Option<Rc<Matcher>> {
        MATCHER.with(|m| {
            let mut m = m.borrow_mut();
            if m.is_none() {
                *m = pcre2::MatchContext::new()
                    .map(|ctx| Rc::new(Matcher { ctx, jit_stack: RefCell::new(None), limit_of: Cell::new(0) }));
            }
            m.clone()
        })
    }

    /// The match context, with the running cycle's match limit once it is known.
    fn context(&self) -> &pcre2::MatchContext {
        if let Some((generation, limit)) = crate::api::regex::match_limit() {
            if self.limit_of.get() != generation {
                let limit = if limit > 0 { limit.min(u32::MAX as usize) as u32 } else { pcre2::default_match_limit() };
                self.ctx.set_match_limit(limit);
                self.limit_of.set(generation);
            }
        }
        &self.ctx
    }
}

/// Writes `msg` NUL-terminated into `dst` (cut to fit; nothing when `dst` is empty).
fn put_err(dst: &mut [u8], msg: &[u8]) {
    let Some(room) = dst.len().checked_sub(1) else { return };
    let n = msg.len().min(room);
    dst[..n].copy_from_slice(&msg[..n]);
    dst[n] = 0;
}

/// Compiles `pat` with upstream's error texts; the pattern and its capture count.
fn compile(pat: &[u8], pcre_opts: u32) -> Result<(pcre2::Code, u32), Vec<u8>> {
    let code = pcre2::Code::compile(pat, pcre_opts).map_err(|e| {
        let what = pcre2::error_message(e.code);
        let shown = String::from_utf8_lossy(pat);
        let mut msg = format!("pcre2_compile() failed: {what} in \"{shown}\"");
        if e.offset < pat.len() {
            // upstream prints the rest of the pattern as a C string
            let rest = &pat[e.offset..];
            let rest = &rest[..rest.iter().position(|&b| b == 0).unwrap_or(rest.len())];
            msg = format!("{msg} at \"{}\"", String::from_utf8_lossy(rest));
        }
        msg.into_bytes()
    })?;
    let ncap = code.capture_count().map_err(|n| {
        format!("pcre2_pattern_info(\"{}\", PCRE_INFO_CAPTURECOUNT) failed: {n}", String::from_utf8_lossy(pat))
            .into_bytes()
    })?;
    Ok((code, ncap))
}

fn jit_compile(code: &pcre2::Code, flags: c_int, pat: &[u8]) {
    if flags & MODE_JIT != 0 {
        let rc = code.jit_compile();
        if rc != 0 {
            let msg = format!("pcre2_jit_compile() failed: {rc} in \"{}\", ignored", String::from_utf8_lossy(pat));
            cycle_error(NGX_LOG_INFO, 0, msg.as_bytes());
        } else {
            cycle_debug("pcre2 JIT compiled successfully");
        }
    }
    // (the match context always runs on the current JIT stack: see State::match_context and
    // set_jit_stack_size)
}

/// The named groups: how many, the size of an entry and the table.
fn name_info(code: &pcre2::Code) -> Result<(c_int, c_int, *mut u8), &'static [u8]> {
    let count = code.name_count().map_err(|_| &b"cannot acquire named subpattern count"[..])?;
    if count == 0 {
        return Ok((0, 0, ptr::null_mut()));
    }
    let size = code.name_entry_size().map_err(|_| &b"cannot acquire named subpattern entry size"[..])?;
    let table = code.name_table().map_err(|_| &b"cannot acquire named subpattern table"[..])?;
    Ok((count as c_int, size as c_int, table))
}

/// A compiled regex in the layout lua-resty-core reads.
fn new_regex(pat: &[u8], pat_ptr: *const u8, flags: c_int, pcre_opts: c_int) -> Result<Box<Regex>, Vec<u8>> {
    let (code, ncap) = compile(pat, pcre_opts as u32)?;
    jit_compile(&code, flags, pat);
    let (name_count, name_entry_size, name_table) = name_info(&code).map_err(<[u8]>::to_vec)?;
    // DFA mode reports only the longest match
    let ncaptures = if flags & MODE_DFA != 0 { 0 } else { ncap as c_int };
    let mut re = Box::new(Regex {
        pool: ptr::null_mut(),
        name_table,
        name_count,
        name_entry_size,
        ncaptures,
        captures: ptr::null_mut(),
        regex: code.as_ptr(),
        regex_sd: ptr::null_mut(),
        replace: ptr::null_mut(),
        pattern: pat_ptr,
        code,
        caps: vec![-1; (ncaptures as usize + 1) * 2],
        md: None,
        matcher: Matcher::get(),
        replace_cv: None,
        replace_text: Vec::new(),
        template: None,
    });
    re.captures = re.caps.as_mut_ptr();
    // upstream's destroy skips a regex without a pool: ours points at itself
    re.pool = &mut *re as *mut Regex as *mut c_void;
    Ok(re)
}

ffi_exports! {
    /// (The regex keeps the caller's pattern pointer as it is, as upstream's does.)
    fn ngx_stream_lua_ffi_compile_regex(
        pat: *const u8,
        pat_len: usize,
        flags: c_int,
        pcre_opts: c_int,
        errstr: bytes_mut[errstr_size],
    ) -> *mut Regex [ptr::null_mut()] {
        // SAFETY: LuaJIT passes a string of pat_len bytes.
        let p = unsafe { bytes_in(pat, pat_len) };
        match new_regex(p, pat, flags, pcre_opts) {
            Ok(re) => Box::into_raw(re),
            Err(msg) => {
                put_err(errstr, &msg);
                ptr::null_mut()
            }
        }
    }
}

/// Runs `re` on `subject` from `start`, leaving the captures in `re.caps`.
fn exec(re: &mut Regex, flags: c_int, subject: &[u8], start: usize) -> c_int {
    if flags & MODE_DFA != 0 {
        re.ncaptures = 0;
    }
    let pairs = re.ncaptures as u32 + 1;
    if re.md.as_ref().is_none_or(|md| pairs > md.pairs()) {
        re.md = None;
        re.md = pcre2::MatchData::new(pairs);
    }
    if re.matcher.is_none() {
        re.matcher = Matcher::get();
    }
    let (Some(md), Some(m)) = (re.md.as_mut(), re.matcher.as_deref()) else {
        return pcre2::ERROR_NOMEMORY;
    };
    let ctx = m.context();
    let opts = if flags & NO_UTF8_CHECK != 0 { pcre2::NO_UTF_CHECK } else { 0 };
    let rc = if flags & MODE_DFA != 0 {
        let mut ws = [0 as c_int; DFA_WORKSPACE];
        re.code.dfa_match_at(subject, start, opts, md, ctx, &mut ws)
    } else {
        re.code.match_at(subject, start, opts, md, ctx)
    };
    if rc < 0 {
        return rc;
    }
    let ov = md.ovector();
    // (PCRE2_UNSET, all ones, becomes -1, as upstream's int captures)
    if pairs == 1 && ov.len() >= 2 && re.caps.len() >= 2 {
        // the whole match only (find, sub, split without groups): no copy loop
        re.caps[0] = ov[0] as c_int;
        re.caps[1] = ov[1] as c_int;
        return rc;
    }
    let n = (ov.len() / 2).min(pairs as usize).min(re.caps.len() / 2);
    for (dst, &v) in re.caps[..n * 2].iter_mut().zip(&ov[..n * 2]) {
        *dst = v as c_int;
    }
    rc
}

ffi_exports! {
    /// `re` came from compile_regex and is alive (LuaJIT holds it), used by this call only.
    fn ngx_stream_lua_ffi_exec_regex(
        re: Option<&mut Regex>,
        flags: c_int,
        s: bytes[len],
        pos: c_int,
    ) -> c_int [pcre2::ERROR_NOMEMORY] {
        let Some(re) = re else { return pcre2::ERROR_NOMEMORY };
        exec(re, flags, s, pos.max(0) as usize)
    }

    /// `re` is the box compile_regex made; LuaJIT frees it once.
    fn ngx_stream_lua_ffi_destroy_regex(re: Option<Box<Regex>>) [()] {
        drop(re)
    }

    fn ngx_stream_lua_ffi_compile_replace_template(re: &mut Regex, data: bytes[len]) -> c_int [NGX_ERROR] {
        set_replace(re, data)
    }
}

/// Compiles `text` as `re`'s replacement template (its complex value is `re.replace`).
fn set_replace(re: &mut Regex, text: &[u8]) -> c_int {
    re.replace_text = text.to_vec();
    let template = match compile_template(&re.replace_text) {
        Ok(t) => t.map(Box::new),
        Err(msg) => {
            cycle_error(NGX_LOG_ERR, 0, msg.as_bytes());
            return NGX_ERROR;
        }
    };
    let program = template.as_ref().map_or(ptr::null_mut(), |t| &**t as *const Template as *mut c_void);
    let mut cv = Box::new(ComplexValue {
        value: ngx_str_t { len: re.replace_text.len(), data: re.replace_text.as_mut_ptr() },
        lengths: program,
        values: program,
    });
    re.replace = &mut *cv;
    re.replace_cv = Some(cv);
    re.template = template;
    NGX_OK as c_int
}

#[no_mangle]
pub extern "C" fn ngx_stream_lua_ffi_create_script_engine() -> *mut ScriptEngine {
    guard(ptr::null_mut(), || Box::into_raw(Box::new(ScriptEngine { subj: ptr::null(), caps: ptr::null(), ncaps: 0 })))
}

ffi_exports! {
    /// `e` came from create_script_engine; `compiled` is a live regex.
    fn ngx_stream_lua_ffi_init_script_engine(
        e: &mut ScriptEngine,
        subj: *const u8,
        compiled: &Regex,
        count: c_int,
    ) [()] {
        e.subj = subj;
        e.caps = compiled.caps.as_ptr();
        e.ncaps = (count.max(0) as usize * 2).min(compiled.caps.len());
    }

    /// `e` is the box create_script_engine made.
    fn ngx_stream_lua_ffi_destroy_script_engine(e: Option<Box<ScriptEngine>>) [()] {
        drop(e)
    }

    /// `e` was initialised for the match of the regex whose replace value `cv` is (so for the
    /// next one), and that regex is still alive and unchanged.
    fn ngx_stream_lua_ffi_script_eval_len(e: &ScriptEngine, cv: &ComplexValue) -> usize [0] {
        program(e, cv).map_or(0, |(_, caps, t)| t.eval_len(caps))
    }

    /// Writes the expansion to `dst`; returns its length (lua-resty-core declares a size_t).
    fn ngx_stream_lua_ffi_script_eval_data(e: &ScriptEngine, cv: &ComplexValue, dst: *mut u8) -> usize [0] {
        let Some((subj, caps, t)) = program(e, cv) else { return 0 };
        let (len, end) = t.extent(caps);
        // SAFETY: the captures the template uses lie within the matched subject; the caller
        // sized dst by eval_len for this match.
        let (subject, dst) = unsafe { (bytes_in(subj, end), bytes_out(dst, len)) };
        t.eval_into(subject, caps, dst)
    }
}

/// The engine's captures, its subject pointer, and the template a complex value runs (the
/// engine was set up by init_script_engine for the regex whose replace value `cv` is).
fn program<'a>(e: &'a ScriptEngine, cv: &'a ComplexValue) -> Option<(*const u8, &'a [i32], &'a Template)> {
    // SAFETY: cv's program is the regex's template (set_replace), alive with the regex.
    let t = unsafe { (cv.lengths as *const Template).as_ref() }?;
    // SAFETY: e's captures are the regex's (init_script_engine), ncaps of them.
    let caps = if e.caps.is_null() { &[][..] } else { unsafe { std::slice::from_raw_parts(e.caps, e.ncaps) } };
    Some((e.subj, caps, t))
}

#[no_mangle]
pub extern "C" fn ngx_stream_lua_ffi_max_regex_cache_size() -> u32 {
    guard(0, || crate::api::regex::cache_max_entries().min(u32::MAX as usize) as u32)
}

#[no_mangle]
pub extern "C" fn ngx_stream_lua_ffi_pcre_version() -> *const c_char {
    static VERSION: OnceLock<[u8; 64]> = OnceLock::new();
    VERSION.get_or_init(pcre2::version).as_ptr() as *const c_char
}

/// `ngx.re.opt("jit_stack_size", size)`: a new JIT stack for the matches from now on.
fn set_jit_stack_size(size: c_int) -> Result<(), &'static [u8]> {
    if !pcre2::has_jit() {
        return Err(b"no pcre jit support found");
    }
    let size = (size.max(0) as usize).max(MIN_JIT_STACK);
    let failed = &b"pcre jit stack allocation failed"[..];
    let m = Matcher::get().ok_or(failed)?;
    // the context never keeps the old stack: it is switched before that one is freed
    let stack = pcre2::JitStack::new(MIN_JIT_STACK, size);
    m.ctx.use_jit_stack(stack.as_ref());
    let made = stack.is_some();
    *m.jit_stack.borrow_mut() = stack;
    if made {
        Ok(())
    } else {
        Err(failed)
    }
}

ffi_exports! {
    fn ngx_stream_lua_ffi_set_jit_stack_size(size: c_int, errstr: err_buf[errstr_size]) -> c_int [NGX_ERROR] {
        match set_jit_stack_size(size) {
            Ok(()) => NGX_OK as c_int,
            Err(msg) => {
                errstr.set(msg);
                NGX_ERROR
            }
        }
    }
}
