-- stream-lua-rs built-in Lua layer: the ngx.shared.DICT methods that go through the exported
-- C ABI (the functions resty.core.shdict declares for stream), with lua-resty-core's
-- argument checks and return values; a real lua-resty-core replaces these. The list methods
-- go through our own FFI functions (upstream's are Lua C functions, which LuaJIT cannot
-- compile) with upstream's checks and messages; flush_expired and get_keys are Lua C
-- functions already on the dicts' shared metatable.
local ngx_shared = ngx.shared
local _, any_dict = next(ngx_shared)
if not any_dict then
    return
end

local ffi = require "ffi"
local C = ffi.C
local ffi_str = ffi.string
local type, tostring, tonumber, error, select = type, tostring, tonumber, error, select

ffi.cdef[[
int ngx_stream_lua_ffi_shdict_get(void *zone, const unsigned char *key,
    size_t key_len, int *value_type, unsigned char **str_value_buf,
    size_t *str_value_len, double *num_value, int *user_flags,
    int get_stale, int *is_stale, char **errmsg);
int ngx_stream_lua_ffi_shdict_incr(void *zone, const unsigned char *key,
    size_t key_len, double *value, char **err, int has_init,
    double init, long init_ttl, int *forcible);
int ngx_stream_lua_ffi_shdict_store(void *zone, int op,
    const unsigned char *key, size_t key_len, int value_type,
    const unsigned char *str_value_buf, size_t str_value_len,
    double num_value, long exptime, int user_flags, char **errmsg,
    int *forcible);
int ngx_stream_lua_ffi_shdict_flush_all(void *zone);
long ngx_stream_lua_ffi_shdict_get_ttl(void *zone,
    const unsigned char *key, size_t key_len);
int ngx_stream_lua_ffi_shdict_set_expire(void *zone,
    const unsigned char *key, size_t key_len, long exptime);
size_t ngx_stream_lua_ffi_shdict_capacity(void *zone);
size_t ngx_stream_lua_ffi_shdict_free_space(void *zone);
void *ngx_stream_lua_ffi_shdict_udata_to_zone(void *zone_udata);
int ngx_stream_lua_rs_ffi_shdict_push(void *zone, int front,
    const unsigned char *key, size_t key_len, int value_type,
    const unsigned char *str_value, size_t str_len, double num_value);
int ngx_stream_lua_rs_ffi_shdict_pop(void *zone, int front,
    const unsigned char *key, size_t key_len, int *value_type,
    unsigned char **str_value, size_t *str_len, double *num_value, char **errmsg);
int ngx_stream_lua_rs_ffi_shdict_llen(void *zone, const unsigned char *key,
    size_t key_len);
]]
if not pcall(function() return C.free end) then
    ffi.cdef[[void free(void *ptr);]]
end

-- out-parameters and a scratch buffer for values (no call below yields while using them);
-- a longer string value comes back in a malloc'ed buffer, freed here
local BUF_SIZE = 4096
local buf = ffi.new("unsigned char[?]", BUF_SIZE)
local buf_ptr = ffi.new("unsigned char *[1]")
local len_ptr = ffi.new("size_t[1]")
local vtype = ffi.new("int[1]")
local uflags = ffi.new("int[1]")
local num = ffi.new("double[1]")
local stale = ffi.new("int[1]")
local forcible = ffi.new("int[1]")
local errmsg = ffi.new("char *[1]")

local OP_SET, OP_ADD, OP_REPLACE, OP_SAFE = 0, 1, 2, 4

-- the string value the last get/pop call wrote (freeing the C side's buffer if it needed one)
local function take_string()
    local p = buf_ptr[0]
    local val = ffi_str(p, len_ptr[0])
    if p ~= buf then
        C.free(p)
    end
    return val
end

local function zone_of(dict)
    if type(dict) ~= "table" then
        error('bad "zone" argument', 3)
    end
    local ud = dict[1]
    if type(ud) ~= "userdata" then
        error('bad "zone" argument', 3)
    end
    local zone = C.ngx_stream_lua_ffi_shdict_udata_to_zone(ud)
    if zone == nil then
        error('bad "zone" argument', 3)
    end
    return zone
end

-- a key as the C side takes it, or nil and the error to return
local function check_key(key)
    if key == nil then
        return nil, "nil key"
    end
    if type(key) ~= "string" then
        key = tostring(key)
    end
    local n = #key
    if n == 0 then
        return nil, "empty key"
    end
    if n > 65535 then
        return nil, "key too long"
    end
    return key
end

local function store(dict, op, key, value, exptime, flags)
    local zone = zone_of(dict)
    if not exptime then
        exptime = 0
    elseif exptime < 0 then
        error('bad "exptime" argument', 2)
    end
    local err
    key, err = check_key(key)
    if not key then
        return nil, err
    end

    local typ, sbuf, slen, n = type(value), nil, 0, 0
    if typ == "string" then
        typ, sbuf, slen = 4, value, #value
    elseif typ == "number" then
        typ, n = 3, value
    elseif value == nil then
        typ = 0
    elseif typ == "boolean" then
        typ, n = 1, value and 1 or 0
    else
        return nil, "bad value type"
    end

    local rc = C.ngx_stream_lua_ffi_shdict_store(zone, op, key, #key, typ, sbuf, slen, n,
                                                 exptime * 1000, flags or 0, errmsg,
                                                 forcible)
    if rc == 0 then
        return true, nil, forcible[0] == 1
    end
    return false, ffi_str(errmsg[0]), forcible[0] == 1
end

local function fetch(dict, key, get_stale)
    local zone = zone_of(dict)
    local err
    key, err = check_key(key)
    if not key then
        return nil, err
    end
    buf_ptr[0] = buf
    len_ptr[0] = BUF_SIZE
    local rc = C.ngx_stream_lua_ffi_shdict_get(zone, key, #key, vtype, buf_ptr, len_ptr, num,
                                               uflags, get_stale, stale, errmsg)
    if rc ~= 0 then
        if errmsg[0] ~= nil then
            return nil, ffi_str(errmsg[0])
        end
        error("failed to get the key")
    end

    local typ = vtype[0]
    if typ == 0 then
        return nil
    end
    local val
    if typ == 4 then
        val = take_string()
    elseif typ == 3 then
        val = tonumber(num[0])
    elseif typ == 1 then
        val = buf[0] ~= 0
    else
        error("unknown value type: " .. typ, 3)
    end
    local flags = tonumber(uflags[0])
    if get_stale == 1 then
        return val, flags ~= 0 and flags or nil, stale[0] == 1
    end
    if flags ~= 0 then
        return val, flags
    end
    return val
end

local methods = getmetatable(any_dict).__index

function methods.get(dict, key)
    return fetch(dict, key, 0)
end

function methods.get_stale(dict, key)
    return fetch(dict, key, 1)
end

function methods.set(dict, key, value, exptime, flags)
    return store(dict, OP_SET, key, value, exptime, flags)
end

function methods.safe_set(dict, key, value, exptime, flags)
    return store(dict, OP_SAFE, key, value, exptime, flags)
end

function methods.add(dict, key, value, exptime, flags)
    return store(dict, OP_ADD, key, value, exptime, flags)
end

function methods.safe_add(dict, key, value, exptime, flags)
    return store(dict, OP_ADD + OP_SAFE, key, value, exptime, flags)
end

function methods.replace(dict, key, value, exptime, flags)
    return store(dict, OP_REPLACE, key, value, exptime, flags)
end

function methods.delete(dict, key)
    return store(dict, OP_SET, key, nil)
end

function methods.incr(dict, key, value, init, init_ttl)
    local zone = zone_of(dict)
    local err
    key, err = check_key(key)
    if not key then
        return nil, err
    end
    if type(value) ~= "number" then
        value = tonumber(value)
    end
    num[0] = value

    if init then
        local typ = type(init)
        if typ ~= "number" then
            init = tonumber(init)
            if not init then
                error("bad init arg: number expected, got " .. typ, 2)
            end
        end
    end
    if init_ttl ~= nil then
        local typ = type(init_ttl)
        if typ ~= "number" then
            init_ttl = tonumber(init_ttl)
            if not init_ttl then
                error("bad init_ttl arg: number expected, got " .. typ, 2)
            end
        end
        if init_ttl < 0 then
            error('bad "init_ttl" argument', 2)
        end
        if not init then
            error('must provide "init" when providing "init_ttl"', 2)
        end
    else
        init_ttl = 0
    end

    local rc = C.ngx_stream_lua_ffi_shdict_incr(zone, key, #key, num, errmsg,
                                                init and 1 or 0, init or 0,
                                                init_ttl * 1000, forcible)
    if rc ~= 0 then
        return nil, ffi_str(errmsg[0])
    end
    if not init then
        return tonumber(num[0])
    end
    return tonumber(num[0]), nil, forcible[0] == 1
end

function methods.flush_all(dict)
    C.ngx_stream_lua_ffi_shdict_flush_all(zone_of(dict))
end

function methods.ttl(dict, key)
    local zone = zone_of(dict)
    local err
    key, err = check_key(key)
    if not key then
        return nil, err
    end
    local rc = C.ngx_stream_lua_ffi_shdict_get_ttl(zone, key, #key)
    if rc == -5 then
        return nil, "not found"
    end
    return tonumber(rc) / 1000
end

function methods.expire(dict, key, exptime)
    local zone = zone_of(dict)
    if not exptime then
        error('bad "exptime" argument', 2)
    end
    local err
    key, err = check_key(key)
    if not key then
        return nil, err
    end
    local rc = C.ngx_stream_lua_ffi_shdict_set_expire(zone, key, #key, exptime * 1000)
    if rc == -5 then
        return nil, "not found"
    end
    return true
end

function methods.capacity(dict)
    return tonumber(C.ngx_stream_lua_ffi_shdict_capacity(zone_of(dict)))
end

function methods.free_space(dict)
    return tonumber(C.ngx_stream_lua_ffi_shdict_free_space(zone_of(dict)))
end

-- lists: the checks and messages of upstream's Lua C functions (raised without a position)

local function list_zone(dict)
    if type(dict) ~= "table" or type(dict[1]) ~= "userdata" then
        error('bad "zone" argument', 0)
    end
    return C.ngx_stream_lua_ffi_shdict_udata_to_zone(dict[1])
end

-- the key (argument #2) as check_key takes it; like luaL_checklstring, only strings and
-- numbers pass
local function list_key(fname, key)
    local typ = type(key)
    if key ~= nil and typ ~= "string" and typ ~= "number" then
        error("bad argument #2 to '" .. fname .. "' (string expected, got " .. typ .. ")", 0)
    end
    return check_key(key)
end

local function push(front, fname, n, dict, key, value)
    if n ~= 3 then
        error("expecting 3 arguments, but only seen " .. n, 0)
    end
    local zone = list_zone(dict)
    local err
    key, err = list_key(fname, key)
    if not key then
        return nil, err
    end
    local typ, rc = type(value)
    if typ == "string" then
        rc = C.ngx_stream_lua_rs_ffi_shdict_push(zone, front, key, #key, 4, value, #value, 0)
    elseif typ == "number" then
        rc = C.ngx_stream_lua_rs_ffi_shdict_push(zone, front, key, #key, 3, nil, 0, value)
    else
        return nil, "bad value type"
    end
    if rc > 0 then
        return rc
    end
    if rc == -1 then
        return nil, "value not a list"
    end
    return false, "no memory"
end

local function pop(front, fname, n, dict, key)
    if n ~= 2 then
        error("expecting 2 arguments, but only seen " .. n, 0)
    end
    local zone = list_zone(dict)
    local err
    key, err = list_key(fname, key)
    if not key then
        return nil, err
    end
    buf_ptr[0] = buf
    len_ptr[0] = BUF_SIZE
    local rc = C.ngx_stream_lua_rs_ffi_shdict_pop(zone, front, key, #key, vtype, buf_ptr,
                                                 len_ptr, num, errmsg)
    if rc ~= 0 then
        if rc == -1 then
            return nil, "value not a list"
        end
        error(ffi_str(errmsg[0]) .. " for key " .. key, 0)
    end
    local typ = vtype[0]
    if typ == 0 then
        return nil
    end
    if typ == 3 then
        return tonumber(num[0])
    end
    return take_string()
end

function methods.lpush(...)
    return push(1, "lpush", select("#", ...), ...)
end

function methods.rpush(...)
    return push(0, "rpush", select("#", ...), ...)
end

function methods.lpop(...)
    return pop(1, "lpop", select("#", ...), ...)
end

function methods.rpop(...)
    return pop(0, "rpop", select("#", ...), ...)
end

function methods.llen(...)
    local n, dict, key = select("#", ...), ...
    if n ~= 2 then
        error("expecting 2 arguments, but only seen " .. n, 0)
    end
    local zone = list_zone(dict)
    local err
    key, err = list_key("llen", key)
    if not key then
        return nil, err
    end
    local rc = C.ngx_stream_lua_rs_ffi_shdict_llen(zone, key, #key)
    if rc < 0 then
        return nil, "value not a list"
    end
    return rc
end
