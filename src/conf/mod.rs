//! Configuration data: the module's main and server configurations, where they are found,
//! and the `*_by_lua_block` lexer (the `stream-lua-conf-lexer` crate). The directives that fill
//! them are `module/directives.rs`.

pub mod access;
pub mod shdict;
pub use access::*;
pub use stream_lua_conf_lexer as lexer;

use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::runtime::code::Code;
use crate::runtime::session::ctx_index;
use crate::sys::conf::ConfSlot;
use crate::sys::{Log, NGX_STREAM_MAIN_CONF_OFFSET, NGX_STREAM_SRV_CONF_OFFSET};

/// `stream {}`-level configuration, one per configuration cycle.
#[derive(Default)]
pub struct MainConf {
    pub package_path: Option<Vec<u8>>,
    pub package_cpath: Option<Vec<u8>>,
    /// Every handler's code, so the VM can compile all of it once, before workers fork.
    pub codes: Vec<Rc<Code>>,
    /// The cycle's Lua VM, created at postconfiguration (in the master, inherited by workers).
    pub vm: Option<crate::runtime::vm::Vm>,
    pub init: Option<Rc<Code>>,
    pub init_worker: Option<Rc<Code>>,
    /// Some server runs `preread_by_lua*` / `log_by_lua*`: the phase handlers are registered.
    pub has_preread: bool,
    pub has_log: bool,
    /// Some TLS server runs `ssl_certificate_by_lua*` or `ssl_client_hello_by_lua*`.
    pub has_ssl_hook: bool,
    /// `preread_by_lua_no_postpone`
    pub preread_no_postpone: Option<bool>,
    pub max_pending_timers: Option<usize>,
    pub max_running_timers: Option<usize>,
    /// `lua_regex_cache_max_entries`, `lua_regex_match_limit`
    pub regex_cache_max_entries: Option<usize>,
    pub regex_match_limit: Option<usize>,
    /// `lua_shared_dict` zones, and how many nginx has initialised so far (`init_by_lua`
    /// runs when all are).
    pub shdicts: Vec<*mut shdict::Dict>,
    pub shm_zones_inited: usize,
    /// What runs `init_by_lua` once every zone is ready (set by the module, which knows the
    /// phases; the zones' init handler only counts).
    pub zones_ready: Option<ZonesReady>,
    /// The preread handler was moved to the end of its phase (done once, at the first session).
    pub preread_postponed: std::cell::Cell<bool>,
    /// `lua_add_variable`, `lua_sa_restart`, `lua_malloc_trim`, `lua_capture_error_log`.
    pub misc: MiscConf,
    /// Which configuration load this is.
    pub generation: Generation,
}

/// A configuration load's number, unique in the process: unlike the cycle's address, which a
/// later reload's cycle may be given once an older cycle is freed.
pub struct Generation(pub usize);

impl Default for Generation {
    fn default() -> Generation {
        static NEXT: AtomicUsize = AtomicUsize::new(1);
        Generation(NEXT.fetch_add(1, Ordering::Relaxed))
    }
}

/// `init_by_lua`'s runner, given the configuration, its idle VM and the cycle's log.
pub type ZonesReady = unsafe fn(&MainConf, &crate::runtime::vm::Vm, Option<Log>) -> Result<(), ()>;

// SAFETY: create_main_conf puts a MainConf in the module's main conf slot.
unsafe impl ConfSlot for MainConf {
    const OFFSET: usize = NGX_STREAM_MAIN_CONF_OFFSET;
    fn ctx_index() -> usize {
        ctx_index()
    }
}

// SAFETY: create_srv_conf puts a SrvConf in the module's server conf slots.
unsafe impl ConfSlot for SrvConf {
    const OFFSET: usize = NGX_STREAM_SRV_CONF_OFFSET;
    fn ctx_index() -> usize {
        ctx_index()
    }
}

/// `server {}`-level configuration.
#[derive(Default, Clone)]
pub struct SrvConf {
    pub code_cache: Option<bool>,
    pub content: Option<Rc<Code>>,
    pub preread: Option<Rc<Code>>,
    pub log: Option<Rc<Code>>,
    /// `balancer_by_lua*` of an `upstream {}` block (only set in upstream blocks' confs).
    pub balancer: Option<Rc<Code>>,
    pub socket: SocketConf,
    pub check_client_abort: Option<bool>,
    pub ssl: SslConf,
    /// `ssl_certificate_by_lua*` / `ssl_client_hello_by_lua*`; a server inherits them only
    /// when it has TLS (`module::ssl_directives::merge_hooks`).
    pub ssl_cert: Option<Rc<Code>>,
    pub ssl_client_hello: Option<Rc<Code>>,
}

/// The `lua_ssl_*` settings of a server, and the TLS client context made from them.
#[derive(Default, Clone)]
pub struct SslConf {
    /// `NGX_SSL_*` protocol bits.
    pub protocols: Option<usize>,
    pub ciphers: Option<Vec<u8>>,
    pub verify_depth: Option<usize>,
    pub certificate: Option<Vec<u8>>,
    pub certificate_key: Option<Vec<u8>>,
    pub trusted_certificate: Option<Vec<u8>>,
    pub crl: Option<Vec<u8>>,
    pub conf_commands: Option<Vec<(Vec<u8>, Vec<u8>)>>,
    /// Created when the configuration is merged (see `api::ssl_ctx`).
    #[cfg_attr(not(ngx_feature = "stream_ssl"), allow(dead_code))]
    pub ctx: Option<std::ptr::NonNull<ngx::ffi::ngx_ssl_t>>,
}

impl SslConf {
    fn merge(&mut self, prev: &SslConf) {
        macro_rules! inherit {
            ($($f:ident),*) => {$( if self.$f.is_none() { self.$f = prev.$f.clone(); } )*};
        }
        inherit!(
            protocols,
            ciphers,
            verify_depth,
            certificate,
            certificate_key,
            trusted_certificate,
            crl,
            conf_commands
        );
    }

    /// Some `lua_ssl_*` directive was given at this level.
    pub fn configured(&self) -> bool {
        self.protocols.is_some()
            || self.ciphers.is_some()
            || self.verify_depth.is_some()
            || self.certificate.is_some()
            || self.trusted_certificate.is_some()
            || self.crl.is_some()
            || self.conf_commands.is_some()
    }
}

/// The `lua_socket_*` defaults of a server (unset values fall back to upstream's defaults).
#[derive(Default, Clone, Copy)]
pub struct SocketConf {
    pub connect_timeout: Option<usize>,
    pub send_timeout: Option<usize>,
    pub read_timeout: Option<usize>,
    pub send_lowat: Option<usize>,
    pub buffer_size: Option<usize>,
    pub pool_size: Option<usize>,
    pub keepalive_timeout: Option<usize>,
    pub log_errors: Option<bool>,
}

impl SocketConf {
    pub fn connect_timeout(&self) -> usize {
        self.connect_timeout.unwrap_or(60_000)
    }
    pub fn send_timeout(&self) -> usize {
        self.send_timeout.unwrap_or(60_000)
    }
    pub fn read_timeout(&self) -> usize {
        self.read_timeout.unwrap_or(60_000)
    }
    /// `lua_socket_buffer_size`: how much one socket read asks for (upstream: a page).
    pub fn buffer_size(&self) -> usize {
        self.buffer_size.unwrap_or(4096)
    }
    pub fn pool_size(&self) -> usize {
        self.pool_size.unwrap_or(30)
    }
    pub fn keepalive_timeout(&self) -> usize {
        self.keepalive_timeout.unwrap_or(60_000)
    }
    pub fn log_errors(&self) -> bool {
        self.log_errors.unwrap_or(true)
    }

    fn merge(&mut self, prev: &SocketConf) {
        macro_rules! inherit {
            ($($f:ident),*) => {$( if self.$f.is_none() { self.$f = prev.$f; } )*};
        }
        inherit!(
            connect_timeout,
            send_timeout,
            read_timeout,
            send_lowat,
            buffer_size,
            pool_size,
            keepalive_timeout,
            log_errors
        );
    }
}

impl SrvConf {
    pub fn code_cache(&self) -> bool {
        self.code_cache.unwrap_or(true)
    }

    pub fn merge(&mut self, prev: &SrvConf) {
        if self.code_cache.is_none() {
            self.code_cache = prev.code_cache;
        }
        if self.preread.is_none() {
            self.preread = prev.preread.clone();
        }
        if self.log.is_none() {
            self.log = prev.log.clone();
        }
        self.socket.merge(&prev.socket);
        self.ssl.merge(&prev.ssl);
        if self.check_client_abort.is_none() {
            self.check_client_abort = prev.check_client_abort;
        }
    }
}

/// Settings that tune the process rather than run code (`module/process_directives.rs`).
#[derive(Default)]
pub struct MiscConf {
    /// `lua_sa_restart` (default on).
    pub sa_restart: Option<bool>,
    /// `lua_malloc_trim N` (default 1000 sessions; 0 turns trimming off).
    pub malloc_trim: Option<usize>,
    /// Sessions logged since the last trim (per process).
    pub malloc_trim_count: std::cell::Cell<usize>,
    /// `lua_capture_error_log SIZE`: the ring buffer (in the configuration pool).
    pub capture: Option<std::ptr::NonNull<crate::runtime::log_capture::RingBuf>>,
}

impl MiscConf {
    pub fn sa_restart(&self) -> bool {
        self.sa_restart.unwrap_or(true)
    }

    pub fn malloc_trim(&self) -> usize {
        self.malloc_trim.unwrap_or(1000)
    }
}
