//! Property tests of replacement templates: any bytes parse without panicking, and valid
//! templates expand like a small model.  Short by default (see `CASES`); `scripts/fuzz.sh`
//! runs them longer through PROPTEST_CASES.

use proptest::prelude::*;
use stream_lua_retemplate::*;

/// Cases per property unless PROPTEST_CASES says otherwise: keeps `cargo test` well under 5 s.
const CASES: u32 = 512;

fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(CASES);
    ProptestConfig { cases, failure_persistence: None, ..ProptestConfig::default() }
}

/// Template-ish bytes: many `$`, braces, digits and name characters.
fn template_bytes() -> impl Strategy<Value = Vec<u8>> {
    let byte = prop_oneof![
        3 => prop::sample::select(b"$${}0123456789az_-".to_vec()),
        1 => any::<u8>(),
    ];
    prop::collection::vec(byte, 0..40)
}

/// One part of a valid template, and how it is written.
#[derive(Debug, Clone)]
enum Part {
    /// literal text without `$`
    Lit(Vec<u8>),
    Dollar,
    /// capture n, written `${n}` when braced, else `$n`
    Cap(usize, bool),
}

fn part() -> impl Strategy<Value = Part> {
    prop_oneof![
        prop::collection::vec(any::<u8>().prop_filter("no $", |c| *c != b'$'), 1..6).prop_map(Part::Lit),
        Just(Part::Dollar),
        (0usize..6, any::<bool>()).prop_map(|(n, b)| Part::Cap(n, b)),
    ]
}

/// Writes the parts; an unbraced `$n` directly before a digit would read more digits, so it
/// gets braces there.
fn render(parts: &[Part]) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, p) in parts.iter().enumerate() {
        match p {
            Part::Lit(s) => out.extend_from_slice(s),
            Part::Dollar => out.extend_from_slice(b"$$"),
            Part::Cap(n, braced) => {
                let next_digit = matches!(parts.get(i + 1), Some(Part::Lit(s)) if s[0].is_ascii_digit());
                if *braced || next_digit {
                    out.extend_from_slice(format!("${{{}}}", n).as_bytes());
                } else {
                    out.extend_from_slice(format!("${}", n).as_bytes());
                }
            }
        }
    }
    out
}

/// The model expansion: literals as they are, `$$` a dollar, captures their text or nothing.
fn model_expand(parts: &[Part], subject: &[u8], groups: &[Option<(usize, usize)>]) -> Vec<u8> {
    let mut out = Vec::new();
    for p in parts {
        match p {
            Part::Lit(s) => out.extend_from_slice(s),
            Part::Dollar => out.push(b'$'),
            Part::Cap(n, _) => {
                if let Some(Some((f, t))) = groups.get(*n) {
                    out.extend_from_slice(&subject[*f..*t]);
                }
            }
        }
    }
    out
}

/// A subject and up to 5 groups, each unset or a range inside the subject.
fn match_data() -> impl Strategy<Value = (Vec<u8>, Vec<Option<(usize, usize)>>)> {
    prop::collection::vec(any::<u8>(), 0..20).prop_flat_map(|subject| {
        let len = subject.len();
        let group = prop::option::of((0..=len, 0..=len).prop_map(|(a, b)| (a.min(b), a.max(b))));
        (Just(subject), prop::collection::vec(group, 1..5))
    })
}

fn offsets(groups: &[Option<(usize, usize)>]) -> Vec<i32> {
    groups.iter().flat_map(|g| g.map_or([-1, -1], |(f, t)| [f as i32, t as i32])).collect()
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn parsing_never_panics(src in template_bytes()) {
        match compile_template(&src) {
            Ok(None) => prop_assert!(!src.contains(&b'$')),
            Ok(Some(t)) => {
                // whatever parsed also expands, with or without matching captures
                let caps = [0, src.len() as i32];
                let mut dst = vec![0; t.eval_len(&caps)];
                let _ = t.eval_into(&src, &caps, &mut dst);
                let _ = t.eval_into(&src, &[], &mut []);
            }
            Err(e) => prop_assert!(!e.is_empty()),
        }
    }

    #[test]
    fn valid_templates_expand_like_the_model(parts in prop::collection::vec(part(), 0..8), (subject, groups) in match_data()) {
        let src = render(&parts);
        let caps = offsets(&groups);
        let want = model_expand(&parts, &subject, &groups);
        match compile_template(&src).map_err(TestCaseError::fail)? {
            None => prop_assert_eq!(&src, &want),
            Some(t) => {
                prop_assert_eq!(t.eval_len(&caps), want.len());
                let mut dst = vec![0; want.len()];
                prop_assert_eq!(t.eval_into(&subject, &caps, &mut dst), want.len());
                prop_assert_eq!(dst, want);
            }
        }
    }

    #[test]
    fn huge_capture_numbers_are_unset_captures(
        digits in prop_oneof![
            "[1-9][0-9]{15,30}",
            // 2^63 and 2^63 + 1: twice these wraps to 0 and 2 on 64-bit targets
            Just("9223372036854775808".to_string()),
            Just("9223372036854775809".to_string()),
        ],
        braced in any::<bool>(),
    ) {
        let src = if braced { format!("<${{{}}}>", digits) } else { format!("<${}>", digits) };
        let t = compile_template(src.as_bytes()).unwrap().unwrap();
        let caps = [0, 3, 1, 2];
        prop_assert_eq!(t.eval_len(&caps), 2);
        let mut dst = [0u8; 2];
        prop_assert_eq!(t.eval_into(b"abc", &caps, &mut dst), 2);
        prop_assert_eq!(&dst, b"<>");
    }
}
