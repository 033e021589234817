#!/usr/bin/env bash
# Prepares a fresh Debian machine: system packages, then nginx 1.28.3 configured and built from
# the source the `nginx-src` crate ships (no download), into build/nginx (git-ignored) with the
# flags below. Re-running it reuses what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

scripts/apt-need.sh libclang-dev libpcre2-dev libssl-dev zlib1g-dev make gcc

# The flags our module is built for; --with-debug adds debug logging only, not an ABI change.
NGINX_FLAGS="--with-compat --with-threads --with-stream --with-stream_ssl_module \
--with-stream_ssl_preread_module --with-stream_realip_module --with-debug"

DEST=${NGINX_BUILD_ROOT:-$ROOT/build/nginx}
# shellcheck disable=SC2086
scripts/build-nginx.sh "$DEST" -- $NGINX_FLAGS --prefix="$DEST"
