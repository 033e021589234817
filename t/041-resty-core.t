# require "resty.core" and its parts work without an installed lua-resty-core (built-in
# stand-ins), and resty.core.base offers lua-resty-core 0.1.31's helpers. The same blocks pass
# with a real lua-resty-core (TEST_NGINX_RESTY_CORE, see tests/tnginx/README.md).
use Test::Nginx::Socket::Lua::Stream;

repeat_each(2);

plan tests => repeat_each() * (blocks() * 2);

run_tests();

__DATA__

=== TEST 1: resty.core and its stream parts load by name
--- stream_server_config
    content_by_lua_block {
        ngx.say("core: ", require("resty.core").version)
        for _, name in ipairs({"base", "var", "ctx", "time", "worker", "hash", "base64",
                               "uri", "exit", "misc", "utils", "request"}) do
            local m = require("resty.core." .. name)
            ngx.say(name, ": ", type(m), " ", m.version or m._VERSION)
        end
        ngx.say("ngx_lua_version: ", ngx.config.ngx_lua_version)
    }
--- stream_response
core: 0.1.31
base: table 0.1.31
var: table 0.1.31
ctx: table 0.1.31
time: table 0.1.31
worker: table 0.1.31
hash: table 0.1.31
base64: table 0.1.31
uri: table 0.1.31
exit: table 0.1.31
misc: table 0.1.31
utils: table 0.1.31
request: table 0.1.31
ngx_lua_version: 16
--- no_error_log
[error]



=== TEST 2: resty.core in init_by_lua; the APIs it covers keep working
--- stream_config
    init_by_lua_block {
        require "resty.core"
        package.loaded.init_ok = ngx.md5("") .. " " .. ngx.escape_uri("a b")
    }
--- stream_server_config
    content_by_lua_block {
        ngx.say(package.loaded.init_ok)
        ngx.ctx.x = 1
        ngx.say(ngx.ctx.x, " ", ngx.var.server_port ~= nil, " ", type(ngx.now()), " ",
                ngx.worker.count(), " ", ngx.decode_base64(ngx.encode_base64("ok")))
    }
--- stream_response
d41d8cd98f00b204e9800998ecf8427e a%20b
1 true number 1 ok
--- no_error_log
[error]



=== TEST 3: resty.core.base constants and helpers
--- stream_server_config
    content_by_lua_block {
        local base = require "resty.core.base"
        ngx.say(base.FFI_OK, " ", base.FFI_ERROR, " ", base.FFI_AGAIN, " ", base.FFI_BUSY, " ",
                base.FFI_DONE, " ", base.FFI_DECLINED, " ", base.FFI_NO_REQ_CTX, " ",
                base.FFI_BAD_CONTEXT)
        ngx.say(base.get_request() ~= nil)
        local buf = base.get_string_buf(16)
        ngx.say(tostring(require("ffi").typeof(buf)):match("char") ~= nil,
                " ", base.get_string_buf(16) == buf, " ", base.get_string_buf(16, true) ~= buf,
                " ", base.get_string_buf_size())
        local p = base.get_size_ptr()
        p[0] = 42
        ngx.say(tonumber(base.get_size_ptr()[0]), " ", base.get_errmsg_ptr() ~= nil)
        local t = base.new_tab(4, 4)
        t.a, t[1] = 1, 2
        base.clear_tab(t)
        ngx.say(next(t))
        local refs = {}
        local r1 = base.ref_in_table(refs, "x")
        local r2 = base.ref_in_table(refs, "y")
        ngx.say(r1, " ", r2, " ", base.ref_in_table(refs, nil))
        ngx.say(pcall(base.allows_subsystem, "stream"))
        ngx.say(pcall(base.allows_subsystem, "http"))
    }
--- stream_response_like chomp
^0 -1 -2 -3 -4 -5 -100 -101
true
true true true 4096
42 true
nil
1 2 -1
true
false.*unsupported subsystem: stream
$
--- no_error_log
[error]



=== TEST 4: set_string_buf_size
--- stream_server_config
    content_by_lua_block {
        local base = require "resty.core.base"
        base.set_string_buf_size(0)
        ngx.say(base.get_string_buf_size())
        base.set_string_buf_size(100.5)
        ngx.say(base.get_string_buf_size())
        base.set_string_buf_size(4096)
    }
--- stream_response
4096
101
--- no_error_log
[error]



=== TEST 5: no request outside sessions; ngx_str_t and the request type are declared
--- stream_config
    init_by_lua_block {
        local base = require "resty.core.base"
        local ffi = require "ffi"
        package.loaded.init_req = tostring(base.get_request() == nil) .. " "
            .. tostring(pcall(ffi.typeof, "ngx_str_t")) .. " "
            .. tostring(pcall(ffi.typeof, "ngx_stream_lua_request_t *")) .. " "
            .. tostring(pcall(ffi.typeof, "ngx_stream_lua_ffi_str_t"))
    }
--- stream_server_config
    content_by_lua_block {
        ngx.say(package.loaded.init_req)
    }
--- stream_response
true true true true
--- no_error_log
[error]



=== TEST 6: misc exports: the session status (0 while it runs) and env values for os.getenv at init
--- main_config
    env STRINGS_TEST_ENV=hello;
--- stream_config
    init_by_lua_block {
        local ffi = require "ffi"
        ffi.cdef[[
        int ngx_stream_lua_ffi_get_conf_env(const unsigned char *name,
            unsigned char **env_buf, size_t *name_len);
        ]]
        local buf = ffi.new("unsigned char *[1]")
        local len = ffi.new("size_t[1]")
        local rc = ffi.C.ngx_stream_lua_ffi_get_conf_env("STRINGS_TEST_ENV", buf, len)
        local rc2 = ffi.C.ngx_stream_lua_ffi_get_conf_env("NO_SUCH_ENV_X", buf, len)
        package.loaded.env = rc .. " " .. ffi.string(buf[0] + len[0] + 1) .. " " .. rc2
    }
--- stream_server_config
    content_by_lua_block {
        local ffi = require "ffi"
        ffi.cdef[[
        int ngx_stream_lua_ffi_get_resp_status(ngx_stream_lua_request_t *r);
        ]]
        local base = require "resty.core.base"
        ngx.say(package.loaded.env)
        ngx.say(ffi.C.ngx_stream_lua_ffi_get_resp_status(base.get_request()))
    }
--- stream_response
0 hello -5
0
--- no_error_log
[error]



=== TEST 7: resty.core.time's monotonic clock
--- stream_server_config
    content_by_lua_block {
        local time = require "resty.core.time"
        local ms = time.monotonic_msec()
        local t = time.monotonic_time()
        ngx.say(type(ms), " ", ms > 0, " ", math.abs(t * 1000 - ms) < 1000)
    }
--- stream_response
number true true
--- no_error_log
[error]



=== TEST 8: ngx.status reads the session status; os.getenv sees env directives in init_by_lua
--- main_config
    env STRINGS_TEST_ENV2=from-conf;
--- stream_config
    init_by_lua_block {
        package.loaded.env2 = tostring(os.getenv("STRINGS_TEST_ENV2")) .. " "
            .. tostring(os.getenv("NO_SUCH_ENV_X")) .. " " .. type(os.getenv("PATH"))
    }
--- stream_server_config
    content_by_lua_block {
        ngx.say(package.loaded.env2)
        ngx.say("status: ", ngx.status)
    }
    log_by_lua_block {
        ngx.log(ngx.WARN, "log status: ", ngx.status)
    }
--- stream_response
from-conf nil string
status: 0
--- error_log
log status: 200



=== TEST 9: require "thread.exdata": the running session's request pointer (nil outside one), read-only
--- stream_config
    init_by_lua_block {
        local exdata = require "thread.exdata"
        init_req = tostring(exdata())
    }
--- stream_server_config
    content_by_lua_block {
        local ffi = require "ffi"
        local exdata = require "thread.exdata"
        local r = exdata()
        ngx.say("init: ", init_req, ", content: ", type(r), " ", r ~= nil)
        local t = ngx.thread.spawn(function()
            return exdata() == r
        end)
        ngx.say("same in a light thread: ", select(2, ngx.thread.wait(t)))
        ngx.say("same as resty.core.base's: ", require("resty.core.base").get_request() == r)
        ngx.say(pcall(exdata, r))
    }
--- stream_response_like chomp
^init: nil, content: cdata true
same in a light thread: true
same as resty.core.base's: true
false.*setting the thread's exdata is not supported
$
--- no_error_log
[error]



=== TEST 10: a lua_package_path without ;; has no resty.core: nginx does not start (upstream's [alert])
--- stream_config
    lua_package_path '/nowhere/?.lua;';
--- stream_server_config
    content_by_lua_block {
        ngx.say("ok")
    }
--- must_die
--- skip_eval: 2: $ENV{TEST_NGINX_RESTY_CORE}
--- error_log eval
[
qr/\[alert\] .*? failed to load the 'resty\.core' module \(https:\/\/github\.com\/openresty\/lua-resty-core\); ensure you are using an OpenResty release from https:\/\/openresty\.org\/en\/download\.html \(reason: module 'resty\.core' not found:$/,
"\tno file '/nowhere/resty/core.lua'",
]



=== TEST 11: with lua_code_cache off a session's VM takes the main VM's package.path: no resty.core, an [error] per session
--- stream_config
    init_by_lua_block {
        -- no resty/core.lua there, and no ;; for the default entries
        package.path = "/nonexistent/?.lua"
    }
    lua_code_cache off;
--- stream_server_config
    content_by_lua_block { ngx.print("content ran") }
--- stream_response
--- error_log eval
qr{\[error\] .*? failed to load the 'resty\.core' module \(https://github\.com/openresty/lua-resty-core\); .*? \(reason: module 'resty\.core' not found:}



=== TEST 12: with lua_code_cache off a session's VM sees the paths init_by_lua set in the main VM
--- stream_config
    lua_code_cache off;
    init_by_lua_block {
        package.path = ngx.config.prefix() .. "html/?.lua;" .. package.path
    }
--- stream_server_config
    content_by_lua_block {
        ngx.say(require("frominit").where, " ", package.path:find("html/?.lua;", 1, true) ~= nil)
    }
--- user_files
>>> frominit.lua
return { where = "found" }
--- stream_response
found true
--- no_error_log
[error]



=== TEST 13: the global exdata is thread.exdata, as OpenResty's LuaJIT registers it
--- stream_server_config
    content_by_lua_block {
        local ffi = require "ffi"
        ngx.say(exdata == require("thread.exdata"), " ",
                string.format("%#x", tonumber(ffi.cast("uintptr_t", exdata()))) ~= "0")
    }
--- stream_response
true true
--- no_error_log
[error]



=== TEST 14: FFI code may declare the exported functions and types again (as lua-resty-core's modules do); the layouts agree
--- stream_server_config
    content_by_lua_block {
        local ffi = require "ffi"
        -- declared again, spelled differently: accepted, the built-in declarations stay
        ffi.cdef[[
            typedef struct ngx_stream_lua_request_s ngx_stream_lua_request_t;
            typedef struct { size_t len; const unsigned char *data; } ngx_str_t;
            struct ngx_stream_lua_sema_s;
            typedef struct ngx_stream_lua_sema_s ngx_stream_lua_sema_t;
            int ngx_stream_lua_ffi_sema_count(ngx_stream_lua_sema_t *s);
            void ngx_stream_lua_ffi_md5(const unsigned char *in, size_t n,
                                        unsigned char *hex);
            size_t ngx_stream_lua_ffi_shdict_capacity(void *z);
        ]]
        local hex = ffi.new("unsigned char[32]")
        ffi.C.ngx_stream_lua_ffi_md5("abc", 3, hex)
        ngx.say("md5: ", ffi.string(hex, 32))

        -- the compiled-regex struct as the exported ABI lays it out
        ffi.cdef[[
            typedef struct {
                void *pool; unsigned char *names; int name_count; int name_size;
                int ncaptures; int *captures; void *re; void *re_sd;
                void *replace; const char *pattern;
            } probe_regex_t;
        ]]
        local same = ffi.sizeof("ngx_stream_lua_regex_t") == ffi.sizeof("probe_regex_t")
        for _, f in ipairs { { "ncaptures", "ncaptures" }, { "captures", "captures" },
                             { "replace", "replace" }, { "pattern", "pattern" } } do
            same = same and ffi.offsetof("ngx_stream_lua_regex_t", f[1])
                            == ffi.offsetof("probe_regex_t", f[2])
        end
        ngx.say("regex layout: ", same)
        ngx.say("ngx_str_t: ", ffi.sizeof("ngx_str_t"), " ",
                ffi.offsetof("ngx_str_t", "data"))
    }
--- stream_response
md5: 900150983cd24fb0d6963f7d28e17f72
regex layout: true
ngx_str_t: 16 8
--- no_error_log
[error]
