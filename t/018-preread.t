# preread_by_lua_block / preread_by_lua_file. Behaviour follows stream-lua v0.0.16 (see
# upstream t/023-preread/*.t, src/ngx_stream_lua_prereadby.c): the handler runs before the
# content phase, ngx.exit(ngx.OK) goes on to the content phase, ngx.exit(ngx.ERROR) or a
# code >= 200 ends the session with that status, and an uncaught error ends it with 500.

use Test::Nginx::Socket::Lua::Stream;

repeat_each(2);

plan tests => repeat_each() * (blocks() * 2);

no_long_string();

run_tests();

__DATA__

=== TEST 1: preread runs first, output of both phases reaches the client in order
--- stream_server_config
    preread_by_lua_block {
        ngx.say("preread says hi")
        ngx.ctx.order = "preread"
    }
    content_by_lua_block {
        ngx.say("content after ", ngx.ctx.order)
    }
--- stream_response
preread says hi
content after preread
--- no_error_log
[error]



=== TEST 2: ngx.get_phase() is "preread"
--- stream_server_config
    preread_by_lua_block {
        ngx.ctx.phase = ngx.get_phase()
    }
    content_by_lua_block {
        ngx.say(ngx.ctx.phase, " then ", ngx.get_phase())
    }
--- stream_response
preread then content
--- no_error_log
[error]



=== TEST 3: preread_by_lua_file
--- stream_server_config
    preread_by_lua_file html/pre.lua;
    content_by_lua_block {
        ngx.say("content sees ", ngx.ctx.from_file)
    }
--- user_files
>>> pre.lua
ngx.ctx.from_file = "value set by " .. ngx.get_phase() .. " file"
--- stream_response
content sees value set by preread file
--- no_error_log
[error]



=== TEST 4: preread_by_lua_file with a variable in the path
--- stream_server_config
    preread_by_lua_file html/pre-$protocol.lua;
    content_by_lua_block {
        ngx.say("picked: ", ngx.ctx.picked)
    }
--- user_files
>>> pre-TCP.lua
ngx.ctx.picked = "tcp script"
--- stream_response
picked: tcp script
--- no_error_log
[error]



=== TEST 5: a missing preread file ends the session
--- stream_server_config
    preread_by_lua_file html/nowhere.lua;
    content_by_lua_block {
        ngx.say("must not run")
    }
--- stream_response
--- error_log eval
qr/failed to load external Lua file ".*?nowhere\.lua": cannot open /



=== TEST 6: ngx.exit(ngx.OK) leaves preread and the content phase runs
--- stream_server_config
    preread_by_lua_block {
        ngx.say("leaving early")
        ngx.exit(ngx.OK)
        ngx.say("not after exit")
    }
    content_by_lua_block {
        ngx.say("content ran")
    }
--- stream_response
leaving early
content ran
--- no_error_log
[error]



=== TEST 7: ngx.exit(ngx.ERROR) ends the session
--- stream_server_config
    preread_by_lua_block {
        ngx.say("refused")
        ngx.exit(ngx.ERROR)
    }
    content_by_lua_block {
        ngx.say("content must not run")
    }
    log_by_lua_block {
        ngx.log(ngx.WARN, "final status: ", ngx.var.status)
    }
--- stream_response
refused
--- error_log
final status: 500
--- no_error_log
[error]



=== TEST 8: ngx.exit with a status >= 200 ends the session with that status
--- stream_server_config
    preread_by_lua_block {
        ngx.say("forbidden")
        ngx.exit(403)
    }
    content_by_lua_block {
        ngx.say("content must not run")
    }
    log_by_lua_block {
        ngx.log(ngx.WARN, "final status: ", ngx.var.status)
    }
--- stream_response
forbidden
--- error_log
final status: 403
finalize stream session: 403
--- no_error_log
[error]



=== TEST 9: ngx.exit(200) from preread skips the content phase
--- stream_server_config
    preread_by_lua_block {
        ngx.say("answered in preread")
        return ngx.exit(200)
    }
    content_by_lua_block {
        ngx.say("content must not run")
    }
--- stream_response
answered in preread
--- no_error_log
[error]



=== TEST 10: a runtime error ends the session with 500
--- stream_server_config
    preread_by_lua_block {
        ngx.say("about to fail")
        local t = nil
        return t.field
    }
    content_by_lua_block {
        ngx.say("content must not run")
    }
    log_by_lua_block {
        ngx.log(ngx.WARN, "final status: ", ngx.var.status)
    }
--- stream_response
about to fail
--- error_log eval
[
qr/lua entry thread aborted: runtime error: preread_by_lua\(nginx\.conf:\d+\):4: attempt to index local 't' \(a nil value\)/,
"final status: 500",
]



=== TEST 11: error() with a custom message in preread
--- stream_server_config
    preread_by_lua_block {
        error("preread went wrong")
    }
    content_by_lua_block {
        ngx.say("content must not run")
    }
--- stream_response
--- error_log eval
qr/\[error\] .*preread_by_lua\(nginx\.conf:\d+\):2: preread went wrong/



=== TEST 12: preread reads from the client, content answers
--- stream_server_config
    preread_by_lua_block {
        local sock = assert(ngx.req.socket())
        local verb = assert(sock:receive())
        ngx.ctx.verb = verb
    }
    content_by_lua_block {
        ngx.say("verb was ", ngx.ctx.verb)
    }
--- stream_request
HELLO
--- stream_response
verb was HELLO
--- no_error_log
[error]



=== TEST 13: preread decides from the first bytes
--- stream_server_config
    preread_by_lua_block {
        local sock = assert(ngx.req.socket())
        local magic = sock:receive(4)
        if magic ~= "PASS" then
            ngx.say("bad magic: ", magic)
            return ngx.exit(ngx.ERROR)
        end
    }
    content_by_lua_block {
        ngx.say("welcome")
    }
--- stream_request chomp
FAIL
--- stream_response
bad magic: FAIL
--- no_error_log
[error]



=== TEST 14: the request socket is taken once per session, across phases
--- stream_server_config
    preread_by_lua_block {
        local sock = assert(ngx.req.socket())
        ngx.ctx.first = sock:receive(3)
    }
    content_by_lua_block {
        local sock, err = ngx.req.socket()
        ngx.say("preread read: ", ngx.ctx.first)
        ngx.say("content socket: ", sock, " ", err)
    }
--- stream_request chomp
abc
--- stream_response
preread read: abc
content socket: nil duplicate call
--- no_error_log
[error]



=== TEST 15: preread ends with a plain return and content uses ngx.var
--- stream_server_config
    preread_by_lua_block {
        if ngx.var.remote_addr ~= "127.0.0.1" then
            return ngx.exit(403)
        end
        return
    }
    content_by_lua_block {
        ngx.say("from ", ngx.var.remote_addr)
    }
--- stream_response
from 127.0.0.1
--- no_error_log
[error]



=== TEST 16: preread in front of a non-Lua content handler
--- stream_server_config
    preread_by_lua_block {
        ngx.say("lua first")
    }
    return "nginx return\n";
--- stream_response
lua first
nginx return
--- no_error_log
[error]



=== TEST 17: preread can stop a non-Lua content handler
--- stream_server_config
    preread_by_lua_block {
        ngx.say("stopped by lua")
        ngx.exit(444)
    }
    return "must not be sent\n";
--- stream_response
stopped by lua
--- no_error_log
[error]



=== TEST 18: ngx.eof in preread suppresses the content phase's output
--- stream_server_config
    preread_by_lua_block {
        ngx.say("only this")
        ngx.eof()
    }
    content_by_lua_block {
        local ok, err = ngx.say("content output")
        ngx.log(ngx.WARN, "content say: ", ok, " ", err)
    }
--- stream_response
only this
--- error_log
content say: nil seen eof



=== TEST 19: preread_by_lua_no_postpone is accepted
--- stream_config
    preread_by_lua_no_postpone on;
--- stream_server_config
    preread_by_lua_block {
        ngx.ctx.pre = ngx.get_phase()
    }
    content_by_lua_block {
        ngx.say("preread ran: ", ngx.ctx.pre)
    }
--- stream_response
preread ran: preread
--- no_error_log
[error]



=== TEST 20: preread_by_lua_no_postpone takes only on or off
--- stream_config
    preread_by_lua_no_postpone sometimes;
--- stream_server_config
    content_by_lua_block {
        ngx.say("unreachable")
    }
--- must_die
--- error_log
invalid value "sometimes" in "preread_by_lua_no_postpone" directive, it must be "on" or "off"



=== TEST 21: the server-level preread handler wins over the stream-level one
--- stream_config
    preread_by_lua_block {
        ngx.ctx.who = "stream level"
    }
--- stream_server_config
    preread_by_lua_block {
        ngx.ctx.who = "server level"
    }
    content_by_lua_block {
        ngx.say(ngx.ctx.who)
    }
--- stream_response
server level
--- no_error_log
[error]



=== TEST 22: a stream-level preread handler is inherited
--- stream_config
    preread_by_lua_block {
        ngx.ctx.who = "inherited"
    }
--- stream_server_config
    content_by_lua_block {
        ngx.say(ngx.ctx.who)
    }
--- stream_response
inherited
--- no_error_log
[error]



=== TEST 23: output API errors in preread are the usual ones
--- stream_server_config
    preread_by_lua_block {
        ngx.say(pcall(ngx.flush, 1))
        ngx.say("flush: ", ngx.flush(true))
    }
    content_by_lua_block {
        ngx.say("content")
    }
--- stream_response
falsebad argument #1 to '?' (boolean expected, got number)
flush: 1
content
--- no_error_log
[error]



=== TEST 24: by default preread_by_lua is moved behind ssl_preread, which ends the phase once it has the server name
--- stream_server_config
    ssl_preread on;
    preread_by_lua_block {
        ngx.ctx.pre = "ran"
    }
    content_by_lua_block {
        local sock = assert(ngx.req.socket())
        local hello = assert(sock:receive(72))
        ngx.say("preread: ", ngx.ctx.pre, ", sni: ", ngx.var.ssl_preread_server_name,
                ", hello bytes: ", #hello)
    }
--- stream_request eval
"\x16\x03\x01\x00\x43" . "\x01\x00\x00\x3f" . "\x03\x03" . ("\x00" x 32) . "\x00"
. "\x00\x02\x00\x2f" . "\x01\x00" . "\x00\x14"
. "\x00\x00\x00\x10\x00\x0e\x00\x00\x0blua.example"
--- stream_response
preread: nil, sni: lua.example, hello bytes: 72
--- no_error_log
[error]



=== TEST 25: with preread_by_lua_no_postpone on, preread_by_lua runs before ssl_preread
--- stream_config
    preread_by_lua_no_postpone on;
--- stream_server_config
    ssl_preread on;
    preread_by_lua_block {
        local sni = ngx.var.ssl_preread_server_name
        local sock = assert(ngx.req.socket())
        local hello = assert(sock:receive(72))
        ngx.say("sni: ", sni, ", hello bytes: ", #hello)
        ngx.exit(200)
    }
    return "not reached\n";
--- stream_request eval
"\x16\x03\x01\x00\x43" . "\x01\x00\x00\x3f" . "\x03\x03" . ("\x00" x 32) . "\x00"
. "\x00\x02\x00\x2f" . "\x01\x00" . "\x00\x14"
. "\x00\x00\x00\x10\x00\x0e\x00\x00\x0blua.example"
--- stream_response
sni: nil, hello bytes: 72
--- no_error_log
[error]



=== TEST 26: a read while a light thread waits in peek is refused ("socket busy reading"); ngx.exit(ngx.OK) ends that wait
--- stream_server_config
    preread_by_lua_block {
        local sock = assert(ngx.req.socket())
        ngx.thread.spawn(function()
            local data, err = sock:peek(100)
            ngx.say("light thread peeked: ", data, " ", err)
        end)
        ngx.say("entry peek: ", select(2, sock:peek(1)))
        ngx.say("entry receive: ", select(2, sock:receive(1)))
        ngx.exit(ngx.OK)
    }
    content_by_lua_block { ngx.say("content") }
--- stream_request
--- stream_response
entry peek: socket busy reading
entry receive: socket busy reading
content
--- no_error_log
[error]



=== TEST 27: a light thread's peek gets the bytes once the preread phase has read them, after the entry thread ended
--- stream_server_config
    preread_by_lua_block {
        local sock = assert(ngx.req.socket())
        ngx.ctx.sock = sock
        ngx.thread.spawn(function()
            ngx.say("light thread peeked: ", sock:peek(11))
        end)
        ngx.say("entry thread done")
    }
    content_by_lua_block {
        ngx.say("content received: ", ngx.ctx.sock:receive(11))
    }
--- stream_request: hello world
--- stream_response
entry thread done
light thread peeked: hello world
content received: hello world
--- no_error_log
[error]
