//! Expectations and how results are compared and shown: error log patterns, response
//! comparison, readable diffs.

use crate::perl::{PerlRegex, Value};
use std::rc::Rc;

/// An error log pattern: a plain substring or a regex.
#[derive(Clone, Debug)]
pub enum Pattern {
    Sub(Vec<u8>),
    Re(Rc<PerlRegex>),
}

impl Pattern {
    pub fn matches(&self, line: &[u8]) -> Result<bool, String> {
        match self {
            Pattern::Sub(s) => Ok(find(line, s).is_some()),
            Pattern::Re(r) => r.is_match(line),
        }
    }

    /// The matched text (Perl's `$&`), if any.
    pub fn find<'a>(&self, line: &'a [u8]) -> Result<Option<&'a [u8]>, String> {
        match self {
            Pattern::Sub(s) => Ok(find(line, s).map(|p| &line[p..p + s.len()])),
            Pattern::Re(r) => Ok(r.find(line)?.map(|(s, e)| &line[s..e])),
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Pattern::Sub(s) => format!("\"{}\"", escape(s)),
            Pattern::Re(r) => r.source(),
        }
    }

    pub fn mentions(&self, what: &str) -> bool {
        match self {
            Pattern::Sub(s) => find(s, what.as_bytes()).is_some(),
            Pattern::Re(r) => find(&r.pattern, what.as_bytes()).is_some(),
        }
    }
}

pub fn find(h: &[u8], n: &[u8]) -> Option<usize> {
    if n.is_empty() {
        return Some(0);
    }
    h.windows(n.len()).position(|w| w == n)
}

/// Turns an `error_log`-style section value into patterns: a string holds one substring per
/// line, a regex is one pattern, an array mixes both (its strings are not split).
pub fn patterns_of(v: &Value) -> Vec<Pattern> {
    match v {
        Value::Undef => vec![],
        Value::Regex(r) => vec![Pattern::Re(r.clone())],
        Value::Array(a) => a
            .borrow()
            .iter()
            .filter_map(|x| match x {
                Value::Undef => None,
                Value::Regex(r) => Some(Pattern::Re(r.clone())),
                other => Some(Pattern::Sub(other.to_bytes())),
            })
            .collect(),
        other => {
            let mut s = other.to_bytes();
            if s.last() == Some(&b'\n') {
                s.pop();
            }
            s.split(|&b| b == b'\n').filter(|l| !l.is_empty()).map(|l| Pattern::Sub(l.to_vec())).collect()
        }
    }
}

/// Shows bytes readably: control characters and non-UTF-8 bytes escaped.
pub fn escape(s: &[u8]) -> String {
    let text = String::from_utf8_lossy(s);
    let valid = std::str::from_utf8(s).is_ok();
    let mut out = String::new();
    if valid {
        for c in text.chars() {
            push_escaped(&mut out, c);
        }
    } else {
        for &b in s {
            if b >= 0x80 {
                out.push_str(&format!("\\x{:02x}", b));
            } else {
                push_escaped(&mut out, b as char);
            }
        }
    }
    out
}

fn push_escaped(out: &mut String, c: char) {
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        c if (c as u32) < 0x20 || c as u32 == 0x7f => out.push_str(&format!("\\x{:02x}", c as u32)),
        c => out.push(c),
    }
}

fn clip(s: String, max: usize) -> String {
    if s.chars().count() <= max {
        return s;
    }
    let head: String = s.chars().take(max).collect();
    format!("{}... ({} more chars)", head, s.chars().count() - max)
}

/// Splits into lines, each keeping its `\n` so that a missing final newline shows.
fn split_lines(s: &[u8]) -> Vec<&[u8]> {
    s.split_inclusive(|&b| b == b'\n').collect()
}

/// A line diff of expected vs got: `-` expected only, `+` got only, two lines of context.
pub fn diff(expected: &[u8], got: &[u8]) -> Vec<String> {
    let a = split_lines(expected);
    let b = split_lines(got);
    let mut pre = 0;
    while pre < a.len() && pre < b.len() && a[pre] == b[pre] {
        pre += 1;
    }
    let mut suf = 0;
    while suf < a.len() - pre && suf < b.len() - pre && a[a.len() - 1 - suf] == b[b.len() - 1 - suf] {
        suf += 1;
    }
    let (am, bm) = (&a[pre..a.len() - suf], &b[pre..b.len() - suf]);
    let mut ops: Vec<(char, &[u8])> = Vec::new();
    if am.len() * bm.len() <= 250_000 {
        // Longest common subsequence on the differing middle.
        let (n, m) = (am.len(), bm.len());
        let mut dp = vec![vec![0u32; m + 1]; n + 1];
        for i in (0..n).rev() {
            for j in (0..m).rev() {
                dp[i][j] = if am[i] == bm[j] { dp[i + 1][j + 1] + 1 } else { dp[i + 1][j].max(dp[i][j + 1]) };
            }
        }
        let (mut i, mut j) = (0, 0);
        while i < n || j < m {
            if i < n && j < m && am[i] == bm[j] {
                ops.push((' ', am[i]));
                i += 1;
                j += 1;
            } else if i < n && (j == m || dp[i + 1][j] >= dp[i][j + 1]) {
                ops.push(('-', am[i]));
                i += 1;
            } else {
                ops.push(('+', bm[j]));
                j += 1;
            }
        }
    } else {
        ops.extend(am.iter().map(|l| ('-', *l)));
        ops.extend(bm.iter().map(|l| ('+', *l)));
    }
    let mut out = Vec::new();
    let ctx_start = pre.saturating_sub(2);
    if ctx_start > 0 {
        out.push(format!("  ... ({} identical lines)", ctx_start));
    }
    for l in &a[ctx_start..pre] {
        out.push(format!("  {}", clip(escape(l), 300)));
    }
    for (shown, (op, l)) in ops.iter().enumerate() {
        if shown >= 60 {
            out.push(format!("  ... ({} more diff lines)", ops.len() - shown));
            break;
        }
        out.push(format!("{} {}", op, clip(escape(l), 300)));
    }
    let tail = &a[a.len() - suf..];
    for l in tail.iter().take(2) {
        out.push(format!("  {}", clip(escape(l), 300)));
    }
    if tail.len() > 2 {
        out.push(format!("  ... ({} identical lines)", tail.len() - 2));
    }
    out
}

/// Describes a value for messages (`"..."` or `qr/.../`).
pub fn show(v: &[u8]) -> String {
    format!("\"{}\"", clip(escape(v), 500))
}
