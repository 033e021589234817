#!/usr/bin/env bash
# Builds everything and starts nginx in the foreground with nginx-config/example.conf:
# a TCP server on 127.0.0.1:1234 that greets and echoes each line back (Ctrl-C stops it).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh
prefix=$PWD/build/example
mkdir -p "$prefix/conf" "$prefix/logs"
sed "s#@MODULE@#$PWD/target/release/ngx_stream_lua_module.so#" nginx-config/example.conf >"$prefix/conf/nginx.conf"
build/nginx/objs/nginx -p "$prefix" -t
# bash's /dev/tcp is the client every Debian has (nc is not installed by default)
echo "example server on 127.0.0.1:1234; try, from another shell:"
echo "  bash -c 'exec 3<>/dev/tcp/127.0.0.1/1234; echo hi >&3; timeout 1 cat <&3'"
exec build/nginx/objs/nginx -p "$prefix" -g 'daemon off;'
