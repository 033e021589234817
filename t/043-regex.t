# ngx.re.match/find/gmatch/sub/gsub, the ngx.re module (split, opt) and the lua_regex_*
# directives. Behaviour follows stream-lua v0.0.16 with lua-resty-core 0.1.31's regex.lua and
# ngx/re.lua over PCRE2 (see upstream t/034-match.t .. t/054-gsub-dfa.t, t/120-re-find.t).

use Test::Nginx::Socket::Lua::Stream;

repeat_each(2);

plan tests => repeat_each() * (blocks() * 2);

no_long_string();

run_tests();

__DATA__

=== TEST 1: match: captures, unmatched groups are false, no match is nil
--- stream_server_config
    content_by_lua_block {
        local m = ngx.re.match("hello, 1234 world", "([a-z]+), ([0-9]+)( x)?")
        ngx.say(m[0], "|", m[1], "|", m[2], "|", m[3], "|", #m)
        ngx.say(ngx.re.match("hello", "[0-9]+"))
        m = ngx.re.match(1234, "\\d\\d")
        ngx.say(m[0])
    }
--- stream_response
hello, 1234|hello|1234|false|3
nil
12
--- no_error_log
[error]



=== TEST 2: match: named captures and duplicate names (D)
--- stream_server_config
    content_by_lua_block {
        local m = ngx.re.match("hello, 1234", "(?<word>[a-z]+), (?<num>[0-9]+)(?<none>x)?")
        ngx.say(m.word, " ", m.num, " ", m.none, " ", m[1], " ", m[2])
        m = ngx.re.match("hello, 1234", "(?<n>[a-z]+), (?<n>[0-9]+)(?<n>x)?", "D")
        ngx.say(type(m.n), " ", table.concat(m.n, ","), " ", #m.n)
        local m, err = ngx.re.match("ab", "(?<n>a)(?<n>b)")
        ngx.say(m, " ", err)
    }
--- stream_response_like chop
^hello 1234 false hello 1234
table hello,1234 2
nil pcre2_compile\(\) failed: two named subpatterns have the same name .*$
--- no_error_log
[error]



=== TEST 3: match: the res table is reused, ctx.pos moves on
--- stream_server_config
    content_by_lua_block {
        local res = { "stale", "stale", "stale", extra = 1 }
        local m = ngx.re.match("a1b2", "([a-z])([0-9])", nil, nil, res)
        ngx.say(m == res, " ", res[0], res[1], res[2], " ", res[3], " ", res.extra)
        local ctx = {}
        m = ngx.re.match("a1b2", "[0-9]", "", ctx)
        ngx.say(m[0], " ", ctx.pos)
        m = ngx.re.match("a1b2", "[0-9]", "", ctx)
        ngx.say(m[0], " ", ctx.pos)
        m = ngx.re.match("a1b2", "[0-9]", "", ctx)
        ngx.say(m, " ", ctx.pos)
        ctx = { pos = -3 }
        ngx.say(ngx.re.match("a1b2", "[a-z]", "", ctx)[0], " ", ctx.pos)
    }
--- stream_response
true a1a1 stale 1
1 3
2 5
nil 5
a 2
--- no_error_log
[error]



=== TEST 4: the option letters
--- stream_server_config
    content_by_lua_block {
        local function m(s, re, o)
            local r, err = ngx.re.match(s, re, o)
            if not r then return tostring(err) end
            return r[0]
        end
        ngx.say("i: ", m("HELLO", "hello", "i"), " ", m("HELLO", "hello", ""))
        ngx.say("m: ", m("a\nb", "^b", "m"), " ", m("a\nb", "^b"))
        ngx.say("s: ", m("a\nb", "a.b", "s") == "a\nb", " ", m("a\nb", "a.b"))
        ngx.say("x: ", m("abc", " a b  c ", "x"))
        ngx.say("a: ", m("xab", "ab", "a"), " ", m("abx", "ab", "a"))
        ngx.say("d: ", m("aaa", "a+?", "d"), " ", m("aaa", "a+?"))
        ngx.say("j: ", m("hello 42", "\\d+", "j"), " jo: ", m("hello 42", "\\d+", "jo"))
        ngx.say("u: ", m("héllo", "^.{5}$", "u"), " ", m("héllo", "^.{5}$"))
        ngx.say("U: ", m("héllo", "^h.", "U"))
        ngx.say("J: ", m("a", "[]|a", "J"))
        ngx.say("all: ", m("Hello", "^h.*O$", "adDijJmosuUx"))
    }
--- stream_response
i: HELLO nil
m: b nil
s: true nil
x: abc
a: nil ab
d: aaa a
j: 42 jo: 42
u: héllo nil
U: hé
J: a
all: Hello
--- no_error_log
[error]



=== TEST 5: unknown flags raise upstream's error
--- stream_server_config
    content_by_lua_block {
        for _, f in ipairs{ "match", "find", "gmatch", "sub", "gsub" } do
            local ok, err
            if f == "sub" or f == "gsub" then
                ok, err = pcall(ngx.re[f], "a", "a", "b", "iz")
            else
                ok, err = pcall(ngx.re[f], "a", "a", "iz")
            end
            ngx.say(f, ": ", ok, " ", err)
        end
        local ok, err = pcall(function() return ngx.re.match("a", "a", "q") end)
        ngx.say(err)
    }
--- stream_response_like chop
^match: false .*?unknown flag "z" \(flags "iz"\)
find: false .*?unknown flag "z" \(flags "iz"\)
gmatch: false .*?unknown flag "z" \(flags "iz"\)
sub: false .*?unknown flag "z" \(flags "iz"\)
gsub: false .*?unknown flag "z" \(flags "iz"\)
.*?unknown flag "q" \(flags "q"\)$
--- no_error_log
[error]



=== TEST 6: bad regexes give nil and PCRE2's message, from every function
--- stream_server_config
    content_by_lua_block {
        ngx.say(ngx.re.match("1234", "([0-9]+"))
        ngx.say(select(3, ngx.re.find("1234", "([0-9]+")))
        ngx.say(ngx.re.gmatch("1234", "([0-9]+"))
        ngx.say(select(3, ngx.re.sub("1234", "([0-9]+", "x")))
        ngx.say(select(3, ngx.re.gsub("1234", "a(?", function() return "" end)))
        ngx.say(ngx.re.match("1234", "a**b"))
        ngx.say(ngx.re.match("1234", "(?<=a+)b"))
    }
--- stream_response_like chop
^nilpcre2_compile\(\) failed: missing closing parenthesis in "\(\[0-9\]\+"
pcre2_compile\(\) failed: missing closing parenthesis in "\(\[0-9\]\+"
nilpcre2_compile\(\) failed: missing closing parenthesis in "\(\[0-9\]\+"
pcre2_compile\(\) failed: missing closing parenthesis in "\(\[0-9\]\+"
pcre2_compile\(\) failed: .* in "a\(\?"
nilpcre2_compile\(\) failed: quantifier does not follow a repeatable item in "a\*\*b" at "\*b"
nilpcre2_compile\(\) failed: lookbehind assertion is not fixed length in "\(\?<=a\+\)b" at .*$
--- no_error_log
[error]



=== TEST 7: bad argument types
--- stream_server_config
    content_by_lua_block {
        ngx.say(ngx.re.match(nil, "ni")[0])
        ngx.say(ngx.re.match(true, "ru")[0])
        local ok, err = pcall(ngx.re.match, "a", nil)
        ngx.say(ok, " ", err)
        -- a table of options has no letters (as in lua-resty-core)
        ok, err = pcall(ngx.re.match, "a", "a", {})
        ngx.say(ok, " ", type(err))
        ok, err = pcall(ngx.re.find, "a", {})
        ngx.say(ok, " ", err)
        ok, err = pcall(ngx.re.gsub, "a", "a", "b", 5)
        ngx.say(ok, " ", err)
        ok, err = pcall(ngx.re.gmatch, "a", true)
        ngx.say(ok, " ", err)
    }
--- stream_response_like chop
^ni
ru
false .*attempt to get length of local 'regex' \(a nil value\)
true table
false .*bad argument #1 to 'ngx_lua_ffi_compile_regex' \(cannot convert 'table' to 'const unsigned char \*'\)
false .*attempt to get length of local 'opts' \(a number value\)
false .*attempt to get length of local 'regex' \(a boolean value\)$
--- no_error_log
[error]



=== TEST 8: bad UTF-8 with u fails the match, U skips the check
--- stream_server_config
    content_by_lua_block {
        local m, err = ngx.re.match("a\xffb", "a.b", "u")
        ngx.say(m, " ", err)
        m, err = select(2, ngx.re.find("a\xffb", "b", "u"))
        ngx.say(m, " ", err)
        m, err = ngx.re.match("a\xe9b", "b", "U")
        ngx.say(m and m[0], " ", err)
        m, err = ngx.re.match("ab", "a\xff", "u")
        ngx.say(m, " ", err)
    }
--- stream_response_like chop
^nil pcre_exec\(\) failed: -\d+
nil pcre_exec\(\) failed: -\d+
b nil
nil pcre2_compile\(\) failed: UTF-8 error: .*$
--- no_error_log
[error]



=== TEST 9: find: offsets, nth capture, ctx
--- stream_server_config
    content_by_lua_block {
        ngx.say(ngx.re.find("hello, 1234", "([a-z]+), ([0-9]+)"))
        ngx.say(ngx.re.find("hello, 1234", "([a-z]+), ([0-9]+)", "jo", nil, 2))
        ngx.say(ngx.re.find("hello, 1234", "([a-z]+), ([0-9]+)(x)?", "", nil, 3))
        ngx.say(ngx.re.find("hello, 1234", "([a-z]+), ([0-9]+)", "", nil, 3))
        ngx.say(ngx.re.find("hello, 1234", "([a-z]+), ([0-9]+)", "", nil, -1))
        ngx.say(ngx.re.find("hello", "[0-9]"))
        ngx.say(ngx.re.find("hello", ""))
        local ctx = { pos = 3 }
        local from, to = ngx.re.find("a1b2c3", "[0-9]", "", ctx)
        ngx.say(from, to, " ", ctx.pos)
    }
--- stream_response
111
811
nilnil
nilnilnth out of bound
111
nil
10
44 5
--- no_error_log
[error]



=== TEST 10: gmatch: every match, then nil; captures and names
--- stream_server_config
    content_by_lua_block {
        for m in ngx.re.gmatch("a1 b22 c333", "(?<l>[a-z])([0-9]+)") do
            ngx.say(m[0], " ", m.l, " ", m[2])
        end
        local it = ngx.re.gmatch("x", "x", "o")
        ngx.say(it()[0], " ", it(), " ", it())
        ngx.say(ngx.re.gmatch("abc", "[0-9]")())
    }
--- stream_response
a1 a 1
b22 b 22
c333 c 333
x nil nil
nil
--- no_error_log
[error]



=== TEST 11: gmatch: empty matches step one byte, at most one past the end
--- stream_server_config
    content_by_lua_block {
        local out = {}
        for m in ngx.re.gmatch("abc", "") do out[#out + 1] = "[" .. m[0] .. "]" end
        ngx.say(#out, " ", table.concat(out))
        out = {}
        for m in ngx.re.gmatch("aab", "a*") do out[#out + 1] = "[" .. m[0] .. "]" end
        ngx.say(#out, " ", table.concat(out))
        out = {}
        for m in ngx.re.gmatch("", "x*") do out[#out + 1] = "[" .. m[0] .. "]" end
        ngx.say(#out, " ", table.concat(out))
    }
--- stream_response
4 [][][][]
3 [aa][][]
1 []
--- no_error_log
[error]



=== TEST 12: sub/gsub with templates: $0, $1, ${1}, $$, unmatched groups, literals
--- stream_server_config
    content_by_lua_block {
        ngx.say(ngx.re.sub("hello, world", "([a-z])([a-z]+)", "[$0|$1|${2}x|$$]"))
        ngx.say(ngx.re.gsub("hello, world", "([a-z])([a-z]+)", "[$0|$1|${2}x|$$]"))
        ngx.say(ngx.re.gsub("a1b2", "([a-z])(x)?", "<$2$1$10>"))
        ngx.say(ngx.re.gsub("a1b2", "[0-9]", "#"))
        ngx.say(ngx.re.gsub("a1b2", "[0-9]", ""))
        ngx.say(ngx.re.gsub("a1b2", "x", "y"))
        ngx.say(ngx.re.gsub("abc", "b", 42))
        ngx.say(ngx.re.sub(123, "2", "$0$0"))
    }
--- stream_response
[hello|h|ellox|$], world1
[hello|h|ellox|$], [world|w|orldx|$]2
<a>1<b>22
a#b#2
ab2
a1b20
a42c1
12231
--- no_error_log
[error]



=== TEST 13: gsub: empty matches
--- stream_server_config
    content_by_lua_block {
        ngx.say(ngx.re.gsub("abc", "", "-"))
        ngx.say(ngx.re.gsub("abc", "x*", "-"))
        ngx.say(ngx.re.gsub("aab", "a*", "-"))
        ngx.say(ngx.re.gsub("", "", "-"))
        ngx.say(ngx.re.sub("abc", "", "-"))
        ngx.say(ngx.re.gsub("abc", "", function(m) return "<" .. m[0] .. ">" end))
    }
--- stream_response
-a-b-c-4
-a-b-c-4
--b-3
-1
-abc1
<>a<>b<>c<>4
--- no_error_log
[error]



=== TEST 14: sub/gsub with functions: the match table, non-string results
--- stream_server_config
    content_by_lua_block {
        ngx.say(ngx.re.gsub("a1b22", "(?<l>[a-z])([0-9]+)", function(m)
            return m.l:upper() .. #m[2]
        end))
        ngx.say(ngx.re.gsub("a1b2", "[0-9]", function(m) return tonumber(m[0]) * 10 end))
        ngx.say(ngx.re.gsub("a1b2", "[0-9]", function() return nil end))
        ngx.say(ngx.re.gsub("a1b2", "[0-9]", function() return true end))
        ngx.say(ngx.re.sub("a1b2", "[0-9]", function(m) return m[0] .. m[0] end))
        -- the callback may use ngx.re itself
        ngx.say(ngx.re.gsub("ab cd", "[a-z]+", function(m)
            return (ngx.re.gsub(m[0], ".", "$0$0"))
        end))
        local ok, err = pcall(ngx.re.gsub, "a1", "[0-9]", function() error("boom") end)
        ngx.say(ok, " ", err)
    }
--- stream_response_like chop
^A1B22
a10b202
anilbnil2
atruebtrue2
a11b21
aabb ccdd2
false content_by_lua\(nginx.conf:\d+\):\d+: boom$
--- no_error_log
[error]



=== TEST 15: bad replacement templates
--- stream_server_config
    content_by_lua_block {
        for _, t in ipairs{ "$", "x${1", "${}", "$name", "${name}", "$-" } do
            ngx.say(ngx.re.gsub("abc", "b", t))
        end
    }
--- stream_response
nilnilfailed to compile the replacement template
nilnilfailed to compile the replacement template
nilnilfailed to compile the replacement template
nilnilfailed to compile the replacement template
nilnilfailed to compile the replacement template
nilnilfailed to compile the replacement template
--- error_log
lua script: invalid capturing variable name found in "$"
the closing bracket in "1" variable is missing
lua script: invalid capturing variable name found in "${}"
attempt to use named capturing variable "name" (named captures not supported yet)
lua script: invalid capturing variable name found in "$-"



=== TEST 16: "o" caches compiled regexes across sessions (sub and match)
--- stream_server_config
    content_by_lua_block {
        for i = 1, 3 do
            local s, n = ngx.re.gsub("a" .. i, "[0-9]", "<$0>", "o")
            local m = ngx.re.match("b" .. i, "[0-9]", "o")
            local f = ngx.re.gsub("c" .. i, "[0-9]", function(m) return "{" .. m[0] .. "}" end, "o")
            ngx.say(s, " ", n, " ", m[0], " ", f)
        end
    }
--- stream_response
a<1> 1 1 c{1}
a<2> 1 2 c{2}
a<3> 1 3 c{3}
--- no_error_log
[error]



=== TEST 17: lua_regex_cache_max_entries bounds the cache; 0 disables it
--- stream_config
    lua_regex_cache_max_entries 2;
--- stream_server_config
    content_by_lua_block {
        for i = 1, 2 do
            for _, o in ipairs{ "o", "oi", "ox", "os" } do
                ngx.say(ngx.re.match("x" .. i, "[0-9]", o)[0], " ",
                        (ngx.re.sub("y" .. i, "[0-9]", "<$0>", o)))
            end
        end
    }
--- stream_response
1 y<1>
1 y<1>
1 y<1>
1 y<1>
2 y<2>
2 y<2>
2 y<2>
2 y<2>
--- no_error_log
[error]



=== TEST 18: ngx.re.opt("jit_stack_size") before any cached regex, and after
--- stream_config
    init_by_lua_block {
        local re = require "ngx.re"
        re.opt("jit_stack_size", 128 * 1024)
        ok_before = true
    }
--- stream_server_config
    content_by_lua_block {
        local re = require "ngx.re"
        ngx.say("before: ", ok_before)
        ngx.say(ngx.re.match(string.rep("a", 1000), "(a|b)*$", "jo")[1])
        local ok, err = pcall(re.opt, "jit_stack_size", 64 * 1024)
        ngx.say(ok, " ", err)
        ok, err = pcall(re.opt, "jit_maxcache", 10)
        ngx.say(ok, " ", err)
    }
--- stream_response_like chop
^before: true
a
false .*changing jit stack size is not allowed when some regexs have already been compiled and cached
false .*unrecognized option name$
--- no_error_log
[error]



=== TEST 19: ngx.re.opt is allowed while nothing is cached (max entries 0)
--- stream_config
    lua_regex_cache_max_entries 0;
--- stream_server_config
    content_by_lua_block {
        local re = require "ngx.re"
        ngx.say(ngx.re.match("a1", "[0-9]", "jo")[0])
        ngx.say(pcall(re.opt, "jit_stack_size", 1))
    }
--- stream_response
1
true
--- no_error_log
[error]



=== TEST 20: lua_regex_match_limit
--- stream_config
    lua_regex_match_limit 1;
--- stream_server_config
    content_by_lua_block {
        -- (no required literal, so PCRE2 cannot rule the match out without running it)
        ngx.say(ngx.re.match("ababab!", "^(a|b)*$"))
        ngx.say(select(3, ngx.re.find("ababab!", "^(a|b)*$")))
        ngx.say(select(3, ngx.re.gsub("ababab!", "^(a|b)*$", "")))
        ngx.say(ngx.re.gmatch("ababab!", "^(a|b)*$")())
    }
--- stream_response
nilpcre_exec() failed: -47
pcre_exec() failed: -47
pcre_exec() failed: -47
nilpcre_exec() failed: -47
--- no_error_log
[error]



=== TEST 21: bad values of the lua_regex_* directives
--- stream_config
    lua_regex_match_limit abc;
--- stream_server_config
    content_by_lua_block { ngx.say("unreachable") }
--- must_die
--- error_log eval
qr/\[emerg\] .*"lua_regex_match_limit" directive invalid number/



=== TEST 22: lua_regex_cache_max_entries given twice
--- stream_config
    lua_regex_cache_max_entries 10;
    lua_regex_cache_max_entries 20;
--- stream_server_config
    content_by_lua_block { ngx.say("unreachable") }
--- must_die
--- error_log eval
qr/\[emerg\] .*"lua_regex_cache_max_entries" directive is duplicate/



=== TEST 23: split: fields, captured separators, max, trailing empty fields
--- stream_server_config
    content_by_lua_block {
        local split = require("ngx.re").split
        local function show(res, err)
            if not res then return ngx.say("err: ", err) end
            local t = {}
            for i, v in ipairs(res) do t[i] = "[" .. v .. "]" end
            ngx.say(#res, " ", table.concat(t))
        end
        show(split("a,b,,c", ","))
        show(split("a,b,,c,,", ","))
        show(split("a,b;c", "([,;])"))
        show(split("a,b,c,d", ",", nil, nil, 2))
        show(split("a,b,c,d", ",", nil, nil, 10))
        show(split("abc", ""))
        -- lua-resty-core's quirk: after an empty separator a field restarts there
        show(split("a1b22c", "[0-9]*"))
        show(split("", ","))
        show(split("abc", "x"))
        show(split("a,b", "(", "o"))
    }
--- stream_response
4 [a][b][][c]
4 [a][b][][c]
5 [a][,][b][;][c]
2 [a][b,c,d]
4 [a][b][c][d]
3 [a][b][c]
5 [a][a1][b][b22][c]
0 
1 [abc]
err: pcre2_compile() failed: missing closing parenthesis in "("
--- no_error_log
[error]



=== TEST 24: split: ctx.pos, the res table, a bad res
--- stream_server_config
    content_by_lua_block {
        local split = require("ngx.re").split
        local res = { "x", "x", "x", "x", "x" }
        local r = split("a,b", ",", nil, { pos = 3 }, nil, res)
        ngx.say(r == res, " ", res[1], " ", res[2], " ", res[3])
        r = split("a,b", ",", nil, { pos = 10 })
        ngx.say(#r)
        local ok, err = pcall(split, "a,b", ",", nil, nil, nil, "str")
        ngx.say(ok, " ", err)
    }
--- stream_response_like chop
^true b nil x
0
false .*res is not a table$
--- no_error_log
[error]



=== TEST 25: regexes work in init_by_lua, timers and log_by_lua
--- stream_config
    init_by_lua_block {
        init_res = ngx.re.gsub("a-b", "-", "+", "jo")
    }
--- stream_server_config
    content_by_lua_block {
        ngx.say(init_res)
        ngx.timer.at(0, function()
            ngx.log(ngx.WARN, "timer: ", ngx.re.match("t42", "[0-9]+")[0])
        end)
        ngx.sleep(0.01)
    }
    log_by_lua_block {
        ngx.log(ngx.WARN, "log: ", (ngx.re.sub("x1", "[0-9]", "2")))
    }
--- stream_response
a+b
--- error_log
timer: 42
log: x2



=== TEST 26: a long subject and a large template expansion (output buffer growth)
--- stream_server_config
    content_by_lua_block {
        local s = string.rep("ab", 5000)
        local out, n = ngx.re.gsub(s, "b", "$0$0$0$0")
        ngx.say(#out, " ", n, " ", out:sub(1, 12))
        out, n = ngx.re.gsub(s, "(a)", string.rep("x", 300) .. "$1", "o")
        ngx.say(#out, " ", n)
    }
--- stream_response
25000 5000 abbbbabbbbab
1510000 5000
--- no_error_log
[error]



=== TEST 27: the built-in ngx.re module and ngx.re table shapes
--- stream_server_config
    content_by_lua_block {
        local re = require "ngx.re"
        ngx.say(type(re.split), " ", type(re.opt), " ", re == ngx.re)
        local names = {}
        for k in pairs(ngx.re) do names[#names + 1] = k end
        table.sort(names)
        ngx.say(table.concat(names, " "))
    }
--- stream_response
function function false
find gmatch gsub match sub
--- no_error_log
[error]



=== TEST 28: lua_regex_match_limit also applies to regexes compiled in init_by_lua
--- stream_config
    lua_regex_match_limit 1;
    init_by_lua_block {
        -- (compiled and cached here; whether the limit applies in init itself may differ)
        ngx.re.match("abab", "^(a|b)*$", "o")
    }
--- stream_server_config
    content_by_lua_block {
        ngx.say(ngx.re.match("ababab!", "^(a|b)*$", "o"))
    }
--- stream_response
nilpcre_exec() failed: -47
--- no_error_log
[error]



=== TEST 29: the exported ABI can be called directly (pcre version, cache size)
--- stream_config
    lua_regex_cache_max_entries 7;
--- stream_server_config
    content_by_lua_block {
        local ffi = require "ffi"
        ngx.say(ffi.string(ffi.C.ngx_stream_lua_ffi_pcre_version()):match("^10%.%d+"))
        ngx.say(ffi.C.ngx_stream_lua_ffi_max_regex_cache_size())
    }
--- stream_response_like chop
^10\.\d+
7$
--- no_error_log
[error]



=== TEST 30: a gsub callback may yield (ngx.sleep) and gmatch iterators may span yields
--- stream_server_config
    content_by_lua_block {
        ngx.say(ngx.re.gsub("a1b2", "[0-9]", function(m)
            ngx.sleep(0.001)
            return "<" .. m[0] .. ">"
        end))
        local it = ngx.re.gmatch("x1y2", "[0-9]", "jo")
        local first = it()[0]
        ngx.sleep(0.001)
        ngx.say(first, it()[0], it())
    }
--- stream_response
a<1>b<2>2
12nil
--- no_error_log
[error]



=== TEST 31: only the match cache blocks ngx.re.opt("jit_stack_size") (as in lua-resty-core)
--- stream_server_config
    content_by_lua_block {
        local re = require "ngx.re"
        ngx.say(ngx.re.gsub("a1", "[0-9]", "x", "jo"))
        -- (true on the first request; a later one finds the match cache of this one)
        ngx.say(pcall(re.opt, "jit_stack_size", 200 * 1024))
        ngx.say(ngx.re.find("a1", "[0-9]", "jo"))
        ngx.say(pcall(re.opt, "jit_stack_size", 200 * 1024))
    }
--- stream_response_like chop
^ax1
(?:true|false.*cached)
22
false.*changing jit stack size is not allowed when some regexs have already been compiled and cached$
--- no_error_log
[error]



=== TEST 32: match: 0 to 7 groups, set or not, the same in the interpreter and hot JIT-compiled loops
--- stream_server_config
    content_by_lua_block {
        local subj = "a1b2c3d4"
        local cases = {
            "[a-z]", "([a-z])", "([a-z])(x)?", "([a-z])(x)?([0-9])",
            "([a-z])([0-9])(x)?([a-z])", "(a)(1)(b)(2)(c)", "(a)(1)(x)?(2)?(b)(2)(c)",
        }
        local function show(m)
            local parts = {}
            for i = 0, 7 do parts[#parts + 1] = tostring(m[i]) end
            return table.concat(parts, ",") .. " #" .. #m
        end
        for _, re in ipairs(cases) do
            local first = show(ngx.re.match(subj, re, "jo"))
            local same = true
            for _ = 1, 500 do
                if show(ngx.re.match(subj, re, "jo")) ~= first then same = false end
            end
            ngx.say(first, " ", same)
        end
    }
--- stream_response
a,nil,nil,nil,nil,nil,nil,nil #0 true
a,a,nil,nil,nil,nil,nil,nil #1 true
a,a,false,nil,nil,nil,nil,nil #2 true
a1,a,false,1,nil,nil,nil,nil #3 true
a1b,a,1,false,b,nil,nil,nil #4 true
a1b2c,a,1,b,2,c,nil,nil #5 true
a1b2c,a,1,false,false,b,2,c #7 true
--- no_error_log
[error]
