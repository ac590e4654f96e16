#!/bin/bash
# Sentinel failover under load (docs/hardening.md, docs/production.md):
# a master (the seeded stress Redis), a replica and three redis-sentinel
# processes on loopback; nginx (master + 1 worker) with
# validibot_redis sentinel://...; wrk sends valid and invalid keys and
# the probe a request every 50 ms while the master is killed (kill -9).
# Then, as for stress/faults.sh:
#
#   - no invalid key ever got a 2xx;
#   - valid keys got only 200 or 503: 503 while no master answered,
#     200 again within 2 s of the sentinels naming the promoted replica;
#   - no worker crash.
#
# Reports the failover time (kill to the sentinels naming the replica,
# which Sentinel's down-after-milliseconds, 1000 here, mostly makes) and
# the time from the kill to the probe's first 200.  Work files:
# build/stress/sentinel/.
set -u

. "$(dirname "$0")/lib.sh"

stress_init sentinel

REPLICA_PORT=$(free_port)
SENTINEL_PORTS=()
for i in 1 2 3; do SENTINEL_PORTS+=("$(free_port)"); done
SDIR=$STRESS_DIR/sentinel
mkdir -p "$SDIR"

sentinel_cleanup() {
    local f
    for f in "$SDIR"/*.pid; do
        [ -f "$f" ] && kill -9 "$(cat "$f")" 2>/dev/null
    done
    stress_cleanup
}
trap sentinel_cleanup EXIT

scli() { redis-cli -h 127.0.0.1 -p "$1" "${@:2}"; }

# wait_for SECONDS WHAT COMMAND...: polls every 0.1 s
wait_for() {
    local secs=$1 what=$2 i
    shift 2
    for i in $(seq 1 $((secs * 10))); do
        "$@" && return 0
        sleep 0.1
    done
    stress_log "gave up waiting for $what"
    return 1
}

redis_start || exit 2
redis_seed || exit 2

redis-server --port "$REPLICA_PORT" --bind 127.0.0.1 --save '' \
    --appendonly no --replicaof 127.0.0.1 "$REDIS_PORT" --dir "$SDIR" \
    --daemonize yes --pidfile "$SDIR/replica.pid" \
    --logfile "$SDIR/replica.log" || exit 2

i=0
for p in "${SENTINEL_PORTS[@]}"; do
    i=$((i + 1))
    cat > "$SDIR/sentinel$i.conf" <<CONF
port $p
bind 127.0.0.1
daemonize yes
pidfile $SDIR/sentinel$i.pid
logfile $SDIR/sentinel$i.log
dir $SDIR
sentinel monitor mymaster 127.0.0.1 $REDIS_PORT 2
sentinel down-after-milliseconds mymaster 1000
sentinel failover-timeout mymaster 10000
CONF
    redis-sentinel "$SDIR/sentinel$i.conf" || exit 2
done

ready() {
    local p
    scli "$REPLICA_PORT" INFO replication | grep -q 'master_link_status:up' \
        || return 1
    for p in "${SENTINEL_PORTS[@]}"; do
        scli "$p" SENTINEL MASTER mymaster | paste - - \
            | grep -q '^num-other-sentinels	2' || return 1
        scli "$p" SENTINEL MASTER mymaster | paste - - \
            | grep -q '^num-slaves	1' || return 1
    done
}
wait_for 60 "the Sentinel set-up" ready || exit 1

REDIS_URL="sentinel://$(printf '127.0.0.1:%s,' "${SENTINEL_PORTS[@]}" \
                        | sed 's/,$//')/mymaster"
REDIS_TIMEOUT=${REDIS_TIMEOUT:-300ms}
export REDIS_URL REDIS_TIMEOUT
NGINX_LOG_LEVEL=info nginx_start || exit 2

stress_log "nginx (worker $WORKER_PID) on $NGINX_PORT; master $REDIS_PORT," \
           "replica $REPLICA_PORT, sentinels ${SENTINEL_PORTS[*]}"

wrk_start "$STRESS_DIR/logs/warmup.wrk" 2 8
wait "$WRK_PID"

dir=$STRESS_DIR/logs/failover
mkdir -p "$dir"
log0=$(error_log_size)

promoted() {
    scli "${SENTINEL_PORTS[0]}" SENTINEL GET-MASTER-ADDR-BY-NAME mymaster \
        | grep -qx "$REPLICA_PORT"
}

wrk_start "$dir/wrk.out" 60 8
probe_start "$dir/probe.log"
sleep 1

t0=$(now_ms)
redis_kill9
wait_for 60 "a promotion" promoted || exit 1
t1=$(now_ms)

sleep 3
probe_stop
wrk_stop
sleep 1

worker=$(nginx_worker)
bad=$(error_log_bad "$log0")

res=$(perl "$STRESS_ROOT/stress/analyze.pl" "$dir/wrk.out" "$dir/probe.log" \
          "$t0" "$t1" sustained)
verdict=$?

# the probe's first 503 after the kill, and its first 200 after that
read -r first_503 first_ok < <(awk -v t0="$t0" '
    $1 >= t0 && $2 == "valid" && $3 == 503 && !b { b = $1 - t0 }
    $1 >= t0 && $2 == "valid" && $3 == 200 && b  { print b, $1 - t0; exit }
    END { if (!b) print "never never" }' "$dir/probe.log")

echo
echo "Sentinel failover under load: master killed (kill -9) under wrk -t2 -c8,"
echo "validibot_redis_timeout $REDIS_TIMEOUT, down-after-milliseconds 1000"
echo
echo "  $res" | head -1
echo "  failover: $((t1 - t0)) ms from the kill to the sentinels naming the" \
     "replica"
echo "  valid keys: 503 from ${first_503:-?} ms after the kill, 200 again" \
     "${first_ok:-never} ms after the kill"
grep -a 'the sentinels name' "$STRESS_DIR/logs/error.log" | tail -2 \
    | sed 's/^/  /'

if [ $verdict -ne 0 ] || [ -n "$bad" ] || [ "$worker" != "$WORKER_PID" ]; then
    echo "$res" | sed -n 's/^  FAILED: /  FAILED: /p'
    [ -n "$bad" ] && echo "  bad log lines: $(echo "$bad" | head -3)"
    [ "$worker" != "$WORKER_PID" ] && echo "  worker $WORKER_PID -> $worker"
    echo "sentinel: FAILED (details: $STRESS_DIR/logs)"
    exit 1
fi
echo "sentinel: passed"
exit 0
