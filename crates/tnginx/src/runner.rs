//! Per-file work: run the preamble, then for each block evaluate its sections, run the block
//! preprocessors, decide whether to skip it, build its `Plan` and execute it.

use crate::exec::{self, BlockEnv};
use crate::host::install_host;
use crate::nginx::{parse_ver, Paths};
use crate::perl::{self, Interp, Sections, Value};
use crate::plan::{build_plan, SectionView};
use crate::spec::{self, RawBlock};
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Mutex;

/// Settings shared by the whole run.
pub struct Config {
    pub repo: PathBuf,
    pub nginx: PathBuf,
    pub modules: Vec<PathBuf>,
    pub work_dir: PathBuf,
    pub nginx_version: Option<(u32, u32, u32)>,
    pub openssl_version: Option<(u32, u32, u32, Option<char>)>,
    pub timeout: f64,
    pub repeat_override: Option<usize>,
    pub log_level: String,
    pub master_override: Option<bool>,
    pub verbose: bool,
    /// TEST_NGINX_USE_HUP: one nginx per file, reloaded (SIGHUP) between blocks.
    pub use_hup: bool,
    /// TEST_NGINX_USE_VALGRIND: nginx runs under valgrind (memcheck, leak check); the
    /// suppressions file, when it exists.
    pub valgrind: Option<Option<PathBuf>>,
}

pub enum Outcome {
    Pass,
    Fail(Vec<String>),
    Skip(String),
}

pub struct BlockReport {
    pub file: String,
    pub name: String,
    pub line: usize,
    pub outcome: Outcome,
    /// Warnings worth showing even when the block passes.
    pub notes: Vec<String>,
    pub todo: Option<String>,
}

/// Settings made by the preamble (`repeat_each(2);`, `log_level('warn');`, ...).
pub struct FileSettings {
    pub repeat_each: usize,
    pub log_level: Option<String>,
    pub workers: u32,
    pub master_process: bool,
    pub worker_connections: u32,
    pub accumulate_error_log: bool,
    pub env_to_nginx: Vec<String>,
    pub preprocessors: Vec<Value>,
    pub skip_all: Option<String>,
    pub warnings: Vec<String>,
    /// `use_hup()`: this file runs in HUP mode whatever TEST_NGINX_USE_HUP says.
    pub use_hup: bool,
}

impl Default for FileSettings {
    fn default() -> Self {
        FileSettings {
            repeat_each: 1,
            log_level: None,
            workers: 1,
            master_process: false,
            worker_connections: 64,
            accumulate_error_log: false,
            env_to_nginx: Vec::new(),
            preprocessors: Vec::new(),
            skip_all: None,
            warnings: Vec::new(),
            use_hup: false,
        }
    }
}

/// Sections the runner understands.
const KNOWN: &[&str] = &[
    "stream_config",
    "stream_server_config",
    "stream_server_config2",
    "stream_server_config3",
    "stream_request",
    "stream_request2",
    "stream_request3",
    "steam_listen_option",
    "steam_listen_option2",
    "steam_listen_option3",
    "stream_response",
    "stream_response_like",
    "response_body",
    "response_body_like",
    "log_stream_response",
    "ignore_response",
    "ignore_stream_response",
    "main_config",
    "post_main_config",
    "http_config",
    "config",
    "request",
    "error_log",
    "no_error_log",
    "grep_error_log",
    "grep_error_log_out",
    "shutdown_error_log",
    "no_shutdown_error_log",
    "timeout",
    "abort",
    "wait",
    "log_level",
    "user_files",
    "must_die",
    "ONLY",
    "SKIP",
    "LAST",
    "skip_nginx",
    "skip_nginx2",
    "skip_openssl",
    "skip_eval",
    "skip_slave",
    "todo",
    "tcp_listen",
    "tcp_reply",
    "tcp_query",
    "tcp_query_len",
    "tcp_shutdown",
    "tcp_shutdown_delay",
    "tcp_no_close",
    "tcp_reply_delay",
    "tcp_query_auto_timeout",
    "udp_listen",
    "udp_reply",
    "udp_query",
    "udp_reply_delay",
    "error_log_file",
    "suppress_stderr",
    "shutdown",
    "stream_request_trickle",
    "stream_request_reset",
    "stream_response_reset_after",
    "stream_idle_connections",
    "no_check_leak",
    "no_mockeagain",
    "post_setup_server_root",
    "init",
];

/// Sections for tools this runner does not drive (systemtap, curl, ...): silently ignored and
/// never evaluated.
const IGNORED: &[&str] = &[
    "stap",
    "stap2",
    "stap3",
    "stap_out",
    "stap_out2",
    "stap_out3",
    "stap_out_like",
    "stap_out_unlike",
    "stap_out2_like",
    "stap_out2_unlike",
    "stap_out3_like",
    "curl",
    "quic_max_idle_timeout",
    "raw_request_middle_delay",
    "no_long_string",
    "http2",
    "http3",
];

/// Sections naming features this runner cannot provide: the block is skipped.
const UNSUPPORTED: &[(&str, &str)] = &[
    ("dgram_server_config", "dgram (UDP) stream tests are not supported"),
    ("dgram_config", "dgram (UDP) stream tests are not supported"),
    ("dgram_request", "dgram (UDP) stream tests are not supported"),
    ("reload_fails", "HUP reload tests are not supported"),
];

static UNKNOWN_REPORTED: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());

fn warn_unknown_section(name: &str, file: &str, line: usize) -> Option<String> {
    let mut seen = UNKNOWN_REPORTED.lock().unwrap();
    if seen.insert(name.to_string()) {
        Some(format!("unknown section '--- {}' ({}:{}) ignored", name, file, line))
    } else {
        None
    }
}

pub struct FileRun<'a> {
    cfg: &'a Config,
    rel: String,
    paths: Paths,
    failed_dir: PathBuf,
    interp: Interp,
    settings: Rc<RefCell<FileSettings>>,
    /// HUP mode: the nginx the blocks of this file reload.
    live: Option<crate::nginx::Nginx>,
}

/// Reads a file, sets up its interpreter and runs its preamble.
fn open_file<'a>(cfg: &'a Config, rel: &str) -> Result<(FileRun<'a>, spec::SpecFile, Vec<String>), String> {
    let path = cfg.repo.join(rel);
    let text = std::fs::read(&path).map_err(|e| format!("cannot read {}: {}", path.display(), e))?;
    let spec = spec::parse_spec(&text);
    if spec.blocks.is_empty() {
        return Err("no test blocks found (=== TEST N: ...)".into());
    }
    let slug: String = rel
        .trim_end_matches(".t")
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' })
        .collect();
    let base = cfg.work_dir.join(&slug);
    let paths = Paths::new(base.join("servroot"));
    let failed_dir = base.join("failed");

    let mut env: BTreeMap<String, String> = std::env::vars().collect();
    env.insert("TEST_NGINX_SERVER_ROOT".into(), paths.root.display().to_string());
    env.entry("TEST_NGINX_HTML_DIR".into()).or_insert_with(|| paths.html_dir.display().to_string());
    env.entry("TEST_NGINX_RESOLVER".into()).or_insert_with(|| "127.0.0.1".into());
    let settings = Rc::new(RefCell::new(FileSettings::default()));
    let mut interp = Interp::new(env);
    install_host(&mut interp, settings.clone(), &paths, cfg.repo.clone(), spec.blocks.len(), cfg.nginx_version);
    interp.set_global("0", Value::str(rel));
    interp.set_global("Test::Nginx::Util::PcreVersion", Value::Num(2.0));
    if let Some((a, b, c)) = cfg.nginx_version {
        interp.set_global("Test::Nginx::Util::NginxVersion", Value::str(format!("{}.{:03}{:03}", a, b, c)));
    }
    interp.set_global("Test::Nginx::Util::ServerPort", Value::Num(1984.0));

    let mut fr = FileRun { cfg, rel: rel.to_string(), paths, failed_dir, interp, settings, live: None };
    let notes = fr.run_preamble(&spec.preamble);
    if let Some(r) = cfg.repeat_override {
        fr.settings.borrow_mut().repeat_each = r;
    }
    Ok((fr, spec, notes))
}

/// Test::Base semantics: ONLY keeps just the first such block, LAST ends the list.
fn selected_blocks<'s>(spec: &'s spec::SpecFile, notes: &mut Vec<String>) -> Vec<&'s RawBlock> {
    if let Some(b) = spec.blocks.iter().find(|b| b.has("ONLY")) {
        notes.push(format!("{} has ONLY: running just that block", b.name));
        return vec![b];
    }
    let mut v = Vec::new();
    for b in &spec.blocks {
        v.push(b);
        if b.has("LAST") {
            break;
        }
    }
    v
}

/// Runs one `.t` file; `only` restricts to the given `TEST N` numbers, `filters` to blocks
/// whose "file TEST n: name" contains every filter word.  Each finished block is passed to
/// `report`.
pub fn run_file(cfg: &Config, rel: &str, only: &[usize], filters: &[String], report: &mut dyn FnMut(BlockReport)) {
    let (mut fr, spec, mut file_notes) = match open_file(cfg, rel) {
        Ok(x) => x,
        Err(e) => {
            return report(BlockReport {
                file: rel.to_string(),
                name: "(file)".into(),
                line: 0,
                outcome: Outcome::Fail(vec![e]),
                notes: vec![],
                todo: None,
            })
        }
    };
    let _ = std::fs::remove_dir_all(&fr.failed_dir);
    if let Some(reason) = fr.settings.borrow().skip_all.clone() {
        for b in &spec.blocks {
            report(fr.report(b, Outcome::Skip(format!("plan skip_all: {}", reason)), vec![]));
        }
        return;
    }
    for b in selected_blocks(&spec, &mut file_notes) {
        if !only.is_empty() && !only.contains(&b.number) {
            continue;
        }
        let title = format!("{} {}", rel, b.name);
        if !filters.iter().all(|f| title.contains(f.as_str())) {
            continue;
        }
        let mut r =
            if b.has("SKIP") { fr.report(b, Outcome::Skip("--- SKIP".into()), vec![]) } else { fr.run_block(b, false) };
        r.notes.splice(0..0, file_notes.drain(..));
        report(r);
    }
    if let Some(ngx) = fr.live.take() {
        let mut notes = Vec::new();
        let crash = exec::stop_live(ngx, &mut notes);
        if crash.is_some() || !notes.is_empty() {
            report(BlockReport {
                file: rel.to_string(),
                name: "(nginx shutdown after the last block, HUP mode)".into(),
                line: 0,
                outcome: crash.map_or(Outcome::Pass, |c| Outcome::Fail(vec![c])),
                notes,
                todo: None,
            });
        }
    }
}

/// Checks a file without running nginx: preamble, section evaluation, plans and regexes.
/// Returns the problems found.
pub fn lint_file(cfg: &Config, rel: &str) -> Vec<String> {
    let (mut fr, spec, notes) = match open_file(cfg, rel) {
        Ok(x) => x,
        Err(e) => return vec![e],
    };
    let mut problems: Vec<String> = notes.into_iter().map(|n| format!("{}: {}", rel, n)).collect();
    for b in &spec.blocks {
        if b.has("SKIP") {
            continue;
        }
        let r = fr.run_block(b, true);
        if let Outcome::Fail(msgs) = r.outcome {
            problems.extend(msgs.into_iter().map(|m| format!("{} {}: {}", rel, b.name, m)));
        }
    }
    problems
}

impl<'a> FileRun<'a> {
    fn report(&self, b: &RawBlock, outcome: Outcome, notes: Vec<String>) -> BlockReport {
        BlockReport { file: self.rel.clone(), name: b.name.clone(), line: b.line, outcome, notes, todo: None }
    }

    fn run_preamble(&mut self, code: &[u8]) -> Vec<String> {
        let mut notes = Vec::new();
        match perl::parse_tolerant(code) {
            Err(e) => notes.push(format!("preamble not run: {}", e)),
            Ok((stmts, errors)) => {
                for e in errors {
                    notes.push(format!("preamble: skipped `{}`: {}", short(&e.text), e.msg));
                }
                for s in &stmts {
                    if let Err(e) = self.interp.run_toplevel(s) {
                        notes.push(format!("preamble: statement failed: {}", e));
                    }
                }
            }
        }
        notes.append(&mut self.settings.borrow_mut().warnings);
        notes
    }

    /// Runs a block; with `dry`, stops after building and checking its plan.  A block that
    /// lost a port race with another process is retried on new ports.
    fn run_block(&mut self, b: &RawBlock, dry: bool) -> BlockReport {
        let mut attempt = 0;
        loop {
            let mut r = self.run_block_once(b, dry);
            let port_clash =
                matches!(&r.outcome, Outcome::Fail(m) if m.iter().any(|m| m.contains("Address already in use")));
            if !port_clash || attempt == 2 {
                if attempt > 0 {
                    r.notes.push(format!("retried {} time(s) after a port was taken by another process", attempt));
                }
                return r;
            }
            attempt += 1;
        }
    }

    fn run_block_once(&mut self, b: &RawBlock, dry: bool) -> BlockReport {
        let mut notes = Vec::new();
        for s in &b.sections {
            if !KNOWN.contains(&s.name.as_str())
                && !IGNORED.contains(&s.name.as_str())
                && !UNSUPPORTED.iter().any(|u| u.0 == s.name)
            {
                notes.extend(warn_unknown_section(&s.name, &self.rel, s.line));
            }
        }
        if let Some((_, why)) = UNSUPPORTED.iter().find(|u| b.has(u.0)) {
            return self.report(b, Outcome::Skip(why.to_string()), notes);
        }
        // Ports first: section code may read $ENV{TEST_NGINX_SERVER_PORT}.
        let base_port = match crate::ports::reserve(4) {
            Ok(p) => p,
            Err(e) => return self.report(b, Outcome::Fail(vec![e]), notes),
        };
        let env_ports = [
            ("TEST_NGINX_SERVER_PORT", base_port),
            ("TEST_NGINX_PORT", base_port),
            ("TEST_NGINX_STREAM_PORT", base_port + 1),
        ];
        let saved: Vec<(String, Option<String>)> =
            env_ports.iter().map(|(k, _)| (k.to_string(), self.interp.env.get(*k).cloned())).collect();
        for (k, p) in env_ports {
            self.interp.env.insert(k.into(), p.to_string());
        }
        self.interp.set_global("Test::Nginx::Util::ServerPort", Value::Num(base_port as f64));
        let mut rand_ports = BTreeMap::new();
        let result = self.plan_and_run(b, base_port, &mut rand_ports, &mut notes, dry);
        for (k, v) in saved {
            match v {
                Some(v) => self.interp.env.insert(k, v),
                None => self.interp.env.remove(&k),
            };
        }
        crate::ports::release(base_port, 4);
        for p in rand_ports.values() {
            crate::ports::release(*p, 1);
        }
        let (outcome, todo) = result;
        let mut r = self.report(b, outcome, notes);
        r.todo = todo;
        r
    }

    fn plan_and_run(
        &mut self,
        b: &RawBlock,
        base_port: u16,
        rand_ports: &mut BTreeMap<String, u16>,
        notes: &mut Vec<String>,
        dry: bool,
    ) -> (Outcome, Option<String>) {
        let sections = match self.evaluate_sections(b) {
            Ok(s) => s,
            Err(e) => return (Outcome::Fail(vec![e]), None),
        };
        let preprocessors = self.settings.borrow().preprocessors.clone();
        for p in preprocessors {
            if let Value::Code(code) = p {
                if let Err(e) = self.interp.call_code(&code, vec![Value::Block(sections.clone())]) {
                    return (Outcome::Fail(vec![format!("block preprocessor failed: {}", e)]), None);
                }
            }
        }
        let sec = SectionView { map: sections.borrow().clone() };
        let todo = sec.text("todo").map(|t| String::from_utf8_lossy(&t).trim().to_string());
        if let Some(reason) = self.skip_reason(&sec) {
            return (Outcome::Skip(reason), todo);
        }
        let env = self.interp.env.clone();
        let block_env = BlockEnv { env: &env, rand_ports, block_name: &b.name };
        let plan = match build_plan(&sec, &self.settings.borrow(), self.cfg, base_port, block_env) {
            Ok(p) => p,
            Err(e) => return (Outcome::Fail(vec![e]), todo),
        };
        if dry {
            let problems = plan.regex_problems();
            return (if problems.is_empty() { Outcome::Pass } else { Outcome::Fail(problems) }, todo);
        }
        let title = format!("{} {}", self.rel, b.name);
        let run = exec::execute(self.cfg, &self.paths, &plan, &env, &title, &mut self.live);
        notes.extend(run.notes);
        if run.failures.is_empty() {
            (Outcome::Pass, todo)
        } else {
            let mut failures = run.failures;
            if let Some(saved) = save_artifacts(&self.paths, &self.failed_dir, b.number) {
                failures.push(format!("nginx.conf and logs kept in {}", saved.display()));
            }
            (Outcome::Fail(failures), todo)
        }
    }

    /// Runs each section through its filters (`eval` included).
    fn evaluate_sections(&mut self, b: &RawBlock) -> Result<Sections, String> {
        let map = Rc::new(RefCell::new(BTreeMap::new()));
        for s in &b.sections {
            let v = if IGNORED.contains(&s.name.as_str()) {
                Value::Str(s.value.clone())
            } else {
                spec::apply_filters(s, &mut self.interp)?
            };
            map.borrow_mut().insert(s.name.clone(), v);
        }
        Ok(map)
    }

    fn skip_reason(&mut self, sec: &SectionView) -> Option<String> {
        for http in ["config", "http_config"] {
            if sec.text(http).is_some_and(|t| !t.iter().all(|c| c.is_ascii_whitespace())) {
                return Some(format!("--- {}: http subsystem not supported", http));
            }
        }
        if let Some(req) = sec.text("request") {
            if String::from_utf8_lossy(&req).trim() != "GET /t" {
                return Some("--- request: http requests are not supported".into());
            }
        }
        if !sec.has("stream_server_config") && !sec.has("stream_config") && !sec.has("must_die") {
            return Some("no stream_server_config or stream_config (an http test?)".into());
        }
        if let Some(spec) = sec.text("skip_nginx") {
            return self.version_skip(&spec, self.cfg.nginx_version.map(|(a, b, c)| (a, b, c, None)), "nginx");
        }
        if let Some(spec) = sec.text("skip_openssl") {
            return self.version_skip(&spec, self.cfg.openssl_version, "OpenSSL");
        }
        if let Some(spec) = sec.text("skip_eval") {
            let spec = String::from_utf8_lossy(&spec).to_string();
            let code = spec.split_once(':').map(|(_, c)| c.trim().to_string()).unwrap_or(spec);
            return match self.interp.eval_code(code.as_bytes()) {
                Ok(v) if v.first().is_some_and(|v| v.truthy()) => Some(format!("skip_eval: {}", code)),
                Ok(_) => None,
                Err(e) => Some(format!("skip_eval could not be evaluated ({}): {}", e, code)),
            };
        }
        None
    }

    /// `N: < 1.2.3 [: reason]` style conditions.
    fn version_skip(&self, spec: &[u8], have: Option<(u32, u32, u32, Option<char>)>, what: &str) -> Option<String> {
        let spec = String::from_utf8_lossy(spec).trim().to_string();
        let mut parts = spec.splitn(3, ':');
        let _count = parts.next();
        let cond = parts.next().unwrap_or("").trim().to_string();
        let reason = parts.next().map(|r| r.trim().to_string());
        let op: String = cond.chars().take_while(|c| "<>=".contains(*c)).collect();
        let want = parse_ver(cond[op.len()..].trim())?;
        let Some((a, b, c, _)) = have else {
            return Some(format!("{} version unknown", what));
        };
        let have = (a, b, c);
        let hit = match op.as_str() {
            "<" => have < want,
            "<=" => have <= want,
            ">" => have > want,
            ">=" => have >= want,
            _ => false,
        };
        hit.then(|| reason.unwrap_or_else(|| format!("{} version {} {}.{}.{}", what, op, want.0, want.1, want.2)))
    }
}

fn short(s: &str) -> String {
    let one: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if one.chars().count() > 70 {
        format!("{}...", one.chars().take(70).collect::<String>())
    } else {
        one
    }
}

/// Keeps the configuration and logs of a failed block.
fn save_artifacts(paths: &Paths, failed_dir: &Path, number: usize) -> Option<PathBuf> {
    let dir = failed_dir.join(format!("TEST-{}", number));
    std::fs::create_dir_all(&dir).ok()?;
    let mut files = vec![paths.conf_file.clone(), paths.error_log.clone(), paths.stderr_file.clone()];
    files.extend(crate::valgrind::reports(paths));
    for f in &files {
        if f.exists() {
            let _ = std::fs::copy(f, dir.join(f.file_name()?));
        }
    }
    Some(dir)
}
