# Shared by stress/faults.sh and stress/soak.sh (sourced, bash): a private
# redis-server and nginx (1 worker, master on) with the module, on free
# loopback ports, in a work directory; measurements of the worker.
#
# Environment (defaults):
#   NGINX_BIN    /usr/sbin/nginx
#   MODULE_SO    build/ngx_http_validibot_module.so
#   STRESS_DIR   build/stress/<name>   (work directory, logs)
#
# Every process started here is recorded by pid and stopped by pid in
# stress_cleanup (an EXIT trap).

STRESS_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
NGINX_BIN=${NGINX_BIN:-/usr/sbin/nginx}
MODULE_SO=${MODULE_SO:-$STRESS_ROOT/build/ngx_http_validibot_module.so}
STRESS_PIDS=()

stress_log() { echo "$(basename "$0"): $*" >&2; }

now_ms() { date +%s%3N; }

. "$STRESS_ROOT/scripts/lib.sh"

# stress_init NAME: work directory and ports
stress_init() {
    STRESS_DIR=${STRESS_DIR:-$STRESS_ROOT/build/stress/$1}
    rm -rf "$STRESS_DIR"
    mkdir -p "$STRESS_DIR"/{redis,keys,logs,html/api,conf,tmp}
    REDIS_PORT=$(free_port)
    NGINX_PORT=$(free_port)
    export TEST_NGINX_REDIS_PORT=$REDIS_PORT
    export TEST_VALIDIBOT_REDIS_DIR=$STRESS_DIR/redis
    export TEST_VALIDIBOT_KEY_DIR=$STRESS_DIR/keys
    URL="http://127.0.0.1:$NGINX_PORT/api/ok"

    if [ ! -f "$MODULE_SO" ]; then
        stress_log "$MODULE_SO is not built (make module)"
        exit 2
    fi
    trap stress_cleanup EXIT
    trap 'exit 130' INT TERM
}

stress_cleanup() {
    local pid
    nginx_stop
    redis_stop
    for pid in "${STRESS_PIDS[@]}"; do
        kill "$pid" 2>/dev/null
    done
}

# --- Redis: the data come back from seed.rdb at every start ----------------

redis_pid() { cat "$STRESS_DIR/redis/redis.pid" 2>/dev/null; }

redis_cli() { redis-cli -h 127.0.0.1 -p "$REDIS_PORT" "$@"; }

redis_start() {
    local i
    redis-server --port "$REDIS_PORT" --bind 127.0.0.1 \
        --save '' --appendonly no --enable-debug-command local \
        --dir "$STRESS_DIR/redis" --dbfilename seed.rdb \
        --daemonize yes --pidfile "$STRESS_DIR/redis/redis.pid" \
        --logfile "$STRESS_DIR/redis/redis.log" "$@" || return 1
    for i in $(seq 1 200); do
        [ "$(redis_cli PING 2>/dev/null)" = PONG ] && return 0
        sleep 0.02
    done
    stress_log "redis-server did not answer PING"
    return 1
}

# the pid file goes away when Redis exits normally, not after kill -9
redis_wait_gone() {
    local pid=$1 i
    for i in $(seq 1 200); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.02
    done
    return 1
}

redis_stop() {
    local pid
    pid=$(redis_pid)
    [ -n "$pid" ] || return 0
    kill "$pid" 2>/dev/null && redis_wait_gone "$pid"
    rm -f "$STRESS_DIR/redis/redis.pid"
}

redis_kill9() {
    local pid
    pid=$(redis_pid)
    [ -n "$pid" ] || return 1
    kill -9 "$pid"
    redis_wait_gone "$pid"
    rm -f "$STRESS_DIR/redis/redis.pid"
}

# writes the key files and saves the data to seed.rdb
redis_seed() {
    perl -I"$STRESS_ROOT/t/lib" "$STRESS_ROOT/stress/seed.pl" \
        "$STRESS_DIR/keys" || return 1
    redis_cli SAVE >/dev/null
}

# --- nginx: master + 1 worker ----------------------------------------------

nginx_conf() {
    echo ok > "$STRESS_DIR/html/api/ok"
    cat > "$STRESS_DIR/conf/nginx.conf" <<EOF
load_module $MODULE_SO;
worker_processes 1;
daemon on;
master_process on;
error_log $STRESS_DIR/logs/error.log ${NGINX_LOG_LEVEL:-notice};
pid $STRESS_DIR/logs/nginx.pid;

events {
    worker_connections 4096;
}

http {
    access_log off;
    client_body_temp_path $STRESS_DIR/tmp;
    proxy_temp_path $STRESS_DIR/tmp;
    fastcgi_temp_path $STRESS_DIR/tmp;
    uwsgi_temp_path $STRESS_DIR/tmp;
    scgi_temp_path $STRESS_DIR/tmp;

    validibot_redis ${REDIS_URL:-redis://127.0.0.1:$REDIS_PORT/0};
    validibot_redis_timeout ${REDIS_TIMEOUT:-300ms};
    validibot_digest_key 1 $STRESS_DIR/keys/digest-v1.key;

    server {
        listen 127.0.0.1:$NGINX_PORT;
        root $STRESS_DIR/html;

        # the static file handler runs after the access phase
        location /api/ {
            validibot_auth stress;
        }
    }
}
EOF
}

nginx_start() {
    local i
    nginx_conf
    "$NGINX_BIN" -p "$STRESS_DIR/" -c "$STRESS_DIR/conf/nginx.conf" \
        -e "$STRESS_DIR/logs/error.log" || return 1
    for i in $(seq 1 100); do
        WORKER_PID=$(nginx_worker)
        [ -n "$WORKER_PID" ] && return 0
        sleep 0.05
    done
    stress_log "nginx has no worker"
    return 1
}

nginx_master() { cat "$STRESS_DIR/logs/nginx.pid" 2>/dev/null; }

nginx_worker() {
    local m
    m=$(nginx_master)
    [ -n "$m" ] || return 0
    cat "/proc/$m/task/$m/children" 2>/dev/null | awk '{ print $1 }'
}

nginx_stop() {
    local m i
    m=$(nginx_master)
    [ -n "$m" ] || return 0
    kill -QUIT "$m" 2>/dev/null || return 0
    for i in $(seq 1 100); do
        kill -0 "$m" 2>/dev/null || return 0
        sleep 0.05
    done
    kill -9 "$m" 2>/dev/null
}

# --- measurements of the worker --------------------------------------------

worker_fds() { ls "/proc/$1/fd" 2>/dev/null | wc -l; }

worker_rss_kb() {
    awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null
}

# lines of the error log that mean a crash or worse, from byte offset $1
# (the master's "signal N (SIG...) received" notices of a reload aside)
error_log_bad() {
    tail -c +"$(( $1 + 1 ))" "$STRESS_DIR/logs/error.log" \
        | grep -E 'signal|exited on|\[alert\]|\[emerg\]|Sanitizer|runtime error' \
        | grep -vE '\[notice\] [0-9#]+: signal [0-9]+ \(SIG(HUP|CHLD|QUIT|IO)\) received' \
        || true
}

error_log_size() { stat -c %s "$STRESS_DIR/logs/error.log" 2>/dev/null || echo 0; }

# --- load -------------------------------------------------------------------

# wrk_start OUT SECONDS CONNECTIONS [QUOTA]: two threads, the first sends
# valid keys, the second invalid ones; results in OUT at the end.  With a
# QUOTA, each thread stops after that many responses and creates
# OUT.done.<valid|invalid> (wrk_wait_quota).
wrk_start() {
    local out=$1 secs=$2 conns=$3 quota=${4:-0}
    rm -f "$out".done.*
    wrk -t2 -c"$conns" -d"${secs}s" --timeout 5s \
        -s "$STRESS_ROOT/stress/keys.lua" "$URL" -- \
        "$STRESS_DIR/keys/valid.txt" "$STRESS_DIR/keys/invalid.txt" \
        "$quota" "$out.done" > "$out" 2>&1 &
    WRK_PID=$!
    STRESS_PIDS+=("$WRK_PID")
}

# until both threads reached their quota (or wrk ended), then stop wrk
wrk_wait_quota() {
    local out=$1
    while kill -0 "$WRK_PID" 2>/dev/null; do
        [ -f "$out.done.valid" ] && [ -f "$out.done.invalid" ] && break
        sleep 0.2
    done
    wrk_stop
}

# SIGINT: wrk stops and still prints its summary and done()
wrk_stop() {
    kill -INT "$WRK_PID" 2>/dev/null
    wait "$WRK_PID" 2>/dev/null
}

probe_start() {
    perl "$STRESS_ROOT/stress/probe.pl" "$NGINX_PORT" \
        "$STRESS_DIR/keys/valid.txt" "$STRESS_DIR/keys/invalid.txt" \
        > "$1" &
    PROBE_PID=$!
    STRESS_PIDS+=("$PROBE_PID")
}

probe_stop() {
    kill -TERM "$PROBE_PID" 2>/dev/null
    wait "$PROBE_PID" 2>/dev/null
}
