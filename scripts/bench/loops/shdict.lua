-- ngx.shared.DICT (lua_shared_dict bench 64m): get/set of short strings and numbers over a
-- working set of 1000 keys, incr, and the list methods.
local bench = ...
local dict = ngx.shared.bench
local keys = {}
for i = 1, 1000 do keys[i] = "key:" .. i end
local i = 0
local function next_key()
    i = i % 1000 + 1
    return keys[i]
end
for _, k in ipairs(keys) do dict:set(k, "value of " .. k) end
bench("shdict:get (string, hit)", function()
    return dict:get(next_key())
end)
bench("shdict:get (miss)", function()
    return dict:get("missing")
end)
bench("shdict:set (string, same size)", function()
    return dict:set(next_key(), "value of key:xxxx")
end)
bench("shdict:set (number)", function()
    return dict:set(next_key(), i)
end)
bench("shdict:incr", function()
    return dict:incr("counter", 1, 0)
end)
bench("shdict:get+set (ttl 60)", function()
    local k = next_key()
    dict:get(k)
    return dict:set(k, "value", 60)
end)
bench("shdict:rpush+lpop", function()
    dict:rpush("queue", "item")
    return dict:lpop("queue")
end)
