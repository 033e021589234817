-- stream-lua-rs built-in `resty.core`: our built-in layer already provides what
-- lua-resty-core installs on `ngx`, so this only loads the part modules by name (a real
-- lua-resty-core on lua_package_path is found first and replaces all of this).
local base = require "resty.core.base"

-- the stream parts of lua-resty-core 0.1.31's resty.core
local parts = {
    "resty.core.regex",
    "resty.core.var",
    "resty.core.worker",
    "resty.core.time",
    "resty.core.hash",
    "resty.core.uri",
    "resty.core.exit",
    "resty.core.base64",
    "resty.core.request",
    "resty.core.misc",
    "resty.core.ctx",
    "resty.core.shdict",
}

for _, name in ipairs(parts) do
    require(name)
end

return { version = base.version }
