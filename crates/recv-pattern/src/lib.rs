//! The matcher behind `receiveuntil` iterators, in plain safe Rust with no nginx or Lua in
//! sight so `cargo test` can check it on its own. It is fed the received bytes as they arrive,
//! in any chunks, and splits them at the pattern: each call of an iterator returns the data
//! before the next pattern (with the pattern when inclusive), or, for a sized call, at most
//! about `size` bytes of it and then an end marker once the pattern is reached.
//!
//! Bytes are examined one at a time, like upstream's matcher, so that sized calls split the data
//! at the same places: bytes that may start the pattern are held back (the match state) until
//! they turn out to be data or the pattern.

#[cfg(test)]
mod tests;

/// What one step of a call produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// The call is complete with this data.
    Data(Vec<u8>),
    /// The previous sized call reached the pattern: this call returns nil, nil, nil (and the
    /// next one starts over).
    End,
    /// All input was consumed: the call needs more bytes.
    More,
}

/// One `receiveuntil` iterator.
#[derive(Clone, Debug)]
pub struct Until {
    pattern: Vec<u8>,
    inclusive: bool,
    /// Bytes of the pattern matched so far (held back); -1 once a sized call reached the
    /// pattern (the next call returns `Step::End` and starts over).
    state: i32,
    /// Where a mismatch in a partial match resumes (state -> [(byte, new state)]), for
    /// patterns that overlap themselves (`--abc` after `---`).
    recovering: Vec<Vec<(u8, usize)>>,
    /// The data of the call in progress, how much more a sized call may return (0: the call
    /// is not sized), and whether a call is in progress.
    out: Vec<u8>,
    rest: usize,
    sized: bool,
    in_call: bool,
}

impl Until {
    /// A matcher for a non-empty `pattern`.
    pub fn new(pattern: Vec<u8>, inclusive: bool) -> Until {
        assert!(!pattern.is_empty(), "receiveuntil patterns are not empty");
        let len = pattern.len();
        let mut recovering = vec![Vec::new(); len.saturating_sub(2)];
        // for each shift i, the longest run where the pattern matches itself shifted, and
        // the byte that breaks it: seeing that byte there resumes at run + 1
        for i in 1..len {
            let mut prefix = 1;
            while prefix + i < len && pattern[..prefix] == pattern[i..i + prefix] {
                if pattern[prefix] == pattern[i + prefix] {
                    prefix += 1;
                    continue;
                }
                let (cur, new) = (i + prefix, prefix + 1);
                let edges: &mut Vec<(u8, usize)> = &mut recovering[cur - 2];
                match edges.iter_mut().find(|(c, _)| *c == pattern[prefix]) {
                    Some(e) => e.1 = e.1.max(new),
                    None => edges.push((pattern[prefix], new)),
                }
                break;
            }
        }
        Until { pattern, inclusive, state: 0, recovering, out: Vec::new(), rest: 0, sized: false, in_call: false }
    }

    /// Serves a call of the iterator (`size` 0: the whole data before the pattern) from
    /// `input`; returns how many bytes of it were consumed and what came of it. A call that
    /// needs more goes on with the next `next` (with the same size).
    pub fn next(&mut self, input: &[u8], size: usize) -> (usize, Step) {
        if !self.in_call {
            if self.state == -1 {
                self.state = 0;
                return (0, Step::End);
            }
            self.in_call = true;
            self.out.clear();
            self.rest = size;
            self.sized = size > 0;
        }
        let (used, done) = self.feed(input);
        if !done {
            return (used, Step::More);
        }
        self.in_call = false;
        (used, Step::Data(std::mem::take(&mut self.out)))
    }

    /// Ends the call in progress without the pattern (timeout, closed, error): returns the data
    /// it gathered and the bytes held back, and starts over.
    pub fn abort(&mut self) -> Vec<u8> {
        let mut data = std::mem::take(&mut self.out);
        data.extend_from_slice(&self.pattern[..self.state.max(0) as usize]);
        self.in_call = false;
        self.state = 0;
        data
    }

    fn edge(&self, state: usize, c: u8) -> Option<usize> {
        let edges = self.recovering.get(state.checked_sub(2)?)?;
        edges.iter().find(|(b, _)| *b == c).map(|(_, n)| *n)
    }

    /// Feeds `data`; returns how many bytes were consumed and whether the call is complete.
    fn feed(&mut self, data: &[u8]) -> (usize, bool) {
        let sized = self.sized;
        let pat_len = self.pattern.len();
        let mut state = self.state.max(0) as usize;
        let mut i = 0;
        while i < data.len() {
            let c = data[i];
            if c == self.pattern[state] {
                i += 1;
                state += 1;
                if state == pat_len {
                    self.state = if sized { -1 } else { 0 };
                    if self.inclusive {
                        self.out.extend_from_slice(&self.pattern);
                    }
                    return (i, true);
                }
                continue;
            }
            if state == 0 {
                self.out.push(c);
                i += 1;
                if sized {
                    self.rest -= 1;
                    if self.rest == 0 {
                        self.state = 0;
                        return (i, true);
                    }
                }
                continue;
            }
            if let Some(new) = self.edge(state, c) {
                let old = state;
                state = new;
                self.out.extend_from_slice(&self.pattern[..old + 1 - new]);
                i += 1;
                if sized {
                    // upstream counts the new state here, not the bytes it let go
                    if self.rest <= state {
                        self.rest = 0;
                        self.state = state as i32;
                        return (i, true);
                    }
                    self.rest -= state;
                }
                continue;
            }
            self.out.extend_from_slice(&self.pattern[..state]);
            if sized {
                if self.rest <= state {
                    self.rest = 0;
                    self.state = 0;
                    return (i, true);
                }
                self.rest -= state;
            }
            state = 0;
        }
        self.state = state as i32;
        (i, false)
    }
}
