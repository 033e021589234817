//! Fixed cases, and random streams fed in random chunkings checked against a simple model
//! (splitting the whole stream at the pattern) and against the same stream fed at once.

use super::{Step, Until};

/// A small xorshift generator: the tests need no crates and stay reproducible.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// `min..=max` bytes over a small alphabet, so patterns occur and overlap often.
    fn bytes(&mut self, min: usize, max: usize, alphabet: &[u8]) -> Vec<u8> {
        let len = min + self.below(max - min + 1);
        (0..len).map(|_| alphabet[self.below(alphabet.len())]).collect()
    }

    /// Splits `len` into random chunk lengths (empty chunks included).
    fn chunks(&mut self, len: usize) -> Vec<usize> {
        let mut out = Vec::new();
        let mut left = len;
        while left > 0 {
            let n = self.below(left.min(7) + 1);
            out.push(n);
            left -= n;
        }
        out
    }
}

/// Feeds `stream` in chunks of the given lengths, calling with `size` every time; returns the
/// results of the completed calls and what aborting the last one gives.
fn run(m: &mut Until, stream: &[u8], chunks: &[usize], size: usize) -> (Vec<Step>, Vec<u8>) {
    let mut steps = Vec::new();
    let mut pos = 0;
    for &len in chunks {
        let mut input = &stream[pos..pos + len];
        pos += len;
        loop {
            let (used, step) = m.next(input, size);
            input = &input[used..];
            if step == Step::More {
                assert!(input.is_empty(), "More leaves no input unconsumed");
                break;
            }
            steps.push(step);
        }
    }
    (steps, m.abort())
}

/// The model of unsized calls: the stream split at each pattern, searching on after it.
fn model(stream: &[u8], pattern: &[u8], inclusive: bool) -> (Vec<Step>, Vec<u8>) {
    let mut steps = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i + pattern.len() <= stream.len() {
        if &stream[i..i + pattern.len()] == pattern {
            let end = if inclusive { i + pattern.len() } else { i };
            steps.push(Step::Data(stream[start..end].to_vec()));
            i += pattern.len();
            start = i;
        } else {
            i += 1;
        }
    }
    (steps, stream[start..].to_vec())
}

fn data(s: &str) -> Step {
    Step::Data(s.as_bytes().to_vec())
}

#[test]
fn splits_at_the_pattern() {
    let mut m = Until::new(b"--abc".to_vec(), false);
    let (steps, rest) = run(&mut m, b"hello---abcworld--abc--ab", &[25], 0);
    assert_eq!(steps, vec![data("hello-"), data("world")]);
    assert_eq!(rest, b"--ab");
}

#[test]
fn inclusive_keeps_the_pattern() {
    let mut m = Until::new(b"\r\n".to_vec(), true);
    let (steps, rest) = run(&mut m, b"a\r\n\r\nb", &[1, 1, 1, 1, 1, 1], 0);
    assert_eq!(steps, vec![data("a\r\n"), data("\r\n")]);
    assert_eq!(rest, b"b");
}

#[test]
fn sized_calls_end_at_the_pattern() {
    let mut m = Until::new(b"--".to_vec(), false);
    let (steps, rest) = run(&mut m, b"abcde--fg", &[9], 2);
    assert_eq!(steps, vec![data("ab"), data("cd"), data("e"), Step::End, data("fg")]);
    assert!(rest.is_empty());
}

#[test]
fn abort_returns_the_held_back_bytes() {
    let mut m = Until::new(b"xyz".to_vec(), false);
    assert_eq!(m.next(b"abxy", 0), (4, Step::More));
    assert_eq!(m.abort(), b"abxy");
    // and starts over
    assert_eq!(m.next(b"zq", 0), (2, Step::More));
    assert_eq!(m.abort(), b"zq");
}

#[test]
fn unsized_calls_match_the_model_in_any_chunking() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for round in 0..4000 {
        let alphabet: &[u8] = if round % 2 == 0 { b"ab" } else { b"abc" };
        let pattern = rng.bytes(1, 6, alphabet);
        let stream = rng.bytes(0, 80, alphabet);
        let inclusive = rng.below(2) == 1;
        let chunks = rng.chunks(stream.len());
        let mut m = Until::new(pattern.clone(), inclusive);
        let got = run(&mut m, &stream, &chunks, 0);
        assert_eq!(got, model(&stream, &pattern, inclusive), "pattern {pattern:?} stream {stream:?}");
    }
}

#[test]
fn sized_calls_do_not_depend_on_the_chunking() {
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    for round in 0..4000 {
        let alphabet: &[u8] = if round % 2 == 0 { b"ab" } else { b"abc" };
        let pattern = rng.bytes(1, 6, alphabet);
        let stream = rng.bytes(0, 80, alphabet);
        let inclusive = rng.below(2) == 1;
        let size = 1 + rng.below(5);
        let chunks = rng.chunks(stream.len());
        let whole = run(&mut Until::new(pattern.clone(), inclusive), &stream, &[stream.len()], size);
        let chunked = run(&mut Until::new(pattern.clone(), inclusive), &stream, &chunks, size);
        assert_eq!(chunked, whole, "pattern {pattern:?} stream {stream:?} size {size}");

        // the pieces of sized calls up to each end put together are the unsized calls' data
        let (steps, rest) = chunked;
        let mut joined = Vec::new();
        let mut piece = Vec::new();
        for step in steps {
            match step {
                Step::Data(d) => piece.extend(d),
                Step::End => joined.push(Step::Data(std::mem::take(&mut piece))),
                Step::More => unreachable!(),
            }
        }
        // the pattern was reached but no call saw the end marker yet
        let (model_steps, model_rest) = model(&stream, &pattern, inclusive);
        if joined.len() < model_steps.len() {
            joined.push(Step::Data(std::mem::take(&mut piece)));
        }
        piece.extend(rest);
        assert_eq!((joined, piece), (model_steps, model_rest), "pattern {pattern:?} stream {stream:?} size {size}");
    }
}
