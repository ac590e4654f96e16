#!/bin/sh
# `make stop`: ends what `make run` started.
top=$(cd "$(dirname "$0")/.." && pwd)
run=$top/run
[ -f "$run/logs/nginx.pid" ] && /usr/sbin/nginx -p "$run/" -c "$run/nginx.conf" -s stop
[ -f "$run/redis.pid" ] && kill "$(cat "$run/redis.pid")" 2>/dev/null
rm -f "$run/redis.pid"
exit 0
