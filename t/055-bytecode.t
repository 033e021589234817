# *_by_lua_file may name a file of LuaJIT bytecode (string.dump, `luajit -b`), stripped or
# not, as in stream-lua v0.0.16 on OpenResty's LuaJIT (upstream t/081-bytecode.t): the loader
# sees the "\27LJ" header and loads it as it is. The files are written by init_by_lua, which
# runs before any handler loads its file.

use Test::Nginx::Socket::Lua::Stream;

repeat_each(2);

plan tests => repeat_each() * (blocks() * 2);

our $HtmlDir = html_dir;

run_tests();

__DATA__

=== TEST 1: content_by_lua_file with bytecode (not stripped), globals shared as for source
--- stream_config
    init_by_lua_block {
        local f = assert(loadstring("local a = a and a + 1 or 1 ngx.say('a = ', a)", "=code"))
        local out = assert(io.open(ngx.config.prefix() .. "html/a.luac", "w"))
        out:write(string.dump(f))
        out:close()
    }
--- stream_server_config
    content_by_lua_file html/a.luac;
--- no_error_log
[error]
--- stream_response
a = 1



=== TEST 2: stripped bytecode
--- stream_config
    init_by_lua_block {
        local f = assert(loadstring("ngx.say('stripped: ', select('#', ...))", "=code"))
        local out = assert(io.open(ngx.config.prefix() .. "html/s.luac", "w"))
        out:write(string.dump(f, true))
        out:close()
    }
--- stream_server_config
    content_by_lua_file html/s.luac;
--- stream_response
stripped: 0
--- no_error_log
[error]



=== TEST 3: an error in unstripped bytecode names the chunk it was dumped from
--- stream_config
    init_by_lua_block {
        local f = assert(loadstring("\nerror('boom')", "=dumped_chunk"))
        local out = assert(io.open(ngx.config.prefix() .. "html/e.luac", "w"))
        out:write(string.dump(f))
        out:close()
    }
--- stream_server_config
    content_by_lua_file html/e.luac;
--- stream_response
--- error_log
lua entry thread aborted: runtime error: dumped_chunk:2: boom



=== TEST 4: preread_by_lua_file and log_by_lua_file with bytecode
--- stream_config
    init_by_lua_block {
        local function dump(name, src)
            local out = assert(io.open(ngx.config.prefix() .. "html/" .. name, "w"))
            out:write(string.dump(assert(loadstring(src)), true))
            out:close()
        end
        dump("p.luac", "ngx.ctx.seen = 'preread'")
        dump("l.luac", "ngx.log(ngx.WARN, 'log phase from bytecode, ctx: ', ngx.ctx.seen)")
    }
--- stream_server_config
    preread_by_lua_file html/p.luac;
    content_by_lua_block { ngx.say(ngx.ctx.seen) }
    log_by_lua_file html/l.luac;
--- stream_response
preread
--- error_log
log phase from bytecode, ctx: preread



=== TEST 5: bytecode made by the system's luajit binary (luajit -b), when there is one
--- stream_config
    init_by_lua_block {
        local prefix = ngx.config.prefix()
        local src = assert(io.open(prefix .. "html/b.lua", "w"))
        src:write("ngx.say('from luajit -b: ', 6 * 7)\n")
        src:close()
        local ok = os.execute("luajit -b " .. prefix .. "html/b.lua " .. prefix .. "html/b.luac 2>/dev/null")
        if ok ~= 0 then
            -- no luajit binary on this machine: the block then checks our own dump
            local out = assert(io.open(prefix .. "html/b.luac", "w"))
            out:write(string.dump(assert(loadfile(prefix .. "html/b.lua")), true))
            out:close()
        end
    }
--- stream_server_config
    content_by_lua_file html/b.luac;
--- stream_response
from luajit -b: 42
--- no_error_log
[error]



=== TEST 6: a damaged bytecode file fails to load with the loader's reason
--- stream_config
    init_by_lua_block {
        local out = assert(io.open(ngx.config.prefix() .. "html/bad.luac", "w"))
        out:write("\27LJ\2 this is not bytecode")
        out:close()
    }
--- stream_server_config
    content_by_lua_file html/bad.luac;
--- stream_response
--- error_log eval
qr/\[error\] .*? failed to load external Lua file ".*?html\/bad\.luac": .*?bytecode/
