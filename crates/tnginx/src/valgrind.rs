//! Valgrind mode: the command that wraps nginx, and the reading of valgrind's XML reports.

use crate::nginx::Paths;
use std::path::{Path, PathBuf};

/// Exit code valgrind gives nginx when it found errors (besides the reports we read).
pub const ERROR_EXIT_CODE: i32 = 97;

/// valgrind and its options; its XML reports go to logs/valgrind-<pid>.xml.
pub fn wrapper(paths: &Paths, suppressions: Option<&Path>) -> Vec<String> {
    let mut v: Vec<String> = [
        "valgrind",
        "-q",
        "--tool=memcheck",
        "--leak-check=full",
        "--show-leak-kinds=definite",
        "--errors-for-leak-kinds=definite",
        "--num-callers=40",
        "--track-origins=no",
        "--child-silent-after-fork=no",
        "--xml=yes",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    v.push(format!("--error-exitcode={}", ERROR_EXIT_CODE));
    v.push(format!("--xml-file={}/valgrind-%p.xml", paths.logs_dir.display()));
    v.push(format!("--log-file={}/valgrind-%p.log", paths.logs_dir.display()));
    if let Some(s) = suppressions {
        v.push(format!("--suppressions={}", s.display()));
    }
    // more options (e.g. --run-libc-freeres=no) from TEST_NGINX_VALGRIND_OPTS
    if let Ok(extra) = std::env::var("TEST_NGINX_VALGRIND_OPTS") {
        v.extend(extra.split_whitespace().map(String::from));
    }
    v
}

/// One valgrind error: its kind, what it says, and its stack (function and object per frame).
#[derive(Debug, Clone, PartialEq)]
pub struct VgError {
    pub kind: String,
    pub what: String,
    pub frames: Vec<(String, String)>,
}

/// The kinds the runner fails a block for (with a frame in a loaded module).
pub fn is_serious(kind: &str) -> bool {
    matches!(
        kind,
        "InvalidRead"
            | "InvalidWrite"
            | "InvalidFree"
            | "MismatchedFree"
            | "InvalidJump"
            | "UninitCondition"
            | "UninitValue"
            | "SyscallParam"
            | "Leak_DefinitelyLost"
    )
}

fn tag<'a>(text: &'a str, name: &str) -> Option<&'a str> {
    let open = format!("<{}>", name);
    let close = format!("</{}>", name);
    let start = text.find(&open)? + open.len();
    let end = text[start..].find(&close)? + start;
    Some(&text[start..end])
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&apos;", "'").replace("&amp;", "&")
}

/// The `<error>`s of one valgrind XML report (only the first stack of each error: where it
/// happened, or for a leak where the block was allocated).
pub fn parse_xml(text: &str) -> Vec<VgError> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("<error>") {
        let Some(len) = rest[start..].find("</error>") else { break };
        let body = &rest[start..start + len];
        rest = &rest[start + len + 8..];
        let kind = tag(body, "kind").unwrap_or("?").to_string();
        let what = tag(body, "what").or_else(|| tag(body, "text")).map(unescape).unwrap_or_default();
        let stack = tag(body, "stack").unwrap_or("");
        let mut frames = Vec::new();
        let mut s = stack;
        while let Some(fs) = s.find("<frame>") {
            let Some(fl) = s[fs..].find("</frame>") else { break };
            let f = &s[fs..fs + fl];
            frames.push((
                tag(f, "fn").map(unescape).unwrap_or_else(|| "???".into()),
                tag(f, "obj").map(unescape).unwrap_or_default(),
            ));
            s = &s[fs + fl + 8..];
        }
        out.push(VgError { kind, what, frames });
    }
    out
}

/// The XML reports in the logs directory.
pub fn reports(paths: &Paths) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(&paths.logs_dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.starts_with("valgrind-") && n.ends_with(".xml"))
                })
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// The frames worth showing: the first two (where it happened, or the allocator), then those
/// naming nginx, Lua or the module (allocator and closure plumbing left out), up to 14.
fn shown_frames(frames: &[(String, String)]) -> Vec<&(String, String)> {
    let telling =
        |f: &str| f.contains("ngx_stream_lua") || f.starts_with("ngx_") || f.starts_with("lj_") || f.starts_with("lua");
    let mut v: Vec<&(String, String)> = frames.iter().take(2).collect();
    v.extend(frames.iter().skip(2).filter(|(f, _)| telling(f)).take(12));
    v
}

/// Checks every report: serious errors with a frame in one of `modules` are failures, the rest
/// notes.
pub fn check(paths: &Paths, modules: &[PathBuf], failures: &mut Vec<String>, notes: &mut Vec<String>) {
    let names: Vec<String> =
        modules.iter().filter_map(|m| m.file_name().map(|n| n.to_string_lossy().to_string())).collect();
    // valgrind writes no XML for a forked child (an nginx worker under a master): its text
    // log exists, its XML does not, and its errors go unseen; say so
    if let Ok(rd) = std::fs::read_dir(&paths.logs_dir) {
        for p in rd.filter_map(|e| e.ok().map(|e| e.path())) {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("").to_string();
            if name.starts_with("valgrind-") && name.ends_with(".log") && !p.with_extension("xml").exists() {
                let note = format!(
                    "valgrind: no XML report next to {name} (a worker under a master): that process went unchecked; \
                     TEST_NGINX_MASTER_PROCESS=off checks it"
                );
                if !notes.contains(&note) {
                    notes.push(note);
                }
            }
        }
    }
    for report in reports(paths) {
        let text = std::fs::read_to_string(&report).unwrap_or_default();
        for e in parse_xml(&text) {
            let ours = e.frames.iter().any(|(_, obj)| names.iter().any(|n| obj.ends_with(n.as_str())));
            let mut msg = format!("valgrind {}: {}", e.kind, e.what);
            for (f, obj) in shown_frames(&e.frames) {
                let obj = Path::new(obj).file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
                msg.push_str(&format!("\n    {} ({})", f, obj));
            }
            if is_serious(&e.kind) && ours {
                failures.push(msg);
            } else {
                let first = msg.lines().next().unwrap_or("").to_string();
                if !notes.contains(&first) {
                    notes.push(first);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_errors_and_frames() {
        let xml = "<valgrindoutput><error><unique>0x1</unique><kind>InvalidRead</kind>\
            <what>Invalid read of size 4</what><stack><frame><ip>0x1</ip><obj>/x/libngx_stream_lua_module.so</obj>\
            <fn>lj_str_new</fn></frame><frame><obj>/x/nginx</obj><fn>main</fn></frame></stack></error>\
            <error><kind>Leak_DefinitelyLost</kind><xwhat><text>8 bytes in 1 blocks are definitely lost</text>\
            </xwhat><stack><frame><obj>/lib/libc.so.6</obj><fn>malloc</fn></frame></stack></error></valgrindoutput>";
        let e = parse_xml(xml);
        assert_eq!(e.len(), 2);
        assert_eq!(e[0].kind, "InvalidRead");
        assert_eq!(e[0].what, "Invalid read of size 4");
        assert_eq!(e[0].frames[0], ("lj_str_new".to_string(), "/x/libngx_stream_lua_module.so".to_string()));
        assert_eq!(e[1].what, "8 bytes in 1 blocks are definitely lost");
        assert!(is_serious(&e[1].kind));
    }
}
