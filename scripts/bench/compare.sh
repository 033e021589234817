#!/usr/bin/env bash
# Two builds of the module side by side in one run, on the same nginx: every loop suite of
# scripts/bench/loops/ and the conn/echo stream benchmarks of run.sh, alternating A and B for
# ROUNDS rounds, then the median of each row and B/A (above 1.0: B is faster).
# Usage: scripts/bench/compare.sh A.so B.so [ROUNDS] [ITERATIONS] [SECONDS]
# A typical use: keep a copy of the .so before a refactor, rebuild, compare.
set -euo pipefail
cd "$(dirname "$0")/../.."
A=$(realpath "${1:?usage: $0 A.so B.so [ROUNDS] [ITERATIONS] [SECONDS]}")
B=$(realpath "${2:?usage: $0 A.so B.so [ROUNDS] [ITERATIONS] [SECONDS]}")
ROUNDS=${3:-3}
N=${4:-2000000}
SECS=${5:-3}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

for r in $(seq "$ROUNDS"); do
    for side in A B; do
        so=$A; [ "$side" = B ] && so=$B
        for suite in calls regex shdict; do
            MODULE=$so scripts/bench/lua-loops.sh "$suite" "$N" | grep 'ops/s$' |
                sed -E 's/ +([0-9]+) ops\/s$/\t\1/' >>"$out/$side"
        done
        MODULE=$so scripts/bench/run.sh "$SECS" | awk -v OFS='\t' '/^conn:/ { print "conn: new connection, ngx.say", $(NF-1) }
            /^echo:/ { print "echo: keepalive 4 KB over ngx.req.socket", $(NF-1) }' >>"$out/$side"
    done
    echo "round $r of $ROUNDS done" >&2
done

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
printf '%-46s %14s %14s %6s\n' "per second (median of $ROUNDS)" "A" "B" "B/A"
cut -f1 "$out/A" | awk '!seen[$0]++' | while IFS= read -r name; do
    a=$(awk -F'\t' -v n="$name" '$1 == n { print $2 }' "$out/A" | median)
    b=$(awk -F'\t' -v n="$name" '$1 == n { print $2 }' "$out/B" | median)
    printf '%-46s %14.0f %14.0f %6.2f\n' "$name" "$a" "$b" "$(awk -v a="$a" -v b="$b" 'BEGIN { print b / a }')"
done
