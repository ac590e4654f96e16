#!/bin/bash
# Soak (docs/hardening.md): SOAK_REQUESTS (default 1,000,000) requests
# through one nginx worker with the module, half with valid keys (wrk
# thread 1), half with invalid ones of every kind (thread 2), against a
# private redis-server on loopback.  The worker's VmRSS is read after a
# warm-up of SOAK_WARMUP requests and again after the run; the run fails
# when it grew by more than SOAK_MAX_GROWTH_KB (default 1024), when a
# valid key got anything but 200, when an invalid key got anything but
# 401, or when the worker crashed.
#
#   stress/soak.sh
#   SOAK_REQUESTS=200000 stress/soak.sh
#
# Work files: build/stress/soak/.
set -u

. "$(dirname "$0")/lib.sh"

REQUESTS=${SOAK_REQUESTS:-1000000}
WARMUP=${SOAK_WARMUP:-100000}
MAX_GROWTH_KB=${SOAK_MAX_GROWTH_KB:-1024}
CONNS=${SOAK_CONNECTIONS:-16}

stress_init soak
redis_start || exit 2
redis_seed || exit 2
nginx_start || exit 2

stress_log "nginx $NGINX_BIN (worker $WORKER_PID) on $NGINX_PORT," \
           "redis on $REDIS_PORT"

# each wrk thread stops after its share (quota) of responses; -d is only a
# bound
run_wrk() {
    local out=$1 total=$2
    wrk_start "$out" 1200 "$CONNS" "$(( total / 2 ))"
    wrk_wait_quota "$out"
}

log0=$(error_log_size)

stress_log "warm-up: $WARMUP requests"
run_wrk "$STRESS_DIR/logs/warmup.wrk" "$WARMUP"
sleep 1
fds0=$(worker_fds "$WORKER_PID")
rss0=$(worker_rss_kb "$WORKER_PID")

stress_log "soak: $REQUESTS requests (RSS now $rss0 kB, $fds0 fds)"
start=$(now_ms)
run_wrk "$STRESS_DIR/logs/soak.wrk" "$REQUESTS"
end=$(now_ms)
sleep 1
fds1=$(worker_fds "$WORKER_PID")
rss1=$(worker_rss_kb "$WORKER_PID")
worker=$(nginx_worker)
bad=$(error_log_bad "$log0")

out=$STRESS_DIR/logs/soak.wrk
total=$(sed -n 's/^total //p' "$out")
count() {
    awk -v c="$1" -v s="$2" '$1 == "status" && $2 == c && ($3 == s || s == "*") \
        { n += $4 } END { print n + 0 }' "$out"
}
v200=$(count valid 200)
vall=$(count valid '*')
i401=$(count invalid 401)
iall=$(count invalid '*')
i2xx=$(awk '$1 == "status" && $2 == "invalid" && $3 >= 200 && $3 < 300 \
            { n += $4 } END { print n + 0 }' "$out")
growth=$(( rss1 - rss0 ))
secs=$(( (end - start) / 1000 ))
[ "$secs" -gt 0 ] || secs=1

fail=()
[ "${total:-0}" -ge "$REQUESTS" ] || fail+=("only ${total:-0} responses")
[ "$i2xx" -eq 0 ] || fail+=("$i2xx invalid key(s) got 2xx")
[ "$v200" -eq "$vall" ] || fail+=("$(( vall - v200 )) valid key(s) not 200")
[ "$i401" -eq "$iall" ] || fail+=("$(( iall - i401 )) invalid key(s) not 401")
[ "$growth" -le "$MAX_GROWTH_KB" ] || fail+=("RSS grew $growth kB")
[ "$fds1" -le "$fds0" ] || fail+=("fds $fds0 -> $fds1")
if [ -n "$bad" ] || [ "$worker" != "$WORKER_PID" ]; then
    fail+=("worker crash: $(echo "$bad" | head -3 | paste -sd';')")
fi

echo
echo "Soak: nginx $($NGINX_BIN -v 2>&1 | sed 's/.*\///'), 1 worker," \
     "wrk -t2 -c$CONNS, valid and invalid keys half and half"
echo
printf '  %-28s %s\n' \
    "requests" "$total in $secs s ($(( total / secs )) req/s), after a warm-up of $WARMUP" \
    "valid keys" "$vall: $v200 x 200" \
    "invalid keys" "$iall: $i401 x 401, $i2xx x 2xx" \
    "statuses" "$(grep '^status' "$out" | awk '{ printf "%s/%s=%s ", $2, $3, $4 }')" \
    "wrk socket errors" "$(sed -n 's/^errors //p' "$out")" \
    "worker VmRSS" "$rss0 kB -> $rss1 kB ($growth kB, limit $MAX_GROWTH_KB)" \
    "worker fds" "$fds0 -> $fds1" \
    "crash lines in error.log" "${bad:-none}"
echo

if [ ${#fail[@]} -gt 0 ]; then
    printf 'soak: FAILED: %s\n' "${fail[@]}"
    exit 1
fi
echo "soak: passed"
exit 0
