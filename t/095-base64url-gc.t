# Fixed; was a module bug found by the API argument driver (t/081, scripts/gen-api-driver.py): the worker
# died with SIGSEGV now and then (one driver run in 3 to 12), in ngx_encode_base64_internal
# or later in LuaJIT's gc_sweep / lj_alloc_free (heap corruption). Valgrind mode on the
# driver's timer block names the cause: InvalidRead/InvalidWrite of size 8 in
# ngx_decode_base64_internal <- ngx_decode_base64url <- lj_vm_ffi_call, on "a block of size
# 48 free'd" by gc_sweep, allocated by ffi.new during require.
#
# src/lualib/ngx_base64.lua: `local strs = ffi.new("ngx_str_t[2]")` (48 bytes with its
# header) is used only to make `from, into = strs + 0, strs + 1`; those pointer cdata do not
# keep the array alive, and nothing else refers to it, so the first full GC cycle frees it
# and every later encode_base64url/decode_base64url reads and writes freed memory (whatever
# object the allocator put there next). A second, smaller instance of the same mistake:
# `into.data = scratch(room)` for inputs beyond the scratch size is a fresh cdata that only a
# struct field points to. Fix: keep the ngx_str_t array itself referenced by the functions
# (index strs[0]/strs[1]), and keep the output buffer in a local until ffi.string copied it.
#
# TEST 1 makes the use-after-free visible without a crash: after a full collection it fills
# the allocator with fresh ngx_str_t[2] arrays, one of which takes the freed block's place,
# and checks that encode_base64url did not write into any of them. TEST 2 is the crash.
# Checked: with that fix loaded over the module (package.loaded["ngx.base64"] = a copy whose
# functions index the array and keep the buffer in a local) both blocks pass, 3 runs of 3.

use Test::Nginx::Socket::Lua::Stream;

repeat_each(1);
master_on();
workers(1);

plan tests => repeat_each() * (blocks() * 2);

run_tests();

__DATA__

=== TEST 1: encode_base64url writes only into its own memory after a full GC cycle
--- stream_server_config
    content_by_lua_block {
        local ffi = require "ffi"
        local b64 = require "ngx.base64"
        assert(b64.encode_base64url("abc") == "YWJj")
        collectgarbage()
        collectgarbage()
        local mine = {}
        for i = 1, 2000 do
            local a = ffi.new("ngx_str_t[2]")
            a[0].len, a[1].len = 7, 7
            mine[i] = a
        end
        local r = b64.encode_base64url("abcdef")
        local hit = 0
        for i = 1, #mine do
            if mine[i][0].len ~= 7 or mine[i][1].len ~= 7 then hit = hit + 1 end
        end
        ngx.say("result: ", r, ", arrays written by encode_base64url: ", hit)
    }
--- stream_response
result: YWJjZGVm, arrays written by encode_base64url: 0
--- no_error_log
exited on signal



=== TEST 2: encode/decode of 1 MB strings (hostile arguments from the driver) never kill the worker
--- stream_server_config
    content_by_lua_block {
        local b64 = require "ngx.base64"
        local MB = string.rep("x", 1024 * 1024)
        for round = 1, 40 do
            for _, f in ipairs({ b64.encode_base64url, b64.decode_base64url }) do
                for pos = 1, 3 do
                    local args = { "a", 1, "b" }
                    args[pos] = MB
                    pcall(f, unpack(args, 1, pos))
                end
            end
        end
        collectgarbage()
        ngx.say("done")
    }
--- stream_response
done
--- no_error_log
exited on signal
