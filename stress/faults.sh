#!/bin/bash
# Faults under load (docs/hardening.md): one nginx with the module (master
# + 1 worker) and a private redis-server on loopback; for each fault, wrk
# drives valid keys (thread 1) and invalid keys (thread 2) while the probe
# (stress/probe.pl) sends a timed request every 50 ms, and then:
#
#   - no worker crash: the error log has no "signal", "exited on", [alert]
#     or [emerg] line, and the worker's pid is the same;
#   - no invalid key ever got a 2xx;
#   - valid keys got 503 during the fault and 200 again within 2 s after;
#   - the worker holds no more file descriptors than before, and its RSS
#     grew by no more than FAULT_RSS_SLACK_KB (default 512).
#
#   stress/faults.sh                  every case once
#   stress/faults.sh pause fake-half  some cases
#   FAULT_ROUNDS=3 stress/faults.sh   every case three times
#
# Cases: kill9 pause sleep client-kill maxclients fake-garbage fake-half
# fake-close fake-wrong, and reload (five `nginx -s reload` 400 ms apart:
# the worker is replaced, so only the old one's exit code is judged, not
# its fds or RSS).  Each takes about 8 s.  Prints a table; exits 1
# if any assertion failed.  Work files: build/stress/faults/.
set -u

. "$(dirname "$0")/lib.sh"

ALL_CASES="kill9 pause sleep client-kill maxclients fake-garbage fake-half
           fake-close fake-wrong reload"
CASES=${*:-$ALL_CASES}
ROUNDS=${FAULT_ROUNDS:-1}
FAULT_SECS=${FAULT_SECS:-2}        # how long a sustained fault lasts
RSS_SLACK_KB=${FAULT_RSS_SLACK_KB:-512}
CONNS=${FAULT_CONNECTIONS:-8}      # wrk connections (half per key kind)

stress_init faults
redis_start || exit 2
redis_seed || exit 2
nginx_start || exit 2

stress_log "nginx $NGINX_BIN (worker $WORKER_PID) on $NGINX_PORT," \
           "redis on $REDIS_PORT; cases: $(echo $CASES)"

# warm-up: both Redis connections open, the worker's pools at their size
wrk_start "$STRESS_DIR/logs/warmup.wrk" 2 "$CONNS"
wait "$WRK_PID"

FIRST_FDS=$(worker_fds "$WORKER_PID")
FIRST_RSS=$(worker_rss_kb "$WORKER_PID")

# --- the faults: each returns when the fault is over -----------------------

fake_redis() {
    local mode=$1 pid
    redis_stop
    perl "$STRESS_ROOT/stress/fake-redis.pl" "$REDIS_PORT" "$mode" &
    pid=$!
    STRESS_PIDS+=("$pid")
    sleep "$FAULT_SECS"
    kill -TERM "$pid"
    wait "$pid" 2>/dev/null
    redis_start
}

fault() {
    case "$1" in
    kill9)
        redis_kill9
        sleep "$FAULT_SECS"
        redis_start ;;
    pause)
        redis_cli CLIENT PAUSE "$((FAULT_SECS * 1000))" >/dev/null
        sleep "$FAULT_SECS" ;;
    sleep)
        redis_cli DEBUG SLEEP "$FAULT_SECS" >/dev/null ;;
    client-kill)
        # ten kills of every normal client 200 ms apart
        local i
        for i in $(seq 1 10); do
            redis_cli CLIENT KILL TYPE normal >/dev/null
            sleep 0.2
        done ;;
    maxclients)
        perl "$STRESS_ROOT/stress/redis-hold.pl" "$REDIS_PORT" \
            "$FAULT_SECS" 4 ;;
    fake-garbage) fake_redis garbage ;;
    fake-half)    fake_redis half ;;
    fake-close)   fake_redis close ;;
    fake-wrong)   fake_redis wrong ;;
    reload)
        local i
        for i in $(seq 1 5); do
            kill -HUP "$(nginx_master)"
            sleep 0.4
        done ;;
    *)
        stress_log "unknown case $1"
        return 1 ;;
    esac
}

kind() {
    case "$1" in client-kill|reload) echo instant ;; *) echo sustained ;; esac
}

# --- one case -----------------------------------------------------------------

ROWS=()
FAILED=0

run_case() {
    local name=$1 round=$2 dir t0 t1 fds0 fds1 rss0 rss1 log0 bad
    local verdict res worker
    dir="$STRESS_DIR/logs/$name.$round"
    mkdir -p "$dir"

    fds0=$(worker_fds "$WORKER_PID")
    rss0=$(worker_rss_kb "$WORKER_PID")
    log0=$(error_log_size)

    wrk_start "$dir/wrk.out" 60 "$CONNS"
    probe_start "$dir/probe.log"
    sleep 1

    t0=$(now_ms)
    fault "$name"
    t1=$(now_ms)

    sleep 3
    probe_stop
    wrk_stop

    # let the last connections close before counting
    sleep 1
    worker=$(nginx_worker)
    fds1=$(worker_fds "$WORKER_PID")
    rss1=$(worker_rss_kb "$WORKER_PID")
    bad=$(error_log_bad "$log0")

    res=$(perl "$STRESS_ROOT/stress/analyze.pl" "$dir/wrk.out" \
              "$dir/probe.log" "$t0" "$t1" "$(kind "$name")")
    verdict=$?
    echo "$res" > "$dir/verdict"

    local notes=()
    [ $verdict -ne 0 ] && notes+=("$(echo "$res" | sed -n 's/^  FAILED: //p' | paste -sd';')")
    if [ "$name" = reload ]; then
        # the old workers must have exited normally, and one is left
        if [ -n "$bad" ] || [ -z "$worker" ] || tail -c +"$(( log0 + 1 ))" \
                "$STRESS_DIR/logs/error.log" | grep -q 'exited with code [1-9]'
        then
            notes+=("reload: worker $WORKER_PID -> ${worker:-none}; $(echo "$bad" | head -3 | paste -sd';')")
            verdict=1
        fi
        WORKER_PID=$worker
        fds0=$(worker_fds "$WORKER_PID")
        rss0=$(worker_rss_kb "$WORKER_PID")
        fds1=$fds0
        rss1=$rss0
    elif [ -n "$bad" ] || [ "$worker" != "$WORKER_PID" ]; then
        notes+=("crash: worker $WORKER_PID -> ${worker:-none}; $(echo "$bad" | head -3 | paste -sd';')")
        verdict=1
        WORKER_PID=$worker
    fi
    if [ "${fds1:-0}" -gt "${fds0:-0}" ]; then
        notes+=("fds $fds0 -> $fds1")
        verdict=1
    fi
    if [ $(( ${rss1:-0} - ${rss0:-0} )) -gt "$RSS_SLACK_KB" ]; then
        notes+=("RSS +$(( rss1 - rss0 )) kB")
        verdict=1
    fi

    local f
    f() { echo "$res" | head -1 | tr ' ' '\n' | sed -n "s/^$1=//p"; }

    ROWS+=("$(printf '%-13s %7s/%-7s %7s/%-7s %3s  %4s/%-4s %3s/%-3s %5s  %6s  %3s->%-3s %6s->%-6s %s' \
        "$name" "$(f valid_200)" "$(f valid_503)" "$(f invalid_401)" \
        "$(f invalid_503)" "$(f invalid_2xx)" "$(f during_503)" \
        "$(f during_200)" "$(f valid_other)" "$(f invalid_other)" \
        "${bad:+yes}" "$(f recovery_ms)" "$fds0" "$fds1" "$rss0" "$rss1" \
        "$([ $verdict -eq 0 ] && echo ok || echo "FAIL ${notes[*]}")")")

    [ $verdict -ne 0 ] && FAILED=$((FAILED + 1))
    stress_log "$name (round $round): $(echo "$res" | head -1)"
}

for round in $(seq 1 "$ROUNDS"); do
    for c in $CASES; do
        run_case "$c" "$round"
    done
done

LAST_FDS=$(worker_fds "$WORKER_PID")
LAST_RSS=$(worker_rss_kb "$WORKER_PID")

echo
echo "Faults under load: nginx $($NGINX_BIN -v 2>&1 | sed 's/.*\///'), 1 worker," \
     "validibot_redis_timeout ${REDIS_TIMEOUT:-300ms}, wrk -t2 -c$CONNS," \
     "fault ${FAULT_SECS} s, $ROUNDS round(s)"
echo
printf '%-13s %15s %15s %3s  %9s %7s %5s  %6s  %8s %13s %s\n' \
    case "valid" "invalid" "inv" "probe" "other" "crash" "recov" \
    "fds" "RSS kB" result
printf '%-13s %15s %15s %3s  %9s %7s %5s  %6s  %8s %13s\n' \
    "" "200/503" "401/503" "2xx" "503/200" "val/inv" "" "ms" \
    "bef->aft" "bef->aft"
printf '%s\n' "${ROWS[@]}"
echo
echo "worker $WORKER_PID: fds $FIRST_FDS -> $LAST_FDS," \
     "RSS $FIRST_RSS -> $LAST_RSS kB over all cases"
echo "probe 503/200: the probe's valid-key answers while the fault lasted;" \
     "recov: ms from the end of the fault to the probe's first 200"

if [ "$FAILED" -gt 0 ]; then
    echo "faults: $FAILED case(s) FAILED (details: $STRESS_DIR/logs)"
    exit 1
fi
echo "faults: all cases passed"
exit 0
