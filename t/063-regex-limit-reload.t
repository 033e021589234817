# lua_regex_match_limit across a reload (HUP mode: one nginx, reloaded between blocks). A regex
# run by the new cycle's init_by_lua, in the master, must not pin the old cycle's limit for the
# new workers: the match context takes the limit of the cycle that runs. (Found by the runner's
# HUP mode; TEST 2 failed after TEST 1 and passed alone.)

use Test::Nginx::Socket::Lua::Stream;

use_hup();
repeat_each(1);
plan tests => repeat_each() * (blocks() * 2);
no_shuffle();
run_tests();

__DATA__

=== TEST 1: a regex in init_by_lua, no match limit
--- stream_config
    init_by_lua_block {
        init_res = ngx.re.gsub("a-b", "-", "+", "jo")
    }
--- stream_server_config
    content_by_lua_block {
        ngx.say(init_res)
    }
--- stream_response
a+b
--- no_error_log
[error]



=== TEST 2: after the reload, lua_regex_match_limit 1 applies (a regex also runs in init_by_lua)
--- stream_config
    lua_regex_match_limit 1;
    init_by_lua_block {
        ngx.re.match("abab", "^(a|b)*$", "o")
    }
--- stream_server_config
    content_by_lua_block {
        ngx.say(ngx.re.match("ababab!", "^(a|b)*$"))
    }
--- stream_response
nilpcre_exec() failed: -47
--- no_error_log
[error]
