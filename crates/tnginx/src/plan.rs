//! From a block's evaluated sections to a `Plan`: what Test::Nginx::Socket::Lua::Stream would
//! configure, send and check.

use crate::checks::{patterns_of, Pattern};
use crate::exec::{self, BlockEnv};
use crate::perl::{PerlRegex, Value};
use crate::runner::{Config, FileSettings};
use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::Duration;

/// Read access to a block's evaluated sections.
pub struct SectionView {
    pub map: BTreeMap<String, Value>,
}

impl SectionView {
    pub fn has(&self, name: &str) -> bool {
        self.map.get(name).is_some_and(|v| !v.is_undef())
    }

    pub fn get(&self, name: &str) -> Option<&Value> {
        self.map.get(name).filter(|v| !v.is_undef())
    }

    /// The section as text; an array yields its first element (one request per block).
    pub fn text(&self, name: &str) -> Option<Vec<u8>> {
        match self.get(name)? {
            Value::Array(a) => a.borrow().first().map(|v| v.to_bytes()),
            v => Some(v.to_bytes()),
        }
    }

    pub fn seconds(&self, name: &str) -> Result<Option<f64>, String> {
        match self.text(name) {
            None => Ok(None),
            Some(t) => parse_time(&String::from_utf8_lossy(&t))
                .map(Some)
                .ok_or_else(|| format!("--- {}: bad time value", name)),
        }
    }
}

/// `3`, `0.5`, `100ms`, `2s`.
pub fn parse_time(s: &str) -> Option<f64> {
    let s = s.trim();
    if let Some(ms) = s.strip_suffix("ms") {
        return ms.trim().parse::<f64>().ok().map(|v| v / 1000.0);
    }
    s.strip_suffix('s').unwrap_or(s).trim().parse().ok()
}

pub enum Expect {
    Exact(Vec<u8>),
    Like(Rc<PerlRegex>),
}

pub struct TcpMockPlan {
    pub spec: crate::client::TcpMockSpec,
    pub query: Option<Value>,
    pub query_len: Option<usize>,
}

pub struct UdpMockPlan {
    pub spec: crate::client::UdpMockSpec,
    pub query: Option<Value>,
}

/// What to configure, send and check for one block.
pub struct Plan {
    /// HUP mode for this block: reload the file's running nginx instead of starting one
    /// (TEST_NGINX_USE_HUP or the file's `use_hup()`; never for a block that must die).
    pub hup: bool,
    /// `$TEST_NGINX_SERVER_PORT`: the http port (HUP mode's version server).
    pub server_port: u16,
    pub main_config: Vec<u8>,
    pub stream_config: Option<Vec<u8>>,
    pub servers: Vec<(crate::nginx::StreamServer, Option<Vec<u8>>)>,
    pub post_main_config: Vec<u8>,
    pub expect: Option<Expect>,
    pub log_stream_response: bool,
    pub error_log: Vec<Pattern>,
    pub no_error_log: Vec<Pattern>,
    pub grep: Option<(Value, Value)>,
    pub shutdown_error_log: Vec<Pattern>,
    pub no_shutdown_error_log: Vec<Pattern>,
    pub timeout: Duration,
    pub abort: bool,
    pub wait: Duration,
    pub log_level: String,
    pub error_log_target: Option<String>,
    pub user_files: Vec<crate::nginx::UserFile>,
    pub must_die: Option<Option<i32>>,
    pub repeat: usize,
    pub shutdown: Option<i32>,
    /// Misbehaviour of the first conversation's client (`crate::abuse`).
    pub abuse: crate::abuse::Abuse,
    pub tcp_mock: Option<TcpMockPlan>,
    pub udp_mock: Option<UdpMockPlan>,
    pub keep_stderr: bool,
    pub workers: u32,
    pub master_process: bool,
    pub worker_connections: u32,
    pub accumulate_error_log: bool,
    pub env_to_nginx: Vec<String>,
}

impl Plan {
    /// Regexes of the plan that cannot be compiled.
    pub fn regex_problems(&self) -> Vec<String> {
        let mut res: Vec<Rc<PerlRegex>> = Vec::new();
        for p in self
            .error_log
            .iter()
            .chain(&self.no_error_log)
            .chain(&self.shutdown_error_log)
            .chain(&self.no_shutdown_error_log)
        {
            if let Pattern::Re(r) = p {
                res.push(r.clone());
            }
        }
        if let Some(Expect::Like(r)) = &self.expect {
            res.push(r.clone());
        }
        let mut values: Vec<Value> = Vec::new();
        if let Some((a, b)) = &self.grep {
            values.push(a.clone());
            values.push(b.clone());
        }
        for v in values {
            match v {
                Value::Regex(r) => res.push(r),
                Value::Array(a) => res.extend(a.borrow().iter().filter_map(|x| {
                    if let Value::Regex(r) = x {
                        Some(r.clone())
                    } else {
                        None
                    }
                })),
                _ => {}
            }
        }
        res.iter().filter_map(|r| r.compile_error()).collect()
    }
}

pub fn build_plan(
    sec: &SectionView,
    fs: &FileSettings,
    cfg: &Config,
    base_port: u16,
    mut benv: BlockEnv,
) -> Result<Plan, String> {
    let mut expand = |t: Vec<u8>| exec::expand_env(&t, &mut benv);
    let stream_port = base_port + 1;
    let mut servers = Vec::new();
    let names = [
        ("stream_server_config", "steam_listen_option", "stream_request"),
        ("stream_server_config2", "steam_listen_option2", "stream_request2"),
        ("stream_server_config3", "steam_listen_option3", "stream_request3"),
    ];
    let has_stream = sec.has("stream_server_config") || sec.has("stream_config");
    for (i, (conf, opt, req)) in names.iter().enumerate() {
        let config = match sec.text(conf) {
            Some(c) => c,
            None if i == 0 && has_stream => Vec::new(),
            None => continue,
        };
        let listen_options = String::from_utf8_lossy(&sec.text(opt).unwrap_or_default()).trim().to_string();
        let server =
            crate::nginx::StreamServer { port: stream_port + i as u16, listen_options, config: expand(config)? };
        servers.push((server, sec.text(req)));
    }
    let expect = response_expectation(sec, base_port, &mut expand)?;
    let grep = match (sec.get("grep_error_log"), sec.get("grep_error_log_out")) {
        (Some(p), Some(o)) => Some((p.clone(), expand_value(o, &mut expand)?)),
        (None, None) => None,
        _ => return Err("grep_error_log and grep_error_log_out must be given together".into()),
    };
    let must_die = if sec.get("must_die").is_some() {
        let t = String::from_utf8_lossy(&sec.text("must_die").unwrap_or_default()).trim().to_string();
        Some(t.parse::<i32>().ok())
    } else {
        None
    };
    let user_files = match sec.get("user_files") {
        None => vec![],
        Some(Value::Array(a)) => {
            let mut files = Vec::new();
            for f in a.borrow().iter() {
                let Value::Array(parts) = f else {
                    return Err("user_files array entries must be [name, body, date?]".into());
                };
                let p = parts.borrow();
                let name = p.first().map(|v| v.to_string_lossy()).unwrap_or_default();
                let body = expand(p.get(1).map(|v| v.to_bytes()).unwrap_or_default())?;
                let date = p.get(2).filter(|v| !v.is_undef()).map(|v| v.to_string_lossy());
                files.push(crate::nginx::UserFile { name, body, date });
            }
            files
        }
        Some(v) => {
            let mut files = crate::nginx::parse_user_files(&v.to_bytes());
            for f in &mut files {
                f.body = expand(std::mem::take(&mut f.body))?;
            }
            files
        }
    };
    let tcp_mock = match sec.text("tcp_listen") {
        None => None,
        Some(t) => {
            let target = String::from_utf8_lossy(&expand(t)?).trim().to_string();
            let reply = match sec.get("tcp_reply") {
                None => vec![],
                Some(Value::Array(a)) => a.borrow().iter().map(|v| v.to_bytes()).collect(),
                Some(Value::Code(_)) => return Err("--- tcp_reply given as Perl code is not supported".into()),
                Some(v) => vec![v.to_bytes()],
            };
            if reply.is_empty() && !sec.has("tcp_shutdown") && !sec.has("tcp_reply") {
                return Err("--- tcp_listen needs --- tcp_reply".into());
            }
            let query = sec.get("tcp_query").cloned();
            let query_len = match sec.text("tcp_query_len") {
                Some(l) => Some(String::from_utf8_lossy(&l).trim().parse::<usize>().map_err(|_| "bad tcp_query_len")?),
                None => None,
            };
            let read_len = query_len.or(match &query {
                Some(Value::Str(s)) => Some(s.len()),
                _ => None,
            });
            let auto_timeout = if sec.map.contains_key("tcp_query_auto_timeout") {
                Some(Duration::from_secs_f64(sec.seconds("tcp_query_auto_timeout")?.unwrap_or(0.1)))
            } else {
                None
            };
            let shutdown =
                sec.text("tcp_shutdown").map(|t| String::from_utf8_lossy(&t).trim().parse::<i32>().unwrap_or(1));
            Some(TcpMockPlan {
                spec: crate::client::TcpMockSpec {
                    target,
                    query_len: read_len,
                    auto_timeout,
                    shutdown,
                    shutdown_delay: Duration::from_secs_f64(sec.seconds("tcp_shutdown_delay")?.unwrap_or(0.0)),
                    reply_delay: Duration::from_secs_f64(sec.seconds("tcp_reply_delay")?.unwrap_or(0.0)),
                    reply,
                    no_close: sec.has("tcp_no_close"),
                },
                query,
                query_len,
            })
        }
    };
    let udp_mock = match sec.text("udp_listen") {
        None => None,
        Some(t) => {
            let target = String::from_utf8_lossy(&expand(t)?).trim().to_string();
            let reply = match sec.get("udp_reply") {
                None => return Err("--- udp_listen needs --- udp_reply".into()),
                Some(Value::Array(a)) => a.borrow().iter().map(|v| v.to_bytes()).collect(),
                Some(Value::Code(_)) => return Err("--- udp_reply given as Perl code is not supported".into()),
                Some(v) => vec![v.to_bytes()],
            };
            Some(UdpMockPlan {
                spec: crate::client::UdpMockSpec {
                    target,
                    reply_delay: Duration::from_secs_f64(sec.seconds("udp_reply_delay")?.unwrap_or(0.0)),
                    reply,
                },
                query: sec.get("udp_query").cloned(),
            })
        }
    };
    let log_level = match sec.text("log_level") {
        Some(l) => String::from_utf8_lossy(&l).trim().to_string(),
        None => fs.log_level.clone().unwrap_or_else(|| cfg.log_level.clone()),
    };
    let error_log_target = match sec.text("error_log_file") {
        Some(t) => Some(String::from_utf8_lossy(&expand(t)?).trim().to_string()),
        None => None,
    };
    let shutdown =
        sec.get("shutdown").map(|v| String::from_utf8_lossy(&v.to_bytes()).trim().parse::<i32>().unwrap_or(1));
    let hup = (cfg.use_hup || fs.use_hup) && must_die.is_none();
    Ok(Plan {
        hup,
        server_port: base_port,
        main_config: expand(sec.text("main_config").unwrap_or_default())?,
        stream_config: crate::resty_core::apply(
            match sec.text("stream_config") {
                Some(c) => Some(expand(c)?),
                None => None,
            },
            !servers.is_empty(),
        ),
        servers,
        post_main_config: expand(sec.text("post_main_config").unwrap_or_default())?,
        expect,
        log_stream_response: sec.map.contains_key("log_stream_response"),
        error_log: sec.get("error_log").map(patterns_of).unwrap_or_default(),
        no_error_log: sec.get("no_error_log").map(patterns_of).unwrap_or_default(),
        grep,
        shutdown_error_log: sec.get("shutdown_error_log").map(patterns_of).unwrap_or_default(),
        no_shutdown_error_log: sec.get("no_shutdown_error_log").map(patterns_of).unwrap_or_default(),
        // valgrind runs everything 10-50 times slower: extra time, as Test::Nginx gives
        timeout: Duration::from_secs_f64(
            sec.seconds("timeout")?.unwrap_or(cfg.timeout) + if cfg.valgrind.is_some() { 10.0 } else { 0.0 },
        ),
        abort: sec.map.contains_key("abort"),
        wait: Duration::from_secs_f64(sec.seconds("wait")?.unwrap_or(0.0)),
        log_level,
        error_log_target,
        user_files,
        must_die,
        repeat: fs.repeat_each.max(1),
        shutdown,
        abuse: crate::abuse::parse(sec)?,
        tcp_mock,
        udp_mock,
        keep_stderr: !sec.map.contains_key("suppress_stderr"),
        workers: fs.workers,
        // HUP mode runs a master (reloads need one), except for blocks that must die
        master_process: hup || cfg.master_override.unwrap_or(fs.master_process),
        worker_connections: fs.worker_connections,
        accumulate_error_log: fs.accumulate_error_log,
        env_to_nginx: fs.env_to_nginx.clone(),
    })
}

fn expand_value(v: &Value, expand: &mut dyn FnMut(Vec<u8>) -> Result<Vec<u8>, String>) -> Result<Value, String> {
    Ok(match v {
        Value::Str(s) => Value::Str(expand(s.clone())?),
        Value::Array(a) => {
            let mut out = Vec::new();
            for x in a.borrow().iter() {
                out.push(expand_value(x, expand)?);
            }
            Value::array(out)
        }
        other => other.clone(),
    })
}

/// `stream_response` (or its alias `response_body`) and `stream_response_like`.
fn response_expectation(
    sec: &SectionView,
    http_port: u16,
    expand: &mut dyn FnMut(Vec<u8>) -> Result<Vec<u8>, String>,
) -> Result<Option<Expect>, String> {
    // Test::Nginx substitutes these Perl-variable names in expected bodies.
    let ports = |t: Vec<u8>| -> Vec<u8> {
        let s = String::from_utf8_lossy(&t).to_string();
        if !s.contains("$ServerPort") {
            return t;
        }
        let re = regex::Regex::new(r"\$ServerPort(ForClient)?\b").unwrap();
        re.replace_all(&s, http_port.to_string().as_str()).into_owned().into_bytes()
    };
    let exact = match (sec.get("stream_response"), sec.get("response_body")) {
        (Some(_), Some(_)) => return Err("conflicting stream_response and response_body sections".into()),
        (a, b) => a.or(b),
    };
    let like = match (sec.get("stream_response_like"), sec.get("response_body_like")) {
        (Some(_), Some(_)) => return Err("conflicting stream_response_like and response_body_like sections".into()),
        (a, b) => a.or(b),
    };
    // Upstream checks the exact form when both are given.
    if let Some(v) = exact {
        let v = match v {
            Value::Array(a) => a.borrow().first().cloned().unwrap_or(Value::Undef),
            v => v.clone(),
        };
        return Ok(Some(match v {
            Value::Regex(r) => Expect::Like(r),
            v => Expect::Exact(expand(ports(v.to_bytes()))?),
        }));
    }
    if let Some(v) = like {
        let v = match v {
            Value::Array(a) => a.borrow().first().cloned().unwrap_or(Value::Undef),
            v => v.clone(),
        };
        return Ok(Some(Expect::Like(match v {
            Value::Regex(r) => r,
            v => Rc::new(PerlRegex::new(ports(v.to_bytes()), "s")),
        })));
    }
    Ok(None)
}
