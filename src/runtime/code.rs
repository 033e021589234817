//! Handler code: where it comes from, its chunk name, and its compiled function. As upstream
//! on OpenResty's LuaJIT, the chunk itself is cached and run (no closure factory): every run
//! shares the VM's `_G`, and a file may hold LuaJIT bytecode (`string.dump`, `luajit -b`).

use std::cell::Cell;
use std::ffi::CString;
use std::sync::atomic::{AtomicI64, Ordering};

use crate::runtime::paths::rebase;
use crate::sys::stream::StreamInfo;
use crate::sys::stream_ext::running_prefix;
use crate::sys::*;

pub enum CodeSource {
    Inline(Vec<u8>),
    /// Absolute path of a Lua file.
    File(Vec<u8>),
    /// A file path with nginx variables, evaluated per session (a compiled complex value in
    /// the configuration pool).
    FileVar(*mut ngx_stream_complex_value_t),
}

pub struct Code {
    pub source: CodeSource,
    /// `=content_by_lua(nginx.conf:12)` for inline code, `@/path/file.lua` for files.
    pub chunkname: String,
    /// Key of the compiled factory in the VM's code cache table.
    pub key: String,
    /// `key` for the C API, made once rather than at every session's lookup.
    ckey: CString,
    /// Where the function also sits in the array part of the code cache table of the VM with
    /// that id (`init_cache` numbers each table at index 1): later sessions find it with two
    /// array reads instead of hashing the key.
    cached_at: Cell<Option<(i64, i64)>>,
    /// Whether the code takes an array slot: the configuration's codes do (they are few and
    /// live as long as the VM); a file path resolved per session does not.
    slotted: bool,
}

/// `nhli_`/`nhlf_` and the MD5 of `what` in hex: upstream's code cache key parts.
fn digest_key(tag: &str, what: &[u8]) -> String {
    let mut key = String::from(tag);
    for b in crate::sys::digest::md5(&[what]) {
        key.push_str(&format!("{b:02x}"));
    }
    key
}

impl Code {
    /// Upstream's cache keys: inline code by its chunk name and the MD5 of its text (the same
    /// code at the same place shares one entry), a file by the MD5 of its path.
    pub fn new(source: CodeSource, chunkname: String) -> Code {
        let (key, chunkname) = match &source {
            CodeSource::Inline(src) => (format!("{chunkname}{}", digest_key("nhli_", src)), chunkname),
            CodeSource::File(p) => (digest_key("nhlf_", p), format!("@{}", String::from_utf8_lossy(p))),
            CodeSource::FileVar(_) => (String::new(), String::new()),
        };
        let ckey = CString::new(key.as_str()).unwrap_or_default();
        Code { source, chunkname, key, ckey, cached_at: Cell::new(None), slotted: true }
    }

    /// A file named in the configuration: keyed by the path as written there (`arg`), as
    /// upstream does.
    pub fn file(path: Vec<u8>, arg: &[u8]) -> Code {
        let mut code = Code::new(CodeSource::File(path), String::new());
        code.key = digest_key("nhlf_", arg);
        code.ckey = CString::new(code.key.as_str()).unwrap_or_default();
        code
    }

    fn describe_error(&self, msg: &str) -> String {
        match &self.source {
            CodeSource::Inline(_) => format!("failed to load inlined Lua code: {msg}"),
            CodeSource::File(p) => {
                format!("failed to load external Lua file \"{}\": {msg}", String::from_utf8_lossy(p))
            }
            CodeSource::FileVar(_) => msg.to_string(),
        }
    }

    /// For a path with variables, the file this session runs (relative paths are taken from
    /// the prefix); `None` for code known at configuration time.
    pub fn resolve(&self, s: Option<StreamInfo<'_>>) -> Option<Result<Code, String>> {
        let CodeSource::FileVar(cv) = self.source else { return None };
        // SAFETY: a FileVar's value was compiled for the stream module by its directive, in
        // the running cycle's pool.
        let Some(path) = s.and_then(|s| unsafe { s.complex_value(cv) }) else {
            return Some(Err("failed to evaluate the Lua file path".into()));
        };
        let path = rebase(&running_prefix(), path);
        Some(Ok(Code { slotted: false, ..Code::new(CodeSource::File(path), String::new()) }))
    }

    /// The code as written (files are read now).
    fn text(&self) -> Result<Vec<u8>, String> {
        let body = match &self.source {
            CodeSource::Inline(src) => src.clone(),
            CodeSource::FileVar(_) => return Err("unresolved file path".into()),
            CodeSource::File(path) => {
                let p = String::from_utf8_lossy(path).into_owned();
                let mut b = std::fs::read(&p).map_err(|e| {
                    let reason = e.raw_os_error().map(|n| std::io::Error::from_raw_os_error(n).to_string());
                    let reason = reason.unwrap_or_else(|| e.to_string());
                    let reason = reason.split(" (os error").next().unwrap_or("").to_string();
                    format!("cannot open {p}: {reason}")
                })?;
                // LuaJIT bytecode starts with ESC and goes to the loader as it is
                if b.first() == Some(&b'#') {
                    // a shebang line: keep the line count, drop the text
                    b.splice(0..0, b"--".iter().copied());
                }
                b
            }
        };
        Ok(body)
    }

    /// Compiles the code (source or bytecode) into the function on top of the stack.
    fn compile(&self, c: &mut Call) -> Result<(), String> {
        let body = self.text()?;
        let name = CString::new(self.chunkname.as_str()).unwrap_or_default();
        if c.load(&body, &name) {
            Ok(())
        } else {
            Err(c.pop_message().unwrap_or_else(|| "unknown error".into()))
        }
    }

    /// Inline code always is; a file only when it exists now (otherwise it is looked for, and
    /// reported, when it runs, as upstream does).
    pub fn is_available(&self) -> bool {
        match &self.source {
            CodeSource::Inline(_) => true,
            CodeSource::File(p) => std::fs::metadata(String::from_utf8_lossy(p).as_ref()).is_ok(),
            CodeSource::FileVar(_) => false,
        }
    }

    /// Compiles the code once in a scratch state, for `nginx -t`.
    pub fn check_syntax(&self) -> Result<(), String> {
        if !self.is_available() {
            return Ok(());
        }
        let mut state = OwnedState::new().ok_or("failed to create a Lua state")?;
        let r = self.compile(&mut state.call());
        r.map_err(|m| self.describe_error(&m))
    }

    /// Pushes the code's function onto `c`'s stack, compiling it on first use (or every time
    /// when the code cache is off); the error names the code (`push_function_on` gives the
    /// loader's own message, as upstream reports init code errors).
    pub fn push_closure(&self, c: &mut Call, cache: bool) -> Result<(), String> {
        self.push_function_on(c, cache).map_err(|m| self.describe_error(&m))
    }

    /// Pushes the code's function, from the VM's code cache when `cache` (compiling it into
    /// the cache on first use), else compiled anew; the loader's message on failure.
    pub fn push_function_on(&self, c: &mut Call, cache: bool) -> Result<(), String> {
        let key = &self.ckey;
        let table = c.top() + 1;
        c.get_registry(&crate::sys::reg::CODE_CACHE);
        if !cache {
            self.compile(c).inspect_err(|_| c.pop(1))?;
            c.remove(table);
            return Ok(());
        }
        c.raw_geti(table, 1);
        let vm = c.to_integer(-1);
        c.pop(1);
        if let Some((_, slot)) = self.cached_at.get().filter(|(at_vm, _)| *at_vm == vm) {
            if c.raw_geti(table, slot) == LUA_TFUNCTION {
                c.remove(table);
                return Ok(());
            }
            c.pop(1);
        }
        c.get_field(table, key);
        if c.type_of(-1) != LUA_TFUNCTION {
            c.pop(1);
            self.compile(c).inspect_err(|_| c.pop(1))?;
            c.push_copy(-1);
            c.set_field(table, key);
        }
        if self.slotted {
            // (each Code gets its own slot, also when codes share a key)
            let slot = c.obj_len(table) + 1;
            c.push_copy(-1);
            c.raw_seti(table, slot);
            self.cached_at.set(Some((vm, slot as i64)));
        }
        c.remove(table);
        Ok(())
    }
}

/// Creates the code cache table in a new VM's registry: functions by key, and the VM's id at
/// index 1 followed by each configured code's own slot (`Code::cached_at`).
pub fn init_cache(c: &mut Call) {
    static NEXT_VM: AtomicI64 = AtomicI64::new(1);
    let t = c.new_table(8, 8);
    c.push_int(NEXT_VM.fetch_add(1, Ordering::Relaxed));
    c.raw_seti(t, 1);
    c.set_registry(&crate::sys::reg::CODE_CACHE);
}
