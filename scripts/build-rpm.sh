#!/usr/bin/env bash
# Builds the RPM: build/rpm/RPMS/<arch>/nginx-mod-stream-lua-<version>-1.<arch>.rpm, and its
# source RPM in build/rpm/SRPMS/ (spec: scripts/rpm/nginx-mod-stream-lua.spec).
#
#   scripts/build-rpm.sh [NGINX_TREE]
#
# NGINX_TREE is a configured nginx source tree of the nginx the RPM is for (on RHEL,
# nginx-mod-devel's). Without it, build/nginx-rhel (scripts/nginx-rhel.sh: nginx 1.28.3
# configured as RHEL's nginx) is used. The source tarball holds the checkout's files as they
# are in the work tree and vendor/ (cargo vendor), so rpmbuild itself needs no network.
# rpmbuild runs with --nodeps: on Debian no RPM database knows the build requirements.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

scripts/apt-need.sh rpm
tree=${1:-}
if [ -z "$tree" ]; then
    scripts/nginx-rhel.sh
    tree=$ROOT/build/nginx-rhel
fi
tree=$(cd "$tree" && pwd)

ver=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -1)
name=stream-lua-rs-$ver
top=$ROOT/build/rpm
rm -rf "$top"
mkdir -p "$top/SOURCES" "$top/stage/$name"

if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    git ls-files -z --cached --others --exclude-standard \
        | tar --null --ignore-failed-read -T - -cf - 2>/dev/null | tar -C "$top/stage/$name" -xf -
else
    tar --exclude=./target --exclude=./build --exclude=./.git -cf - . | tar -C "$top/stage/$name" -xf -
fi
(cd "$top/stage/$name" && cargo vendor --locked --quiet vendor >/dev/null)
tar -C "$top/stage" -cf - "$name" | gzip -1 >"$top/SOURCES/$name.tar.gz"
rm -rf "$top/stage"

rpmbuild -ba --nodeps --define "_topdir $top" --define "mod_version $ver" \
    --define "nginx_src $tree" scripts/rpm/nginx-mod-stream-lua.spec >"$top/rpmbuild.log" 2>&1 \
    || { tail -40 "$top/rpmbuild.log"; exit 1; }
ls "$top"/RPMS/*/nginx-mod-stream-lua-"$ver"-*.rpm "$top"/SRPMS/*.src.rpm
