//! A small interpreter for the Perl found in Test::Nginx test files: the preamble before
//! `__DATA__` (`repeat_each(2);`, `$ENV{...} ||= ...;`, `add_block_preprocessor(sub {...});`)
//! and `--- section eval` values (string literals with escapes, `x` repetition, `qr//`, array
//! references, small loops).  Anything beyond that subset is reported, never guessed.

pub mod interp;
pub mod lexer;
pub mod parser;
pub mod regex;
pub mod value;

pub use interp::Interp;
pub use parser::{ParseError, Stmt};
pub use regex::PerlRegex;
pub use value::{Sections, Value};

/// Parses a complete piece of code; any syntax error fails the whole.
pub fn parse(src: &[u8]) -> Result<Vec<Stmt>, String> {
    let toks = lexer::tokenize(src)?;
    let (stmts, _) = parser::Parser::new(toks, src).program(false)?;
    Ok(stmts)
}

/// Parses code statement by statement, skipping (and reporting) statements it cannot parse.
pub fn parse_tolerant(src: &[u8]) -> Result<(Vec<Stmt>, Vec<ParseError>), String> {
    let toks = lexer::tokenize(src)?;
    parser::Parser::new(toks, src).program(true)
}

impl Interp {
    /// Evaluates code like Perl's `eval` in list context.
    pub fn eval_code(&mut self, src: &[u8]) -> Result<Vec<Value>, String> {
        let stmts = parse(src)?;
        self.run_scoped_list(&stmts)
    }
}
