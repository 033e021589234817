-- stream-lua-rs built-in stand-in for a lua-resty-core part module (resty.core.var, .hash,
-- .uri, ...): the APIs it would install on `ngx` are already there, built in. (The real
-- parts name their version field `version` or `_VERSION`; both are here.)
local version = require("resty.core.base").version
return { version = version, _VERSION = version }
