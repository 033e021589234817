//! The byte codecs of the `ngx.*` string APIs, in plain safe Rust with no nginx or Lua in
//! sight, so `cargo test` can check them on their own: URI escaping and unescaping (nginx's
//! escape kinds), base64 encoding, CRC-32, SQL quoting and the query-args parser.

/// `decode_args`' default limit (upstream's NGX_STREAM_LUA_MAX_ARGS).
pub const MAX_ARGS: i64 = 100;

// ---- URI escaping ----------------------------------------------------------------------

/// Whether `ngx.escape_uri(s, kind)` escapes byte `c`. Kinds are nginx's NGX_ESCAPE_*:
/// 0 URI, 1 ARGS, 2 URI component (the default), 3 HTML, 4 refresh, 5 memcached, 6 mail auth.
const fn escapes(kind: u32, c: u8) -> bool {
    let control = c < 0x20;
    let high = c >= 0x7f;
    match kind {
        0 => control || high || one_of(c, b" #%?"),
        1 => control || high || one_of(c, b" #%+?"),
        3 => control || high || one_of(c, b" #%\"'"),
        // nginx's refresh table leaves '%' alone
        4 => control || high || one_of(c, b" \"'"),
        5 | 6 => control || c == b' ' || c == b'%',
        // unreserved in a component: letters, digits and -._~!'()*
        _ => !(c.is_ascii_alphanumeric() || one_of(c, b"-._~!'()*")),
    }
}

const fn one_of(c: u8, set: &[u8]) -> bool {
    let mut i = 0;
    while i < set.len() {
        if set[i] == c {
            return true;
        }
        i += 1;
    }
    false
}

/// One bit per byte value: set where the kind escapes it.
type EscapeMap = [u32; 8];

const fn escape_map(kind: u32) -> EscapeMap {
    let mut m = [0u32; 8];
    let mut c = 0;
    while c < 256 {
        if escapes(kind, c as u8) {
            m[c >> 5] |= 1 << (c & 31);
        }
        c += 1;
    }
    m
}

/// The kinds' maps, built at compile time: testing `escapes` per byte (a match on the kind
/// and a search of its set) made `ngx.escape_uri` 5x slower than nginx's bitmaps.
static ESCAPE_MAPS: [EscapeMap; 7] =
    [escape_map(0), escape_map(1), escape_map(2), escape_map(3), escape_map(4), escape_map(5), escape_map(6)];

/// The map of `kind` (an unknown kind escapes as a URI component, like kind 2).
fn map_of(kind: u32) -> &'static EscapeMap {
    ESCAPE_MAPS.get(kind as usize).unwrap_or(&ESCAPE_MAPS[2])
}

#[inline]
fn must_escape(map: &EscapeMap, c: u8) -> bool {
    map[(c >> 5) as usize] & (1 << (c & 31)) != 0
}

/// How many bytes of `src` the escaping of `kind` turns into `%XX`.
pub fn escape_count(src: &[u8], kind: u32) -> usize {
    let map = map_of(kind);
    src.iter().filter(|&&c| must_escape(map, c)).count()
}

/// Escapes `src` into `dst` (which holds `src.len() + 2 * escape_count`), returning the
/// bytes written.
pub fn escape_uri_into(src: &[u8], dst: &mut [u8], kind: u32) -> usize {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let map = map_of(kind);
    let mut n = 0;
    for &c in src {
        if must_escape(map, c) {
            dst[n..n + 3].copy_from_slice(&[b'%', HEX[(c >> 4) as usize], HEX[(c & 0xf) as usize]]);
            n += 3;
        } else {
            dst[n] = c;
            n += 1;
        }
    }
    n
}

/// Appends the escaping of `src` to `out`.
pub fn escape_uri_append(src: &[u8], kind: u32, out: &mut Vec<u8>) {
    let start = out.len();
    out.resize(start + src.len() + 2 * escape_count(src, kind), 0);
    escape_uri_into(src, &mut out[start..], kind);
}

pub fn escape_uri(src: &[u8], kind: u32) -> Vec<u8> {
    let mut out = Vec::new();
    escape_uri_append(src, kind, &mut out);
    out
}

fn hex_val(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

/// Unescapes a URI component into `dst` (at least `src.len()` bytes), returning the length.
/// Like upstream: `+` is a space; a `%` followed by a non-hex byte is dropped (the byte is
/// kept); a `%X` followed by a non-hex byte drops all three.
pub fn unescape_uri_into(src: &[u8], dst: &mut [u8]) -> usize {
    enum St {
        Usual,
        Quoted,
        Second(u8),
    }
    let mut st = St::Usual;
    let mut n = 0;
    for &c in src {
        st = match st {
            St::Usual => match c {
                b'%' => St::Quoted,
                _ => {
                    dst[n] = if c == b'+' { b' ' } else { c };
                    n += 1;
                    St::Usual
                }
            },
            St::Quoted => match hex_val(c) {
                Some(h) => St::Second(h),
                None => {
                    dst[n] = c;
                    n += 1;
                    St::Usual
                }
            },
            St::Second(h) => {
                if let Some(l) = hex_val(c) {
                    dst[n] = (h << 4) | l;
                    n += 1;
                }
                St::Usual
            }
        };
    }
    n
}

pub fn unescape_uri(src: &[u8]) -> Vec<u8> {
    let mut out = vec![0; src.len()];
    let n = unescape_uri_into(src, &mut out);
    out.truncate(n);
    out
}

// ---- base64 ------------------------------------------------------------------------------

/// Standard base64 of `src` into `dst` (sized by the caller), without `=` when `no_padding`;
/// returns the bytes written.
pub fn encode_base64_into(src: &[u8], dst: &mut [u8], no_padding: bool) -> usize {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let char_of = |v: u32, i: u32| ALPHABET[(v >> (18 - 6 * i) & 0x3f) as usize];
    // whole groups first: 3 bytes to 4 characters, no per-byte branches
    let groups = src.chunks_exact(3);
    let tail = groups.remainder();
    let mut n = 0;
    for (g, out) in groups.zip(dst.chunks_exact_mut(4)) {
        let v = (g[0] as u32) << 16 | (g[1] as u32) << 8 | g[2] as u32;
        out.copy_from_slice(&[char_of(v, 0), char_of(v, 1), char_of(v, 2), char_of(v, 3)]);
        n += 4;
    }
    if !tail.is_empty() {
        let v = (tail[0] as u32) << 16 | (*tail.get(1).unwrap_or(&0) as u32) << 8;
        let chars = tail.len() + 1;
        for i in 0..4 {
            if i < chars {
                dst[n] = char_of(v, i as u32);
            } else if no_padding {
                break;
            } else {
                dst[n] = b'=';
            }
            n += 1;
        }
    }
    n
}

// ---- CRC-32 and HMAC-SHA1 --------------------------------------------------------------

const fn crc32_table() -> [u32; 256] {
    let mut t = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 { 0xedb8_8320 ^ (c >> 1) } else { c >> 1 };
            k += 1;
        }
        t[i] = c;
        i += 1;
    }
    t
}

static CRC32: [u32; 256] = crc32_table();

/// The CRC-32 nginx's ngx_crc32_short and ngx_crc32_long both compute (they differ only in
/// table size).
#[inline]
pub fn crc32(data: &[u8]) -> u32 {
    !data.iter().fold(!0u32, |c, &b| CRC32[((c ^ b as u32) & 0xff) as usize] ^ (c >> 8))
}

// ---- SQL quoting -------------------------------------------------------------------------

/// `'...'` with MySQL's escapes (bytes with the high bit set, i.e. UTF-8, pass through).
pub fn quote_sql(src: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(src.len() + 2);
    out.push(b'\'');
    for &c in src {
        let esc = match c {
            0 => b'0',
            8 => b'b',
            b'\n' => b'n',
            b'\r' => b'r',
            b'\t' => b't',
            26 => b'Z',
            b'\\' | b'\'' | b'"' => c,
            _ => {
                out.push(c);
                continue;
            }
        };
        out.extend_from_slice(&[b'\\', esc]);
    }
    out.push(b'\'');
    out
}

// ---- query args ------------------------------------------------------------------------

/// Decoded `key[=value]` pairs of a query string, in order.
pub type ArgPairs = Vec<(Vec<u8>, Option<Vec<u8>>)>;

/// Splits a query string into `(key, value)` pairs as upstream's parser does: a segment
/// without `=` has the value `true` (None); pairs with an empty key are dropped (but count
/// toward `max`). Returns whether `max` cut the input short.
pub fn parse_args(buf: &[u8], max: i64) -> (ArgPairs, bool) {
    let mut out = Vec::new();
    let truncated = each_arg(buf, max, &mut vec![0; buf.len()], |key, value| {
        out.push((key.to_vec(), value.map(<[u8]>::to_vec)));
    });
    (out, truncated)
}

/// `decode_args`' pairs as `visit(key, value)` calls, unescaped into `scratch` (at least
/// `buf.len()` bytes: unescaping never grows; no allocation per pair): segments split at `&`,
/// a `key=value` or a bare `key` (None), empty keys (after unescaping) skipped, at most `max`
/// segments ended by `&` (0 or less: all). Returns whether it stopped at `max`.
pub fn each_arg(buf: &[u8], max: i64, scratch: &mut [u8], mut visit: impl FnMut(&[u8], Option<&[u8]>)) -> bool {
    let mut count = 0i64;
    let mut segments = buf.split(|&c| c == b'&').peekable();
    while let Some(seg) = segments.next() {
        let last = segments.peek().is_none();
        if last && seg.is_empty() {
            break;
        }
        let (key_raw, value_raw) = match seg.iter().position(|&c| c == b'=') {
            Some(i) => (&seg[..i], Some(&seg[i + 1..])),
            None => (seg, None),
        };
        let key_len = unescape_uri_into(key_raw, scratch);
        let (key, rest) = scratch.split_at_mut(key_len);
        if !key.is_empty() {
            let value = value_raw.map(|v| {
                let n = unescape_uri_into(v, rest);
                &rest[..n]
            });
            visit(key, value);
        }
        // only segments ended by '&' count toward the limit
        if !last && max > 0 {
            count += 1;
            if count == max {
                return true;
            }
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small deterministic generator, so the round trips below see the same bytes each run.
    fn bytes(seed: u64, n: usize) -> Vec<u8> {
        let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect()
    }

    #[test]
    fn escape_component_keeps_unreserved_only() {
        assert_eq!(escape_uri(b"a b/c?d=e&f#g%h+i", 2), b"a%20b%2Fc%3Fd%3De%26f%23g%25h%2Bi");
        assert_eq!(escape_uri(b"-._~!'()*AZaz09", 2), b"-._~!'()*AZaz09");
        assert_eq!(escape_uri("你".as_bytes(), 2), b"%E4%BD%A0");
    }

    #[test]
    fn each_kind_escapes_its_own_set() {
        let src = b"a/b?c#d%e+f\"g'h i\x01\x7f";
        assert_eq!(escape_uri(src, 0), b"a/b%3Fc%23d%25e+f\"g'h%20i%01%7F");
        assert_eq!(escape_uri(src, 1), b"a/b%3Fc%23d%25e%2Bf\"g'h%20i%01%7F");
        assert_eq!(escape_uri(src, 3), b"a/b?c%23d%25e+f%22g%27h%20i%01%7F");
        assert_eq!(escape_uri(src, 4), b"a/b?c#d%e+f%22g%27h%20i%01%7F");
        assert_eq!(escape_uri(src, 5), b"a/b?c#d%25e+f\"g'h%20i%01\x7f");
        assert_eq!(escape_uri(src, 6), escape_uri(src, 5));
        // an unknown kind escapes as a component
        assert_eq!(escape_uri(src, 9), escape_uri(src, 2));
    }

    #[test]
    fn escape_count_matches_the_output() {
        for kind in 0..=6 {
            for seed in 0..50 {
                let src = bytes(seed, seed as usize * 3);
                let out = escape_uri(&src, kind);
                assert_eq!(out.len(), src.len() + 2 * escape_count(&src, kind), "kind {kind}");
            }
        }
    }

    #[test]
    fn unescape_decodes_plus_and_keeps_bad_escapes_text() {
        assert_eq!(unescape_uri(b"a%20b+c%2Fd%e4%BD%a0"), "a b c/d你".as_bytes());
        assert_eq!(unescape_uri(b"%zz|%2z|%|x%"), b"zz|||x");
        assert_eq!(unescape_uri(b""), b"");
    }

    #[test]
    fn unescape_undoes_escape_for_every_byte() {
        let all: Vec<u8> = (0..=255).collect();
        assert_eq!(unescape_uri(&escape_uri(&all, 2)), all);
        for seed in 0..200 {
            let src = bytes(seed, (seed % 64) as usize);
            assert_eq!(unescape_uri(&escape_uri(&src, 2)), src, "seed {seed}");
        }
    }

    #[test]
    fn base64_with_and_without_padding() {
        let enc = |s: &[u8], no_padding| {
            let mut out = vec![0u8; s.len().div_ceil(3) * 4];
            let n = encode_base64_into(s, &mut out, no_padding);
            out.truncate(n);
            out
        };
        assert_eq!(enc(b"", false), b"");
        assert_eq!(enc(b"hello", false), b"aGVsbG8=");
        assert_eq!(enc(b"hello", true), b"aGVsbG8");
        assert_eq!(enc(b"hell", false), b"aGVsbA==");
        assert_eq!(enc(b"hel", true), b"aGVs");
        assert_eq!(enc(&[0xff, 0xfe], false), b"//4=");
    }

    #[test]
    fn crc32_is_the_standard_one() {
        assert_eq!(crc32(b""), 0);
        assert_eq!(crc32(b"hello"), 0x3610_a686);
        assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
    }

    #[test]
    fn quote_sql_escapes_mysql_specials() {
        assert_eq!(quote_sql(b""), b"''");
        assert_eq!(quote_sql(b"a'b\"c\\d"), b"'a\\'b\\\"c\\\\d'");
        assert_eq!(quote_sql(b"\0\x08\n\r\t\x1a"), b"'\\0\\b\\n\\r\\t\\Z'");
        assert_eq!(quote_sql("中".as_bytes()), "'中'".as_bytes());
    }

    fn pair(k: &str, v: Option<&str>) -> (Vec<u8>, Option<Vec<u8>>) {
        (k.as_bytes().to_vec(), v.map(|v| v.as_bytes().to_vec()))
    }

    #[test]
    fn parse_args_pairs_flags_and_empty_keys() {
        let (pairs, cut) = parse_args(b"a=1&b&a=2&=x&c=%20+&", MAX_ARGS);
        assert_eq!(pairs, vec![pair("a", Some("1")), pair("b", None), pair("a", Some("2")), pair("c", Some("  "))]);
        assert!(!cut);
        assert_eq!(parse_args(b"", MAX_ARGS), (vec![], false));
    }

    #[test]
    fn parse_args_stops_at_max() {
        let (pairs, cut) = parse_args(b"a=1&b=2&c=3", 2);
        assert_eq!(pairs, vec![pair("a", Some("1")), pair("b", Some("2"))]);
        assert!(cut);
        // the last segment is not ended by '&': it does not count toward the limit
        assert!(!parse_args(b"a=1&b=2", 2).1);
        // 0 (or less) means no limit
        assert_eq!(parse_args(b"a&b&c&d", 0).0.len(), 4);
    }
}
