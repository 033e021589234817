//! The Test::Base data format used by Test::Nginx files.
//!
//! A file is Perl code (the preamble), a `__DATA__` line, then blocks.  A block starts at a line
//! beginning with `===`; the rest of that line is its name.  Sections start at lines of the form
//! `--- name filters` or `--- name filters: value` (a one-liner).  Section values pass through
//! the default filters `norm` and `trim`, then the filters named on the header line.

use crate::perl::{Interp, Value};

#[derive(Clone, Debug)]
pub struct RawSection {
    pub name: String,
    /// Filter names from the header line (`eval`, `chomp`, `-trim`, ...).
    pub filters: Vec<String>,
    pub value: Vec<u8>,
    /// 1-based line of the section header in the file.
    pub line: usize,
}

#[derive(Clone, Debug)]
pub struct RawBlock {
    /// The text after `===`, e.g. `TEST 1: basic print`.
    pub name: String,
    /// The number in `TEST N:` (else the block's position, 1-based).
    pub number: usize,
    pub line: usize,
    pub sections: Vec<RawSection>,
}

impl RawBlock {
    pub fn has(&self, name: &str) -> bool {
        self.sections.iter().any(|s| s.name == name)
    }
}

pub struct SpecFile {
    pub preamble: Vec<u8>,
    pub blocks: Vec<RawBlock>,
}

fn lines_with_offsets(text: &[u8]) -> Vec<(usize, &[u8])> {
    let mut out = Vec::new();
    let mut p = 0;
    while p < text.len() {
        let end = text[p..].iter().position(|&b| b == b'\n').map(|i| p + i + 1).unwrap_or(text.len());
        out.push((p, &text[p..end]));
        p = end;
    }
    out
}

fn strip_eol(l: &[u8]) -> &[u8] {
    let l = l.strip_suffix(b"\n").unwrap_or(l);
    l.strip_suffix(b"\r").unwrap_or(l)
}

pub fn parse_spec(text: &[u8]) -> SpecFile {
    let lines = lines_with_offsets(text);
    // The data starts after `__DATA__` (or, lacking one, at the first block).
    let data_idx = lines
        .iter()
        .position(|(_, l)| strip_eol(l) == b"__DATA__")
        .map(|i| i + 1)
        .or_else(|| lines.iter().position(|(_, l)| l.starts_with(b"===")));
    let Some(data_idx) = data_idx else {
        return SpecFile { preamble: text.to_vec(), blocks: vec![] };
    };
    let preamble_end = if data_idx > 0 && strip_eol(lines[data_idx - 1].1) == b"__DATA__" {
        lines[data_idx - 1].0
    } else {
        lines.get(data_idx).map(|l| l.0).unwrap_or(text.len())
    };
    let preamble = text[..preamble_end].to_vec();

    let mut blocks = Vec::new();
    let mut i = data_idx;
    while i < lines.len() && !lines[i].1.starts_with(b"===") {
        i += 1;
    }
    while i < lines.len() {
        let start = i;
        i += 1;
        while i < lines.len() && !lines[i].1.starts_with(b"===") {
            i += 1;
        }
        blocks.push(parse_block(&lines[start..i], start + 1, blocks.len() + 1));
    }
    SpecFile { preamble, blocks }
}

/// Recognises a section header: `--- name rest`, the name optionally in parentheses.
fn section_header(line: &[u8]) -> Option<(String, String)> {
    let rest = line.strip_prefix(b"---")?;
    let nsp = rest.iter().take_while(|&&b| b == b' ').count();
    if nsp == 0 {
        return None;
    }
    let mut rest = &rest[nsp..];
    if rest.first() == Some(&b'(') {
        rest = &rest[1..];
    }
    let nlen = rest.iter().take_while(|b| b.is_ascii_alphanumeric() || **b == b'_').count();
    if nlen == 0 {
        return None;
    }
    let name = String::from_utf8_lossy(&rest[..nlen]).to_string();
    let mut rest = &rest[nlen..];
    if rest.first() == Some(&b')') {
        rest = &rest[1..];
    }
    let rest = strip_eol(rest);
    let rest = &rest[rest.iter().take_while(|&&b| b == b' ').count()..];
    Some((name, String::from_utf8_lossy(rest).to_string()))
}

fn parse_block(lines: &[(usize, &[u8])], first_line: usize, seq: usize) -> RawBlock {
    let header = strip_eol(lines[0].1);
    let name = String::from_utf8_lossy(&header[3..]).trim().to_string();
    let number = name
        .strip_prefix("TEST ")
        .and_then(|r| r.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(seq);
    let mut sections: Vec<RawSection> = Vec::new();
    // Whether the current section was a one-liner: its body lines are ignored.
    let mut one_liner = false;
    for (idx, (_, line)) in lines.iter().enumerate().skip(1) {
        if let Some((sname, rest)) = section_header(line) {
            let (filters, value) = split_one_liner(&rest);
            one_liner = value.is_some();
            sections.push(RawSection {
                name: sname,
                filters: filters.split_whitespace().map(String::from).collect(),
                value: value.map(|v| v.into_bytes()).unwrap_or_default(),
                line: first_line + idx,
            });
        } else if let (Some(s), false) = (sections.last_mut(), one_liner) {
            s.value.extend_from_slice(line);
        }
    }
    RawBlock { name, number, line: first_line, sections }
}

/// `eval: "foo"` is a one-liner with filters `eval` and value `"foo"`.
fn split_one_liner(rest: &str) -> (String, Option<String>) {
    let b = rest.as_bytes();
    for (i, &c) in b.iter().enumerate() {
        if c == b':' && (i + 1 == b.len() || b[i + 1].is_ascii_whitespace()) {
            let filters = rest[..i].trim_end().to_string();
            let value = rest[i + 1..].trim().to_string();
            return (filters, Some(value));
        }
    }
    (rest.to_string(), None)
}

/// The filters applied to a section: the defaults, then the header's, honouring `-name`
/// (remove) and `+name` (append last).
pub fn effective_filters(header: &[String]) -> Vec<String> {
    let mut filters: Vec<String> = vec!["norm".into(), "trim".into()];
    let mut append = Vec::new();
    for f in header {
        if let Some(r) = f.strip_prefix('-') {
            filters.retain(|x| x != r);
        } else if let Some(a) = f.strip_prefix('+') {
            append.push(a.to_string());
        } else {
            filters.push(f.clone());
        }
    }
    filters.extend(append);
    filters
}

pub fn norm(v: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(v.len());
    let mut i = 0;
    while i < v.len() {
        if v[i] == b'\r' {
            out.push(b'\n');
            i += if v.get(i + 1) == Some(&b'\n') { 2 } else { 1 };
        } else {
            out.push(v[i]);
            i += 1;
        }
    }
    out
}

/// Removes leading blank lines and whitespace after the last newline.
pub fn trim(v: &[u8]) -> Vec<u8> {
    let mut start = 0;
    loop {
        let ws = v[start..].iter().take_while(|&&b| b == b' ' || b == b'\t').count();
        if v.get(start + ws) == Some(&b'\n') {
            start += ws + 1;
        } else {
            break;
        }
    }
    let v = &v[start..];
    let run_start = v.len() - v.iter().rev().take_while(|b| b.is_ascii_whitespace()).count();
    match v[run_start..].iter().position(|&b| b == b'\n') {
        Some(k) => v[..run_start + k + 1].to_vec(),
        None => v.to_vec(),
    }
}

/// Applies the section's filter chain.  `eval` runs Perl in `interp`.
pub fn apply_filters(sec: &RawSection, interp: &mut Interp) -> Result<Value, String> {
    let mut vals: Vec<Value> = vec![Value::Str(sec.value.clone())];
    for f in effective_filters(&sec.filters) {
        vals = match f.as_str() {
            "norm" => map_str(vals, |s| norm(&s)),
            "trim" => map_str(vals, |s| trim(&s)),
            "chomp" => map_str(vals, |mut s| {
                if s.last() == Some(&b'\n') {
                    s.pop();
                }
                s
            }),
            "chop" => map_str(vals, |mut s| {
                s.pop();
                s
            }),
            "unchomp" => map_str(vals, |mut s| {
                s.push(b'\n');
                s
            }),
            "escape" => {
                let joined = join_vals(&vals);
                let mut code = b"\"".to_vec();
                for &b in &joined {
                    if b == b'"' || b == b'$' || b == b'@' {
                        code.push(b'\\');
                    }
                    code.push(b);
                }
                code.push(b'"');
                interp.eval_code(&code).map_err(|e| format!("escape filter: {}", e))?
            }
            "eval" => {
                let code = join_vals(&vals);
                interp
                    .eval_code(&code)
                    .map_err(|e| format!("section '{}' (line {}) eval: {}", sec.name, sec.line, e))?
            }
            "join" => vec![Value::Str(join_vals(&vals))],
            "lines" => {
                let joined = join_vals(&vals);
                joined.split_inclusive(|&b| b == b'\n').map(Value::str).collect()
            }
            other => return Err(format!("section '{}' (line {}): unsupported filter '{}'", sec.name, sec.line, other)),
        };
    }
    Ok(vals.into_iter().next().unwrap_or(Value::Undef))
}

fn join_vals(vals: &[Value]) -> Vec<u8> {
    vals.iter().flat_map(|v| v.to_bytes()).collect()
}

fn map_str(vals: Vec<Value>, f: impl Fn(Vec<u8>) -> Vec<u8>) -> Vec<Value> {
    vals.into_iter()
        .map(|v| match v {
            Value::Str(s) => Value::Str(f(s)),
            Value::Num(_) => Value::Str(f(v.to_bytes())),
            other => other,
        })
        .collect()
}
