//! The few PCRE2 (8-bit) calls ngx.re needs, linked from libpcre2-8 (the library nginx itself
//! is built with here), and owning handles over them: `Code`, `MatchData`, `MatchContext`
//! and `JitStack` free what they hold on drop, and their methods are safe. Values are
//! pcre2.h's.

use std::cell::Cell;
use std::ffi::{c_int, c_uint, c_void};
use std::ptr::{self, NonNull};

/// PCRE2's opaque types, as the raw calls below see them.
pub type RawCode = c_void;
pub type RawMatchData = c_void;
pub type RawMatchContext = c_void;
pub type RawJitStack = c_void;

pub const ERROR_NOMEMORY: c_int = -48;
pub const NO_UTF_CHECK: u32 = 0x4000_0000;
pub const JIT_COMPLETE: u32 = 1;
pub const INFO_CAPTURECOUNT: u32 = 4;
const INFO_ALLOPTIONS: u32 = 0;
const UTF: u32 = 0x0008_0000;
const ERROR_JIT_BADOPTION: c_int = -45;
pub const INFO_NAMECOUNT: u32 = 17;
pub const INFO_NAMEENTRYSIZE: u32 = 18;
pub const INFO_NAMETABLE: u32 = 19;
pub const CONFIG_JIT: u32 = 1;
const CONFIG_MATCHLIMIT: u32 = 4;
pub const CONFIG_VERSION: u32 = 11;

mod raw {
    use super::*;

    #[link(name = "pcre2-8")]
    extern "C" {
        #[link_name = "pcre2_compile_8"]
        pub fn compile(
            pat: *const u8,
            len: usize,
            options: u32,
            errcode: *mut c_int,
            erroff: *mut usize,
            ccontext: *mut c_void,
        ) -> *mut RawCode;
        #[link_name = "pcre2_code_free_8"]
        pub fn code_free(code: *mut RawCode);
        #[link_name = "pcre2_pattern_info_8"]
        pub fn pattern_info(code: *const RawCode, what: u32, out: *mut c_void) -> c_int;
        #[link_name = "pcre2_get_error_message_8"]
        pub fn get_error_message(code: c_int, buf: *mut u8, len: usize) -> c_int;
        #[link_name = "pcre2_jit_compile_8"]
        pub fn jit_compile(code: *mut RawCode, options: u32) -> c_int;
        #[link_name = "pcre2_match_data_create_8"]
        pub fn match_data_create(pairs: u32, gcontext: *mut c_void) -> *mut RawMatchData;
        #[link_name = "pcre2_match_data_free_8"]
        pub fn match_data_free(md: *mut RawMatchData);
        #[link_name = "pcre2_get_ovector_pointer_8"]
        pub fn get_ovector_pointer(md: *mut RawMatchData) -> *mut usize;
        #[link_name = "pcre2_get_ovector_count_8"]
        pub fn get_ovector_count(md: *mut RawMatchData) -> c_uint;
        #[link_name = "pcre2_match_context_create_8"]
        pub fn match_context_create(gcontext: *mut c_void) -> *mut RawMatchContext;
        #[link_name = "pcre2_match_context_free_8"]
        pub fn match_context_free(mcontext: *mut RawMatchContext);
        #[link_name = "pcre2_set_match_limit_8"]
        pub fn set_match_limit(mcontext: *mut RawMatchContext, limit: u32) -> c_int;
        #[link_name = "pcre2_jit_stack_create_8"]
        pub fn jit_stack_create(start: usize, max: usize, gcontext: *mut c_void) -> *mut RawJitStack;
        #[link_name = "pcre2_jit_stack_free_8"]
        pub fn jit_stack_free(stack: *mut RawJitStack);
        #[link_name = "pcre2_jit_stack_assign_8"]
        pub fn jit_stack_assign(mcontext: *mut RawMatchContext, cb: *mut c_void, data: *mut c_void);
        #[link_name = "pcre2_match_8"]
        pub fn match_(
            code: *const RawCode,
            subject: *const u8,
            len: usize,
            start: usize,
            options: u32,
            md: *mut RawMatchData,
            mcontext: *mut RawMatchContext,
        ) -> c_int;
        #[link_name = "pcre2_jit_match_8"]
        pub fn jit_match(
            code: *const RawCode,
            subject: *const u8,
            len: usize,
            start: usize,
            options: u32,
            md: *mut RawMatchData,
            mcontext: *mut RawMatchContext,
        ) -> c_int;
        #[link_name = "pcre2_dfa_match_8"]
        pub fn dfa_match(
            code: *const RawCode,
            subject: *const u8,
            len: usize,
            start: usize,
            options: u32,
            md: *mut RawMatchData,
            mcontext: *mut RawMatchContext,
            workspace: *mut c_int,
            wscount: usize,
        ) -> c_int;
        #[link_name = "pcre2_config_8"]
        pub fn config(what: u32, out: *mut c_void) -> c_int;
    }
}

/// A compiled pattern, and whether its matches may enter its JIT code directly: set once
/// it has JIT code and does not match UTF (pcre2_match's only checks such a match needs, of
/// the start offset, `match_at` makes itself).
pub struct Code(NonNull<RawCode>, Cell<bool>);

/// Why a pattern did not compile: PCRE2's error code and the offset it stopped at.
pub struct CompileError {
    pub code: c_int,
    pub offset: usize,
}

impl Code {
    pub fn compile(pat: &[u8], options: u32) -> Result<Code, CompileError> {
        let (mut code, mut offset) = (0, 0usize);
        // SAFETY: pat is a live slice of pat.len() bytes; a null compile context means the
        // defaults; the two out-parameters are plain locals.
        let re = unsafe { raw::compile(pat.as_ptr(), pat.len(), options, &mut code, &mut offset, ptr::null_mut()) };
        NonNull::new(re).map(|re| Code(re, Cell::new(false))).ok_or(CompileError { code, offset })
    }

    /// A `pattern_info` query that writes a `T`.
    fn info<T: Default>(&self, what: u32) -> Result<T, c_int> {
        let mut out = T::default();
        // SAFETY: the pattern is live and each query used here writes exactly a T (pcre2.h).
        let rc = unsafe { raw::pattern_info(self.0.as_ptr(), what, &mut out as *mut T as *mut c_void) };
        if rc < 0 {
            Err(rc)
        } else {
            Ok(out)
        }
    }

    pub fn capture_count(&self) -> Result<u32, c_int> {
        self.info::<u32>(INFO_CAPTURECOUNT)
    }

    pub fn name_count(&self) -> Result<u32, c_int> {
        self.info::<u32>(INFO_NAMECOUNT)
    }

    pub fn name_entry_size(&self) -> Result<u32, c_int> {
        self.info::<u32>(INFO_NAMEENTRYSIZE)
    }

    /// Where the name table starts: it lives as long as the pattern.
    pub fn name_table(&self) -> Result<*mut u8, c_int> {
        self.info::<usize>(INFO_NAMETABLE).map(|p| p as *mut u8)
    }

    /// Compiles the pattern to machine code; PCRE2's error code on failure.
    pub fn jit_compile(&self) -> c_int {
        // SAFETY: the pattern is live.
        let rc = unsafe { raw::jit_compile(self.0.as_ptr(), JIT_COMPLETE) };
        // (a UTF pattern's subject must be checked first: pcre2_match does that)
        self.1.set(rc == 0 && self.info::<u32>(INFO_ALLOPTIONS).is_ok_and(|o| o & UTF == 0));
        rc
    }

    pub fn as_ptr(&self) -> *mut RawCode {
        self.0.as_ptr()
    }

    /// Matches `subject` from `start` into `md`: the number of pairs set, or a negative
    /// PCRE2 error (a `start` beyond the subject is one: PCRE2 checks it).
    pub fn match_at(
        &self,
        subject: &[u8],
        start: usize,
        options: u32,
        md: &mut MatchData,
        ctx: &MatchContext,
    ) -> c_int {
        let (code, subj, len, md, ctx) =
            (self.0.as_ptr(), subject.as_ptr(), subject.len(), md.0.as_ptr(), ctx.0.as_ptr());
        if self.1.get() && start < len {
            // pcre2_match would check the offset and call the JIT code, nothing more
            // SAFETY: as below; the pattern has JIT code and is not UTF (no subject check to
            // skip), and start is inside the subject (pcre2_jit_match does not check it).
            let rc = unsafe { raw::jit_match(code, subj, len, start, options, md, ctx) };
            if rc != ERROR_JIT_BADOPTION {
                return rc;
            }
        }
        // SAFETY: pattern, match data and context are live; PCRE2 reads subject.len() bytes.
        unsafe { raw::match_(code, subj, len, start, options, md, ctx) }
    }

    /// The same with the DFA algorithm, which needs a workspace.
    pub fn dfa_match_at(
        &self,
        subject: &[u8],
        start: usize,
        options: u32,
        md: &mut MatchData,
        ctx: &MatchContext,
        workspace: &mut [c_int],
    ) -> c_int {
        // SAFETY: as match_at; the workspace slice has workspace.len() ints.
        unsafe {
            raw::dfa_match(
                self.0.as_ptr(),
                subject.as_ptr(),
                subject.len(),
                start,
                options,
                md.0.as_ptr(),
                ctx.0.as_ptr(),
                workspace.as_mut_ptr(),
                workspace.len(),
            )
        }
    }
}

impl Drop for Code {
    fn drop(&mut self) {
        // SAFETY: the pattern came from pcre2_compile and this is its only owner.
        unsafe { raw::code_free(self.0.as_ptr()) }
    }
}

/// PCRE2's text for an error code.
pub fn error_message(code: c_int) -> String {
    let mut buf = [0u8; 128];
    // SAFETY: buf has 128 bytes; PCRE2 writes at most that many, NUL-terminated.
    let n = unsafe { raw::get_error_message(code, buf.as_mut_ptr(), buf.len()) }.max(0) as usize;
    String::from_utf8_lossy(&buf[..n.min(buf.len())]).into_owned()
}

/// Room for the offsets of one match, with its pair count and its vector's place (both fixed
/// for its life), kept so that reading a match's offsets needs no call into PCRE2.
pub struct MatchData(NonNull<RawMatchData>, u32, *const usize, usize);

impl MatchData {
    /// Room for `pairs` (start, end) pairs.
    pub fn new(pairs: u32) -> Option<MatchData> {
        // SAFETY: a null general context means malloc/free.
        let md = NonNull::new(unsafe { raw::match_data_create(pairs, ptr::null_mut()) })?;
        // SAFETY: the match data is live; its vector is part of its block, so count and
        // pointer stay what they are until it is freed.
        let (n, p) = unsafe { (raw::get_ovector_count(md.as_ptr()) as usize, raw::get_ovector_pointer(md.as_ptr())) };
        Some(MatchData(md, pairs, p, n))
    }

    #[inline]
    pub fn pairs(&self) -> u32 {
        self.1
    }

    /// The offsets of the last match: start and end of each pair (PCRE2_UNSET for groups
    /// that did not take part).
    #[inline]
    pub fn ovector(&self) -> &[usize] {
        // SAFETY: the vector holds self.3 pairs and lives (unchanged while borrowed, matches
        // take `&mut self`) as long as self.
        unsafe { std::slice::from_raw_parts(self.2, self.3 * 2) }
    }
}

impl Drop for MatchData {
    fn drop(&mut self) {
        // SAFETY: created by match_data_create and owned only here.
        unsafe { raw::match_data_free(self.0.as_ptr()) }
    }
}

/// Settings of matches: the match limit and the JIT stack.
pub struct MatchContext(NonNull<RawMatchContext>);

impl MatchContext {
    pub fn new() -> Option<MatchContext> {
        // SAFETY: a null general context means malloc/free.
        NonNull::new(unsafe { raw::match_context_create(ptr::null_mut()) }).map(MatchContext)
    }

    pub fn set_match_limit(&self, limit: u32) {
        // SAFETY: the context is live.
        unsafe { raw::set_match_limit(self.0.as_ptr(), limit) };
    }

    /// Makes JIT-compiled matches run on `stack` (None: PCRE2's own small stack). The caller
    /// keeps the stack alive as long as this context uses it.
    pub fn use_jit_stack(&self, stack: Option<&JitStack>) {
        let data = stack.map_or(ptr::null_mut(), |s| s.0.as_ptr());
        // SAFETY: the context is live; a null callback means "use data as the stack".
        unsafe { raw::jit_stack_assign(self.0.as_ptr(), ptr::null_mut(), data) };
    }
}

impl Drop for MatchContext {
    fn drop(&mut self) {
        // SAFETY: created by match_context_create and owned only here.
        unsafe { raw::match_context_free(self.0.as_ptr()) }
    }
}

/// The stack JIT-compiled matches run on (`ngx.re.opt("jit_stack_size", n)`).
pub struct JitStack(NonNull<RawJitStack>);

impl JitStack {
    pub fn new(start: usize, max: usize) -> Option<JitStack> {
        // SAFETY: a null general context means malloc/free.
        NonNull::new(unsafe { raw::jit_stack_create(start, max, ptr::null_mut()) }).map(JitStack)
    }
}

impl Drop for JitStack {
    fn drop(&mut self) {
        // SAFETY: created by jit_stack_create and owned only here.
        unsafe { raw::jit_stack_free(self.0.as_ptr()) }
    }
}

/// Whether this PCRE2 was built with JIT support.
pub fn has_jit() -> bool {
    let mut jit: u32 = 0;
    // SAFETY: CONFIG_JIT writes a uint32_t.
    unsafe { raw::config(CONFIG_JIT, &mut jit as *mut u32 as *mut c_void) };
    jit != 0
}

/// The match limit PCRE2 was built with (what a match context starts with).
pub fn default_match_limit() -> u32 {
    let mut limit: u32 = 10_000_000;
    // SAFETY: CONFIG_MATCHLIMIT writes a uint32_t.
    unsafe { raw::config(CONFIG_MATCHLIMIT, &mut limit as *mut u32 as *mut c_void) };
    limit
}

/// PCRE2's version text, NUL-terminated.
pub fn version() -> [u8; 64] {
    let mut buf = [0u8; 64];
    // SAFETY: PCRE2 writes at most 24 bytes (NUL-terminated) for the version.
    unsafe { raw::config(CONFIG_VERSION, buf.as_mut_ptr() as *mut c_void) };
    buf[63] = 0;
    buf
}
