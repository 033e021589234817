# lua_check_client_abort and ngx.on_abort. Behaviour follows stream-lua v0.0.16
# (see upstream t/100-client-abort.t and t/101-on-abort.t).
use Test::Nginx::Socket::Lua::Stream;

repeat_each(1);

plan tests => repeat_each() * (blocks() * 2);

run_tests();

__DATA__

=== TEST 1: on_abort is refused unless lua_check_client_abort is on
--- stream_server_config
    content_by_lua_block {
        ngx.say(ngx.on_abort(function() end))
    }
--- stream_response
nillua_check_client_abort is off
--- no_error_log
[error]



=== TEST 2: registering twice
--- stream_server_config
    lua_check_client_abort on;
    content_by_lua_block {
        ngx.say(ngx.on_abort(function() end))
        ngx.say(ngx.on_abort(function() end))
    }
--- stream_response
1
nilduplicate call
--- no_error_log
[error]



=== TEST 3: the callback runs when the client goes away while the handler sleeps
--- stream_server_config
    lua_check_client_abort on;
    content_by_lua_block {
        ngx.on_abort(function()
            ngx.log(ngx.WARN, "on_abort called")
            ngx.exit(444)
        end)
        ngx.sleep(1)
        ngx.log(ngx.WARN, "not aborted")
    }
    log_by_lua_block {
        ngx.log(ngx.WARN, "session status: ", ngx.var.status)
    }
--- timeout: 0.2
--- abort
--- wait: 0.3
--- stream_response
receive stream response error: timeout
--- error_log
stream client prematurely closed connection
on_abort called
session status: 444
--- no_error_log
not aborted



=== TEST 4: without a callback, a client abort ends the session
--- stream_server_config
    lua_check_client_abort on;
    content_by_lua_block {
        ngx.sleep(1)
        ngx.log(ngx.WARN, "still running")
    }
    log_by_lua_block {
        ngx.log(ngx.WARN, "session ended")
    }
--- timeout: 0.2
--- abort
--- wait: 0.3
--- stream_response
receive stream response error: timeout
--- error_log
stream client prematurely closed connection
session ended
--- no_error_log
still running



=== TEST 5: data from the client is not an abort
(Unread data also hides a later close from the check, as upstream's MSG_PEEK check does.)
--- stream_server_config
    lua_check_client_abort on;
    content_by_lua_block {
        ngx.on_abort(function() ngx.log(ngx.WARN, "on_abort called") end)
        ngx.sleep(0.05)
        local line = ngx.req.socket():receive()
        ngx.say("done: ", line)
    }
--- stream_request
some data
--- stream_response
done: some data
--- no_error_log
on_abort called



=== TEST 6: under lua_check_client_abort, the client closing while a request socket reads is "client aborted"
--- stream_server_config
    lua_check_client_abort on;
    content_by_lua_block {
        ngx.on_abort(function() ngx.log(ngx.WARN, "abort handler ran") end)
        local sock = ngx.req.socket()
        local data, err, partial = sock:receive(100)
        ngx.log(ngx.WARN, "receive: ", data, " ", err, " [", partial, "]")
        ngx.log(ngx.WARN, "again: ", select(2, sock:receive()))
    }
--- stream_request
hello
--- shutdown
--- stream_response
--- error_log
receive: nil client aborted [hello
]
again: closed



=== TEST 7: ngx.on_abort in a timer is refused with upstream's words
--- stream_server_config
    content_by_lua_block {
        ngx.timer.at(0, function()
            local ok, err = pcall(ngx.on_abort, function() end)
            ngx.log(ngx.WARN, "on_abort in a timer: ", err)
        end)
        ngx.say("ok")
    }
--- stream_response
ok
--- wait: 0.1
--- error_log
on_abort in a timer: API disabled in the context of ngx.timer



=== TEST 8: without an on_abort callback, a request-socket read meeting the client's close returns "client aborted"; the session ends at the next wait
--- stream_server_config
    lua_check_client_abort on;
    content_by_lua_block {
        local sock = ngx.req.socket()
        local it = sock:receiveuntil("\n")
        local data, err = it()
        ngx.log(ngx.WARN, "iterator: ", err)
        ngx.sleep(1)
        ngx.log(ngx.WARN, "still running")
    }
--- stream_request: hello
--- shutdown
--- stream_response
--- error_log
iterator: client aborted
stream client prematurely closed connection
--- no_error_log
still running
[error]



=== TEST 9: preread: the client going away while the code sleeps ends the session; log_by_lua still runs
--- stream_server_config
    lua_check_client_abort on;
    preread_by_lua_block {
        ngx.sleep(1)
        ngx.log(ngx.WARN, "preread went on")
    }
    log_by_lua_block {
        ngx.log(ngx.WARN, "log phase ran")
    }
    return done;
--- timeout: 0.2
--- abort
--- stream_response
receive stream response error: timeout
--- error_log
stream client prematurely closed connection
log phase ran
--- no_error_log
preread went on
[error]



=== TEST 10: preread: reads meeting the close fail quietly ("client aborted", then "closed"); the session ends at the next wait
--- stream_server_config
    lua_check_client_abort on;
    preread_by_lua_block {
        local sock = ngx.req.socket()
        local data, err = sock:receive()
        ngx.log(ngx.WARN, "receive: ", err)
        local it = sock:receiveuntil("\n")
        ngx.log(ngx.WARN, "iterator: ", select(2, it(3)))
        ngx.sleep(1)
        ngx.log(ngx.WARN, "still running")
    }
    content_by_lua_block { ngx.log(ngx.WARN, "content ran") }
--- timeout: 0.2
--- abort
--- stream_response
receive stream response error: timeout
--- error_log
receive: client aborted
iterator: closed
stream client prematurely closed connection
--- no_error_log
still running
content ran
[error]
