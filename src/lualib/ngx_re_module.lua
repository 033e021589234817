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

local M = { version = "0.1.31" }

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

-- appends a piece, and the separator's capture if it has one, after out[count]; the new count
local function put(out, count, piece, cap)
    out[count + 1] = piece
    if cap == nil then
        return count + 1
    end
    out[count + 2] = cap
    return count + 2
end

-- the ctx split uses when it is given none (its position starts over every call)
local own_ctx = {}

function M.split(subj, regex, opts, ctx, max, res)
    subj = tostring(subj)
    if not ctx then
        ctx = own_ctx
        ctx.pos = nil
    end
    ctx.pos = ctx.pos or 1
    local limit = max or 0
    local out = res or {}
    if type(out) ~= "table" then
        error("res is not a table", 2)
    elseif ctx.pos > #subj then
        out[1] = nil
        return out
    end
    local len = #subj
    local compiled, once, flags = match_compile(regex, opts)
    if not compiled then
        return nil, once -- (the compile error)
    end

    -- Cut pieces off the subject at each separator: `piece_from` is where the next piece
    -- begins (1-based), `count` how many slots of `out` are filled, `pieces` how many pieces
    -- there are counting the rest of the subject; an empty separator moves the next piece's
    -- start to itself and cuts nothing where a piece begins.
    local piece_from, count, pieces = ctx.pos, 0, 1
    local empty_sep_at, err
    ctx.pos = piece_from - 1
    repeat
        if limit > 0 and pieces >= limit then
            break
        end
        local from, to, cap
        from, to, cap, err = next_sep(subj, compiled, flags, ctx)
        if not from then
            break
        end
        piece_from = empty_sep_at or piece_from
        if from == to then
            empty_sep_at = from
        end
        local cut = not empty_sep_at or from > piece_from
        if cut then
            pieces = pieces + 1
            count = put(out, count, sub(subj, piece_from, from - 1), cap)
            piece_from = to
        end
    until cut and piece_from > len
    if not once then
        destroy(compiled)
    end
    if err then
        return nil, err
    end

    if limit > 0 or piece_from <= len then
        count = count + 1
        out[count] = sub(subj, piece_from)
    else
        -- no limit and nothing after the last separator: empty pieces at the end go
        while count > 0 and out[count] == "" do
            out[count] = nil
            count = count - 1
        end
    end
    out[count + 1] = nil
    return out
end

function M.opt(option, value)
    if option ~= "jit_stack_size" then
        error("unrecognized option name", 2)
    elseif not core.cache_is_empty() then
        error("changing jit stack size is not allowed when some regexs have already "
              .. "been compiled and cached", 2)
    end
    errlen[0] = ERR_LEN
    if C.ngx_stream_lua_ffi_set_jit_stack_size(value, errbuf, errlen) ~= 0 then
        error(ffi.string(errbuf, errlen[0]), 2)
    end
end

return M
