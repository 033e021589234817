# lua_add_variable $name (stream {} level). Behaviour follows stream-lua v0.0.16 (see upstream
# t/141-add-variable.t, src/ngx_stream_lua_directive.c): a changeable, indexed stream variable
# that reads as nil until Lua assigns it; nginx's own modules (return, log_format) read the
# value Lua set; declaring the same name twice is fine.

use Test::Nginx::Socket::Lua::Stream;

repeat_each(2);

plan tests => repeat_each() * (blocks() * 2);

no_long_string();

run_tests();

__DATA__

=== TEST 1: a Lua-added variable reads as nil until Lua assigns it
--- stream_config
    lua_add_variable $greeting;
--- stream_server_config
    content_by_lua_block {
        local seen = { tostring(ngx.var.greeting) }
        ngx.var.greeting = "hi there"
        seen[2] = ngx.var.greeting
        ngx.say(table.concat(seen, " -> "))
    }
--- stream_response
nil -> hi there
--- no_error_log
[error]



=== TEST 2: nginx's return module reads what preread_by_lua stored
--- stream_config
    lua_add_variable $answer;
--- stream_server_config
    return "answer=$answer\n";
    preread_by_lua_block { ngx.var.answer = "forty-" .. (40 + 2) }
--- stream_response
answer=forty-42
--- no_error_log
[error]



=== TEST 3: the same name may be declared twice
--- stream_config
    lua_add_variable $twice;
    lua_add_variable $twice;
--- stream_server_config
    return "[$twice]\n";
    preread_by_lua_block { ngx.var.twice = string.rep("x", 3) }
--- stream_response
[xxx]
--- no_error_log
[error]



=== TEST 4: an access log's log_format sees the value
--- stream_config
    log_format lua_tag "tagged session: [$tag]";
    access_log logs/error.log lua_tag;
    lua_add_variable $tag;
--- stream_server_config
    return ok\n;
    preread_by_lua_block { ngx.var.tag = "b" .. "lue" }
--- stream_response
ok
--- error_log
tagged session: [blue]



=== TEST 5: an unassigned variable is empty for nginx's modules
--- stream_config
    lua_add_variable $never_set;
--- stream_server_config
    return "[$never_set]\n";
--- stream_response
[]
--- no_error_log
[error]



=== TEST 6: preread sets, content and log phases read
--- stream_config
    lua_add_variable $who;
--- stream_server_config
    preread_by_lua_block {
        ngx.var.who = "set in preread"
    }
    content_by_lua_block {
        ngx.say("content: ", ngx.var.who)
        ngx.var.who = "changed in content"
    }
    log_by_lua_block {
        ngx.log(ngx.WARN, "log phase: ", ngx.var.who)
    }
--- stream_response
content: set in preread
--- error_log
log phase: changed in content



=== TEST 7: each session starts with its own unset value
--- stream_config
    lua_add_variable $per_session;
--- stream_server_config
    content_by_lua_block {
        local before = ngx.var.per_session
        ngx.var.per_session = "mine"
        ngx.say("before: ", before, ", after: ", ngx.var.per_session)
    }
--- stream_response
before: nil, after: mine
--- no_error_log
[error]



=== TEST 8: assigning nil makes it unset again
--- stream_config
    lua_add_variable $gone;
--- stream_server_config
    content_by_lua_block {
        ngx.var.gone = "here"
        ngx.say(ngx.var.gone)
        ngx.var.gone = nil
        ngx.say(ngx.var.gone)
    }
--- stream_response
here
nil
--- no_error_log
[error]



=== TEST 9: numbers and empty strings are stored as strings
--- stream_config
    lua_add_variable $num;
    lua_add_variable $empty;
--- stream_server_config
    content_by_lua_block {
        ngx.var.num = 3.5
        ngx.var.empty = ""
        ngx.say(type(ngx.var.num), " ", ngx.var.num)
        ngx.say("[", ngx.var.empty, "] ", type(ngx.var.empty))
    }
--- stream_response
string 3.5
[] string
--- no_error_log
[error]



=== TEST 10: the name must start with a dollar
--- stream_config
    lua_add_variable foo;
--- stream_server_config
    content_by_lua_block {
        ngx.say("unreachable")
    }
--- must_die
--- error_log
invalid variable name "foo"



=== TEST 11: not allowed inside a server
--- stream_server_config
    lua_add_variable $inner;
    content_by_lua_block {
        ngx.say("unreachable")
    }
--- must_die
--- error_log eval
qr/\[emerg\] .*"lua_add_variable" directive is not allowed here/



=== TEST 12: one variable for every server, each session has its own value
--- stream_config
    lua_add_variable $shared_name;
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        content_by_lua_block {
            ngx.say(tostring(ngx.var.shared_name))
        }
    }
--- stream_server_config
    content_by_lua_block {
        ngx.var.shared_name = "from server 1"
        local sock = ngx.socket.tcp()
        assert(sock:connect("127.0.0.1", $TEST_NGINX_RAND_PORT_1))
        local line = assert(sock:receive())
        ngx.say("other: ", line)
        ngx.say("mine: ", ngx.var.shared_name)
    }
--- stream_response
other: nil
mine: from server 1
--- no_error_log
[error]
