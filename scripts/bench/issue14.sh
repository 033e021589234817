#!/usr/bin/env bash
# Every row of issue 14's table, for another engine (OTHER.so, e.g. the C module) and ours, on
# the same nginx in one run, alternating engines row by row (ROUNDS rounds; the engine that goes
# first swaps each round). Each row starts a fresh nginx (one process: master_process off) and
# measures what a busy machine does not distort much:
#   - worker CPU time per operation: the worker's time on a CPU (/proc/PID/schedstat, i.e.
#     utime+stime in ns) over the row, divided by the operations the client completed;
#     for the per-operation rows also the part of it in user space (utime), and the ratio ours
#     would reach with none at all: the kernel's share (the same system calls for both
#     engines) bounds what any user-space work can win there;
#   - memory: the worker's RSS (/proc/PID/status), deltas over N connections or threads, and
#     the peak (VmHWM, reset after the warm-up).
# Rows (ROWS= to pick some): conn (new connection per request, ngx.say), keepalive (a line
# request, a line answer over ngx.req.socket, 50 connections), echo (4 KB over ngx.req.socket,
# receiveany), proxy (new connection, the request line relayed over a pooled cosocket, with
# nginx's own proxy_pass to the same backend alongside), shdict (set+get), re (ngx.re.match,
# jo), sleep (2,000 connections at once, each 10 x ngx.sleep(0.01): wall time, peak RSS, CPU),
# idle (IDLE_N idle connections blocked in receive: RSS per connection), threads (THREADS_N
# light threads in ngx.sleep: RSS per thread).
# Prints the median of each row for both engines and other/ours (above 1.0: ours is cheaper),
# and the geometric mean over the issue's rows.
# Usage: scripts/bench/issue14.sh OTHER.so [NGINX] [ROUNDS] [SECONDS]
#   NGINX: the nginx binary both engines run in (default build/nginx/objs/nginx; the C module
#   of the workshop: /work/workshop/v16/host-nginx/sbin/nginx).
#   OTHER_LUA_PATH: lua_package_path entries for OTHER.so (the C module needs lua-resty-core);
#   default: lua-resty-core and lrucache of the workshop tree OTHER.so sits in, if present.
#   Ours runs with no lua_package_path entries (its own layer); OURS=<.so> replaces
#   target/release/libngx_stream_lua_module.so (built first otherwise).
#   PIN=1 runs nginx on CPU 0 and the load generator on CPU 1; RESULTS=<file> keeps every
#   round's values there (row, engine, value).
set -euo pipefail
cd "$(dirname "$0")/../.."
usage="usage: $0 OTHER.so [NGINX] [ROUNDS] [SECONDS]"
OTHER=$(realpath "${1:?$usage}")
NGINX=$(realpath "${2:-build/nginx/objs/nginx}")
ROUNDS=${3:-3}
SECS=${4:-3}
ROWS=${ROWS:-conn keepalive echo proxy shdict re sleep idle threads}
IDLE_N=${IDLE_N:-5000}
THREADS_N=${THREADS_N:-5000}
SLEEP_N=${SLEEP_N:-2000}
SHDICT_N=${SHDICT_N:-3000000}
RE_N=${RE_N:-3000000}
# the stream servers of the per-operation rows (shared with op-cost.sh), free_ports, other_lua_path
. scripts/bench/stream-servers.sh
[ -n "${OTHER_LUA_PATH+x}" ] || OTHER_LUA_PATH=$(other_lua_path "$OTHER")

if [ -z "${OURS:-}" ]; then
    cargo build -q --release
    OURS=target/release/libngx_stream_lua_module.so
fi
cargo build -q --release --manifest-path scripts/bench/loadgen/Cargo.toml
LG=$PWD/scripts/bench/loadgen/target/release/loadgen
tmp=$(mktemp -d)
cc -O2 -o "$tmp/floor-server" scripts/bench/floor-server.c
nginx_cmd=("$NGINX"); lg_cmd=("$LG"); floor_cmd=("$tmp/floor-server")
if [ "${PIN:-}" = 1 ]; then
    nginx_cmd=(taskset -c 0 "$NGINX"); lg_cmd=(taskset -c 1 "$LG"); floor_cmd=(taskset -c 0 "$tmp/floor-server")
fi

# both modules are copied: a rebuild during the run must not change (or crash) what runs
cp "$OTHER" "$tmp/other.so"
cp "$OURS" "$tmp/ours.so"
pid=
backend=
cleanup() {
    [ -z "$pid" ] || kill -TERM "$pid" 2>/dev/null || true
    [ -z "${floor_pid:-}" ] || kill "$floor_pid" 2>/dev/null || true
    [ -z "$backend" ] || kill "$backend" 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT

# ports: P..P+14 (PORT= to choose), backend P+15, the floor server P+16
P=${PORT:-$(free_ports 20000 16)}
"${lg_cmd[@]}" echo-server "127.0.0.1:$((P + 15))" & backend=$!
for _ in $(seq 100); do ss -ltn | grep ":$((P + 15)) " >/dev/null && break; sleep 0.05; done
kill -0 "$backend" 2>/dev/null || { echo "issue14.sh: the echo backend did not start" >&2; exit 1; }

loop_server() { # port what n
    cat <<SERVER
    server {
        listen 127.0.0.1:$1;
        content_by_lua_block {
            local n = $3
            if "$2" == "shdict" then
                local d = ngx.shared.bench
                local keys = {}
                for i = 1, 1000 do keys[i] = "key:" .. i end
                for i = 1, n do
                    local k = keys[i % 1000 + 1]
                    d:set(k, "value")
                    d:get(k)
                end
            else
                local match = ngx.re.match
                for _ = 1, n do
                    match("hello 1234 world", [[(\d+) (\w+)]], "jo")
                end
            end
            ngx.say("done")
        }
    }
SERVER
}
threads_server() { # port n
    cat <<SERVER
    server {
        listen 127.0.0.1:$1;
        content_by_lua_block {
            local function sleeper() ngx.sleep(600) end
            for _ = 1, $2 do ngx.thread.spawn(sleeper) end
            ngx.shared.bench:incr("threads", $2, 0)
            ngx.sleep(600)
        }
    }
SERVER
}
conf() { # side so lua_path
    local prefix=$tmp/$1
    mkdir -p "$prefix/conf" "$prefix/logs"
    cat >"$prefix/conf/nginx.conf" <<CONF
load_module $2;
master_process off;
worker_processes 1;
error_log logs/error.log error;
pid logs/nginx.pid;
events { worker_connections 16000; }
stream {
    lua_package_path '$3;;';
    lua_shared_dict bench 16m;
    lua_socket_log_errors off;
    # conn, keepalive, echo, proxy (to the backend at P+15) and sleep (P+6): stream-servers.sh
$(stream_servers "$P" $((P + 15)))
    server { listen 127.0.0.1:$((P + 4)) backlog=4096; proxy_pass 127.0.0.1:$((P + 15)); }
    # loops (warm-up and measured runs): a loop of N, then "done"
$(loop_server $((P + 5)) shdict $((SHDICT_N / 10)))
$(loop_server $((P + 10)) shdict "$SHDICT_N")
$(loop_server $((P + 11)) re $((RE_N / 10)))
$(loop_server $((P + 12)) re "$RE_N")
    # idle: counted, then blocked in receive until the client goes
    server {
        listen 127.0.0.1:$((P + 7)) backlog=4096;
        content_by_lua_block {
            local d = ngx.shared.bench
            d:incr("idle", 1, 0)
            local sock = ngx.req.socket()
            sock:settimeout(600000)
            sock:receive()
            d:incr("idle", -1)
        }
    }
    # threads: N light threads that sleep, then counted (200 to warm up, then THREADS_N)
$(threads_server $((P + 8)) 200)
$(threads_server $((P + 13)) "$THREADS_N")
    # the counters (no request is read: the control path must not wait on anything)
    server { listen 127.0.0.1:$((P + 9)); content_by_lua_block { ngx.say(ngx.shared.bench:get("idle") or 0) } }
    server { listen 127.0.0.1:$((P + 14)); content_by_lua_block { ngx.say(ngx.shared.bench:get("threads") or 0) } }
}
CONF
}
conf other "$tmp/other.so" "$OTHER_LUA_PATH"
conf ours "$tmp/ours.so" ""

start() {
    local prefix=$tmp/$1 i
    rm -f "$prefix/logs/nginx.pid"
    "${nginx_cmd[@]}" -p "$prefix" || { cat "$prefix/logs/error.log" >&2; exit 1; }
    for i in $(seq 100); do [ -s "$prefix/logs/nginx.pid" ] && break; sleep 0.05; done
    pid=$(cat "$prefix/logs/nginx.pid")
    for i in $(seq 100); do ss -ltn | grep ":$((P + 14)) " >/dev/null && break; sleep 0.05; done
}
stop() {
    kill -TERM "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null; do sleep 0.02; done
    pid=
}
cpu_ns() { awk '{ print $1 }' "/proc/$pid/schedstat"; }
# the worker's time in user space (utime: sampled at the clock tick, good to a few % over a row)
user_ns() { awk -v hz="$(getconf CLK_TCK)" '{ sub(/.*\) /, ""); printf "%.0f", $12 * 1e9 / hz }' "/proc/$pid/stat"; }
status_kb() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$pid/status"; }
ask() { # port: the first line of its answer (empty after a minute)
    local line=
    exec 3<>"/dev/tcp/127.0.0.1/$1" || return 0
    IFS= read -r -t 60 line <&3 || true
    exec 3<&-
    printf '%s' "$line"
}
wait_count() { # port value: until the counter served at port reaches value
    local i
    for i in $(seq 600); do
        [ "$(ask "$1")" -ge "$2" ] 2>/dev/null && return 0
        sleep 0.05
    done
    echo "issue14.sh: the counter at port $1 did not reach $2" >&2
    return 1
}
ops_of() { awk '{ print $2 }'; }
errors_of() { sed -E 's/.*, ([0-9]+) errors.*/\1/'; }
per_op() { awk -v c="$1" -v n="$2" 'BEGIN { printf "%.3f", (n > 0) ? c / 1000 / n : 0 }'; }

out=$tmp/results
# one row for one engine: appends "row<TAB>side<TAB>value" lines to $out
row() {
    local name=$1 side=$2 c0 c1 r ops
    start "$side"
    case $name in
        conn | keepalive | echo | proxy)
            local mode=conn port=$P clients=16 extra=
            case $name in
                keepalive) mode=keepalive port=$((P + 1)) clients=50 ;;
                echo) mode=echo port=$((P + 2)) extra=4096 ;;
                proxy) mode=line port=$((P + 3)) ;;
            esac
            "${lg_cmd[@]}" $mode "127.0.0.1:$port" 0.5 "$clients" $extra >/dev/null
            local u0 u1
            u0=$(user_ns)
            c0=$(cpu_ns)
            r=$("${lg_cmd[@]}" $mode "127.0.0.1:$port" "$SECS" "$clients" $extra)
            c1=$(cpu_ns)
            u1=$(user_ns)
            ops=$(ops_of <<<"$r")
            [ "$(errors_of <<<"$r")" -le $((ops / 100)) ] || echo "issue14.sh: $side $name: $r" >&2
            printf '%s\t%s\t%s\n' "$name" "$side" "$(per_op $((c1 - c0)) "$ops")" >>"$out"
            printf '%s\t%s\t%s\n' "${name}_user" "$side" "$(per_op $((u1 - u0)) "$ops")" >>"$out"
            if [ "$name" = proxy ]; then
                port=$((P + 4))
                "${lg_cmd[@]}" line "127.0.0.1:$port" 0.5 "$clients" >/dev/null
                c0=$(cpu_ns)
                r=$("${lg_cmd[@]}" line "127.0.0.1:$port" "$SECS" "$clients")
                c1=$(cpu_ns)
                ops=$(ops_of <<<"$r")
                printf '%s\t%s\t%s\n' proxy_pass "$side" "$(per_op $((c1 - c0)) "$ops")" >>"$out"
            fi
            ;;
        shdict | re)
            local n=$SHDICT_N
            [ "$name" = re ] && n=$RE_N
            local warm=$((P + 5)) port=$((P + 10))
            [ "$name" = re ] && warm=$((P + 11)) port=$((P + 12))
            ask "$warm" >/dev/null
            c0=$(cpu_ns)
            r=$(ask "$port")
            c1=$(cpu_ns)
            [ "$r" = done ] || echo "issue14.sh: $side $name: no answer" >&2
            printf '%s\t%s\t%s\n' "$name" "$side" "$(per_op $((c1 - c0)) "$n")" >>"$out"
            ;;
        sleep)
            "${lg_cmd[@]}" burst "127.0.0.1:$((P + 6))" 200 >/dev/null
            echo 5 >"/proc/$pid/clear_refs"
            printf '%s\t%s\t%s\n' sleep_rss0 "$side" "$(status_kb VmRSS | awk '{ printf "%.2f", $1 / 1024 }')" >>"$out"
            c0=$(cpu_ns)
            r=$("${lg_cmd[@]}" burst "127.0.0.1:$((P + 6))" "$SLEEP_N")
            c1=$(cpu_ns)
            [[ $r == "burst $SLEEP_N ok, 0 errors"* ]] || echo "issue14.sh: $side sleep: $r" >&2
            printf '%s\t%s\t%s\n' sleep_wall "$side" "$(awk '{ print $(NF-1) }' <<<"$r")" >>"$out"
            # no session can end before the client's last connect plus its 10 x 10 ms of sleeps
            printf '%s\t%s\t%s\n' sleep_floor "$side" "$(sed -E 's/.*all connected at ([0-9.]+) ms.*/\1/' <<<"$r" | awk '{ print $1 + 100 }')" >>"$out"
            printf '%s\t%s\t%s\n' sleep_rss "$side" "$(status_kb VmHWM | awk '{ printf "%.2f", $1 / 1024 }')" >>"$out"
            printf '%s\t%s\t%s\n' sleep_cpu "$side" "$(per_op $((c1 - c0)) "$SLEEP_N")" >>"$out"
            ;;
        idle)
            local hold rss0 rss1
            "${lg_cmd[@]}" hold "127.0.0.1:$((P + 7))" 200 600 >/dev/null & hold=$!
            wait_count $((P + 9)) 200
            kill "$hold"; wait "$hold" 2>/dev/null || true
            sleep 0.2
            rss0=$(status_kb VmRSS)
            "${lg_cmd[@]}" hold "127.0.0.1:$((P + 7))" "$IDLE_N" 600 >/dev/null & hold=$!
            wait_count $((P + 9)) "$IDLE_N"
            sleep 0.2
            rss1=$(status_kb VmRSS)
            kill "$hold"; wait "$hold" 2>/dev/null || true
            printf '%s\t%s\t%s\n' idle_rss "$side" "$(awk -v a="$rss0" -v b="$rss1" -v n="$IDLE_N" 'BEGIN { printf "%.3f", (b - a) / n }')" >>"$out"
            ;;
        threads)
            local rss0 rss1
            exec 4<>"/dev/tcp/127.0.0.1/$((P + 8))"
            wait_count $((P + 14)) 200
            sleep 0.2
            rss0=$(status_kb VmRSS)
            exec 5<>"/dev/tcp/127.0.0.1/$((P + 13))"
            wait_count $((P + 14)) $((200 + THREADS_N))
            sleep 0.2
            rss1=$(status_kb VmRSS)
            exec 4<&- 5<&-
            printf '%s\t%s\t%s\n' threads_rss "$side" "$(awk -v a="$rss0" -v b="$rss1" -v n="$THREADS_N" 'BEGIN { printf "%.3f", (b - a) / n }')" >>"$out"
            ;;
        *) echo "issue14.sh: no row $name" >&2; exit 2 ;;
    esac
    stop
}

# the kernel's floor of a per-operation row: the same client against scripts/bench/floor-server.c
# (a bare epoll server making only the system calls the row's protocol needs)
floor_row() {
    local name=$1 mode=$1 clients=16 extra= c0 c1 r i
    case $name in
        keepalive) mode=line clients=50 ;;
        echo) extra=4096 ;;
    esac
    "${floor_cmd[@]}" $((P + 16)) "$mode" & floor_pid=$!
    for i in $(seq 100); do ss -ltn | grep ":$((P + 16)) " >/dev/null && break; sleep 0.05; done
    "${lg_cmd[@]}" "$name" "127.0.0.1:$((P + 16))" 0.5 "$clients" $extra >/dev/null
    c0=$(awk '{ print $1 }' "/proc/$floor_pid/schedstat")
    r=$("${lg_cmd[@]}" "$name" "127.0.0.1:$((P + 16))" "$SECS" "$clients" $extra)
    c1=$(awk '{ print $1 }' "/proc/$floor_pid/schedstat")
    kill "$floor_pid"; wait "$floor_pid" 2>/dev/null || true; floor_pid=
    printf '%s\t%s\t%s\n' "${name}_floor" floor "$(per_op $((c1 - c0)) "$(ops_of <<<"$r")")" >>"$out"
}

: >"$out"
for r in $(seq "$ROUNDS"); do
    for name in $ROWS; do
        if [ $((r % 2)) = 1 ]; then row "$name" other; row "$name" ours; else row "$name" ours; row "$name" other; fi
        case $name in conn | keepalive | echo) floor_row "$name" ;; esac
    done
    echo "round $r of $ROUNDS done" >&2
done

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR) print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
med() { awk -F'\t' -v n="$1" -v s="$2" '$1 == n && $2 == s { print $3 }' "$out" | median; }
label() {
    case $1 in
        conn) echo "new connection + ngx.say (us/op)" ;;
        keepalive) echo "keepalive line req/resp, 50 conns (us/op)" ;;
        echo) echo "4 KB echo over ngx.req.socket (us/op)" ;;
        proxy) echo "cosocket proxy, pooled upstream (us/op)" ;;
        proxy_pass) echo "  nginx proxy_pass, same upstream (us/op)" ;;
        shdict) echo "shared dict set+get (us/op)" ;;
        re) echo "ngx.re.match jo (us/op)" ;;
        sleep_wall) echo "$SLEEP_N conns x 10 ngx.sleep: wall (ms)" ;;
        sleep_rss) echo "$SLEEP_N conns x 10 ngx.sleep: peak RSS (MB)" ;;
        sleep_cpu) echo "$SLEEP_N conns x 10 ngx.sleep: CPU (us/conn)" ;;
        idle_rss) echo "idle connections: RSS per conn (KB, N=$IDLE_N)" ;;
        threads_rss) echo "sleeping light threads: RSS per thread (KB, N=$THREADS_N)" ;;
    esac
}
[ -z "${RESULTS:-}" ] || cp "$out" "$RESULTS"
echo "nginx: $NGINX; other: $OTHER (lua_package_path '$OTHER_LUA_PATH'); ours: $OURS"
printf '%-52s %10s %10s %10s\n' "median of $ROUNDS rounds, $SECS s per timed row" other ours other/ours
geo_sum=0 geo_n=0
for name in conn keepalive echo proxy proxy_pass shdict re sleep_wall sleep_rss sleep_cpu idle_rss threads_rss; do
    a=$(med "$name" other); b=$(med "$name" ours)
    [ -n "$a" ] && [ -n "$b" ] || continue
    ratio=$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f", (b > 0) ? a / b : 0 }')
    printf '%-52s %10s %10s %10s\n' "$(label "$name")" "$a" "$b" "$ratio"
    fl=$(med "${name}_floor" floor)
    if [ -n "$fl" ]; then
        printf '%-52s %10s %10s %10s\n' "  kernel floor (floor-server.c); best ratio possible" "$fl" "$fl" \
            "$(awk -v a="$a" -v b="$fl" 'BEGIN { printf "%.2f", (b > 0) ? a / b : 0 }')"
    fi
    au=$(med "${name}_user" other); bu=$(med "${name}_user" ours)
    if [ -n "$au" ] && [ -n "$bu" ]; then
        # the kernel's share bounds the row: other/ours if ours spent no time in user space
        printf '%-52s %10s %10s %10s\n' "  of which user space; ratio at zero user time" "$au" "$bu" \
            "$(awk -v a="$a" -v b="$b" -v u="$bu" 'BEGIN { printf "%.2f", (b > u) ? a / (b - u) : 0 }')"
    fi
    if [ "$name" = sleep_rss ] && [ -n "$(med sleep_rss0 ours)" ]; then
        printf '%-52s %10s %10s\n' "  of which the worker before the burst (MB)" "$(med sleep_rss0 other)" "$(med sleep_rss0 ours)"
    fi
    sf=$(med sleep_floor ours)
    if [ "$name" = sleep_wall ] && [ -n "$sf" ]; then
        printf '%-52s %10s %10s %10s\n' "  floor: last connect + 100 ms; best ratio possible" "$(med sleep_floor other)" "$sf" \
            "$(awk -v a="$a" -v b="$sf" 'BEGIN { printf "%.2f", a / b }')"
    fi
    case $name in
        proxy_pass | sleep_cpu | threads_rss) ;;
        *) geo_sum=$(awk -v s="$geo_sum" -v r="$ratio" 'BEGIN { print s + log(r) }'); geo_n=$((geo_n + 1)) ;;
    esac
done
if [ "$(med proxy ours)" ] && [ "$(med proxy_pass ours)" ]; then
    printf '%-52s %10s %10s\n' "  proxy_pass / cosocket proxy (goal: 0.8)" \
        "$(awk -v a="$(med proxy_pass other)" -v b="$(med proxy other)" 'BEGIN { printf "%.2f", a / b }')" \
        "$(awk -v a="$(med proxy_pass ours)" -v b="$(med proxy ours)" 'BEGIN { printf "%.2f", a / b }')"
fi
[ "$geo_n" = 0 ] || printf '%-52s %32s\n' "geometric mean of the issue's $geo_n rows" "$(awk -v s="$geo_sum" -v n="$geo_n" 'BEGIN { printf "%.2f", exp(s / n) }')"
