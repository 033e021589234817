//! The exported regex ABI (`ngx_stream_lua_ffi_*_regex`, replacement templates, script engine)
//! with the struct layouts lua-resty-core 0.1.31 declares for stream, over PCRE2.

use std::cell::Cell;
use std::ffi::{c_char, c_int, c_void};
use std::ptr;
use std::sync::OnceLock;

use crate::api::regex::{capture_range, compile_template, Piece, Template};
use crate::sys::ngx::*;
use crate::sys::pcre2;

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
    regex: *mut pcre2::Code,
    regex_sd: *mut c_void,
    replace: *mut ComplexValue,
    pattern: *const u8,
    // not part of the declared layout
    caps: Vec<c_int>,
    replace_cv: Option<Box<ComplexValue>>,
    replace_text: Vec<u8>,
    template: Option<Box<Template>>,
}

impl Drop for Regex {
    fn drop(&mut self) {
        if !self.regex.is_null() {
            // SAFETY: the code came from pcre2_compile and is freed once.
            unsafe { pcre2::code_free(self.regex) };
        }
    }
}

/// The opaque `ngx_stream_lua_script_engine_t`: one match's subject and captures.
pub struct ScriptEngine {
    subj: *const u8,
    caps: *const c_int,
    ncaps: usize,
}

/// Per-process PCRE2 state shared by every regex, like upstream's static contexts.
struct State {
    mctx: Cell<*mut pcre2::MatchContext>,
    md: Cell<*mut pcre2::MatchData>,
    md_pairs: Cell<u32>,
    jit_stack: Cell<*mut pcre2::JitStack>,
    /// lua_regex_match_limit was applied (once the running cycle's configuration is known:
    /// not yet while init_by_lua runs)
    limit_set: Cell<bool>,
}

thread_local! {
    static STATE: State = const {
        State {
            mctx: Cell::new(ptr::null_mut()),
            md: Cell::new(ptr::null_mut()),
            md_pairs: Cell::new(0),
            jit_stack: Cell::new(ptr::null_mut()),
            limit_set: Cell::new(false),
        }
    };
}

fn match_context() -> *mut pcre2::MatchContext {
    STATE.with(|st| {
        if st.mctx.get().is_null() {
            // SAFETY: a context with the default allocator, kept for the process's life.
            st.mctx.set(unsafe { pcre2::match_context_create(ptr::null_mut()) });
        }
        let ctx = st.mctx.get();
        if !st.limit_set.get() && !ctx.is_null() {
            if let Some(limit) = crate::api::regex::match_limit() {
                if limit > 0 {
                    // SAFETY: ctx is live.
                    unsafe { pcre2::set_match_limit(ctx, limit.min(u32::MAX as usize) as u32) };
                }
                st.limit_set.set(true);
            }
        }
        ctx
    })
}

/// Writes `msg` NUL-terminated into `errstr` (`size` bytes).
unsafe fn put_err(errstr: *mut u8, size: usize, msg: &[u8]) {
    if errstr.is_null() || size == 0 {
        return;
    }
    let n = msg.len().min(size - 1);
    // SAFETY: the caller's buffer has `size` bytes.
    unsafe {
        ptr::copy_nonoverlapping(msg.as_ptr(), errstr, n);
        *errstr.add(n) = 0;
    }
}

unsafe fn compile(pat: &[u8], pcre_opts: u32) -> Result<(*mut pcre2::Code, u32), Vec<u8>> {
    let (mut code, mut off) = (0, 0usize);
    // SAFETY: pat is a valid byte slice; a null compile context means the defaults.
    let re = unsafe { pcre2::compile(pat.as_ptr(), pat.len(), pcre_opts, &mut code, &mut off, ptr::null_mut()) };
    if re.is_null() {
        let mut buf = [0u8; 128];
        // SAFETY: buf has 128 bytes; the message is NUL-terminated.
        let n = unsafe { pcre2::get_error_message(code, buf.as_mut_ptr(), buf.len()) }.max(0) as usize;
        let what = String::from_utf8_lossy(&buf[..n]);
        let shown = String::from_utf8_lossy(pat);
        let mut msg = format!("pcre2_compile() failed: {what} in \"{shown}\"");
        if off < pat.len() {
            // upstream prints the rest of the pattern as a C string
            let rest = &pat[off..];
            let rest = &rest[..rest.iter().position(|&b| b == 0).unwrap_or(rest.len())];
            msg = format!("{msg} at \"{}\"", String::from_utf8_lossy(rest));
        }
        return Err(msg.into_bytes());
    }
    let mut ncap: u32 = 0;
    // SAFETY: re is a compiled pattern; CAPTURECOUNT writes a uint32_t.
    let n = unsafe { pcre2::pattern_info(re, pcre2::INFO_CAPTURECOUNT, &mut ncap as *mut u32 as *mut c_void) };
    if n < 0 {
        // SAFETY: re is ours and freed once.
        unsafe { pcre2::code_free(re) };
        return Err(format!(
            "pcre2_pattern_info(\"{}\", PCRE_INFO_CAPTURECOUNT) failed: {n}",
            String::from_utf8_lossy(pat)
        )
        .into_bytes());
    }
    Ok((re, ncap))
}

fn jit_compile(re: *mut pcre2::Code, flags: c_int, pat: &[u8]) {
    if flags & MODE_JIT != 0 {
        // SAFETY: re is a live compiled pattern.
        let rc = unsafe { pcre2::jit_compile(re, pcre2::JIT_COMPLETE) };
        if rc != 0 {
            let msg = format!("pcre2_jit_compile() failed: {rc} in \"{}\", ignored", String::from_utf8_lossy(pat));
            log_error(NGX_LOG_INFO, cycle_log(), 0, msg.as_bytes());
        } else {
            log_debug(cycle_log(), "pcre2 JIT compiled successfully");
        }
    }
    STATE.with(|st| {
        let stack = st.jit_stack.get();
        if !stack.is_null() {
            // SAFETY: both live for the process's life.
            unsafe { pcre2::jit_stack_assign(match_context(), ptr::null_mut(), stack) };
        }
    });
}

unsafe fn name_info(re: *mut pcre2::Code) -> Result<(c_int, c_int, *mut u8), &'static [u8]> {
    let (mut count, mut size, mut table): (u32, u32, *mut u8) = (0, 0, ptr::null_mut());
    // SAFETY: re is live; each query writes the type pcre2.h documents.
    unsafe {
        if pcre2::pattern_info(re, pcre2::INFO_NAMECOUNT, &mut count as *mut u32 as *mut c_void) < 0 {
            return Err(b"cannot acquire named subpattern count");
        }
        if count > 0 {
            if pcre2::pattern_info(re, pcre2::INFO_NAMEENTRYSIZE, &mut size as *mut u32 as *mut c_void) != 0 {
                return Err(b"cannot acquire named subpattern entry size");
            }
            if pcre2::pattern_info(re, pcre2::INFO_NAMETABLE, &mut table as *mut *mut u8 as *mut c_void) != 0 {
                return Err(b"cannot acquire named subpattern table");
            }
        }
    }
    Ok((count as c_int, size as c_int, table))
}

#[no_mangle]
pub unsafe extern "C" fn ngx_stream_lua_ffi_compile_regex(
    pat: *const u8,
    pat_len: usize,
    flags: c_int,
    pcre_opts: c_int,
    errstr: *mut u8,
    errstr_size: usize,
) -> *mut Regex {
    guard(ptr::null_mut(), || {
        // SAFETY: LuaJIT passes a string of pat_len bytes and an error buffer of errstr_size.
        unsafe {
            let p = if pat.is_null() { &[][..] } else { std::slice::from_raw_parts(pat, pat_len) };
            let (code, ncap) = match compile(p, pcre_opts as u32) {
                Ok(v) => v,
                Err(msg) => {
                    put_err(errstr, errstr_size, &msg);
                    return ptr::null_mut();
                }
            };
            jit_compile(code, flags, p);
            let mut re = Box::new(Regex {
                pool: ptr::null_mut(),
                name_table: ptr::null_mut(),
                name_count: 0,
                name_entry_size: 0,
                ncaptures: 0,
                captures: ptr::null_mut(),
                regex: code,
                regex_sd: ptr::null_mut(),
                replace: ptr::null_mut(),
                pattern: pat,
                caps: Vec::new(),
                replace_cv: None,
                replace_text: Vec::new(),
                template: None,
            });
            match name_info(code) {
                Ok((count, size, table)) => {
                    re.name_count = count;
                    re.name_entry_size = size;
                    re.name_table = table;
                }
                Err(msg) => {
                    put_err(errstr, errstr_size, msg);
                    return ptr::null_mut();
                }
            }
            // DFA mode reports only the longest match
            re.ncaptures = if flags & MODE_DFA != 0 { 0 } else { ncap as c_int };
            re.caps = vec![-1; (re.ncaptures as usize + 1) * 2];
            re.captures = re.caps.as_mut_ptr();
            let raw = Box::into_raw(re);
            // upstream's destroy skips a regex without a pool: ours points at itself
            (*raw).pool = raw as *mut c_void;
            raw
        }
    })
}

#[no_mangle]
pub unsafe extern "C" fn ngx_stream_lua_ffi_exec_regex(
    re: *mut Regex,
    flags: c_int,
    s: *const u8,
    len: usize,
    pos: c_int,
) -> c_int {
    guard(pcre2::ERROR_NOMEMORY, || {
        if re.is_null() {
            return pcre2::ERROR_NOMEMORY;
        }
        // SAFETY: re came from compile_regex and is alive (LuaJIT holds it); s has len bytes.
        unsafe {
            let re = &mut *re;
            if flags & MODE_DFA != 0 {
                re.ncaptures = 0;
            }
            let pairs = re.ncaptures as u32 + 1;
            let md = STATE.with(|st| {
                if st.md.get().is_null() || pairs > st.md_pairs.get() {
                    if !st.md.get().is_null() {
                        pcre2::match_data_free(st.md.get());
                    }
                    st.md.set(pcre2::match_data_create(pairs, ptr::null_mut()));
                    st.md_pairs.set(if st.md.get().is_null() { 0 } else { pairs });
                }
                st.md.get()
            });
            if md.is_null() {
                return pcre2::ERROR_NOMEMORY;
            }
            let opts = if flags & NO_UTF8_CHECK != 0 { pcre2::NO_UTF_CHECK } else { 0 };
            let start = pos.max(0) as usize;
            let subj = if s.is_null() { b"".as_ptr() } else { s };
            let rc = if flags & MODE_DFA != 0 {
                let mut ws = [0 as c_int; DFA_WORKSPACE];
                pcre2::dfa_match(re.regex, subj, len, start, opts, md, match_context(), ws.as_mut_ptr(), ws.len())
            } else {
                pcre2::match_(re.regex, subj, len, start, opts, md, match_context())
            };
            if rc < 0 {
                return rc;
            }
            let n = (pcre2::get_ovector_count(md) as usize).min(pairs as usize).min(re.caps.len() / 2);
            let ov = std::slice::from_raw_parts(pcre2::get_ovector_pointer(md), n * 2);
            for (dst, &v) in re.caps.iter_mut().zip(ov) {
                // PCRE2_UNSET (all ones) becomes -1, as upstream's int captures
                *dst = v as c_int;
            }
            rc
        }
    })
}

#[no_mangle]
pub unsafe extern "C" fn ngx_stream_lua_ffi_destroy_regex(re: *mut Regex) {
    guard((), || {
        if !re.is_null() {
            // SAFETY: re came from Box::into_raw in compile_regex and LuaJIT frees it once.
            drop(unsafe { Box::from_raw(re) });
        }
    })
}

#[no_mangle]
pub unsafe extern "C" fn ngx_stream_lua_ffi_compile_replace_template(
    re: *mut Regex,
    data: *const u8,
    len: usize,
) -> c_int {
    guard(NGX_ERROR, || {
        // SAFETY: re is a live regex; data has len bytes.
        unsafe {
            let re = &mut *re;
            re.replace_text = if data.is_null() { Vec::new() } else { std::slice::from_raw_parts(data, len).to_vec() };
            let template = match compile_template(&re.replace_text) {
                Ok(t) => t.map(Box::new),
                Err(msg) => {
                    log_error(NGX_LOG_ERR, cycle_log(), 0, msg.as_bytes());
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
    })
}

#[no_mangle]
pub unsafe extern "C" fn ngx_stream_lua_ffi_create_script_engine() -> *mut ScriptEngine {
    guard(ptr::null_mut(), || Box::into_raw(Box::new(ScriptEngine { subj: ptr::null(), caps: ptr::null(), ncaps: 0 })))
}

#[no_mangle]
pub unsafe extern "C" fn ngx_stream_lua_ffi_init_script_engine(
    e: *mut ScriptEngine,
    subj: *const u8,
    compiled: *mut Regex,
    count: c_int,
) {
    guard((), || {
        // SAFETY: e came from create_script_engine; compiled is a live regex.
        unsafe {
            let e = &mut *e;
            let re = &*compiled;
            e.subj = subj;
            e.caps = re.caps.as_ptr();
            e.ncaps = (count.max(0) as usize * 2).min(re.caps.len());
        }
    })
}

#[no_mangle]
pub unsafe extern "C" fn ngx_stream_lua_ffi_destroy_script_engine(e: *mut ScriptEngine) {
    guard((), || {
        if !e.is_null() {
            // SAFETY: e came from Box::into_raw in create_script_engine.
            drop(unsafe { Box::from_raw(e) });
        }
    })
}

/// The engine's captures and the template a complex value runs.
unsafe fn program<'a>(
    e: *mut ScriptEngine,
    cv: *mut ComplexValue,
) -> Option<(&'a ScriptEngine, &'a [i32], &'a Template)> {
    // SAFETY: e was initialised for the regex whose replace value cv is.
    unsafe {
        let e = &*e;
        let t = ((*cv).lengths as *const Template).as_ref()?;
        let caps = if e.caps.is_null() { &[][..] } else { std::slice::from_raw_parts(e.caps, e.ncaps) };
        Some((e, caps, t))
    }
}

#[no_mangle]
pub unsafe extern "C" fn ngx_stream_lua_ffi_script_eval_len(e: *mut ScriptEngine, cv: *mut ComplexValue) -> usize {
    // SAFETY: see program().
    guard(0, || unsafe { program(e, cv) }.map_or(0, |(_, caps, t)| t.eval_len(caps)))
}

/// Writes the expansion to `dst`; returns its length (lua-resty-core declares a size_t).
#[no_mangle]
pub unsafe extern "C" fn ngx_stream_lua_ffi_script_eval_data(
    e: *mut ScriptEngine,
    cv: *mut ComplexValue,
    dst: *mut u8,
) -> usize {
    guard(0, || {
        // SAFETY: dst has room for eval_len bytes (the caller sized it); captures lie in subj.
        unsafe {
            let Some((e, caps, t)) = program(e, cv) else {
                return 0;
            };
            let mut written = 0;
            for p in &t.0 {
                let (src, n) = match p {
                    Piece::Lit(s) => (s.as_ptr(), s.len()),
                    Piece::Cap(i) => match capture_range(caps, *i) {
                        Some((f, to)) => (e.subj.add(f), to - f),
                        None => continue,
                    },
                };
                ptr::copy_nonoverlapping(src, dst.add(written), n);
                written += n;
            }
            written
        }
    })
}

#[no_mangle]
pub extern "C" fn ngx_stream_lua_ffi_max_regex_cache_size() -> u32 {
    guard(0, || crate::api::regex::cache_max_entries().min(u32::MAX as usize) as u32)
}

#[no_mangle]
pub extern "C" fn ngx_stream_lua_ffi_pcre_version() -> *const c_char {
    static VERSION: OnceLock<[u8; 64]> = OnceLock::new();
    VERSION
        .get_or_init(|| {
            let mut buf = [0u8; 64];
            // SAFETY: PCRE2 writes at most 24 bytes (NUL-terminated) for the version.
            unsafe { pcre2::config(pcre2::CONFIG_VERSION, buf.as_mut_ptr() as *mut c_void) };
            buf[63] = 0;
            buf
        })
        .as_ptr() as *const c_char
}

#[no_mangle]
pub unsafe extern "C" fn ngx_stream_lua_ffi_set_jit_stack_size(
    size: c_int,
    errstr: *mut u8,
    errstr_size: *mut usize,
) -> c_int {
    guard(NGX_ERROR, || {
        let report = |msg: &[u8]| {
            if !errstr_size.is_null() {
                // SAFETY: errstr has *errstr_size bytes.
                unsafe {
                    let n = msg.len().min(*errstr_size);
                    ptr::copy_nonoverlapping(msg.as_ptr(), errstr, n);
                    *errstr_size = n;
                }
            }
            NGX_ERROR
        };
        let mut jit: u32 = 0;
        // SAFETY: CONFIG_JIT writes a uint32_t.
        unsafe { pcre2::config(pcre2::CONFIG_JIT, &mut jit as *mut u32 as *mut c_void) };
        if jit == 0 {
            return report(b"no pcre jit support found");
        }
        let size = (size.max(0) as usize).max(MIN_JIT_STACK);
        STATE.with(|st| {
            // SAFETY: the old stack is ours; regexes compiled later get the new one.
            unsafe {
                if !st.jit_stack.get().is_null() {
                    pcre2::jit_stack_free(st.jit_stack.get());
                }
                st.jit_stack.set(pcre2::jit_stack_create(MIN_JIT_STACK, size, ptr::null_mut()));
                // never leave the context on the freed stack (null: PCRE2's own)
                if !st.mctx.get().is_null() {
                    pcre2::jit_stack_assign(st.mctx.get(), ptr::null_mut(), st.jit_stack.get());
                }
            }
            if st.jit_stack.get().is_null() {
                report(b"pcre jit stack allocation failed")
            } else {
                NGX_OK as c_int
            }
        })
    })
}
