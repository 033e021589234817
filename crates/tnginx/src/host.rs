//! The Test::Nginx functions a file's preamble may call (`repeat_each`, `log_level`,
//! `add_block_preprocessor`, `html_dir`, ...), recorded into `FileSettings`.

use crate::nginx::Paths;
use crate::perl::{Interp, Value};
use crate::runner::FileSettings;
use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::rc::Rc;

/// Installs the Test::Nginx functions a preamble may call.
pub fn install_host(
    interp: &mut Interp,
    settings: Rc<RefCell<FileSettings>>,
    paths: &Paths,
    repo: PathBuf,
    nblocks: usize,
    version: Option<(u32, u32, u32)>,
) {
    let html = paths.html_dir.display().to_string();
    let root = paths.root.display().to_string();
    interp.host_subs = vec!["read_file"];
    interp.set_host(Box::new(move |name, args| {
        let mut s = settings.borrow_mut();
        let first = args.first().cloned().unwrap_or(Value::Undef);
        let num = |v: &Value| v.to_num();
        let r = match name {
            "repeat_each" => {
                if !args.is_empty() {
                    s.repeat_each = num(&first).max(1.0) as usize;
                }
                Value::Num(s.repeat_each as f64)
            }
            "log_level" => {
                if !args.is_empty() {
                    s.log_level = Some(first.to_string_lossy());
                }
                Value::str(s.log_level.clone().unwrap_or_else(|| "debug".into()))
            }
            "workers" => {
                if !args.is_empty() {
                    s.workers = num(&first).max(1.0) as u32;
                }
                Value::Num(s.workers as f64)
            }
            "worker_connections" => {
                if !args.is_empty() {
                    s.worker_connections = num(&first).max(1.0) as u32;
                }
                Value::Num(s.worker_connections as f64)
            }
            "use_hup" => {
                s.use_hup = true;
                Value::Undef
            }
            "master_on" => {
                s.master_process = true;
                Value::Undef
            }
            "master_off" => {
                s.master_process = false;
                Value::Undef
            }
            "master_process_enabled" => {
                if !args.is_empty() {
                    s.master_process = first.truthy();
                }
                Value::str(if s.master_process { "on" } else { "off" })
            }
            "check_accum_error_log" => {
                s.accumulate_error_log = true;
                Value::Undef
            }
            "env_to_nginx" => {
                s.env_to_nginx.extend(args.iter().map(|a| a.to_string_lossy()));
                Value::Undef
            }
            "add_block_preprocessor" => {
                // Test::Nginx unshifts: the last registered runs first.
                s.preprocessors.insert(0, first);
                Value::Undef
            }
            "plan" => {
                if first.to_bytes() == b"skip_all" {
                    s.skip_all = Some(args.get(1).map(|v| v.to_string_lossy()).unwrap_or_default());
                }
                Value::Undef
            }
            "blocks" => Value::Num(nblocks as f64),
            "html_dir" => Value::str(&html),
            "server_root" => Value::str(&root),
            "server_addr" => Value::str("127.0.0.1"),
            "server_port" | "server_port_for_client" => {
                Value::str(std::env::var("TEST_NGINX_SERVER_PORT").unwrap_or_else(|_| "1984".into()))
            }
            "timeout" => Value::Num(3.0),
            "read_file" => {
                let p = first.to_string_lossy();
                let path = if Path::new(&p).is_absolute() { PathBuf::from(&p) } else { repo.join(&p) };
                match std::fs::read(&path) {
                    Ok(b) => Value::Str(b),
                    Err(e) => return Some(Err(format!("cannot open {}: {}", path.display(), e))),
                }
            }
            "get_nginx_version" | "Test::Nginx::Util::get_nginx_version" => match version {
                Some((a, b, c)) => Value::str(format!("{}.{:03}{:03}", a, b, c)),
                None => Value::Undef,
            },
            "abs_path" | "realpath" | "Cwd::abs_path" | "Cwd::realpath" => {
                let p = first.to_string_lossy();
                let path = if Path::new(&p).is_absolute() { PathBuf::from(&p) } else { repo.join(&p) };
                Value::str(std::fs::canonicalize(&path).unwrap_or(path).display().to_string())
            }
            "dirname" | "File::Basename::dirname" => {
                let p = first.to_string_lossy();
                Value::str(
                    Path::new(&p)
                        .parent()
                        .map(|d| d.display().to_string())
                        .filter(|d| !d.is_empty())
                        .unwrap_or_else(|| ".".into()),
                )
            }
            "basename" | "File::Basename::basename" => {
                let p = first.to_string_lossy();
                Value::str(Path::new(&p).file_name().map(|d| d.to_string_lossy().to_string()).unwrap_or_default())
            }
            "bail_out" => return Some(Err(format!("bail_out: {}", first.to_string_lossy()))),
            "run_tests"
            | "no_long_string"
            | "no_diff"
            | "no_shuffle"
            | "no_root_location"
            | "no_nginx_manager"
            | "set_http_config_filter"
            | "add_cleanup_handler"
            | "add_test_cleanup_handler"
            | "config_preamble"
            | "server_name"
            | "no_diag_on_only"
            | "filters"
            | "delimiters" => Value::Undef,
            "add_response_body_check" => {
                s.warnings.push("add_response_body_check() is not supported; its checks are not run".into());
                Value::Undef
            }
            _ => return None,
        };
        Some(Ok(r))
    }));
}
