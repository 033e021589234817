# Behaviour follows stream-lua v0.0.16 (see upstream t/003-errors.t, t/073-backtrace.t)
# Runtime errors abort the entry thread with an [error] line; Lua syntax errors in inline
# blocks are refused by `nginx -t` (stream-lua-rs goes beyond upstream here, which only
# reports them when the first connection arrives).

use Test::Nginx::Socket::Lua::Stream;

repeat_each(1);

plan tests => repeat_each() * (blocks() * 2);

run_tests();

__DATA__

=== TEST 1: runtime error after partial output
--- stream_server_config
    content_by_lua_block {
        ngx.say("partial answer")
        local ready = true
        error("something broke")
        ngx.say("never sent")
    }
--- stream_response
partial answer
--- error_log eval
qr/\[error\] .*lua entry thread aborted: runtime error: content_by_lua\(nginx\.conf:\d+\):4: something broke/



=== TEST 2: the abort line is followed by a traceback
--- stream_server_config
    content_by_lua_block {
        local function explode()
            error("deep failure")
        end
        function outer_caller()
            explode()
        end
        outer_caller()
    }
--- stream_response
--- error_log eval
[
qr/lua entry thread aborted: runtime error: content_by_lua\(nginx\.conf:\d+\):3: deep failure/,
"stack traceback:",
"coroutine 0:",
"in function 'error'",
qr/content_by_lua\(nginx\.conf:\d+\):3: in function 'explode'/,
qr/content_by_lua\(nginx\.conf:\d+\):6: in function 'outer_caller'/,
qr/content_by_lua\(nginx\.conf:\d+\):8: in main chunk/,
]



=== TEST 3: error(nil) is reported as unknown reason
--- stream_server_config
    content_by_lua_block {
        ngx.say("about to fail")
        error(nil)
    }
--- stream_response
about to fail
--- error_log
lua entry thread aborted: runtime error: unknown reason



=== TEST 4: error() with a table value is reported as unknown reason
--- stream_server_config
    content_by_lua_block {
        error({code = 17})
    }
--- stream_response
--- error_log
lua entry thread aborted: runtime error: unknown reason



=== TEST 5: error() with a number gets a position prefix
--- stream_server_config
    content_by_lua_block {
        error(4711)
    }
--- stream_response
--- error_log eval
qr/lua entry thread aborted: runtime error: content_by_lua\(nginx\.conf:\d+\):2: 4711/



=== TEST 6: error() with level 0 has no position
--- stream_server_config
    content_by_lua_block {
        error("bare message", 0)
    }
--- stream_response
--- error_log
lua entry thread aborted: runtime error: bare message



=== TEST 7: indexing an undefined global
--- stream_server_config
    content_by_lua_block {
        ngx.say("one")
        local v = undefined_table.field
        ngx.say("two")
    }
--- stream_response
one
--- error_log eval
qr/runtime error: content_by_lua\(nginx\.conf:\d+\):3: attempt to index global 'undefined_table' \(a nil value\)/



=== TEST 8: arithmetic on a table local
--- stream_server_config
    content_by_lua_block {
        local box = {}
        local sum = box + 1
    }
--- stream_response
--- error_log eval
qr/runtime error: content_by_lua\(nginx\.conf:\d+\):3: attempt to perform arithmetic on local 'box' \(a table value\)/



=== TEST 9: calling an undefined global function
--- stream_server_config
    content_by_lua_block {
        not_defined_anywhere(1, 2)
    }
--- stream_response
--- error_log eval
qr/runtime error: content_by_lua\(nginx\.conf:\d+\):2: attempt to call global 'not_defined_anywhere' \(a nil value\)/



=== TEST 10: pcall catches errors and the handler continues
--- stream_server_config
    content_by_lua_block {
        local ok, err = pcall(function()
            error("inner trouble")
        end)
        ngx.say("ok: ", ok)
        ngx.say("err: ", err)
        ngx.say("still running")
    }
--- stream_response_like eval
qr/\Aok: false\nerr: content_by_lua\(nginx\.conf:\d+\):3: inner trouble\nstill running\n\z/
--- no_error_log
[error]



=== TEST 11: runtime error in a content_by_lua_file script
--- stream_server_config
    content_by_lua_file html/faulty.lua;
--- user_files
>>> faulty.lua
ngx.say("file started")
local t = nil
local n = t.missing
ngx.say("file finished")
--- stream_response
file started
--- error_log eval
qr/lua entry thread aborted: runtime error: .*?faulty\.lua:3: attempt to index local 't' \(a nil value\)/



=== TEST 12: runtime error raised inside a required module function
--- stream_config
    lua_package_path '$prefix/html/?.lua;;';
--- stream_server_config
    content_by_lua_block {
        local m = require "breaker"
        ngx.say("calling")
        m.crash()
    }
--- user_files
>>> breaker.lua
local M = {}

function M.crash()
    error("module level failure")
end

return M
--- stream_response
calling
--- error_log eval
qr/lua entry thread aborted: runtime error: .*?breaker\.lua:4: module level failure/



=== TEST 13: a Lua syntax error in an inline block is reported when the configuration loads
Reported as a warning with the nginx.conf file and line (so nginx -t shows it), while
nginx still starts, as upstream does: the sessions that run the code fail.
--- stream_server_config
    content_by_lua_block {
        local a
        a = a +;
        ngx.say(a)
    }
--- stream_response
--- error_log eval
[
qr/\[warn\] .*failed to load inlined Lua code: content_by_lua\(nginx\.conf:\d+\):3: unexpected symbol near ';' in \S+nginx\.conf:\d+/,
qr/\[error\] .*failed to load inlined Lua code: content_by_lua\(nginx\.conf:\d+\):3: unexpected symbol near ';', client: /,
]



=== TEST 14: syntax error on the first line of a block
--- stream_server_config
    content_by_lua_block {for end}
--- stream_response
--- error_log eval
qr/\[error\] .*content_by_lua\(nginx\.conf:\d+\):1: '<name>' expected near 'end'/



=== TEST 15: syntax error in the string form of content_by_lua
--- stream_server_config
    content_by_lua 'ngx.say("unbalanced"';
--- stream_response
--- error_log eval
qr/\[error\] .*content_by_lua\(nginx\.conf:\d+\):1: '\)' expected near '<eof>'/



=== TEST 16: nginx -t reports a syntax error and still accepts the configuration
--- stream_server_config
    content_by_lua_block {
        local x = = 3
    }
--- stream_response
--- error_log eval
qr/\[warn\] .*content_by_lua\(nginx\.conf:\d+\):2: unexpected symbol near '=' in \S+nginx\.conf:\d+/
--- no_error_log
[emerg]



=== TEST 17: an unterminated if statement is reported with both line numbers
--- stream_server_config
    content_by_lua_block {
        ngx.say("fine")
        if true then
            ngx.say("unterminated if")
    }
--- stream_response
--- error_log eval
qr/content_by_lua\(nginx\.conf:\d+\):5: 'end' expected \(to close 'if' at line 3\) near '<eof>'/
