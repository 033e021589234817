//! Perl regexes (`qr//`) on top of the `regex` crate.
//!
//! Patterns are translated to the `regex` syntax, matching bytes like Perl does on strings
//! without `use utf8`.  Patterns using what the `regex` crate lacks (look-around,
//! back-references, atomic groups) are run by `fancy-regex` instead.

use std::cell::OnceCell;

#[derive(Debug)]
enum Engine {
    Std(regex::bytes::Regex),
    Fancy(fancy_regex::Regex),
}

/// Byte ranges of a match and its groups.
pub type Groups = Vec<Option<(usize, usize)>>;

#[derive(Debug)]
pub struct PerlRegex {
    pub pattern: Vec<u8>,
    pub flags: String,
    compiled: OnceCell<Result<Engine, String>>,
}

impl Clone for PerlRegex {
    fn clone(&self) -> Self {
        PerlRegex::new(self.pattern.clone(), &self.flags)
    }
}

impl PerlRegex {
    pub fn new(pattern: Vec<u8>, flags: &str) -> Self {
        let flags: String = flags.chars().filter(|c| "imsxn".contains(*c)).collect();
        PerlRegex { pattern, flags, compiled: OnceCell::new() }
    }

    /// How Perl stringifies a `qr//` object.
    pub fn display(&self) -> String {
        format!("(?^{}:{})", self.flags, String::from_utf8_lossy(&self.pattern))
    }

    /// The pattern as it is embedded when interpolated into another regex.
    pub fn embedded(&self) -> Vec<u8> {
        let mut out = b"(?".to_vec();
        out.extend(self.flags.bytes().filter(|b| b"imsx".contains(b)));
        out.push(b':');
        out.extend_from_slice(&self.pattern);
        out.push(b')');
        out
    }

    /// Human-readable `qr/.../flags` form for messages.
    pub fn source(&self) -> String {
        let mut p = String::new();
        for c in String::from_utf8_lossy(&self.pattern).chars() {
            match c {
                '\n' => p.push_str("\\n"),
                '\r' => p.push_str("\\r"),
                '\t' => p.push_str("\\t"),
                c if (c as u32) < 0x20 => p.push_str(&format!("\\x{:02x}", c as u32)),
                c => p.push(c),
            }
        }
        format!("qr/{}/{}", p, self.flags)
    }

    fn engine(&self) -> Result<&Engine, String> {
        self.compiled
            .get_or_init(|| {
                let translated = translate(&self.pattern, &self.flags)?;
                match regex::bytes::RegexBuilder::new(&translated).size_limit(64 << 20).build() {
                    Ok(r) => Ok(Engine::Std(r)),
                    Err(std_err) => fancy_regex::RegexBuilder::new(&translated)
                        .bytes_mode(fancy_regex::BytesMode::Ascii)
                        .build()
                        .map(Engine::Fancy)
                        .map_err(|e| {
                            format!(
                                "cannot compile {}: {} ({})",
                                self.source(),
                                e,
                                std_err.to_string().lines().last().unwrap_or("")
                            )
                        }),
                }
            })
            .as_ref()
            .map_err(|e| e.clone())
    }

    /// Why the pattern cannot be used, if it cannot.
    pub fn compile_error(&self) -> Option<String> {
        self.engine().err()
    }

    pub fn is_match(&self, hay: &[u8]) -> Result<bool, String> {
        match self.engine()? {
            Engine::Std(r) => Ok(r.is_match(hay)),
            Engine::Fancy(r) => r.is_match(hay).map_err(|e| format!("{}: {}", self.source(), e)),
        }
    }

    /// The first match, as a byte range.
    pub fn find(&self, hay: &[u8]) -> Result<Option<(usize, usize)>, String> {
        Ok(self.captures_at(hay, 0)?.and_then(|g| g[0]))
    }

    pub fn captures(&self, hay: &[u8]) -> Result<Option<Groups>, String> {
        self.captures_at(hay, 0)
    }

    fn captures_at(&self, hay: &[u8], start: usize) -> Result<Option<Groups>, String> {
        match self.engine()? {
            Engine::Std(r) => {
                Ok(r.captures_at(hay, start).map(|c| c.iter().map(|m| m.map(|m| (m.start(), m.end()))).collect()))
            }
            Engine::Fancy(r) => {
                let c = r.captures_from_pos(hay, start).map_err(|e| format!("{}: {}", self.source(), e))?;
                Ok(c.map(|c| c.iter().map(|m| m.map(|m| (m.start(), m.end()))).collect()))
            }
        }
    }

    /// Perl's `split /re/, $s` (trailing empty fields are removed by the caller).
    pub fn split(&self, hay: &[u8]) -> Result<Vec<Vec<u8>>, String> {
        let mut out = Vec::new();
        let (mut last, mut pos) = (0, 0);
        while pos <= hay.len() {
            let Some(g) = self.captures_at(hay, pos)? else {
                break;
            };
            let (s, e) = g[0].unwrap();
            if e == s {
                if s >= hay.len() {
                    break;
                }
                if s == 0 {
                    pos = s + 1;
                    continue;
                }
            }
            out.push(hay[last..s].to_vec());
            last = e;
            pos = if e == s { e + 1 } else { e };
        }
        out.push(hay[last..].to_vec());
        Ok(out)
    }
}

fn unsupported(what: &str, pat: &[u8]) -> String {
    format!("Perl regex feature not supported by the runner ({}) in qr/{}/", what, String::from_utf8_lossy(pat))
}

fn push_byte(out: &mut String, b: u8) {
    if b.is_ascii_alphanumeric() || b == b'_' {
        out.push(b as char);
    } else {
        out.push_str(&format!("\\x{:02X}", b));
    }
}

/// Translates a Perl pattern to the `regex` crate's syntax (byte oriented, Unicode off).
pub fn translate(pat: &[u8], flags: &str) -> Result<String, String> {
    let multiline = flags.contains('m');
    let extended = flags.contains('x');
    let mut out = String::from("(?");
    for f in ['i', 'm', 's', 'x'] {
        if flags.contains(f) {
            out.push(f);
        }
    }
    out.push_str("-u)");
    let mut i = 0;
    while i < pat.len() {
        let c = pat[i];
        match c {
            b'\\' if i + 1 < pat.len() => {
                i += 1;
                let n = pat[i];
                i += 1;
                match n {
                    b'Z' => out.push_str(r"(?:\n?\z)"),
                    b'z' | b'A' | b'b' | b'B' | b'd' | b'D' | b'w' | b'W' | b's' | b'S' | b'n' | b't' | b'r' | b'f' => {
                        out.push('\\');
                        out.push(n as char);
                    }
                    b'h' => out.push_str(r"[\t\x20]"),
                    b'H' => out.push_str(r"[^\t\x20]"),
                    b'e' => out.push_str(r"\x1B"),
                    b'a' => out.push_str(r"\x07"),
                    b'0' => out.push_str(r"\x00"),
                    b'1'..=b'9' => {
                        out.push('\\');
                        out.push(n as char);
                    }
                    b'G' | b'K' | b'R' | b'X' => return Err(unsupported("\\G, \\K, \\R or \\X", pat)),
                    b'x' => {
                        let (v, used) = parse_hex_escape(&pat[i..]);
                        i += used;
                        if v < 256 {
                            push_byte(&mut out, v as u8);
                        } else {
                            let ch = char::from_u32(v).unwrap_or('\u{fffd}');
                            let mut buf = [0u8; 4];
                            out.push_str("(?:");
                            for b in ch.encode_utf8(&mut buf).bytes() {
                                push_byte(&mut out, b);
                            }
                            out.push(')');
                        }
                    }
                    b'Q' => {
                        let end = find_seq(&pat[i..], b"\\E").map(|p| i + p).unwrap_or(pat.len());
                        for &b in &pat[i..end] {
                            push_byte(&mut out, b);
                        }
                        i = (end + 2).min(pat.len());
                    }
                    b'E' => {}
                    n if n.is_ascii_alphanumeric() => {
                        out.push('\\');
                        out.push(n as char);
                    }
                    n => push_byte(&mut out, n),
                }
            }
            b'[' => {
                i = translate_class(pat, i, &mut out)?;
            }
            b'$' => {
                i += 1;
                if multiline {
                    out.push_str("(?m:$)");
                } else {
                    out.push_str(r"(?:\n?\z)");
                }
            }
            b'{' => {
                let q = quantifier_len(&pat[i..]);
                if q > 0 {
                    out.push_str(std::str::from_utf8(&pat[i..i + q]).unwrap());
                    i += q;
                    if i < pat.len() && pat[i] == b'+' {
                        return Err(unsupported("possessive quantifier", pat));
                    }
                } else {
                    out.push_str(r"\{");
                    i += 1;
                }
            }
            b'}' => {
                out.push_str(r"\}");
                i += 1;
            }
            b'(' if pat.get(i + 1) == Some(&b'?') => {
                i = translate_group(pat, i, &mut out)?;
            }
            b'*' | b'+' | b'?' => {
                out.push(c as char);
                i += 1;
                if pat.get(i) == Some(&b'+') {
                    return Err(unsupported("possessive quantifier", pat));
                }
            }
            b'#' if extended => {
                // Comment to end of line in /x mode.
                while i < pat.len() && pat[i] != b'\n' {
                    i += 1;
                }
            }
            b' ' | b'\t' | b'\n' | b'\r' if extended => i += 1,
            b'.' | b'^' | b'|' | b'(' | b')' => {
                out.push(c as char);
                i += 1;
            }
            _ => {
                push_byte(&mut out, c);
                i += 1;
            }
        }
    }
    Ok(out)
}

fn find_seq(h: &[u8], n: &[u8]) -> Option<usize> {
    h.windows(n.len()).position(|w| w == n)
}

fn parse_hex_escape(s: &[u8]) -> (u32, usize) {
    if s.first() == Some(&b'{') {
        let end = s.iter().position(|&b| b == b'}').unwrap_or(s.len());
        let hex = String::from_utf8_lossy(&s[1..end]).trim().to_string();
        return (u32::from_str_radix(&hex, 16).unwrap_or(0), (end + 1).min(s.len()));
    }
    let n = s.iter().take(2).take_while(|b| b.is_ascii_hexdigit()).count();
    let hex = std::str::from_utf8(&s[..n]).unwrap();
    (u32::from_str_radix(hex, 16).unwrap_or(0), n)
}

/// Length of a `{n}`, `{n,}` or `{n,m}` quantifier at the start of `s`, else 0.
fn quantifier_len(s: &[u8]) -> usize {
    let mut i = 1;
    let d1 = s[i..].iter().take_while(|b| b.is_ascii_digit()).count();
    if d1 == 0 {
        return 0;
    }
    i += d1;
    if s.get(i) == Some(&b',') {
        i += 1;
        i += s[i..].iter().take_while(|b| b.is_ascii_digit()).count();
    }
    if s.get(i) == Some(&b'}') {
        i + 1
    } else {
        0
    }
}

fn translate_group(pat: &[u8], start: usize, out: &mut String) -> Result<usize, String> {
    let rest = &pat[start + 2..];
    if rest.starts_with(b"#") {
        let end = rest.iter().position(|&b| b == b')').map(|p| start + 2 + p + 1).unwrap_or(pat.len());
        return Ok(end);
    }
    for la in [&b"="[..], b"!", b"<=", b"<!", b">"] {
        if rest.starts_with(la) {
            // Look-around and atomic groups: left for fancy-regex.
            out.push_str("(?");
            out.push_str(std::str::from_utf8(la).unwrap());
            return Ok(start + 2 + la.len());
        }
    }
    if rest.starts_with(b"|") {
        return Err(unsupported("branch-reset group", pat));
    }
    if rest.starts_with(b"<") || rest.starts_with(b"P<") || rest.starts_with(b"'") {
        // Named group: (?<name>...), (?P<name>...), (?'name'...)
        let skip = if rest[0] == b'P' { 2 } else { 1 };
        let close = if rest[skip - 1] == b'\'' { b'\'' } else { b'>' };
        let end = rest[skip..].iter().position(|&b| b == close).ok_or_else(|| unsupported("bad named group", pat))?;
        out.push_str("(?P<");
        out.push_str(&String::from_utf8_lossy(&rest[skip..skip + end]));
        out.push('>');
        return Ok(start + 2 + skip + end + 1);
    }
    // Inline flags: (?^imsx-imsx) or (?imsx-imsx:
    let mut i = 0;
    let mut flags = String::new();
    while i < rest.len() && (rest[i].is_ascii_alphabetic() || rest[i] == b'-' || rest[i] == b'^') {
        let f = rest[i];
        if f != b'^' && !b"imsx-".contains(&f) {
            return Err(unsupported("inline flag", pat));
        }
        if f != b'^' {
            flags.push(f as char);
        }
        i += 1;
    }
    match rest.get(i) {
        Some(b':') | Some(b')') => {
            let flags = flags.trim_end_matches('-');
            out.push_str("(?");
            out.push_str(flags);
            out.push(rest[i] as char);
            Ok(start + 2 + i + 1)
        }
        _ => Err(unsupported("group syntax", pat)),
    }
}

/// Copies a character class, escaping what the `regex` crate would read as nested classes or
/// set operations.
fn translate_class(pat: &[u8], start: usize, out: &mut String) -> Result<usize, String> {
    let mut i = start + 1;
    out.push('[');
    if pat.get(i) == Some(&b'^') {
        out.push('^');
        i += 1;
    }
    let mut first = true;
    while i < pat.len() {
        let c = pat[i];
        if c == b']' && !first {
            out.push(']');
            return Ok(i + 1);
        }
        first = false;
        match c {
            b'\\' if i + 1 < pat.len() => {
                let n = pat[i + 1];
                i += 2;
                match n {
                    b'h' => out.push_str(r"\t\x20"),
                    b'e' => out.push_str(r"\x1B"),
                    b'0' => out.push_str(r"\x00"),
                    b'x' => {
                        let (v, used) = parse_hex_escape(&pat[i..]);
                        i += used;
                        out.push_str(&format!("\\x{:02X}", v.min(255)));
                    }
                    n if n.is_ascii_alphanumeric() => {
                        out.push('\\');
                        out.push(n as char);
                    }
                    n => out.push_str(&format!("\\x{:02X}", n)),
                }
            }
            b'[' if pat.get(i + 1) == Some(&b':') => {
                let end = find_seq(&pat[i..], b":]").map(|p| i + p + 2).unwrap_or(i + 1);
                out.push_str(&String::from_utf8_lossy(&pat[i..end]));
                i = end;
            }
            b'-' => {
                if pat.get(i + 1) == Some(&b'-') || pat.get(i + 1) == Some(&b']') {
                    out.push_str(r"\-");
                } else {
                    out.push('-');
                }
                i += 1;
            }
            c if c.is_ascii_alphanumeric() || c == b' ' || c == b'_' => {
                out.push(c as char);
                i += 1;
            }
            c => {
                out.push_str(&format!("\\x{:02X}", c));
                i += 1;
            }
        }
    }
    Err(format!("unterminated character class in qr/{}/", String::from_utf8_lossy(pat)))
}
