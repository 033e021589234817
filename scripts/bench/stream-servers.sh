# Sourced by issue14.sh and op-cost.sh: the stream servers of issue 14's per-operation rows,
# defined once, so that op-cost.sh counts exactly the operations issue14.sh times.

# stream_servers P BACKEND: the server {} blocks (for a stream {} block) of the rows
#   conn       P    a new connection per request, ngx.say
#   keepalive  P+1  a line in, a line out over ngx.req.socket
#   echo       P+2  4 KB messages over ngx.req.socket, receiveany
#   proxy      P+3  the request line relayed over a pooled cosocket to 127.0.0.1:BACKEND
#   sleep      P+6  10 x ngx.sleep(0.01), then a line
# (P+4 and P+5 are left to the caller: issue14.sh's proxy_pass and loop servers.)
stream_servers() {
    local p=$1 backend=$2
    cat <<SERVERS
    # conn: a new connection per request
    server { listen 127.0.0.1:$p backlog=4096; content_by_lua_block { ngx.say("hello, world") } }
    # keepalive: a line in, a line out
    server {
        listen 127.0.0.1:$((p + 1));
        content_by_lua_block {
            local sock = ngx.req.socket()
            while true do
                local line = sock:receive()
                if not line then return end
                sock:send("pong\n")
            end
        }
    }
    # echo: 4 KB messages
    server {
        listen 127.0.0.1:$((p + 2));
        content_by_lua_block {
            local sock = ngx.req.socket()
            while true do
                local data = sock:receiveany(65536)
                if not data then return end
                sock:send(data)
            end
        }
    }
    # proxy: the request line relayed over a pooled cosocket
    server {
        listen 127.0.0.1:$((p + 3)) backlog=4096;
        content_by_lua_block {
            local line = ngx.req.socket():receive()
            if not line then return end
            local up = ngx.socket.tcp()
            local ok, err = up:connect("127.0.0.1", $backend)
            if not ok then ngx.log(ngx.ERR, "connect: ", err) return end
            up:send(line .. "\n")
            local answer = up:receive()
            if not answer then return end
            up:setkeepalive(60000, 100)
            ngx.say(answer)
        }
    }
    # sleep: 10 x ngx.sleep(0.01), then a line
    server {
        listen 127.0.0.1:$((p + 6)) backlog=4096;
        content_by_lua_block {
            for _ = 1, 10 do ngx.sleep(0.01) end
            ngx.say("ok")
        }
    }
SERVERS
}

# free_ports FIRST SPAN: prints a base port P, FIRST + (this shell's pid % 600) * 20 or the
# first free one 20, 40, ... above it, with P..P+SPAN all free
free_ports() {
    # below the ephemeral range (32768 on): a client's port cannot take one
    local p=$(($1 + ($$ % 600) * 20))
    # (another builder's benchmark may hold some: all of them must be free)
    while ss -Htan | awk '{ n = split($4, a, ":"); print a[n] }' | awk -v p="$p" -v s="$2" '$1 >= p && $1 <= p + s { f = 1 } END { exit !f }'; do
        p=$((p + 20))
    done
    echo "$p"
}

# other_lua_path OTHER: the default lua_package_path of OTHER.so (OTHER_LUA_PATH unset): the
# lua-resty-core and lrucache of the workshop tree OTHER.so sits in, if present; else empty
other_lua_path() {
    local v16
    v16=$(dirname "$1")/../../src
    if [ -d "$v16/lua-resty-core/lib" ]; then
        echo "$(realpath "$v16/lua-resty-core/lib")/?.lua;$(realpath "$v16/lua-resty-lrucache/lib")/?.lua"
    fi
}
