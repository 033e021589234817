#!/usr/bin/env bash
# Prepares a fresh Debian machine: system packages, then nginx 1.28 configured and built from
# the source the `nginx-src` crate ships (no download), into build/nginx (git-ignored).
# Re-running it reuses what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

scripts/apt-need.sh libclang-dev libpcre2-dev libssl-dev zlib1g-dev make gcc

# The flags our module is built for; --with-debug adds debug logging only, not an ABI change.
NGINX_FLAGS="--with-compat --with-threads --with-stream --with-stream_ssl_module \
--with-stream_ssl_preread_module --with-stream_realip_module --with-debug"

DEST=${NGINX_BUILD_ROOT:-$ROOT/build/nginx}
if [ -x "$DEST/objs/nginx" ] && [ -f "$DEST/objs/ngx_auto_config.h" ] \
   && [ "$(cat "$DEST/.flags" 2>/dev/null)" = "$NGINX_FLAGS" ]; then
    exit 0
fi

src=$(scripts/nginx-src-dir.sh)

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
