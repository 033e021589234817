//! ngx.re: the replacement templates of `ngx.re.sub`/`gsub` (`$0`, `$1`, `${1}`, `$$`) and the
//! regex limits of the configuration. The PCRE2 calls and the exported ABI live in
//! `exports.rs`; the Lua API is `lualib/ngx_re.lua` and `lualib/ngx_re_module.lua`.

pub mod exports;

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

/// Byte range of capture `n` in `caps` (pairs of offsets, `count` pairs valid), if it matched.
pub fn capture_range(caps: &[i32], n: usize) -> Option<(usize, usize)> {
    let (from, to) = (*caps.get(2 * n)?, *caps.get(2 * n + 1)?);
    (from >= 0 && to >= from).then_some((from as usize, to as usize))
}

impl Template {
    /// Length of the expansion for a match whose valid capture offsets are `caps`.
    pub fn eval_len(&self, caps: &[i32]) -> usize {
        self.0
            .iter()
            .map(|p| match p {
                Piece::Lit(s) => s.len(),
                Piece::Cap(n) => capture_range(caps, *n).map_or(0, |(f, t)| t - f),
            })
            .sum()
    }
}

/// `lua_regex_cache_max_entries` (default 1024).
pub fn cache_max_entries() -> usize {
    crate::conf::cycle_main_conf().and_then(|c| c.regex_cache_max_entries).unwrap_or(1024)
}

/// `lua_regex_match_limit` (0: PCRE2's default); None while no running cycle's configuration
/// is known (init_by_lua at the first start).
pub fn match_limit() -> Option<usize> {
    crate::conf::cycle_main_conf().map(|c| c.regex_match_limit.unwrap_or(0))
}
