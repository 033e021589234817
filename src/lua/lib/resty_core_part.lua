-- stream-lua-rs built-in stand-in for a lua-resty-core part module (resty.core.var, .hash,
-- .uri, ...): the APIs it would install on `ngx` are already there, built in.
return { version = require("resty.core.base").version }
