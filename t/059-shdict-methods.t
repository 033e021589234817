# ngx.shared.DICT's Lua C methods (flush_expired, get_keys): their argument checks, and a
# `self` that is not a dict (a table whose [1] holds another userdata is refused, not read).
use Test::Nginx::Socket::Lua::Stream;

repeat_each(2);

plan tests => repeat_each() * (blocks() * 2);

no_long_string();
run_tests();

__DATA__

=== TEST 1: flush_expired and get_keys: argument count, self and count types
--- stream_config
    lua_shared_dict kv 1m;
--- stream_server_config
    content_by_lua_block {
        local kv = assert(ngx.shared.kv)
        kv:set("a", 1)
        for _, f in ipairs{"flush_expired", "get_keys"} do
            ngx.say(pcall(kv[f]))
            ngx.say(pcall(kv[f], kv, 1, 2))
            ngx.say(pcall(kv[f], 1))
            ngx.say(pcall(kv[f], kv, "x"))
            ngx.say(pcall(kv[f], kv, "2"))
        end
    }
--- stream_response
falseexpecting 1 or 2 argument(s), but saw 0
falseexpecting 1 or 2 argument(s), but saw 3
falsebad argument #1 to '?' (table expected, got number)
falsebad argument #2 to '?' (number expected, got string)
true0
falseexpecting 1 or 2 argument(s), but saw 0
falseexpecting 1 or 2 argument(s), but saw 3
falsebad argument #1 to '?' (table expected, got number)
falsebad argument #2 to '?' (number expected, got string)
truea
--- no_error_log
[error]



=== TEST 2: a self whose [1] is not a dict's userdata: no userdata, a light one, a foreign one
--- stream_config
    lua_shared_dict kv 1m;
--- stream_server_config
    content_by_lua_block {
        local kv = assert(ngx.shared.kv)
        kv:set("a", 1)
        for _, f in ipairs{"flush_expired", "get_keys"} do
            ngx.say(pcall(kv[f], {}))
            ngx.say(pcall(kv[f], {ngx.null}))
            ngx.say(pcall(kv[f], {io.stdout}))
            ngx.say(pcall(kv[f], {newproxy()}))
        end
        ngx.say("keys: ", table.concat(kv:get_keys(), " "))
    }
--- stream_response
falsebad user data for the ngx_shm_zone_t pointer
falsebad user data for the ngx_shm_zone_t pointer
falsebad user data for the ngx_shm_zone_t pointer
falsebad user data for the ngx_shm_zone_t pointer
falsebad user data for the ngx_shm_zone_t pointer
falsebad user data for the ngx_shm_zone_t pointer
falsebad user data for the ngx_shm_zone_t pointer
falsebad user data for the ngx_shm_zone_t pointer
keys: a
--- no_error_log
[error]
