//! The replacement templates of `ngx.re.sub`/`gsub`: `$N` and `${N}` insert capture N, `$$` a
//! dollar sign; named captures are refused. Parsing follows upstream's rules and error texts;
//! expansion works on a match's capture offsets (pairs of `i32`, -1 for an unset group).

/// One step of a compiled replacement template.
#[derive(Debug, PartialEq)]
pub enum Piece {
    Lit(Vec<u8>),
    /// The text of capture group N (empty when the group did not take part in the match).
    Cap(usize),
}

/// A replacement template that refers to captures (templates without `$` are used as they are).
#[derive(Debug, PartialEq)]
pub struct Template(pub Vec<Piece>);

/// Compiles a template with upstream's rules and error texts: only numbered captures, `$$` for
/// a dollar sign. `Ok(None)` when there is no `$` at all.
pub fn compile_template(src: &[u8]) -> Result<Option<Template>, String> {
    if !src.contains(&b'$') {
        return Ok(None);
    }
    let invalid =
        || format!("lua script: invalid capturing variable name found in \"{}\"", String::from_utf8_lossy(src));
    let mut pieces = Vec::new();
    let mut i = 0;
    while i < src.len() {
        if src[i] != b'$' {
            let start = i;
            while i < src.len() && src[i] != b'$' {
                i += 1;
            }
            pieces.push(Piece::Lit(src[start..i].to_vec()));
            continue;
        }
        i += 1;
        let Some(&c) = src.get(i) else {
            return Err(invalid());
        };
        if c == b'$' {
            pieces.push(Piece::Lit(b"$".to_vec()));
            i += 1;
            continue;
        }
        let mut numeric = c.is_ascii_digit();
        let mut bracket = false;
        if c == b'{' {
            bracket = true;
            i += 1;
            let Some(&c) = src.get(i) else {
                return Err(invalid());
            };
            numeric = c.is_ascii_digit();
        }
        let start = i;
        let mut end = src.len();
        let mut n: usize = 0;
        while i < src.len() {
            let ch = src[i];
            if ch == b'}' && bracket {
                bracket = false;
                end = i;
                i += 1;
                break;
            }
            let more = if numeric { ch.is_ascii_digit() } else { ch.is_ascii_alphanumeric() || ch == b'_' };
            if !more {
                end = i;
                break;
            }
            if numeric {
                n = n.saturating_mul(10).saturating_add((ch - b'0') as usize);
            }
            i += 1;
        }
        let name = String::from_utf8_lossy(&src[start..end]).into_owned();
        if bracket {
            return Err(format!("the closing bracket in \"{name}\" variable is missing"));
        }
        if name.is_empty() {
            return Err(invalid());
        }
        if !numeric {
            return Err(format!(
                "attempt to use named capturing variable \"{name}\" (named captures not supported yet)"
            ));
        }
        pieces.push(Piece::Cap(n));
    }
    Ok(Some(Template(pieces)))
}

/// Byte range of capture `n` in `caps` (pairs of offsets), if it matched.
#[inline]
pub fn capture_range(caps: &[i32], n: usize) -> Option<(usize, usize)> {
    // a huge N (the parser saturates) is an unset capture: 2 * N must not wrap around to a
    // real group, nor overflow (a panic with overflow checks)
    let i = n.checked_mul(2)?;
    let (from, to) = (*caps.get(i)?, *caps.get(i.checked_add(1)?)?);
    (from >= 0 && to >= from).then_some((from as usize, to as usize))
}

impl Template {
    /// Length of the expansion for a match whose valid capture offsets are `caps`.
    #[inline]
    pub fn eval_len(&self, caps: &[i32]) -> usize {
        self.0
            .iter()
            .map(|p| match p {
                Piece::Lit(s) => s.len(),
                Piece::Cap(n) => capture_range(caps, *n).map_or(0, |(f, t)| t - f),
            })
            .sum()
    }

    /// In one pass: the expansion's length and how much of the subject it reads (the end of
    /// the furthest capture it uses).
    #[inline]
    pub fn extent(&self, caps: &[i32]) -> (usize, usize) {
        let (mut len, mut end) = (0, 0);
        for p in &self.0 {
            match p {
                Piece::Lit(s) => len += s.len(),
                Piece::Cap(n) => {
                    if let Some((f, t)) = capture_range(caps, *n) {
                        len += t - f;
                        end = end.max(t);
                    }
                }
            }
        }
        (len, end)
    }

    /// Writes the expansion for a match of `subject` into `dst` (as much as fits; `eval_len`
    /// bytes is enough); returns the length written. Captures past the subject count as unset.
    #[inline]
    pub fn eval_into(&self, subject: &[u8], caps: &[i32], dst: &mut [u8]) -> usize {
        let mut written = 0;
        for p in &self.0 {
            let src: &[u8] = match p {
                Piece::Lit(s) => s,
                Piece::Cap(n) => match capture_range(caps, *n).and_then(|(f, t)| subject.get(f..t)) {
                    Some(s) => s,
                    None => continue,
                },
            };
            let n = src.len().min(dst.len() - written);
            dst[written..written + n].copy_from_slice(&src[..n]);
            written += n;
        }
        written
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pieces(src: &str) -> Vec<Piece> {
        compile_template(src.as_bytes()).unwrap().unwrap().0
    }

    fn lit(s: &str) -> Piece {
        Piece::Lit(s.as_bytes().to_vec())
    }

    #[test]
    fn extent_is_the_length_and_the_subject_read() {
        let t = compile_template(b"<$2|$1>").unwrap().unwrap();
        let caps = [0, 9, 1, 3, 5, 8];
        assert_eq!(t.extent(&caps), (t.eval_len(&caps), 8));
        let mut out = [0u8; 16];
        let n = t.eval_into(b"abcdefghi", &caps, &mut out);
        assert_eq!(&out[..n], b"<fgh|bc>");
        assert_eq!(t.extent(&[0, 1, -1, -1]), (3, 0));
    }

    #[test]
    fn no_dollar_is_used_as_is() {
        assert_eq!(compile_template(b"plain text"), Ok(None));
        assert_eq!(compile_template(b""), Ok(None));
    }

    #[test]
    fn numbered_captures_and_dollars() {
        assert_eq!(pieces("[$0]"), vec![lit("["), Piece::Cap(0), lit("]")]);
        assert_eq!(pieces("$1$2"), vec![Piece::Cap(1), Piece::Cap(2)]);
        assert_eq!(pieces("${12}3"), vec![Piece::Cap(12), lit("3")]);
        assert_eq!(pieces("$12a"), vec![Piece::Cap(12), lit("a")]);
        assert_eq!(pieces("a$$b"), vec![lit("a"), lit("$"), lit("b")]);
        assert_eq!(pieces("$$1"), vec![lit("$"), lit("1")]);
        // huge numbers saturate instead of overflowing
        assert_eq!(pieces("$99999999999999999999999"), vec![Piece::Cap(usize::MAX)]);
    }

    #[test]
    fn errors_keep_upstreams_texts() {
        let invalid = |s: &str| format!("lua script: invalid capturing variable name found in \"{s}\"");
        assert_eq!(compile_template(b"a$"), Err(invalid("a$")));
        assert_eq!(compile_template(b"${"), Err(invalid("${")));
        assert_eq!(compile_template(b"$ x"), Err(invalid("$ x")));
        assert_eq!(compile_template(b"${}"), Err(invalid("${}")));
        assert_eq!(compile_template(b"${1"), Err("the closing bracket in \"1\" variable is missing".into()));
        assert_eq!(compile_template(b"${ab"), Err("the closing bracket in \"ab\" variable is missing".into()));
        assert_eq!(
            compile_template(b"$name!"),
            Err("attempt to use named capturing variable \"name\" (named captures not supported yet)".into())
        );
        assert_eq!(
            compile_template(b"${na_me}"),
            Err("attempt to use named capturing variable \"na_me\" (named captures not supported yet)".into())
        );
    }

    #[test]
    fn capture_ranges() {
        let caps = [0, 5, -1, -1, 2, 4];
        assert_eq!(capture_range(&caps, 0), Some((0, 5)));
        assert_eq!(capture_range(&caps, 1), None);
        assert_eq!(capture_range(&caps, 2), Some((2, 4)));
        assert_eq!(capture_range(&caps, 3), None);
    }

    #[test]
    fn expansion() {
        let t = compile_template(b"<$2|$1|$$|$9>").unwrap().unwrap();
        let subject = b"hello world";
        let caps = [0, 11, 0, 5, 6, 11];
        let n = t.eval_len(&caps);
        assert_eq!(n, "<world|hello|$|>".len());
        let mut out = vec![0u8; n];
        assert_eq!(t.eval_into(subject, &caps, &mut out), n);
        assert_eq!(out, b"<world|hello|$|>");
        // an unset group expands to nothing; a short buffer gets what fits
        let caps = [0, 5, -1, -1, 0, 5];
        assert_eq!(t.eval_len(&caps), "<hello||$|>".len());
        let mut short = [0u8; 3];
        assert_eq!(t.eval_into(subject, &caps, &mut short), 3);
        assert_eq!(&short, b"<he");
    }
}
