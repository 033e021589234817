#!/usr/bin/env bash
# Prepares a fresh Debian machine: system packages, then nginx 1.28 configured and built from
# the source the `nginx-src` crate ships (no download), into build/nginx (git-ignored).
# Re-running it reuses what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

need=()
for p in libclang-dev libpcre2-dev libssl-dev zlib1g-dev make gcc; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
    echo "setup: installing ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q "${need[@]}" >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q "${need[@]}" >/dev/null; }
fi

# The flags our module is built for; --with-debug adds debug logging only, not an ABI change.
NGINX_FLAGS="--with-compat --with-threads --with-stream --with-stream_ssl_module \
--with-stream_ssl_preread_module --with-stream_realip_module --with-debug"

DEST=${NGINX_BUILD_ROOT:-$ROOT/build/nginx}
if [ -x "$DEST/objs/nginx" ] && [ -f "$DEST/objs/ngx_auto_config.h" ] \
   && [ "$(cat "$DEST/.flags" 2>/dev/null)" = "$NGINX_FLAGS" ]; then
    exit 0
fi

# The nginx-src crate holds the nginx source; cargo fetches it (registry only) without building.
src=$(cargo metadata --format-version 1 --all-features --manifest-path "$ROOT/Cargo.toml" 2>/dev/null \
      | python3 -c 'import json,sys,os
for p in json.load(sys.stdin)["packages"]:
    if p["name"] == "nginx-src": print(os.path.dirname(p["manifest_path"]) + "/nginx")')
[ -d "$src/auto" ] || { echo "setup: nginx-src crate not found (cargo metadata)" >&2; exit 1; }

echo "setup: building nginx from $src into $DEST"
rm -rf "$DEST"
mkdir -p "$(dirname "$DEST")"
cp -r "$src" "$DEST"
cd "$DEST"
# shellcheck disable=SC2086
auto/configure $NGINX_FLAGS --prefix="$DEST" >"$DEST/configure.log" 2>&1 \
    || { tail -30 "$DEST/configure.log"; exit 1; }
make -j"$(nproc)" >"$DEST/make.log" 2>&1 || { tail -30 "$DEST/make.log"; exit 1; }
echo "$NGINX_FLAGS" >"$DEST/.flags"
echo "setup: nginx built: $DEST/objs/nginx"
