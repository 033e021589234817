//! `cargo test --release --test t`: runs Test::Nginx-format files (`t/*.t`) against our nginx
//! and stream Lua module, without Perl.
//!
//! Environment:
//!   TEST_NGINX_BINARY        nginx to run (default: build/nginx/objs/nginx)
//!   TEST_NGINX_LOAD_MODULES  space-separated .so files to load_module; empty for none
//!                            (default: target/release/libngx_stream_lua_module.so, else debug)
//!   TEST_NGINX_FILES         space-separated test files or directories (default: t/)
//!   TEST_NGINX_JOBS          files run in parallel (default 1)
//!   TEST_NGINX_REPEAT_EACH   overrides repeat_each()
//!   TEST_NGINX_TIMEOUT       default client timeout in seconds (default 3)
//!   TEST_NGINX_LOG_LEVEL     default error_log level (default debug)
//!   TEST_NGINX_USE_VALGRIND=1  run nginx under valgrind (memcheck, --leak-check=full, with
//!                            t/valgrind.suppress); a block fails on invalid reads/writes/frees,
//!                            uninitialised values and definitely lost blocks whose stack
//!                            passes through a loaded module (.so); other valgrind errors are
//!                            notes; reports are read when a block stops its nginx (so not
//!                            with TEST_NGINX_USE_HUP).  Build the module with
//!                            scripts/build-valgrind.sh and pass it in TEST_NGINX_LOAD_MODULES;
//!                            TEST_NGINX_VALGRIND_OPTS adds valgrind options.
//!   TEST_NGINX_MASTER_PROCESS  on/off, overrides the files' choice (default off, as upstream)
//!   TEST_NGINX_VERBOSE       print where each generated nginx.conf is
//!   TEST_NGINX_USE_HUP=1     keep one nginx (with a master) per file and reload it with
//!                            SIGHUP between blocks instead of restarting it, as Test::Nginx
//!                            does; blocks with `--- must_die` still start their own nginx,
//!                            `--- shutdown_error_log` is not checked in this mode
//!   TEST_NGINX_RESTY_CORE    lua-resty-core (and lrucache) `lib` dirs, `:`-separated: load them
//!   TNGINX_SELF_TEST=1       run the runner's own unit checks instead of tests
//!   TNGINX_LINT=1            only check that the selected files parse and evaluate
//! Arguments after `--`: files or directories (`t/002-content.t`, `t/002-content.t:3` for
//! TEST 3 only); other words filter blocks by substring of "file TEST n: name".

pub mod abuse;
pub mod checks;
pub mod client;
pub mod exec;
pub mod host;
pub mod nginx;
pub mod perl;
pub mod plan;
pub mod ports;
pub mod resty_core;
pub mod runner;
pub mod selftest;
pub mod spec;
pub mod valgrind;

use runner::{BlockReport, Config, Outcome};
use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Instant;

/// A file to run, with the TEST numbers selected (empty: all).
struct FileSel {
    rel: String,
    only: Vec<usize>,
}

fn env_nonempty(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|s| !s.trim().is_empty())
}

fn relative_to(repo: &Path, p: &Path) -> String {
    let abs = if p.is_absolute() { p.to_path_buf() } else { repo.join(p) };
    abs.strip_prefix(repo).map(|r| r.to_path_buf()).unwrap_or(abs).display().to_string()
}

fn collect_dir(repo: &Path, dir: &Path, out: &mut Vec<FileSel>) {
    let mut entries: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(rd) => rd.filter_map(|e| e.ok().map(|e| e.path())).collect(),
        Err(_) => return,
    };
    entries.sort();
    for p in entries {
        if p.is_dir() {
            collect_dir(repo, &p, out);
        } else if p.extension().is_some_and(|e| e == "t") {
            out.push(FileSel { rel: relative_to(repo, &p), only: vec![] });
        }
    }
}

fn looks_like_path(repo: &Path, a: &str) -> bool {
    let base = a.split(':').next().unwrap_or(a);
    base.ends_with(".t") || repo.join(base).exists() && (base.contains('/') || base.ends_with(".t"))
}

const LIBTEST_VALUE_OPTIONS: &[&str] =
    &["--test-threads", "--skip", "--format", "--color", "--logfile", "-Z", "--shuffle-seed"];

/// Merges repeated mentions of a file (one server root per file).
fn dedup(files: Vec<FileSel>) -> Vec<FileSel> {
    let mut out: Vec<FileSel> = Vec::new();
    for f in files {
        match out.iter_mut().find(|o| o.rel == f.rel) {
            Some(o) if o.only.is_empty() || f.only.is_empty() => o.only.clear(),
            Some(o) => o.only.extend(f.only),
            None => out.push(f),
        }
    }
    out
}

/// Files from arguments, else TEST_NGINX_FILES, else t/.  Non-path words become filters.
fn select_files(repo: &Path, args: &[String]) -> (Vec<FileSel>, Vec<String>) {
    let mut filters = Vec::new();
    let mut specs = Vec::new();
    let mut args = args.iter();
    while let Some(a) = args.next() {
        if a.starts_with('-') {
            // libtest options cargo may pass along; some take a value.
            if LIBTEST_VALUE_OPTIONS.contains(&a.as_str()) {
                args.next();
            }
            continue;
        }
        if looks_like_path(repo, a) {
            specs.push(a.clone());
        } else {
            filters.push(a.clone());
        }
    }
    if specs.is_empty() {
        if let Some(list) = env_nonempty("TEST_NGINX_FILES") {
            specs = list.split_whitespace().map(String::from).collect();
        }
    }
    let mut out = Vec::new();
    if specs.is_empty() {
        collect_dir(repo, &repo.join("t"), &mut out);
    }
    for s in specs {
        let (path, only) = match s.rsplit_once(':') {
            Some((p, n)) if n.split(',').all(|x| x.parse::<usize>().is_ok()) => {
                (p.to_string(), n.split(',').map(|x| x.parse().unwrap()).collect())
            }
            _ => (s.clone(), vec![]),
        };
        let full = if Path::new(&path).is_absolute() { PathBuf::from(&path) } else { repo.join(&path) };
        if full.is_dir() {
            collect_dir(repo, &full, &mut out);
        } else {
            out.push(FileSel { rel: relative_to(repo, &full), only });
        }
    }
    (out, filters)
}

fn find_modules(repo: &Path) -> Result<Vec<PathBuf>, String> {
    if let Ok(list) = std::env::var("TEST_NGINX_LOAD_MODULES") {
        let mods: Vec<PathBuf> = list
            .split_whitespace()
            .map(|m| if Path::new(m).is_absolute() { PathBuf::from(m) } else { repo.join(m) })
            .collect();
        for m in &mods {
            if !m.is_file() {
                return Err(format!("module {} (from TEST_NGINX_LOAD_MODULES) does not exist", m.display()));
            }
        }
        return Ok(mods);
    }
    let name = "libngx_stream_lua_module.so";
    let target = env_nonempty("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| repo.join("target"));
    for profile in ["release", "debug"] {
        let p = target.join(profile).join(name);
        if p.is_file() {
            warn_if_stale(repo, &p);
            return Ok(vec![p]);
        }
    }
    Err(format!(
        "the stream Lua module was not found at {}/{{release,debug}}/{}; build it with `cargo build --release`, \
         or set TEST_NGINX_LOAD_MODULES (empty for none)",
        target.display(),
        name
    ))
}

fn newest_mtime(p: &Path) -> Option<std::time::SystemTime> {
    let meta = std::fs::metadata(p).ok()?;
    if !meta.is_dir() {
        return meta.modified().ok();
    }
    std::fs::read_dir(p).ok()?.filter_map(|e| e.ok()).filter_map(|e| newest_mtime(&e.path())).max()
}

/// `cargo test` does not rebuild the cdylib: say so when it is older than the sources.
fn warn_if_stale(repo: &Path, module: &Path) {
    let built = std::fs::metadata(module).and_then(|m| m.modified()).ok();
    let sources = ["src", "build.rs", "Cargo.toml"].iter().filter_map(|s| newest_mtime(&repo.join(s))).max();
    if let (Some(b), Some(s)) = (built, sources) {
        if s > b {
            println!("# WARNING: {} is older than the sources; run `cargo build --release` first", module.display());
        }
    }
}

fn build_config(repo: &Path) -> Result<Config, String> {
    let nginx =
        env_nonempty("TEST_NGINX_BINARY").map(PathBuf::from).unwrap_or_else(|| repo.join("build/nginx/objs/nginx"));
    if !nginx.is_file() {
        return Err(format!(
            "nginx binary {} does not exist; run scripts/setup.sh to build it, or set TEST_NGINX_BINARY",
            nginx.display()
        ));
    }
    let modules = find_modules(repo)?;
    let (nginx_version, openssl_version) = nginx::versions(&nginx);
    let timeout = env_nonempty("TEST_NGINX_TIMEOUT").and_then(|t| plan::parse_time(&t)).unwrap_or(3.0);
    let master_override = env_nonempty("TEST_NGINX_MASTER_PROCESS").map(|v| matches!(v.as_str(), "on" | "1" | "yes"));
    Ok(Config {
        repo: repo.to_path_buf(),
        nginx,
        modules,
        work_dir: env_nonempty("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| repo.join("target"))
            .join("tnginx"),
        nginx_version,
        openssl_version,
        timeout,
        repeat_override: env_nonempty("TEST_NGINX_REPEAT_EACH").and_then(|r| r.trim().parse().ok()),
        log_level: env_nonempty("TEST_NGINX_LOG_LEVEL").unwrap_or_else(|| "debug".into()),
        master_override,
        verbose: env_nonempty("TEST_NGINX_VERBOSE").is_some_and(|v| v != "0"),
        use_hup: env_nonempty("TEST_NGINX_USE_HUP").is_some_and(|v| v != "0"),
        valgrind: env_nonempty("TEST_NGINX_USE_VALGRIND")
            .filter(|v| v != "0")
            .map(|_| Some(repo.join("t/valgrind.suppress")).filter(|p| p.is_file())),
    })
}

/// TNGINX_LINT=1: evaluates every block's sections and regexes without starting nginx.
fn lint(repo: &Path, files: &[FileSel]) -> i32 {
    let cfg = Config {
        repo: repo.to_path_buf(),
        nginx: PathBuf::new(),
        modules: vec![],
        work_dir: std::env::temp_dir().join("tnginx-lint"),
        nginx_version: Some((1, 28, 0)),
        openssl_version: Some((3, 0, 0, None)),
        timeout: 3.0,
        repeat_override: None,
        log_level: "debug".into(),
        master_override: None,
        verbose: false,
        use_hup: false,
        valgrind: None,
    };
    let mut n = 0;
    for f in files {
        for p in runner::lint_file(&cfg, &f.rel) {
            n += 1;
            println!("{}", p);
        }
    }
    println!("lint: {} files, {} problems", files.len(), n);
    (n > 0) as i32
}

#[derive(Default)]
struct Tally {
    n: usize,
    passed: usize,
    failed: usize,
    skipped: usize,
    todo: usize,
    failed_names: Vec<String>,
}

fn print_indented(out: &mut String, text: &str) {
    for l in text.lines() {
        out.push_str("#     ");
        out.push_str(l);
        out.push('\n');
    }
}

impl Tally {
    fn record(&mut self, r: BlockReport) {
        self.n += 1;
        let title = format!("{} {}", r.file, r.name);
        let mut out = String::new();
        match &r.outcome {
            Outcome::Pass => {
                self.passed += 1;
                out.push_str(&format!("test {} ... ok", title));
                if let Some(t) = &r.todo {
                    out.push_str(&format!(" (todo passed: {})", t));
                }
                out.push('\n');
            }
            Outcome::Skip(why) => {
                self.skipped += 1;
                out.push_str(&format!("test {} ... ignored, {}\n", title, why));
            }
            Outcome::Fail(msgs) => {
                out.push_str(&format!("test {} ... ", title));
                if let Some(t) = &r.todo {
                    self.todo += 1;
                    out.push_str(&format!("FAILED (todo: {})", t));
                } else {
                    self.failed += 1;
                    out.push_str("FAILED");
                    self.failed_names.push(if r.line > 0 {
                        format!("{} (line {})", title, r.line)
                    } else {
                        title.clone()
                    });
                }
                out.push('\n');
                if r.line > 0 {
                    out.push_str(&format!("#   at {} line {}\n", r.file, r.line));
                }
                for m in msgs {
                    print_indented(&mut out, m);
                }
            }
        }
        for n in &r.notes {
            out.push_str(&format!("#   note: {}\n", n));
        }
        print!("{}", out);
        use std::io::Write;
        let _ = std::io::stdout().flush();
    }
}

fn count_blocks(repo: &Path, files: &[FileSel], filters: &[String]) -> usize {
    files
        .iter()
        .map(|f| {
            let Ok(text) = std::fs::read(repo.join(&f.rel)) else {
                return 1;
            };
            spec::parse_spec(&text)
                .blocks
                .iter()
                .filter(|b| f.only.is_empty() || f.only.contains(&b.number))
                .filter(|b| {
                    let title = format!("{} {}", f.rel, b.name);
                    filters.iter().all(|x| title.contains(x.as_str()))
                })
                .count()
        })
        .sum()
}

/// The runner's command line: `repo` is the checkout holding `t/`, `build/` and `target/`.
pub fn main(repo: &Path) {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if env_nonempty("TNGINX_SELF_TEST").is_some_and(|v| v != "0") || args.iter().any(|a| a == "--self-test") {
        std::process::exit(selftest::run());
    }
    let repo = repo.to_path_buf();
    let (files, filters) = select_files(&repo, &args);
    let files = dedup(files);
    if args.iter().any(|a| a == "--list") {
        for f in &files {
            println!("{}: test", f.rel);
        }
        return;
    }
    if files.is_empty() {
        println!("t: no test files found under {}/t (set TEST_NGINX_FILES or pass paths after --)", repo.display());
        return;
    }
    if env_nonempty("TNGINX_LINT").is_some_and(|v| v != "0") {
        std::process::exit(lint(&repo, &files));
    }
    let cfg = match build_config(&repo) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("t: cannot run the nginx tests: {}", e);
            std::process::exit(1);
        }
    };
    println!(
        "# nginx: {}\n# modules: {}\n# files: {}",
        cfg.nginx.display(),
        if cfg.modules.is_empty() {
            "(none)".to_string()
        } else {
            cfg.modules.iter().map(|m| m.display().to_string()).collect::<Vec<_>>().join(" ")
        },
        files.len()
    );
    // libtest's header and summary lines, so that cargo users and CI log readers see the
    // familiar shape; the count is of the blocks the selection names.
    println!("\nrunning {} tests", count_blocks(&repo, &files, &filters));
    let started = Instant::now();
    let jobs = env_nonempty("TEST_NGINX_JOBS").and_then(|j| j.trim().parse::<usize>().ok()).unwrap_or(1).max(1);
    let queue = Mutex::new(files.into_iter().collect::<VecDeque<FileSel>>());
    let tally = Mutex::new(Tally::default());
    let nfiles = queue.lock().unwrap().len();
    std::thread::scope(|scope| {
        for _ in 0..jobs.min(nfiles) {
            scope.spawn(|| loop {
                let Some(sel) = queue.lock().unwrap().pop_front() else {
                    return;
                };
                let mut sink = |r: BlockReport| tally.lock().unwrap().record(r);
                runner::run_file(&cfg, &sel.rel, &sel.only, &filters, &mut sink);
            });
        }
    });
    let t = tally.into_inner().unwrap();
    if !t.failed_names.is_empty() {
        println!("# failed:");
        for n in &t.failed_names {
            println!("#   {}", n);
        }
    }
    let todo = if t.todo > 0 { format!(", {} todo", t.todo) } else { String::new() };
    println!(
        "\ntest result: {}. {} passed; {} failed; {} ignored; 0 measured; 0 filtered out; \
         finished in {:.2}s ({} files{})\n",
        if t.failed > 0 { "FAILED" } else { "ok" },
        t.passed,
        t.failed,
        t.skipped,
        started.elapsed().as_secs_f64(),
        nfiles,
        todo,
    );
    if t.failed > 0 {
        std::process::exit(1);
    }
}

#[cfg(test)]
mod tests {
    /// The runner's own checks (the data format, the Perl subset, regexes, helpers).
    #[test]
    fn self_test() {
        assert_eq!(super::selftest::run(), 0);
    }
}
