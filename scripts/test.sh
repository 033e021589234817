#!/usr/bin/env bash
# Checks formatting and lints, builds everything, starts the real servers some tests talk to (redis, memcached), checks the
# packaging (a rebuild under a running nginx, nginx's addon build, the RPM, Debian's packaged
# nginx 1.22), then runs every test: the codec crate's unit tests and the t/*.t
# Test::Nginx-format blocks (cargo test).
# TEST_PACKAGING=0 skips the packaging checks.
set -euo pipefail
cd "$(dirname "$0")/.."
# formatting and lints first: they take seconds and say the most about a change
cargo fmt --all --check
scripts/build.sh
cargo clippy --release --workspace --all-targets -- -D warnings
scripts/test-servers.sh
if [ "${TEST_PACKAGING:-1}" != 0 ]; then
    scripts/test-rebuild.sh
    scripts/test-addon.sh
    scripts/test-rpm.sh
    # Debian's packaged nginx is 1.22 on Debian 12 only
    if grep -q '^12' /etc/debian_version 2>/dev/null; then
        scripts/test-debian-nginx.sh
    else
        echo "test.sh: not Debian 12, Debian's packaged nginx 1.22 is not checked"
    fi
fi
# the unit tests of the pure crates (codecs), then the t/ suite
cargo test --release -p stream-lua-codec -p stream-lua-recv-pattern
cargo test --release "$@"
