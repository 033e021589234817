//! Perl values: strings are byte strings, numbers are doubles, plus the references the test
//! files use (arrays, regexes, code, and the Test::Base block object).

use super::parser::SubDef;
use super::regex::PerlRegex;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

/// The sections of a test block, shared with block preprocessors (`$block->name`, `set_value`).
pub type Sections = Rc<RefCell<BTreeMap<String, Value>>>;

#[derive(Clone, Debug)]
pub enum Value {
    Undef,
    Str(Vec<u8>),
    Num(f64),
    Regex(Rc<PerlRegex>),
    Array(Rc<RefCell<Vec<Value>>>),
    Code(Rc<SubDef>),
    Block(Sections),
}

impl Value {
    pub fn str(s: impl AsRef<[u8]>) -> Value {
        Value::Str(s.as_ref().to_vec())
    }

    pub fn array(v: Vec<Value>) -> Value {
        Value::Array(Rc::new(RefCell::new(v)))
    }

    pub fn is_undef(&self) -> bool {
        matches!(self, Value::Undef)
    }

    pub fn truthy(&self) -> bool {
        match self {
            Value::Undef => false,
            Value::Str(s) => !(s.is_empty() || s == b"0"),
            Value::Num(n) => *n != 0.0,
            _ => true,
        }
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        match self {
            Value::Undef => Vec::new(),
            Value::Str(s) => s.clone(),
            Value::Num(n) => fmt_num(*n).into_bytes(),
            Value::Regex(r) => r.display().into_bytes(),
            Value::Array(a) => format!("ARRAY(0x{:x})", Rc::as_ptr(a) as usize).into_bytes(),
            Value::Code(c) => format!("CODE(0x{:x})", Rc::as_ptr(c) as usize).into_bytes(),
            Value::Block(b) => format!("Test::Base::Block=HASH(0x{:x})", Rc::as_ptr(b) as usize).into_bytes(),
        }
    }

    pub fn to_string_lossy(&self) -> String {
        String::from_utf8_lossy(&self.to_bytes()).into_owned()
    }

    pub fn to_num(&self) -> f64 {
        match self {
            Value::Undef => 0.0,
            Value::Num(n) => *n,
            Value::Str(s) => str_to_num(s),
            _ => 1.0,
        }
    }

    pub fn ref_type(&self) -> &'static str {
        match self {
            Value::Regex(_) => "Regexp",
            Value::Array(_) => "ARRAY",
            Value::Code(_) => "CODE",
            Value::Block(_) => "Test::Base::Block",
            _ => "",
        }
    }
}

/// Perl's numification: the longest numeric prefix after leading whitespace, else 0.
pub fn str_to_num(s: &[u8]) -> f64 {
    let t = String::from_utf8_lossy(s);
    let t = t.trim_start();
    let b = t.as_bytes();
    let mut end = 0;
    if end < b.len() && (b[end] == b'+' || b[end] == b'-') {
        end += 1;
    }
    let digits_start = end;
    while end < b.len() && b[end].is_ascii_digit() {
        end += 1;
    }
    if end < b.len() && b[end] == b'.' {
        end += 1;
        while end < b.len() && b[end].is_ascii_digit() {
            end += 1;
        }
    }
    if end == digits_start {
        let lower = t.to_ascii_lowercase();
        if lower.starts_with("inf") {
            return f64::INFINITY;
        }
        return 0.0;
    }
    if end < b.len() && (b[end] == b'e' || b[end] == b'E') {
        let mut e = end + 1;
        if e < b.len() && (b[e] == b'+' || b[e] == b'-') {
            e += 1;
        }
        if e < b.len() && b[e].is_ascii_digit() {
            while e < b.len() && b[e].is_ascii_digit() {
                e += 1;
            }
            end = e;
        }
    }
    t[..end].parse().unwrap_or(0.0)
}

/// Formats a number the way Perl prints it (`%.15g`).
pub fn fmt_num(n: f64) -> String {
    if n.is_nan() {
        return "NaN".into();
    }
    if n.is_infinite() {
        return if n > 0.0 { "Inf".into() } else { "-Inf".into() };
    }
    if n == n.trunc() && n.abs() < 1e15 {
        return format!("{}", n as i64);
    }
    let exp = n.abs().log10().floor() as i32;
    if !(-5..15).contains(&exp) {
        let s = format!("{:.14e}", n);
        let (mant, e) = s.split_once('e').unwrap();
        let mant = if mant.contains('.') { mant.trim_end_matches('0').trim_end_matches('.') } else { mant };
        let e: i32 = e.parse().unwrap();
        return format!("{}e{}{:02}", mant, if e < 0 { '-' } else { '+' }, e.abs());
    }
    let s = format!("{:.*}", (14 - exp).max(0) as usize, n);
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}
