# Shell helpers (sourced) for the packaging checks: run a throwaway nginx and talk to it.

# A free TCP port on 127.0.0.1.
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# tcp_answer PORT: connects, sends one line, prints what the server sends until it closes.
tcp_answer() {
    python3 - "$1" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall(b"ping\n")
data = b""
while True:
    chunk = s.recv(4096)
    if not chunk:
        break
    data += chunk
print(data.decode(errors="replace"), end="")
PY
}

# check NAME OK?: counts and prints one packaging check.
checks_passed=0
checks_failed=0
check() {
    local name=$1
    shift
    if "$@"; then
        checks_passed=$((checks_passed + 1))
        echo "check $name ... ok"
    else
        checks_failed=$((checks_failed + 1))
        echo "check $name ... FAILED"
    fi
}

# Prints the closing line; returns non-zero when a check failed.
checks_summary() {
    echo "$1: $checks_passed passed, $checks_failed failed"
    [ "$checks_failed" -eq 0 ]
}

# wait_for_pid FILE: waits (up to 5 s) until nginx has written its pid file.
wait_for_pid() {
    for _ in $(seq 50); do
        [ -s "$1" ] && return 0
        sleep 0.1
    done
    return 1
}

# lua_server_conf PORT LUA [STREAM_LINES]: prints the rest of an nginx.conf after the module
# lines: pid and error log under the prefix's logs/, and a stream server on 127.0.0.1:PORT
# whose content_by_lua_block is LUA (STREAM_LINES go at the stream {} level).
lua_server_conf() {
    cat <<CONF
pid logs/nginx.pid;
error_log logs/error.log info;
events { worker_connections 64; }
stream {
    ${3:-}
    server {
        listen 127.0.0.1:$1;
        content_by_lua_block {
$2
        }
    }
}
CONF
}
