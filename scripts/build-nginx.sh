#!/usr/bin/env bash
# Builds an nginx 1.28.3 tree from the nginx-src crate's source (no download):
#
#   scripts/build-nginx.sh DEST [MAKE_TARGET...] -- CONFIGURE_ARGUMENT...
#
# copies the source to DEST, runs auto/configure with the arguments, then make (all, or only
# the targets given, e.g. objs/nginx objs/ngx_stream_module.so). A tree already built with the
# same arguments and targets is kept as it is.
set -euo pipefail
cd "$(dirname "$0")/.."
dest=$1
shift
targets=()
while [ $# -gt 0 ] && [ "$1" != -- ]; do
    targets+=("$1")
    shift
done
[ "${1:-}" = -- ] || { echo "usage: $0 DEST [MAKE_TARGET...] -- CONFIGURE_ARGUMENT..." >&2; exit 2; }
shift

stamp=$(printf '%s\n' "${targets[@]}" -- "$@")
if [ -x "$dest/objs/nginx" ] && [ "$(cat "$dest/.built-with" 2>/dev/null)" = "$stamp" ]; then
    exit 0
fi
src=$(scripts/nginx-src-dir.sh)
echo "build-nginx: building $src in $dest"
rm -rf "$dest"
mkdir -p "$(dirname "$dest")"
cp -r "$src" "$dest"
cd "$dest"
auto/configure "$@" >configure.log 2>&1 || { tail -30 configure.log; exit 1; }
make -f objs/Makefile -j"$(nproc)" "${targets[@]}" >make.log 2>&1 || { tail -30 make.log; exit 1; }
echo "$stamp" >.built-with
