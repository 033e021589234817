# Behaviour follows stream-lua v0.0.16 (see upstream t/033-ctx.t, lua-resty-core ctx.lua)
# Each block is run twice so the second connection must also start with an empty ngx.ctx.

use Test::Nginx::Socket::Lua::Stream;

repeat_each(2);

plan tests => repeat_each() * (blocks() * 2);

run_tests();

__DATA__

=== TEST 1: store and read a value
--- stream_server_config
    content_by_lua_block {
        ngx.ctx.answer = 42
        ngx.say("answer: ", ngx.ctx.answer)
    }
--- stream_response
answer: 42
--- no_error_log
[error]



=== TEST 2: every connection starts with an empty ctx
--- stream_server_config
    content_by_lua_block {
        ngx.say("before: ", tostring(ngx.ctx.visited))
        ngx.ctx.visited = "yes"
        ngx.say("after: ", ngx.ctx.visited)
        ngx.say("keys: ", next(ngx.ctx) ~= nil)
    }
--- stream_response
before: nil
after: yes
keys: true
--- no_error_log
[error]



=== TEST 3: ngx.ctx is the same table on every access
--- stream_server_config
    content_by_lua_block {
        local a = ngx.ctx
        local b = ngx.ctx
        ngx.say("same: ", a == b, " type: ", type(a))
        a.shared = "through a"
        ngx.say("via b: ", b.shared)
    }
--- stream_response
same: true type: table
via b: through a
--- no_error_log
[error]



=== TEST 4: replacing ngx.ctx with a new table
--- stream_server_config
    content_by_lua_block {
        ngx.ctx.old_key = "old"
        ngx.ctx = { fruit = "apple", count = 3 }
        ngx.say(tostring(ngx.ctx.old_key), " ", ngx.ctx.fruit, " ", ngx.ctx.count)
        ngx.ctx = { fruit = "pear" }
        ngx.say(tostring(ngx.ctx.count), " ", ngx.ctx.fruit)
    }
--- stream_response
nil apple 3
nil pear
--- no_error_log
[error]



=== TEST 5: the assigned table is the one returned
--- stream_server_config
    content_by_lua_block {
        local mine = {}
        ngx.ctx = mine
        ngx.say("identical: ", rawequal(ngx.ctx, mine))
    }
--- stream_response
identical: true
--- no_error_log
[error]



=== TEST 6: assigning a number to ngx.ctx
--- stream_server_config
    content_by_lua_block {
        ngx.say("assigning")
        ngx.ctx = 5
        ngx.say("not reached")
    }
--- stream_response
assigning
--- error_log
ctx should be a table while getting a number



=== TEST 7: assigning nil or a string to ngx.ctx fails too
--- stream_server_config
    content_by_lua_block {
        local ok, err = pcall(function() ngx.ctx = nil end)
        ngx.say(ok, " ", err:match("ctx should be a table while getting a %a+"))
        ok, err = pcall(function() ngx.ctx = "text" end)
        ngx.say(ok, " ", err:match("ctx should be a table while getting a %a+"))
        ngx.ctx.still = "usable"
        ngx.say(ngx.ctx.still)
    }
--- stream_response
false ctx should be a table while getting a nil
false ctx should be a table while getting a string
usable
--- no_error_log
[error]



=== TEST 8: functions in required modules see the same ctx
--- stream_config
    lua_package_path '$prefix/html/?.lua;;';
--- stream_server_config
    content_by_lua_block {
        local helper = require "ctxhelper"
        ngx.ctx.user = "alice"
        helper.tag()
        ngx.say(ngx.ctx.user, " tagged by ", ngx.ctx.tagged_by)
    }
--- user_files
>>> ctxhelper.lua
local _M = {}

function _M.tag()
    ngx.ctx.tagged_by = "helper for " .. ngx.ctx.user
end

return _M
--- stream_response
alice tagged by helper for alice
--- no_error_log
[error]



=== TEST 9: ngx.ctx can hold any Lua value
--- stream_server_config
    content_by_lua_block {
        local ctx = ngx.ctx
        ctx.fn = function(x) return x * 2 end
        ctx.list = {1, 2, 3}
        ctx[1] = "numeric key"
        ctx[true] = "boolean key"
        ngx.say(ctx.fn(21), " ", #ctx.list, " ", ngx.ctx[1], " ", ngx.ctx[true])
    }
--- stream_response
42 3 numeric key boolean key
--- no_error_log
[error]



=== TEST 10: a table with a metatable can become ngx.ctx
--- stream_server_config
    content_by_lua_block {
        ngx.ctx = setmetatable({}, { __index = function(_, k) return "default-" .. k end })
        ngx.ctx.real = "set"
        ngx.say(ngx.ctx.real, " ", ngx.ctx.missing)
    }
--- stream_response
set default-missing
--- no_error_log
[error]



=== TEST 11: compiled loops in interleaved sessions each read their own ngx.ctx
--- stream_config
    lua_shared_dict seen 1m;
--- stream_server_config
    content_by_lua_block {
        local seen = ngx.shared.seen
        seen:flush_all()
        -- each timer is a session of its own; all run the same hot loop (LuaJIT compiles it
        -- once) and yield between rounds, so the loop's trace runs for every session in turn
        local function reader(premature, id)
            ngx.ctx.id = id
            local bad = 0
            for _ = 1, 20 do
                for _ = 1, 300 do
                    if ngx.ctx.id ~= id then bad = bad + 1 end
                end
                ngx.sleep(0.001)
            end
            seen:incr("bad", bad, 0)
            seen:incr("done", 1, 0)
        end
        for id = 1, 4 do
            assert(ngx.timer.at(0, reader, id))
        end
        ngx.ctx.id = "main"
        reader(nil, "main")
        while (seen:get("done") or 0) < 5 do ngx.sleep(0.01) end
        ngx.say("done: ", seen:get("done"), ", wrong reads: ", seen:get("bad"))
    }
--- stream_response
done: 5, wrong reads: 0
--- no_error_log
[error]
