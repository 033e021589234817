//! Finds the end of a `*_by_lua_block { ... }` body. The body is raw Lua: braces count as
//! nesting only outside strings, comments and long brackets (`[[ ]]`, `[==[ ]==]`).

#[derive(Debug, PartialEq, Eq)]
pub struct Block {
    /// Length of the Lua code (everything before the closing `}`).
    pub code_len: usize,
    /// Newlines inside the code, for nginx's line counter.
    pub newlines: usize,
}

#[derive(Debug, PartialEq, Eq)]
pub enum LexError {
    /// The input ended before the block was closed.
    UnexpectedEof,
    /// A long bracket was opened and never closed: carries the expected closing bracket and
    /// the newlines seen before it was opened.
    MissingLongBracket(String, usize),
}

/// Scans `src`, which starts right after the block's opening `{`.
pub fn scan_block(src: &[u8]) -> Result<Block, LexError> {
    let mut level = 1usize;
    let mut newlines = 0usize;
    let mut i = 0usize;
    while i < src.len() {
        match src[i] {
            b'\n' => {
                newlines += 1;
                i += 1;
            }
            b'{' => {
                level += 1;
                i += 1;
            }
            b'}' => {
                level -= 1;
                if level == 0 {
                    return Ok(Block { code_len: i, newlines });
                }
                i += 1;
            }
            b'"' | b'\'' => {
                let quote = src[i];
                i += 1;
                loop {
                    match src.get(i) {
                        None => return Err(LexError::UnexpectedEof),
                        Some(b'\\') => {
                            if src.get(i + 1) == Some(&b'\n') {
                                newlines += 1;
                            }
                            i += 2;
                        }
                        Some(&c) if c == quote => {
                            i += 1;
                            break;
                        }
                        Some(b'\n') => {
                            // An unfinished string: Lua's compiler reports it; we just go on.
                            break;
                        }
                        Some(_) => i += 1,
                    }
                }
            }
            b'-' if src.get(i + 1) == Some(&b'-') => {
                if let Some(eq) = long_bracket_open(&src[i + 2..]) {
                    i = skip_long(src, i + 2, eq, &mut newlines)?;
                } else {
                    while i < src.len() && src[i] != b'\n' {
                        i += 1;
                    }
                }
            }
            b'[' => {
                if let Some(eq) = long_bracket_open(&src[i..]) {
                    i = skip_long(src, i, eq, &mut newlines)?;
                } else {
                    i += 1;
                }
            }
            _ => i += 1,
        }
    }
    Err(LexError::UnexpectedEof)
}

/// If `s` starts with `[`, `=`*, `[`, the number of `=`.
fn long_bracket_open(s: &[u8]) -> Option<usize> {
    if s.first() != Some(&b'[') {
        return None;
    }
    let eq = s[1..].iter().take_while(|&&c| c == b'=').count();
    (s.get(1 + eq) == Some(&b'[')).then_some(eq)
}

/// Skips a long bracket opened at `start` with `eq` equal signs; returns the index after it.
fn skip_long(src: &[u8], start: usize, eq: usize, newlines: &mut usize) -> Result<usize, LexError> {
    let mut close = vec![b']'];
    close.extend(std::iter::repeat_n(b'=', eq));
    close.push(b']');
    let body = start + eq + 2;
    match src[body..].windows(close.len()).position(|w| w == close.as_slice()) {
        Some(pos) => {
            *newlines += src[start..body + pos].iter().filter(|&&c| c == b'\n').count();
            Ok(body + pos + close.len())
        }
        None => Err(LexError::MissingLongBracket(String::from_utf8_lossy(&close).into_owned(), *newlines)),
    }
}
