//! Property tests of the block lexer against a model: random Lua bodies are built from tokens
//! (code, nested `{ }` groups, quoted strings with escapes, unfinished strings, long strings
//! and long comments of any level, line comments), so the model knows the body's exact
//! extent, its newlines, and where each long bracket opens and closes. Every cut of the text
//! is scanned too, as nginx's 4 KiB configuration buffer may end anywhere: a cut inside the
//! body must be an error (a missing long bracket named with its line when the cut is inside
//! one), a cut after the closing `}` the same block as the whole text.

use proptest::prelude::*;
use stream_lua_conf_lexer::{scan_block, Block, LexError};

/// Cases per property unless PROPTEST_CASES says otherwise: keeps `cargo test` short.
const CASES: u32 = 512;

fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(CASES);
    ProptestConfig { cases, failure_persistence: None, ..ProptestConfig::default() }
}

#[derive(Debug, Clone)]
enum Tok {
    /// Plain code (never a quote, `--`, a long-bracket opener, or an unbalanced brace).
    Code(&'static str),
    /// `{ ... }` around more tokens.
    Group(Vec<Tok>),
    /// A quoted string: the quote, then pieces that are each plain or one escape pair.
    Str(u8, Vec<Vec<u8>>),
    /// A string left open at the end of its line (Lua rejects it; the lexer goes on).
    Unfinished(u8, Vec<u8>),
    /// `[==[ ... ]==]` (or `--[==[ ... ]==]` when `comment`).
    Long { eq: usize, text: Vec<u8>, comment: bool },
    /// `-- text\n`.
    Line(Vec<u8>),
}

/// Where a long bracket sits in the body: from its first byte, the end of its opener, its
/// end, and its closing bracket.
struct Span {
    start: usize,
    opened: usize,
    end: usize,
    close: String,
}

fn render(toks: &[Tok], seps: &[u8], out: &mut Vec<u8>, spans: &mut Vec<Span>) {
    for (i, t) in toks.iter().enumerate() {
        // a separator between tokens, so no two glue into another token (`-` `--`, `[` `[[`)
        out.push(seps[i % seps.len()]);
        match t {
            Tok::Code(c) => out.extend_from_slice(c.as_bytes()),
            Tok::Group(inner) => {
                out.push(b'{');
                render(inner, seps, out, spans);
                out.push(b' ');
                out.push(b'}');
            }
            Tok::Str(q, pieces) => {
                out.push(*q);
                pieces.iter().for_each(|p| out.extend_from_slice(p));
                out.push(*q);
            }
            Tok::Unfinished(q, text) => {
                out.push(*q);
                out.extend_from_slice(text);
                out.push(b'\n');
            }
            Tok::Long { eq, text, comment } => {
                let start = out.len();
                if *comment {
                    out.extend_from_slice(b"--");
                }
                let bars = "=".repeat(*eq);
                out.extend_from_slice(format!("[{bars}[").as_bytes());
                let opened = out.len();
                out.extend_from_slice(text);
                let close = format!("]{bars}]");
                out.extend_from_slice(close.as_bytes());
                spans.push(Span { start, opened, end: out.len(), close });
            }
            Tok::Line(text) => {
                out.extend_from_slice(b"--");
                out.extend_from_slice(text);
                out.push(b'\n');
            }
        }
    }
}

fn code() -> impl Strategy<Value = Tok> {
    prop::sample::select(vec![
        "a", "x = 1", "t[1]", "t[=1]", "t[ [=", "f(x)", "local y", "x - 1", "-1", "a.b", "==", "..", "#t", ";", "]",
        "]]", "]=]", "=]", "return", "x = -y", "\\", "\0", "\r", "\t", "\u{e9}", "\n",
    ])
    .prop_map(Tok::Code)
}

/// Bytes that are plain inside a string with quote `q`, or escape pairs.
fn str_tok() -> impl Strategy<Value = Tok> {
    prop::sample::select(vec![b'"', b'\'']).prop_flat_map(|q| {
        let other = if q == b'"' { b'\'' } else { b'"' };
        let piece = prop_oneof![
            4 => prop::sample::select(b"ab {}[]()=-;\t\r]]".to_vec()).prop_map(|c| vec![c]),
            1 => Just(vec![other]),
            1 => Just(b"[[".to_vec()),
            1 => Just(b"--".to_vec()),
            1 => Just(b"--[[".to_vec()),
            2 => prop::sample::select(b"\\\"'n{}[z0\n".to_vec()).prop_map(|c| vec![b'\\', c]),
            1 => Just(vec![b'\\', q]),
        ];
        prop::collection::vec(piece, 0..8).prop_map(move |p| Tok::Str(q, p))
    })
}

fn unfinished() -> impl Strategy<Value = Tok> {
    (prop::sample::select(vec![b'"', b'\'']), prop::collection::vec(prop::sample::select(b"a }{[]-=".to_vec()), 0..6))
        .prop_map(|(q, t)| Tok::Unfinished(q, t))
}

/// A long string or comment: its text may hold other levels' brackets, quotes and braces
/// but never its own closing bracket (nor end in a way that closes it early).
fn long() -> impl Strategy<Value = Tok> {
    let text = prop::collection::vec(
        prop_oneof![
            4 => prop::sample::select(b"a {}\"'\n-\\[]=".to_vec()).prop_map(|c| vec![c]),
            1 => prop::sample::select(vec![&b"]]"[..], b"]=]", b"]==]", b"[[", b"[=[", b"--", b"--[["]).prop_map(|s| s.to_vec()),
        ],
        0..8,
    );
    (0usize..4, text, any::<bool>()).prop_filter_map("text closes its bracket", |(eq, pieces, comment)| {
        let text: Vec<u8> = pieces.concat();
        let close = format!("]{}]", "=".repeat(eq));
        let mut all = text.clone();
        all.extend_from_slice(close.as_bytes());
        let first = all.windows(close.len()).position(|w| w == close.as_bytes())?;
        (first == text.len()).then_some(Tok::Long { eq, text, comment })
    })
}

/// A line comment's text: anything but a newline, not starting with a long-bracket opener.
fn line() -> impl Strategy<Value = Tok> {
    prop::collection::vec(prop::sample::select(b"a {}\"'-[]=\\".to_vec()), 0..8).prop_map(|mut t| {
        if t.first() == Some(&b'[') {
            t.insert(0, b' ');
        }
        Tok::Line(t)
    })
}

fn tokens() -> impl Strategy<Value = Vec<Tok>> {
    let leaf = prop_oneof![3 => code(), 2 => str_tok(), 1 => unfinished(), 2 => long(), 1 => line()];
    let tok = leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            2 => inner.clone(),
            1 => prop::collection::vec(inner, 0..6).prop_map(Tok::Group),
        ]
    });
    prop::collection::vec(tok, 0..12)
}

/// What the whole text gives, by the model: the body up to the closing brace.
fn expected(body: &[u8]) -> Block {
    Block { code_len: body.len(), newlines: body.iter().filter(|&&c| c == b'\n').count() }
}

/// What a cut at `k`, inside the body, gives by the model.
fn expected_cut(body: &[u8], spans: &[Span], k: usize) -> LexError {
    // the innermost long bracket opened before the cut and not closed by it; long brackets
    // never nest (one's text is opaque), so there is at most one
    match spans.iter().find(|s| s.opened <= k && k < s.end) {
        Some(s) => {
            LexError::MissingLongBracket(s.close.clone(), body[..s.start].iter().filter(|&&c| c == b'\n').count())
        }
        None => LexError::UnexpectedEof,
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn body_and_every_cut(
        toks in tokens(),
        seps in prop::collection::vec(prop::sample::select(b" \n\t".to_vec()), 1..4),
        trailer in prop::collection::vec(prop::sample::select(b"}{ \n;[]\"'-".to_vec()), 0..8),
    ) {
        let mut body = Vec::new();
        let mut spans = Vec::new();
        render(&toks, &seps, &mut body, &mut spans);
        let mut text = body.clone();
        text.push(b'}');
        text.extend_from_slice(&trailer);
        prop_assert_eq!(scan_block(&text), Ok(expected(&body)), "text {:?}", String::from_utf8_lossy(&text));
        for k in 0..=text.len() {
            let got = scan_block(&text[..k]);
            if k <= body.len() {
                let want = expected_cut(&body, &spans, k);
                prop_assert_eq!(got, Err(want), "cut at {} of {:?}", k, String::from_utf8_lossy(&text));
            } else {
                prop_assert_eq!(got, Ok(expected(&body)), "cut at {} of {:?}", k, String::from_utf8_lossy(&text));
            }
        }
    }

    /// Arbitrary bytes never panic, and a block found is a prefix that ends at a `}`.
    #[test]
    fn arbitrary_bytes(text in prop::collection::vec(prop::sample::select(b"{}[]=-\"'\\\n a\0".to_vec()), 0..64)) {
        if let Ok(b) = scan_block(&text) {
            prop_assert_eq!(text.get(b.code_len), Some(&b'}'));
            prop_assert!(b.newlines <= text[..b.code_len].iter().filter(|&&c| c == b'\n').count());
        }
    }
}
