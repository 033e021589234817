-- stream-lua-rs built-in Lua layer: ngx.socket.connect, a TCP cosocket connected in one call.
local tcp = ngx.socket.tcp

ngx.socket.connect = function(...)
    local sock = tcp()
    local ok, err = sock:connect(...)
    if not ok then
        return nil, err
    end
    return sock
end
