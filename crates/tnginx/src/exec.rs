//! Executes a block's plan: writes the server root, starts nginx, talks to it (repeatedly for
//! `repeat_each`), checks the response and the error log, stops nginx and looks for crashes.

use crate::checks::{self, diff, escape, show, Pattern};
use crate::client::{self, ClientOptions, Conversation};
use crate::nginx::{self, ConfSpec, Nginx, Paths, Startup};
use crate::perl::{PerlRegex, Value};
use crate::plan::{Expect, Plan};
use crate::runner::Config;
use std::collections::BTreeMap;
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::time::Duration;

/// Upstream's pause before reading the error log (3 x TEST_NGINX_SLEEP).
const LOG_SETTLE: Duration = Duration::from_millis(45);
const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);

pub struct BlockEnv<'a> {
    pub env: &'a BTreeMap<String, String>,
    pub rand_ports: &'a mut BTreeMap<String, u16>,
    pub block_name: &'a str,
}

/// Replaces `$TEST_NGINX_*` with environment values; `$TEST_NGINX_RAND_PORT_N` gets a free
/// port, the same one for every use within the block.
pub fn expand_env(text: &[u8], benv: &mut BlockEnv) -> Result<Vec<u8>, String> {
    const KEY: &[u8] = b"$TEST_NGINX_";
    let mut out = Vec::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        if text[i] == b'$' && text[i..].starts_with(KEY) {
            let len = text[i + 1..]
                .iter()
                .take_while(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || **b == b'_')
                .count();
            let name = String::from_utf8_lossy(&text[i + 1..i + 1 + len]).to_string();
            let value = if name.starts_with("TEST_NGINX_RAND_PORT_") {
                match benv.rand_ports.get(&name) {
                    Some(p) => p.to_string(),
                    None => {
                        let p = crate::ports::reserve(1)?;
                        benv.rand_ports.insert(name.clone(), p);
                        p.to_string()
                    }
                }
            } else {
                benv.env
                    .get(&name)
                    .cloned()
                    .ok_or_else(|| format!("{} - No environment {} defined", benv.block_name, name))?
            };
            out.extend_from_slice(value.as_bytes());
            i += 1 + len;
        } else {
            out.push(text[i]);
            i += 1;
        }
    }
    Ok(out)
}

#[derive(Default)]
pub struct ExecResult {
    pub failures: Vec<String>,
    pub notes: Vec<String>,
}

/// Environment variable names nginx keeps for its workers, as upstream does (the first seven
/// before the main config: they take part in its line numbering).
const DEFAULT_ENV: &[&str] = &[
    "MOCKEAGAIN_VERBOSE",
    "MOCKEAGAIN",
    "MOCKEAGAIN_WRITE_TIMEOUT_PATTERN",
    "LD_PRELOAD",
    "LD_LIBRARY_PATH",
    "DYLD_INSERT_LIBRARIES",
    "DYLD_FORCE_FLAT_NAMESPACE",
];
const LATE_ENV: &[&str] = &["ASAN_OPTIONS", "MOCKNOEAGAIN_VERBOSE", "MOCKNOEAGAIN"];

/// Reads the error log incrementally, line by line.
struct LogReader {
    path: PathBuf,
    pos: usize,
    accumulate: bool,
}

impl LogReader {
    fn read_new(&mut self) -> Vec<Vec<u8>> {
        let data = std::fs::read(&self.path).unwrap_or_default();
        let start = if self.accumulate { 0 } else { self.pos.min(data.len()) };
        let chunk = &data[start..];
        if let Some(last_nl) = chunk.iter().rposition(|&b| b == b'\n') {
            self.pos = start + last_nl + 1;
        }
        lines_of(chunk)
    }
}

fn lines_of(data: &[u8]) -> Vec<Vec<u8>> {
    data.split_inclusive(|&b| b == b'\n').map(|l| l.strip_suffix(b"\n").unwrap_or(l).to_vec()).collect()
}

/// Executes a block.  `live` is the nginx a previous block of the file left running (HUP
/// mode); in HUP mode the block reloads it instead of starting its own, and leaves it running.
pub fn execute(
    cfg: &Config,
    paths: &Paths,
    plan: &Plan,
    env: &BTreeMap<String, String>,
    title: &str,
    live: &mut Option<Nginx>,
) -> ExecResult {
    let mut r = ExecResult::default();
    // as Test::Nginx: a block that must die starts (and fails to start) its own nginx
    let hup = plan.hup;
    let version = hup.then(config_version);
    let mut reused = None;
    if let Some(mut prev) = live.take() {
        if hup && prev.poll().is_none() {
            reused = Some(prev);
        } else {
            stop_live(prev, &mut r.notes);
        }
    }
    let mut ngx = match reused {
        Some(mut n) => {
            let reloaded = prepare(cfg, paths, plan, title, version.as_deref(), true)
                .and_then(|()| reload(&mut n, paths, plan.server_port, version.as_deref().unwrap_or_default()));
            if let Err(e) = reloaded {
                r.failures.push(e);
                add_log_excerpts(paths, &mut r.failures);
                if n.poll().is_none() {
                    *live = Some(n);
                }
                return r;
            }
            n
        }
        None => match start(cfg, paths, plan, env, title, version.as_deref(), &mut r) {
            Some(n) => n,
            None => return r,
        },
    };

    let mut log = LogReader { path: paths.error_log.clone(), pos: 0, accumulate: plan.accumulate_error_log };
    let mut per_rep: Vec<Vec<String>> = Vec::new();
    let mut died = None;
    for rep in 0..plan.repeat {
        let mut f = Vec::new();
        if rep > 0 {
            if let Err(e) = nginx::write_user_files(paths, &plan.user_files) {
                f.push(e);
            }
        }
        run_once(plan, rep, &mut log, &mut f, &mut r.notes);
        per_rep.push(f);
        if let Some(st) = ngx.poll() {
            died = Some(st);
            break;
        }
    }
    r.failures.extend(merge_repeats(per_rep));
    if let Some(st) = died {
        r.failures.push(format!("nginx exited during the test ({})", nginx::describe_exit(st)));
    }

    if hup && died.is_none() {
        // HUP mode: nginx stays up for the next block.  Test::Nginx does not check
        // shutdown_error_log in this mode (a dry run), neither do we.
        if !plan.shutdown_error_log.is_empty() || !plan.no_shutdown_error_log.is_empty() {
            r.notes.push("HUP mode: --- shutdown_error_log is not checked (as Test::Nginx)".into());
        }
        check_crashes(plan, paths, &mut r.failures);
        if !r.failures.is_empty() {
            add_log_excerpts(paths, &mut r.failures);
        }
        *live = Some(ngx);
        return r;
    }

    // under valgrind the exit (and its leak check) takes seconds
    let grace = if cfg.valgrind.is_some() { 60.0 } else { cfg.timeout.max(3.0) };
    let stopped = ngx.stop(Duration::from_secs_f64(grace));
    std::thread::sleep(Duration::from_millis(10));
    let after = log.read_new();
    if stopped.forced {
        r.notes.push("nginx did not exit after SIGQUIT in time; it was killed".into());
    } else if died.is_none() {
        if stopped.status.signal().is_some() {
            r.failures.push(format!("nginx crashed while shutting down: {}", nginx::describe_exit(stopped.status)));
        } else if stopped.status.code() == Some(crate::valgrind::ERROR_EXIT_CODE) && cfg.valgrind.is_some() {
            r.notes.push("valgrind found errors (exit code of --error-exitcode)".into());
        } else if stopped.status.code() != Some(0) {
            r.notes.push(format!("nginx exited with {} after SIGQUIT", nginx::describe_exit(stopped.status)));
        }
    }
    if cfg.valgrind.is_some() {
        crate::valgrind::check(paths, &cfg.modules, &mut r.failures, &mut r.notes);
    }
    check_patterns(
        "shutdown_error_log",
        &plan.shutdown_error_log,
        &plan.no_shutdown_error_log,
        &after,
        &mut r.failures,
    );
    check_crashes(plan, paths, &mut r.failures);
    if !r.failures.is_empty() {
        add_log_excerpts(paths, &mut r.failures);
    }
    r
}

/// Starts a fresh nginx for the block and waits until it has bound its ports.  On failure,
/// the reasons are in `r`.
fn start(
    cfg: &Config,
    paths: &Paths,
    plan: &Plan,
    env: &BTreeMap<String, String>,
    title: &str,
    version: Option<&str>,
    r: &mut ExecResult,
) -> Option<Nginx> {
    if let Err(e) = prepare(cfg, paths, plan, title, version, false) {
        r.failures.push(e);
        return None;
    }
    let wrapper = match &cfg.valgrind {
        Some(supp) => crate::valgrind::wrapper(paths, supp.as_deref()),
        None => Vec::new(),
    };
    let mut ngx = match Nginx::start(&cfg.nginx, &wrapper, paths, env, plan.keep_stderr) {
        Ok(n) => n,
        Err(e) => {
            r.failures.push(format!("cannot run {}: {}", cfg.nginx.display(), e));
            return None;
        }
    };
    if let Some(code) = plan.must_die {
        must_die(&mut ngx, paths, plan, code, r);
        return None;
    }
    match ngx.wait_ready(&paths.pid_file, STARTUP_TIMEOUT) {
        Startup::Ready => std::thread::sleep(Duration::from_millis(15)),
        Startup::Exited(st) => {
            r.failures.push(format!("nginx failed to start ({})", nginx::describe_exit(st)));
            add_log_excerpts(paths, &mut r.failures);
            return None;
        }
        Startup::TimedOut => {
            r.failures.push(format!("nginx did not write {} within {:?}", paths.pid_file.display(), STARTUP_TIMEOUT));
            ngx.stop(Duration::from_secs(1));
            add_log_excerpts(paths, &mut r.failures);
            return None;
        }
    }
    // (a fresh start is not checked through the version server, as Test::Nginx: only reloads)
    Some(ngx)
}

/// HUP mode's configuration version: a random string of 10 letters.
fn config_version() -> String {
    let mut x =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(7)
            ^ (std::process::id() as u64) << 20;
    (0..10)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (b'a' + (x % 26) as u8) as char
        })
        .collect()
}

/// Reloads a running nginx with the configuration `prepare` wrote, as Test::Nginx does:
/// SIGUSR1 (reopen the logs the cleanup removed), SIGHUP, then wait until the new workers
/// serve the new version.
fn reload(ngx: &mut Nginx, paths: &Paths, port: u16, version: &str) -> Result<(), String> {
    ngx.signal(libc::SIGUSR1);
    std::thread::sleep(Duration::from_millis(15));
    ngx.signal(libc::SIGHUP);
    std::thread::sleep(Duration::from_millis(45));
    wait_version(ngx, paths, port, version).map_err(|e| {
        // a configuration nginx refused: its [emerg] line says why (a port clash is retried)
        let log = lines_of(&std::fs::read(&paths.error_log).unwrap_or_default());
        match log.iter().find(|l| checks::find(l, b"[emerg]").is_some()) {
            Some(l) => format!("{}; the reload failed: {}", e, clip_line(l)),
            None => e,
        }
    })
}

/// Asks the version server until it answers `version` 20 times in a row (Test::Nginx's
/// check that the reloaded workers, and only they, serve); gives up after 200 tries.
fn wait_version(ngx: &mut Nginx, paths: &Paths, port: u16, version: &str) -> Result<(), String> {
    const TRIES: u32 = 200;
    let step = 0.015;
    let mut nsucc = 0;
    let mut last = String::new();
    for tries in 1..=TRIES {
        if let Some(st) = ngx.poll() {
            return Err(format!("nginx exited while reloading its configuration ({})", nginx::describe_exit(st)));
        }
        if tries > 10 && emerg_in(paths) {
            return Err("nginx refused the configuration".into());
        }
        match fetch_version(port) {
            Ok(v) if v == version => {
                nsucc += 1;
                if nsucc == 5 {
                    std::thread::sleep(Duration::from_secs_f64(step));
                }
                if nsucc >= 20 {
                    return Ok(());
                }
                continue;
            }
            Ok(v) => last = format!("version {:?}", v),
            Err(e) => last = e,
        }
        nsucc = 0;
        let wait = ((step + step * tries as f64) * tries as f64 / 2.0).min(1.0);
        std::thread::sleep(Duration::from_secs_f64(wait));
    }
    Err(format!(
        "failed to reload configuration after {} failed test requests (wanted version {:?}, last answer: {})",
        TRIES, version, last
    ))
}

fn emerg_in(paths: &Paths) -> bool {
    checks::find(&std::fs::read(&paths.error_log).unwrap_or_default(), b"[emerg]").is_some()
}

/// `GET /ver` on the version server; the body of the answer.
fn fetch_version(port: u16) -> Result<String, String> {
    use std::io::{Read, Write};
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let mut s = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(2)).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(Duration::from_secs(2))).map_err(|e| e.to_string())?;
    s.write_all(b"GET /ver HTTP/1.0\r\nHost: Test-Nginx\r\n\r\n").map_err(|e| e.to_string())?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&buf);
    Ok(text.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default())
}

/// Stops the nginx a HUP-mode file kept running; says so when it did not end well.
pub fn stop_live(mut ngx: Nginx, notes: &mut Vec<String>) -> Option<String> {
    let stopped = ngx.stop(Duration::from_secs(5));
    if stopped.forced {
        notes.push("the file's nginx (HUP mode) did not exit after SIGQUIT in time; it was killed".into());
        None
    } else if stopped.status.signal().is_some() {
        Some(format!(
            "the file's nginx (HUP mode) crashed while shutting down: {}",
            nginx::describe_exit(stopped.status)
        ))
    } else {
        None
    }
}

/// Writes the server root: directories, user files and nginx.conf.  `reload`: nginx is
/// running from this root (HUP mode); its pid file, sockets and certificates stay.
fn prepare(
    cfg: &Config,
    paths: &Paths,
    plan: &Plan,
    title: &str,
    version: Option<&str>,
    reload: bool,
) -> Result<(), String> {
    let cleaned = if reload { paths.clean_for_reload() } else { paths.reset() };
    cleaned.map_err(|e| format!("cannot prepare {}: {}", paths.root.display(), e))?;
    nginx::write_user_files(paths, &plan.user_files)?;
    let mut env_names: Vec<String> = DEFAULT_ENV.iter().map(|s| s.to_string()).collect();
    env_names.extend(plan.env_to_nginx.iter().cloned());
    let conf = nginx::render_conf(&ConfSpec {
        title: title.to_string(),
        modules: &cfg.modules,
        workers: plan.workers,
        master_process: plan.master_process,
        error_log: plan.error_log_target.clone().unwrap_or_else(|| paths.error_log.display().to_string()),
        log_level: plan.log_level.clone(),
        pid_file: &paths.pid_file,
        env_names,
        late_env_names: LATE_ENV.iter().map(|s| s.to_string()).collect(),
        main_config: plan.main_config.clone(),
        stream_config: plan.stream_config.clone(),
        servers: plan
            .servers
            .iter()
            .map(|(s, _)| nginx::StreamServer {
                port: s.port,
                listen_options: s.listen_options.clone(),
                config: s.config.clone(),
            })
            .collect(),
        post_main_config: plan.post_main_config.clone(),
        worker_connections: plan.worker_connections,
        event_type: std::env::var("TEST_NGINX_EVENT_TYPE").ok().filter(|s| !s.is_empty()),
        run_as_root: unsafe { libc::geteuid() } == 0,
        version_server: version.map(|v| (plan.server_port, v.to_string())),
    });
    std::fs::write(&paths.conf_file, conf).map_err(|e| format!("cannot write {}: {}", paths.conf_file.display(), e))?;
    if cfg.verbose {
        eprintln!("# {}: {}", title, paths.conf_file.display());
    }
    Ok(())
}

/// One request/response round plus the error log checks that follow it.
fn run_once(plan: &Plan, rep: usize, log: &mut LogReader, f: &mut Vec<String>, notes: &mut Vec<String>) {
    let tcp = match &plan.tcp_mock {
        Some(m) => match client::start_tcp_mock(m.spec.clone()) {
            Ok(x) => Some(x),
            Err(e) => {
                f.push(e);
                None
            }
        },
        None => None,
    };
    let udp = match &plan.udp_mock {
        Some(m) => match client::start_udp_mock(m.spec.clone()) {
            Ok(x) => Some(x),
            Err(e) => {
                f.push(e);
                None
            }
        },
        None => None,
    };

    let mut synthetic = Vec::new();
    if !plan.servers.is_empty() {
        let convs: Vec<Conversation> =
            plan.servers.iter().map(|(s, req)| Conversation { port: s.port, request: req.clone() }).collect();
        let opts = ClientOptions {
            timeout: plan.timeout,
            abort: plan.abort,
            print_data: plan.expect.is_some(),
            shutdown: plan.shutdown,
            abuse: plan.abuse.clone(),
        };
        let res = client::converse(&convs, &opts);
        if res.timed_out {
            f.push(format!(
                "client socket timed out after {:.3}s (got {} bytes: {}); add --- abort if a timeout is expected",
                plan.timeout.as_secs_f64(),
                res.received.len(),
                show(&res.received)
            ));
        }
        let mut output = res.output;
        if plan.log_stream_response {
            // Upstream's proxy location logs the data with print(); mimic that line.
            let tail = b", client: 127.0.0.1, server: localhost, request: \"GET /t HTTP/1.1\", host: \"localhost\"";
            synthetic
                .push([b"[notice] (tnginx client) [lua] stream response: ".as_slice(), &res.received, tail].concat());
            output = format!("received {} bytes of response data.\n", res.received.len()).into_bytes();
        }
        if let Some(exp) = &plan.expect {
            check_response(exp, &output, f);
        }
    }

    if !plan.wait.is_zero() {
        std::thread::sleep(plan.wait);
    }
    std::thread::sleep(LOG_SETTLE);
    let mut lines = log.read_new();
    lines.extend(synthetic);
    check_grep(plan, rep, &lines, f);
    check_patterns("error_log", &plan.error_log, &plan.no_error_log, &lines, f);
    log_warnings(plan, &lines, notes);

    if let (Some(m), Some(spec)) = (tcp, &plan.tcp_mock) {
        let got = m.finish();
        if let Some(q) = &spec.query {
            check_value("tcp_query", q, &got, f);
        }
        if let Some(len) = spec.query_len {
            if got.len() != len {
                f.push(format!("tcp_query_len: the mock TCP server received {} bytes, expected {}", got.len(), len));
            }
        }
    }
    if let (Some(m), Some(spec)) = (udp, &plan.udp_mock) {
        let got = m.finish();
        if let Some(q) = &spec.query {
            check_value("udp_query", q, &got, f);
        }
    }
}

fn check_value(what: &str, expected: &Value, got: &[u8], f: &mut Vec<String>) {
    match expected {
        Value::Regex(r) => match r.is_match(got) {
            Ok(true) => {}
            Ok(false) => f.push(format!("{}: {} does not match {}", what, show(got), r.source())),
            Err(e) => f.push(format!("{}: {}", what, e)),
        },
        v => {
            let want = v.to_bytes();
            if want != got {
                f.push(format!("{}: got {}, expected {}", what, show(got), show(&want)));
            }
        }
    }
}

fn check_response(exp: &Expect, got: &[u8], f: &mut Vec<String>) {
    match exp {
        Expect::Exact(want) => {
            if want != got {
                let mut msg = String::from("stream_response differs (- expected, + got):");
                for l in diff(want, got) {
                    msg.push_str("\n    ");
                    msg.push_str(&l);
                }
                f.push(msg);
            }
        }
        Expect::Like(re) => match re.is_match(got) {
            Ok(true) => {}
            Ok(false) => f.push(format!("stream_response_like: {} does not match {}", show(got), re.source())),
            Err(e) => f.push(format!("stream_response_like: {}", e)),
        },
    }
}

/// `error_log` patterns must each match a line; `no_error_log` ones must match none.
fn check_patterns(what: &str, want: &[Pattern], forbid: &[Pattern], lines: &[Vec<u8>], f: &mut Vec<String>) {
    for p in want {
        let mut found = false;
        for l in lines {
            match p.matches(l) {
                Ok(true) => {
                    found = true;
                    break;
                }
                Ok(false) => {}
                Err(e) => {
                    f.push(format!("{}: {}", what, e));
                    found = true;
                    break;
                }
            }
        }
        if !found {
            f.push(format!("{}: pattern {} should match a line in error.log", what, p.describe()));
        }
    }
    for p in forbid {
        for l in lines {
            match p.matches(l) {
                Ok(true) => {
                    f.push(format!(
                        "no_{}: pattern {} should not match any line in error.log but matches:\n    {}",
                        what,
                        p.describe(),
                        clip_line(l)
                    ));
                    break;
                }
                Ok(false) => {}
                Err(e) => {
                    f.push(format!("no_{}: {}", what, e));
                    break;
                }
            }
        }
    }
}

fn clip_line(l: &[u8]) -> String {
    let s = escape(l);
    if s.chars().count() > 400 {
        format!("{}...", s.chars().take(400).collect::<String>())
    } else {
        s
    }
}

/// The matched pieces of every line, one per line, compared with `grep_error_log_out`.
fn check_grep(plan: &Plan, rep: usize, lines: &[Vec<u8>], f: &mut Vec<String>) {
    let Some((pat, out)) = &plan.grep else { return };
    let pick = |v: &Value| match v {
        Value::Array(a) => a.borrow().get(rep).cloned().unwrap_or(Value::Undef),
        v => v.clone(),
    };
    let pattern = match pick(pat) {
        Value::Regex(r) => Pattern::Re(r),
        Value::Undef => return,
        v => Pattern::Sub(v.to_bytes()),
    };
    let mut got = Vec::new();
    for l in lines {
        match pattern.find(l) {
            Ok(Some(m)) if !m.contains(&b'\n') => {
                got.extend_from_slice(m);
                got.push(b'\n');
            }
            Ok(_) => {}
            Err(e) => {
                f.push(format!("grep_error_log: {}", e));
                return;
            }
        }
    }
    match pick(out) {
        Value::Regex(r) => match r.is_match(&got) {
            Ok(true) => {}
            Ok(false) => f.push(format!("grep_error_log_out: {} does not match {}", show(&got), r.source())),
            Err(e) => f.push(format!("grep_error_log_out: {}", e)),
        },
        v => {
            let want = v.to_bytes();
            if want != got {
                let mut msg = format!("grep_error_log_out for {} differs (- expected, + got):", pattern.describe());
                for l in diff(&want, &got) {
                    msg.push_str("\n    ");
                    msg.push_str(&l);
                }
                f.push(msg);
            }
        }
    }
}

/// Lines upstream warns about unless a pattern of the block mentions them.
fn log_warnings(plan: &Plan, lines: &[Vec<u8>], notes: &mut Vec<String>) {
    let all: Vec<&Pattern> = plan.error_log.iter().chain(plan.no_error_log.iter()).collect();
    let mentioned = |s: &str| all.iter().any(|p| p.mentions(s));
    let kinds = [
        ("[alert]", "[alert"),
        ("[crit]", "[crit"),
        ("[emerg]", "[emerg"),
        ("writing a global lua variable", "writing a global lua variable"),
    ];
    for (needle, key) in kinds {
        if mentioned(key) {
            continue;
        }
        let hits: Vec<&Vec<u8>> = lines.iter().filter(|l| checks::find(l, needle.as_bytes()).is_some()).collect();
        for l in hits.iter().take(3) {
            let note = format!("WARNING: {}", clip_line(l));
            if !notes.contains(&note) {
                notes.push(note);
            }
        }
    }
}

/// Worker crashes (master mode) and failed assertions anywhere in the log.
fn check_crashes(plan: &Plan, paths: &Paths, f: &mut Vec<String>) {
    let data = std::fs::read(&paths.error_log).unwrap_or_default();
    let expected = plan.error_log.iter().chain(plan.shutdown_error_log.iter()).any(|p| p.mentions("exited on signal"));
    let crash = PerlRegex::new(b"worker process \\d+ exited on signal".to_vec(), "");
    let assertion = PerlRegex::new(b"\\bAssertion .*?failed\\b".to_vec(), "");
    for l in lines_of(&data) {
        if !expected && crash.is_match(&l).unwrap_or(false) {
            f.push(format!("a worker crashed: {}", clip_line(&l)));
        }
        if assertion.is_match(&l).unwrap_or(false) {
            f.push(format!("assertion failure: {}", clip_line(&l)));
        }
    }
}

fn must_die(ngx: &mut Nginx, paths: &Paths, plan: &Plan, code: Option<i32>, r: &mut ExecResult) {
    let status = match ngx.wait_ready(&paths.pid_file, STARTUP_TIMEOUT) {
        Startup::Exited(st) => Some(st),
        Startup::Ready => ngx.wait_exit(Duration::from_millis(100)),
        Startup::TimedOut => None,
    };
    match status {
        Some(st) if st.signal().is_some() => {
            r.failures.push(format!("nginx crashed instead of failing cleanly: {}", nginx::describe_exit(st)))
        }
        Some(st) => match code {
            Some(c) if st.code() != Some(c) => {
                r.failures.push(format!("nginx exited with {}, expected exit code {}", nginx::describe_exit(st), c))
            }
            None if st.success() => r.failures.push("nginx exited with status 0 but must die".into()),
            _ => {}
        },
        None => {
            r.failures.push("nginx must die but it started".into());
            ngx.stop(Duration::from_secs(1));
        }
    }
    let mut lines = lines_of(&std::fs::read(&paths.error_log).unwrap_or_default());
    lines.extend(lines_of(&std::fs::read(&paths.stderr_file).unwrap_or_default()));
    check_grep(plan, 0, &lines, &mut r.failures);
    check_patterns("error_log", &plan.error_log, &plan.no_error_log, &lines, &mut r.failures);
    if !r.failures.is_empty() {
        add_log_excerpts(paths, &mut r.failures);
    }
}

/// Groups identical failures of different repeats: "(repeat 1, 2)".
fn merge_repeats(per_rep: Vec<Vec<String>>) -> Vec<String> {
    let n = per_rep.len();
    let mut order: Vec<String> = Vec::new();
    let mut reps: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, fs) in per_rep.into_iter().enumerate() {
        for m in fs {
            if !reps.contains_key(&m) {
                order.push(m.clone());
            }
            reps.entry(m).or_default().push(i + 1);
        }
    }
    order
        .into_iter()
        .map(|m| {
            let r = &reps[&m];
            if n <= 1 || r.len() == n {
                m
            } else {
                format!("(repeat {} of {}) {}", r.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(", "), n, m)
            }
        })
        .collect()
}

/// Adds the interesting part of the error log and nginx's stderr to a failure report.
fn add_log_excerpts(paths: &Paths, f: &mut Vec<String>) {
    let stderr = std::fs::read(&paths.stderr_file).unwrap_or_default();
    let stderr_lines = lines_of(&stderr);
    if !stderr_lines.is_empty() {
        let mut msg = String::from("nginx stderr:");
        for l in stderr_lines.iter().take(20) {
            msg.push_str("\n    ");
            msg.push_str(&clip_line(l));
        }
        f.push(msg);
    }
    let log = lines_of(&std::fs::read(&paths.error_log).unwrap_or_default());
    if log.is_empty() {
        return;
    }
    let level = PerlRegex::new(b"\\[(warn|error|crit|alert|emerg)\\]".to_vec(), "");
    let important: Vec<&Vec<u8>> = log.iter().filter(|l| level.is_match(l).unwrap_or(false)).collect();
    if important.is_empty() {
        f.push(format!("error.log: {} lines, none at level warn or above", log.len()));
        return;
    }
    let mut msg =
        format!("error.log: {} of {} lines at level warn or above (last 20 shown):", important.len(), log.len());
    for l in important.iter().rev().take(20).rev() {
        msg.push_str("\n    ");
        msg.push_str(&clip_line(l));
    }
    f.push(msg);
}
