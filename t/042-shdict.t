# lua_shared_dict and ngx.shared.DICT: every method, value types, flags, expiry, eviction,
# lists, bad keys/values/arguments, init_by_lua, two workers. Behaviour follows stream-lua
# v0.0.16 with lua-resty-core 0.1.31 (upstream t/043-shdict.t).
use Test::Nginx::Socket::Lua::Stream;

repeat_each(2);

plan tests => repeat_each() * (blocks() * 2);

no_long_string();
run_tests();

__DATA__

=== TEST 1: set and get every value type; nil deletes
--- stream_config
    lua_shared_dict dogs 1m;
--- stream_server_config
    content_by_lua_block {
        local dogs = ngx.shared.dogs
        dogs:flush_all()
        print(dogs:set("s", "hello"))
        dogs:set("n", 3.25)
        dogs:set("i", -7)
        dogs:set("t", true)
        dogs:set("f", false)
        dogs:set("e", "")
        for _, k in ipairs{"s", "n", "i", "t", "f", "e", "missing"} do
            local v = dogs:get(k)
            ngx.say(k, ": ", type(v), " ", tostring(v))
        end
        dogs:set("s", nil)
        ngx.say("after nil: ", dogs:get("s"))
        ngx.say("delete: ", dogs:delete("n"), " ", dogs:get("n"))
        ngx.say("delete missing: ", dogs:delete("nope"))
    }
--- stream_response
s: string hello
n: number 3.25
i: number -7
t: boolean true
f: boolean false
e: string 
missing: nil nil
after nil: nil
delete: true nil
delete missing: truenilfalse
--- no_error_log
[error]



=== TEST 2: set returns ok, err, forcible; a value replaced by one of another size and type
--- stream_config
    lua_shared_dict dogs 1m;
--- stream_server_config
    content_by_lua_block {
        local dogs = ngx.shared.dogs
        ngx.say(dogs:set("k", "short"))
        ngx.say(dogs:set("k", "a much longer value than before"))
        ngx.say(dogs:get("k"))
        ngx.say(dogs:set("k", 12))
        ngx.say(dogs:get("k"), " ", type(dogs:get("k")))
        ngx.say(dogs:set("k", "12345678"))
        ngx.say(dogs:get("k"), " ", type(dogs:get("k")))
    }
--- stream_response
truenilfalse
truenilfalse
a much longer value than before
truenilfalse
12 number
truenilfalse
12345678 string
--- no_error_log
[error]



=== TEST 3: user flags come back as a second value when not 0
--- stream_config
    lua_shared_dict dogs 1m;
--- stream_server_config
    content_by_lua_block {
        local dogs = ngx.shared.dogs
        dogs:set("a", "x", 0, 123)
        dogs:set("b", "y", 0, 0)
        dogs:set("c", 5, nil, 4294967295)
        ngx.say(dogs:get("a"))
        ngx.say(select("#", dogs:get("b")), " ", dogs:get("b"))
        local v, f = dogs:get("c")
        ngx.say(v, " ", f)
    }
--- stream_response
x123
1 y
5 -1
--- no_error_log
[error]



=== TEST 4: add refuses existing keys, takes expired ones; replace needs an existing key
--- stream_config
    lua_shared_dict dogs 1m;
--- stream_server_config
    content_by_lua_block {
        local dogs = ngx.shared.dogs
        dogs:flush_all()
        ngx.say("add: ", dogs:add("k", 1))
        ngx.say("add again: ", dogs:add("k", 2))
        ngx.say("value: ", dogs:get("k"))
        ngx.say("replace missing: ", dogs:replace("nope", 1))
        ngx.say("replace: ", dogs:replace("k", "two"))
        ngx.say("value: ", dogs:get("k"))
        ngx.say("add nil: ", dogs:add("z", nil))
        ngx.say("replace nil: ", dogs:replace("k", nil))
        dogs:set("old", "v", 0.001)
        ngx.sleep(0.01)
        ngx.say("replace expired: ", dogs:replace("old", "w"))
        ngx.say("add expired: ", dogs:add("old", "w"))
        ngx.say("value: ", dogs:get("old"))
        ngx.say("safe_add: ", dogs:safe_add("old", 1))
        ngx.say("safe_add new: ", dogs:safe_add("new", 1))
    }
--- stream_response
add: truenilfalse
add again: falseexistsfalse
value: 1
replace missing: falsenot foundfalse
replace: truenilfalse
value: two
add nil: falseattempt to add or replace nil valuesfalse
replace nil: falseattempt to add or replace nil valuesfalse
replace expired: falsenot foundfalse
add expired: truenilfalse
value: w
safe_add: falseexistsfalse
safe_add new: truenilfalse
--- no_error_log
[error]



=== TEST 5: expiry: get misses, get_stale returns the value marked stale, ttl and expire
--- stream_config
    lua_shared_dict dogs 1m;
--- stream_server_config
    content_by_lua_block {
        local dogs = ngx.shared.dogs
        dogs:flush_all()
        dogs:set("k", "v", 0.05, 7)
        dogs:set("forever", "v")
        ngx.say("get: ", dogs:get("k"))
        ngx.say("stale before: ", dogs:get_stale("k"))
        local ttl = dogs:ttl("k")
        ngx.say("ttl in (0, 0.05]: ", ttl > 0 and ttl <= 0.05)
        ngx.say("ttl forever: ", dogs:ttl("forever"))
        ngx.say("ttl missing: ", dogs:ttl("missing"))
        ngx.sleep(0.1)
        ngx.say("get after: ", dogs:get("k"))
        ngx.say("stale after: ", dogs:get_stale("k"))
        ngx.say("expire: ", dogs:expire("forever", 10))
        ttl = dogs:ttl("forever")
        ngx.say("ttl now in (9, 10]: ", ttl > 9 and ttl <= 10)
        ngx.say("expire 0: ", dogs:expire("forever", 0), " ", dogs:ttl("forever"))
        ngx.say("expire missing: ", dogs:expire("missing", 1))
    }
--- stream_response
get: v7
stale before: v7false
ttl in (0, 0.05]: true
ttl forever: 0
ttl missing: nilnot found
get after: nil
stale after: v7true
expire: true
ttl now in (9, 10]: true
expire 0: true 0
expire missing: nilnot found
--- no_error_log
[error]



=== TEST 6: incr: missing keys, init, init_ttl, non-numbers, string increments
--- stream_config
    lua_shared_dict dogs 1m;
--- stream_server_config
    content_by_lua_block {
        local dogs = ngx.shared.dogs
        dogs:flush_all()
        ngx.say("missing: ", dogs:incr("n", 1))
        ngx.say("init: ", dogs:incr("n", 1, 10))
        ngx.say("again: ", dogs:incr("n", 2.5, 10))
        ngx.say("no init: ", dogs:incr("n", -3.5))
        ngx.say("string step: ", dogs:incr("n", "4"))
        dogs:set("s", "str")
        ngx.say("not a number: ", dogs:incr("s", 1))
        ngx.say("not a number with init: ", dogs:incr("s", 1, 0))
        ngx.say("ttl: ", dogs:incr("t", 1, 0, 0.05))
        ngx.say("ttl set: ", dogs:ttl("t") > 0)
        ngx.sleep(0.1)
        ngx.say("expired: ", dogs:get("t"))
        ngx.say("re-init: ", dogs:incr("t", 5, 100))
        ngx.say("ttl cleared: ", dogs:ttl("t"))
    }
--- stream_response
missing: nilnot found
init: 11nilfalse
again: 13.5nilfalse
no init: 10
string step: 14
not a number: nilnot a number
not a number with init: nilnot a number
ttl: 1nilfalse
ttl set: true
expired: nil
re-init: 105nilfalse
ttl cleared: 0
--- no_error_log
[error]



=== TEST 7: incr: bad init and init_ttl arguments raise errors
--- stream_config
    lua_shared_dict dogs 1m;
--- stream_server_config
    content_by_lua_block {
        local dogs = ngx.shared.dogs
        for _, f in ipairs{
            function() return dogs:incr("k", 1, "x") end,
            function() return dogs:incr("k", 1, 0, "y") end,
            function() return dogs:incr("k", 1, 0, -1) end,
            function() return dogs:incr("k", 1, nil, 1) end,
        } do
            local ok, err = pcall(f)
            ngx.say(ok, " ", err)
        end
    }
--- stream_response
false bad init arg: number expected, got string
false bad init_ttl arg: number expected, got string
false bad "init_ttl" argument
false must provide "init" when providing "init_ttl"
--- no_error_log
[error]



=== TEST 8: bad keys: nil, empty, too long; numbers become strings; tables through tostring
--- stream_config
    lua_shared_dict dogs 1m;
--- stream_server_config
    content_by_lua_block {
        local dogs = ngx.shared.dogs
        local long = string.rep("k", 65536)
        for _, name in ipairs{"get", "get_stale", "set", "add", "replace", "delete", "incr", "ttl", "expire"} do
            local m = dogs[name]
            local a = {m(dogs, nil, 1)}
            local b = {m(dogs, "", 1)}
            local c = {m(dogs, long, 1)}
            ngx.say(name, ": ", a[2], ", ", b[2], ", ", c[2])
        end
        ngx.say("65535 ok: ", dogs:set(string.rep("k", 65535), 1), " ", dogs:get(string.rep("k", 65535)))
        dogs:set(42, "num")
        ngx.say("number key: ", dogs:get("42"))
    }
--- stream_response
get: nil key, empty key, key too long
get_stale: nil key, empty key, key too long
set: nil key, empty key, key too long
add: nil key, empty key, key too long
replace: nil key, empty key, key too long
delete: nil key, empty key, key too long
incr: nil key, empty key, key too long
ttl: nil key, empty key, key too long
expire: nil key, empty key, key too long
65535 ok: true 1
number key: num
--- no_error_log
[error]



=== TEST 9: bad values and bad exptime; bad zone (a dot call)
--- stream_config
    lua_shared_dict dogs 1m;
--- stream_server_config
    content_by_lua_block {
        local dogs = ngx.shared.dogs
        ngx.say(dogs:set("k", {}))
        ngx.say(dogs:set("k", print))
        ngx.say(dogs:add("k", coroutine.create(function() end)))
        ngx.say(pcall(dogs.set, dogs, "k", 1, -1))
        ngx.say(pcall(dogs.expire, dogs, "k"))
        ngx.say(pcall(dogs.get, "k"))
        ngx.say(pcall(dogs.set, {}, "k", 1))
        ngx.say(pcall(dogs.incr, 1, "k", 1))
        ngx.say(pcall(dogs.capacity))
    }
--- stream_response
nilbad value type
nilbad value type
nilbad value type
falsebad "exptime" argument
falsebad "exptime" argument
falsebad "zone" argument
falsebad "zone" argument
falsebad "zone" argument
falsebad "zone" argument
--- no_error_log
[error]



=== TEST 10: a dict filled past capacity: set evicts the least recently used (forcible), safe_set fails
--- stream_config
    lua_shared_dict dogs 64k;
--- stream_server_config
    content_by_lua_block {
        local dogs = ngx.shared.dogs
        dogs:flush_all()
        dogs:flush_expired()
        local big = string.rep("x", 1000)
        local forced, n = false, 0
        for i = 1, 200 do
            local ok, err, forcible = dogs:set("key" .. i, big)
            if not ok then ngx.say("set failed: ", err) break end
            if forcible then forced = true break end
            n = i
            -- keep key1 recently used: it must survive the eviction
            dogs:get("key1")
        end
        ngx.say("filled before eviction: ", n > 20, ", forcible: ", forced)
        ngx.say("recently used kept: ", dogs:get("key1") ~= nil)
        ngx.say("oldest evicted: ", dogs:get("key2"))
        local ok, err, forcible = dogs:safe_set("huge", string.rep("y", 60000))
        ngx.say("safe_set: ", ok, " ", err, " ", forcible)
        ok, err = dogs:safe_add("huge", string.rep("y", 60000))
        ngx.say("safe_add: ", ok, " ", err)
        ok, err, forcible = dogs:set("huge", string.rep("y", 200000))
        ngx.say("too big for the zone: ", ok, " ", err)
        ngx.say("capacity: ", dogs:capacity())
        ngx.say("free_space is a number: ", type(dogs:free_space()))
    }
--- stream_response
filled before eviction: true, forcible: true
recently used kept: true
oldest evicted: nil
safe_set: false no memory false
safe_add: false no memory
too big for the zone: false no memory
capacity: 65536
free_space is a number: number
--- no_error_log
[error]



=== TEST 11: strings longer than the scratch buffer, binary values and keys
--- stream_config
    lua_shared_dict dogs 1m;
--- stream_server_config
    content_by_lua_block {
        local dogs = ngx.shared.dogs
        local big = string.rep("0123456789", 10000)
        dogs:set("big", big)
        ngx.say(dogs:get("big") == big, " ", #dogs:get("big"))
        local bin = "\0\1\2\255\0"
        dogs:set(bin, bin)
        ngx.say(dogs:get(bin) == bin, " ", dogs:get("\0\1\2\255") == nil)
    }
--- stream_response
true 100000
true true
--- no_error_log
[error]



=== TEST 12: lists: lpush, rpush, lpop, rpop, llen with strings and numbers
--- stream_config
    lua_shared_dict dogs 1m;
--- stream_server_config
    content_by_lua_block {
        local dogs = ngx.shared.dogs
        dogs:flush_all()
        ngx.say(dogs:lpush("l", "b"))
        ngx.say(dogs:lpush("l", "a"))
        ngx.say(dogs:rpush("l", 3))
        ngx.say(dogs:rpush("l", "d"))
        ngx.say("llen: ", dogs:llen("l"))
        ngx.say(dogs:lpop("l"), " ", dogs:rpop("l"), " ", type(dogs:rpop("l")), " ", dogs:lpop("l"))
        ngx.say("empty pop: ", dogs:lpop("l"), " llen: ", dogs:llen("l"))
        ngx.say("missing: ", dogs:rpop("missing"), " ", dogs:llen("missing"))
        ngx.say("gone after last pop: ", dogs:get("l"))
    }
--- stream_response
1
2
3
4
llen: 4
a d number b
empty pop: nil llen: 0
missing: nil 0
gone after last pop: nil
--- no_error_log
[error]



=== TEST 13: lists and plain values do not mix; bad list arguments
The list methods are compiled Lua over FFI here, so a bad key names the method even through
pcall (upstream's C functions say '?' there).
--- stream_config
    lua_shared_dict dogs 1m;
--- stream_server_config
    content_by_lua_block {
        local dogs = ngx.shared.dogs
        dogs:flush_all()
        dogs:set("s", "str")
        dogs:lpush("l", "x")
        ngx.say("push to string: ", dogs:lpush("s", 1))
        ngx.say("pop string: ", dogs:rpop("s"))
        ngx.say("llen string: ", dogs:llen("s"))
        ngx.say("get list: ", dogs:get("l"))
        ngx.say("incr list: ", dogs:incr("l", 1))
        ngx.say("bad value: ", dogs:lpush("l", true))
        ngx.say("nil key: ", dogs:lpush(nil, 1))
        ngx.say("empty key: ", dogs:rpush("", 1))
        ngx.say("long key: ", dogs:llen(string.rep("a", 65536)))
        ngx.say(pcall(dogs.lpush, dogs, {}, 1))
        ngx.say(pcall(dogs.lpush, dogs, "l"))
        ngx.say(pcall(dogs.lpop, dogs))
        ngx.say(pcall(dogs.llen, "l", "x"))
        ngx.say("set over list: ", dogs:set("l", 1), " ", dogs:get("l"))
    }
--- stream_response
push to string: nilvalue not a list
pop string: nilvalue not a list
llen string: nilvalue not a list
get list: nilvalue is a list
incr list: nilnot a number
bad value: nilbad value type
nil key: nilnil key
empty key: nilempty key
long key: nilkey too long
falsebad argument #2 to 'lpush' (string expected, got table)
falseexpecting 3 arguments, but only seen 2
falseexpecting 2 arguments, but only seen 1
falsebad "zone" argument
set over list: true 1
--- no_error_log
[error]



=== TEST 14: an expired list is reused empty by a push; an expired string becomes a list
--- stream_config
    lua_shared_dict dogs 1m;
--- stream_server_config
    content_by_lua_block {
        local dogs = ngx.shared.dogs
        dogs:flush_all()
        dogs:rpush("l", 1)
        dogs:rpush("l", 2)
        dogs:expire("l", 0.01)
        dogs:set("s", "x", 0.01)
        ngx.sleep(0.05)
        ngx.say("llen expired: ", dogs:llen("l"))
        ngx.say(dogs:rpush("l", 3), " ", dogs:lpop("l"))
        ngx.say(dogs:lpush("s", "y"), " ", dogs:lpop("s"))
    }
--- stream_response
llen expired: 0
1 3
1 y
--- no_error_log
[error]



=== TEST 15: get_keys (oldest first, max count, 0 for all) skips expired keys; flush_expired
--- stream_config
    lua_shared_dict dogs 1m;
--- stream_server_config
    content_by_lua_block {
        local dogs = ngx.shared.dogs
        dogs:flush_all()
        dogs:flush_expired()
        ngx.say("empty: ", #dogs:get_keys())
        for i = 1, 5 do dogs:set("k" .. i, i) end
        dogs:set("gone", 1, 0.01)
        ngx.sleep(0.05)
        ngx.say(table.concat(dogs:get_keys(), " "))
        ngx.say(table.concat(dogs:get_keys(2), " "))
        ngx.say(#dogs:get_keys(0))
        ngx.say("flushed: ", dogs:flush_expired())
        for i = 1, 3 do dogs:set("x" .. i, i, 0.01) end
        ngx.sleep(0.05)
        ngx.say("flushed at most 2: ", dogs:flush_expired(2), " then ", dogs:flush_expired())
        ngx.say(pcall(dogs.get_keys, dogs, "x"))
        ngx.say(pcall(dogs.get_keys, "dogs"))
        ngx.say(pcall(dogs.flush_expired, dogs, 1, 2))
    }
--- stream_response
empty: 0
k1 k2 k3 k4 k5
k1 k2
5
flushed: 1
flushed at most 2: 2 then 1
falsebad argument #2 to '?' (number expected, got string)
falsebad argument #1 to '?' (table expected, got string)
falseexpecting 1 or 2 argument(s), but saw 3
--- no_error_log
[error]



=== TEST 16: flush_all makes every key disappear
--- stream_config
    lua_shared_dict dogs 1m;
--- stream_server_config
    content_by_lua_block {
        local dogs = ngx.shared.dogs
        for i = 1, 10 do dogs:set("k" .. i, i) end
        dogs:lpush("list", 1)
        dogs:flush_all()
        local n = 0
        for i = 1, 10 do if dogs:get("k" .. i) then n = n + 1 end end
        ngx.say("left: ", n, " keys: ", #dogs:get_keys(), " list: ", dogs:llen("list"))
        ngx.say("set after: ", dogs:set("k1", "again"), " ", dogs:get("k1"))
    }
--- stream_response
left: 0 keys: 0 list: 0
set after: true again
--- no_error_log
[error]



=== TEST 17: several dicts, an unknown one, and the dicts seen from every phase
--- stream_config
    lua_shared_dict dogs 1m;
    lua_shared_dict cats 16k;
--- stream_server_config
    preread_by_lua_block {
        ngx.shared.dogs:set("phase", "preread")
    }
    content_by_lua_block {
        ngx.say(ngx.shared.dogs:get("phase"), " ", ngx.shared.cats:get("phase"))
        ngx.say(ngx.shared.cats:capacity(), " ", tostring(ngx.shared.birds))
        local names = {}
        for name in pairs(ngx.shared) do names[#names + 1] = name end
        table.sort(names)
        ngx.say(table.concat(names, " "))
    }
    log_by_lua_block {
        ngx.log(ngx.WARN, "log phase sees: ", ngx.shared.dogs:get("phase"))
    }
--- stream_response
preread nil
16384 nil
cats dogs
--- error_log
log phase sees: preread



=== TEST 18: init_by_lua writes the dict; workers and sessions read it
--- stream_config
    lua_shared_dict dogs 1m;
    init_by_lua_block {
        local dogs = ngx.shared.dogs
        dogs:set("from_init", "hello")
        dogs:incr("count", 1, 0)
    }
    init_worker_by_lua_block {
        ngx.shared.dogs:incr("count", 10)
    }
--- stream_server_config
    content_by_lua_block {
        ngx.say(ngx.shared.dogs:get("from_init"), " ", ngx.shared.dogs:get("count"))
    }
--- stream_response
hello 11
--- no_error_log
[error]



=== TEST 19: the dict from a timer
--- stream_config
    lua_shared_dict dogs 1m;
--- stream_server_config
    content_by_lua_block {
        local dogs = ngx.shared.dogs
        dogs:delete("timer")
        ngx.timer.at(0, function()
            dogs:set("timer", "ran")
        end)
        ngx.sleep(0.01)
        ngx.say(dogs:get("timer"))
    }
--- stream_response
ran
--- no_error_log
[error]



=== TEST 20: resty.core.shdict loads; methods are shared by all dicts
--- stream_config
    lua_shared_dict dogs 1m;
    lua_shared_dict cats 1m;
--- stream_server_config
    content_by_lua_block {
        local shdict = require "resty.core.shdict"
        ngx.say(type(shdict), " ", shdict.version)
        ngx.say(getmetatable(ngx.shared.dogs) == getmetatable(ngx.shared.cats))
        ngx.say(ngx.shared.dogs.get == ngx.shared.cats.get)
    }
--- stream_response
table 0.1.31
true
true
--- no_error_log
[error]



=== TEST 21: the struct-argument entry points lua-resty-core uses on macOS
--- stream_config
    lua_shared_dict dogs 1m;
--- stream_server_config
    content_by_lua_block {
        local ffi = require "ffi"
        ffi.cdef[[
        typedef struct {
            void *zone; const unsigned char *key; size_t key_len; int *value_type;
            unsigned char **str_value_buf; size_t *str_value_len; double *num_value;
            int *user_flags; int get_stale; int *is_stale; char **errmsg;
        } t_get_params;
        typedef struct {
            void *zone; int op; const unsigned char *key; size_t key_len; int value_type;
            const unsigned char *str_value_buf; size_t str_value_len; double num_value;
            long exptime; int user_flags; char **errmsg; int *forcible;
        } t_store_params;
        typedef struct {
            void *zone; const unsigned char *key; size_t key_len; double *num_value;
            char **errmsg; int has_init; double init; long init_ttl; int *forcible;
        } t_incr_params;
        int ngx_stream_lua_ffi_shdict_get_macos(t_get_params *p);
        int ngx_stream_lua_ffi_shdict_store_macos(t_store_params *p);
        int ngx_stream_lua_ffi_shdict_incr_macos(t_incr_params *p);
        void *ngx_stream_lua_ffi_shdict_udata_to_zone(void *zone_udata);
        ]]
        local C = ffi.C
        ngx.shared.dogs:delete("n")
        local zone = C.ngx_stream_lua_ffi_shdict_udata_to_zone(ngx.shared.dogs[1])
        local errmsg, forcible = ffi.new("char *[1]"), ffi.new("int[1]")
        local s = ffi.new("t_store_params")
        s.zone, s.op, s.key, s.key_len = zone, 0, "k", 1
        s.value_type, s.str_value_buf, s.str_value_len = 4, "macos", 5
        s.errmsg, s.forcible = errmsg, forcible
        ngx.say("store: ", C.ngx_stream_lua_ffi_shdict_store_macos(s), " ", ngx.shared.dogs:get("k"))

        local buf = ffi.new("unsigned char[16]")
        local g = ffi.new("t_get_params")
        g.zone, g.key, g.key_len = zone, "k", 1
        g.value_type, g.str_value_buf = ffi.new("int[1]"), ffi.new("unsigned char *[1]", buf)
        g.str_value_len, g.num_value = ffi.new("size_t[1]", 16), ffi.new("double[1]")
        g.user_flags, g.is_stale, g.errmsg = ffi.new("int[1]"), ffi.new("int[1]"), errmsg
        local rc = C.ngx_stream_lua_ffi_shdict_get_macos(g)
        ngx.say("get: ", rc, " ", g.value_type[0], " ", ffi.string(buf, g.str_value_len[0]))

        local n = ffi.new("double[1]", 2)
        local i = ffi.new("t_incr_params")
        i.zone, i.key, i.key_len, i.num_value = zone, "n", 1, n
        i.errmsg, i.has_init, i.init, i.init_ttl, i.forcible = errmsg, 1, 40, 0, forcible
        ngx.say("incr: ", C.ngx_stream_lua_ffi_shdict_incr_macos(i), " ", n[0], " ", ngx.shared.dogs:get("n"))
    }
--- stream_response
store: 0 macos
get: 0 4 macos
incr: 0 42 42
--- no_error_log
[error]



=== TEST 22: the C API for other modules: ngx_stream_lua_find_zone and ngx_stream_lua_shared_dict_get
--- stream_config
    lua_shared_dict dogs 1m;
    lua_shared_dict cats 1m;
--- stream_server_config
    content_by_lua_block {
        local ffi = require "ffi"
        ffi.cdef[[
            typedef struct { size_t len; char *data; } t_str;
            typedef struct {
                uint8_t type;
                union { int b; double n; t_str s; } value;
            } t_value;
            void *ngx_stream_lua_find_zone(const char *data, size_t len);
            intptr_t ngx_stream_lua_shared_dict_get(void *zone, const char *kdata, size_t klen, t_value *val);
        ]]
        local C = ffi.C
        local dogs = C.ngx_stream_lua_find_zone("dogs", 4)
        ngx.say("dogs: ", dogs ~= nil, ", cats: ", C.ngx_stream_lua_find_zone("cats", 4) ~= nil,
                ", same: ", dogs == C.ngx_stream_lua_find_zone("cats", 4),
                ", birds: ", C.ngx_stream_lua_find_zone("birds", 5) ~= nil)
        local d = ngx.shared.dogs
        d:set("n", 3.5) d:set("t", true) d:set("s", "hello world") d:set("old", 1, 0.001)
        d:lpush("l", 1)
        ngx.sleep(0.01)
        local buf = ffi.new("char[5]")
        for _, k in ipairs{"n", "t", "s", "missing", "old", "l"} do
            local v = ffi.new("t_value")
            v.value.s.data, v.value.s.len = buf, 5
            local rc = tonumber(C.ngx_stream_lua_shared_dict_get(dogs, k, #k, v))
            local shown = ""
            if rc == 0 then
                if v.type == 3 then shown = v.value.n
                elseif v.type == 1 then shown = v.value.b
                else shown = ffi.string(v.value.s.data, v.value.s.len) end
            end
            ngx.say(k, ": rc=", rc, " type=", rc == 0 and v.type or "-", " ", shown)
        end
        local v = ffi.new("t_value")
        ngx.say("string without a buffer: ", tonumber(C.ngx_stream_lua_shared_dict_get(dogs, "s", 1, v)))
    }
--- stream_response
dogs: true, cats: true, same: false, birds: false
n: rc=0 type=3 3.5
t: rc=0 type=1 1
s: rc=0 type=4 hello
missing: rc=-5 type=- 
old: rc=-5 type=- 
l: rc=-1 type=- 
string without a buffer: -1
--- error_log
no string buffer initialized
