//! Tokenizer for the Perl subset found in Test::Nginx files.
//!
//! Perl's grammar is context sensitive: `/` starts a regex where a term is expected and divides
//! elsewhere, `<<` starts a here-document or shifts, `%` names a hash or takes a modulus.  The
//! lexer tracks whether the previous token ended a term to decide.

/// A piece of an interpolating string or regex.
#[derive(Clone, Debug, PartialEq)]
pub enum Part {
    Lit(Vec<u8>),
    /// `$name`, `${name}`, `$::name`
    Scalar(String),
    /// `$ENV{NAME}`
    Env(String),
    /// `@name` (joined with spaces)
    Array(String),
}

#[derive(Clone, Debug, PartialEq)]
pub enum Tok {
    Num(f64),
    /// Non-interpolating string literal.
    Str(Vec<u8>),
    /// Interpolating string literal.
    IStr(Vec<Part>),
    /// `qr//` (`is_match` false), `m//` or `//` (true).
    Re {
        parts: Vec<Part>,
        flags: String,
        is_match: bool,
    },
    /// `s///`, `tr///` and `y///`: recognised so that they can be skipped, never evaluated.
    Subst,
    Words(Vec<Vec<u8>>),
    Scalar(String),
    Array(String),
    Hash(String),
    Ident(String),
    Op(&'static str),
    Backtick,
    ReadLine,
    Eof,
}

#[derive(Clone, Debug)]
pub struct Token {
    pub tok: Tok,
    /// Byte offset in the source, for error messages.
    pub pos: usize,
}

const OPS: &[&str] = &[
    "<=>", "**=", "||=", "&&=", "//=", "...", "<<=", ">>=", "=>", "->", "++", "--", "**", "=~", "!~", "==", "!=", "<=",
    ">=", "&&", "||", "//", "..", "::", ".=", "+=", "-=", "*=", "/=", "x=", "<<", ">>", "+", "-", "*", "/", "%", ".",
    "<", ">", "=", "!", "~", "\\", "?", ":", ",", ";", "(", ")", "{", "}", "[", "]", "&", "|", "^", "@", "$",
];

pub struct Lexer<'a> {
    src: &'a [u8],
    pos: usize,
    expect_term: bool,
    /// Where the next here-document body starts, when one is pending on the current line.
    heredoc_next: Option<usize>,
    /// Where scanning resumes once the current line ends (after pending here-document bodies).
    heredoc_resume: Option<usize>,
    /// Set after `->`: the next identifier is a method name and ends a term.
    after_arrow: bool,
}

pub fn tokenize(src: &[u8]) -> Result<Vec<Token>, String> {
    let mut lx = Lexer { src, pos: 0, expect_term: true, heredoc_next: None, heredoc_resume: None, after_arrow: false };
    let mut out = Vec::new();
    loop {
        let t = lx.next()?;
        let eof = t.tok == Tok::Eof;
        out.push(t);
        if eof {
            return Ok(out);
        }
    }
}

fn is_ident_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_'
}

fn is_ident_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

fn closing_delim(c: u8) -> u8 {
    match c {
        b'(' => b')',
        b'[' => b']',
        b'{' => b'}',
        b'<' => b'>',
        _ => c,
    }
}

impl<'a> Lexer<'a> {
    fn peek(&self, off: usize) -> u8 {
        *self.src.get(self.pos + off).unwrap_or(&0)
    }

    fn err(&self, msg: &str) -> String {
        let line = self.src[..self.pos.min(self.src.len())].iter().filter(|&&c| c == b'\n').count() + 1;
        format!("{} at line {}", msg, line)
    }

    /// Skips whitespace and comments, jumping over here-document bodies at line ends.
    fn skip_space(&mut self) {
        while self.pos < self.src.len() {
            let c = self.src[self.pos];
            if c == b'\n' {
                self.pos += 1;
                if let Some(resume) = self.heredoc_resume.take() {
                    self.pos = resume.max(self.pos);
                    self.heredoc_next = None;
                }
            } else if c.is_ascii_whitespace() {
                self.pos += 1;
            } else if c == b'#' {
                while self.pos < self.src.len() && self.src[self.pos] != b'\n' {
                    self.pos += 1;
                }
            } else if c == b'=' && (self.pos == 0 || self.src[self.pos - 1] == b'\n') && is_ident_start(self.peek(1)) {
                // POD block: skip to `=cut` (or the end).
                match find_line(self.src, self.pos, |l| l.starts_with(b"=cut")) {
                    Some((_, end)) => self.pos = end,
                    None => self.pos = self.src.len(),
                }
            } else {
                break;
            }
        }
    }

    fn next(&mut self) -> Result<Token, String> {
        self.skip_space();
        let start = self.pos;
        if self.pos >= self.src.len() {
            return Ok(Token { tok: Tok::Eof, pos: start });
        }
        let was_arrow = std::mem::replace(&mut self.after_arrow, false);
        let tok = self.lex_one(was_arrow)?;
        self.expect_term = match &tok {
            Tok::Num(_)
            | Tok::Str(_)
            | Tok::IStr(_)
            | Tok::Re { .. }
            | Tok::Subst
            | Tok::Words(_)
            | Tok::Scalar(_)
            | Tok::Array(_)
            | Tok::Hash(_)
            | Tok::Backtick
            | Tok::ReadLine => false,
            Tok::Ident(_) => !was_arrow,
            Tok::Op(op) => !matches!(*op, ")" | "]" | "}"),
            Tok::Eof => true,
        };
        if tok == Tok::Op("->") {
            self.after_arrow = true;
        }
        Ok(Token { tok, pos: start })
    }

    fn lex_one(&mut self, was_arrow: bool) -> Result<Tok, String> {
        let c = self.peek(0);
        if c.is_ascii_digit() || (c == b'.' && self.peek(1).is_ascii_digit() && self.expect_term) {
            if let Some(v) = self.vstring() {
                return Ok(Tok::Str(v));
            }
            return Ok(Tok::Num(self.number()));
        }
        if is_ident_start(c) {
            return self.word(was_arrow);
        }
        match c {
            b'"' => {
                self.pos += 1;
                let raw = self.delimited(b'"')?;
                return Ok(Tok::IStr(interpolate(&raw, Mode::Str, b'"')?));
            }
            b'\'' => {
                self.pos += 1;
                let raw = self.delimited(b'\'')?;
                return Ok(Tok::Str(single_quoted(&raw, b'\'')));
            }
            b'`' => {
                self.pos += 1;
                self.delimited(b'`')?;
                return Ok(Tok::Backtick);
            }
            b'$' => {
                if let Some(t) = self.scalar_var() {
                    return Ok(t);
                }
            }
            b'@' if (is_ident_start(self.peek(1))
                || self.peek(1) == b'_'
                || (self.peek(1) == b':' && self.peek(2) == b':')) =>
            {
                self.pos += 1;
                return Ok(Tok::Array(self.var_name()));
            }
            b'%' if self.expect_term && (is_ident_start(self.peek(1)) || self.peek(1) == b'$') => {
                self.pos += 1;
                if self.peek(0) == b'$' {
                    return Ok(Tok::Op("%"));
                }
                return Ok(Tok::Hash(self.var_name()));
            }
            b'/' if self.expect_term => {
                self.pos += 1;
                return self.regex(b'/', true);
            }
            b'<' if self.expect_term => {
                if self.peek(1) == b'<'
                    && matches!(self.peek(2), b'"' | b'\'' | b'~' | b'A'..=b'Z' | b'a'..=b'z' | b'_')
                {
                    return self.heredoc();
                }
                // <$fh> or <FH>
                let rest = &self.src[self.pos + 1..];
                if let Some(end) = rest.iter().position(|&b| b == b'>') {
                    let inner = &rest[..end];
                    if !inner.is_empty() && inner.iter().all(|&b| is_ident_char(b) || b == b'$') {
                        self.pos += end + 2;
                        return Ok(Tok::ReadLine);
                    }
                }
            }
            _ => {}
        }
        for op in OPS {
            if self.src[self.pos..].starts_with(op.as_bytes()) {
                self.pos += op.len();
                return Ok(Tok::Op(op));
            }
        }
        Err(self.err(&format!("unexpected character {:?}", c as char)))
    }

    /// A version string such as `1.25.5` (two or more dots): the characters with those codes.
    fn vstring(&mut self) -> Option<Vec<u8>> {
        let rest = &self.src[self.pos..];
        let len = rest.iter().take_while(|b| b.is_ascii_digit() || **b == b'.').count();
        let text = std::str::from_utf8(&rest[..len]).ok()?;
        let parts: Vec<&str> = text.split('.').collect();
        if parts.len() < 3 || parts.iter().any(|p| p.is_empty()) {
            return None;
        }
        self.pos += len;
        let mut out = Vec::new();
        for p in parts {
            let mut buf = [0u8; 4];
            let c = char::from_u32(p.parse().ok()?).unwrap_or('\u{fffd}');
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
        }
        Some(out)
    }

    fn number(&mut self) -> f64 {
        let s = self.src;
        if s[self.pos] == b'0' && matches!(self.peek(1), b'x' | b'X') {
            self.pos += 2;
            let st = self.pos;
            while self.pos < s.len() && (s[self.pos].is_ascii_hexdigit() || s[self.pos] == b'_') {
                self.pos += 1;
            }
            let digits: String = s[st..self.pos].iter().filter(|&&b| b != b'_').map(|&b| b as char).collect();
            return i64::from_str_radix(&digits, 16).unwrap_or(0) as f64;
        }
        let st = self.pos;
        while self.pos < s.len() && (s[self.pos].is_ascii_digit() || s[self.pos] == b'_') {
            self.pos += 1;
        }
        if self.peek(0) == b'.' && self.peek(1).is_ascii_digit() {
            self.pos += 1;
            while self.pos < s.len() && (s[self.pos].is_ascii_digit() || s[self.pos] == b'_') {
                self.pos += 1;
            }
        }
        if matches!(self.peek(0), b'e' | b'E')
            && (self.peek(1).is_ascii_digit() || (matches!(self.peek(1), b'+' | b'-') && self.peek(2).is_ascii_digit()))
        {
            self.pos += 2;
            while self.pos < s.len() && s[self.pos].is_ascii_digit() {
                self.pos += 1;
            }
        }
        let text: String = s[st..self.pos].iter().filter(|&&b| b != b'_').map(|&b| b as char).collect();
        text.parse().unwrap_or(0.0)
    }

    /// A possibly package-qualified name (`foo`, `::foo`, `Foo::bar`, `_`).
    fn var_name(&mut self) -> String {
        let st = self.pos;
        loop {
            if self.peek(0) == b':' && self.peek(1) == b':' {
                self.pos += 2;
            } else if is_ident_char(self.peek(0)) {
                self.pos += 1;
            } else {
                break;
            }
        }
        normalize_name(&String::from_utf8_lossy(&self.src[st..self.pos]))
    }

    fn scalar_var(&mut self) -> Option<Tok> {
        let n = self.peek(1);
        if is_ident_start(n) || (n == b':' && self.peek(2) == b':') {
            self.pos += 1;
            return Some(Tok::Scalar(self.var_name()));
        }
        if n == b'{' {
            let rest = &self.src[self.pos + 2..];
            let len = rest.iter().take_while(|&&b| is_ident_char(b) || b == b':').count();
            if len > 0 && rest.get(len) == Some(&b'}') {
                let name = String::from_utf8_lossy(&rest[..len]).to_string();
                self.pos += 3 + len;
                return Some(Tok::Scalar(normalize_name(&name)));
            }
            return None;
        }
        if n.is_ascii_digit() || matches!(n, b'&' | b'@' | b'!' | b'/' | b'\\' | b',' | b'.' | b'0' | b';') {
            self.pos += 2;
            return Some(Tok::Scalar((n as char).to_string()));
        }
        None
    }

    fn word(&mut self, was_arrow: bool) -> Result<Tok, String> {
        let st = self.pos;
        while is_ident_char(self.peek(0))
            || (self.peek(0) == b':' && self.peek(1) == b':' && is_ident_start(self.peek(2)))
        {
            self.pos += if self.peek(0) == b':' { 2 } else { 1 };
        }
        let w = String::from_utf8_lossy(&self.src[st..self.pos]).to_string();
        if w == "__END__" || w == "__DATA__" {
            self.pos = self.src.len();
            return Ok(Tok::Eof);
        }
        if was_arrow {
            return Ok(Tok::Ident(w));
        }
        // `x` as the repetition operator (also `x3`).
        if !self.expect_term && w.starts_with('x') && w[1..].bytes().all(|b| b.is_ascii_digit()) {
            if w.len() > 1 {
                self.pos = st + 1;
            }
            if self.peek(0) == b'=' && self.peek(1) != b'=' && self.peek(1) != b'>' {
                self.pos += 1;
                return Ok(Tok::Op("x="));
            }
            return Ok(Tok::Ident("x".into()));
        }
        if matches!(w.as_str(), "q" | "qq" | "qw" | "qr" | "m" | "s" | "tr" | "y") {
            let mut p = self.pos;
            while p < self.src.len() && (self.src[p] == b' ' || self.src[p] == b'\t') {
                p += 1;
            }
            let d = *self.src.get(p).unwrap_or(&0);
            let fat_comma = d == b'=' && self.src.get(p + 1) == Some(&b'>');
            let quote_like = !fat_comma
                && d != 0
                && !d.is_ascii_alphanumeric()
                && d != b'_'
                && !d.is_ascii_whitespace()
                && !matches!(d, b',' | b';' | b')' | b'}')
                && !(d == b'=' && p > self.pos);
            if quote_like {
                self.pos = p + 1;
                return self.quote_like(&w, d);
            }
        }
        Ok(Tok::Ident(w))
    }

    fn quote_like(&mut self, kind: &str, open: u8) -> Result<Tok, String> {
        let raw = self.delimited(open)?;
        let close = closing_delim(open);
        match kind {
            "q" => Ok(Tok::Str(single_quoted(&raw, close))),
            "qq" => Ok(Tok::IStr(interpolate(&raw, Mode::Str, close)?)),
            "qw" => Ok(Tok::Words(
                raw.split(|b| b.is_ascii_whitespace()).filter(|w| !w.is_empty()).map(|w| w.to_vec()).collect(),
            )),
            "qr" | "m" => {
                let flags = self.flags();
                let parts = if open == b'\'' { vec![Part::Lit(raw)] } else { interpolate(&raw, Mode::Regex, close)? };
                Ok(Tok::Re { parts, flags, is_match: kind == "m" })
            }
            _ => {
                // s///, tr///, y///: consume the replacement part and the flags.
                if open != close {
                    self.skip_space();
                    let o = self.peek(0);
                    self.pos += 1;
                    self.delimited(o)?;
                } else {
                    self.delimited(open)?;
                }
                self.flags();
                Ok(Tok::Subst)
            }
        }
    }

    fn regex(&mut self, open: u8, is_match: bool) -> Result<Tok, String> {
        let raw = self.delimited(open)?;
        let flags = self.flags();
        Ok(Tok::Re { parts: interpolate(&raw, Mode::Regex, open)?, flags, is_match })
    }

    fn flags(&mut self) -> String {
        let st = self.pos;
        while self.peek(0).is_ascii_alphabetic() {
            self.pos += 1;
        }
        String::from_utf8_lossy(&self.src[st..self.pos]).to_string()
    }

    /// Reads up to the closing delimiter (the opening one has been consumed) and returns the raw
    /// text in between, backslashes kept.  Bracketing delimiters nest.
    fn delimited(&mut self, open: u8) -> Result<Vec<u8>, String> {
        let close = closing_delim(open);
        let start = self.pos;
        let mut depth = 0usize;
        let mut out = Vec::new();
        while self.pos < self.src.len() {
            let c = self.src[self.pos];
            if c == b'\\' && self.pos + 1 < self.src.len() {
                out.push(c);
                out.push(self.src[self.pos + 1]);
                self.pos += 2;
                continue;
            }
            self.pos += 1;
            if c == close && depth == 0 {
                return Ok(out);
            }
            if open != close {
                if c == open {
                    depth += 1;
                } else if c == close {
                    depth -= 1;
                }
            }
            out.push(c);
        }
        self.pos = start;
        Err(self.err(&format!("unterminated string or regex (delimiter {:?})", close as char)))
    }

    fn heredoc(&mut self) -> Result<Tok, String> {
        self.pos += 2;
        let indent = self.peek(0) == b'~';
        if indent {
            self.pos += 1;
        }
        let (tag, interp) = match self.peek(0) {
            q @ (b'"' | b'\'') => {
                self.pos += 1;
                let t = self.delimited(q)?;
                (t, q == b'"')
            }
            _ => {
                let st = self.pos;
                while is_ident_char(self.peek(0)) {
                    self.pos += 1;
                }
                (self.src[st..self.pos].to_vec(), true)
            }
        };
        let body_start = match self.heredoc_next {
            Some(p) => p,
            None => match self.src[self.pos..].iter().position(|&b| b == b'\n') {
                Some(i) => self.pos + i + 1,
                None => self.src.len(),
            },
        };
        let is_end = |l: &[u8]| {
            let l = l.strip_suffix(b"\r").unwrap_or(l);
            if indent {
                trim_ascii(l) == &tag[..]
            } else {
                l == &tag[..]
            }
        };
        let (term_start, term_end) = find_line(self.src, body_start, is_end).ok_or_else(|| {
            self.err(&format!("here-document terminator {:?} not found", String::from_utf8_lossy(&tag)))
        })?;
        let mut body = self.src[body_start..term_start].to_vec();
        if indent {
            let term_line = &self.src[term_start..term_end];
            let ws = term_line.iter().take_while(|&&b| b == b' ' || b == b'\t').count();
            body = body
                .split_inclusive(|&b| b == b'\n')
                .map(|l| {
                    let n = l.iter().take(ws).take_while(|&&b| b == b' ' || b == b'\t').count();
                    &l[n..]
                })
                .collect::<Vec<_>>()
                .concat();
        }
        self.heredoc_next = Some(term_end);
        self.heredoc_resume = Some(term_end);
        if interp {
            Ok(Tok::IStr(interpolate(&body, Mode::Heredoc, 0)?))
        } else {
            Ok(Tok::Str(body))
        }
    }
}

/// Finds the first line at or after `from` for which `pred` holds; returns its start and the
/// offset just past its newline.
fn find_line(src: &[u8], from: usize, pred: impl Fn(&[u8]) -> bool) -> Option<(usize, usize)> {
    let mut p = from;
    while p < src.len() {
        let end = src[p..].iter().position(|&b| b == b'\n').map(|i| p + i).unwrap_or(src.len());
        if pred(&src[p..end]) {
            return Some((p, (end + 1).min(src.len())));
        }
        p = end + 1;
    }
    None
}

pub fn trim_ascii(s: &[u8]) -> &[u8] {
    let a = s.iter().position(|b| !b.is_ascii_whitespace()).unwrap_or(s.len());
    let b = s.iter().rposition(|b| !b.is_ascii_whitespace()).map(|i| i + 1).unwrap_or(a);
    &s[a..b.max(a)]
}

/// `$::x` and `$main::x` both name the global `x`.
pub fn normalize_name(n: &str) -> String {
    if let Some(r) = n.strip_prefix("main::") {
        return r.to_string();
    }
    if let Some(r) = n.strip_prefix("::") {
        return r.to_string();
    }
    n.to_string()
}

fn single_quoted(raw: &[u8], delim: u8) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        if raw[i] == b'\\' && i + 1 < raw.len() && (raw[i + 1] == b'\\' || raw[i + 1] == delim) {
            out.push(raw[i + 1]);
            i += 2;
        } else {
            out.push(raw[i]);
            i += 1;
        }
    }
    out
}

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Str,
    Heredoc,
    Regex,
}

/// Splits interpolating text into literal pieces and variable references, processing escapes
/// (in strings) or keeping them for the regex engine (in regexes).
fn interpolate(raw: &[u8], mode: Mode, delim: u8) -> Result<Vec<Part>, String> {
    let mut parts = Vec::new();
    let mut lit = Vec::new();
    let mut i = 0;
    while i < raw.len() {
        let c = raw[i];
        if c == b'\\' && i + 1 < raw.len() {
            let n = raw[i + 1];
            if mode == Mode::Regex {
                // The delimiter escape only served the quoting; others belong to the regex.
                if n == delim && !b"{}[]()<>|?*+.^$\\".contains(&n) {
                    lit.push(n);
                } else {
                    lit.extend_from_slice(&raw[i..i + 2]);
                }
                i += 2;
                continue;
            }
            i += 2;
            match n {
                b'n' => lit.push(b'\n'),
                b't' => lit.push(b'\t'),
                b'r' => lit.push(b'\r'),
                b'f' => lit.push(0x0c),
                b'a' => lit.push(0x07),
                b'e' => lit.push(0x1b),
                b'0'..=b'7' => {
                    let mut v: u32 = (n - b'0') as u32;
                    let mut k = 0;
                    while k < 2 && i < raw.len() && (b'0'..=b'7').contains(&raw[i]) {
                        v = v * 8 + (raw[i] - b'0') as u32;
                        i += 1;
                        k += 1;
                    }
                    push_char(&mut lit, v);
                }
                b'x' => {
                    if raw.get(i) == Some(&b'{') {
                        let end = raw[i..].iter().position(|&b| b == b'}').map(|p| i + p).unwrap_or(raw.len());
                        let hex = String::from_utf8_lossy(&raw[i + 1..end]).trim().to_string();
                        push_char(&mut lit, u32::from_str_radix(&hex, 16).unwrap_or(0));
                        i = end + 1;
                    } else {
                        let mut v = 0u32;
                        let mut k = 0;
                        while k < 2 && i < raw.len() && raw[i].is_ascii_hexdigit() {
                            v = v * 16 + (raw[i] as char).to_digit(16).unwrap();
                            i += 1;
                            k += 1;
                        }
                        push_char(&mut lit, v);
                    }
                }
                b'c' if i < raw.len() => {
                    lit.push(raw[i].to_ascii_uppercase() ^ 0x40);
                    i += 1;
                }
                b'u' | b'l' | b'U' | b'L' | b'E' | b'Q' => {}
                other => lit.push(other),
            }
            continue;
        }
        if c == b'$' && i + 1 < raw.len() {
            if let Some((part, used)) = interp_scalar(&raw[i + 1..], mode) {
                if !lit.is_empty() {
                    parts.push(Part::Lit(std::mem::take(&mut lit)));
                }
                parts.push(part);
                i += 1 + used;
                continue;
            }
        }
        if c == b'@' && i + 1 < raw.len() && is_ident_start(raw[i + 1]) {
            let len = raw[i + 1..].iter().take_while(|&&b| is_ident_char(b)).count();
            if !lit.is_empty() {
                parts.push(Part::Lit(std::mem::take(&mut lit)));
            }
            parts.push(Part::Array(String::from_utf8_lossy(&raw[i + 1..i + 1 + len]).to_string()));
            i += 1 + len;
            continue;
        }
        lit.push(c);
        i += 1;
    }
    if !lit.is_empty() || parts.is_empty() {
        parts.push(Part::Lit(lit));
    }
    Ok(parts)
}

fn push_char(out: &mut Vec<u8>, v: u32) {
    if v < 256 {
        out.push(v as u8);
    } else {
        let ch = char::from_u32(v).unwrap_or('\u{fffd}');
        let mut buf = [0u8; 4];
        out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
    }
}

/// Recognises a variable after `$` inside interpolating text; returns it and the bytes used.
fn interp_scalar(s: &[u8], mode: Mode) -> Option<(Part, usize)> {
    if s[0] == b'{' {
        let len = s[1..].iter().take_while(|&&b| is_ident_char(b) || b == b':').count();
        if len > 0 && s.get(1 + len) == Some(&b'}') {
            return Some((Part::Scalar(normalize_name(&String::from_utf8_lossy(&s[1..1 + len]))), len + 2));
        }
        return None;
    }
    let mut len = 0;
    loop {
        if s.get(len) == Some(&b':')
            && s.get(len + 1) == Some(&b':')
            && s.get(len + 2).is_some_and(|&b| is_ident_start(b))
        {
            len += 2;
        } else if s.get(len).is_some_and(|&b| is_ident_char(b)) && (len > 0 || is_ident_start(s[0])) {
            len += 1;
        } else {
            break;
        }
    }
    if len == 0 {
        if mode != Mode::Regex && s[0] == b'&' {
            return Some((Part::Scalar("&".into()), 1));
        }
        if s[0].is_ascii_digit() && mode != Mode::Regex {
            return Some((Part::Scalar((s[0] as char).to_string()), 1));
        }
        return None;
    }
    let name = normalize_name(&String::from_utf8_lossy(&s[..len]));
    if name == "ENV" && s.get(len) == Some(&b'{') {
        let rest = &s[len + 1..];
        let end = rest.iter().position(|&b| b == b'}')?;
        let key = trim_ascii(&rest[..end]);
        let key = key.strip_prefix(b"'").and_then(|k| k.strip_suffix(b"'")).unwrap_or(key);
        let key = key.strip_prefix(b"\"").and_then(|k| k.strip_suffix(b"\"")).unwrap_or(key);
        return Some((Part::Env(String::from_utf8_lossy(key).to_string()), len + end + 2));
    }
    Some((Part::Scalar(name), len))
}
