#!/usr/bin/env bash
# Builds the module against the distribution's own nginx (Debian 12: 1.22.1, from the
# `nginx-dev` package's source and build flags) and runs a representative part of t/ with
# Debian's /usr/sbin/nginx loading Debian's ngx_stream_module.so and our module.
#
#   scripts/test-debian-nginx.sh                 # the default subset (below)
#   scripts/test-debian-nginx.sh t/001-content.t # other runner arguments instead
#   scripts/test-servers.sh && scripts/test-debian-nginx.sh t/   # all of t/ (035 needs the servers)
#
# Installs nginx, nginx-dev and libnginx-mod-stream when missing, without leaving the packaged
# nginx service running. Everything it builds is git-ignored: the configured nginx tree in
# build/nginx-debian-<version>, cargo's output in target/nginx-debian-<version> (the module:
# target/nginx-debian-<version>/ngx_stream_lua_module.so). Re-running reuses both.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

# --- 1. Debian's packages -------------------------------------------------------------------
# (libclang-dev and gcc: bindgen and configure, as scripts/setup.sh installs them)
pkgs=(nginx nginx-dev libnginx-mod-stream libclang-dev gcc)
need=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep 'install ok installed' >/dev/null || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
    echo "test-debian-nginx: installing ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    # nginx's postinst starts the service (through invoke-rc.d) when port 80 is free: a
    # policy-rc.d that forbids every action keeps it stopped. An existing one is left alone.
    own_policy=
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\n# test-debian-nginx.sh: no service starts while it installs nginx\nexit 101\n' \
            >/usr/sbin/policy-rc.d
        chmod 755 /usr/sbin/policy-rc.d
        own_policy=1
        trap 'rm -f /usr/sbin/policy-rc.d' EXIT
    fi
    install=(apt-get install -y -q --no-install-recommends "${need[@]}")
    "${install[@]}" >/dev/null 2>&1 || { apt-get update -q >/dev/null && "${install[@]}" >/dev/null; }
    if [ -n "$own_policy" ]; then
        rm -f /usr/sbin/policy-rc.d
        trap - EXIT
    fi
    # Whatever the policy, the service just installed must not keep running (it would hold
    # port 80 with /etc/nginx's configuration): stop the master /run/nginx.pid names, if Debian's.
    if [ -s /run/nginx.pid ]; then
        pid=$(cat /run/nginx.pid)
        if [ "$(readlink "/proc/$pid/exe" 2>/dev/null)" = /usr/sbin/nginx ]; then
            echo "test-debian-nginx: stopping the packaged nginx service (pid $pid)"
            kill -QUIT "$pid"
            for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        fi
    fi
fi

# --- 2. nginx-dev's source, configured as Debian's nginx and stream module were -------------
SRC=/usr/share/nginx/src
ver=$(sed -n 's/^#define NGINX_VERSION *"\(.*\)"/\1/p' "$SRC/src/core/nginx.h")
[ -n "$ver" ] || { echo "test-debian-nginx: no NGINX_VERSION in $SRC/src/core/nginx.h" >&2; exit 1; }
DEST=$ROOT/build/nginx-debian-$ver
export CARGO_TARGET_DIR=$ROOT/target/nginx-debian-$ver
MODULE=$CARGO_TARGET_DIR/ngx_stream_lua_module.so

# conf_flags holds the flags of the core binary; Debian builds its stream module with stream
# and its ssl, ssl_preread and realip modules on top (see `nginx -V`). We only configure: the
# bindings need objs/ngx_auto_config.h and objs/Makefile, not a built nginx.
# shellcheck disable=SC1091
. "$SRC/conf_flags"
flags=("${NGX_CONF_FLAGS[@]}" --with-stream=dynamic --with-stream_ssl_module
       --with-stream_ssl_preread_module --with-stream_realip_module)
stamp="$(dpkg-query -W -f='${Version}' nginx-dev) ${flags[*]}"
if [ ! -f "$DEST/objs/ngx_auto_config.h" ] || [ "$(cat "$DEST/.configured" 2>/dev/null)" != "$stamp" ]; then
    echo "test-debian-nginx: configuring nginx $ver from $SRC in $DEST"
    rm -rf "$DEST"
    mkdir -p "$(dirname "$DEST")"
    cp -r "$SRC" "$DEST"
    (cd "$DEST" && ./configure "${flags[@]}" >configure.log 2>&1) \
        || { tail -30 "$DEST/configure.log"; exit 1; }
    echo "$stamp" >"$DEST/.configured"
fi

# --- 3. the module, in a target directory of its own (target/release stays nginx 1.28's) ----
NGINX_SOURCE_DIR=$DEST NGINX_BUILD_DIR=$DEST/objs cargo build --release
# (written beside, then renamed: a running nginx may have the old file mapped)
cp "$CARGO_TARGET_DIR/release/libngx_stream_lua_module.so" "$MODULE.tmp"
mv -f "$MODULE.tmp" "$MODULE"

# One clear message, rather than every block failing, when Debian's nginx refuses the module
# (its version and --with-compat signature must equal the binary's).
check=$CARGO_TARGET_DIR/load-check
mkdir -p "$check/logs"
printf '%s\n' "error_log stderr;" "pid $check/nginx.pid;" \
    "load_module /usr/lib/nginx/modules/ngx_stream_module.so;" "load_module $MODULE;" \
    "events {}" "stream { server { listen 127.0.0.1:1; content_by_lua_block { ngx.say(1) } } }" \
    >"$check/nginx.conf"
/usr/sbin/nginx -q -t -p "$check" -c "$check/nginx.conf" \
    || { echo "test-debian-nginx: /usr/sbin/nginx does not load $MODULE" >&2; exit 1; }

# --- 4. t/ with Debian's nginx: its stream module first, then ours --------------------------
# content, preread, log, request socket, sleep, threads, timers, TCP (with TLS and pools) and
# UDP cosockets, shared dicts across two workers, regex. None needs scripts/test-servers.sh.
default_tests=(
    t/001-content.t t/004-log.t t/015-sleep.t t/016-req-socket.t t/018-preread.t t/019-log-by-lua.t
    t/022-timer.t t/030-thread.t t/034-socket-tcp.t t/043-regex.t t/044-socket-udp.t
    t/051-shdict-workers.t
)
[ $# -gt 0 ] || set -- "${default_tests[@]}"
export TEST_NGINX_BINARY=/usr/sbin/nginx
export TEST_NGINX_LOAD_MODULES="/usr/lib/nginx/modules/ngx_stream_module.so $MODULE"
# (the runner's scratch servers live under $CARGO_TARGET_DIR/tnginx: t/034's TLS blocks need
# the certificates' absolute path)
export TEST_NGINX_CERT_DIR=$ROOT/t/cert
export NGINX_SOURCE_DIR=$DEST NGINX_BUILD_DIR=$DEST/objs
exec cargo test --release --test t -- "$@"
