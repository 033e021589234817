#!/usr/bin/env bash
# Installs the named Debian packages that are missing (apt-get update only when the install
# fails: a fresh machine may have no package lists yet). Quiet unless something goes wrong.
set -euo pipefail
need=()
for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep 'install ok installed' >/dev/null || need+=("$p")
done
[ ${#need[@]} -eq 0 ] && exit 0
echo "installing ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
log=$(mktemp)
if ! apt-get install -y -q "${need[@]}" >"$log" 2>&1; then
    apt-get update -q >"$log" 2>&1 || { cat "$log"; exit 1; }
    apt-get install -y -q "${need[@]}" >"$log" 2>&1 || { cat "$log"; exit 1; }
fi
rm -f "$log"
