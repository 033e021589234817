#!/usr/bin/env bash
# The worker's cost of one operation of issue14.sh's stream rows, counted by callgrind for
# another engine and ours on the same nginx: instructions, libc allocations (malloc, calloc,
# realloc, posix_memalign; and free), nginx pool allocations (ngx_palloc, ngx_pnalloc,
# ngx_pcalloc) and calls of the Lua C API (lua_*, luaL_*), per operation. Each row runs twice
# in its own nginx process under callgrind (N1 and N2 operations after the same warm-up):
# (total(N2) - total(N1)) / (N2 - N1) is one operation, start-up and warm-up cancelled, from
# accept to close for the per-connection rows.
# Rows (ROWS= to pick): conn (a new connection, ngx.say), sleep (a new connection, 10 x
# ngx.sleep(0.01), ngx.say: one connection of issue14.sh's sleep row, ~0.1 s of wall time
# each), keepalive (one line request/response on an open connection), echo (one 4 KB message,
# receiveany), proxy (a new connection relayed over a pooled cosocket), burst (N connections of
# the sleep row at once, as issue14.sh's sleep row: one connection's share; N1 200 and N2 2200
# give the cost per connection of 2,000 at once). The servers are
# issue14.sh's own (scripts/bench/stream-servers.sh).
# Usage: scripts/bench/op-cost.sh OTHER.so [NGINX] [N1] [N2]
#   as issue14.sh: OTHER_LUA_PATH, OURS; KEEP=<dir> keeps the callgrind outputs there;
#   SIDES=ours (or other) counts one engine only.
set -euo pipefail
cd "$(dirname "$0")/../.."
usage="usage: $0 OTHER.so [NGINX] [N1] [N2]"
OTHER=$(realpath "${1:?$usage}")
NGINX=$(realpath "${2:-build/nginx/objs/nginx}")
N1=${3:-200}
N2=${4:-1200}
ROWS=${ROWS:-conn sleep keepalive echo proxy}
command -v valgrind >/dev/null || { echo "op-cost.sh: valgrind is needed" >&2; exit 2; }
# the stream servers of the per-operation rows (shared with issue14.sh), free_ports, other_lua_path
. scripts/bench/stream-servers.sh
[ -n "${OTHER_LUA_PATH+x}" ] || OTHER_LUA_PATH=$(other_lua_path "$OTHER")
if [ -z "${OURS:-}" ]; then
    cargo build -q --release
    OURS=target/release/libngx_stream_lua_module.so
fi
cargo build -q --release --manifest-path scripts/bench/loadgen/Cargo.toml
LG=$PWD/scripts/bench/loadgen/target/release/loadgen
CG=$PWD/scripts/bench/cgcalls.py

tmp=$(mktemp -d)
cp "$OTHER" "$tmp/other.so"
cp "$OURS" "$tmp/ours.so"
vg= backend=
cleanup() {
    [ -z "$vg" ] || kill -TERM "$vg" 2>/dev/null || true
    [ -z "$backend" ] || kill "$backend" 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT
# ports: P..P+6 (PORT= to choose), backend P+11
P=${PORT:-$(free_ports 20010 11)}
"$LG" echo-server "127.0.0.1:$((P + 11))" & backend=$!
for _ in $(seq 100); do ss -ltn | grep ":$((P + 11)) " >/dev/null && break; sleep 0.05; done
kill -0 "$backend" 2>/dev/null || { echo "op-cost.sh: the echo backend did not start" >&2; exit 1; }

conf() { # side so lua_path
    local prefix=$tmp/$1
    mkdir -p "$prefix/conf" "$prefix/logs"
    cat >"$prefix/conf/nginx.conf" <<CONF
load_module $2;
master_process off;
daemon off;
worker_processes 1;
error_log logs/error.log error;
pid logs/nginx.pid;
events { worker_connections 16000; }
stream {
    lua_package_path '$3;;';
    lua_socket_log_errors off;
    # issue14.sh's rows: conn, keepalive, echo, proxy (to the backend at P+11), sleep (P+6)
$(stream_servers "$P" $((P + 11)))
}
CONF
}
conf other "$tmp/other.so" "$OTHER_LUA_PATH"
conf ours "$tmp/ours.so" ""

# n operations of row `name` against the nginx listening at P..
drive() {
    local name=$1 n=$2 i line
    local msg
    case $name in
        conn | sleep)
            local port=$P
            [ "$name" = sleep ] && port=$((P + 6))
            for ((i = 0; i < n; i++)); do
                exec 3<>"/dev/tcp/127.0.0.1/$port"
                read -r line <&3
                exec 3<&-
            done
            ;;
        proxy)
            for ((i = 0; i < n; i++)); do
                exec 3<>"/dev/tcp/127.0.0.1/$((P + 3))"
                printf 'ping\n' >&3
                read -r line <&3
                exec 3<&-
            done
            ;;
        keepalive)
            exec 3<>"/dev/tcp/127.0.0.1/$((P + 1))"
            for ((i = 0; i < n; i++)); do
                printf 'ping\n' >&3
                read -r line <&3
            done
            exec 3<&-
            ;;
        burst)
            # n connections at once, each of the sleep row (their sleeps overlap)
            "$LG" burst "127.0.0.1:$((P + 6))" "$n" >/dev/null
            ;;
        echo)
            msg=$(head -c 4095 /dev/zero | tr '\0' x)
            exec 3<>"/dev/tcp/127.0.0.1/$((P + 2))"
            for ((i = 0; i < n; i++)); do
                printf '%s\n' "$msg" >&3
                read -r -N 4096 line <&3
            done
            exec 3<&-
            ;;
    esac
}

FUNCS="malloc calloc realloc posix_memalign free ngx_palloc ngx_pnalloc ngx_pcalloc"
# callgrind totals of one nginx process doing n operations of row `name`: "insns N" and
# "<func> <calls>" lines, plus "luaapi <calls>"
count() {
    local side=$1 name=$2 n=$3 i
    local prefix=$tmp/$side
    rm -f "$prefix/cg.out"
    valgrind --tool=callgrind --callgrind-out-file="$prefix/cg.out" \
        "$NGINX" -p "$prefix" 2>"$prefix/vg.log" &
    vg=$!
    for i in $(seq 300); do
        ss -ltn | grep ":$((P + 6)) " >/dev/null && break
        sleep 0.1
    done
    drive "$name" 20
    drive "$name" "$n"
    sleep 0.5
    kill -TERM "$vg"
    wait "$vg" || true
    vg=
    [ -z "${KEEP:-}" ] || { mkdir -p "$KEEP"; cp "$prefix/cg.out" "$KEEP/$side-$name-$n.out"; }
    python3 "$CG" "$prefix/cg.out" | awk -v want=" $FUNCS " '
        $1 == "insns" || index(want, " " $1 " ") { print }
        $1 ~ /^luaL?_/ { api += $2 }
        END { print "luaapi", api + 0 }'
}

per_op() { # file1 file2 key
    awk -v k="$3" -v n="$((N2 - N1))" '
        FNR == NR && $1 == k { a = $2 } FNR != NR && $1 == k { b = $2 }
        END { printf "%.1f", (b - a) / n }' "$1" "$2"
}

printf '%-10s %-7s %10s %8s %7s %8s %8s\n' "per op" engine insns "malloc*" free "ngx_p*" "lua_*"
for name in $ROWS; do
    for side in ${SIDES:-other ours}; do
        count "$side" "$name" "$N1" >"$tmp/c1"
        count "$side" "$name" "$N2" >"$tmp/c2"
        m1=$(awk '$1 ~ /^(malloc|calloc|realloc|posix_memalign)$/ { s += $2 } END { print "m", s + 0 }' "$tmp/c1")
        m2=$(awk '$1 ~ /^(malloc|calloc|realloc|posix_memalign)$/ { s += $2 } END { print "m", s + 0 }' "$tmp/c2")
        p1=$(awk '$1 ~ /^ngx_p(c|n)?alloc$/ { s += $2 } END { print "p", s + 0 }' "$tmp/c1")
        p2=$(awk '$1 ~ /^ngx_p(c|n)?alloc$/ { s += $2 } END { print "p", s + 0 }' "$tmp/c2")
        printf '%s\n%s\n' "$m1" "$p1" >>"$tmp/c1"
        printf '%s\n%s\n' "$m2" "$p2" >>"$tmp/c2"
        printf '%-10s %-7s %10s %8s %7s %8s %8s\n' "$name" "$side" \
            "$(per_op "$tmp/c1" "$tmp/c2" insns)" "$(per_op "$tmp/c1" "$tmp/c2" m)" \
            "$(per_op "$tmp/c1" "$tmp/c2" free)" "$(per_op "$tmp/c1" "$tmp/c2" p)" \
            "$(per_op "$tmp/c1" "$tmp/c2" luaapi)"
    done
done
