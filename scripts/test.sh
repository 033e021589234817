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
    # the build option that links the system's LuaJIT (Debian's OpenResty branch)
    scripts/test-system-luajit.sh
    # Debian's packaged nginx is 1.22 on Debian 12 only
    if grep -q '^12' /etc/debian_version 2>/dev/null; then
        scripts/test-debian-nginx.sh
    else
        echo "test.sh: not Debian 12, Debian's packaged nginx 1.22 is not checked"
    fi
fi
# the unit tests of the workspace's pure crates (codecs, the test runner's own checks, ...)
# and the module's own (pure helpers; a debug build: `--lib` picks them although Cargo.toml
# leaves them out of a plain `cargo test`), then the t/ suite
cargo test --release --workspace --exclude stream-lua-rs
cargo test --lib
cargo test --release "$@"
TEST_NGINX_USE_HUP=1 cargo test --release --test t -- t/001-content.t t/004-log.t t/015-sleep.t t/016-req-socket.t t/018-preread.t t/022-timer.t t/030-thread.t t/034-socket-tcp.t t/042-shdict.t t/043-regex.t t/052-balancer.t t/086-cosocket-buffer-release.t
# abusive clients, short (~25 s): every workload but the 10,000 idle connections, whose RSS
# needs the full run's warm-up to settle (scripts/abuse.sh full for all of them)
scripts/abuse.sh quick slowloris reset-request reset-response half-close long-lines udp-flood dead-backends
# a short soak: 300,000 connections through a mixed Lua workload and 100,000 pending timers,
# every answer checked, the worker's memory and fds flat (scripts/soak.sh 1000000 for the
# full one)
scripts/soak.sh 300000 16
# reloads under load, short (~20 s): 10 reloads under short and long connections, timers,
# dict writes and a cosocket pool (scripts/reload-soak.sh for the default 20)
scripts/reload-soak.sh 10 0.5 300000
