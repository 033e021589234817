//! Evaluator for the parsed Perl subset.

use super::lexer::Part;
use super::parser::{DeclKind, Expr, Stmt, SubDef};
use super::regex::PerlRegex;
use super::value::{fmt_num, Value};
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;

/// Functions the embedding program provides (Test::Nginx's `repeat_each`, `html_dir`, ...).
/// Returns `None` for names it does not know.
pub type HostFn = Box<dyn FnMut(&str, Vec<Value>) -> Option<Result<Value, String>>>;

enum Flow {
    Normal(Value),
    Return(Value),
    Last,
    Next,
}

pub struct Interp {
    scopes: Vec<HashMap<String, Value>>,
    globals: HashMap<String, Value>,
    subs: HashMap<String, Rc<SubDef>>,
    /// `%ENV`; exported to nginx.
    pub env: BTreeMap<String, String>,
    captures: Vec<Option<Vec<u8>>>,
    host: Option<HostFn>,
    /// Names of subs the host implements itself; Perl definitions of them are ignored.
    pub host_subs: Vec<&'static str>,
    depth: usize,
}

type R<T> = Result<T, String>;

impl Interp {
    pub fn new(env: BTreeMap<String, String>) -> Self {
        Interp {
            scopes: vec![HashMap::new()],
            globals: HashMap::new(),
            subs: HashMap::new(),
            env,
            captures: Vec::new(),
            host: None,
            host_subs: Vec::new(),
            depth: 0,
        }
    }

    pub fn set_host(&mut self, host: HostFn) {
        self.host = Some(host);
    }

    pub fn set_global(&mut self, name: &str, v: Value) {
        self.globals.insert(format!("${}", name), v);
    }

    /// Runs statements in a fresh lexical scope; returns the value of the last statement.
    pub fn run_scoped(&mut self, stmts: &[Stmt]) -> R<Value> {
        self.scopes.push(HashMap::new());
        let r = self.exec_block(stmts);
        self.scopes.pop();
        match r? {
            Flow::Normal(v) | Flow::Return(v) => Ok(v),
            _ => Ok(Value::Undef),
        }
    }

    /// Runs one top-level statement in the outermost scope (for preambles).
    pub fn run_toplevel(&mut self, stmt: &Stmt) -> R<()> {
        self.exec(stmt).map(|_| ())
    }

    /// Like `run_scoped`, but returns the last statement's value in list context.
    pub fn run_scoped_list(&mut self, stmts: &[Stmt]) -> R<Vec<Value>> {
        self.scopes.push(HashMap::new());
        let r = (|| {
            if let Some((last, init)) = stmts.split_last() {
                for s in init {
                    match self.exec(s)? {
                        Flow::Normal(_) => {}
                        Flow::Return(v) => return Ok(vec![v]),
                        _ => return Ok(vec![]),
                    }
                }
                if let Stmt::Expr(e) = last {
                    return self.eval_list(e);
                }
                return match self.exec(last)? {
                    Flow::Normal(v) | Flow::Return(v) => Ok(vec![v]),
                    _ => Ok(vec![]),
                };
            }
            Ok(vec![])
        })();
        self.scopes.pop();
        r
    }

    pub fn call_code(&mut self, code: &Rc<SubDef>, args: Vec<Value>) -> R<Value> {
        if self.depth > 200 {
            return Err("deep recursion".into());
        }
        self.depth += 1;
        let mut scope = HashMap::new();
        scope.insert("@_".to_string(), Value::array(args));
        self.scopes.push(scope);
        let r = self.exec_block(&code.body);
        self.scopes.pop();
        self.depth -= 1;
        match r? {
            Flow::Normal(v) | Flow::Return(v) => Ok(v),
            _ => Ok(Value::Undef),
        }
    }

    fn exec_block(&mut self, stmts: &[Stmt]) -> R<Flow> {
        let mut last = Value::Undef;
        for s in stmts {
            match self.exec(s)? {
                Flow::Normal(v) => last = v,
                other => return Ok(other),
            }
        }
        Ok(Flow::Normal(last))
    }

    fn exec_in_scope(&mut self, stmts: &[Stmt]) -> R<Flow> {
        self.scopes.push(HashMap::new());
        let r = self.exec_block(stmts);
        self.scopes.pop();
        r
    }

    fn exec(&mut self, s: &Stmt) -> R<Flow> {
        match s {
            Stmt::Nop => Ok(Flow::Normal(Value::Undef)),
            Stmt::Expr(e) => Ok(Flow::Normal(self.eval(e)?)),
            Stmt::Block(b) => self.exec_in_scope(b),
            Stmt::SubDef(name, def) => {
                if !self.host_subs.contains(&name.as_str()) {
                    self.subs.insert(name.clone(), def.clone());
                }
                Ok(Flow::Normal(Value::Undef))
            }
            Stmt::If(arms, els) => {
                for (c, body) in arms {
                    if self.eval(c)?.truthy() {
                        return self.exec_in_scope(body);
                    }
                }
                match els {
                    Some(b) => self.exec_in_scope(b),
                    None => Ok(Flow::Normal(Value::Undef)),
                }
            }
            Stmt::While(c, body) => {
                let mut guard = 0u64;
                while self.eval(c)?.truthy() {
                    guard += 1;
                    if guard > 10_000_000 {
                        return Err("loop runs too long".into());
                    }
                    match self.exec_in_scope(body)? {
                        Flow::Last => break,
                        Flow::Return(v) => return Ok(Flow::Return(v)),
                        _ => {}
                    }
                }
                Ok(Flow::Normal(Value::Undef))
            }
            Stmt::CFor(init, cond, step, body) => {
                self.scopes.push(HashMap::new());
                let r = (|| {
                    if let Some(i) = init {
                        self.eval(i)?;
                    }
                    loop {
                        if let Some(c) = cond {
                            if !self.eval(c)?.truthy() {
                                break;
                            }
                        }
                        match self.exec_in_scope(body)? {
                            Flow::Last => break,
                            Flow::Return(v) => return Ok(Flow::Return(v)),
                            _ => {}
                        }
                        if let Some(s) = step {
                            self.eval(s)?;
                        }
                    }
                    Ok(Flow::Normal(Value::Undef))
                })();
                self.scopes.pop();
                r
            }
            Stmt::Foreach(var, list, body) => {
                let items = self.eval_list(list)?;
                let (name, declare) = match var {
                    Some(Expr::Decl(_, v, _)) => match &v[0] {
                        Expr::Scalar(n) => (n.clone(), true),
                        _ => return Err("bad loop variable".into()),
                    },
                    Some(Expr::Scalar(n)) => (n.clone(), false),
                    _ => ("_".to_string(), false),
                };
                for item in items {
                    self.scopes.push(HashMap::new());
                    if declare {
                        self.scopes.last_mut().unwrap().insert(format!("${}", name), item);
                    } else {
                        self.assign_scalar(&name, item, false);
                    }
                    let r = self.exec_block(body);
                    self.scopes.pop();
                    match r? {
                        Flow::Last => break,
                        Flow::Return(v) => return Ok(Flow::Return(v)),
                        _ => {}
                    }
                }
                Ok(Flow::Normal(Value::Undef))
            }
            Stmt::Return(e) => {
                let v = match e {
                    Some(e) => self.eval(e)?,
                    None => Value::Undef,
                };
                Ok(Flow::Return(v))
            }
            Stmt::Last => Ok(Flow::Last),
            Stmt::Next => Ok(Flow::Next),
        }
    }

    // ---- variables ----

    fn lookup(&self, key: &str) -> Option<Value> {
        if !key.contains("::") {
            for s in self.scopes.iter().rev() {
                if let Some(v) = s.get(key) {
                    return Some(v.clone());
                }
            }
        }
        self.globals.get(key).cloned()
    }

    fn scalar(&self, name: &str) -> Value {
        if name == "&" {
            return self.capture(0);
        }
        if name.len() == 1 && name.as_bytes()[0].is_ascii_digit() && name != "0" {
            return self.capture(name.parse().unwrap());
        }
        self.lookup(&format!("${}", name)).unwrap_or(Value::Undef)
    }

    fn capture(&self, i: usize) -> Value {
        match self.captures.get(i) {
            Some(Some(b)) => Value::Str(b.clone()),
            _ => Value::Undef,
        }
    }

    fn array_rc(&mut self, name: &str) -> Rc<std::cell::RefCell<Vec<Value>>> {
        let key = format!("@{}", name);
        if let Some(Value::Array(a)) = self.lookup(&key) {
            return a;
        }
        let a = Rc::new(std::cell::RefCell::new(Vec::new()));
        self.globals.insert(key, Value::Array(a.clone()));
        a
    }

    fn assign_scalar(&mut self, name: &str, v: Value, global: bool) {
        let key = format!("${}", name);
        if !global && !name.contains("::") {
            for s in self.scopes.iter_mut().rev() {
                if let Some(slot) = s.get_mut(&key) {
                    *slot = v;
                    return;
                }
            }
        }
        self.globals.insert(key, v);
    }

    fn env_get(&self, key: &str) -> Value {
        match self.env.get(key) {
            Some(v) => Value::str(v),
            None => Value::Undef,
        }
    }

    fn env_set(&mut self, key: String, v: Value) {
        if v.is_undef() {
            self.env.remove(&key);
        } else {
            self.env.insert(key, v.to_string_lossy());
        }
    }

    /// Stores a value into an assignable expression.
    fn store(&mut self, target: &Expr, v: Value) -> R<()> {
        match target {
            Expr::Scalar(n) => {
                self.assign_scalar(n, v, false);
                Ok(())
            }
            Expr::EnvElem(k) => {
                let k = self.eval(k)?.to_string_lossy();
                self.env_set(k, v);
                Ok(())
            }
            Expr::ArrayVar(n) => {
                let items = match v {
                    Value::Array(a) => a.borrow().clone(),
                    Value::Undef => vec![],
                    v => vec![v],
                };
                *self.array_rc(n).borrow_mut() = items;
                Ok(())
            }
            Expr::Elem(arr, idx) => {
                let a = self.array_of(arr)?;
                let i = self.eval(idx)?.to_num() as i64;
                let mut a = a.borrow_mut();
                let i = if i < 0 { a.len() as i64 + i } else { i };
                if i < 0 {
                    return Err("modification of non-creatable array value".into());
                }
                if a.len() <= i as usize {
                    a.resize(i as usize + 1, Value::Undef);
                }
                a[i as usize] = v;
                Ok(())
            }
            Expr::Decl(kind, vars, _) => {
                self.declare(*kind, vars)?;
                if vars.len() == 1 {
                    return self.store_declared(*kind, &vars[0], v);
                }
                Err("cannot assign a scalar to a variable list".into())
            }
            _ => Err("cannot assign to this expression".into()),
        }
    }

    fn store_declared(&mut self, kind: DeclKind, t: &Expr, v: Value) -> R<()> {
        match (kind, t) {
            (DeclKind::Our, Expr::Scalar(n)) => {
                self.assign_scalar(n, v, true);
                Ok(())
            }
            _ => self.store(t, v),
        }
    }

    fn declare(&mut self, kind: DeclKind, vars: &[Expr]) -> R<()> {
        for v in vars {
            match (kind, v) {
                (DeclKind::My, Expr::Scalar(n)) => {
                    self.scopes.last_mut().unwrap().insert(format!("${}", n), Value::Undef);
                }
                (DeclKind::My, Expr::ArrayVar(n)) => {
                    self.scopes.last_mut().unwrap().insert(format!("@{}", n), Value::array(vec![]));
                }
                (DeclKind::Local, Expr::Scalar(n)) => self.assign_scalar(n, Value::Undef, false),
                _ => {}
            }
        }
        Ok(())
    }

    fn assign(&mut self, op: &str, target: &Expr, rhs: &Expr) -> R<Value> {
        if op == "=" {
            // List assignment: `my ($a, $b) = @_;`, `@x = (...)`.
            let list_target = match target {
                Expr::Decl(_, vars, paren) => *paren || matches!(vars[0], Expr::ArrayVar(_)),
                Expr::ArrayVar(_) | Expr::List(_) => true,
                _ => false,
            };
            if list_target {
                let mut vals = self.eval_list(rhs)?.into_iter();
                let (kind, vars): (Option<DeclKind>, Vec<&Expr>) = match target {
                    Expr::Decl(k, vars, _) => {
                        self.declare(*k, vars)?;
                        (Some(*k), vars.iter().collect())
                    }
                    Expr::List(items) => (None, items.iter().collect()),
                    t => (None, vec![t]),
                };
                for v in vars {
                    if let Expr::ArrayVar(n) = v {
                        let rest: Vec<Value> = vals.by_ref().collect();
                        *self.array_rc(n).borrow_mut() = rest;
                        continue;
                    }
                    let val = vals.next().unwrap_or(Value::Undef);
                    match kind {
                        Some(k) => self.store_declared(k, v, val)?,
                        None => self.store(v, val)?,
                    }
                }
                return Ok(Value::Undef);
            }
            let v = self.eval(rhs)?;
            self.store(target, v.clone())?;
            return Ok(v);
        }
        let cur = self.eval(target)?;
        let new = match op {
            "||=" => {
                if cur.truthy() {
                    return Ok(cur);
                }
                self.eval(rhs)?
            }
            "&&=" => {
                if !cur.truthy() {
                    return Ok(cur);
                }
                self.eval(rhs)?
            }
            "//=" => {
                if !cur.is_undef() {
                    return Ok(cur);
                }
                self.eval(rhs)?
            }
            _ => {
                let r = self.eval(rhs)?;
                binary(&op[..op.len() - 1], &cur, &r)?
            }
        };
        self.store(target, new.clone())?;
        Ok(new)
    }

    // ---- expressions ----

    /// Evaluates in list context.
    pub fn eval_list(&mut self, e: &Expr) -> R<Vec<Value>> {
        match e {
            Expr::List(items) => {
                let mut out = Vec::new();
                for it in items {
                    out.extend(self.eval_list(it)?);
                }
                Ok(out)
            }
            Expr::ArrayVar(n) => Ok(self.array_rc(n).borrow().clone()),
            Expr::Deref(_) => Ok(self.array_of(e)?.borrow().clone()),
            Expr::Bin("..", a, b) | Expr::Bin("...", a, b) => {
                let (a, b) = (self.eval(a)?.to_num() as i64, self.eval(b)?.to_num() as i64);
                if b - a > 10_000_000 {
                    return Err("range too large".into());
                }
                Ok((a..=b).map(|i| Value::Num(i as f64)).collect())
            }
            Expr::Bin("x", a, n) if matches!(**a, Expr::List(_)) => {
                let items = self.eval_list(a)?;
                let n = self.eval(n)?.to_num().max(0.0) as usize;
                Ok(items.iter().cloned().cycle().take(items.len() * n).collect())
            }
            Expr::Call(name, args) if matches!(name.as_str(), "split" | "reverse" | "sort" | "keys") => {
                match self.call(name, args)? {
                    Value::Array(a) => Ok(a.borrow().clone()),
                    v => Ok(vec![v]),
                }
            }
            Expr::Match(..) => {
                let ok = self.eval(e)?;
                if ok.truthy() && self.captures.len() > 1 {
                    return Ok((1..self.captures.len()).map(|i| self.capture(i)).collect());
                }
                Ok(vec![ok])
            }
            Expr::Cond(c, a, b) => {
                if self.eval(c)?.truthy() {
                    self.eval_list(a)
                } else {
                    self.eval_list(b)
                }
            }
            _ => Ok(vec![self.eval(e)?]),
        }
    }

    fn array_of(&mut self, e: &Expr) -> R<Rc<std::cell::RefCell<Vec<Value>>>> {
        match e {
            Expr::ArrayVar(n) => Ok(self.array_rc(n)),
            Expr::Deref(inner) => match self.eval(inner)? {
                Value::Array(a) => Ok(a),
                Value::Undef => Ok(Rc::new(std::cell::RefCell::new(vec![]))),
                v => Err(format!("not an ARRAY reference: {}", v.to_string_lossy())),
            },
            _ => Err("not an array".into()),
        }
    }

    pub fn interpolate(&mut self, parts: &[Part], for_regex: bool) -> Vec<u8> {
        let mut out = Vec::new();
        for p in parts {
            match p {
                Part::Lit(b) => out.extend_from_slice(b),
                Part::Scalar(n) => match self.scalar(n) {
                    Value::Regex(r) if for_regex => out.extend(r.embedded()),
                    v => out.extend(v.to_bytes()),
                },
                Part::Env(k) => out.extend(self.env_get(k).to_bytes()),
                Part::Array(n) => match self.lookup(&format!("@{}", n)) {
                    Some(Value::Array(a)) => {
                        let items: Vec<Vec<u8>> = a.borrow().iter().map(|v| v.to_bytes()).collect();
                        out.extend(items.join(&b' '));
                    }
                    _ => {
                        out.push(b'@');
                        out.extend_from_slice(n.as_bytes());
                    }
                },
            }
        }
        out
    }

    pub fn eval(&mut self, e: &Expr) -> R<Value> {
        match e {
            Expr::Num(n) => Ok(Value::Num(*n)),
            Expr::Str(s) => Ok(Value::Str(s.clone())),
            Expr::Interp(parts) => Ok(Value::Str(self.interpolate(parts, false))),
            Expr::Regex { parts, flags, is_match } => {
                let re = PerlRegex::new(self.interpolate(parts, true), flags);
                if *is_match {
                    // A bare m// matches against $_.
                    let topic = self.scalar("_").to_bytes();
                    return self.do_match(&topic, &re);
                }
                Ok(Value::Regex(Rc::new(re)))
            }
            Expr::Scalar(n) => Ok(self.scalar(n)),
            Expr::ArrayVar(n) => Ok(Value::Num(self.array_rc(n).borrow().len() as f64)),
            Expr::HashVar(n) => Err(format!("hashes are not supported (%{})", n)),
            Expr::EnvElem(k) => {
                let k = self.eval(k)?.to_string_lossy();
                Ok(self.env_get(&k))
            }
            Expr::Elem(arr, idx) => {
                let a = self.array_of(arr)?;
                let i = self.eval(idx)?.to_num() as i64;
                let a = a.borrow();
                let i = if i < 0 { a.len() as i64 + i } else { i };
                Ok(if i >= 0 { a.get(i as usize).cloned().unwrap_or(Value::Undef) } else { Value::Undef })
            }
            Expr::Deref(_) => Ok(Value::Num(self.array_of(e)?.borrow().len() as f64)),
            Expr::List(items) => {
                let mut last = Value::Undef;
                for it in items {
                    last = self.eval(it)?;
                }
                Ok(last)
            }
            Expr::ArrayRef(items) => {
                let mut v = Vec::new();
                for it in items {
                    v.extend(self.eval_list(it)?);
                }
                Ok(Value::array(v))
            }
            Expr::Decl(kind, vars, _) => {
                self.declare(*kind, vars)?;
                Ok(Value::Undef)
            }
            Expr::Assign(op, t, r) => self.assign(op, t, r),
            Expr::Bin("..", ..) | Expr::Bin("...", ..) => Ok(Value::array(self.eval_list(e)?)),
            Expr::Bin(op, a, b) => self.eval_binary(op, a, b),
            Expr::Unary(op, a) => {
                if *op == "\\" {
                    if let Expr::ArrayVar(n) = &**a {
                        return Ok(Value::Array(self.array_rc(n)));
                    }
                    return self.eval(a);
                }
                let v = self.eval(a)?;
                Ok(match *op {
                    "!" => bool_val(!v.truthy()),
                    "neg" => match &v {
                        Value::Str(s) if !s.is_empty() && s[0].is_ascii_alphabetic() => {
                            let mut o = b"-".to_vec();
                            o.extend_from_slice(s);
                            Value::Str(o)
                        }
                        _ => Value::Num(-v.to_num()),
                    },
                    "~" => Value::Num((!(v.to_num() as u64)) as f64),
                    _ => v,
                })
            }
            Expr::Cond(c, a, b) => {
                if self.eval(c)?.truthy() {
                    self.eval(a)
                } else {
                    self.eval(b)
                }
            }
            Expr::Match(target, re, negate) => {
                let hay = self.eval(target)?.to_bytes();
                let re = match &**re {
                    Expr::Regex { parts, flags, .. } => PerlRegex::new(self.interpolate(parts, true), flags),
                    other => match self.eval(other)? {
                        Value::Regex(r) => (*r).clone(),
                        v => PerlRegex::new(v.to_bytes(), ""),
                    },
                };
                let r = self.do_match(&hay, &re)?;
                Ok(if *negate { bool_val(!r.truthy()) } else { r })
            }
            Expr::Call(name, args) => self.call(name, args),
            Expr::CallRef(f, args) => {
                let f = self.eval(f)?;
                let args = self.eval_args(args)?;
                match f {
                    Value::Code(c) => self.call_code(&c, args),
                    _ => Err("not a CODE reference".into()),
                }
            }
            Expr::Method(obj, m, args) => {
                let o = self.eval(obj)?;
                let args = self.eval_args(args)?;
                self.method(o, m, args)
            }
            Expr::AnonSub(def) => Ok(Value::Code(def.clone())),
            Expr::Do(b) => self.run_scoped(b),
            Expr::EvalBlock(b) => match self.run_scoped(b) {
                Ok(v) => {
                    self.set_global("@", Value::str(""));
                    Ok(v)
                }
                Err(e) => {
                    self.set_global("@", Value::str(format!("{}\n", e)));
                    Ok(Value::Undef)
                }
            },
            Expr::IncDec(t, d, pre) => {
                let cur = self.eval(t)?;
                let new = Value::Num(cur.to_num() + d);
                self.store(t, new.clone())?;
                Ok(if *pre { new } else { cur })
            }
            Expr::Unsupported(what) => Err(format!("{} not supported by the runner's Perl subset", what)),
        }
    }

    fn do_match(&mut self, hay: &[u8], re: &PerlRegex) -> R<Value> {
        match re.captures(hay)? {
            Some(c) => {
                self.captures = c.iter().map(|m| m.map(|(s, e)| hay[s..e].to_vec())).collect();
                Ok(Value::Num(1.0))
            }
            None => Ok(Value::str("")),
        }
    }

    fn eval_binary(&mut self, op: &str, a: &Expr, b: &Expr) -> R<Value> {
        match op {
            "&&" => {
                let l = self.eval(a)?;
                if !l.truthy() {
                    return Ok(l);
                }
                self.eval(b)
            }
            "||" => {
                let l = self.eval(a)?;
                if l.truthy() {
                    return Ok(l);
                }
                self.eval(b)
            }
            "//" => {
                let l = self.eval(a)?;
                if !l.is_undef() {
                    return Ok(l);
                }
                self.eval(b)
            }
            _ => {
                let l = self.eval(a)?;
                let r = self.eval(b)?;
                binary(op, &l, &r)
            }
        }
    }

    fn eval_args(&mut self, args: &[Expr]) -> R<Vec<Value>> {
        let mut out = Vec::new();
        for a in args {
            out.extend(self.eval_list(a)?);
        }
        Ok(out)
    }

    fn method(&mut self, obj: Value, m: &str, args: Vec<Value>) -> R<Value> {
        let Value::Block(b) = obj else {
            return Err(format!("cannot call method '{}' on a non-object ({})", m, obj.to_string_lossy()));
        };
        match m {
            "set_value" => {
                let mut it = args.into_iter();
                let key = it.next().unwrap_or(Value::Undef).to_string_lossy();
                let v = it.next().unwrap_or(Value::Undef);
                b.borrow_mut().insert(key, v);
                Ok(Value::Undef)
            }
            _ => Ok(b.borrow().get(m).cloned().unwrap_or(Value::Undef)),
        }
    }

    fn shift_array(&mut self, args: &[Expr], front: bool) -> R<Value> {
        let a = match args.first() {
            Some(e) => self.array_of(e)?,
            None => self.array_rc("_"),
        };
        let mut a = a.borrow_mut();
        if a.is_empty() {
            return Ok(Value::Undef);
        }
        Ok(if front { a.remove(0) } else { a.pop().unwrap() })
    }

    fn call(&mut self, name: &str, args: &[Expr]) -> R<Value> {
        // Builtins that need their arguments unevaluated.
        match name {
            "defined" => {
                return Ok(bool_val(match args.first() {
                    Some(e) => !self.eval(e)?.is_undef(),
                    None => !self.scalar("_").is_undef(),
                }));
            }
            "__FILE__" => return Ok(self.scalar("0")),
            "eval" => {
                let code = match args.first() {
                    Some(e) => self.eval(e)?.to_bytes(),
                    None => self.scalar("_").to_bytes(),
                };
                let r = super::parse(&code).and_then(|stmts| self.run_scoped(&stmts));
                return Ok(match r {
                    Ok(v) => {
                        self.set_global("@", Value::str(""));
                        v
                    }
                    Err(e) => {
                        self.set_global("@", Value::str(format!("{}\n", e)));
                        Value::Undef
                    }
                });
            }
            "undef" => {
                if let Some(t) = args.first() {
                    self.store(t, Value::Undef)?;
                }
                return Ok(Value::Undef);
            }
            "exists" | "delete" => {
                if let Some(Expr::EnvElem(k)) = args.first() {
                    let k = self.eval(k)?.to_string_lossy();
                    let v = self.env_get(&k);
                    if name == "delete" {
                        self.env.remove(&k);
                        return Ok(v);
                    }
                    return Ok(bool_val(!v.is_undef()));
                }
                return Err(format!("{} is only supported on $ENV{{...}}", name));
            }
            "shift" => return self.shift_array(args, true),
            "pop" => return self.shift_array(args, false),
            "push" | "unshift" => {
                let (first, rest) = args.split_first().ok_or("push needs an array")?;
                let a = self.array_of(first)?;
                let vals = self.eval_args(rest)?;
                let n = {
                    let mut a = a.borrow_mut();
                    if name == "push" {
                        a.extend(vals);
                    } else {
                        a.splice(0..0, vals);
                    }
                    a.len()
                };
                return Ok(Value::Num(n as f64));
            }
            "chomp" | "chop" => {
                let t = args.first().ok_or("chomp needs an argument")?;
                let mut v = self.eval(t)?.to_bytes();
                let removed =
                    if name == "chomp" { v.last() == Some(&b'\n') && v.pop().is_some() } else { v.pop().is_some() };
                self.store(t, Value::Str(v))?;
                return Ok(Value::Num(removed as i32 as f64));
            }
            "scalar" => {
                return match args.first() {
                    Some(e @ Expr::ArrayVar(_)) | Some(e @ Expr::Deref(_)) => {
                        Ok(Value::Num(self.array_of(e)?.borrow().len() as f64))
                    }
                    Some(e) => self.eval(e),
                    None => Ok(Value::Undef),
                };
            }
            _ => {}
        }
        if let Some(def) = self.subs.get(name).cloned() {
            let a = self.eval_args(args)?;
            return self.call_code(&def, a);
        }
        let a = self.eval_args(args)?;
        if let Some(r) = builtin(name, &a) {
            return r;
        }
        if let Some(host) = self.host.as_mut() {
            if let Some(r) = host(name, a) {
                return r;
            }
        }
        Err(format!("unknown function {}()", name))
    }
}

fn bool_val(b: bool) -> Value {
    if b {
        Value::Num(1.0)
    } else {
        Value::str("")
    }
}

fn binary(op: &str, l: &Value, r: &Value) -> R<Value> {
    let num = |f: fn(f64, f64) -> f64| Ok(Value::Num(f(l.to_num(), r.to_num())));
    match op {
        "+" => num(|a, b| a + b),
        "-" => num(|a, b| a - b),
        "*" => num(|a, b| a * b),
        "/" => {
            if r.to_num() == 0.0 {
                return Err("Illegal division by zero".into());
            }
            num(|a, b| a / b)
        }
        "%" => {
            let (a, b) = (l.to_num() as i64, r.to_num() as i64);
            if b == 0 {
                return Err("Illegal modulus zero".into());
            }
            Ok(Value::Num(a.rem_euclid(b) as f64))
        }
        "**" => num(f64::powf),
        "." => {
            let mut s = l.to_bytes();
            s.extend(r.to_bytes());
            Ok(Value::Str(s))
        }
        "x" => {
            let n = r.to_num().max(0.0) as usize;
            let s = l.to_bytes();
            if s.len().saturating_mul(n) > 256 << 20 {
                return Err("string repetition too large".into());
            }
            Ok(Value::Str(s.repeat(n)))
        }
        "==" => Ok(bool_val(l.to_num() == r.to_num())),
        "!=" => Ok(bool_val(l.to_num() != r.to_num())),
        "<" => Ok(bool_val(l.to_num() < r.to_num())),
        ">" => Ok(bool_val(l.to_num() > r.to_num())),
        "<=" => Ok(bool_val(l.to_num() <= r.to_num())),
        ">=" => Ok(bool_val(l.to_num() >= r.to_num())),
        "<=>" => Ok(Value::Num(match l.to_num().partial_cmp(&r.to_num()) {
            Some(std::cmp::Ordering::Less) => -1.0,
            Some(std::cmp::Ordering::Greater) => 1.0,
            _ => 0.0,
        })),
        "eq" => Ok(bool_val(l.to_bytes() == r.to_bytes())),
        "ne" => Ok(bool_val(l.to_bytes() != r.to_bytes())),
        "lt" => Ok(bool_val(l.to_bytes() < r.to_bytes())),
        "gt" => Ok(bool_val(l.to_bytes() > r.to_bytes())),
        "le" => Ok(bool_val(l.to_bytes() <= r.to_bytes())),
        "ge" => Ok(bool_val(l.to_bytes() >= r.to_bytes())),
        "cmp" => Ok(Value::Num(match l.to_bytes().cmp(&r.to_bytes()) {
            std::cmp::Ordering::Less => -1.0,
            std::cmp::Ordering::Greater => 1.0,
            _ => 0.0,
        })),
        "xor" => Ok(bool_val(l.truthy() != r.truthy())),
        "&" => Ok(Value::Num(((l.to_num() as u64) & (r.to_num() as u64)) as f64)),
        "|" => Ok(Value::Num(((l.to_num() as u64) | (r.to_num() as u64)) as f64)),
        "^" => Ok(Value::Num(((l.to_num() as u64) ^ (r.to_num() as u64)) as f64)),
        "<<" => Ok(Value::Num(((l.to_num() as u64) << (r.to_num() as u64 & 63)) as f64)),
        ">>" => Ok(Value::Num(((l.to_num() as u64) >> (r.to_num() as u64 & 63)) as f64)),
        _ => Err(format!("unsupported operator {}", op)),
    }
}

/// Core functions operating on evaluated arguments.
fn builtin(name: &str, a: &[Value]) -> Option<R<Value>> {
    let arg = |i: usize| a.get(i).cloned().unwrap_or(Value::Undef);
    let s0 = || arg(0).to_bytes();
    let r = match name {
        "length" => {
            if arg(0).is_undef() {
                Value::Undef
            } else {
                Value::Num(s0().len() as f64)
            }
        }
        "ref" => Value::str(arg(0).ref_type()),
        "lc" => Value::Str(s0().to_ascii_lowercase()),
        "uc" => Value::Str(s0().to_ascii_uppercase()),
        "lcfirst" | "ucfirst" => {
            let mut s = s0();
            if let Some(c) = s.first_mut() {
                *c = if name == "lcfirst" { c.to_ascii_lowercase() } else { c.to_ascii_uppercase() };
            }
            Value::Str(s)
        }
        "chr" => {
            let n = arg(0).to_num() as u32;
            let mut out = Vec::new();
            if n < 256 {
                out.push(n as u8);
            } else {
                let mut buf = [0u8; 4];
                out.extend_from_slice(char::from_u32(n).unwrap_or('\u{fffd}').encode_utf8(&mut buf).as_bytes());
            }
            Value::Str(out)
        }
        "ord" => Value::Num(s0().first().copied().unwrap_or(0) as f64),
        "hex" => {
            Value::Num(i64::from_str_radix(arg(0).to_string_lossy().trim_start_matches("0x"), 16).unwrap_or(0) as f64)
        }
        "oct" => {
            let s = arg(0).to_string_lossy();
            let v = if let Some(h) = s.strip_prefix("0x") {
                i64::from_str_radix(h, 16)
            } else if let Some(b) = s.strip_prefix("0b") {
                i64::from_str_radix(b, 2)
            } else {
                i64::from_str_radix(&s, 8)
            };
            Value::Num(v.unwrap_or(0) as f64)
        }
        "int" => Value::Num(arg(0).to_num().trunc()),
        "abs" => Value::Num(arg(0).to_num().abs()),
        "sqrt" => Value::Num(arg(0).to_num().sqrt()),
        "quotemeta" => {
            let mut out = Vec::new();
            for b in s0() {
                if !(b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80) {
                    out.push(b'\\');
                }
                out.push(b);
            }
            Value::Str(out)
        }
        "join" => {
            let sep = s0();
            let parts: Vec<Vec<u8>> = a.iter().skip(1).map(|v| v.to_bytes()).collect();
            Value::Str(parts.join(&sep[..]))
        }
        "reverse" => Value::array(a.iter().rev().cloned().collect()),
        "sort" => {
            let mut v: Vec<Value> = a.to_vec();
            v.sort_by_key(|x| x.to_bytes());
            Value::array(v)
        }
        "sprintf" => match sprintf(&s0(), &a[1.min(a.len())..]) {
            Ok(s) => Value::Str(s),
            Err(e) => return Some(Err(e)),
        },
        "substr" => {
            let s = s0();
            let len = s.len() as i64;
            let mut off = arg(1).to_num() as i64;
            if off < 0 {
                off += len;
            }
            let off = off.clamp(0, len) as usize;
            let n = if a.len() > 2 { arg(2).to_num() as i64 } else { len };
            let end = if n < 0 { (len + n).max(off as i64) as usize } else { (off + n as usize).min(s.len()) };
            Value::Str(s[off..end].to_vec())
        }
        "index" => {
            let (h, n) = (s0(), arg(1).to_bytes());
            let from = (arg(2).to_num().max(0.0) as usize).min(h.len());
            let pos = if n.is_empty() { Some(0) } else { h[from..].windows(n.len()).position(|w| w == &n[..]) };
            Value::Num(pos.map(|p| (p + from) as f64).unwrap_or(-1.0))
        }
        "split" => {
            let s = arg(1).to_bytes();
            let parts: Vec<Value> = match arg(0) {
                Value::Regex(r) => match r.split(&s) {
                    Ok(parts) => parts.into_iter().map(Value::Str).collect(),
                    Err(e) => return Some(Err(e)),
                },
                sep => {
                    let sep = sep.to_bytes();
                    if sep == b" " {
                        s.split(|b| b.is_ascii_whitespace()).filter(|p| !p.is_empty()).map(Value::str).collect()
                    } else if sep.is_empty() {
                        s.iter().map(|b| Value::Str(vec![*b])).collect()
                    } else {
                        split_bytes(&s, &sep).into_iter().map(Value::Str).collect()
                    }
                }
            };
            let mut parts = parts;
            while parts.last().is_some_and(|v| v.to_bytes().is_empty()) {
                parts.pop();
            }
            Value::array(parts)
        }
        "die" => {
            let msg: Vec<u8> = a.iter().flat_map(|v| v.to_bytes()).collect();
            let msg = String::from_utf8_lossy(&msg).to_string();
            return Some(Err(if msg.is_empty() { "Died".into() } else { msg.trim_end().to_string() }));
        }
        "warn" | "print" | "printf" | "say" | "diag" | "note" => Value::Num(1.0),
        "time" => Value::Num(
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0) as f64,
        ),
        "__FILE__" => Value::str("(eval)"),
        "__LINE__" => Value::Num(0.0),
        _ => return None,
    };
    Some(Ok(r))
}

fn split_bytes(s: &[u8], sep: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i + sep.len() <= s.len() {
        if &s[i..i + sep.len()] == sep {
            out.push(s[start..i].to_vec());
            i += sep.len();
            start = i;
        } else {
            i += 1;
        }
    }
    out.push(s[start..].to_vec());
    out
}

/// `sprintf` for the common conversions (%s %d %i %u %x %X %o %f %e %g %c %%).
fn sprintf(fmt: &[u8], args: &[Value]) -> R<Vec<u8>> {
    let mut out = Vec::new();
    let mut ai = 0;
    let mut i = 0;
    let mut next = || {
        let v = args.get(ai).cloned().unwrap_or(Value::Undef);
        ai += 1;
        v
    };
    while i < fmt.len() {
        if fmt[i] != b'%' {
            out.push(fmt[i]);
            i += 1;
            continue;
        }
        i += 1;
        let st = i;
        while i < fmt.len() && b"-+ 0#".contains(&fmt[i]) {
            i += 1;
        }
        let flags = String::from_utf8_lossy(&fmt[st..i]).to_string();
        let wst = i;
        while i < fmt.len() && fmt[i].is_ascii_digit() {
            i += 1;
        }
        let width: usize = std::str::from_utf8(&fmt[wst..i]).unwrap().parse().unwrap_or(0);
        let mut prec: Option<usize> = None;
        if i < fmt.len() && fmt[i] == b'.' {
            i += 1;
            let pst = i;
            while i < fmt.len() && fmt[i].is_ascii_digit() {
                i += 1;
            }
            prec = Some(std::str::from_utf8(&fmt[pst..i]).unwrap().parse().unwrap_or(0));
        }
        while i < fmt.len() && b"hlqLV".contains(&fmt[i]) {
            i += 1;
        }
        let Some(&conv) = fmt.get(i) else { break };
        i += 1;
        let body: Vec<u8> = match conv {
            b'%' => b"%".to_vec(),
            b's' => {
                let mut s = next().to_bytes();
                if let Some(p) = prec {
                    s.truncate(p);
                }
                s
            }
            b'c' => vec![next().to_num() as u8],
            b'd' | b'i' | b'u' => {
                let n = next().to_num().trunc() as i64;
                let mut s = n.to_string();
                if flags.contains('+') && n >= 0 {
                    s.insert(0, '+');
                }
                s.into_bytes()
            }
            b'x' => format!("{:x}", next().to_num() as i64).into_bytes(),
            b'X' => format!("{:X}", next().to_num() as i64).into_bytes(),
            b'o' => format!("{:o}", next().to_num() as i64).into_bytes(),
            b'b' => format!("{:b}", next().to_num() as i64).into_bytes(),
            b'f' | b'F' => format!("{:.*}", prec.unwrap_or(6), next().to_num()).into_bytes(),
            b'e' | b'E' => format!("{:.*e}", prec.unwrap_or(6), next().to_num()).into_bytes(),
            b'g' | b'G' => fmt_num(next().to_num()).into_bytes(),
            other => return Err(format!("sprintf: unsupported conversion %{}", other as char)),
        };
        if body.len() < width {
            let pad = width - body.len();
            if flags.contains('-') {
                out.extend_from_slice(&body);
                out.extend(std::iter::repeat_n(b' ', pad));
            } else if flags.contains('0') && conv != b's' {
                let (sign, digits) = if body.first() == Some(&b'-') || body.first() == Some(&b'+') {
                    body.split_at(1)
                } else {
                    body.split_at(0)
                };
                out.extend_from_slice(sign);
                out.extend(std::iter::repeat_n(b'0', pad));
                out.extend_from_slice(digits);
            } else {
                out.extend(std::iter::repeat_n(b' ', pad));
                out.extend_from_slice(&body);
            }
        } else {
            out.extend_from_slice(&body);
        }
    }
    Ok(out)
}
