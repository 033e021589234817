# ngx.re with "j": a JIT-compiled pattern that is not UTF enters PCRE2's JIT code without
# pcre2_match; start offsets at or past the subject's end and UTF patterns (by option or by
# (*UTF)) still go through pcre2_match and its checks, with the same answers.
use Test::Nginx::Socket::Lua::Stream;

repeat_each(2);

plan tests => repeat_each() * (blocks() * 2);

no_long_string();
run_tests();

__DATA__

=== TEST 1: start offsets, empty subjects, UTF checks, bytes, sub and split with "j"
--- stream_server_config
    content_by_lua_block {
        local out = {}
        local function add(...) local t = {} for i = 1, select("#", ...) do t[i] = tostring((select(i, ...))) end out[#out + 1] = table.concat(t, " ") end
        -- start offsets at, before and past the subject's end
        for _, pos in ipairs({ 3, 4, 5, 9 }) do
            local ctx = { pos = pos }
            add(pos, ngx.re.find("abc", [[c?]], "jo", ctx))
            add("pos", ctx.pos)
        end
        add(ngx.re.find("", "x*", "jo"))
        add(ngx.re.find("", "x", "jo"))
        -- UTF: an invalid subject is still refused with u (checked), a valid one matches
        add(ngx.re.find("\xff\xfe", ".", "ju"))
        add(ngx.re.find("h\xc3\xa9!", "\xc3\xa9", "ju"))
        add(ngx.re.find("h\xc3\xa9!", "(*UTF)\xc3\xa9", "j"))
        add(ngx.re.find("\xff", "(*UTF).", "j"))
        -- a non-UTF JIT pattern on bytes, with captures, sub and split
        add(ngx.re.find("\xff\xfeab", "a(b)", "jo", nil, 1))
        add(ngx.re.sub("x-y-z", "-", "+", "jo"))
        add(ngx.re.gsub("x-y-z", "-", "+", "jo"))
        add(table.concat(require("ngx.re").split("a,b,,c", ",", "jo"), "|"))
        ngx.say(table.concat(out, "\n"))
    }
--- stream_response
3 3 3
pos 4
4 4 3
pos 4
5 nil nil pcre_exec() failed: -33
pos 5
9 nil nil pcre_exec() failed: -33
pos 9
1 0
nil
nil nil pcre_exec() failed: -23
2 3
2 3
nil nil pcre_exec() failed: -23
4 4
x+y-z 1
x+y+z 2
a|b||c
--- no_error_log
[error]
