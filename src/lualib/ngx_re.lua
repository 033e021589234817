-- stream-lua-rs built-in Lua layer: ngx.re.match, find, gmatch, sub and gsub over the
-- module's exported regex ABI (PCRE2), with lua-resty-core 0.1.31's behaviour.
-- The helpers the `ngx.re` module (split) needs are left in the registry.
local ffi = require "ffi"
local bit = require "bit"
local C = ffi.C
local ffi_string, ffi_gc, ffi_copy, ffi_cast = ffi.string, ffi.gc, ffi.copy, ffi.cast
local band, bor, lshift = bit.band, bit.bor, bit.lshift
local byte, sub, fmt = string.byte, string.sub, string.format
local concat = table.concat
local new_tab = require "table.new"
local type, tostring, tonumber, error, setmetatable =
      type, tostring, tonumber, error, setmetatable
local ngx = ngx

-- (named as lua-resty-core names them: LuaJIT quotes the name in argument errors)
local ngx_lua_ffi_compile_regex = C.ngx_stream_lua_ffi_compile_regex
local exec_regex = C.ngx_stream_lua_ffi_exec_regex
local destroy_regex = C.ngx_stream_lua_ffi_destroy_regex

-- ExecRegex flags (module side) and PCRE2 compile options
local FLAG_COMPILE_ONCE, FLAG_DFA, FLAG_JIT, FLAG_DUPNAMES, FLAG_NO_UTF8_CHECK =
      0x01, 0x02, 0x04, 0x08, 0x10
local PCRE2_CASELESS, PCRE2_MULTILINE, PCRE2_DOTALL, PCRE2_EXTENDED =
      0x00000008, 0x00000400, 0x00000020, 0x00000080
local PCRE2_ANCHORED, PCRE2_UTF, PCRE2_DUPNAMES = 0x80000000, 0x00080000, 0x00000040
-- "J": PCRE2_ALT_BSUX | PCRE2_ALLOW_EMPTY_CLASS | PCRE2_MATCH_UNSET_BACKREF
local PCRE2_JS_COMPAT = 0x00000203
local NOMATCH = -1
local ERR_LEN = 256

-- option letter -> { module flags, pcre2 options }
local letters = {
    [byte"o"] = { FLAG_COMPILE_ONCE, 0 },
    [byte"j"] = { FLAG_JIT, 0 },
    [byte"d"] = { FLAG_DFA, 0 },
    [byte"i"] = { 0, PCRE2_CASELESS },
    [byte"s"] = { 0, PCRE2_DOTALL },
    [byte"m"] = { 0, PCRE2_MULTILINE },
    [byte"u"] = { 0, PCRE2_UTF },
    [byte"U"] = { FLAG_NO_UTF8_CHECK, PCRE2_UTF },
    [byte"x"] = { 0, PCRE2_EXTENDED },
    [byte"a"] = { 0, PCRE2_ANCHORED },
    [byte"D"] = { FLAG_DUPNAMES, PCRE2_DUPNAMES },
    [byte"J"] = { 0, PCRE2_JS_COMPAT },
}

local parsed_opts = {}

-- errors point at the caller of the ngx.re function (level 3 from here)
local function parse_opts(opts)
    local p = parsed_opts[opts]
    if p then
        return p[1], p[2]
    end
    local flags, pcre_opts = 0, 0
    for i = 1, #opts do
        local l = letters[byte(opts, i)]
        if not l then
            error(fmt('unknown flag "%s" (flags "%s")', sub(opts, i, i), opts), 3)
        end
        flags = bor(flags, l[1])
        pcre_opts = bor(pcre_opts, l[2])
    end
    parsed_opts[opts] = { flags, pcre_opts }
    return flags, pcre_opts
end

local errbuf = ffi.new("unsigned char[?]", ERR_LEN)

local function compile(regex, flags, pcre_opts)
    local compiled = ngx_lua_ffi_compile_regex(regex, #regex, flags, pcre_opts, errbuf,
                                               ERR_LEN)
    if compiled == nil then
        return nil, ffi_string(errbuf)
    end
    return ffi_gc(compiled, destroy_regex)
end

local function destroy(compiled)
    destroy_regex(ffi_gc(compiled, nil))
end

local max_cache_size
local get_phase = ngx.get_phase
local function cache_limit()
    if max_cache_size then
        return max_cache_size
    end
    local n = tonumber(C.ngx_stream_lua_ffi_max_regex_cache_size())
    -- init_by_lua runs before the configuration is the running one: ask again later
    if get_phase() ~= "init" then
        max_cache_size = n
    end
    return n
end

-- the "o" cache of match/find/gmatch/split: least recently used entries go first. Nodes
-- are found by opts, then regex (no key string to build per call).
local lru = { map = {}, n = 0 }
lru.head = { }
lru.head.next, lru.head.prev = lru.head, lru.head
local lru_map, lru_head = lru.map, lru.head

local function lru_unlink(node)
    node.prev.next, node.next.prev = node.next, node.prev
end

local function lru_front(node)
    local h = lru_head
    node.next, node.prev = h.next, h
    h.next.prev = node
    h.next = node
end

local function lru_get(regex, opts)
    local by_regex = lru_map[opts]
    local node = by_regex and by_regex[regex]
    if node then
        if lru_head.next ~= node then
            lru_unlink(node)
            lru_front(node)
        end
        return node.value
    end
end

local cache_used = false

local function lru_set(regex, opts, value)
    local size = cache_limit()
    local by_regex = lru_map[opts]
    if not by_regex then
        by_regex = {}
        lru_map[opts] = by_regex
    end
    local node = by_regex[regex]
    if node then
        node.value = value
        lru_unlink(node)
    else
        if lru.n >= size then
            node = lru_head.prev  -- evict the oldest, reuse its node
            lru_unlink(node)
            lru_map[node.opts][node.regex] = nil
        else
            node = {}
            lru.n = lru.n + 1
        end
        node.regex, node.opts, node.value = regex, opts, value
        by_regex[regex] = node
    end
    lru_front(node)
    cache_used = true
end

local function match_compile(regex, opts)
    local flags, pcre_opts = 0, 0
    if opts then
        flags, pcre_opts = parse_opts(opts)
    else
        opts = ""
    end
    local once = band(flags, FLAG_COMPILE_ONCE) ~= 0 and cache_limit() > 0
    local compiled
    if once then
        compiled = lru_get(regex, opts)
        if compiled then
            return compiled, true, flags
        end
    end
    local err
    compiled, err = compile(regex, flags, pcre_opts)
    if not compiled then
        return nil, err
    end
    if once then
        lru_set(regex, opts, compiled)
    end
    return compiled, once, flags
end

-- group i of a match with `rc` groups set: its text, or false when it did not take part
local function set_capture(out, i, rc, caps, subj)
    local from = caps[2 * i]
    out[i] = i < rc and from >= 0 and sub(subj, from + 1, caps[2 * i + 1]) or false
end

-- the captures of a match with `rc` groups set, by number (false: not set) and by name
local function collect_captures(compiled, rc, subj, flags, res)
    -- made at its final size ([0] sits in LuaJIT's array part): no rehash as it fills
    local n = compiled.ncaptures
    local out = res or new_tab(n, compiled.name_count)
    local caps = compiled.captures
    -- the first groups without a loop: a hot loop of matches would otherwise often have
    -- its JIT trace rooted in this short inner loop, ~50% slower than one trace of the
    -- caller's loop with the groups inlined
    set_capture(out, 0, rc, caps, subj)
    if n >= 1 then
        set_capture(out, 1, rc, caps, subj)
        if n >= 2 then
            set_capture(out, 2, rc, caps, subj)
            if n >= 3 then
                set_capture(out, 3, rc, caps, subj)
                for i = 4, n do
                    set_capture(out, i, rc, caps, subj)
                end
            end
        end
    end
    local name_count = compiled.name_count
    if name_count > 0 then
        local tab = compiled.name_table
        local size = compiled.name_entry_size
        local dup = band(flags, FLAG_DUPNAMES) ~= 0
        local off = 0
        for _ = 1, name_count do
            local n = bor(lshift(tab[off], 8), tab[off + 1])
            local name = ffi_string(tab + off + 2)
            local v = out[n]
            if not dup then
                out[name] = v
            elseif v then  -- with D, names collect the groups that matched, in order
                local list = out[name] or {}
                list[#list + 1] = v
                out[name] = list
            end
            off = off + size
        end
    end
    return out
end

-- rc of an exec turned into a capture count, or nil, err
local function check_rc(rc, flags)
    if rc < 0 then
        return nil, "pcre_exec() failed: " .. rc
    end
    if rc == 0 then
        if band(flags, FLAG_DFA) == 0 then
            return nil, "capture size too small"
        end
        return 1
    end
    return rc
end

-- re.find's answer for a match with `rc` captures set: where capture `nth` (none or a
-- negative one: the whole match) is, as from, to (1-based, inclusive)
local function span_of(compiled, rc, nth, once)
    local k = nth
    if not k or k < 0 then
        k = 0
    end
    if k > compiled.ncaptures then
        return nil, nil, "nth out of bound"
    elseif k >= rc then
        return nil, nil
    end
    local at = compiled.captures + 2 * k
    local from, to = at[0] + 1, at[1]
    if not once then
        destroy(compiled)
    end
    if from >= 0 and to >= 0 then
        return from, to
    end
    return nil, nil
end

local function match_helper(want_caps, subj, regex, opts, ctx, res, nth)
    subj = tostring(subj)
    local compiled, once, flags = match_compile(regex, opts)
    if not compiled then
        if want_caps then
            return nil, once
        end
        return nil, nil, once
    end
    local pos = 0
    if ctx then
        pos = ctx.pos
        pos = (pos and pos > 0) and pos - 1 or 0
    end
    local rc, err = exec_regex(compiled, flags, subj, #subj, pos)
    if rc == NOMATCH then
        if not once then destroy(compiled) end
        return nil
    end
    rc, err = check_rc(rc, flags)
    if not rc then
        if not once then destroy(compiled) end
        if want_caps then
            return nil, err
        end
        return nil, nil, err
    end
    local caps = compiled.captures
    if ctx then
        ctx.pos = caps[1] + 1
    end
    if not want_caps then
        return span_of(compiled, rc, nth, once)
    end
    res = collect_captures(compiled, rc, subj, flags, res)
    if not once then destroy(compiled) end
    return res
end

local re = ngx.re or {}
ngx.re = re

-- match: the captures table; find: where the match (or capture nth) is
re.match = function(subj, regex, opts, ctx, res)
    return match_helper(true, subj, regex, opts, ctx, res)
end
re.find = function(subj, regex, opts, ctx, nth)
    return match_helper(false, subj, regex, opts, ctx, nil, nth)
end

-- gmatch ---------------------------------------------------------------------
local function gmatch_done(it)
    local compiled, keep = it.compiled, it.once
    it.compiled, it.pos, it.subj = nil, nil, nil
    if not keep then
        destroy(compiled)
    end
end

local gmatch_mt = {
    __call = function(it)
        local pos = it.pos
        if not pos then
            return nil
        end
        local compiled, flags, subj = it.compiled, it.flags, it.subj
        local rc = exec_regex(compiled, flags, subj, it.len, pos)
        if rc == NOMATCH then
            gmatch_done(it)
            return nil
        end
        local err
        rc, err = check_rc(rc, flags)
        if not rc then
            gmatch_done(it)
            return nil, err
        end
        local caps = compiled.captures
        local from, to = caps[0], caps[1]
        local res = collect_captures(compiled, rc, subj, flags)
        if to == from then
            -- an empty match: step one byte to make progress
            to = to + 1
            if to > it.len then
                gmatch_done(it)
                return res
            end
        end
        it.pos = to
        return res
    end
}

function re.gmatch(subj, regex, opts)
    subj = tostring(subj)
    local compiled, once, flags = match_compile(regex, opts)
    if not compiled then
        return nil, once
    end
    return setmetatable({ compiled = compiled, once = once, flags = flags,
                          subj = subj, len = #subj, pos = 0 }, gmatch_mt)
end

-- sub / gsub -----------------------------------------------------------------
-- compiled regexes of "o" subs, by opts then regex (then template for string replaces),
-- counted against lua_regex_cache_max_entries
local sub_func_cache, sub_str_cache = {}, {}
local sub_cache_n = 0

local function sub_compile(regex, opts, template)
    local flags, pcre_opts = 0, 0
    if opts then
        flags, pcre_opts = parse_opts(opts)
    else
        opts = ""
    end
    local once = band(flags, FLAG_COMPILE_ONCE) ~= 0
    local by_opts = template and sub_str_cache or sub_func_cache
    if once then
        local t = by_opts[opts]
        t = t and t[regex]
        if template then
            t = t and t[template]
        end
        if t then
            return t, true, flags
        end
    end
    local compiled, err = compile(regex, flags, pcre_opts)
    if not compiled then
        return nil, err
    end
    if template and C.ngx_stream_lua_ffi_compile_replace_template(compiled, template,
                                                                 #template) ~= 0 then
        destroy(compiled)
        return nil, "failed to compile the replacement template"
    end
    if once then
        if sub_cache_n < cache_limit() then
            local t = by_opts[opts]
            if not t then
                t = {}
                by_opts[opts] = t
            end
            if template then
                local tt = t[regex]
                if not tt then
                    tt = {}
                    t[regex] = tt
                end
                tt[template] = compiled
            else
                t[regex] = compiled
            end
            -- (like lua-resty-core, only the match cache counts for opt("jit_stack_size"))
            sub_cache_n = sub_cache_n + 1
        else
            once = false
        end
    end
    return compiled, once, flags
end

local engine
local function script_engine()
    if not engine then
        local e = C.ngx_stream_lua_ffi_create_script_engine()
        if e == nil then
            return nil
        end
        engine = ffi_gc(e, C.ngx_stream_lua_ffi_destroy_script_engine)
    end
    return engine
end

local out_size = 4096
local out_buf = ffi.new("unsigned char[?]", out_size)
local str_t = ffi.typeof("const unsigned char *")

-- makes room for `need` bytes in the output buffer, keeping its first `used` bytes
local function out_reserve(used, need)
    if need > out_size then
        local size = out_size * 2
        if size < need then
            size = need
        end
        local nb = ffi.new("unsigned char[?]", size)
        ffi_copy(nb, out_buf, used)
        out_buf, out_size = nb, size
    end
end

-- A `sub` and a `gsub`'s first match run outside any loop: LuaJIT keeps one trace per loop,
-- recorded by whichever call made it hot, and a `sub` entering a loop whose trace a `gsub` of
-- another kind recorded (say, a template after a literal) ran through that trace's exits, at
-- a third of its speed. Only a `gsub`'s further matches loop.

-- after a match ending at `last` (from `from`), where the next search starts: a byte
-- further after an empty match; nil past the subject's end
local function next_pos(from, last, len)
    local pos = from == last and last + 1 or last
    if pos <= len then
        return pos
    end
end

-- st = { func, n, parts... }: a table, not the shared buffer, as the callback may call
-- ngx.re again. Appends the text from `last` to the match `rc` reports, and the function's
-- replacement; returns true, or nil and an error.
local function put_func(compiled, flags, rc, st, subj, last)
    local err
    rc, err = check_rc(rc, flags)
    if not rc then
        return nil, err
    end
    local m = collect_captures(compiled, rc, subj, flags)
    local from0 = compiled.captures[0]
    local piece = tostring(st.func(m))
    local n = st.n + 2
    st[n - 1] = sub(subj, last + 1, from0)
    st[n] = piece
    st.n = n
    return true
end

-- a function replace's matches after the first; returns count, offset after the last match,
-- or nil and an error
local function gsub_func_rest(compiled, flags, st, subj, len)
    local caps = compiled.captures
    local count, last = 1, caps[1]
    local pos = next_pos(caps[0], last, len)
    while pos do
        local rc = exec_regex(compiled, flags, subj, len, pos)
        if rc == NOMATCH then
            break
        end
        local ok, err = put_func(compiled, flags, rc, st, subj, last)
        if not ok then
            return nil, err
        end
        count, last = count + 1, caps[1]
        pos = next_pos(caps[0], last, len)
    end
    return count, last
end

-- Appends to the output buffer, from `used` on, the text from `last` to the match `rc`
-- reports and the match's replacement (`cv`: a literal or a template); returns the new
-- used length, or nil and an error. No callback runs between a string replace's matches,
-- so the shared output buffer is its own until it returns.
local function put_str(compiled, flags, rc, cv, subj, last, used)
    local err
    rc, err = check_rc(rc, flags)
    if not rc then
        return nil, err
    end
    local prefix = compiled.captures[0] - last
    local n, e
    if cv.lengths == nil then
        n = tonumber(cv.value.len)
    else
        e = script_engine()
        if not e then
            return nil, "failed to create script engine"
        end
        C.ngx_stream_lua_ffi_init_script_engine(e, subj, compiled, rc)
        n = tonumber(C.ngx_stream_lua_ffi_script_eval_len(e, cv))
    end
    out_reserve(used, used + prefix + n)
    ffi_copy(out_buf + used, ffi_cast(str_t, subj) + last, prefix)
    if e then
        C.ngx_stream_lua_ffi_script_eval_data(e, cv, out_buf + used + prefix)
    else
        ffi_copy(out_buf + used + prefix, cv.value.data, n)
    end
    return used + prefix + n
end

-- a string replace's matches after the first; returns count, offset after the last match
-- and the output's length, or nil and an error. (The same loop as gsub_func_rest's, kept
-- apart so that each kind of replace has a loop trace of its own, as sub and gsub have above;
-- that this pair needs it was not measured.)
local function gsub_str_rest(compiled, flags, cv, subj, len, used)
    local caps = compiled.captures
    local count, last = 1, caps[1]
    local pos = next_pos(caps[0], last, len)
    while pos do
        local rc = exec_regex(compiled, flags, subj, len, pos)
        if rc == NOMATCH then
            break
        end
        local err
        used, err = put_str(compiled, flags, rc, cv, subj, last, used)
        if not used then
            return nil, err
        end
        count, last = count + 1, caps[1]
        pos = next_pos(caps[0], last, len)
    end
    return count, last, used
end

-- The first match (a sub's only one) outside any loop, then a gsub's further ones in `rest`
-- (`put_str` and `gsub_str_rest`, or `put_func` and `gsub_func_rest`, with `how` the
-- template or the call's state). Returns count, offset after the last match and the output's
-- length (string replaces), or nil and an error.
local function replace_matches(compiled, flags, how, subj, len, global, put, rest)
    local rc = exec_regex(compiled, flags, subj, len, 0)
    if rc == NOMATCH then
        return 0, 0, 0
    end
    local used, err = put(compiled, flags, rc, how, subj, 0, 0)
    if not used then
        return nil, err
    end
    if global then
        return rest(compiled, flags, how, subj, len, used)
    end
    return 1, compiled.captures[1], used
end

local function sub_str(subj, regex, template, opts, global)
    local compiled, once, flags = sub_compile(regex, opts, template)
    if not compiled then
        return nil, nil, once
    end
    subj = tostring(subj)
    local len = #subj
    local count, last, used = replace_matches(compiled, flags, compiled.replace, subj, len, global,
                                              put_str, gsub_str_rest)
    if not once then destroy(compiled) end
    if not count then
        return nil, nil, last
    end
    if count == 0 then
        return subj, 0
    end
    local rest = len - last
    out_reserve(used, used + rest)
    ffi_copy(out_buf + used, ffi_cast(str_t, subj) + last, rest)
    return ffi_string(out_buf, used + rest), count
end

local function sub_func(subj, regex, func, opts, global)
    local compiled, once, flags = sub_compile(regex, opts, nil)
    if not compiled then
        return nil, nil, once
    end
    subj = tostring(subj)
    local st = { func = func, n = 0 }
    local count, last = replace_matches(compiled, flags, st, subj, #subj, global, put_func,
                                        gsub_func_rest)
    if not once then destroy(compiled) end
    if not count then
        return nil, nil, last
    end
    if count == 0 then
        return subj, 0
    end
    local n = st.n
    st[n + 1] = sub(subj, last + 1)
    return concat(st, "", 1, n + 1), count
end

local function sub_helper(subj, regex, replace, opts, global)
    if type(replace) == "function" then
        return sub_func(subj, regex, replace, opts, global)
    end
    if type(replace) ~= "string" then
        replace = tostring(replace)
    end
    return sub_str(subj, regex, replace, opts, global)
end

function re.sub(subj, regex, replace, opts)
    return sub_helper(subj, regex, replace, opts, false)
end

function re.gsub(subj, regex, replace, opts)
    return sub_helper(subj, regex, replace, opts, true)
end

-- for the `ngx.re` module (split, opt)
debug.getregistry()["stream-lua-rs.re"] = {
    match_compile = match_compile,
    destroy = destroy,
    check_rc = check_rc,
    cache_is_empty = function() return not cache_used end,
}
