//! Strings: URI escaping, base64, CRC-32, HMAC-SHA1, SQL quoting and the args codecs.
//! The byte algorithms are plain safe Rust used by the exported C ABI (`exports.rs`);
//! `encode_args`, `decode_args`, `quote_sql_str` and `hmac_sha1` are Lua C functions, as
//! upstream's are. The rest of `ngx.*` here is `lualib/ngx_string.lua` over the exports.

pub mod exports;

use std::ffi::c_int;

use crate::api::string::exports::sha1;
use crate::lua_calls;
use crate::sys::*;

/// `decode_args`' default limit (upstream's NGX_STREAM_LUA_MAX_ARGS).
const MAX_ARGS: i64 = 100;

// ---- URI escaping ----------------------------------------------------------------------

/// Whether `ngx.escape_uri(s, kind)` escapes byte `c`. Kinds are nginx's NGX_ESCAPE_*:
/// 0 URI, 1 ARGS, 2 URI component (the default), 3 HTML, 4 refresh, 5 memcached, 6 mail auth.
fn must_escape(kind: u32, c: u8) -> bool {
    let control = c < 0x20;
    let high = c >= 0x7f;
    match kind {
        0 => control || high || b" #%?".contains(&c),
        1 => control || high || b" #%+?".contains(&c),
        3 => control || high || b" #%\"'".contains(&c),
        // nginx's refresh table leaves '%' alone
        4 => control || high || b" \"'".contains(&c),
        5 | 6 => control || c == b' ' || c == b'%',
        // unreserved in a component: letters, digits and -._~!'()*
        _ => !(c.is_ascii_alphanumeric() || b"-._~!'()*".contains(&c)),
    }
}

/// How many bytes of `src` the escaping of `kind` turns into `%XX`.
pub fn escape_count(src: &[u8], kind: u32) -> usize {
    src.iter().filter(|&&c| must_escape(kind, c)).count()
}

/// Escapes `src` into `dst` (which holds `src.len() + 2 * escape_count`), returning the
/// bytes written.
pub fn escape_uri_into(src: &[u8], dst: &mut [u8], kind: u32) -> usize {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut n = 0;
    for &c in src {
        if must_escape(kind, c) {
            dst[n] = b'%';
            dst[n + 1] = HEX[(c >> 4) as usize];
            dst[n + 2] = HEX[(c & 0xf) as usize];
            n += 3;
        } else {
            dst[n] = c;
            n += 1;
        }
    }
    n
}

pub fn escape_uri(src: &[u8], kind: u32) -> Vec<u8> {
    let mut out = vec![0; src.len() + 2 * escape_count(src, kind)];
    let n = escape_uri_into(src, &mut out, kind);
    out.truncate(n);
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
    let mut n = 0;
    for chunk in src.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let v = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        let chars = chunk.len() + 1;
        for i in 0..4 {
            if i < chars {
                dst[n] = ALPHABET[(v >> (18 - 6 * i) & 0x3f) as usize];
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
pub fn crc32(data: &[u8]) -> u32 {
    !data.iter().fold(!0u32, |c, &b| CRC32[((c ^ b as u32) & 0xff) as usize] ^ (c >> 8))
}

/// HMAC-SHA1 (RFC 2104) over nginx's SHA-1.
pub fn hmac_sha1(key: &[u8], msg: &[u8]) -> [u8; 20] {
    let mut k = [0u8; 64];
    if key.len() > 64 {
        k[..20].copy_from_slice(&sha1(&[key]));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let ipad = k.map(|b| b ^ 0x36);
    let opad = k.map(|b| b ^ 0x5c);
    let inner = sha1(&[&ipad, msg]);
    sha1(&[&opad, &inner])
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

// ---- Lua C functions ---------------------------------------------------------------------

lua_calls! {
    ngx_encode_args => encode_args_impl,
    ngx_decode_args => decode_args_impl,
    ngx_quote_sql_str => quote_sql_str_impl,
    ngx_hmac_sha1 => hmac_sha1_impl,
}

pub fn inject(c: &mut Call, t: c_int) {
    c.set_field_fn(t, c"encode_args", ngx_encode_args);
    c.set_field_fn(t, c"decode_args", ngx_decode_args);
    c.set_field_fn(t, c"quote_sql_str", ngx_quote_sql_str);
    c.set_field_fn(t, c"hmac_sha1", ngx_hmac_sha1);
}

fn quote_sql_str_impl(c: &mut Call) -> LuaResult {
    if c.top() != 1 {
        return err("expecting one argument");
    }
    let out = quote_sql(c.check_bytes(1, "quote_sql_str")?);
    c.push_bytes(&out);
    Ok(1)
}

fn hmac_sha1_impl(c: &mut Call) -> LuaResult {
    let n = c.top();
    if n != 2 {
        return err(format!("expecting 2 arguments, but got {n}"));
    }
    let digest = hmac_sha1(c.check_bytes(1, "hmac_sha1")?, c.check_bytes(2, "hmac_sha1")?);
    c.push_bytes(&digest);
    Ok(1)
}

/// One `key[=value]` of `encode_args`, in the table's traversal order.
struct Pair {
    key: Vec<u8>,
    value: Option<Vec<u8>>,
}

fn encode_args_impl(c: &mut Call) -> LuaResult {
    let n = c.top();
    if n != 1 {
        return err(format!("expecting 1 argument but seen {n}"));
    }
    if c.type_of(1) != LUA_TTABLE {
        return c.arg_error(1, "encode_args", format!("table expected, got {}", c.type_name_at(1)));
    }
    let mut pairs: Vec<Pair> = Vec::new();
    c.push_nil();
    while c.next(1) {
        if c.type_of(-2) != LUA_TSTRING {
            return err("attempt to use a non-string key in the \"args\" option table");
        }
        let key = c.to_bytes(-2).unwrap_or_default().to_vec();
        match c.type_of(-1) {
            LUA_TNUMBER | LUA_TSTRING => {
                let value = c.to_bytes(-1).map(|v| v.to_vec());
                pairs.push(Pair { key, value });
            }
            LUA_TBOOLEAN => {
                if c.to_boolean(-1) {
                    pairs.push(Pair { key, value: None });
                }
            }
            LUA_TTABLE => {
                let sub = c.top();
                c.push_nil();
                while c.next(sub) {
                    if c.type_of(-1) == LUA_TBOOLEAN {
                        if c.to_boolean(-1) {
                            pairs.push(Pair { key: key.clone(), value: None });
                        }
                    } else {
                        // a copy, so converting a number does not touch the table
                        c.push_copy(-1);
                        let Some(v) = c.to_bytes(-1).map(|v| v.to_vec()) else {
                            return err(format!("attempt to use {} as query arg value", c.type_name_at(-1)));
                        };
                        c.pop(1);
                        pairs.push(Pair { key: key.clone(), value: Some(v) });
                    }
                    c.pop(1);
                }
            }
            t => return err(format!("attempt to use {} as query arg value", c.type_name(t))),
        }
        c.pop(1);
    }
    let mut out = Vec::new();
    for (i, p) in pairs.iter().enumerate() {
        if i > 0 {
            out.push(b'&');
        }
        out.extend_from_slice(&escape_uri(&p.key, 2));
        if let Some(v) = &p.value {
            out.push(b'=');
            out.extend_from_slice(&escape_uri(v, 2));
        }
    }
    c.push_bytes(&out);
    Ok(1)
}

/// Splits a query string into `(key, value)` pairs as upstream's parser does: a segment
/// without `=` has the value `true` (None); pairs with an empty key are dropped (but count
/// toward `max`). Returns whether `max` cut the input short.
/// Decoded `key[=value]` pairs of a query string, in order.
pub type ArgPairs = Vec<(Vec<u8>, Option<Vec<u8>>)>;

pub fn parse_args(buf: &[u8], max: i64) -> (ArgPairs, bool) {
    let mut out = Vec::new();
    let mut count = 0i64;
    let mut segments = buf.split(|&c| c == b'&').peekable();
    while let Some(seg) = segments.next() {
        let last = segments.peek().is_none();
        if last && seg.is_empty() {
            break;
        }
        let (key, value) = match seg.iter().position(|&c| c == b'=') {
            Some(i) => (unescape_uri(&seg[..i]), Some(unescape_uri(&seg[i + 1..]))),
            None => (unescape_uri(seg), None),
        };
        if !key.is_empty() {
            out.push((key, value));
        }
        // only segments ended by '&' count toward the limit
        if !last && max > 0 {
            count += 1;
            if count == max {
                return (out, true);
            }
        }
    }
    (out, false)
}

fn decode_args_impl(c: &mut Call) -> LuaResult {
    let n = c.top();
    if n != 1 && n != 2 {
        return err(format!("expecting 1 or 2 arguments but seen {n}"));
    }
    c.check_bytes(1, "decode_args")?;
    let max = if n == 2 {
        if !c.is_number(2) {
            return c.arg_error(2, "decode_args", format!("number expected, got {}", c.type_name_at(2)));
        }
        c.to_integer(2) as c_int as i64
    } else {
        MAX_ARGS
    };
    let (pairs, truncated) = parse_args(c.check_bytes(1, "decode_args")?, max);
    let t = c.new_table(0, 4);
    for (key, value) in pairs {
        c.push_bytes(&key);
        c.push_copy(-1);
        c.raw_get(t);
        // repeated keys collect their values in an array, in order
        let prev = c.type_of(-1);
        if prev == LUA_TNIL {
            c.pop(1);
            push_arg_value(c, &value);
            c.raw_set(t);
        } else if prev == LUA_TTABLE {
            let len = c.obj_len(-1);
            push_arg_value(c, &value);
            c.raw_seti(-2, len + 1);
            c.pop(2);
        } else {
            c.new_table(4, 0);
            c.insert(-2);
            c.raw_seti(-2, 1);
            push_arg_value(c, &value);
            c.raw_seti(-2, 2);
            c.raw_set(t);
        }
    }
    if truncated {
        c.push_bytes(b"truncated");
        return Ok(2);
    }
    Ok(1)
}

fn push_arg_value(c: &mut Call, v: &Option<Vec<u8>>) {
    match v {
        Some(v) => c.push_bytes(v),
        None => c.push_bool(true),
    }
}
