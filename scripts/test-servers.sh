#!/usr/bin/env bash
# Starts the real peers some cosocket tests talk to: a redis-server and a memcached from
# Debian's packages, on ports of their own (TEST_NGINX_REDIS_PORT, TEST_NGINX_MEMCACHED_PORT),
# installing them first when missing. Servers already listening there are reused.
set -euo pipefail
REDIS_PORT=${TEST_NGINX_REDIS_PORT:-16379}
MEMCACHED_PORT=${TEST_NGINX_MEMCACHED_PORT:-11212}

need=()
command -v redis-server >/dev/null || need+=(redis-server)
command -v memcached >/dev/null || need+=(memcached)
dpkg -s lua-cjson >/dev/null 2>&1 || need+=(lua-cjson)   # t/054: a distro Lua C module
if [ ${#need[@]} -gt 0 ]; then
    echo "test-servers: installing ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q "${need[@]}" >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q "${need[@]}" >/dev/null; }
fi

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
# (descriptors above 2 are closed so that the daemons hold nothing of their caller's)
if ! listening "$REDIS_PORT"; then
    redis-server --daemonize yes --bind 127.0.0.1 --port "$REDIS_PORT" --save '' --appendonly no \
        >/dev/null 2>&1 3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&-
fi
if ! listening "$MEMCACHED_PORT"; then
    memcached -d -u root -l 127.0.0.1 -p "$MEMCACHED_PORT" -U 0 \
        >/dev/null 2>&1 3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&-
fi
for port in "$REDIS_PORT" "$MEMCACHED_PORT"; do
    for _ in $(seq 1 50); do listening "$port" && break; sleep 0.1; done
    listening "$port" || { echo "test-servers: nothing listens on $port" >&2; exit 1; }
done
echo "test-servers: redis on $REDIS_PORT, memcached on $MEMCACHED_PORT"
