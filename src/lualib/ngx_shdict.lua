-- stream-lua-rs built-in Lua layer: the ngx.shared.DICT methods over our exported C ABI.
--
-- Layout: every method enters through `open` (dict -> zone, the exptime rule of the method,
-- the key), so the checks and their messages live in one place; the values travel through
-- one set of out-parameters (`out`), read back by `value_out`. The list methods enter
-- through `open_list`, which has the rules of upstream's Lua C functions (argument count,
-- luaL_checklstring-like key, errors raised without a position). A real lua-resty-core on
-- lua_package_path replaces the FFI methods; flush_expired and get_keys are Lua C functions
-- already on the dicts' shared metatable.
local shared = ngx.shared
local _, some_dict = next(shared)
if not some_dict then
    return
end

local ffi = require "ffi"
local tobit = require("bit").tobit
local C = ffi.C
local cstr = ffi.string
local type, tostring, tonumber, error, select = type, tostring, tonumber, error, select


local udata_zone = C.ngx_stream_lua_ffi_shdict_udata_to_zone

-- the C side's value tags, and what a Lua type becomes
local NIL, BOOL, NUM, STR = 0, 1, 3, 4
local TAG_OF = { ["nil"] = NIL, boolean = BOOL, number = NUM, string = STR }
-- the store operations (bit flags of the C side)
local SET, ADD, REPLACE, SAFE = 0, 1, 2, 4
-- the C side's "no such key"
local DECLINED = -5
local MAX_KEY = 65535

-- The out-parameters, shared by all calls (none of them yields while using them). A string
-- value that does not fit in `out.buf` comes back in a malloc'ed buffer, freed after reading.
local SCRATCH = 4096
local out = {
    buf = ffi.new("unsigned char[?]", SCRATCH),
    str = ffi.new("unsigned char *[1]"),
    len = ffi.new("size_t[1]"),
    tag = ffi.new("int[1]"),
    flags = ffi.new("int[1]"),
    num = ffi.new("double[1]"),
    stale = ffi.new("int[1]"),
    evicted = ffi.new("int[1]"),
    err = ffi.new("char *[1]"),
}
local io_buf, io_str, io_len, io_tag = out.buf, out.str, out.len, out.tag
local io_flags, io_num, io_stale = out.flags, out.num, out.stale
local io_evicted, io_err = out.evicted, out.err

-- Per-method exptime rule for `open`: nil (no exptime), OPTIONAL (nil means 0, no negative
-- value) or REQUIRED.
local OPTIONAL, REQUIRED = 1, 2
local BAD_ZONE = 'bad "zone" argument'
local BAD_EXPTIME = 'bad "exptime" argument'

-- The zone of a dict, or an error raised `level` frames up (at the method's caller).
local function zone_or_raise(dict, level)
    local zone
    if type(dict) == "table" then
        local ud = dict[1]
        if type(ud) == "userdata" then
            zone = udata_zone(ud)
        end
    end
    if zone == nil then
        error(BAD_ZONE, level)
    end
    return zone
end

-- Checks a method's arguments in upstream's order (zone, exptime, key) and returns the zone,
-- the key as a string and the exptime in milliseconds; or false and the error to return.
local function open(dict, key, rule, exptime)
    local zone = zone_or_raise(dict, 4) -- open, the method (or its tail-called body), caller
    local ms = 0
    if rule then
        if not exptime then
            if rule == REQUIRED then
                error(BAD_EXPTIME, 3)
            end
        elseif rule == OPTIONAL and exptime < 0 then
            error(BAD_EXPTIME, 3) -- (expire takes any number)
        else
            ms = exptime * 1000
        end
    end
    if key == nil then
        return false, "nil key"
    end
    local k = type(key) == "string" and key or tostring(key)
    local len = #k
    if len == 0 or len > MAX_KEY then
        return false, len == 0 and "empty key" or "key too long"
    end
    return zone, k, ms
end

-- The value the last get/pop call left in `out`, by its tag.
local function value_out(tag)
    if tag == STR then
        local p = io_str[0]
        local s = cstr(p, io_len[0])
        if p ~= io_buf then
            C.free(p)
        end
        return s
    elseif tag == NUM then
        return tonumber(io_num[0])
    elseif tag == BOOL then
        return io_buf[0] ~= 0
    end
    error("unknown value type: " .. tag, 4)
end

local function store(dict, op, key, value, exptime, flags)
    local zone, k, ms = open(dict, key, OPTIONAL, exptime)
    if not zone then
        return nil, k
    end
    local tag = TAG_OF[type(value)]
    local s, slen, n = nil, 0, 0
    if tag == STR then
        s, slen = value, #value
    elseif tag == NUM then
        n = value
    elseif tag == BOOL then
        n = value and 1 or 0
    elseif tag == nil then
        return nil, "bad value type"
    end
    if type(flags) == "number" then
        -- wrapped to 32 bits here: how a LuaJIT converts an out-of-range double to the C int
        -- differs between builds (the vendored one and OpenResty's)
        flags = tobit(flags)
    end
    local ok = C.ngx_stream_lua_ffi_shdict_store(zone, op, k, #k, tag, s, slen, n, ms,
                                                 flags or 0, io_err, io_evicted) == 0
    return ok, not ok and cstr(io_err[0]) or nil, io_evicted[0] == 1
end

local function lookup(dict, key, stale)
    local zone, k = open(dict, key)
    if not zone then
        return nil, k
    end
    io_str[0], io_len[0] = io_buf, SCRATCH
    if C.ngx_stream_lua_ffi_shdict_get(zone, k, #k, io_tag, io_str, io_len, io_num, io_flags,
                                       stale, io_stale, io_err) ~= 0 then
        if io_err[0] == nil then
            error("failed to get the key")
        end
        return nil, cstr(io_err[0])
    end
    local tag = io_tag[0]
    if tag == NIL then
        return nil
    end
    local v = value_out(tag)
    local f = tonumber(io_flags[0])
    if stale == 1 then
        return v, f ~= 0 and f or nil, io_stale[0] == 1
    end
    if f == 0 then
        return v
    end
    return v, f
end

-- incr's optional numbers: a value tonumber accepts, or an error naming the argument
local NUMBER_EXPECTED = {
    init = "bad init arg: number expected, got ",
    init_ttl = "bad init_ttl arg: number expected, got ",
}
local function number_arg(v, which)
    local n = tonumber(v)
    if n == nil then
        error(NUMBER_EXPECTED[which] .. type(v), 3)
    end
    return n
end

local methods = getmetatable(some_dict).__index

methods.get = function(dict, key) return lookup(dict, key, 0) end
methods.get_stale = function(dict, key) return lookup(dict, key, 1) end

methods.set = function(dict, key, value, exptime, flags)
    return store(dict, SET, key, value, exptime, flags)
end
methods.safe_set = function(dict, key, value, exptime, flags)
    return store(dict, SAFE, key, value, exptime, flags)
end
methods.add = function(dict, key, value, exptime, flags)
    return store(dict, ADD, key, value, exptime, flags)
end
methods.safe_add = function(dict, key, value, exptime, flags)
    return store(dict, ADD + SAFE, key, value, exptime, flags)
end
methods.replace = function(dict, key, value, exptime, flags)
    return store(dict, REPLACE, key, value, exptime, flags)
end
methods.delete = function(dict, key) return store(dict, SET, key, nil) end

methods.incr = function(dict, key, value, init, init_ttl)
    local zone, k = open(dict, key)
    if not zone then
        return nil, k
    end
    io_num[0] = type(value) == "number" and value or tonumber(value)
    if init and type(init) ~= "number" then
        init = number_arg(init, "init")
    end
    local ttl_ms = 0
    if init_ttl ~= nil then
        local ttl = type(init_ttl) == "number" and init_ttl or number_arg(init_ttl, "init_ttl")
        if ttl < 0 then
            error('bad "init_ttl" argument', 2)
        elseif not init then
            error('must provide "init" when providing "init_ttl"', 2)
        end
        ttl_ms = ttl * 1000
    end
    if C.ngx_stream_lua_ffi_shdict_incr(zone, k, #k, io_num, io_err, init and 1 or 0,
                                        init or 0, ttl_ms, io_evicted) ~= 0 then
        return nil, cstr(io_err[0])
    end
    local n = tonumber(io_num[0])
    if init then
        return n, nil, io_evicted[0] == 1
    end
    return n
end

methods.ttl = function(dict, key)
    local zone, k = open(dict, key)
    if not zone then
        return nil, k
    end
    local ms = C.ngx_stream_lua_ffi_shdict_get_ttl(zone, k, #k)
    if ms == DECLINED then
        return nil, "not found"
    end
    return tonumber(ms) / 1000
end

methods.expire = function(dict, key, exptime)
    local zone, k, ms = open(dict, key, REQUIRED, exptime)
    if not zone then
        return nil, k
    end
    if C.ngx_stream_lua_ffi_shdict_set_expire(zone, k, #k, ms) == DECLINED then
        return nil, "not found"
    end
    return true
end

-- the zone-only methods: the method, then its caller
methods.flush_all = function(dict)
    C.ngx_stream_lua_ffi_shdict_flush_all(zone_or_raise(dict, 3))
end
methods.capacity = function(dict)
    return tonumber(C.ngx_stream_lua_ffi_shdict_capacity(zone_or_raise(dict, 3)))
end
methods.free_space = function(dict)
    return tonumber(C.ngx_stream_lua_ffi_shdict_free_space(zone_or_raise(dict, 3)))
end

-- Lists. `open_list` checks the argument count, the dict and the key (argument #2, a string
-- or a number as luaL_checklstring takes it); every error here has no position.
local function open_list(name, want, n, dict, key)
    if n ~= want then
        error("expecting " .. want .. " arguments, but only seen " .. n, 0)
    end
    if type(dict) ~= "table" or type(dict[1]) ~= "userdata" then
        error(BAD_ZONE, 0)
    end
    local kt = type(key)
    if kt ~= "string" and kt ~= "number" and kt ~= "nil" then
        error("bad argument #2 to '" .. name .. "' (string expected, got " .. kt .. ")", 0)
    end
    if key == nil then
        return false, "nil key"
    end
    local k = tostring(key)
    local len = #k
    if len == 0 or len > MAX_KEY then
        return false, len == 0 and "empty key" or "key too long"
    end
    return udata_zone(dict[1]), k
end

local function push(front, name, n, dict, key, value)
    local zone, k = open_list(name, 3, n, dict, key)
    if not zone then
        return nil, k
    end
    local vt, rc = type(value)
    if vt == "number" then
        rc = C.ngx_stream_lua_rs_ffi_shdict_push(zone, front, k, #k, NUM, nil, 0, value)
    elseif vt == "string" then
        rc = C.ngx_stream_lua_rs_ffi_shdict_push(zone, front, k, #k, STR, value, #value, 0)
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

local function pop(front, name, n, dict, key)
    local zone, k = open_list(name, 2, n, dict, key)
    if not zone then
        return nil, k
    end
    io_str[0], io_len[0] = io_buf, SCRATCH
    local rc = C.ngx_stream_lua_rs_ffi_shdict_pop(zone, front, k, #k, io_tag, io_str, io_len,
                                                 io_num, io_err)
    if rc == -1 then
        return nil, "value not a list"
    elseif rc ~= 0 then
        error(cstr(io_err[0]) .. " for key " .. k, 0)
    end
    local tag = io_tag[0]
    if tag == NIL then
        return nil
    end
    return tag == NUM and tonumber(io_num[0]) or value_out(STR)
end

methods.lpush = function(...) return push(1, "lpush", select("#", ...), ...) end
methods.rpush = function(...) return push(0, "rpush", select("#", ...), ...) end
methods.lpop = function(...) return pop(1, "lpop", select("#", ...), ...) end
methods.rpop = function(...) return pop(0, "rpop", select("#", ...), ...) end
methods.llen = function(...)
    local zone, k = open_list("llen", 2, select("#", ...), ...)
    if not zone then
        return nil, k
    end
    local rc = C.ngx_stream_lua_rs_ffi_shdict_llen(zone, k, #k)
    if rc < 0 then
        return nil, "value not a list"
    end
    return rc
end
