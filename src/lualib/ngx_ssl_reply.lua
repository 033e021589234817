-- stream-lua-rs built-in `ngx.ssl.rs_reply` (ours, not a public API): what ngx.ssl and
-- ngx.ssl.clienthello share, looking their exports up once and turning an export's
-- outcome into Lua results.
--
-- Every TLS export reports failure the same way: a status (or a byte count, or NULL) plus a
-- message in the shared `char **err` slot, which the callers pass as `reply.slot`.
local ffi = require "ffi"
local base = require "resty.core.base"
local C = ffi.C
local to_str, with_gc = ffi.string, ffi.gc
local error, pcall, pairs = error, pcall, pairs

local OK, DECLINED = base.FFI_OK, base.FFI_DECLINED

local reply = { slot = base.get_errmsg_ptr() }
local slot = reply.slot

-- `wanted` with each export name (`prefix` .. value) replaced by that export, or a load
-- error naming `module` (a build without stream SSL has none of them); called from a
-- module's main chunk, so the error points at its require
function reply.exports(module, prefix, wanted)
    local fns = {}
    for key, short in pairs(wanted) do
        local found, fn = pcall(function()
            return C[prefix .. short]
        end)
        if not found then
            error(module .. " needs an nginx built with the stream SSL module", 3)
        end
        fns[key] = fn
    end
    return fns
end

-- the message the last failing export left behind
function reply.err()
    return to_str(slot[0])
end

-- the usual failure results: nil and that message
local function failed()
    return nil, to_str(slot[0])
end
reply.failed = failed

-- status OK: what `read(a, b)` gives; any other status is a failure
function reply.ok(status, read, a, b)
    if status == OK then
        return read(a, b)
    end
    return failed()
end

-- as reply.ok, but DECLINED (nothing to report) is a lone nil
function reply.maybe(status, read, a, b)
    if status == DECLINED then
        return nil
    end
    return reply.ok(status, read, a, b)
end

-- a positive byte count is that many bytes of `buf`; else a failure
function reply.bytes(count, buf)
    if count > 0 then
        return to_str(buf, count)
    end
    return failed()
end

-- a non-NULL pointer is a new C object Lua frees with `free`; NULL is a failure
function reply.object(ptr, free)
    if ptr ~= nil then
        return with_gc(ptr, free)
    end
    return failed()
end

-- the `read` of a call whose only result is success
function reply.yes()
    return true
end

return reply
