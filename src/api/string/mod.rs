//! Strings: URI escaping, base64, CRC-32, HMAC-SHA1, SQL quoting and the args codecs.
//! The byte algorithms live in the `stream-lua-codec` crate (crates/codec, unit-tested) and
//! serve the exported C ABI (`exports.rs`);
//! `encode_args`, `decode_args`, `quote_sql_str` and `hmac_sha1` are Lua C functions, as
//! upstream's are. The rest of `ngx.*` here is `lualib/ngx_string.lua` over the exports.

pub mod exports;

use std::ffi::c_int;

pub use stream_lua_codec::*;

use crate::api::spare::Spare;
use crate::api::string::exports::sha1;
use crate::lua_calls;
use crate::sys::*;

// ---- HMAC ----------------------------------------------------------------------------------

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
/// Appends `key` or `key=value`, escaped, to a query string being built (`&` before all
/// but the first, even after an empty key).
fn put_arg(out: &mut Vec<u8>, first: &mut bool, key: &[u8], value: Option<&[u8]>) {
    if !std::mem::take(first) {
        out.push(b'&');
    }
    escape_uri_append(key, 2, out);
    if let Some(v) = value {
        out.push(b'=');
        escape_uri_append(v, 2, out);
    }
}

fn encode_args_impl(c: &mut Call) -> LuaResult {
    let n = c.top();
    if n != 1 {
        return err(format!("expecting 1 argument but seen {n}"));
    }
    if c.type_of(1) != LUA_TTABLE {
        return c.arg_error(1, "encode_args", format!("table expected, got {}", c.type_name_at(1)));
    }
    // (written straight into the worker's spare vector: no copy per key or value)
    let mut out = Spare::take();
    let mut first = true;
    c.push_nil();
    while c.next(1) {
        let (k, v) = (c.top() - 1, c.top());
        if c.type_of(k) != LUA_TSTRING {
            return err("attempt to use a non-string key in the \"args\" option table");
        }
        match c.type_of(v) {
            LUA_TNUMBER | LUA_TSTRING => {
                put_arg(&mut out, &mut first, c.to_bytes(k).unwrap_or_default(), c.to_bytes(v));
            }
            LUA_TBOOLEAN => {
                if c.to_boolean(v) {
                    put_arg(&mut out, &mut first, c.to_bytes(k).unwrap_or_default(), None);
                }
            }
            LUA_TTABLE => {
                c.push_nil();
                while c.next(v) {
                    if c.type_of(-1) == LUA_TBOOLEAN {
                        if c.to_boolean(-1) {
                            put_arg(&mut out, &mut first, c.to_bytes(k).unwrap_or_default(), None);
                        }
                    } else {
                        // a copy, so converting a number does not touch the table
                        c.push_copy(-1);
                        let Some(value) = c.to_bytes(-1) else {
                            return err(format!("attempt to use {} as query arg value", c.type_name_at(-1)));
                        };
                        put_arg(&mut out, &mut first, c.to_bytes(k).unwrap_or_default(), Some(value));
                        c.pop(1);
                    }
                    c.pop(1);
                }
            }
            t => return err(format!("attempt to use {} as query arg value", c.type_name(t))),
        }
        c.pop(1);
    }
    c.push_bytes(&out);
    Ok(1)
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
    // (the subject is copied into the worker's spare vector, so that the pairs can be pushed
    // while it is read, and each pair is unescaped into the vector's other half: no
    // allocation per call or pair)
    let mut spare = Spare::take();
    let len = {
        let subject = c.check_bytes(1, "decode_args")?;
        spare.extend_from_slice(subject);
        spare.resize(2 * subject.len(), 0);
        subject.len()
    };
    let (subject, scratch) = spare.split_at_mut(len);
    let t = c.new_table(0, 4);
    let truncated = each_arg(subject, max, scratch, |key, value| {
        c.push_bytes(key);
        c.push_copy(-1);
        c.raw_get(t);
        // repeated keys collect their values in an array, in order
        let prev = c.type_of(-1);
        if prev == LUA_TNIL {
            c.pop(1);
            push_arg_value(c, value);
            c.raw_set(t);
        } else if prev == LUA_TTABLE {
            let len = c.obj_len(-1);
            push_arg_value(c, value);
            c.raw_seti(-2, len + 1);
            c.pop(2);
        } else {
            c.new_table(4, 0);
            c.insert(-2);
            c.raw_seti(-2, 1);
            push_arg_value(c, value);
            c.raw_seti(-2, 2);
            c.raw_set(t);
        }
    });
    if truncated {
        c.push_bytes(b"truncated");
        return Ok(2);
    }
    Ok(1)
}

fn push_arg_value(c: &mut Call, v: Option<&[u8]>) {
    match v {
        Some(v) => c.push_bytes(v),
        None => c.push_bool(true),
    }
}
