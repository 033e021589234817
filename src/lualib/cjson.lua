-- stream-lua-rs built-in `cjson` (and `cjson.safe`): found only when no cjson module is
-- installed (the package.path and package.cpath searchers come first), so that JSON works
-- out of the box as in OpenResty, which bundles lua-cjson. It follows lua-cjson 2.1.0's
-- functions, defaults, output and error messages, plus OpenResty's additions
-- (encode_empty_table_as_object, empty_array, array_mt, encode_escape_forward_slash, ...).
-- Pure Lua: slower than the C module for big documents.
local type, pairs, next, tostring, tonumber, error, pcall, select, setmetatable, getmetatable =
      type, pairs, next, tostring, tonumber, error, pcall, select, setmetatable, getmetatable
local concat, format, byte, char, sub, find, match = table.concat, string.format, string.byte,
      string.char, string.sub, string.find, string.match
local floor, huge = math.floor, math.huge
local band, bor, rshift, lshift = bit.band, bit.bor, bit.rshift, bit.lshift
local ffi = require "ffi"
local C = ffi.C
-- numbers are printed by C's printf (%.14g), as lua-cjson does (LuaJIT's own formatting
-- rounds some ties differently)
local numbuf = ffi.new("char[64]")
local function c_format(fmt, x)
    local n = C.snprintf(numbuf, 64, fmt, ffi.cast("double", x))
    return ffi.string(numbuf, n)
end

local null = ngx.null
local empty_array = setmetatable({}, { __name = "cjson.empty_array" })
local array_mt = {}
local empty_array_mt = {}

local token_name = {
    ["{"] = "T_OBJ_BEGIN", ["}"] = "T_OBJ_END", ["["] = "T_ARR_BEGIN", ["]"] = "T_ARR_END",
    [":"] = "T_COLON", [","] = "T_COMMA",
}

local function escape_table(slash)
    local t = {}
    for i = 0, 31 do
        t[char(i)] = format("\\u%04x", i)
    end
    t["\b"], t["\f"], t["\n"], t["\r"], t["\t"] = "\\b", "\\f", "\\n", "\\r", "\\t"
    t['"'], t["\\"], t["\127"] = '\\"', "\\\\", "\\u007f"
    if slash then
        t["/"] = "\\/"
    end
    return t
end

local function new(safe)
    local cfg = {
        sparse_convert = false, sparse_ratio = 2, sparse_safe = 10,
        encode_max_depth = 1000, decode_max_depth = 1000, precision = 14,
        keep_buffer = true, encode_invalid = false, decode_invalid = true,
        empty_table_as_object = true, decode_array_mt = false, escape_slash = true,
    }
    local escapes = escape_table(true)
    local num_fmt = "%.14g"
    local M = {}

    -- option setters/getters, with lua-cjson's argument checks --------------------
    local function bool_opt(name, key, on, off)
        M[name] = function(...)
            local n, v = select("#", ...), ...
            if n > 1 then
                error(format("bad argument #%d to '%s' (found too many arguments)", 2, name), 0)
            end
            if n == 1 and v ~= nil then
                if v == true or v == "on" then
                    cfg[key] = on
                elseif v == false or v == "off" then
                    cfg[key] = off
                elseif v == "null" and key == "encode_invalid" then
                    cfg[key] = "null"
                else
                    error(format("bad argument #1 to '%s' (invalid option '%s')", name, tostring(v)), 0)
                end
            end
            local cur = cfg[key]
            if cur == "null" then
                return "null"
            end
            return cur
        end
    end

    local function int_opt(name, key, min, max)
        M[name] = function(v)
            if v ~= nil then
                local n = tonumber(v)
                if not n or n ~= floor(n) or n < min or n > max then
                    error(format("bad argument #1 to '%s' (expected integer between %d and %d)",
                                 name, min, max), 0)
                end
                cfg[key] = n
            end
            return cfg[key]
        end
    end

    bool_opt("encode_keep_buffer", "keep_buffer", true, false)
    bool_opt("encode_invalid_numbers", "encode_invalid", true, false)
    bool_opt("decode_invalid_numbers", "decode_invalid", true, false)
    bool_opt("encode_empty_table_as_object", "empty_table_as_object", true, false)
    bool_opt("decode_array_with_array_mt", "decode_array_mt", true, false)
    int_opt("encode_max_depth", "encode_max_depth", 1, 2147483647)
    int_opt("decode_max_depth", "decode_max_depth", 1, 2147483647)

    M.encode_number_precision = function(v)
        if v ~= nil then
            local n = tonumber(v)
            if not n or n ~= floor(n) or n < 1 or n > 16 then
                error("bad argument #1 to 'encode_number_precision' (expected integer between 1 and 16)", 0)
            end
            cfg.precision = n
            num_fmt = "%." .. n .. "g"
        end
        return cfg.precision
    end

    M.encode_escape_forward_slash = function(v)
        if v ~= nil then
            cfg.escape_slash = v == true or v == "on"
            escapes = escape_table(cfg.escape_slash)
        end
        return cfg.escape_slash
    end

    M.encode_sparse_array = function(convert, ratio, safe_len)
        if convert ~= nil then
            cfg.sparse_convert = convert == true or convert == "on"
        end
        if ratio ~= nil then
            cfg.sparse_ratio = tonumber(ratio)
        end
        if safe_len ~= nil then
            cfg.sparse_safe = tonumber(safe_len)
        end
        return cfg.sparse_convert, cfg.sparse_ratio, cfg.sparse_safe
    end

    -- encoding -------------------------------------------------------------------
    local function fail(msg)
        error(msg, 0)
    end

    local function encode_number(x)
        if x ~= x or x == huge or x == -huge then
            if cfg.encode_invalid == "null" then
                return "null"
            elseif not cfg.encode_invalid then
                fail("Cannot serialise number: must not be NaN or Inf")
            end
            if x ~= x then
                return "nan"
            end
            return x > 0 and "inf" or "-inf"
        end
        return c_format(num_fmt, x)
    end

    local function encode_string(s)
        return '"' .. s:gsub('[%c"\\/\127]', escapes) .. '"'
    end

    -- the table's array length when it encodes as an array, else nil (an object)
    local function array_length(t)
        local mt = getmetatable(t)
        if mt == array_mt or mt == empty_array_mt then
            return #t
        end
        local max, items = 0, 0
        for k in pairs(t) do
            if type(k) == "number" and k > 0 and k == floor(k) then
                if k > max then
                    max = k
                end
                items = items + 1
            else
                return nil
            end
        end
        if cfg.sparse_ratio > 0 and max > cfg.sparse_safe and max > items * cfg.sparse_ratio then
            if not cfg.sparse_convert then
                fail("Cannot serialise table: excessively sparse array")
            end
            return nil
        end
        return max
    end

    local encode_value

    local function encode_table(t, depth, out, n)
        depth = depth + 1
        if depth > cfg.encode_max_depth then
            fail(format("Cannot serialise, excessive nesting (%d)", depth))
        end
        local len = array_length(t)
        if len == 0 and next(t) == nil and t ~= empty_array then
            local mt = getmetatable(t)
            if mt ~= array_mt and mt ~= empty_array_mt and cfg.empty_table_as_object then
                out[n + 1] = "{}"
                return n + 1
            end
        end
        if len then
            n = n + 1
            out[n] = "["
            for i = 1, len do
                if i > 1 then
                    n = n + 1
                    out[n] = ","
                end
                n = encode_value(t[i], depth, out, n)
            end
            n = n + 1
            out[n] = "]"
            return n
        end
        n = n + 1
        out[n] = "{"
        local first = true
        for k, v in pairs(t) do
            local tk = type(k)
            local key
            if tk == "string" then
                key = encode_string(k)
            elseif tk == "number" then
                key = '"' .. encode_number(k) .. '"'
            else
                fail("Cannot serialise " .. tk .. ": table key must be a number or string")
            end
            if not first then
                n = n + 1
                out[n] = ","
            end
            first = false
            n = n + 1
            out[n] = key .. ":"
            n = encode_value(v, depth, out, n)
        end
        n = n + 1
        out[n] = "}"
        return n
    end

    encode_value = function(v, depth, out, n)
        local tv = type(v)
        if tv == "string" then
            out[n + 1] = encode_string(v)
        elseif tv == "number" then
            out[n + 1] = encode_number(v)
        elseif tv == "boolean" then
            out[n + 1] = v and "true" or "false"
        elseif tv == "nil" or v == null then
            out[n + 1] = "null"
        elseif tv == "table" then
            if v == empty_array then
                out[n + 1] = "[]"
            else
                return encode_table(v, depth, out, n)
            end
        else
            fail("Cannot serialise " .. tv .. ": type not supported")
        end
        return n + 1
    end

    M.encode = function(...)
        if select("#", ...) ~= 1 then
            error("bad argument #1 to 'encode' (expected 1 argument)", 0)
        end
        local out = {}
        local ok, err = pcall(encode_value, (...), 0, out, 0)
        if not ok then
            if safe then
                return nil, err
            end
            error(err, 0)
        end
        return concat(out)
    end

    -- decoding -------------------------------------------------------------------
    local decode_value

    local function decode_fail(s, pos, expected, found)
        fail(format("Expected %s but found %s at character %d", expected, found, pos))
    end

    -- what lua-cjson calls the token at pos, for error messages
    local function token_at(s, pos)
        local c = sub(s, pos, pos)
        if c == "" then
            return "T_END"
        end
        if token_name[c] then
            return token_name[c]
        end
        if c == '"' then
            return "T_STRING"
        end
        if find(c, "[%-%d]") then
            return "T_NUMBER"
        end
        if sub(s, pos, pos + 3) == "true" or sub(s, pos, pos + 4) == "false" then
            return "T_BOOLEAN"
        end
        if sub(s, pos, pos + 3) == "null" then
            return "T_NULL"
        end
        return "invalid token"
    end

    local function skip(s, pos)
        return find(s, "[^ \t\n\r]", pos) or #s + 1
    end

    local function utf8(cp)
        if cp < 0x80 then
            return char(cp)
        elseif cp < 0x800 then
            return char(bor(0xC0, rshift(cp, 6)), bor(0x80, band(cp, 0x3F)))
        elseif cp < 0x10000 then
            return char(bor(0xE0, rshift(cp, 12)), bor(0x80, band(rshift(cp, 6), 0x3F)),
                        bor(0x80, band(cp, 0x3F)))
        end
        return char(bor(0xF0, rshift(cp, 18)), bor(0x80, band(rshift(cp, 12), 0x3F)),
                    bor(0x80, band(rshift(cp, 6), 0x3F)), bor(0x80, band(cp, 0x3F)))
    end

    local simple_escape = { ['"'] = '"', ["\\"] = "\\", ["/"] = "/", b = "\b", f = "\f",
                            n = "\n", r = "\r", t = "\t" }

    local function decode_string(s, pos)
        local parts, n = {}, 0
        pos = pos + 1
        while true do
            local stop = find(s, '["\\]', pos)
            if not stop then
                decode_fail(s, #s + 1, "value", "unexpected end of string")
            end
            n = n + 1
            parts[n] = sub(s, pos, stop - 1)
            if byte(s, stop) == 34 then
                return concat(parts), stop + 1
            end
            local e = sub(s, stop + 1, stop + 1)
            if simple_escape[e] then
                n = n + 1
                parts[n] = simple_escape[e]
                pos = stop + 2
            elseif e == "u" then
                local hex = match(s, "^%x%x%x%x", stop + 2)
                local cp = hex and tonumber(hex, 16)
                local used = 6
                if cp and cp >= 0xD800 and cp <= 0xDBFF then
                    local low = match(s, "^\\u(%x%x%x%x)", stop + 6)
                    low = low and tonumber(low, 16)
                    if low and low >= 0xDC00 and low <= 0xDFFF then
                        cp = 0x10000 + lshift(cp - 0xD800, 10) + (low - 0xDC00)
                        used = 12
                    else
                        cp = nil
                    end
                elseif cp and cp >= 0xDC00 and cp <= 0xDFFF then
                    cp = nil
                end
                if not cp then
                    decode_fail(s, stop, "value", "invalid unicode escape code")
                end
                n = n + 1
                parts[n] = utf8(cp)
                pos = stop + used
            else
                decode_fail(s, stop, "value", "invalid escape code")
            end
        end
    end

    local function decode_number(s, pos)
        local text = match(s, "^-?0[xX]%x+", pos)
            or match(s, "^[%+%-]?[%d%.]+[eE][%+%-]?%d+", pos)
            or match(s, "^[%+%-]?[%d%.]+", pos)
        local v = text and tonumber(text)
        if not v then
            local word = match(s, "^[%+%-]?%a+", pos)
            local w = word and word:lower():gsub("^[%+%-]", "")
            if w == "inf" or w == "infinity" then
                text, v = word, sub(word, 1, 1) == "-" and -huge or huge
            elseif w == "nan" then
                text, v = word, 0 / 0
            end
        end
        if not v or (not cfg.decode_invalid and (v ~= v or v == huge or v == -huge
                                                 or find(text, "[xX]"))) then
            decode_fail(s, pos, "value", "invalid number")
        end
        return v, pos + #text
    end

    local function decode_container(s, pos, depth, close, is_object)
        depth = depth + 1
        if depth > cfg.decode_max_depth then
            fail(format("Found too many nested data structures (%d) at character %d", depth, pos))
        end
        local t, n = {}, 0
        pos = skip(s, pos + 1)
        if sub(s, pos, pos) == close then
            if not is_object and cfg.decode_array_mt then
                setmetatable(t, array_mt)
            end
            return t, pos + 1
        end
        while true do
            if is_object then
                if sub(s, pos, pos) ~= '"' then
                    decode_fail(s, pos, "object key string", token_at(s, pos))
                end
                local key
                key, pos = decode_string(s, pos)
                pos = skip(s, pos)
                if sub(s, pos, pos) ~= ":" then
                    decode_fail(s, pos, "colon", token_at(s, pos))
                end
                local v
                v, pos = decode_value(s, skip(s, pos + 1), depth)
                t[key] = v
            else
                local v
                v, pos = decode_value(s, pos, depth)
                n = n + 1
                t[n] = v
            end
            pos = skip(s, pos)
            local c = sub(s, pos, pos)
            if c == close then
                if not is_object and cfg.decode_array_mt then
                    setmetatable(t, array_mt)
                end
                return t, pos + 1
            elseif c ~= "," then
                decode_fail(s, pos, is_object and "comma or object end" or "comma or array end",
                            token_at(s, pos))
            end
            pos = skip(s, pos + 1)
        end
    end

    decode_value = function(s, pos, depth)
        local c = sub(s, pos, pos)
        if c == "{" then
            return decode_container(s, pos, depth, "}", true)
        elseif c == "[" then
            return decode_container(s, pos, depth, "]", false)
        elseif c == '"' then
            return decode_string(s, pos)
        elseif sub(s, pos, pos + 3) == "true" then
            return true, pos + 4
        elseif sub(s, pos, pos + 4) == "false" then
            return false, pos + 5
        elseif sub(s, pos, pos + 3) == "null" then
            return null, pos + 4
        elseif find(c, "^[%-%d%+]") then
            return decode_number(s, pos)
        end
        local word = match(s, "^%a+", pos)
        word = word and word:lower()
        if cfg.decode_invalid and (word == "inf" or word == "infinity" or word == "nan") then
            return decode_number(s, pos)
        end
        local found = token_at(s, pos)
        decode_fail(s, pos, "value", found == "T_NUMBER" and "invalid number" or found)
    end

    local function decode(s)
        local v, pos = decode_value(s, skip(s, 1), 0)
        pos = skip(s, pos)
        if pos <= #s then
            decode_fail(s, pos, "the end", token_at(s, pos))
        end
        return v
    end

    M.decode = function(...)
        if select("#", ...) ~= 1 then
            error("bad argument #1 to 'decode' (expected 1 argument)", 0)
        end
        local s = ...
        if type(s) ~= "string" then
            if type(s) == "number" then
                s = tostring(s)
            else
                error("bad argument #1 to 'decode' (string expected, got " .. type(s) .. ")", 0)
            end
        end
        local ok, v = pcall(decode, s)
        if not ok then
            if safe then
                return nil, v
            end
            error(v, 0)
        end
        return v
    end

    M.new = function()
        return new(safe)
    end
    M.null = null
    M.empty_array = empty_array
    M.array_mt = array_mt
    M.empty_array_mt = empty_array_mt
    M._NAME = safe and "cjson.safe" or "cjson"
    M._VERSION = "2.1.0"
    return M
end

-- require passes the module name: "cjson.safe" returns nil and the message instead of raising
return new((...) == "cjson.safe")
