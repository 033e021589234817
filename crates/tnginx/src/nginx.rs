//! The nginx side: the server root directory, nginx.conf, and the nginx process.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// The server root ("prefix") of one test file: conf/, html/, logs/.
#[derive(Clone, Debug)]
pub struct Paths {
    pub root: PathBuf,
    pub conf_dir: PathBuf,
    pub html_dir: PathBuf,
    pub logs_dir: PathBuf,
    pub conf_file: PathBuf,
    pub error_log: PathBuf,
    pub pid_file: PathBuf,
    pub stderr_file: PathBuf,
}

impl Paths {
    pub fn new(root: PathBuf) -> Paths {
        let conf_dir = root.join("conf");
        let html_dir = root.join("html");
        let logs_dir = root.join("logs");
        Paths {
            conf_file: conf_dir.join("nginx.conf"),
            error_log: logs_dir.join("error.log"),
            pid_file: logs_dir.join("nginx.pid"),
            stderr_file: logs_dir.join("stderr.log"),
            root,
            conf_dir,
            html_dir,
            logs_dir,
        }
    }

    /// HUP mode: empties the server root but keeps what the running nginx holds (its pid file,
    /// unix sockets, certificates and stderr), as Test::Nginx does before a reload.
    pub fn clean_for_reload(&self) -> io::Result<()> {
        fn walk(dir: &Path) -> io::Result<()> {
            for e in fs::read_dir(dir)? {
                let p = e?.path();
                if p.is_dir() && !p.is_symlink() {
                    walk(&p)?;
                    continue;
                }
                let name = p.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
                let keep = name == "nginx.pid"
                    || name == "stderr.log"
                    || [".sock", ".crt", ".key"].iter().any(|x| name.ends_with(x));
                if !keep {
                    fs::remove_file(&p)?;
                }
            }
            Ok(())
        }
        if self.root.exists() {
            walk(&self.root)?;
        }
        for d in [&self.conf_dir, &self.html_dir, &self.logs_dir] {
            fs::create_dir_all(d)?;
        }
        fs::write(
            self.html_dir.join("index.html"),
            "<html><head><title>It works!</title></head><body>It works!</body></html>",
        )
    }

    /// Empties the server root and recreates its directories.
    pub fn reset(&self) -> io::Result<()> {
        if self.root.exists() {
            fs::remove_dir_all(&self.root)?;
        }
        for d in [&self.conf_dir, &self.html_dir, &self.logs_dir] {
            fs::create_dir_all(d)?;
        }
        fs::write(
            self.html_dir.join("index.html"),
            "<html><head><title>It works!</title></head><body>It works!</body></html>",
        )
    }
}

/// A file to create before nginx starts (`--- user_files`).
pub struct UserFile {
    pub name: String,
    pub body: Vec<u8>,
    /// `touch -t` timestamp, in GMT.
    pub date: Option<String>,
}

/// Parses the text form of `user_files`: `>>> name [date]` lines start files.
pub fn parse_user_files(text: &[u8]) -> Vec<UserFile> {
    let mut files: Vec<UserFile> = Vec::new();
    for line in text.split_inclusive(|&b| b == b'\n') {
        if let Some(rest) = line.strip_prefix(b">>> ") {
            let rest = String::from_utf8_lossy(rest).trim().to_string();
            let mut it = rest.splitn(2, char::is_whitespace);
            let name = it.next().unwrap_or("").to_string();
            if !name.is_empty() {
                let date = it.next().map(|d| d.trim().to_string()).filter(|d| !d.is_empty());
                files.push(UserFile { name, body: Vec::new(), date });
                continue;
            }
        }
        if let Some(f) = files.last_mut() {
            f.body.extend_from_slice(line);
        }
    }
    files
}

pub fn write_user_files(paths: &Paths, files: &[UserFile]) -> Result<(), String> {
    for f in files {
        let path = if f.name.starts_with('/') { PathBuf::from(&f.name) } else { paths.html_dir.join(&f.name) };
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir).map_err(|e| format!("user_files: cannot create {}: {}", dir.display(), e))?;
        }
        fs::write(&path, &f.body).map_err(|e| format!("user_files: cannot write {}: {}", path.display(), e))?;
        if let Some(date) = &f.date {
            let st = Command::new("touch").arg("-t").arg(date).arg(&path).env("TZ", "GMT").status();
            if !st.map(|s| s.success()).unwrap_or(false) {
                return Err(format!("user_files: touch -t {} {} failed", date, path.display()));
            }
        }
    }
    Ok(())
}

/// One `server {}` in the generated `stream {}` block.
pub struct StreamServer {
    pub port: u16,
    pub listen_options: String,
    pub config: Vec<u8>,
}

/// Everything nginx.conf is made of.
pub struct ConfSpec<'a> {
    pub title: String,
    pub modules: &'a [PathBuf],
    pub workers: u32,
    pub master_process: bool,
    pub error_log: String,
    pub log_level: String,
    pub pid_file: &'a Path,
    /// `env` lines before the main config (upstream has 7 fixed ones plus `env_to_nginx`).
    pub env_names: Vec<String>,
    /// `env` lines after the events block.
    pub late_env_names: Vec<String>,
    pub main_config: Vec<u8>,
    pub stream_config: Option<Vec<u8>>,
    pub servers: Vec<StreamServer>,
    pub post_main_config: Vec<u8>,
    pub worker_connections: u32,
    pub event_type: Option<String>,
    pub run_as_root: bool,
    /// HUP mode: an http server on this port answers `GET /ver` with this configuration
    /// version, so the runner can tell when the reloaded workers serve.
    pub version_server: Option<(u16, String)>,
}

fn push_line(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(s.as_bytes());
    out.push(b'\n');
}

/// Renders nginx.conf.  The line layout follows upstream Test::Nginx so that line numbers in
/// messages (`content_by_lua(nginx.conf:22)`, `... in nginx.conf:22`) come out the same: 15
/// lines of process settings (plus one per extra `env`), then on line 16 the `load_module`
/// directives, the test's main config and the stream block, then an (empty) http block and
/// the events block.
pub fn render_conf(c: &ConfSpec) -> Vec<u8> {
    let mut out = Vec::new();
    push_line(&mut out, &format!("worker_processes  {};", c.workers));
    push_line(&mut out, "daemon off;");
    push_line(&mut out, &format!("master_process {};", if c.master_process { "on" } else { "off" }));
    push_line(&mut out, &format!("error_log {} {};", c.error_log, c.log_level));
    push_line(&mut out, &format!("pid       {};", c.pid_file.display()));
    for name in &c.env_names {
        push_line(
            &mut out,
            &format!("env {};", if name.contains(char::is_whitespace) { format!("'{}'", name) } else { name.clone() }),
        );
    }
    push_line(&mut out, "# generated by crates/tnginx (the Test::Nginx runner of stream-lua-rs)");
    push_line(&mut out, &format!("# {}", c.title.replace('\n', " ")));
    out.push(b'\n');
    let mut main = Vec::new();
    for m in c.modules {
        main.extend_from_slice(format!("load_module {}; ", m.display()).as_bytes());
    }
    main.extend_from_slice(&c.main_config);
    if c.stream_config.is_some() || !c.servers.is_empty() {
        main.extend_from_slice(b"stream {\n");
        main.extend_from_slice(c.stream_config.as_deref().unwrap_or_default());
        main.push(b'\n');
        for s in &c.servers {
            let opts = s.listen_options.trim();
            main.extend_from_slice(
                format!("    server {{\n        listen 127.0.0.1:{} {};\n\n", s.port, opts).as_bytes(),
            );
            main.extend_from_slice(&s.config);
            main.extend_from_slice(b"\n    }\n");
        }
        main.extend_from_slice(b"}\n");
    }
    out.extend_from_slice(&main);
    // the version server shares the `access_log` line: line numbers stay as in the other mode
    let ver = match &c.version_server {
        Some((port, v)) => format!(
            " server {{ listen 127.0.0.1:{}; server_name 'Test-Nginx'; location = /ver {{ return 200 '{}'; }} }}",
            port, v
        ),
        None => String::new(),
    };
    push_line(&mut out, &format!("\nhttp {{\n    access_log off;{}\n}}\n", ver));
    out.extend_from_slice(&c.post_main_config);
    push_line(&mut out, "\nevents {");
    push_line(&mut out, "    accept_mutex off;");
    push_line(&mut out, &format!("    worker_connections  {};", c.worker_connections));
    if let Some(t) = &c.event_type {
        push_line(&mut out, &format!("    use {};", t));
    }
    push_line(&mut out, "}");
    for name in &c.late_env_names {
        push_line(&mut out, &format!("env {};", name));
    }
    if c.run_as_root {
        push_line(&mut out, "user root;");
    }
    out
}

/// A running nginx (the master, or the only process with `master_process off`), in its own
/// process group.
pub struct Nginx {
    child: Child,
    status: Option<ExitStatus>,
}

pub enum Startup {
    Ready,
    Exited(ExitStatus),
    TimedOut,
}

pub struct Stopped {
    pub status: ExitStatus,
    /// SIGQUIT did not end it in time; it was killed.
    pub forced: bool,
}

impl Nginx {
    /// Starts nginx; with a `wrapper` (valgrind and its options), nginx runs under it.
    pub fn start(
        binary: &Path,
        wrapper: &[String],
        paths: &Paths,
        env: &BTreeMap<String, String>,
        keep_stderr: bool,
    ) -> io::Result<Nginx> {
        let stderr = if keep_stderr { Stdio::from(fs::File::create(&paths.stderr_file)?) } else { Stdio::null() };
        let mut cmd = match wrapper.split_first() {
            Some((prog, args)) => {
                let mut c = Command::new(prog);
                c.args(args).arg(binary);
                c
            }
            None => Command::new(binary),
        };
        // SAFETY: prctl only affects the child being set up; nginx then dies with us (e.g. on
        // Ctrl-C) instead of lingering.
        #[cfg(target_os = "linux")]
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let child = cmd
            .arg("-p")
            .arg(format!("{}/", paths.root.display()))
            .arg("-c")
            .arg(&paths.conf_file)
            .arg("-e")
            .arg(&paths.error_log)
            .env_clear()
            .envs(env)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .process_group(0)
            .spawn()?;
        Ok(Nginx { child, status: None })
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// The exit status, if it has exited.
    pub fn poll(&mut self) -> Option<ExitStatus> {
        if self.status.is_none() {
            self.status = self.child.try_wait().ok().flatten();
        }
        self.status
    }

    /// Waits until the pid file shows nginx has read its configuration and bound its ports.
    pub fn wait_ready(&mut self, pid_file: &Path, timeout: Duration) -> Startup {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(st) = self.poll() {
                return Startup::Exited(st);
            }
            if fs::read_to_string(pid_file).map(|s| !s.trim().is_empty()).unwrap_or(false) {
                return Startup::Ready;
            }
            if Instant::now() > deadline {
                return Startup::TimedOut;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Sends a signal to the master (or the only process).
    pub fn signal(&self, sig: i32) {
        // SAFETY: kill(2) on our own child.
        unsafe {
            libc::kill(self.pid(), sig);
        }
    }

    /// Waits up to `timeout` for nginx to exit by itself.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(st) = self.poll() {
                return Some(st);
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn kill_group(&self, sig: i32) {
        // SAFETY: kill(2) on our own child's process group.
        unsafe {
            libc::kill(-self.pid(), sig);
        }
    }

    /// Graceful stop: SIGQUIT, then SIGKILL to the whole group after `grace`.
    pub fn stop(&mut self, grace: Duration) -> Stopped {
        if let Some(st) = self.poll() {
            self.kill_group(libc::SIGKILL);
            return Stopped { status: st, forced: false };
        }
        // SAFETY: signalling our own child.
        unsafe {
            libc::kill(self.pid(), libc::SIGQUIT);
        }
        if let Some(st) = self.wait_exit(grace) {
            // Reap anything left in the group (workers still shutting down).
            self.kill_group(libc::SIGKILL);
            return Stopped { status: st, forced: false };
        }
        self.kill_group(libc::SIGKILL);
        let st = self.child.wait().unwrap_or_else(|_| ExitStatus::from_raw(libc::SIGKILL));
        self.status = Some(st);
        Stopped { status: st, forced: true }
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        if self.poll().is_none() {
            self.kill_group(libc::SIGKILL);
            let _ = self.child.wait();
        }
    }
}

/// Describes an exit status; `Err` when it is a crash (a signal other than ones we sent).
pub fn describe_exit(st: ExitStatus) -> String {
    if let Some(sig) = st.signal() {
        let core = if st.core_dumped() { ", core dumped" } else { "" };
        format!("killed by signal {} ({}{})", sig, signal_name(sig), core)
    } else {
        format!("exit code {}", st.code().unwrap_or(-1))
    }
}

pub fn signal_name(sig: i32) -> &'static str {
    match sig {
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGABRT => "SIGABRT",
        libc::SIGBUS => "SIGBUS",
        libc::SIGFPE => "SIGFPE",
        libc::SIGILL => "SIGILL",
        libc::SIGKILL => "SIGKILL",
        libc::SIGTERM => "SIGTERM",
        libc::SIGQUIT => "SIGQUIT",
        libc::SIGINT => "SIGINT",
        libc::SIGPIPE => "SIGPIPE",
        libc::SIGTRAP => "SIGTRAP",
        _ => "?",
    }
}

/// The version from `nginx -V` as (major, minor, patch), and the OpenSSL version if built in.
/// nginx's (major, minor, patch) and OpenSSL's (major, minor, patch, letter).
type Versions = (Option<(u32, u32, u32)>, Option<(u32, u32, u32, Option<char>)>);

pub fn versions(binary: &Path) -> Versions {
    let out = match Command::new(binary).arg("-V").output() {
        Ok(o) => o,
        Err(_) => return (None, None),
    };
    let text = String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&out.stdout);
    let nginx = text.split("nginx/").nth(1).and_then(|r| parse_ver(r.split_whitespace().next().unwrap_or("")));
    let ssl = text.split("built with OpenSSL ").nth(1).and_then(|r| {
        let w = r.split_whitespace().next().unwrap_or("");
        let letter = w.chars().last().filter(|c| c.is_ascii_lowercase());
        parse_ver(w.trim_end_matches(|c: char| c.is_ascii_alphabetic())).map(|(a, b, c)| (a, b, c, letter))
    });
    (nginx, ssl)
}

pub fn parse_ver(s: &str) -> Option<(u32, u32, u32)> {
    let mut it = s.split('.').map(|p| p.trim_matches(|c: char| !c.is_ascii_digit()).parse::<u32>().ok());
    Some((it.next()??, it.next()??, it.next().flatten().unwrap_or(0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec<'a>(pid: &'a Path, version_server: Option<(u16, String)>) -> ConfSpec<'a> {
        ConfSpec {
            title: "t".into(),
            modules: &[],
            workers: 1,
            master_process: true,
            error_log: "logs/error.log".into(),
            log_level: "debug".into(),
            pid_file: pid,
            env_names: vec![],
            late_env_names: vec![],
            main_config: vec![],
            stream_config: Some(b"# s".to_vec()),
            servers: vec![],
            post_main_config: b"# post".to_vec(),
            worker_connections: 64,
            event_type: None,
            run_as_root: false,
            version_server,
        }
    }

    /// HUP mode's version server sits on the `access_log` line: no line moves.
    #[test]
    fn version_server_keeps_line_numbers() {
        let pid = PathBuf::from("/x/nginx.pid");
        let plain = String::from_utf8(render_conf(&spec(&pid, None))).unwrap();
        let hup = String::from_utf8(render_conf(&spec(&pid, Some((1234, "abcdefghij".into()))))).unwrap();
        assert_eq!(plain.lines().count(), hup.lines().count());
        let line = hup.lines().find(|l| l.contains("/ver")).unwrap();
        assert!(line.contains("access_log off;"), "{line}");
        assert!(line.contains("listen 127.0.0.1:1234;") && line.contains("return 200 'abcdefghij';"), "{line}");
        let post = |s: &str| s.lines().position(|l| l == "# post");
        assert_eq!(post(&plain), post(&hup));
    }

    /// A reload's cleanup keeps what the running nginx holds and removes the rest.
    #[test]
    fn clean_for_reload_keeps_pid_sockets_and_certs() {
        let root = std::env::temp_dir().join(format!("tnginx-clean-{}", std::process::id()));
        let p = Paths::new(root.clone());
        p.reset().unwrap();
        for f in ["logs/nginx.pid", "logs/error.log", "html/a.sock", "html/sub/x.crt", "html/x.key", "conf/nginx.conf"]
        {
            let path = root.join(f);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(&path, "x").unwrap();
        }
        p.clean_for_reload().unwrap();
        for (f, kept) in [
            ("logs/nginx.pid", true),
            ("html/a.sock", true),
            ("html/sub/x.crt", true),
            ("html/x.key", true),
            ("logs/error.log", false),
            ("conf/nginx.conf", false),
            ("html/index.html", true),
        ] {
            assert_eq!(root.join(f).exists(), kept, "{f}");
        }
        let _ = fs::remove_dir_all(&root);
    }
}
