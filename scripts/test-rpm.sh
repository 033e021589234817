#!/usr/bin/env bash
# Builds the RPM (scripts/build-rpm.sh, against build/nginx-rhel: nginx 1.28.3 configured as
# RHEL's) and checks it: its requirements and files, then its files unpacked into a temporary
# root and loaded, through RHEL's include of the module snippets, into that nginx after its
# dynamic stream module: `nginx -t` passes and a content_by_lua_block server answers.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
. scripts/lib/nginx-check.sh

scripts/apt-need.sh rpm rpm2cpio cpio
scripts/build-rpm.sh >/dev/null
tree=$ROOT/build/nginx-rhel
nginx=$tree/objs/nginx
abi=$(grep '^#define NGINX_VERSION ' "$tree/src/core/nginx.h" | cut -d'"' -f2)
rpm=$(ls "$ROOT"/build/rpm/RPMS/*/nginx-mod-stream-lua-*.rpm)
echo "rpm: $rpm"

requires=$(rpm -qp --requires "$rpm")
files=$(rpm -qpl "$rpm")
check "requires nginx(abi) = $abi" grep -qx "nginx(abi) = $abi" <<<"$requires"
check "requires nginx-mod-stream" grep -qx "nginx-mod-stream" <<<"$requires"
check "has the module" grep -qx /usr/lib64/nginx/modules/ngx_stream_lua_module.so <<<"$files"
check "has the conf snippet" grep -qx /usr/share/nginx/modules/mod-stream_lua.conf <<<"$files"
check "has the license" grep -q '/LICENSE$' <<<"$files"

# The package's files in a scratch root; RHEL's nginx-mod-stream snippet beside ours.
root=$ROOT/build/rpm-root
rm -rf "$root"
mkdir -p "$root/prefix/logs"
(cd "$root" && rpm2cpio "$rpm" | cpio -idm --quiet)
confd=$root/usr/share/nginx/modules
echo "load_module \"$tree/objs/ngx_stream_module.so\";" >"$confd/mod-stream.conf"
sed -i "s#\"/usr/lib64/#\"$root/usr/lib64/#" "$confd/mod-stream_lua.conf"
check "snippet sorts after mod-stream.conf" \
    test "$(cd "$confd" && LC_ALL=C ls ./*.conf | tr '\n' ' ')" = "./mod-stream.conf ./mod-stream_lua.conf "

port=$(free_port)
{
    echo "# as RHEL's /etc/nginx/nginx.conf: the module snippets first"
    echo "include $confd/*.conf;"
    echo "user nobody nogroup;"
    echo "worker_processes 2;"
    lua_server_conf "$port" '
            local line = ngx.req.socket():receive()
            ngx.say("rpm module says ", line, " on ", ngx.config.subsystem)'
} >"$root/prefix/nginx.conf"
run() { "$nginx" -p "$root/prefix" -c "$root/prefix/nginx.conf" -e "$root/prefix/logs/error.log" "$@"; }
check "nginx -t" run -t -q
if run; then
    wait_for_pid "$root/prefix/logs/nginx.pid" || true
    check "TCP client answered" test "$(tcp_answer "$port")" = "rpm module says ping on stream"
    run -s quit 2>/dev/null || true
    for _ in $(seq 50); do [ -e "$root/prefix/logs/nginx.pid" ] || break; sleep 0.1; done
else
    check "nginx starts" false
fi
check "no alert or crash in the error log" \
    bash -c "! grep -E '\\[(alert|emerg|crit)\\]|exited on signal' '$root/prefix/logs/error.log'"
checks_summary rpm
