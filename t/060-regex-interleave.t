# ngx.re with several compiled regexes in use at once: each keeps its own captures and match
# data, whatever ran in between (regexes with more or fewer groups, DFA, a new JIT stack).
use Test::Nginx::Socket::Lua::Stream;

repeat_each(2);

plan tests => repeat_each() * (blocks() * 2);

no_long_string();
run_tests();

__DATA__

=== TEST 1: a gmatch iterator with 3 groups, with other regexes matching between its steps
--- stream_server_config
    content_by_lua_block {
        local it = ngx.re.gmatch("a1-b2-c3", [[(\w)(\d)(-)?]], "jo")
        local out = {}
        while true do
            local m = it()
            if not m then break end
            -- no groups, then many groups, then DFA (longest match only)
            local z = ngx.re.match("xyz", "y", "jo")
            local w = ngx.re.match("pqrstu", "(p)(q)(r)(s)(t)(u)", "jo")
            local d = ngx.re.match("abcd", "a|ab|abc", "d")
            out[#out + 1] = table.concat({m[0], m[1], m[2], tostring(m[3]), z[0], w[6], d[0], tostring(d[1])}, ",")
        end
        ngx.say(table.concat(out, " "))
    }
--- stream_response
a1-,a,1,-,y,u,abc,nil b2-,b,2,-,y,u,abc,nil c3,c,3,false,y,u,abc,nil
--- no_error_log
[error]



=== TEST 2: sub templates and find on one regex around new JIT stacks and a regex with more groups
--- stream_config
    lua_regex_cache_max_entries 0;
--- stream_server_config
    content_by_lua_block {
        local opt = require("ngx.re").opt
        local re = [[(\d+)-(\d+)]]
        ngx.say(ngx.re.sub("10-20", re, "$2-$1", "jo"))
        opt("jit_stack_size", 128 * 1024)
        ngx.say(ngx.re.match("a-b-c-d-e", [[(\w)-(\w)-(\w)-(\w)-(\w)]], "jo")[5])
        ngx.say(ngx.re.gsub("1-2 3-4", re, "<$2$1>", "jo"))
        opt("jit_stack_size", 64 * 1024)
        ngx.say(ngx.re.find("xx 5-6", re, "jo", nil, 2))
        ngx.say(ngx.re.match(string.rep("a", 1000), "(a|b)*$", "jo")[1])
    }
--- stream_response
20-101
e
<21> <43>2
66
a
--- no_error_log
[error]
