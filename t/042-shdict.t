# lua_shared_dict and ngx.shared.DICT: every method, value types, flags, expiry, eviction,
# lists, bad keys/values/arguments, init_by_lua, two workers. Behaviour follows stream-lua
# v0.0.16 with lua-resty-core 0.1.31 (upstream t/043-shdict.t).
use Test::Nginx::Socket::Lua::Stream;

repeat_each(2);

plan tests => repeat_each() * (blocks() * 2);

# a block without its own stream_config gets the one dict most blocks use, `store`
add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value("stream_config", "    lua_shared_dict store 1m;\n")
        unless defined $block->stream_config;
});

no_long_string();
run_tests();

__DATA__

=== TEST 1: set and get every value type; nil deletes
--- stream_server_config
    content_by_lua_block {
        local store = ngx.shared.store
        store:flush_all()
        print(store:set("s", "hello"))
        store:set("n", 3.25)
        store:set("i", -7)
        store:set("t", true)
        store:set("f", false)
        store:set("e", "")
        for _, k in ipairs{"s", "n", "i", "t", "f", "e", "missing"} do
            local v = store:get(k)
            ngx.say(k, ": ", type(v), " ", tostring(v))
        end
        store:set("s", nil)
        ngx.say("after nil: ", store:get("s"))
        ngx.say("delete: ", store:delete("n"), " ", store:get("n"))
        ngx.say("delete missing: ", store:delete("nope"))
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
--- stream_server_config
    content_by_lua_block {
        local store = ngx.shared.store
        ngx.say(store:set("k", "short"))
        ngx.say(store:set("k", "a much longer value than before"))
        ngx.say(store:get("k"))
        ngx.say(store:set("k", 12))
        ngx.say(store:get("k"), " ", type(store:get("k")))
        ngx.say(store:set("k", "12345678"))
        ngx.say(store:get("k"), " ", type(store:get("k")))
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
--- stream_server_config
    content_by_lua_block {
        local store = ngx.shared.store
        store:set("a", "x", 0, 123)
        store:set("b", "y", 0, 0)
        store:set("c", 5, nil, 4294967295)
        ngx.say(store:get("a"))
        ngx.say(select("#", store:get("b")), " ", store:get("b"))
        local v, f = store:get("c")
        ngx.say(v, " ", f)
    }
--- stream_response
x123
1 y
5 -1
--- no_error_log
[error]



=== TEST 4: add refuses existing keys, takes expired ones; replace needs an existing key
--- stream_server_config
    content_by_lua_block {
        local store = ngx.shared.store
        store:flush_all()
        ngx.say("add: ", store:add("k", 1))
        ngx.say("add again: ", store:add("k", 2))
        ngx.say("value: ", store:get("k"))
        ngx.say("replace missing: ", store:replace("nope", 1))
        ngx.say("replace: ", store:replace("k", "two"))
        ngx.say("value: ", store:get("k"))
        ngx.say("add nil: ", store:add("z", nil))
        ngx.say("replace nil: ", store:replace("k", nil))
        store:set("old", "v", 0.001)
        ngx.sleep(0.01)
        ngx.say("replace expired: ", store:replace("old", "w"))
        ngx.say("add expired: ", store:add("old", "w"))
        ngx.say("value: ", store:get("old"))
        ngx.say("safe_add: ", store:safe_add("old", 1))
        ngx.say("safe_add new: ", store:safe_add("new", 1))
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
--- stream_server_config
    content_by_lua_block {
        local store = ngx.shared.store
        store:flush_all()
        store:set("k", "v", 0.05, 7)
        store:set("forever", "v")
        ngx.say("get: ", store:get("k"))
        ngx.say("stale before: ", store:get_stale("k"))
        local ttl = store:ttl("k")
        ngx.say("ttl in (0, 0.05]: ", ttl > 0 and ttl <= 0.05)
        ngx.say("ttl forever: ", store:ttl("forever"))
        ngx.say("ttl missing: ", store:ttl("missing"))
        ngx.sleep(0.1)
        ngx.say("get after: ", store:get("k"))
        ngx.say("stale after: ", store:get_stale("k"))
        ngx.say("expire: ", store:expire("forever", 10))
        ttl = store:ttl("forever")
        ngx.say("ttl now in (9, 10]: ", ttl > 9 and ttl <= 10)
        ngx.say("expire 0: ", store:expire("forever", 0), " ", store:ttl("forever"))
        ngx.say("expire missing: ", store:expire("missing", 1))
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
--- stream_server_config
    content_by_lua_block {
        local store = ngx.shared.store
        store:flush_all()
        ngx.say("missing: ", store:incr("n", 1))
        ngx.say("init: ", store:incr("n", 1, 10))
        ngx.say("again: ", store:incr("n", 2.5, 10))
        ngx.say("no init: ", store:incr("n", -3.5))
        ngx.say("string step: ", store:incr("n", "4"))
        store:set("s", "str")
        ngx.say("not a number: ", store:incr("s", 1))
        ngx.say("not a number with init: ", store:incr("s", 1, 0))
        ngx.say("ttl: ", store:incr("t", 1, 0, 0.05))
        ngx.say("ttl set: ", store:ttl("t") > 0)
        ngx.sleep(0.1)
        ngx.say("expired: ", store:get("t"))
        ngx.say("re-init: ", store:incr("t", 5, 100))
        ngx.say("ttl cleared: ", store:ttl("t"))
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
--- stream_server_config
    content_by_lua_block {
        local store = ngx.shared.store
        for _, f in ipairs{
            function() return store:incr("k", 1, "x") end,
            function() return store:incr("k", 1, 0, "y") end,
            function() return store:incr("k", 1, 0, -1) end,
            function() return store:incr("k", 1, nil, 1) end,
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
--- stream_server_config
    content_by_lua_block {
        local store = ngx.shared.store
        local long = string.rep("k", 65536)
        for _, name in ipairs{"get", "get_stale", "set", "add", "replace", "delete", "incr", "ttl", "expire"} do
            local m = store[name]
            local a = {m(store, nil, 1)}
            local b = {m(store, "", 1)}
            local c = {m(store, long, 1)}
            ngx.say(name, ": ", a[2], ", ", b[2], ", ", c[2])
        end
        ngx.say("65535 ok: ", store:set(string.rep("k", 65535), 1), " ", store:get(string.rep("k", 65535)))
        store:set(42, "num")
        ngx.say("number key: ", store:get("42"))
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
--- stream_server_config
    content_by_lua_block {
        local store = ngx.shared.store
        ngx.say(store:set("k", {}))
        ngx.say(store:set("k", print))
        ngx.say(store:add("k", coroutine.create(function() end)))
        ngx.say(pcall(store.set, store, "k", 1, -1))
        ngx.say(pcall(store.expire, store, "k"))
        ngx.say(pcall(store.get, "k"))
        ngx.say(pcall(store.set, {}, "k", 1))
        ngx.say(pcall(store.incr, 1, "k", 1))
        ngx.say(pcall(store.capacity))
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
    lua_shared_dict store 64k;
--- stream_server_config
    content_by_lua_block {
        local store = ngx.shared.store
        store:flush_all()
        store:flush_expired()
        local big = string.rep("x", 1000)
        local forced, n = false, 0
        for i = 1, 200 do
            local ok, err, forcible = store:set("key" .. i, big)
            if not ok then ngx.say("set failed: ", err) break end
            if forcible then forced = true break end
            n = i
            -- keep key1 recently used: it must survive the eviction
            store:get("key1")
        end
        ngx.say("filled before eviction: ", n > 20, ", forcible: ", forced)
        ngx.say("recently used kept: ", store:get("key1") ~= nil)
        ngx.say("oldest evicted: ", store:get("key2"))
        local ok, err, forcible = store:safe_set("huge", string.rep("y", 60000))
        ngx.say("safe_set: ", ok, " ", err, " ", forcible)
        ok, err = store:safe_add("huge", string.rep("y", 60000))
        ngx.say("safe_add: ", ok, " ", err)
        ok, err, forcible = store:set("huge", string.rep("y", 200000))
        ngx.say("too big for the zone: ", ok, " ", err)
        ngx.say("capacity: ", store:capacity())
        ngx.say("free_space is a number: ", type(store:free_space()))
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
--- stream_server_config
    content_by_lua_block {
        local store = ngx.shared.store
        local big = string.rep("0123456789", 10000)
        store:set("big", big)
        ngx.say(store:get("big") == big, " ", #store:get("big"))
        local bin = "\0\1\2\255\0"
        store:set(bin, bin)
        ngx.say(store:get(bin) == bin, " ", store:get("\0\1\2\255") == nil)
    }
--- stream_response
true 100000
true true
--- no_error_log
[error]



=== TEST 12: lists: lpush, rpush, lpop, rpop, llen with strings and numbers
--- stream_server_config
    content_by_lua_block {
        local store = ngx.shared.store
        store:flush_all()
        ngx.say(store:lpush("l", "b"))
        ngx.say(store:lpush("l", "a"))
        ngx.say(store:rpush("l", 3))
        ngx.say(store:rpush("l", "d"))
        ngx.say("llen: ", store:llen("l"))
        ngx.say(store:lpop("l"), " ", store:rpop("l"), " ", type(store:rpop("l")), " ", store:lpop("l"))
        ngx.say("empty pop: ", store:lpop("l"), " llen: ", store:llen("l"))
        ngx.say("missing: ", store:rpop("missing"), " ", store:llen("missing"))
        ngx.say("gone after last pop: ", store:get("l"))
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
--- stream_server_config
    content_by_lua_block {
        local store = ngx.shared.store
        store:flush_all()
        store:set("s", "str")
        store:lpush("l", "x")
        ngx.say("push to string: ", store:lpush("s", 1))
        ngx.say("pop string: ", store:rpop("s"))
        ngx.say("llen string: ", store:llen("s"))
        ngx.say("get list: ", store:get("l"))
        ngx.say("incr list: ", store:incr("l", 1))
        ngx.say("bad value: ", store:lpush("l", true))
        ngx.say("nil key: ", store:lpush(nil, 1))
        ngx.say("empty key: ", store:rpush("", 1))
        ngx.say("long key: ", store:llen(string.rep("a", 65536)))
        ngx.say(pcall(store.lpush, store, {}, 1))
        ngx.say(pcall(store.lpush, store, "l"))
        ngx.say(pcall(store.lpop, store))
        ngx.say(pcall(store.llen, "l", "x"))
        ngx.say("set over list: ", store:set("l", 1), " ", store:get("l"))
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
--- stream_server_config
    content_by_lua_block {
        local store = ngx.shared.store
        store:flush_all()
        store:rpush("l", 1)
        store:rpush("l", 2)
        store:expire("l", 0.01)
        store:set("s", "x", 0.01)
        ngx.sleep(0.05)
        ngx.say("llen expired: ", store:llen("l"))
        ngx.say(store:rpush("l", 3), " ", store:lpop("l"))
        ngx.say(store:lpush("s", "y"), " ", store:lpop("s"))
    }
--- stream_response
llen expired: 0
1 3
1 y
--- no_error_log
[error]



=== TEST 15: get_keys (oldest first, max count, 0 for all) skips expired keys; flush_expired
--- stream_server_config
    content_by_lua_block {
        local store = ngx.shared.store
        store:flush_all()
        store:flush_expired()
        ngx.say("empty: ", #store:get_keys())
        for i = 1, 5 do store:set("k" .. i, i) end
        store:set("gone", 1, 0.01)
        ngx.sleep(0.05)
        ngx.say(table.concat(store:get_keys(), " "))
        ngx.say(table.concat(store:get_keys(2), " "))
        ngx.say(#store:get_keys(0))
        ngx.say("flushed: ", store:flush_expired())
        for i = 1, 3 do store:set("x" .. i, i, 0.01) end
        ngx.sleep(0.05)
        ngx.say("flushed at most 2: ", store:flush_expired(2), " then ", store:flush_expired())
        ngx.say(pcall(store.get_keys, store, "x"))
        ngx.say(pcall(store.get_keys, "store"))
        ngx.say(pcall(store.flush_expired, store, 1, 2))
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
--- stream_server_config
    content_by_lua_block {
        local store = assert(ngx.shared.store)
        for i = 1, 10 do store:set("k" .. i, i) end
        store:lpush("list", 1)
        store:flush_all()
        local n = 0
        for i = 1, 10 do if store:get("k" .. i) then n = n + 1 end end
        ngx.say("left: ", n, " keys: ", #store:get_keys(), " list: ", store:llen("list"))
        ngx.say("set after: ", store:set("k1", "again"), " ", store:get("k1"))
    }
--- stream_response
left: 0 keys: 0 list: 0
set after: true again
--- no_error_log
[error]



=== TEST 17: several dicts, an unknown one, and the dicts seen from every phase
--- stream_config
    lua_shared_dict store 1m;
    lua_shared_dict spare 16k;
--- stream_server_config
    preread_by_lua_block {
        ngx.shared.store:set("phase", "preread")
    }
    content_by_lua_block {
        ngx.say(ngx.shared.store:get("phase"), " ", ngx.shared.spare:get("phase"))
        ngx.say(ngx.shared.spare:capacity(), " ", tostring(ngx.shared.birds))
        local names = {}
        for name in pairs(ngx.shared) do names[#names + 1] = name end
        table.sort(names)
        ngx.say(table.concat(names, " "))
    }
    log_by_lua_block {
        ngx.log(ngx.WARN, "log phase sees: ", ngx.shared.store:get("phase"))
    }
--- stream_response
preread nil
16384 nil
spare store
--- error_log
log phase sees: preread



=== TEST 18: init_by_lua writes the dict; workers and sessions read it
--- stream_config
    lua_shared_dict store 1m;
    init_by_lua_block {
        local store = ngx.shared.store
        store:set("from_init", "hello")
        store:incr("count", 1, 0)
    }
    init_worker_by_lua_block {
        ngx.shared.store:incr("count", 10)
    }
--- stream_server_config
    content_by_lua_block {
        ngx.say(ngx.shared.store:get("from_init"), " ", ngx.shared.store:get("count"))
    }
--- stream_response
hello 11
--- no_error_log
[error]



=== TEST 19: the dict from a timer
--- stream_server_config
    content_by_lua_block {
        ngx.shared.store:delete("timer")
        local store = ngx.shared.store
        ngx.timer.at(0, function()
            store:set("timer", "ran")
        end)
        ngx.sleep(0.01)
        ngx.say(store:get("timer"))
    }
--- stream_response
ran
--- no_error_log
[error]



=== TEST 20: resty.core.shdict loads; methods are shared by all dicts
--- stream_config
    lua_shared_dict store 1m;
    lua_shared_dict spare 1m;
--- stream_server_config
    content_by_lua_block {
        local shdict = require "resty.core.shdict"
        ngx.say(type(shdict), " ", shdict.version)
        ngx.say(getmetatable(ngx.shared.store) == getmetatable(ngx.shared.spare))
        ngx.say(ngx.shared.store.get == ngx.shared.spare.get)
    }
--- stream_response
table 0.1.31
true
true
--- no_error_log
[error]



=== TEST 21: the struct-argument entry points lua-resty-core uses on macOS
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
        ngx.shared.store:delete("n")
        local zone = C.ngx_stream_lua_ffi_shdict_udata_to_zone(ngx.shared.store[1])
        local errmsg, forcible = ffi.new("char *[1]"), ffi.new("int[1]")
        local s = ffi.new("t_store_params")
        s.zone, s.op, s.key, s.key_len = zone, 0, "k", 1
        s.value_type, s.str_value_buf, s.str_value_len = 4, "macos", 5
        s.errmsg, s.forcible = errmsg, forcible
        ngx.say("store: ", C.ngx_stream_lua_ffi_shdict_store_macos(s), " ", ngx.shared.store:get("k"))

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
        ngx.say("incr: ", C.ngx_stream_lua_ffi_shdict_incr_macos(i), " ", n[0], " ", ngx.shared.store:get("n"))
    }
--- stream_response
store: 0 macos
get: 0 4 macos
incr: 0 42 42
--- no_error_log
[error]



=== TEST 22: the C API for other modules: ngx_stream_lua_find_zone and ngx_stream_lua_shared_dict_get
--- stream_config
    lua_shared_dict store 1m;
    lua_shared_dict spare 1m;
--- stream_server_config
    content_by_lua_block {
        local ffi = require "ffi"
        local C = ffi.C
        ffi.cdef[[
            typedef struct { size_t len; char *data; } probe_bytes_t;
            typedef struct { uint8_t type; union { int b; double n; probe_bytes_t s; } value; } probe_value_t;
            void *ngx_stream_lua_find_zone(const char *data, size_t len);
            intptr_t ngx_stream_lua_shared_dict_get(void *zone, const char *kdata, size_t klen, probe_value_t *val);
        ]]
        local function zone(name) return C.ngx_stream_lua_find_zone(name, #name) end
        local store = zone("store")
        ngx.say("found: ", store ~= nil, " ", zone("spare") ~= nil, " ", zone("absent") ~= nil,
                "; distinct: ", store ~= zone("spare"))

        local d = ngx.shared.store
        for k, v in pairs { n = 3.5, t = true, s = "hello world" } do d:set(k, v) end
        d:set("old", 1, 0.001)
        d:lpush("l", 1)
        ngx.sleep(0.01)

        -- a key read through the C API (a string into `room`, 5 bytes, when given)
        local room = ffi.new("char[5]")
        local function via_c(key, buf)
            local v = ffi.new("probe_value_t")
            if buf then
                v.value.s.data, v.value.s.len = buf, 5
            end
            local rc = tonumber(C.ngx_stream_lua_shared_dict_get(store, key, #key, v))
            if rc ~= 0 then
                return "rc " .. rc
            end
            local kinds = { [1] = v.value.b, [3] = v.value.n }
            return "type " .. v.type .. " " .. tostring(kinds[v.type] or ffi.string(v.value.s.data, v.value.s.len))
        end
        for _, k in ipairs { "n", "t", "s", "missing", "old", "l" } do
            ngx.say(k, " -> ", via_c(k, room))
        end
        ngx.say("s without a buffer -> ", via_c("s"))
    }
--- stream_response
found: true true false; distinct: true
n -> type 3 3.5
t -> type 1 1
s -> type 4 hello
missing -> rc -5
old -> rc -5
l -> rc -1
s without a buffer -> rc -1
--- error_log
no string buffer initialized
