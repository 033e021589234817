#!/usr/bin/env bash
# Prints the nginx 1.28.3 source directory that the `nginx-src` crate ships (cargo fetches the
# crate from the registry without building it; no other download).
set -euo pipefail
cd "$(dirname "$0")/.."
src=$(cargo metadata --format-version 1 --all-features --manifest-path Cargo.toml 2>/dev/null \
      | python3 -c 'import json,sys,os
for p in json.load(sys.stdin)["packages"]:
    if p["name"] == "nginx-src": print(os.path.dirname(p["manifest_path"]) + "/nginx")')
[ -d "$src/auto" ] || { echo "nginx-src crate not found (cargo metadata)" >&2; exit 1; }
echo "$src"
