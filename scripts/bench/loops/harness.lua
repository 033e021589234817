-- Runs one loop suite inside nginx: every `bench(name, f)` of the suite warms up, then calls
-- f N times and prints ops/s; the LuaJIT trace aborts seen meanwhile are listed at the end
-- (our FFI calls must compile: an abort inside the built-in layer shows its source line).
-- With `only` set, every other bench of the suite is skipped, and with `exit_after` the
-- process exits when done (insns.sh counts one bench per process under callgrind).
return function(suite_file, N, only, exit_after)
    local aborts, seen, traces = {}, {}, 0
    local function on_trace(what, tr, func, pc, otr, oex)
        if what == "stop" then
            traces = traces + 1
        elseif what == "abort" then
            local info = require("jit.util").funcinfo(func, pc)
            local key = tostring(info.loc) .. " (error " .. tostring(otr) .. ", "
                        .. tostring(oex) .. ")"
            if not seen[key] then
                seen[key] = true
                aborts[#aborts + 1] = key
            end
        end
    end
    jit.attach(on_trace, "trace")
    local function bench(name, f)
        if only and name ~= only then return end
        for _ = 1, 2000 do f() end
        ngx.update_time()
        local t0 = ngx.now()
        for _ = 1, N do f() end
        ngx.update_time()
        local dt = ngx.now() - t0
        ngx.say(string.format("%-40s %12.0f ops/s", name, N / (dt > 0 and dt or 1e-3)))
    end
    assert(loadfile(suite_file))(bench)
    jit.attach(on_trace)
    ngx.say("traces compiled: ", traces, ", trace aborts: ", #aborts)
    for _, a in ipairs(aborts) do ngx.say("  ", a) end
    if exit_after then
        ngx.flush(true)
        os.exit(0)
    end
end
