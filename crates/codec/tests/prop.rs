//! Property tests of the codecs against small models written for the tests.  Short by
//! default (see `CASES`); `scripts/fuzz.sh` runs them longer through PROPTEST_CASES.

use proptest::prelude::*;
use stream_lua_codec::*;

/// Cases per property unless PROPTEST_CASES says otherwise: keeps `cargo test` well under 5 s.
const CASES: u32 = 256;

fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(CASES);
    ProptestConfig { cases, failure_persistence: None, ..ProptestConfig::default() }
}

/// Bytes leaning towards the interesting ones for these codecs.
fn codec_bytes() -> impl Strategy<Value = Vec<u8>> {
    let byte = prop_oneof![
        4 => any::<u8>(),
        2 => prop::sample::select(b"%+&=?#'\"\\ \0\n\r\t\x1a\x08".to_vec()),
        2 => prop::sample::select(b"0123456789abcdefABCDEF".to_vec()),
    ];
    prop::collection::vec(byte, 0..64)
}

// ---- base64: a bit-by-bit model encoder and a decoder ----

const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn model_base64(src: &[u8], no_padding: bool) -> Vec<u8> {
    let bits: Vec<u8> = src.iter().flat_map(|b| (0..8).rev().map(move |i| (b >> i) & 1)).collect();
    let mut out: Vec<u8> = bits
        .chunks(6)
        .map(|c| {
            let v = (0..6).fold(0u8, |acc, i| acc << 1 | c.get(i).copied().unwrap_or(0));
            B64[v as usize]
        })
        .collect();
    if !no_padding {
        while !out.len().is_multiple_of(4) {
            out.push(b'=');
        }
    }
    out
}

fn decode_base64(s: &[u8]) -> Option<Vec<u8>> {
    let s: Vec<u8> = s.iter().copied().filter(|&c| c != b'=').collect();
    let mut bits = Vec::new();
    for c in s {
        let v = B64.iter().position(|&x| x == c)? as u8;
        bits.extend((0..6).rev().map(|i| (v >> i) & 1));
    }
    Some(bits.chunks_exact(8).map(|c| c.iter().fold(0u8, |a, b| a << 1 | b)).collect())
}

fn encode_base64(src: &[u8], no_padding: bool) -> Vec<u8> {
    let mut out = vec![0xAA; src.len().div_ceil(3) * 4];
    let n = encode_base64_into(src, &mut out, no_padding);
    out.truncate(n);
    out
}

// ---- URI escaping: which bytes each kind keeps, from the documented sets ----

fn escaped_by(kind: u32, c: u8) -> bool {
    let ctl_or_high = !(0x20..0x7f).contains(&c);
    match kind {
        0 => ctl_or_high || matches!(c, b' ' | b'#' | b'%' | b'?'),
        1 => ctl_or_high || matches!(c, b' ' | b'#' | b'%' | b'+' | b'?'),
        3 => ctl_or_high || matches!(c, b' ' | b'#' | b'%' | b'"' | b'\''),
        4 => ctl_or_high || matches!(c, b' ' | b'"' | b'\''),
        5 | 6 => c <= 0x20 || c == b'%',
        _ => !(c.is_ascii_alphanumeric() || b"-._~!'()*".contains(&c)),
    }
}

fn model_escape(src: &[u8], kind: u32) -> Vec<u8> {
    let mut out = Vec::new();
    for &c in src {
        if escaped_by(kind, c) {
            out.extend_from_slice(format!("%{:02X}", c).as_bytes());
        } else {
            out.push(c);
        }
    }
    out
}

/// Unescaping as upstream documents it: `+` is a space, `%XX` a byte, a `%` before a non-hex
/// byte disappears, `%X` before a non-hex byte drops all three.
fn model_unescape(src: &[u8]) -> Vec<u8> {
    let hex = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::new();
    let mut i = 0;
    while i < src.len() {
        let c = src[i];
        if c != b'%' {
            out.push(if c == b'+' { b' ' } else { c });
            i += 1;
            continue;
        }
        match src.get(i + 1).map(|&c| (c, hex(c))) {
            None => i += 1,
            Some((c1, None)) => {
                out.push(c1);
                i += 2;
            }
            Some((_, Some(h))) => match src.get(i + 2).map(|&c| hex(c)) {
                None => i += 2,
                Some(Some(l)) => {
                    out.push(h << 4 | l);
                    i += 3;
                }
                Some(None) => i += 3,
            },
        }
    }
    out
}

// ---- SQL quoting: the inverse, to check round trips ----

fn unquote_sql(q: &[u8]) -> Option<Vec<u8>> {
    let inner = q.strip_prefix(b"'")?.strip_suffix(b"'")?;
    let mut out = Vec::new();
    let mut it = inner.iter();
    while let Some(&c) = it.next() {
        if c == b'\'' {
            return None; // an unescaped quote inside
        }
        if c != b'\\' {
            out.push(c);
            continue;
        }
        out.push(match *it.next()? {
            b'0' => 0,
            b'b' => 8,
            b'n' => b'\n',
            b'r' => b'\r',
            b't' => b'\t',
            b'Z' => 26,
            c @ (b'\\' | b'\'' | b'"') => c,
            _ => return None,
        });
    }
    Some(out)
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn base64_matches_the_model_and_round_trips(src in prop::collection::vec(any::<u8>(), 0..100), np in any::<bool>()) {
        let got = encode_base64(&src, np);
        prop_assert_eq!(&got, &model_base64(&src, np));
        prop_assert_eq!(decode_base64(&got), Some(src.clone()));
        if np {
            prop_assert!(!got.contains(&b'='));
        } else {
            prop_assert_eq!(got.len() % 4, 0);
        }
    }

    #[test]
    fn escape_matches_the_model(src in codec_bytes(), kind in 0u32..8) {
        let got = escape_uri(&src, kind);
        prop_assert_eq!(&got, &model_escape(&src, kind));
        prop_assert_eq!(got.len(), src.len() + 2 * escape_count(&src, kind));
        // the `_into` form with the exact size the count promises
        let mut dst = vec![0; got.len()];
        prop_assert_eq!(escape_uri_into(&src, &mut dst, kind), got.len());
        prop_assert_eq!(dst, got);
    }

    #[test]
    fn unescape_inverts_escape(src in codec_bytes(), kind in 0u32..8) {
        // kinds that leave `+` or `%` alone cannot bring them back (unescaping makes `+` a
        // space and reads `%` as an escape): only inputs without them round-trip there
        let src: Vec<u8> = src.into_iter().filter(|&c| !matches!(c, b'+' | b'%') || escaped_by(kind, c)).collect();
        prop_assert_eq!(unescape_uri(&escape_uri(&src, kind)), src);
    }

    #[test]
    fn unescape_matches_the_model(src in codec_bytes()) {
        let got = unescape_uri(&src);
        prop_assert!(got.len() <= src.len());
        prop_assert_eq!(got, model_unescape(&src));
    }

    #[test]
    fn quote_sql_round_trips(src in codec_bytes()) {
        let q = quote_sql(&src);
        prop_assert_eq!(unquote_sql(&q), Some(src));
    }

    #[test]
    fn args_round_trip_through_encoding(
        pairs in prop::collection::vec((prop::collection::vec(any::<u8>(), 1..8), prop::option::of(codec_bytes())), 0..12),
        max in prop_oneof![Just(0i64), Just(-1i64), 1i64..15],
    ) {
        let encoded: Vec<Vec<u8>> = pairs
            .iter()
            .map(|(k, v)| {
                let mut s = escape_uri(k, 2);
                if let Some(v) = v {
                    s.push(b'=');
                    s.extend(escape_uri(v, 2));
                }
                s
            })
            .collect();
        let query = encoded.join(&b'&');
        let (got, truncated) = parse_args(&query, max);
        let n = pairs.len();
        let keep = if max > 0 { n.min(max as usize) } else { n };
        prop_assert_eq!(truncated, max > 0 && n > max as usize);
        prop_assert_eq!(got, pairs[..keep].to_vec());
    }

    #[test]
    fn args_parse_never_panics_and_drops_empty_keys(buf in codec_bytes(), max in -2i64..5) {
        let (got, _) = parse_args(&buf, max);
        prop_assert!(got.iter().all(|(k, _)| !k.is_empty()));
        if max > 0 {
            prop_assert!(got.len() <= max as usize);
        }
    }

    #[test]
    fn crc32_is_linear_in_xor(a in prop::collection::vec(any::<u8>(), 0..40), b in prop::collection::vec(any::<u8>(), 0..40)) {
        // CRC-32 is affine: crc(a ^ b) == crc(a) ^ crc(b) ^ crc(0..0) for equal lengths
        let n = a.len().min(b.len());
        let (a, b) = (&a[..n], &b[..n]);
        let x: Vec<u8> = a.iter().zip(b).map(|(p, q)| p ^ q).collect();
        prop_assert_eq!(crc32(&x), crc32(a) ^ crc32(b) ^ crc32(&vec![0; n]));
    }
}

#[test]
fn crc32_check_value() {
    assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
}
