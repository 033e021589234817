-- stream-lua-rs built-in Lua layer: the `ngx.re` module (require "ngx.re"): split and opt,
-- over the helpers of ngx_re.lua and the exported regex ABI.
local ffi = require "ffi"
local C = ffi.C
local sub = string.sub
local error, type, tostring = error, type, tostring
local math_max = math.max

local core = debug.getregistry()["stream-lua-rs.re"]
local match_compile, destroy, check_rc = core.match_compile, core.destroy, core.check_rc
local exec_regex = C.ngx_stream_lua_ffi_exec_regex
local NOMATCH = -1
local ERR_LEN = 128
local errbuf = ffi.new("unsigned char[?]", ERR_LEN)
local errlen = ffi.new("size_t[1]")

local _M = { version = "0.1.31" }

-- the next separator from ctx.pos (0-based): from, to (1-based, `to` past the end),
-- the first capture if any; or nil; or nil, nil, nil, err
local function next_sep(subj, compiled, flags, ctx)
    local rc = exec_regex(compiled, flags, subj, #subj, math_max(ctx.pos, 0))
    if rc == NOMATCH then
        return nil
    end
    local n, err = check_rc(rc, flags)
    if not n then
        return nil, nil, nil, err
    end
    local caps = compiled.captures
    local from, to = caps[0], caps[1]
    if from < 0 or to < 0 then
        return nil
    end
    -- an empty separator: look for the next one a byte further
    ctx.pos = from == to and to + 1 or to
    if compiled.ncaptures > 0 and n > 1 then
        return from + 1, to + 1, sub(subj, caps[2] + 1, caps[3])
    end
    return from + 1, to + 1
end

local default_ctx = {}

function _M.split(subj, regex, opts, ctx, max, res)
    subj = tostring(subj)
    if not ctx then
        ctx = default_ctx
        ctx.pos = 1
    elseif not ctx.pos then
        ctx.pos = 1
    end
    max = max or 0
    if not res then
        res = {}
    elseif type(res) ~= "table" then
        error("res is not a table", 2)
    end
    local len = #subj
    if ctx.pos > len then
        res[1] = nil
        return res
    end
    local compiled, once, flags = match_compile(regex, opts)
    if not compiled then
        return nil, once
    end

    local start = ctx.pos       -- where the current field begins (1-based)
    local n = 0                 -- fields stored in res
    local fields = 1            -- fields produced, counting the last one
    local empty_at              -- position of the previous empty separator
    ctx.pos = start - 1
    while max <= 0 or fields < max do
        local from, to, cap, err = next_sep(subj, compiled, flags, ctx)
        if err then
            if not once then destroy(compiled) end
            return nil, err
        end
        if not from then
            break
        end
        if empty_at then
            start = empty_at
        end
        if from == to then
            empty_at = from
        end
        -- an empty separator right where the field begins splits nothing
        if from > start or not empty_at then
            fields = fields + 1
            n = n + 1
            res[n] = sub(subj, start, from - 1)
            if cap then
                n = n + 1
                res[n] = cap
            end
            start = to
            if start > len then
                break
            end
        end
    end
    if not once then destroy(compiled) end

    if max <= 0 and start > len then
        -- without a limit, trailing empty fields are dropped
        while n > 0 and res[n] == "" do
            res[n] = nil
            n = n - 1
        end
    else
        n = n + 1
        res[n] = sub(subj, start)
    end
    res[n + 1] = nil
    return res
end

function _M.opt(option, value)
    if option == "jit_stack_size" then
        if not core.cache_is_empty() then
            error("changing jit stack size is not allowed when some regexs have already "
                  .. "been compiled and cached", 2)
        end
        errlen[0] = ERR_LEN
        if C.ngx_stream_lua_ffi_set_jit_stack_size(value, errbuf, errlen) == 0 then
            return
        end
        error(ffi.string(errbuf, errlen[0]), 2)
    end
    error("unrecognized option name", 2)
end

return _M
