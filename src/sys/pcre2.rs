//! The few PCRE2 (8-bit) calls ngx.re needs, linked from libpcre2-8 (the library nginx itself
//! is built with here). Values are pcre2.h's.

use std::ffi::{c_int, c_uint, c_void};

pub type Code = c_void;
pub type MatchData = c_void;
pub type MatchContext = c_void;
pub type JitStack = c_void;

pub const ERROR_NOMEMORY: c_int = -48;
pub const NO_UTF_CHECK: u32 = 0x4000_0000;
pub const JIT_COMPLETE: u32 = 1;
pub const INFO_CAPTURECOUNT: u32 = 4;
pub const INFO_NAMECOUNT: u32 = 17;
pub const INFO_NAMEENTRYSIZE: u32 = 18;
pub const INFO_NAMETABLE: u32 = 19;
pub const CONFIG_JIT: u32 = 1;
pub const CONFIG_VERSION: u32 = 11;

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
    ) -> *mut Code;
    #[link_name = "pcre2_code_free_8"]
    pub fn code_free(code: *mut Code);
    #[link_name = "pcre2_pattern_info_8"]
    pub fn pattern_info(code: *const Code, what: u32, out: *mut c_void) -> c_int;
    #[link_name = "pcre2_get_error_message_8"]
    pub fn get_error_message(code: c_int, buf: *mut u8, len: usize) -> c_int;
    #[link_name = "pcre2_jit_compile_8"]
    pub fn jit_compile(code: *mut Code, options: u32) -> c_int;
    #[link_name = "pcre2_match_data_create_8"]
    pub fn match_data_create(pairs: u32, gcontext: *mut c_void) -> *mut MatchData;
    #[link_name = "pcre2_match_data_free_8"]
    pub fn match_data_free(md: *mut MatchData);
    #[link_name = "pcre2_get_ovector_pointer_8"]
    pub fn get_ovector_pointer(md: *mut MatchData) -> *mut usize;
    #[link_name = "pcre2_get_ovector_count_8"]
    pub fn get_ovector_count(md: *mut MatchData) -> c_uint;
    #[link_name = "pcre2_match_context_create_8"]
    pub fn match_context_create(gcontext: *mut c_void) -> *mut MatchContext;
    #[link_name = "pcre2_set_match_limit_8"]
    pub fn set_match_limit(mcontext: *mut MatchContext, limit: u32) -> c_int;
    #[link_name = "pcre2_jit_stack_create_8"]
    pub fn jit_stack_create(start: usize, max: usize, gcontext: *mut c_void) -> *mut JitStack;
    #[link_name = "pcre2_jit_stack_free_8"]
    pub fn jit_stack_free(stack: *mut JitStack);
    #[link_name = "pcre2_jit_stack_assign_8"]
    pub fn jit_stack_assign(mcontext: *mut MatchContext, cb: *mut c_void, data: *mut c_void);
    #[link_name = "pcre2_match_8"]
    pub fn match_(
        code: *const Code,
        subject: *const u8,
        len: usize,
        start: usize,
        options: u32,
        md: *mut MatchData,
        mcontext: *mut MatchContext,
    ) -> c_int;
    #[link_name = "pcre2_dfa_match_8"]
    pub fn dfa_match(
        code: *const Code,
        subject: *const u8,
        len: usize,
        start: usize,
        options: u32,
        md: *mut MatchData,
        mcontext: *mut MatchContext,
        workspace: *mut c_int,
        wscount: usize,
    ) -> c_int;
    #[link_name = "pcre2_config_8"]
    pub fn config(what: u32, out: *mut c_void) -> c_int;
}
