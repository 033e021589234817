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

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(src: &str) -> (usize, usize) {
        let b = scan_block(src.as_bytes()).unwrap_or_else(|e| panic!("{src:?}: {e:?}"));
        (b.code_len, b.newlines)
    }

    /// The code before the closing brace, as the directive keeps it.
    fn code(src: &str) -> &str {
        &src[..ok(src).0]
    }

    fn err(src: &str) -> LexError {
        scan_block(src.as_bytes()).expect_err(src)
    }

    fn missing(close: &str, newlines: usize) -> LexError {
        LexError::MissingLongBracket(close.to_string(), newlines)
    }

    #[test]
    fn plain_and_empty_bodies() {
        assert_eq!(ok("}"), (0, 0));
        assert_eq!(ok(" return 1 }"), (10, 0));
        assert_eq!(code(" ngx.say(1) } trailing }"), " ngx.say(1) ");
    }

    #[test]
    fn nested_braces_count() {
        assert_eq!(code(" local t = { a = { b = {} } } } rest"), " local t = { a = { b = {} } } ");
        assert_eq!(code("function() end {{}} }"), "function() end {{}} ");
    }

    #[test]
    fn braces_in_strings_do_not_count() {
        assert_eq!(code(r#" s = "}" }"#), r#" s = "}" "#);
        assert_eq!(code(" s = '{' }"), " s = '{' ");
        assert_eq!(code(r#" s = "'}'" t = '"{"' }"#), r#" s = "'}'" t = '"{"' "#);
    }

    #[test]
    fn escapes_in_strings() {
        // an escaped quote does not end the string
        assert_eq!(code(r#" s = "a\"}" }"#), r#" s = "a\"}" "#);
        assert_eq!(code(r" s = 'a\'}' }"), r" s = 'a\'}' ");
        // an escaped backslash does: the quote after it closes the string
        assert_eq!(code(r#" s = "a\\" }"#), r#" s = "a\\" "#);
        // a backslash-newline continues the string on the next line, and counts the line
        assert_eq!(ok(" s = \"a\\\n}\" }"), (12, 1));
    }

    #[test]
    fn unfinished_string_ends_at_its_line() {
        // Lua's compiler reports the string; the scan goes on after the newline
        assert_eq!(ok(" s = \"abc\n}"), (10, 1));
        assert_eq!(ok(" s = 'abc\n}"), (10, 1));
    }

    #[test]
    fn long_brackets() {
        assert_eq!(code(" s = [[ } { ]] }"), " s = [[ } { ]] ");
        assert_eq!(code(" s = [==[ ]] } ]=] ]==] }"), " s = [==[ ]] } ]=] ]==] ");
        assert_eq!(code(" s = [=[ ' \" ]=] }"), " s = [=[ ' \" ]=] ");
        // `[` without a long bracket after it is plain code
        assert_eq!(code(" t[1] = a[ [[}]] ] }"), " t[1] = a[ [[}]] ] ");
        assert_eq!(code(" t[=1] }"), " t[=1] ");
    }

    #[test]
    fn comments() {
        assert_eq!(ok(" -- } {\n}"), (8, 1));
        assert_eq!(ok(" -- \" '\n}"), (8, 1));
        assert_eq!(ok(" --[[ } \n { ]] }"), (15, 1));
        assert_eq!(ok(" --[==[ ]] } ]==] }"), (18, 0));
        // `-` alone is the minus operator; `--[` without a bracket is a line comment
        assert_eq!(code(" x = 1 - {2}[1] }"), " x = 1 - {2}[1] ");
        assert_eq!(ok(" --[ }\n}"), (7, 1));
    }

    #[test]
    fn line_counting() {
        assert_eq!(ok("\n a = 1\n b = 2\n}"), (15, 3));
        // newlines inside long strings and long comments count too
        assert_eq!(ok(" [[\n\n]] --[=[\n]=]\n}"), (18, 4));
        // newlines after the closing brace do not
        assert_eq!(ok(" a }\n\n"), (3, 0));
    }

    #[test]
    fn unterminated_inputs() {
        assert_eq!(err(""), LexError::UnexpectedEof);
        assert_eq!(err(" return 1"), LexError::UnexpectedEof);
        assert_eq!(err(" t = { }"), LexError::UnexpectedEof);
        assert_eq!(err(" s = \"}"), LexError::UnexpectedEof);
        assert_eq!(err(" s = 'a\\"), LexError::UnexpectedEof);
        assert_eq!(err(" -- }"), LexError::UnexpectedEof);
        assert_eq!(err(" --"), LexError::UnexpectedEof);
    }

    #[test]
    fn missing_long_brackets_name_the_close_and_line() {
        assert_eq!(err(" s = [[ } "), missing("]]", 0));
        assert_eq!(err("\n\n s = [==[ ]] ]=] }"), missing("]==]", 2));
        assert_eq!(err("\n --[[ }\n }"), missing("]]", 1));
        assert_eq!(err(" --[=[ ]] }"), missing("]=]", 0));
    }
}
