-- stream-lua-rs built-in Lua layer: the `ngx.re` module (require "ngx.re"): split and opt,
-- over the helpers of ngx_re.lua and the exported regex ABI.
local ffi = require "ffi"
local C = ffi.C
local sub = string.sub
local error, type, tostring = error, type, tostring
local new_tab = require "table.new"

local core = debug.getregistry()["stream-lua-rs.re"]
local match_compile, destroy, check_rc = core.match_compile, core.destroy, core.check_rc
local exec_regex = C.ngx_stream_lua_ffi_exec_regex
local NOMATCH = -1
local ERR_LEN = 128
local errbuf = ffi.new("unsigned char[?]", ERR_LEN)
local errlen = ffi.new("size_t[1]")

local M = { version = "0.1.31" }

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
    -- (room for a few pieces up front: growing a table one key at a time rehashes it)
    local out = res or new_tab(8, 0)
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
    -- start to itself and cuts nothing where a piece begins. `pos` (0-based) is where the
    -- next separator is looked for, ctx.pos once the loop is done.
    local piece_from, count, pieces = ctx.pos, 0, 1
    local pos = piece_from - 1
    local empty_sep_at, err
    local caps = compiled.captures
    repeat
        if limit > 0 and pieces >= limit then
            break
        end
        local rc = exec_regex(compiled, flags, subj, len, pos > 0 and pos or 0)
        if rc == NOMATCH then
            break
        end
        if rc <= 0 then
            rc, err = check_rc(rc, flags)
            if not rc then
                break
            end
        end
        local from, to = caps[0], caps[1]
        if from < 0 or to < 0 then
            break
        end
        -- an empty separator: look for the next one a byte further
        pos = from == to and to + 1 or to
        from, to = from + 1, to + 1
        piece_from = empty_sep_at or piece_from
        if from == to then
            empty_sep_at = from
        end
        local cut = not empty_sep_at or from > piece_from
        if cut then
            pieces = pieces + 1
            count = count + 1
            out[count] = sub(subj, piece_from, from - 1)
            if rc > 1 and compiled.ncaptures > 0 then
                -- the separator's first capture follows its piece
                count = count + 1
                out[count] = sub(subj, caps[2] + 1, caps[3])
            end
            piece_from = to
        end
    until cut and piece_from > len
    ctx.pos = pos
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
