//! The directive table and handlers. Directives of later milestones are recognised in their
//! upstream contexts and fail `nginx -t` with a clear message instead of being ignored.

use std::borrow::Cow;
use std::ffi::{c_char, c_void, CStr};
use std::ptr;
use std::rc::Rc;

use crate::conf::lexer::{scan_block, LexError};
use crate::conf::main_conf_of_cf;
use crate::conf::{MainConf, SrvConf};
use crate::runtime::code::{Code, CodeSource};
use crate::sys::*;

type SetFn = unsafe extern "C" fn(*mut ngx_conf_t, *mut ngx_command_t, *mut c_void) -> *mut c_char;

const MAIN: u32 = NGX_STREAM_MAIN_CONF;
const SRV: u32 = NGX_STREAM_SRV_CONF;
const UPS: u32 = NGX_STREAM_UPS_CONF;
const BLOCK: u32 = NGX_CONF_BLOCK | NGX_CONF_NOARGS;
const MAIN_OFF: usize = NGX_STREAM_MAIN_CONF_OFFSET;
const SRV_OFF: usize = NGX_STREAM_SRV_CONF_OFFSET;

const fn cmd(name: &'static CStr, type_: u32, set: SetFn, conf: usize) -> ngx_command_t {
    ngx_command_t {
        name: ngx_str_t { len: name.count_bytes(), data: name.as_ptr() as *mut u8 },
        type_: type_ as ngx_uint_t,
        set: Some(set),
        conf,
        offset: 0,
        post: ptr::null_mut(),
    }
}

const NULL_CMD: ngx_command_t = ngx_command_t {
    name: ngx_str_t { len: 0, data: ptr::null_mut() },
    type_: 0,
    set: None,
    conf: 0,
    offset: 0,
    post: ptr::null_mut(),
};

const T1: u32 = NGX_CONF_TAKE1;
const T2: u32 = NGX_CONF_TAKE2;
const FLAG: u32 = NGX_CONF_FLAG;

/// The `lua_ssl_*` directives exist only when nginx has TLS for stream servers (as upstream's
/// `NGX_STREAM_SSL`); without it nginx reports them as unknown.
const TLS_COMMANDS: usize = if cfg!(ngx_feature = "stream_ssl") { 8 } else { 0 };

pub static mut COMMANDS: [ngx_command_t; 43 + TLS_COMMANDS] = [
    // VM and code
    cmd(c"lua_load_resty_core", MAIN | FLAG, load_resty_core, MAIN_OFF),
    cmd(c"lua_code_cache", MAIN | SRV | FLAG, code_cache, SRV_OFF),
    cmd(c"lua_package_path", MAIN | T1, package_path, MAIN_OFF),
    cmd(c"lua_package_cpath", MAIN | T1, package_cpath, MAIN_OFF),
    cmd(c"lua_regex_cache_max_entries", MAIN | T1, regex_limit, MAIN_OFF),
    cmd(c"lua_regex_match_limit", MAIN | T1, regex_limit, MAIN_OFF),
    cmd(c"lua_max_pending_timers", MAIN | T1, max_pending_timers, MAIN_OFF),
    cmd(c"lua_max_running_timers", MAIN | T1, max_running_timers, MAIN_OFF),
    cmd(c"lua_sa_restart", MAIN | FLAG, super::process_directives::sa_restart, MAIN_OFF),
    cmd(c"lua_capture_error_log", MAIN | T1, super::process_directives::capture_error_log, MAIN_OFF),
    cmd(c"lua_malloc_trim", MAIN | T1, super::process_directives::malloc_trim, MAIN_OFF),
    cmd(c"lua_shared_dict", MAIN | T2, shared_dict, MAIN_OFF),
    cmd(c"lua_add_variable", MAIN | T1, super::process_directives::add_variable, MAIN_OFF),
    // handlers
    cmd(c"init_by_lua", MAIN | T1, init_by_lua, MAIN_OFF),
    cmd(c"init_by_lua_block", MAIN | BLOCK, init_by_lua_block, MAIN_OFF),
    cmd(c"init_by_lua_file", MAIN | T1, init_by_lua_file, MAIN_OFF),
    cmd(c"init_worker_by_lua", MAIN | T1, init_worker_by_lua, MAIN_OFF),
    cmd(c"init_worker_by_lua_block", MAIN | BLOCK, init_worker_by_lua_block, MAIN_OFF),
    cmd(c"init_worker_by_lua_file", MAIN | T1, init_worker_by_lua_file, MAIN_OFF),
    cmd(c"preread_by_lua_block", MAIN | SRV | BLOCK, preread_by_lua_block, SRV_OFF),
    cmd(c"preread_by_lua_file", MAIN | SRV | T1, preread_by_lua_file, SRV_OFF),
    cmd(c"preread_by_lua_no_postpone", MAIN | FLAG, preread_no_postpone, MAIN_OFF),
    cmd(c"content_by_lua", SRV | T1, content_by_lua, SRV_OFF),
    cmd(c"content_by_lua_block", SRV | BLOCK, content_by_lua_block, SRV_OFF),
    cmd(c"content_by_lua_file", SRV | T1, content_by_lua_file, SRV_OFF),
    cmd(c"log_by_lua_block", MAIN | SRV | BLOCK, log_by_lua_block, SRV_OFF),
    cmd(c"log_by_lua_file", MAIN | SRV | T1, log_by_lua_file, SRV_OFF),
    cmd(c"balancer_by_lua_block", UPS | BLOCK, balancer_by_lua_block, SRV_OFF),
    cmd(c"balancer_by_lua_file", UPS | T1, balancer_by_lua_file, SRV_OFF),
    cmd(c"ssl_certificate_by_lua_block", MAIN | SRV | BLOCK, not_yet, 0),
    cmd(c"ssl_certificate_by_lua_file", MAIN | SRV | T1, not_yet, 0),
    cmd(c"ssl_client_hello_by_lua_block", MAIN | SRV | BLOCK, not_yet, 0),
    cmd(c"ssl_client_hello_by_lua_file", MAIN | SRV | T1, not_yet, 0),
    // sockets
    cmd(c"lua_socket_connect_timeout", MAIN | SRV | T1, socket_connect_timeout, SRV_OFF),
    cmd(c"lua_socket_send_timeout", MAIN | SRV | T1, socket_send_timeout, SRV_OFF),
    cmd(c"lua_socket_read_timeout", MAIN | SRV | T1, socket_read_timeout, SRV_OFF),
    cmd(c"lua_socket_send_lowat", MAIN | SRV | T1, socket_send_lowat, SRV_OFF),
    cmd(c"lua_socket_buffer_size", MAIN | SRV | T1, socket_buffer_size, SRV_OFF),
    cmd(c"lua_socket_pool_size", MAIN | SRV | T1, socket_pool_size, SRV_OFF),
    cmd(c"lua_socket_keepalive_timeout", MAIN | SRV | T1, socket_keepalive_timeout, SRV_OFF),
    cmd(c"lua_socket_log_errors", MAIN | SRV | FLAG, socket_log_errors, SRV_OFF),
    cmd(c"lua_check_client_abort", MAIN | SRV | FLAG, check_client_abort, SRV_OFF),
    // TLS for cosockets
    #[cfg(ngx_feature = "stream_ssl")]
    cmd(c"lua_ssl_protocols", MAIN | SRV | NGX_CONF_1MORE, ssl_protocols, SRV_OFF),
    #[cfg(ngx_feature = "stream_ssl")]
    cmd(c"lua_ssl_ciphers", MAIN | SRV | T1, ssl_string, SRV_OFF),
    #[cfg(ngx_feature = "stream_ssl")]
    cmd(c"lua_ssl_verify_depth", MAIN | SRV | T1, ssl_verify_depth, SRV_OFF),
    #[cfg(ngx_feature = "stream_ssl")]
    cmd(c"lua_ssl_certificate", MAIN | SRV | T1, ssl_string, SRV_OFF),
    #[cfg(ngx_feature = "stream_ssl")]
    cmd(c"lua_ssl_certificate_key", MAIN | SRV | T1, ssl_string, SRV_OFF),
    #[cfg(ngx_feature = "stream_ssl")]
    cmd(c"lua_ssl_trusted_certificate", MAIN | SRV | T1, ssl_string, SRV_OFF),
    #[cfg(ngx_feature = "stream_ssl")]
    cmd(c"lua_ssl_crl", MAIN | SRV | T1, ssl_string, SRV_OFF),
    #[cfg(ngx_feature = "stream_ssl")]
    cmd(c"lua_ssl_conf_command", MAIN | SRV | T2, ssl_conf_command, SRV_OFF),
    NULL_CMD,
];

/// The directive's arguments (`cf->args`), name first.
unsafe fn args<'a>(cf: *mut ngx_conf_t) -> &'a [ngx_str_t] {
    // SAFETY: cf->args is an ngx_array_t of ngx_str_t while a directive is handled.
    unsafe {
        let a = (*cf).args;
        std::slice::from_raw_parts((*a).elts as *const ngx_str_t, (*a).nelts)
    }
}

unsafe fn cmd_name<'a>(cmd: *mut ngx_command_t) -> &'a [u8] {
    // SAFETY: cmd points into COMMANDS.
    unsafe { ngx_bytes(&(*cmd).name) }
}

unsafe extern "C" fn not_yet(cf: *mut ngx_conf_t, cmd: *mut ngx_command_t, _: *mut c_void) -> *mut c_char {
    guard(CONF_ERROR, || {
        // SAFETY: called by nginx's parser with a live cf and our cmd.
        let name = String::from_utf8_lossy(unsafe { cmd_name(cmd) }).into_owned();
        conf_log_error(
            NGX_LOG_EMERG,
            cf,
            format!("\"{name}\" directive is not implemented yet in stream-lua-rs").as_bytes(),
        );
        CONF_ERROR
    })
}

unsafe extern "C" fn load_resty_core(cf: *mut ngx_conf_t, _: *mut ngx_command_t, _: *mut c_void) -> *mut c_char {
    conf_log_error(
        NGX_LOG_WARN,
        cf,
        b"lua_load_resty_core is deprecated (the lua-resty-core library is required since ngx_stream_lua v0.0.8)",
    );
    CONF_OK
}

/// Parses `on`/`off` like `ngx_conf_set_flag_slot`.
unsafe fn flag_arg(cf: *mut ngx_conf_t, cmd: *mut ngx_command_t) -> Option<bool> {
    // SAFETY: a FLAG directive has exactly one argument.
    let v = unsafe { ngx_bytes(&args(cf)[1]) };
    if v.eq_ignore_ascii_case(b"on") {
        Some(true)
    } else if v.eq_ignore_ascii_case(b"off") {
        Some(false)
    } else {
        let name = String::from_utf8_lossy(unsafe { cmd_name(cmd) }).into_owned();
        conf_log_error(
            NGX_LOG_EMERG,
            cf,
            format!(
                "invalid value \"{}\" in \"{name}\" directive, it must be \"on\" or \"off\"",
                String::from_utf8_lossy(v)
            )
            .as_bytes(),
        );
        None
    }
}

unsafe extern "C" fn code_cache(cf: *mut ngx_conf_t, cmd: *mut ngx_command_t, conf: *mut c_void) -> *mut c_char {
    guard(CONF_ERROR, || {
        // SAFETY: conf is our SrvConf (SRV_CONF_OFFSET).
        let scf = unsafe { &mut *(conf as *mut SrvConf) };
        if scf.code_cache.is_some() {
            return c"is duplicate".as_ptr() as *mut c_char;
        }
        let Some(on) = (unsafe { flag_arg(cf, cmd) }) else { return CONF_ERROR };
        if !on {
            conf_log_error(NGX_LOG_ALERT, cf, b"stream lua_code_cache is off; this will hurt performance");
        }
        scf.code_cache = Some(on);
        CONF_OK
    })
}

unsafe fn set_path(cf: *mut ngx_conf_t, conf: *mut c_void, cpath: bool) -> *mut c_char {
    guard(CONF_ERROR, || {
        // SAFETY: conf is our MainConf (MAIN_CONF_OFFSET); one argument.
        let mcf = unsafe { &mut *(conf as *mut MainConf) };
        let slot = if cpath { &mut mcf.package_cpath } else { &mut mcf.package_path };
        if slot.is_some() {
            return c"is duplicate".as_ptr() as *mut c_char;
        }
        *slot = Some(unsafe { ngx_bytes(&args(cf)[1]) }.to_vec());
        CONF_OK
    })
}

unsafe extern "C" fn package_path(cf: *mut ngx_conf_t, _: *mut ngx_command_t, conf: *mut c_void) -> *mut c_char {
    unsafe { set_path(cf, conf, false) }
}

unsafe extern "C" fn package_cpath(cf: *mut ngx_conf_t, _: *mut ngx_command_t, conf: *mut c_void) -> *mut c_char {
    unsafe { set_path(cf, conf, true) }
}

/// `=TAG(FILE_BASENAME:LINE)`, the chunk name upstream gives inline code.
unsafe fn chunk_name(cf: *mut ngx_conf_t, tag: &str) -> String {
    // SAFETY: conf_file is the file being parsed.
    let (name, line) = unsafe {
        let f = (*cf).conf_file;
        (ngx_bytes(&(*f).file.name).to_vec(), (*f).line)
    };
    let base = match name.iter().rposition(|&c| c == b'/' || c == b'\\') {
        Some(p) => &name[p + 1..],
        None => &name[..],
    };
    format!("={tag}({}:{line})", String::from_utf8_lossy(base))
}

/// Reads the raw Lua body of a `*_by_lua_block` from nginx's configuration buffer (and, when
/// the block goes past that 4 KiB buffer, from the file), then moves nginx's reader to just
/// after the closing `}`.
unsafe fn read_lua_block(cf: *mut ngx_conf_t) -> Option<Vec<u8>> {
    // SAFETY: during a directive handler conf_file, its buffer and file are live; the buffer
    // holds unread bytes in [pos, last), and file.offset is where the buffer's data ends.
    unsafe {
        let cfile = (*cf).conf_file;
        let b = (*cfile).buffer;
        let buffered = std::slice::from_raw_parts((*b).pos, (*b).last.offset_from((*b).pos) as usize);
        let start_line = (*cfile).line;
        let offset = (*cfile).file.offset as usize;
        let size = (*cfile).file.info.st_size as usize;

        let mut text = Cow::Borrowed(buffered);
        let mut result = scan_block(&text);
        let mut read_past_buffer = false;
        // any failure may just be the buffer's end: look at the rest of the file before judging
        if result.is_err() && (*cfile).file.fd != -1 && offset < size {
            let mut all = buffered.to_vec();
            all.resize(buffered.len() + size - offset, 0);
            let rest = &mut all[buffered.len()..];
            let n = ngx_read_file(&mut (*cfile).file, rest.as_mut_ptr(), rest.len(), offset as off_t);
            if n < 0 || n as usize != rest.len() {
                conf_log_error(NGX_LOG_EMERG, cf, b"failed to read the rest of the configuration file");
                return None;
            }
            result = scan_block(&all);
            text = Cow::Owned(all);
            read_past_buffer = true;
        }
        match result {
            Ok(blk) => {
                let consumed = blk.code_len + 1;
                (*cfile).line += blk.newlines;
                if read_past_buffer {
                    // nginx refills its buffer from file.offset once pos reaches last.
                    let extra = &text[buffered.len()..consumed];
                    (*cfile).file.offset = (offset + extra.len()) as off_t;
                    (*b).pos = (*b).start;
                    (*b).last = (*b).start;
                    let dump = (*cfile).dump;
                    if !dump.is_null() {
                        let n = extra.len().min((*dump).end.offset_from((*dump).last) as usize);
                        ptr::copy_nonoverlapping(extra.as_ptr(), (*dump).last, n);
                        (*dump).last = (*dump).last.add(n);
                    }
                } else {
                    (*b).pos = (*b).pos.add(consumed);
                }
                Some(text[..blk.code_len].to_vec())
            }
            Err(LexError::UnexpectedEof) => {
                (*cfile).line = start_line;
                conf_log_error(
                    NGX_LOG_EMERG,
                    cf,
                    b"unexpected end of file, expecting terminating characters for lua code block",
                );
                None
            }
            Err(LexError::MissingLongBracket(close, newlines)) => {
                (*cfile).line = start_line + newlines;
                conf_log_error(
                    NGX_LOG_EMERG,
                    cf,
                    format!("Lua code block missing the closing long bracket \"{close}\"").as_bytes(),
                );
                None
            }
        }
    }
}

/// Registers code with the main configuration. Code that does not compile is reported now,
/// with the configuration file and line, so `nginx -t` shows it; it is a warning, not an
/// error, because upstream starts such configurations and fails the sessions that run the
/// code (with the same message at `error` level), and a drop-in must start what it started.
unsafe fn register_code(cf: *mut ngx_conf_t, code: Code) -> Option<Rc<Code>> {
    if let Err(msg) = code.check_syntax() {
        conf_log_error(NGX_LOG_WARN, cf, msg.as_bytes());
    }
    let code = Rc::new(code);
    // SAFETY: cf is inside the stream block, so our main conf exists.
    unsafe { main_conf_of_cf(cf) }.codes.push(code.clone());
    Some(code)
}

/// Which handler a `*_by_lua*` directive sets.
#[derive(Clone, Copy)]
enum Slot {
    Init,
    InitWorker,
    Preread,
    Content,
    Log,
    Balancer,
}

impl Slot {
    /// Upstream names init and balancer code `=init_by_lua`, `=balancer_by_lua` ... (no file
    /// and line), the other handlers `=TAG(FILE:LINE)`.
    unsafe fn chunk_name(self, cf: *mut ngx_conf_t) -> String {
        match self {
            Slot::Init | Slot::InitWorker | Slot::Balancer => format!("={}", self.tag()),
            // SAFETY: cf is being parsed.
            _ => unsafe { chunk_name(cf, self.tag()) },
        }
    }

    fn tag(self) -> &'static str {
        match self {
            Slot::Init => "init_by_lua",
            Slot::InitWorker => "init_worker_by_lua",
            Slot::Preread => "preread_by_lua",
            Slot::Content => "content_by_lua",
            Slot::Log => "log_by_lua",
            Slot::Balancer => "balancer_by_lua",
        }
    }
}

/// Stores `code` as the handler of `slot` in `conf` (our main or server configuration).
unsafe fn set_handler(cf: *mut ngx_conf_t, conf: *mut c_void, slot: Slot, code: Code) -> *mut c_char {
    // SAFETY: conf is the MainConf for init slots (MAIN_CONF_OFFSET), else our SrvConf.
    unsafe {
        let taken = match slot {
            Slot::Init => (*(conf as *mut MainConf)).init.is_some(),
            Slot::InitWorker => (*(conf as *mut MainConf)).init_worker.is_some(),
            Slot::Preread => (*(conf as *mut SrvConf)).preread.is_some(),
            Slot::Content => (*(conf as *mut SrvConf)).content.is_some(),
            Slot::Log => (*(conf as *mut SrvConf)).log.is_some(),
            Slot::Balancer => (*(conf as *mut SrvConf)).balancer.is_some(),
        };
        if taken {
            return c"is duplicate".as_ptr() as *mut c_char;
        }
        let Some(code) = register_code(cf, code) else { return CONF_ERROR };
        let mcf = main_conf_of_cf(cf);
        match slot {
            Slot::Init => mcf.init = Some(code),
            Slot::InitWorker => mcf.init_worker = Some(code),
            Slot::Preread => {
                mcf.has_preread = true;
                (*(conf as *mut SrvConf)).preread = Some(code);
            }
            Slot::Log => {
                mcf.has_log = true;
                (*(conf as *mut SrvConf)).log = Some(code);
            }
            Slot::Balancer => {
                (*(conf as *mut SrvConf)).balancer = Some(code);
                crate::phase::balancer::hook_upstream(cf);
            }
            Slot::Content => {
                (*(conf as *mut SrvConf)).content = Some(code);
                // the stream core module's server conf for the server being parsed
                let ctx = (*cf).ctx as *mut ngx_stream_conf_ctx_t;
                let cscf = *(*ctx).srv_conf.add(ngx_stream_core_module.ctx_index) as *mut ngx_stream_core_srv_conf_t;
                (*cscf).handler = Some(crate::phase::content::content_handler);
            }
        }
        CONF_OK
    }
}

unsafe fn handler_block(cf: *mut ngx_conf_t, conf: *mut c_void, slot: Slot) -> *mut c_char {
    guard(CONF_ERROR, || unsafe {
        let Some(src) = read_lua_block(cf) else { return CONF_ERROR };
        if src.is_empty() {
            conf_log_error(NGX_LOG_EMERG, cf, b"invalid location config: no runnable Lua code");
            return CONF_ERROR;
        }
        let name = slot.chunk_name(cf);
        let rv = set_handler(cf, conf, slot, Code::new(CodeSource::Inline(src), name));
        if rv != CONF_OK && rv != CONF_ERROR {
            // upstream's block parser logs a handler's message without the directive name
            conf_log_error(NGX_LOG_EMERG, cf, std::ffi::CStr::from_ptr(rv).to_bytes());
            return CONF_ERROR;
        }
        rv
    })
}

unsafe fn handler_inline(cf: *mut ngx_conf_t, conf: *mut c_void, slot: Slot) -> *mut c_char {
    guard(CONF_ERROR, || unsafe {
        let src = ngx_bytes(&args(cf)[1]).to_vec();
        if src.is_empty() {
            conf_log_error(NGX_LOG_EMERG, cf, b"invalid location config: no runnable Lua code");
            return CONF_ERROR;
        }
        let name = slot.chunk_name(cf);
        set_handler(cf, conf, slot, Code::new(CodeSource::Inline(src), name))
    })
}

unsafe fn handler_file(cf: *mut ngx_conf_t, conf: *mut c_void, slot: Slot) -> *mut c_char {
    guard(CONF_ERROR, || unsafe {
        let arg = ngx_bytes(&args(cf)[1]);
        if arg.is_empty() {
            conf_log_error(NGX_LOG_EMERG, cf, b"invalid location config: no runnable Lua code");
            return CONF_ERROR;
        }
        if arg.contains(&b'$') {
            let Some(cv) = compile_complex_value(cf, 1) else { return CONF_ERROR };
            return set_handler(cf, conf, slot, Code::new(CodeSource::FileVar(cv), String::new()));
        }
        let path = crate::runtime::paths::rebase_path((*cf).cycle, arg);
        set_handler(cf, conf, slot, Code::file(path, arg))
    })
}

/// Compiles argument `i` as a stream complex value (a string with variables).
unsafe fn compile_complex_value(cf: *mut ngx_conf_t, i: usize) -> Option<*mut ngx_stream_complex_value_t> {
    // SAFETY: cf is being parsed; the value and its compiled form live in the conf pool.
    unsafe {
        let cv = ngx_pcalloc((*cf).pool, std::mem::size_of::<ngx_stream_complex_value_t>())
            as *mut ngx_stream_complex_value_t;
        if cv.is_null() {
            return None;
        }
        let value = ((*(*cf).args).elts as *mut ngx_str_t).add(i);
        let mut ccv: ngx_stream_compile_complex_value_t = std::mem::zeroed();
        ccv.cf = cf;
        ccv.value = value;
        ccv.complex_value = cv;
        (ngx_stream_compile_complex_value(&mut ccv) == NGX_OK as isize).then_some(cv)
    }
}

/// The directive handlers nginx calls: one per form and phase.
macro_rules! handler_directives {
    ($($block:ident, $inline:ident, $file:ident => $slot:expr;)*) => {$(
        unsafe extern "C" fn $block(cf: *mut ngx_conf_t, _: *mut ngx_command_t, conf: *mut c_void) -> *mut c_char {
            unsafe { handler_block(cf, conf, $slot) }
        }
        #[allow(dead_code)]
        unsafe extern "C" fn $inline(cf: *mut ngx_conf_t, _: *mut ngx_command_t, conf: *mut c_void) -> *mut c_char {
            unsafe { handler_inline(cf, conf, $slot) }
        }
        unsafe extern "C" fn $file(cf: *mut ngx_conf_t, _: *mut ngx_command_t, conf: *mut c_void) -> *mut c_char {
            unsafe { handler_file(cf, conf, $slot) }
        }
    )*};
}

handler_directives! {
    init_by_lua_block, init_by_lua, init_by_lua_file => Slot::Init;
    init_worker_by_lua_block, init_worker_by_lua, init_worker_by_lua_file => Slot::InitWorker;
    preread_by_lua_block, preread_by_lua, preread_by_lua_file => Slot::Preread;
    content_by_lua_block, content_by_lua, content_by_lua_file => Slot::Content;
    log_by_lua_block, log_by_lua, log_by_lua_file => Slot::Log;
    balancer_by_lua_block, balancer_by_lua, balancer_by_lua_file => Slot::Balancer;
}

/// How a `lua_socket_*` value is written.
#[derive(Clone, Copy)]
enum Unit {
    Msec,
    Size,
    Num,
}

unsafe fn set_socket_value(
    cf: *mut ngx_conf_t,
    conf: *mut c_void,
    unit: Unit,
    field: fn(&mut crate::conf::SocketConf) -> &mut Option<usize>,
) -> *mut c_char {
    guard(CONF_ERROR, || {
        // SAFETY: conf is our SrvConf; one argument.
        unsafe {
            let slot = field(&mut (*(conf as *mut SrvConf)).socket);
            if slot.is_some() {
                return c"is duplicate".as_ptr() as *mut c_char;
            }
            let mut v = args(cf)[1];
            let n = match unit {
                Unit::Msec => ngx_parse_time(&mut v, 0),
                Unit::Size => ngx_parse_size(&mut v),
                Unit::Num => ngx_atoi(v.data, v.len),
            };
            if n < 0 {
                return match unit {
                    Unit::Msec => c"invalid value".as_ptr() as *mut c_char,
                    Unit::Size => c"invalid value".as_ptr() as *mut c_char,
                    Unit::Num => c"invalid number".as_ptr() as *mut c_char,
                };
            }
            *slot = Some(n as usize);
            CONF_OK
        }
    })
}

macro_rules! socket_directives {
    ($($fn_name:ident => $field:ident, $unit:expr;)*) => {$(
        unsafe extern "C" fn $fn_name(cf: *mut ngx_conf_t, _: *mut ngx_command_t, conf: *mut c_void) -> *mut c_char {
            unsafe { set_socket_value(cf, conf, $unit, |s| &mut s.$field) }
        }
    )*};
}

socket_directives! {
    socket_connect_timeout => connect_timeout, Unit::Msec;
    socket_send_timeout => send_timeout, Unit::Msec;
    socket_read_timeout => read_timeout, Unit::Msec;
    socket_send_lowat => send_lowat, Unit::Size;
    socket_buffer_size => buffer_size, Unit::Size;
    socket_pool_size => pool_size, Unit::Num;
    socket_keepalive_timeout => keepalive_timeout, Unit::Msec;
}

unsafe extern "C" fn check_client_abort(
    cf: *mut ngx_conf_t,
    cmd: *mut ngx_command_t,
    conf: *mut c_void,
) -> *mut c_char {
    guard(CONF_ERROR, || {
        // SAFETY: conf is our SrvConf.
        let scf = unsafe { &mut *(conf as *mut SrvConf) };
        if scf.check_client_abort.is_some() {
            return c"is duplicate".as_ptr() as *mut c_char;
        }
        let Some(on) = (unsafe { flag_arg(cf, cmd) }) else { return CONF_ERROR };
        scf.check_client_abort = Some(on);
        CONF_OK
    })
}

unsafe extern "C" fn socket_log_errors(cf: *mut ngx_conf_t, cmd: *mut ngx_command_t, conf: *mut c_void) -> *mut c_char {
    guard(CONF_ERROR, || {
        // SAFETY: conf is our SrvConf.
        let scf = unsafe { &mut *(conf as *mut SrvConf) };
        if scf.socket.log_errors.is_some() {
            return c"is duplicate".as_ptr() as *mut c_char;
        }
        let Some(on) = (unsafe { flag_arg(cf, cmd) }) else { return CONF_ERROR };
        scf.socket.log_errors = Some(on);
        CONF_OK
    })
}

/// A non-negative number, like `ngx_conf_set_num_slot`.
unsafe fn num_arg(cf: *mut ngx_conf_t) -> Option<usize> {
    // SAFETY: the directive has one argument.
    let v = unsafe { args(cf)[1] };
    let n = unsafe { ngx_atoi(v.data, v.len) };
    (n >= 0).then_some(n as usize)
}

unsafe fn set_timer_limit(cf: *mut ngx_conf_t, conf: *mut c_void, running: bool) -> *mut c_char {
    guard(CONF_ERROR, || {
        // SAFETY: conf is our MainConf.
        let mcf = unsafe { &mut *(conf as *mut MainConf) };
        let slot = if running { &mut mcf.max_running_timers } else { &mut mcf.max_pending_timers };
        if slot.is_some() {
            return c"is duplicate".as_ptr() as *mut c_char;
        }
        match unsafe { num_arg(cf) } {
            Some(n) => {
                *slot = Some(n);
                CONF_OK
            }
            None => c"invalid number".as_ptr() as *mut c_char,
        }
    })
}

/// `lua_regex_cache_max_entries N` / `lua_regex_match_limit N` (like ngx_conf_set_num_slot).
unsafe extern "C" fn regex_limit(cf: *mut ngx_conf_t, cmd: *mut ngx_command_t, conf: *mut c_void) -> *mut c_char {
    guard(CONF_ERROR, || {
        // SAFETY: conf is our MainConf; cmd is one of ours.
        let mcf = unsafe { &mut *(conf as *mut MainConf) };
        let slot = if unsafe { cmd_name(cmd) } == b"lua_regex_match_limit" {
            &mut mcf.regex_match_limit
        } else {
            &mut mcf.regex_cache_max_entries
        };
        if slot.is_some() {
            return c"is duplicate".as_ptr() as *mut c_char;
        }
        match unsafe { num_arg(cf) } {
            Some(n) => {
                *slot = Some(n);
                CONF_OK
            }
            None => c"invalid number".as_ptr() as *mut c_char,
        }
    })
}

unsafe extern "C" fn max_pending_timers(cf: *mut ngx_conf_t, _: *mut ngx_command_t, conf: *mut c_void) -> *mut c_char {
    unsafe { set_timer_limit(cf, conf, false) }
}

unsafe extern "C" fn max_running_timers(cf: *mut ngx_conf_t, _: *mut ngx_command_t, conf: *mut c_void) -> *mut c_char {
    unsafe { set_timer_limit(cf, conf, true) }
}

unsafe extern "C" fn shared_dict(cf: *mut ngx_conf_t, _: *mut ngx_command_t, conf: *mut c_void) -> *mut c_char {
    guard(CONF_ERROR, || {
        // SAFETY: conf is our MainConf; the directive takes two arguments.
        unsafe {
            let mcf = &mut *(conf as *mut MainConf);
            let a = args(cf);
            match crate::api::shdict::declare(cf, mcf, &a[1], &a[2]) {
                Ok(()) => CONF_OK,
                Err(msg) => {
                    if !msg.is_empty() {
                        conf_log_error(NGX_LOG_EMERG, cf, msg.as_bytes());
                    }
                    CONF_ERROR
                }
            }
        }
    })
}

unsafe extern "C" fn preread_no_postpone(
    cf: *mut ngx_conf_t,
    cmd: *mut ngx_command_t,
    conf: *mut c_void,
) -> *mut c_char {
    guard(CONF_ERROR, || {
        // SAFETY: conf is our MainConf.
        let mcf = unsafe { &mut *(conf as *mut MainConf) };
        if mcf.preread_no_postpone.is_some() {
            return c"is duplicate".as_ptr() as *mut c_char;
        }
        let Some(on) = (unsafe { flag_arg(cf, cmd) }) else { return CONF_ERROR };
        mcf.preread_no_postpone = Some(on);
        CONF_OK
    })
}

/// `lua_ssl_ciphers`, `lua_ssl_certificate[_key]`, `lua_ssl_trusted_certificate`, `lua_ssl_crl`.
#[cfg(ngx_feature = "stream_ssl")]
unsafe extern "C" fn ssl_string(cf: *mut ngx_conf_t, cmd: *mut ngx_command_t, conf: *mut c_void) -> *mut c_char {
    guard(CONF_ERROR, || {
        // SAFETY: conf is our SrvConf; the directive has one argument.
        unsafe {
            let ssl = &mut (*(conf as *mut SrvConf)).ssl;
            let slot = match cmd_name(cmd) {
                b"lua_ssl_ciphers" => &mut ssl.ciphers,
                b"lua_ssl_certificate" => &mut ssl.certificate,
                b"lua_ssl_certificate_key" => &mut ssl.certificate_key,
                b"lua_ssl_trusted_certificate" => &mut ssl.trusted_certificate,
                _ => &mut ssl.crl,
            };
            if slot.is_some() {
                return c"is duplicate".as_ptr() as *mut c_char;
            }
            *slot = Some(ngx_bytes(&args(cf)[1]).to_vec());
            CONF_OK
        }
    })
}

#[cfg(ngx_feature = "stream_ssl")]
unsafe extern "C" fn ssl_verify_depth(cf: *mut ngx_conf_t, _cmd: *mut ngx_command_t, conf: *mut c_void) -> *mut c_char {
    guard(CONF_ERROR, || {
        // SAFETY: conf is our SrvConf; the directive has one argument.
        unsafe {
            let ssl = &mut (*(conf as *mut SrvConf)).ssl;
            if ssl.verify_depth.is_some() {
                return c"is duplicate".as_ptr() as *mut c_char;
            }
            match std::str::from_utf8(ngx_bytes(&args(cf)[1])).ok().and_then(|v| v.parse::<usize>().ok()) {
                Some(d) => {
                    ssl.verify_depth = Some(d);
                    CONF_OK
                }
                None => c"invalid number".as_ptr() as *mut c_char,
            }
        }
    })
}

#[cfg(ngx_feature = "stream_ssl")]
unsafe extern "C" fn ssl_protocols(cf: *mut ngx_conf_t, _cmd: *mut ngx_command_t, conf: *mut c_void) -> *mut c_char {
    guard(CONF_ERROR, || {
        // SAFETY: conf is our SrvConf.
        unsafe {
            let ssl = &mut (*(conf as *mut SrvConf)).ssl;
            if ssl.protocols.is_some() {
                return c"is duplicate".as_ptr() as *mut c_char;
            }
            let mut bits = NGX_CONF_BITMASK_SET as usize;
            for a in &args(cf)[1..] {
                bits |= match ngx_bytes(a) {
                    b"SSLv2" => 2,
                    b"SSLv3" => NGX_SSL_SSLv3 as usize,
                    b"TLSv1" => NGX_SSL_TLSv1 as usize,
                    b"TLSv1.1" => NGX_SSL_TLSv1_1 as usize,
                    b"TLSv1.2" => NGX_SSL_TLSv1_2 as usize,
                    b"TLSv1.3" => NGX_SSL_TLSv1_3 as usize,
                    other => {
                        let msg = format!("invalid value \"{}\"", String::from_utf8_lossy(other));
                        conf_log_error(NGX_LOG_EMERG, cf, msg.as_bytes());
                        return CONF_ERROR;
                    }
                };
            }
            ssl.protocols = Some(bits);
            CONF_OK
        }
    })
}

#[cfg(ngx_feature = "stream_ssl")]
unsafe extern "C" fn ssl_conf_command(cf: *mut ngx_conf_t, _cmd: *mut ngx_command_t, conf: *mut c_void) -> *mut c_char {
    guard(CONF_ERROR, || {
        // SAFETY: conf is our SrvConf; the directive has two arguments.
        unsafe {
            let ssl = &mut (*(conf as *mut SrvConf)).ssl;
            let a = args(cf);
            ssl.conf_commands.get_or_insert_with(Vec::new).push((ngx_bytes(&a[1]).to_vec(), ngx_bytes(&a[2]).to_vec()));
            CONF_OK
        }
    })
}
