#!/usr/bin/env bash
# Instructions per operation of every loop of scripts/bench/loops/, counted by callgrind, for
# two builds side by side on the same nginx. Counts, unlike ops/s, do not depend on what else
# the machine is doing, so this can run on a busy machine; it does not see cache misses or
# branch mispredictions, so a change that only moves memory shows in lua-loops.sh, not here.
# Each loop runs twice (N1 and N2 calls, same warm-up), each in its own nginx process under
# callgrind: (total(N2) - total(N1)) / (N2 - N1) is the cost of one call, start-up and warm-up
# cancelled.
# Usage: scripts/bench/insns.sh A.so B.so [SUITES] [N1] [N2]
# Another engine's .so may need LUA_PATH_FIRST (as in lua-loops.sh) for lua-resty-core, and
# NGINX_BIN for the nginx it was built for (both sides use the same one). LUA_PATH_FIRST goes
# to both sides; LUA_PATH_A / LUA_PATH_B (set, even empty) replace it for one side: ours has
# its built-in layer, and a lua-resty-core on its path would replace that layer (a real
# resty.core on the path wins), so `LUA_PATH_B=` measures ours as it ships.
set -euo pipefail
cd "$(dirname "$0")/../.."
A=$(realpath "${1:?usage: $0 A.so B.so [SUITES] [N1] [N2]}")
B=$(realpath "${2:?usage: $0 A.so B.so [SUITES] [N1] [N2]}")
SUITES=${3:-calls regex shdict}
N1=${4:-10000}
N2=${5:-510000}
NGINX_BIN=${NGINX_BIN:-$PWD/build/nginx/objs/nginx}
command -v valgrind >/dev/null || { echo "insns.sh: valgrind is needed (apt-get install valgrind)" >&2; exit 2; }
loops=$PWD/scripts/bench/loops
prefix=$PWD/target/bench-insns
# a port of its own (INSNS_PORT to choose): another insns.sh may be running on the machine
port=${INSNS_PORT:-}
if [ -z "$port" ]; then
    port=$((20000 + $$ % 20000))
    while ss -ltn "sport = :$port" | grep LISTEN >/dev/null; do port=$((port + 1)); done
fi
PATH_A=${LUA_PATH_A-${LUA_PATH_FIRST:-}}
PATH_B=${LUA_PATH_B-${LUA_PATH_FIRST:-}}

# total instructions of one nginx process running bench `name` of `suite` n times
count() {
    local so=$1 suite=$2 name=$3 n=$4 lpath=$5
    rm -rf "$prefix"; mkdir -p "$prefix/conf" "$prefix/logs"
    local lname=${name//\\/\\\\}; lname=${lname//\"/\\\"}
    cat >"$prefix/conf/nginx.conf" <<CONF
load_module $so;
master_process off;
daemon off;
worker_processes 1;
error_log logs/error.log error;
pid logs/nginx.pid;
events { worker_connections 64; }
stream {
    lua_package_path '$lpath;;';
    lua_shared_dict bench 64m;
    server {
        listen 127.0.0.1:$port;
        content_by_lua_block {
            dofile("$loops/harness.lua")("$loops/$suite.lua", $n, "$lname", true)
        }
    }
}
CONF
    valgrind --tool=callgrind --callgrind-out-file="$prefix/cg.out" \
        "$NGINX_BIN" -p "$prefix" 2>"$prefix/vg.log" &
    local vg=$!
    local i
    for i in $(seq 300); do
        ss -ltn "sport = :$port" | grep LISTEN >/dev/null && break
        sleep 0.1
    done
    timeout 300 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port; cat <&3" >"$prefix/logs/out"
    if ! grep -q 'traces compiled' "$prefix/logs/out"; then
        echo "insns.sh: $name did not finish" >&2
        cat "$prefix/logs/error.log" >&2
        kill "$vg" 2>/dev/null || true
        wait "$vg" || true
        return 1
    fi
    # the harness ends the process (exit() makes callgrind write its counts)
    wait "$vg" || true
    awk '/^(summary|totals):/ { print $2; exit }' "$prefix/cg.out"
}

names() {
    MODULE_BUILT=1 MODULE=$1 LUA_PATH_FIRST=$PATH_A LOOPS_PORT=$port scripts/bench/lua-loops.sh "$2" 1 | grep 'ops/s$' | sed -E 's/ +[0-9]+ ops\/s$//'
}

printf '%-46s %12s %12s %6s\n' "instructions per call" "A" "B" "A/B"
for suite in $SUITES; do
    names "$A" "$suite" | while IFS= read -r name; do
        per() {
            local t1 t2
            t1=$(count "$1" "$suite" "$name" "$N1" "$2") && t2=$(count "$1" "$suite" "$name" "$N2" "$2") ||
                { echo nan; return; }
            awk -v a="$t1" -v b="$t2" -v n="$((N2 - N1))" 'BEGIN { printf "%.1f", (b - a) / n }'
        }
        a=$(per "$A" "$PATH_A")
        b=$(per "$B" "$PATH_B")
        printf '%-46s %12s %12s %6.2f\n' "$name" "$a" "$b" "$(awk -v a="$a" -v b="$b" 'BEGIN { print (b > 0) ? a / b : 0 }')"
    done
done
