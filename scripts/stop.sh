#!/bin/sh
# `make stop`: ends what `make run` (or `make demo-sync`) started, and waits until it is gone
# (a Redis still shutting down would remove the next one's socket).
top=$(cd "$(dirname "$0")/.." && pwd)
run=$top/run

if [ -f "$run/logs/nginx.pid" ]; then
    /usr/sbin/nginx -p "$run/" -c "$run/nginx.conf" -s stop 2>/dev/null
fi

# make demo-sync: the bridge, then its PostgreSQL
if [ -f "$run/sync.pid" ]; then
    pid=$(cat "$run/sync.pid")
    kill "$pid" 2>/dev/null
    for _ in $(seq 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    rm -f "$run/sync.pid"
fi

if [ -f "$run/pg/postmaster.pid" ]; then
    if [ "$(id -u)" = 0 ]; then
        runuser -u nobody -- /usr/lib/postgresql/15/bin/pg_ctl -D "$run/pg" \
            -m fast -w stop >/dev/null 2>&1
    else
        /usr/lib/postgresql/15/bin/pg_ctl -D "$run/pg" -m fast -w stop \
            >/dev/null 2>&1
    fi
fi

if [ -f "$run/redis.pid" ]; then
    pid=$(cat "$run/redis.pid")
    kill "$pid" 2>/dev/null
    for _ in $(seq 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    rm -f "$run/redis.pid"
fi

exit 0
