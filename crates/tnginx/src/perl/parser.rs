//! Parser for the Perl subset: statements, expressions with Perl's precedence, subs and
//! blocks.  Produces the AST that `interp` evaluates.

use super::lexer::{Part, Tok, Token};
use std::rc::Rc;

#[derive(Debug)]
pub struct SubDef {
    pub body: Vec<Stmt>,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum DeclKind {
    My,
    Our,
    Local,
}

#[derive(Debug)]
pub enum Expr {
    Num(f64),
    Str(Vec<u8>),
    Interp(Vec<Part>),
    Regex {
        parts: Vec<Part>,
        flags: String,
        is_match: bool,
    },
    Scalar(String),
    ArrayVar(String),
    HashVar(String),
    EnvElem(Box<Expr>),
    /// Element of an array: `$a[i]` (array named) or `$r->[i]` (array reference).
    Elem(Box<Expr>, Box<Expr>),
    /// `@$r` / `@{ expr }`
    Deref(Box<Expr>),
    List(Vec<Expr>),
    ArrayRef(Vec<Expr>),
    Decl(DeclKind, Vec<Expr>, bool),
    Assign(&'static str, Box<Expr>, Box<Expr>),
    Bin(&'static str, Box<Expr>, Box<Expr>),
    Unary(&'static str, Box<Expr>),
    Cond(Box<Expr>, Box<Expr>, Box<Expr>),
    Match(Box<Expr>, Box<Expr>, bool),
    Call(String, Vec<Expr>),
    CallRef(Box<Expr>, Vec<Expr>),
    Method(Box<Expr>, String, Vec<Expr>),
    AnonSub(Rc<SubDef>),
    Do(Rc<Vec<Stmt>>),
    EvalBlock(Rc<Vec<Stmt>>),
    IncDec(Box<Expr>, f64, bool),
    Unsupported(&'static str),
}

#[derive(Debug)]
pub enum Stmt {
    Expr(Expr),
    If(Vec<(Expr, Vec<Stmt>)>, Option<Vec<Stmt>>),
    While(Expr, Vec<Stmt>),
    Foreach(Option<Expr>, Expr, Vec<Stmt>),
    CFor(Option<Expr>, Option<Expr>, Option<Expr>, Vec<Stmt>),
    SubDef(String, Rc<SubDef>),
    Block(Vec<Stmt>),
    Return(Option<Expr>),
    Last,
    Next,
    Nop,
}

/// A statement that failed to parse, with the source text it spanned.
pub struct ParseError {
    pub msg: String,
    pub text: String,
}

pub struct Parser<'a> {
    toks: Vec<Token>,
    i: usize,
    src: &'a [u8],
}

const NAMED_UNARY: &[&str] = &[
    "defined",
    "ref",
    "length",
    "lc",
    "uc",
    "lcfirst",
    "ucfirst",
    "chr",
    "ord",
    "hex",
    "oct",
    "int",
    "abs",
    "sqrt",
    "quotemeta",
    "scalar",
    "undef",
    "exists",
    "delete",
    "shift",
    "pop",
    "chomp",
    "chop",
    "exit",
    "rand",
    "sleep",
    "keys",
    "values",
    "eval",
];

const OP_WORDS: &[&str] = &[
    "x", "lt", "gt", "le", "ge", "eq", "ne", "cmp", "and", "or", "not", "xor", "if", "unless", "while", "until", "for",
    "foreach",
];

fn binop(t: &Tok) -> Option<(u8, bool, &'static str)> {
    let op: &'static str = match t {
        Tok::Op(o) => o,
        Tok::Ident(w) => match w.as_str() {
            "x" => "x",
            "lt" => "lt",
            "gt" => "gt",
            "le" => "le",
            "ge" => "ge",
            "eq" => "eq",
            "ne" => "ne",
            "cmp" => "cmp",
            _ => return None,
        },
        _ => return None,
    };
    let (prec, right) = match op {
        "=" | "+=" | "-=" | "*=" | "/=" | ".=" | "x=" | "||=" | "&&=" | "//=" | "**=" => (5, true),
        "?" => (6, true),
        ".." | "..." => (7, false),
        "||" | "//" => (8, false),
        "&&" => (9, false),
        "|" | "^" => (10, false),
        "&" => (11, false),
        "==" | "!=" | "<=>" | "eq" | "ne" | "cmp" => (12, false),
        "<" | ">" | "<=" | ">=" | "lt" | "gt" | "le" | "ge" => (13, false),
        "<<" | ">>" => (15, false),
        "+" | "-" | "." => (16, false),
        "*" | "/" | "%" | "x" => (17, false),
        "=~" | "!~" => (18, false),
        "**" => (20, true),
        _ => return None,
    };
    Some((prec, right, op))
}

impl<'a> Parser<'a> {
    pub fn new(toks: Vec<Token>, src: &'a [u8]) -> Self {
        Parser { toks, i: 0, src }
    }

    fn peek(&self) -> &Tok {
        &self.toks[self.i.min(self.toks.len() - 1)].tok
    }

    fn peek_at(&self, n: usize) -> &Tok {
        &self.toks[(self.i + n).min(self.toks.len() - 1)].tok
    }

    fn advance(&mut self) -> Tok {
        let t = self.peek().clone();
        if self.i < self.toks.len() - 1 {
            self.i += 1;
        }
        t
    }

    fn is_op(&self, op: &str) -> bool {
        matches!(self.peek(), Tok::Op(o) if *o == op)
    }

    fn is_word(&self, w: &str) -> bool {
        matches!(self.peek(), Tok::Ident(x) if x == w)
    }

    fn eat_op(&mut self, op: &str) -> bool {
        if self.is_op(op) {
            self.advance();
            true
        } else {
            false
        }
    }

    fn line_of(&self, pos: usize) -> usize {
        self.src[..pos.min(self.src.len())].iter().filter(|&&c| c == b'\n').count() + 1
    }

    fn err<T>(&self, msg: &str) -> Result<T, String> {
        let pos = self.toks[self.i.min(self.toks.len() - 1)].pos;
        Err(format!("{} near {:?} at line {}", msg, describe(self.peek()), self.line_of(pos)))
    }

    fn expect_op(&mut self, op: &str) -> Result<(), String> {
        if self.eat_op(op) {
            Ok(())
        } else {
            self.err(&format!("expected '{}'", op))
        }
    }

    /// Parses a whole program; with `tolerant`, statements that fail to parse are skipped and
    /// reported instead of aborting.
    pub fn program(&mut self, tolerant: bool) -> Result<(Vec<Stmt>, Vec<ParseError>), String> {
        let mut stmts = Vec::new();
        let mut errors = Vec::new();
        while *self.peek() != Tok::Eof {
            let start = self.i;
            match self.statement() {
                Ok(s) => stmts.push(s),
                Err(e) if tolerant => {
                    self.i = start;
                    self.skip_statement();
                    let from = self.toks[start].pos;
                    let to = self.toks[self.i.min(self.toks.len() - 1)].pos.max(from);
                    let text = String::from_utf8_lossy(&self.src[from..to.min(self.src.len())]).trim().to_string();
                    errors.push(ParseError { msg: e, text });
                }
                Err(e) => return Err(e),
            }
        }
        Ok((stmts, errors))
    }

    /// Error recovery: skips to the end of the statement starting here (a `;` at nesting depth
    /// zero, or the closing brace of a block statement).
    fn skip_statement(&mut self) {
        let blockish = matches!(self.peek(), Tok::Ident(w) if matches!(w.as_str(),
            "sub" | "if" | "unless" | "for" | "foreach" | "while" | "until" | "BEGIN" | "END"));
        let mut depth = 0i32;
        loop {
            match self.advance() {
                Tok::Eof => return,
                Tok::Op("(") | Tok::Op("[") | Tok::Op("{") => depth += 1,
                Tok::Op(")") | Tok::Op("]") => depth -= 1,
                Tok::Op("}") => {
                    depth -= 1;
                    if depth <= 0 && blockish && !matches!(self.peek(), Tok::Ident(w) if w == "else" || w == "elsif") {
                        self.eat_op(";");
                        return;
                    }
                }
                Tok::Op(";") if depth <= 0 => return,
                _ => {}
            }
        }
    }

    fn block(&mut self) -> Result<Vec<Stmt>, String> {
        self.expect_op("{")?;
        let mut stmts = Vec::new();
        while !self.is_op("}") {
            if *self.peek() == Tok::Eof {
                return self.err("unterminated block");
            }
            stmts.push(self.statement()?);
        }
        self.advance();
        Ok(stmts)
    }

    fn paren_expr(&mut self) -> Result<Expr, String> {
        self.expect_op("(")?;
        let e = self.expr()?;
        self.expect_op(")")?;
        Ok(e)
    }

    fn skip_to_semicolon(&mut self) {
        while !matches!(self.peek(), Tok::Op(";") | Tok::Eof) {
            self.advance();
        }
        self.eat_op(";");
    }

    fn statement(&mut self) -> Result<Stmt, String> {
        if self.eat_op(";") {
            return Ok(Stmt::Nop);
        }
        if self.is_op("{") {
            return Ok(Stmt::Block(self.block()?));
        }
        if let Tok::Ident(w) = self.peek().clone() {
            match w.as_str() {
                "use"
                    if matches!(self.peek_at(1), Tok::Ident(m) if m.starts_with("Test::Nginx"))
                        && !matches!(self.peek_at(2), Tok::Op(";")) =>
                {
                    // `use Test::Nginx::Socket::Lua::Stream skip_all => "why";` plans the file.
                    self.advance();
                    self.advance();
                    let args = match self.expr()? {
                        Expr::List(items) => items,
                        e => vec![e],
                    };
                    return self.finish_simple(Stmt::Expr(Expr::Call("plan".into(), args)));
                }
                "use" | "no" | "package" | "require" => {
                    self.skip_to_semicolon();
                    return Ok(Stmt::Nop);
                }
                "BEGIN" | "END" | "INIT" | "CHECK" if matches!(self.peek_at(1), Tok::Op("{")) => {
                    self.advance();
                    let b = self.block()?;
                    return Ok(if w == "BEGIN" { Stmt::Block(b) } else { Stmt::Nop });
                }
                "sub" if matches!(self.peek_at(1), Tok::Ident(_)) => {
                    self.advance();
                    let name = match self.advance() {
                        Tok::Ident(n) => n,
                        _ => unreachable!(),
                    };
                    if self.eat_op(";") {
                        return Ok(Stmt::Nop);
                    }
                    // Skip a prototype such as `($$)`.
                    if self.is_op("(") {
                        while !self.is_op(")") && *self.peek() != Tok::Eof {
                            self.advance();
                        }
                        self.advance();
                    }
                    let body = self.block()?;
                    return Ok(Stmt::SubDef(name, Rc::new(SubDef { body })));
                }
                "if" | "unless" => {
                    self.advance();
                    let mut c = self.paren_expr()?;
                    if w == "unless" {
                        c = Expr::Unary("!", Box::new(c));
                    }
                    let mut arms = vec![(c, self.block()?)];
                    let mut els = None;
                    loop {
                        if self.is_word("elsif") {
                            self.advance();
                            let c = self.paren_expr()?;
                            arms.push((c, self.block()?));
                        } else if self.is_word("else") {
                            self.advance();
                            els = Some(self.block()?);
                            break;
                        } else {
                            break;
                        }
                    }
                    return Ok(Stmt::If(arms, els));
                }
                "while" | "until" => {
                    self.advance();
                    let mut c = self.paren_expr()?;
                    if w == "until" {
                        c = Expr::Unary("!", Box::new(c));
                    }
                    return Ok(Stmt::While(c, self.block()?));
                }
                "for" | "foreach" => {
                    self.advance();
                    return self.for_loop();
                }
                "return" => {
                    self.advance();
                    let e = if self.at_terminator() { None } else { Some(self.expr()?) };
                    return self.finish_simple(Stmt::Return(e));
                }
                "last" | "next" => {
                    self.advance();
                    return self.finish_simple(if w == "last" { Stmt::Last } else { Stmt::Next });
                }
                _ => {}
            }
        }
        let e = self.expr()?;
        self.finish_simple(Stmt::Expr(e))
    }

    fn for_loop(&mut self) -> Result<Stmt, String> {
        let var = if self.is_word("my") || self.is_word("our") {
            self.advance();
            match self.advance() {
                Tok::Scalar(n) => Some(Expr::Decl(DeclKind::My, vec![Expr::Scalar(n)], false)),
                _ => return self.err("expected loop variable"),
            }
        } else if let Tok::Scalar(n) = self.peek().clone() {
            self.advance();
            Some(Expr::Scalar(n))
        } else {
            None
        };
        self.expect_op("(")?;
        if var.is_none() {
            // C-style for (init; cond; step)?
            let save = self.i;
            let init = if self.is_op(";") { None } else { Some(self.expr()?) };
            if self.eat_op(";") {
                let cond = if self.is_op(";") { None } else { Some(self.expr()?) };
                self.expect_op(";")?;
                let step = if self.is_op(")") { None } else { Some(self.expr()?) };
                self.expect_op(")")?;
                let body = self.block()?;
                return Ok(Stmt::CFor(init, cond, step, body));
            }
            self.i = save;
        }
        let list = if self.is_op(")") { Expr::List(vec![]) } else { self.expr()? };
        self.expect_op(")")?;
        let body = self.block()?;
        Ok(Stmt::Foreach(var, list, body))
    }

    /// Statement modifiers (`EXPR if COND;`) and the terminating semicolon.
    fn finish_simple(&mut self, stmt: Stmt) -> Result<Stmt, String> {
        let stmt = if let Tok::Ident(w) = self.peek().clone() {
            match w.as_str() {
                "if" | "unless" => {
                    self.advance();
                    let mut c = self.expr()?;
                    if w == "unless" {
                        c = Expr::Unary("!", Box::new(c));
                    }
                    Stmt::If(vec![(c, vec![stmt])], None)
                }
                "while" | "until" => {
                    self.advance();
                    let mut c = self.expr()?;
                    if w == "until" {
                        c = Expr::Unary("!", Box::new(c));
                    }
                    Stmt::While(c, vec![stmt])
                }
                "for" | "foreach" => {
                    self.advance();
                    let l = self.expr()?;
                    Stmt::Foreach(None, l, vec![stmt])
                }
                _ => stmt,
            }
        } else {
            stmt
        };
        if self.eat_op(";") || self.is_op("}") || *self.peek() == Tok::Eof {
            Ok(stmt)
        } else {
            self.err("expected ';'")
        }
    }

    fn at_terminator(&self) -> bool {
        match self.peek() {
            Tok::Eof => true,
            Tok::Op(o) => matches!(*o, ";" | ")" | "]" | "}" | ":" | ","),
            Tok::Ident(w) => {
                matches!(w.as_str(), "if" | "unless" | "while" | "until" | "for" | "foreach" | "or" | "and" | "xor")
            }
            _ => false,
        }
    }

    pub fn expr(&mut self) -> Result<Expr, String> {
        let mut lhs = self.low_and()?;
        while self.is_word("or") || self.is_word("xor") {
            let op = if self.is_word("or") { "||" } else { "xor" };
            self.advance();
            let rhs = self.low_and()?;
            lhs = Expr::Bin(op, Box::new(lhs), Box::new(rhs));
        }
        Ok(lhs)
    }

    fn low_and(&mut self) -> Result<Expr, String> {
        let mut lhs = self.low_not()?;
        while self.is_word("and") {
            self.advance();
            let rhs = self.low_not()?;
            lhs = Expr::Bin("&&", Box::new(lhs), Box::new(rhs));
        }
        Ok(lhs)
    }

    fn low_not(&mut self) -> Result<Expr, String> {
        if self.is_word("not") {
            self.advance();
            return Ok(Expr::Unary("!", Box::new(self.low_not()?)));
        }
        self.comma()
    }

    fn comma(&mut self) -> Result<Expr, String> {
        let first = self.assign()?;
        if !self.is_op(",") && !self.is_op("=>") {
            return Ok(first);
        }
        let mut items = vec![first];
        while self.eat_op(",") || self.eat_op("=>") {
            if self.at_terminator() {
                break;
            }
            items.push(self.assign()?);
        }
        Ok(Expr::List(items))
    }

    fn assign(&mut self) -> Result<Expr, String> {
        self.binary(5)
    }

    fn binary(&mut self, min: u8) -> Result<Expr, String> {
        let mut lhs = self.unary()?;
        while let Some((prec, right, op)) = binop(self.peek()).filter(|b| b.0 >= min) {
            self.advance();
            if op == "?" {
                let a = self.assign()?;
                self.expect_op(":")?;
                let b = self.binary(6)?;
                lhs = Expr::Cond(Box::new(lhs), Box::new(a), Box::new(b));
                continue;
            }
            let rhs = self.binary(if right { prec } else { prec + 1 })?;
            lhs = match op {
                "=~" | "!~" => Expr::Match(Box::new(lhs), Box::new(rhs), op == "!~"),
                o if prec == 5 => Expr::Assign(o, Box::new(lhs), Box::new(rhs)),
                o => Expr::Bin(o, Box::new(lhs), Box::new(rhs)),
            };
        }
        Ok(lhs)
    }

    fn unary(&mut self) -> Result<Expr, String> {
        let op: Option<&'static str> = match self.peek() {
            Tok::Op("!") => Some("!"),
            Tok::Op("-") => Some("neg"),
            Tok::Op("+") => Some("+"),
            Tok::Op("\\") => Some("\\"),
            Tok::Op("~") => Some("~"),
            _ => None,
        };
        if let Some(op) = op {
            self.advance();
            let e = self.binary(19)?;
            return Ok(Expr::Unary(op, Box::new(e)));
        }
        if self.is_op("++") || self.is_op("--") {
            let d = if self.is_op("++") { 1.0 } else { -1.0 };
            self.advance();
            let e = self.unary()?;
            return Ok(Expr::IncDec(Box::new(e), d, true));
        }
        let mut e = self.postfix()?;
        if self.is_op("**") {
            self.advance();
            let rhs = self.unary()?;
            e = Expr::Bin("**", Box::new(e), Box::new(rhs));
        }
        Ok(e)
    }

    fn postfix(&mut self) -> Result<Expr, String> {
        let mut e = self.primary()?;
        loop {
            if self.is_op("->") {
                self.advance();
                match self.peek().clone() {
                    Tok::Op("[") => {
                        self.advance();
                        let idx = self.expr()?;
                        self.expect_op("]")?;
                        e = Expr::Elem(Box::new(Expr::Deref(Box::new(e))), Box::new(idx));
                    }
                    Tok::Op("(") => {
                        let args = self.call_args_paren()?;
                        e = Expr::CallRef(Box::new(e), args);
                    }
                    Tok::Ident(m) => {
                        self.advance();
                        let args = if self.is_op("(") { self.call_args_paren()? } else { vec![] };
                        e = Expr::Method(Box::new(e), m, args);
                    }
                    _ => return self.err("unsupported use of '->'"),
                }
            } else if self.is_op("++") || self.is_op("--") {
                let d = if self.is_op("++") { 1.0 } else { -1.0 };
                self.advance();
                e = Expr::IncDec(Box::new(e), d, false);
            } else {
                return Ok(e);
            }
        }
    }

    fn call_args_paren(&mut self) -> Result<Vec<Expr>, String> {
        self.expect_op("(")?;
        if self.eat_op(")") {
            return Ok(vec![]);
        }
        let e = self.expr()?;
        self.expect_op(")")?;
        Ok(match e {
            Expr::List(items) => items,
            e => vec![e],
        })
    }

    fn starts_term(&self) -> bool {
        match self.peek() {
            Tok::Num(_)
            | Tok::Str(_)
            | Tok::IStr(_)
            | Tok::Re { .. }
            | Tok::Words(_)
            | Tok::Scalar(_)
            | Tok::Array(_)
            | Tok::Hash(_)
            | Tok::Backtick
            | Tok::ReadLine => true,
            Tok::Ident(w) => !OP_WORDS.contains(&w.as_str()),
            Tok::Op(o) => matches!(*o, "(" | "[" | "\\" | "!" | "@" | "$"),
            _ => false,
        }
    }

    fn decl(&mut self, kind: DeclKind) -> Result<Expr, String> {
        if self.is_op("(") {
            self.advance();
            let mut vars = Vec::new();
            while !self.is_op(")") {
                match self.advance() {
                    Tok::Scalar(n) => vars.push(Expr::Scalar(n)),
                    Tok::Array(n) => vars.push(Expr::ArrayVar(n)),
                    Tok::Hash(n) => vars.push(Expr::HashVar(n)),
                    Tok::Ident(u) if u == "undef" => vars.push(Expr::Call("undef".into(), vec![])),
                    _ => return self.err("bad variable list"),
                }
                self.eat_op(",");
            }
            self.advance();
            return Ok(Expr::Decl(kind, vars, true));
        }
        let v = match self.advance() {
            Tok::Scalar(n) => {
                if kind == DeclKind::Local && n == "ENV" && self.is_op("{") {
                    let e = self.env_elem()?;
                    return Ok(Expr::Decl(kind, vec![e], false));
                }
                Expr::Scalar(n)
            }
            Tok::Array(n) => Expr::ArrayVar(n),
            Tok::Hash(n) => Expr::HashVar(n),
            _ => return self.err("expected a variable"),
        };
        Ok(Expr::Decl(kind, vec![v], false))
    }

    fn env_elem(&mut self) -> Result<Expr, String> {
        self.expect_op("{")?;
        let key = if let (Tok::Ident(k), Tok::Op("}")) = (self.peek().clone(), self.peek_at(1).clone()) {
            self.advance();
            Expr::Str(k.into_bytes())
        } else {
            self.expr()?
        };
        self.expect_op("}")?;
        Ok(Expr::EnvElem(Box::new(key)))
    }

    fn primary(&mut self) -> Result<Expr, String> {
        let t = self.advance();
        match t {
            Tok::Num(n) => Ok(Expr::Num(n)),
            Tok::Str(s) => Ok(Expr::Str(s)),
            Tok::IStr(p) => Ok(Expr::Interp(p)),
            Tok::Re { parts, flags, is_match } => Ok(Expr::Regex { parts, flags, is_match }),
            Tok::Words(ws) => Ok(Expr::List(ws.into_iter().map(Expr::Str).collect())),
            Tok::Subst => Ok(Expr::Unsupported("s/// and tr///")),
            Tok::Backtick => Ok(Expr::Unsupported("backticks")),
            Tok::ReadLine => Ok(Expr::Unsupported("<FILEHANDLE>")),
            Tok::Scalar(n) => {
                if self.is_op("{") {
                    if n == "ENV" {
                        return self.env_elem();
                    }
                    return self.err("hash elements are not supported");
                }
                if self.is_op("[") {
                    self.advance();
                    let idx = self.expr()?;
                    self.expect_op("]")?;
                    return Ok(Expr::Elem(Box::new(Expr::ArrayVar(n)), Box::new(idx)));
                }
                Ok(Expr::Scalar(n))
            }
            Tok::Array(n) => Ok(Expr::ArrayVar(n)),
            Tok::Hash(n) => Ok(Expr::HashVar(n)),
            Tok::Op("(") => {
                if self.eat_op(")") {
                    return Ok(Expr::List(vec![]));
                }
                let e = self.expr()?;
                self.expect_op(")")?;
                Ok(match e {
                    Expr::List(v) => Expr::List(v),
                    e => Expr::List(vec![e]),
                })
            }
            Tok::Op("[") => {
                if self.eat_op("]") {
                    return Ok(Expr::ArrayRef(vec![]));
                }
                let e = self.expr()?;
                self.expect_op("]")?;
                Ok(Expr::ArrayRef(match e {
                    Expr::List(v) => v,
                    e => vec![e],
                }))
            }
            Tok::Op("@") => {
                let inner = if self.is_op("{") {
                    self.advance();
                    let e = self.expr()?;
                    self.expect_op("}")?;
                    e
                } else {
                    match self.advance() {
                        Tok::Scalar(n) => Expr::Scalar(n),
                        _ => return self.err("bad array dereference"),
                    }
                };
                Ok(Expr::Deref(Box::new(inner)))
            }
            Tok::Ident(w) => self.word(w),
            other => {
                self.i -= 1;
                let _ = other;
                self.err("unexpected token")
            }
        }
    }

    fn word(&mut self, w: String) -> Result<Expr, String> {
        if self.is_op("=>") {
            return Ok(Expr::Str(w.into_bytes()));
        }
        match w.as_str() {
            "my" => return self.decl(DeclKind::My),
            "our" => return self.decl(DeclKind::Our),
            "local" => return self.decl(DeclKind::Local),
            "sub" if self.is_op("{") => {
                let body = self.block()?;
                return Ok(Expr::AnonSub(Rc::new(SubDef { body })));
            }
            "do" if self.is_op("{") => return Ok(Expr::Do(Rc::new(self.block()?))),
            "eval" if self.is_op("{") => return Ok(Expr::EvalBlock(Rc::new(self.block()?))),
            "__FILE__" | "__LINE__" => return Ok(Expr::Call(w, vec![])),
            _ => {}
        }
        if self.is_op("(") {
            let args = self.call_args_paren()?;
            return Ok(Expr::Call(w, args));
        }
        if NAMED_UNARY.contains(&w.as_str()) {
            let args = if self.starts_term() { vec![self.binary(14)?] } else { vec![] };
            return Ok(Expr::Call(w, args));
        }
        if w.contains("::") && !self.starts_term() {
            // A class name such as `Test::Nginx::Socket` used as a bareword.
            return Ok(Expr::Str(w.into_bytes()));
        }
        if self.starts_term() {
            // A list operator: the rest of the comma list is its arguments.
            let first = self.assign()?;
            let mut args = vec![first];
            while self.eat_op(",") || self.eat_op("=>") {
                if self.at_terminator() {
                    break;
                }
                args.push(self.assign()?);
            }
            return Ok(Expr::Call(w, args));
        }
        Ok(Expr::Call(w, vec![]))
    }
}

fn describe(t: &Tok) -> String {
    match t {
        Tok::Num(n) => n.to_string(),
        Tok::Str(_) | Tok::IStr(_) => "string".into(),
        Tok::Re { .. } => "regex".into(),
        Tok::Scalar(n) => format!("${}", n),
        Tok::Array(n) => format!("@{}", n),
        Tok::Hash(n) => format!("%{}", n),
        Tok::Ident(w) => w.clone(),
        Tok::Op(o) => o.to_string(),
        Tok::Eof => "end of code".into(),
        other => format!("{:?}", other),
    }
}
