//! The directive table and handlers (the TLS hooks' are in `ssl_directives.rs`).

use std::ffi::CStr;
use std::ptr;
use std::rc::Rc;

use super::process_directives::{add_variable, capture_error_log, malloc_trim, sa_restart};
#[cfg(ngx_feature = "stream_ssl")]
use super::ssl_directives as ssl;
use crate::conf::lexer::{scan_block, LexError};
use crate::conf::{MainConf, SrvConf};
use crate::conf_directives;
use crate::runtime::code::{Code, CodeSource};
use crate::sys::conf::{BlockError, ConfError, ConfResult, ConfSlot, Directive, SetFn, DUPLICATE};
use crate::sys::*;

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
const TLS_COMMANDS: usize = if cfg!(ngx_feature = "stream_ssl") { 12 } else { 0 };

pub static mut COMMANDS: [ngx_command_t; 39 + TLS_COMMANDS] = [
    // VM and code
    cmd(c"lua_load_resty_core", MAIN | FLAG, load_resty_core, MAIN_OFF),
    cmd(c"lua_code_cache", MAIN | SRV | FLAG, code_cache, SRV_OFF),
    cmd(c"lua_package_path", MAIN | T1, package_path, MAIN_OFF),
    cmd(c"lua_package_cpath", MAIN | T1, package_cpath, MAIN_OFF),
    cmd(c"lua_regex_cache_max_entries", MAIN | T1, regex_limit, MAIN_OFF),
    cmd(c"lua_regex_match_limit", MAIN | T1, regex_limit, MAIN_OFF),
    cmd(c"lua_max_pending_timers", MAIN | T1, max_pending_timers, MAIN_OFF),
    cmd(c"lua_max_running_timers", MAIN | T1, max_running_timers, MAIN_OFF),
    cmd(c"lua_sa_restart", MAIN | FLAG, sa_restart, MAIN_OFF),
    cmd(c"lua_capture_error_log", MAIN | T1, capture_error_log, MAIN_OFF),
    cmd(c"lua_malloc_trim", MAIN | T1, malloc_trim, MAIN_OFF),
    cmd(c"lua_shared_dict", MAIN | T2, shared_dict, MAIN_OFF),
    cmd(c"lua_add_variable", MAIN | T1, add_variable, MAIN_OFF),
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
    #[cfg(ngx_feature = "stream_ssl")]
    cmd(c"ssl_certificate_by_lua_block", MAIN | SRV | BLOCK, ssl::ssl_certificate_by_lua_block, SRV_OFF),
    #[cfg(ngx_feature = "stream_ssl")]
    cmd(c"ssl_certificate_by_lua_file", MAIN | SRV | T1, ssl::ssl_certificate_by_lua_file, SRV_OFF),
    #[cfg(ngx_feature = "stream_ssl")]
    cmd(c"ssl_client_hello_by_lua_block", MAIN | SRV | BLOCK, ssl::ssl_client_hello_by_lua_block, SRV_OFF),
    #[cfg(ngx_feature = "stream_ssl")]
    cmd(c"ssl_client_hello_by_lua_file", MAIN | SRV | T1, ssl::ssl_client_hello_by_lua_file, SRV_OFF),
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

conf_directives! {
    load_resty_core => |d| {
        d.error(
            NGX_LOG_WARN,
            b"lua_load_resty_core is deprecated (the lua-resty-core library is required since ngx_stream_lua v0.0.8)",
        );
        Ok(())
    },
    code_cache => |d| {
        if d.conf::<SrvConf>().code_cache.is_some() {
            return Err(DUPLICATE);
        }
        let on = flag_arg(d)?;
        if !on {
            d.error(NGX_LOG_ALERT, b"stream lua_code_cache is off; this will hurt performance");
        }
        d.conf::<SrvConf>().code_cache = Some(on);
        Ok(())
    },
    package_path => |d| set_path(d, |m| &mut m.package_path),
    package_cpath => |d| set_path(d, |m| &mut m.package_cpath),
}

/// Parses `on`/`off` like `ngx_conf_set_flag_slot`.
fn flag_arg(d: &Directive) -> Result<bool, ConfError> {
    let v = d.arg(1);
    if v.eq_ignore_ascii_case(b"on") {
        Ok(true)
    } else if v.eq_ignore_ascii_case(b"off") {
        Ok(false)
    } else {
        let msg = format!(
            "invalid value \"{}\" in \"{}\" directive, it must be \"on\" or \"off\"",
            String::from_utf8_lossy(v),
            String::from_utf8_lossy(d.name())
        );
        d.error(NGX_LOG_EMERG, msg.as_bytes());
        Err(ConfError::Logged)
    }
}

/// Sets an optional value once: a second time is `is duplicate`.
fn set_once<C: ConfSlot, V>(d: &mut Directive, field: fn(&mut C) -> &mut Option<V>, v: V) -> ConfResult {
    let slot = field(d.conf::<C>());
    if slot.is_some() {
        return Err(DUPLICATE);
    }
    *slot = Some(v);
    Ok(())
}

fn set_path(d: &mut Directive, field: fn(&mut MainConf) -> &mut Option<Vec<u8>>) -> ConfResult {
    let v = d.arg(1).to_vec();
    set_once(d, field, v)
}

/// `=TAG(FILE_BASENAME:LINE)`, the chunk name upstream gives inline code.
fn chunk_name(d: &Directive, tag: &str) -> String {
    let name = d.file_name();
    let base = match name.iter().rposition(|&c| c == b'/' || c == b'\\') {
        Some(p) => &name[p + 1..],
        None => name,
    };
    format!("={tag}({}:{})", String::from_utf8_lossy(base), d.line())
}

/// Reads the raw Lua body of a `*_by_lua_block` and moves nginx's reader past its closing `}`.
pub(super) fn read_lua_block(d: &mut Directive) -> Result<Vec<u8>, ConfError> {
    let start_line = d.line();
    let scan = |text: &[u8]| scan_block(text).map(|b| (b.code_len, b.newlines));
    match d.read_block(scan) {
        Ok(code) => Ok(code),
        Err(BlockError::Read) => {
            d.error(NGX_LOG_EMERG, b"failed to read the rest of the configuration file");
            Err(ConfError::Logged)
        }
        Err(BlockError::Scan(LexError::UnexpectedEof)) => {
            d.set_line(start_line);
            d.error(NGX_LOG_EMERG, b"unexpected end of file, expecting terminating characters for lua code block");
            Err(ConfError::Logged)
        }
        Err(BlockError::Scan(LexError::MissingLongBracket(close, newlines))) => {
            d.set_line(start_line + newlines);
            let msg = format!("Lua code block missing the closing long bracket \"{close}\"");
            d.error(NGX_LOG_EMERG, msg.as_bytes());
            Err(ConfError::Logged)
        }
    }
}

/// Registers code with the main configuration. Code that does not compile is reported now,
/// with the configuration file and line, so `nginx -t` shows it; it is a warning, not an
/// error, because upstream starts such configurations and fails the sessions that run the
/// code (with the same message at `error` level), and a drop-in must start what it started.
pub(super) fn register_code(d: &mut Directive, code: Code) -> Result<Rc<Code>, ConfError> {
    if let Err(msg) = code.check_syntax() {
        d.error(NGX_LOG_WARN, msg.as_bytes());
    }
    let code = Rc::new(code);
    // our directives are parsed inside the stream block, which has our main conf
    let Some(mcf) = d.main_conf::<MainConf>() else { return Err(ConfError::Logged) };
    mcf.codes.push(code.clone());
    Ok(code)
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
    fn chunk_name(self, d: &Directive) -> String {
        match self {
            Slot::Init | Slot::InitWorker | Slot::Balancer => format!("={}", self.tag()),
            _ => chunk_name(d, self.tag()),
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

    /// Whether the directive's configuration has this handler already.
    fn taken(self, d: &mut Directive) -> bool {
        match self {
            Slot::Init => d.conf::<MainConf>().init.is_some(),
            Slot::InitWorker => d.conf::<MainConf>().init_worker.is_some(),
            Slot::Preread => d.conf::<SrvConf>().preread.is_some(),
            Slot::Content => d.conf::<SrvConf>().content.is_some(),
            Slot::Log => d.conf::<SrvConf>().log.is_some(),
            Slot::Balancer => d.conf::<SrvConf>().balancer.is_some(),
        }
    }
}

/// Stores `code` as the handler of `slot` in the directive's configuration (our main
/// configuration for the init slots, else the server's).
fn set_handler(d: &mut Directive, slot: Slot, code: Code) -> ConfResult {
    if slot.taken(d) {
        return Err(DUPLICATE);
    }
    let code = register_code(d, code)?;
    let Some(mcf) = d.main_conf::<MainConf>() else { return Err(ConfError::Logged) };
    match slot {
        Slot::Init => mcf.init = Some(code),
        Slot::InitWorker => mcf.init_worker = Some(code),
        Slot::Preread => {
            mcf.has_preread = true;
            d.conf::<SrvConf>().preread = Some(code);
        }
        Slot::Log => {
            mcf.has_log = true;
            d.conf::<SrvConf>().log = Some(code);
        }
        Slot::Balancer => {
            d.conf::<SrvConf>().balancer = Some(code);
            crate::phase::balancer::hook_upstream(d);
        }
        Slot::Content => {
            d.conf::<SrvConf>().content = Some(code);
            d.set_content_handler(Some(crate::phase::content::content_handler));
        }
    }
    Ok(())
}

pub(super) fn no_code(d: &Directive) -> ConfError {
    d.error(NGX_LOG_EMERG, b"invalid location config: no runnable Lua code");
    ConfError::Logged
}

fn handler_block(d: &mut Directive, slot: Slot) -> ConfResult {
    let src = read_lua_block(d)?;
    if src.is_empty() {
        return Err(no_code(d));
    }
    let name = slot.chunk_name(d);
    match set_handler(d, slot, Code::new(CodeSource::Inline(src), name)) {
        Err(ConfError::Msg(m)) => {
            // upstream's block parser logs a handler's message without the directive name
            d.error(NGX_LOG_EMERG, m.to_bytes());
            Err(ConfError::Logged)
        }
        rv => rv,
    }
}

fn handler_inline(d: &mut Directive, slot: Slot) -> ConfResult {
    let src = d.arg(1).to_vec();
    if src.is_empty() {
        return Err(no_code(d));
    }
    let name = slot.chunk_name(d);
    set_handler(d, slot, Code::new(CodeSource::Inline(src), name))
}

fn handler_file(d: &mut Directive, slot: Slot) -> ConfResult {
    let arg = d.arg(1).to_vec();
    if arg.is_empty() {
        return Err(no_code(d));
    }
    if arg.contains(&b'$') {
        let Some(cv) = d.complex_value(1) else { return Err(ConfError::Logged) };
        return set_handler(d, slot, Code::new(CodeSource::FileVar(cv), String::new()));
    }
    let path = crate::runtime::paths::rebase(d.prefix(), &arg);
    set_handler(d, slot, Code::file(path, &arg))
}

/// The directive handlers nginx calls: one per form and phase.
macro_rules! handler_directives {
    ($($block:ident, $inline:ident, $file:ident => $slot:expr;)*) => {$(
        conf_directives! {
            $block => |d| handler_block(d, $slot),
            $file => |d| handler_file(d, $slot),
            #[allow(dead_code)]
            $inline => |d| handler_inline(d, $slot),
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

fn set_socket_value(
    d: &mut Directive,
    unit: Unit,
    field: fn(&mut crate::conf::SocketConf) -> &mut Option<usize>,
) -> ConfResult {
    if field(&mut d.conf::<SrvConf>().socket).is_some() {
        return Err(DUPLICATE);
    }
    let n = match unit {
        Unit::Msec => d.parse_msec(1),
        Unit::Size => d.parse_size(1),
        Unit::Num => d.atoi(1),
    };
    if n < 0 {
        return Err(ConfError::Msg(match unit {
            Unit::Msec | Unit::Size => c"invalid value",
            Unit::Num => c"invalid number",
        }));
    }
    *field(&mut d.conf::<SrvConf>().socket) = Some(n as usize);
    Ok(())
}

macro_rules! socket_directives {
    ($($fn_name:ident => $field:ident, $unit:expr;)*) => {
        conf_directives! {
            $($fn_name => |d| set_socket_value(d, $unit, |s| &mut s.$field),)*
        }
    };
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

/// A flag directive: `is duplicate` a second time, else `on`/`off`.
fn set_flag<C: ConfSlot>(d: &mut Directive, field: fn(&mut C) -> &mut Option<bool>) -> ConfResult {
    if field(d.conf::<C>()).is_some() {
        return Err(DUPLICATE);
    }
    let on = flag_arg(d)?;
    *field(d.conf::<C>()) = Some(on);
    Ok(())
}

/// A non-negative number set once, like `ngx_conf_set_num_slot`.
fn set_num(d: &mut Directive, field: fn(&mut MainConf) -> &mut Option<usize>) -> ConfResult {
    if field(d.conf::<MainConf>()).is_some() {
        return Err(DUPLICATE);
    }
    let n = d.atoi(1);
    if n < 0 {
        return Err(ConfError::Msg(c"invalid number"));
    }
    *field(d.conf::<MainConf>()) = Some(n as usize);
    Ok(())
}

conf_directives! {
    check_client_abort => |d| set_flag::<SrvConf>(d, |c| &mut c.check_client_abort),
    socket_log_errors => |d| set_flag::<SrvConf>(d, |c| &mut c.socket.log_errors),
    preread_no_postpone => |d| set_flag::<MainConf>(d, |c| &mut c.preread_no_postpone),
    max_pending_timers => |d| set_num(d, |c| &mut c.max_pending_timers),
    max_running_timers => |d| set_num(d, |c| &mut c.max_running_timers),
    // `lua_regex_cache_max_entries N` / `lua_regex_match_limit N`
    regex_limit => |d| {
        if d.name() == b"lua_regex_match_limit" {
            set_num(d, |c| &mut c.regex_match_limit)
        } else {
            set_num(d, |c| &mut c.regex_cache_max_entries)
        }
    },
    shared_dict => shared_dict_body,
}

fn shared_dict_body(d: &mut Directive) -> ConfResult {
    let tag = std::ptr::addr_of_mut!(super::ngx_stream_lua_module) as *mut std::ffi::c_void;
    match crate::api::shdict::declare(d, tag) {
        Ok(()) => Ok(()),
        Err(msg) => {
            if !msg.is_empty() {
                d.error(NGX_LOG_EMERG, msg.as_bytes());
            }
            Err(ConfError::Logged)
        }
    }
}

#[cfg(ngx_feature = "stream_ssl")]
conf_directives! {
    // `lua_ssl_ciphers`, `lua_ssl_certificate[_key]`, `lua_ssl_trusted_certificate`, `lua_ssl_crl`
    ssl_string => |d| {
        let v = d.arg(1).to_vec();
        let field: fn(&mut SrvConf) -> &mut Option<Vec<u8>> = match d.name() {
            b"lua_ssl_ciphers" => |c| &mut c.ssl.ciphers,
            b"lua_ssl_certificate" => |c| &mut c.ssl.certificate,
            b"lua_ssl_certificate_key" => |c| &mut c.ssl.certificate_key,
            b"lua_ssl_trusted_certificate" => |c| &mut c.ssl.trusted_certificate,
            _ => |c| &mut c.ssl.crl,
        };
        set_once(d, field, v)
    },
    ssl_verify_depth => |d| {
        if d.conf::<SrvConf>().ssl.verify_depth.is_some() {
            return Err(DUPLICATE);
        }
        match std::str::from_utf8(d.arg(1)).ok().and_then(|v| v.parse::<usize>().ok()) {
            Some(depth) => {
                d.conf::<SrvConf>().ssl.verify_depth = Some(depth);
                Ok(())
            }
            None => Err(ConfError::Msg(c"invalid number")),
        }
    },
    ssl_protocols => |d| {
        if d.conf::<SrvConf>().ssl.protocols.is_some() {
            return Err(DUPLICATE);
        }
        let mut bits = NGX_CONF_BITMASK_SET as usize;
        for a in &d.raw_args()[1..] {
            bits |= match ngx_bytes(a) {
                b"SSLv2" => 2,
                b"SSLv3" => NGX_SSL_SSLv3 as usize,
                b"TLSv1" => NGX_SSL_TLSv1 as usize,
                b"TLSv1.1" => NGX_SSL_TLSv1_1 as usize,
                b"TLSv1.2" => NGX_SSL_TLSv1_2 as usize,
                b"TLSv1.3" => NGX_SSL_TLSv1_3 as usize,
                other => {
                    let msg = format!("invalid value \"{}\"", String::from_utf8_lossy(other));
                    d.error(NGX_LOG_EMERG, msg.as_bytes());
                    return Err(ConfError::Logged);
                }
            };
        }
        d.conf::<SrvConf>().ssl.protocols = Some(bits);
        Ok(())
    },
    ssl_conf_command => |d| {
        let cmd = (d.arg(1).to_vec(), d.arg(2).to_vec());
        d.conf::<SrvConf>().ssl.conf_commands.get_or_insert_with(Vec::new).push(cmd);
        Ok(())
    },
}
