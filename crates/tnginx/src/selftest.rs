//! The runner's own checks, run with TNGINX_SELF_TEST=1 (no nginx needed): the data format,
//! the Perl subset, regex translation and the helpers around them.

use crate::checks::{diff, patterns_of, Pattern};
use crate::exec::{expand_env, BlockEnv};
use crate::nginx::parse_user_files;
use crate::perl::{self, Interp, PerlRegex, Value};
use crate::spec::{self, apply_filters, norm, parse_spec, trim, RawSection};
use std::collections::BTreeMap;

struct T {
    failures: Vec<String>,
    count: usize,
}

impl T {
    fn check(&mut self, what: &str, ok: bool, detail: impl FnOnce() -> String) {
        self.count += 1;
        if !ok {
            self.failures.push(format!("{}: {}", what, detail()));
        }
    }

    fn eq<A: std::fmt::Debug + PartialEq>(&mut self, what: &str, got: A, want: A) {
        let ok = got == want;
        self.check(what, ok, || format!("got {:?}, want {:?}", got, want));
    }
}

fn interp() -> Interp {
    let mut env = BTreeMap::new();
    env.insert("TEST_NGINX_FOO".to_string(), "foo-value".to_string());
    let mut i = Interp::new(env);
    i.set_global("Test::Nginx::Util::PcreVersion", Value::Num(2.0));
    i.set_global("HtmlDir", Value::str("/srv/html"));
    i
}

/// Evaluates code; the first value as bytes (or the error text).
fn ev(code: &str) -> Result<Vec<u8>, String> {
    let v = interp().eval_code(code.as_bytes())?;
    Ok(v.into_iter().next().unwrap_or(Value::Undef).to_bytes())
}

fn ev_value(code: &str) -> Value {
    interp()
        .eval_code(code.as_bytes())
        .map(|v| v.into_iter().next().unwrap_or(Value::Undef))
        .unwrap_or_else(|e| Value::str(format!("ERROR: {}", e)))
}

fn data_format(t: &mut T) {
    let text = b"use Foo;\nrepeat_each(2);\n__DATA__\n\n=== TEST 1: first\ndescription\n--- stream_server_config\n    return \"x\";\n--- stream_response\nx\n--- timeout: 1.5\n--- error_log eval\nqr/a/\n\n\n\n=== TEST 7: second\n--- (stream_response) chomp\nhello\n--- lua comment\n--- not a section because of the space\nbody\n";
    let s = parse_spec(text);
    t.eq("preamble", String::from_utf8_lossy(&s.preamble).to_string(), "use Foo;\nrepeat_each(2);\n".to_string());
    t.eq("block count", s.blocks.len(), 2);
    let b = &s.blocks[0];
    t.eq("block name", b.name.as_str(), "TEST 1: first");
    t.eq("block number", b.number, 1);
    t.eq("block line", b.line, 5);
    let names: Vec<&str> = b.sections.iter().map(|s| s.name.as_str()).collect();
    t.eq("section names", names, vec!["stream_server_config", "stream_response", "timeout", "error_log"]);
    t.eq("one-liner value", b.sections[2].value.clone(), b"1.5".to_vec());
    t.eq("filters", b.sections[3].filters.clone(), vec!["eval".to_string()]);
    let b2 = &s.blocks[1];
    t.eq("TEST number", b2.number, 7);
    t.eq("parenthesised name", b2.sections[0].name.as_str(), "stream_response");
    t.eq("section named by a lua comment", b2.sections[1].name.as_str(), "lua");
    t.eq("--- with words is still a section", b2.sections.len(), 3);

    t.eq("trim leading blank lines", trim(b"  \n\nfoo\nbar\n\n \n"), b"foo\nbar\n".to_vec());
    t.eq("trim keeps inner spaces", trim(b"foo \n"), b"foo \n".to_vec());
    t.eq("trim without newline", trim(b"foo  "), b"foo  ".to_vec());
    t.eq("trim empty", trim(b"\n\n"), b"".to_vec());
    t.eq("norm", norm(b"a\r\nb\rc"), b"a\nb\nc".to_vec());

    let mut i = interp();
    let sec = |value: &str, filters: &[&str]| RawSection {
        name: "x".into(),
        filters: filters.iter().map(|s| s.to_string()).collect(),
        value: value.as_bytes().to_vec(),
        line: 1,
    };
    let f = |i: &mut Interp, v: &str, fl: &[&str]| {
        apply_filters(&sec(v, fl), i).map(|v| v.to_bytes()).unwrap_or_else(|e| e.into_bytes())
    };
    t.eq("default filters", f(&mut i, "\nfoo\n\n", &[]), b"foo\n".to_vec());
    t.eq("chomp", f(&mut i, "foo\n\n", &["chomp"]), b"foo".to_vec());
    t.eq("chop", f(&mut i, "foo\n", &["chop"]), b"foo".to_vec());
    t.eq("eval", f(&mut i, "\"a\\tb\" . 'c'\n", &["eval"]), b"a\tbc".to_vec());
    t.eq("-trim", f(&mut i, "\nfoo\n\n", &["-trim"]), b"\nfoo\n\n".to_vec());
    t.eq("escape", f(&mut i, "a\\tb\n", &["escape"]), b"a\tb\n".to_vec());
    t.eq(
        "effective filters",
        spec::effective_filters(&["-norm".into(), "+eval".into(), "chomp".into()]),
        vec!["trim".to_string(), "chomp".into(), "eval".into()],
    );
}

fn perl_subset(t: &mut T) {
    let cases: &[(&str, &[u8])] = &[
        (r#""foo\r\n""#, b"foo\r\n"),
        (r#""a" x 3"#, b"aaa"),
        (r#"("ab" x 2) . "c""#, b"ababc"),
        (r#""\x{41}\x42\101\0z""#, b"ABA\0z"),
        (r#""tab\there" . 'single\n'"#, b"tab\theresingle\\n"),
        (r#"'it\'s'"#, b"it's"),
        (r#"qq{braces {nested} $::HtmlDir}"#, b"braces {nested} /srv/html"),
        (r#""$::HtmlDir/?.lua;""#, b"/srv/html/?.lua;"),
        (r#""port $ENV{TEST_NGINX_FOO}!""#, b"port foo-value!"),
        (r#"$Test::Nginx::Util::PcreVersion == 2 ? "two" : "one""#, b"two"),
        ("my $s = \"ngx.say('ok')\\n\";\n\">>> a.lua\\n\" . (\" \" x (16 - length($s))) . $s;", b">>> a.lua\n  ngx.say('ok')\n"),
        ("my $s = '';\nfor my $i (1..3) {\n    $s .= \"$i: done\\n\";\n}\n$s;", b"1: done\n2: done\n3: done\n"),
        ("my $prev;\nmy $s = '';\nfor my $i (1..3) { if (!defined $prev) { $s .= \"f$i\"; } else { $s .= \"g$i$prev\"; } $prev = $i; }\n$s", b"f1g21g32"),
        ("<<'_EOC_' . \"tail\";\nraw $x \\n\n_EOC_\n", b"raw $x \\n\ntail"),
        ("<<_EOC_;\nv=$::HtmlDir\n_EOC_\n", b"v=/srv/html\n"),
        (r#"sprintf("%d-%s-%05.1f-%x", 42, "x", 3.14159, 255)"#, b"42-x-003.1-ff"),
        (r#"join(",", map_missing_ok => 1)"#, b"map_missing_ok,1"),
        (r#"1.5 + 2"#, b"3.5"),
        (r#"10 / 4"#, b"2.5"),
        (r#"0.1 + 0.2"#, b"0.3"),
        (r#"my @a = (1, 2, 3); scalar(@a) . ":" . $a[1]"#, b"3:2"),
        (r#"my $x = "abc"; $x =~ /b(c)/ ? "m:$1" : "no""#, b"m:c"),
        (r#"uc("abc") . lc("DEF") . length("hello")"#, b"ABCdef5"),
        (r#"my $r = [1, 2]; $r->[1]"#, b"2"),
        (r#""a@b.com""#, b"a@b.com"),
        (r#"my $v = "1.028003"; eval "$v >= 1.25.5" ? "new" : "old""#, b"new"),
        (r#"eval "1 +" ; $@ ne "" ? "err" : "ok""#, b"err"),
        (r#""x" . # comment
"y""#, b"xy"),
    ];
    for (code, want) in cases {
        let got = ev(code).unwrap_or_else(|e| format!("ERROR: {}", e).into_bytes());
        t.eq(code, String::from_utf8_lossy(&got).to_string(), String::from_utf8_lossy(want).to_string());
    }
    match ev_value("[qr/a\\d+/, \"str\", qr{b}i,]") {
        Value::Array(a) => {
            let a = a.borrow();
            t.eq("array length", a.len(), 3);
            t.check("array[0] is a regex", matches!(a[0], Value::Regex(_)), || format!("{:?}", a[0]));
            t.eq("array[1]", a[1].to_bytes(), b"str".to_vec());
            if let Value::Regex(r) = &a[2] {
                t.eq("regex flags", r.flags.as_str(), "i");
                t.eq("regex pattern", r.pattern.clone(), b"b".to_vec());
            }
        }
        other => t.check("array value", false, || format!("{:?}", other)),
    }
    t.check("qr value", matches!(ev_value("qr/\\[error\\] \\d+/"), Value::Regex(_)), || "not a regex".into());
    t.check("unsupported backticks", ev("`ls`").is_err(), || "no error".into());
    t.check("syntax error", ev("\"unterminated").is_err(), || "no error".into());

    // Preamble-style code with host functions and a block preprocessor.
    let mut i = interp();
    let calls = std::rc::Rc::new(std::cell::RefCell::new(Vec::<String>::new()));
    let c2 = calls.clone();
    let pre = std::rc::Rc::new(std::cell::RefCell::new(Vec::<Value>::new()));
    let p2 = pre.clone();
    i.set_host(Box::new(move |name, args| {
        c2.borrow_mut().push(format!(
            "{}({})",
            name,
            args.iter().map(|a| a.to_string_lossy()).collect::<Vec<_>>().join(",")
        ));
        match name {
            "add_block_preprocessor" => {
                p2.borrow_mut().push(args[0].clone());
                Some(Ok(Value::Undef))
            }
            "repeat_each" | "log_level" | "plan" | "run_tests" | "no_long_string" | "blocks" => {
                Some(Ok(Value::Num(2.0)))
            }
            _ => None,
        }
    }));
    let preamble = b"use Test::Nginx::Socket::Lua::Stream;\nrepeat_each(2);\nlog_level 'warn';\nplan tests => repeat_each() * (blocks() * 3);\n$ENV{TEST_NGINX_MEMCACHED_PORT} ||= 11211;\n$ENV{TEST_NGINX_FOO} ||= 'other';\nour $HtmlDir = '/x';\nsub read_file { my $f = shift; open my $in, $f or die; my $c = do { local $/; <$in> }; $c }\nadd_block_preprocessor(sub {\n    my $block = shift;\n    if (!defined $block->error_log) {\n        $block->set_value(\"no_error_log\", \"[error]\");\n    }\n    my $c = $block->stream_config || '';\n    $c .= <<_EOC_;\n    # added\n_EOC_\n    $block->set_value(\"stream_config\", $c);\n});\nthis is not perl at all;\nno_long_string();\nrun_tests();\n";
    let (stmts, errors) = perl::parse_tolerant(preamble).expect("tokenize");
    for s in &stmts {
        if let Err(e) = i.run_toplevel(s) {
            t.check("preamble statement", false, || e.clone());
        }
    }
    t.eq("preamble parse errors", errors.len(), 1);
    t.eq("host calls", calls.borrow().join(" "), "repeat_each(2) log_level(warn) repeat_each() blocks() plan(tests,12) add_block_preprocessor(CODE) no_long_string() run_tests()".to_string().replace("CODE", &pre.borrow()[0].to_string_lossy()));
    t.eq("env ||= sets", i.env.get("TEST_NGINX_MEMCACHED_PORT").cloned(), Some("11211".to_string()));
    t.eq("env ||= keeps", i.env.get("TEST_NGINX_FOO").cloned(), Some("foo-value".to_string()));
    let sections: perl::Sections = std::rc::Rc::new(std::cell::RefCell::new(BTreeMap::new()));
    sections.borrow_mut().insert("stream_config".into(), Value::str("lua_foo on;\n"));
    if let Some(Value::Code(code)) = pre.borrow().first() {
        if let Err(e) = i.call_code(code, vec![Value::Block(sections.clone())]) {
            t.check("preprocessor", false, || e.clone());
        }
    }
    let s = sections.borrow();
    t.eq("preprocessor no_error_log", s.get("no_error_log").map(|v| v.to_bytes()), Some(b"[error]".to_vec()));
    t.eq(
        "preprocessor stream_config",
        s.get("stream_config").map(|v| v.to_bytes()),
        Some(b"lua_foo on;\n    # added\n".to_vec()),
    );
}

fn regexes(t: &mut T) {
    let m = |pat: &str, flags: &str, hay: &str| PerlRegex::new(pat.as_bytes().to_vec(), flags).is_match(hay.as_bytes());
    let cases: &[(&str, &str, &str, bool)] = &[
        (r"^hello$", "", "hello\n", true),
        (r"^hello$", "", "hello\nx", false),
        (r"^hello$", "m", "x\nhello\ny", true),
        (r"a.c", "", "a\nc", false),
        (r"a.c", "s", "a\nc", true),
        (r"content_by_lua\(nginx\.conf:\d+\):1: attempt", "", "content_by_lua(nginx.conf:12):1: attempt", true),
        (r"foo\/bar", "", "foo/bar", true),
        (r"x{2}y", "", "xxy", true),
        (r"a{b}", "", "a{b}", true),
        (r"[\]\[]", "", "]", true),
        (r"[a-]", "", "-", true),
        (r"\h+", "", "a \tb", true),
        (r"ABC", "i", "xabcx", true),
        (r"end\Z", "", "the end\n", true),
        (r"(?:\.\.\/x;){1,2}\/y", "", "../x;/y", true),
        (
            r"failed to do SSL handshake: (22: certificate chain too long|20: unable)",
            "",
            "failed to do SSL handshake: 20: unable",
            true,
        ),
        ("a b # comment\n c", "x", "abc", true),
        (r"caf\x{e9}", "", "caf\u{e9}", false),
        (r"\xff", "", "\u{ff}", false),
        (r"(?<name>\w+)", "", "word", true),
    ];
    for (pat, flags, hay, want) in cases {
        t.eq(&format!("qr/{}/{} on {:?}", pat, flags, hay), m(pat, flags, hay), Ok(*want));
    }
    t.check("bytes", PerlRegex::new(b"\\xff\\x00".to_vec(), "").is_match(b"a\xff\x00b").unwrap_or(false), || {
        "no match".into()
    });
    for bad in [r"a++", r"\Gx", r"(?|a)"] {
        let r = PerlRegex::new(bad.as_bytes().to_vec(), "").compile_error().unwrap_or_default();
        t.check(&format!("qr/{}/ is reported", bad), r.contains("not supported"), || r.clone());
    }
    let fancy: &[(&str, &str, &str, bool)] = &[
        (r"warn\(\): .*?(?=, context)", "", "warn(): x, context: y", true),
        (r"(\w+) \1", "", "hello hello", true),
        (r"(\w+) \1", "", "hello world", false),
        ("^ (?= .*? \\b a=9 \\b ) (?= .{3} $ )", "x", "a=9", true),
        (r"a(?!b)", "", "ab", false),
    ];
    for (pat, flags, hay, want) in fancy {
        t.eq(&format!("fancy qr/{}/{} on {:?}", pat, flags, hay), m(pat, flags, hay), Ok(*want));
    }
    let re = PerlRegex::new(b"x(\\d)".to_vec(), "");
    t.eq("find", re.find(b"ax1b"), Ok(Some((1, 3))));
    t.eq(
        "split",
        PerlRegex::new(b",\\s*".to_vec(), "").split(b"a, b,c"),
        Ok(vec![b"a".to_vec(), b"b".to_vec(), b"c".to_vec()]),
    );
}

fn helpers(t: &mut T) {
    let files = parse_user_files(b">>> a.lua\nreturn 1\n>>> dir/b.txt 201901010000\nline\n\n");
    t.eq("user_files count", files.len(), 2);
    t.eq("user_files body", files[0].body.clone(), b"return 1\n".to_vec());
    t.eq("user_files name", files[1].name.as_str(), "dir/b.txt");
    t.eq("user_files date", files[1].date.clone(), Some("201901010000".to_string()));
    t.eq("user_files body 2", files[1].body.clone(), b"line\n\n".to_vec());

    let pats = patterns_of(&Value::str("[error]\n\n[alert]\n"));
    t.eq("string patterns", pats.len(), 2);
    t.check("substring match", pats[0].matches(b"2024 [error] 1#1: x").unwrap(), || "no".into());
    let arr =
        Value::array(vec![Value::str("a\nb"), Value::Regex(std::rc::Rc::new(PerlRegex::new(b"x\\d".to_vec(), "")))]);
    let pats = patterns_of(&arr);
    t.eq("array patterns", pats.len(), 2);
    t.check("array strings are not split", matches!(&pats[0], Pattern::Sub(s) if s == b"a\nb"), || "split".into());

    let d = diff(b"a\nb\nc\n", b"a\nX\nc\n");
    t.eq("diff", d, vec!["  a\\n".to_string(), "- b\\n".into(), "+ X\\n".into(), "  c\\n".into()]);
    let d = diff(b"same\n", b"same");
    t.eq("diff of a missing newline", d, vec!["- same\\n".to_string(), "+ same".into()]);

    let mut env = BTreeMap::new();
    env.insert("TEST_NGINX_HTML_DIR".to_string(), "/h".to_string());
    let mut rp = BTreeMap::new();
    let mut benv = BlockEnv { env: &env, rand_ports: &mut rp, block_name: "TEST 1" };
    let out = expand_env(
        b"root $TEST_NGINX_HTML_DIR; listen $TEST_NGINX_RAND_PORT_1; again $TEST_NGINX_RAND_PORT_1; $x",
        &mut benv,
    )
    .unwrap();
    let port = benv.rand_ports["TEST_NGINX_RAND_PORT_1"].to_string();
    t.eq("expand_env", String::from_utf8(out).unwrap(), format!("root /h; listen {}; again {}; $x", port, port));
    t.check("missing env", expand_env(b"$TEST_NGINX_NOPE", &mut benv).is_err(), || "no error".into());
    crate::ports::release(port.parse().unwrap(), 1);
}

/// TEST_NGINX_RESTY_CORE's edits of a block's stream_config.
fn resty_core(t: &mut T) {
    use crate::resty_core::merge;
    let m = |conf: Option<&str>, servers: bool| {
        merge("/a/lib/:/b/lib", conf.map(|c| c.as_bytes().to_vec()), servers)
            .map(|c| String::from_utf8_lossy(&c).into_owned())
    };
    t.eq("resty.core: no stream block", m(None, false), None);
    t.eq(
        "resty.core: added directives",
        m(None, true).as_deref(),
        Some(" lua_package_path \"/a/lib/?.lua;/b/lib/?.lua;;\"; init_by_lua_block { require \"resty.core\" }"),
    );
    t.eq(
        "resty.core: added on the block's last line (server config lines keep their numbers)",
        m(Some("lua_shared_dict d 1m;\n"), true).as_deref(),
        Some("lua_shared_dict d 1m; lua_package_path \"/a/lib/?.lua;/b/lib/?.lua;;\"; init_by_lua_block { require \"resty.core\" }\n"),
    );
    t.eq(
        "resty.core: merged into the block's own",
        m(Some("lua_package_path '/x/?.lua;;';\ninit_by_lua_block {\n  foo()\n}\n"), true).as_deref(),
        Some("lua_package_path '/a/lib/?.lua;/b/lib/?.lua;/x/?.lua;;';\ninit_by_lua_block { require \"resty.core\" \n  foo()\n}\n"),
    );
    t.eq(
        "resty.core: init_by_lua_file only gets the path",
        m(Some("init_by_lua_file x.lua;"), false).as_deref(),
        Some("init_by_lua_file x.lua; lua_package_path \"/a/lib/?.lua;/b/lib/?.lua;;\";"),
    );
}

pub fn run() -> i32 {
    let mut t = T { failures: Vec::new(), count: 0 };
    data_format(&mut t);
    perl_subset(&mut t);
    regexes(&mut t);
    helpers(&mut t);
    resty_core(&mut t);
    for f in &t.failures {
        println!("not ok - {}", f);
    }
    println!("self-test: {} checks, {} failed", t.count, t.failures.len());
    if t.failures.is_empty() {
        0
    } else {
        1
    }
}
