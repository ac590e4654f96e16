#!/bin/bash
# make test (CI, .ci/run): every stage, the independent ones at once
# (docs/testing.md, "What make test runs").  The machine has 2 cores and
# the suites spend about half their time waiting (sleeps, timeouts,
# nginx start-up), so three lanes share them:
#
#   lane 1   build -> unit -> t+tools/t -> trixie t/
#   lane 2   asan-build -> asan (t/ in two shards at once)
#   lane 3   trixie-build (nginx 1.26 built only), then fuzz; niced
#
# Each stage's output goes to build/make-test/<stage>.log and is printed
# whole when the stage ends (one stage at a time on the console, so
# stages running at once do not interleave), ending with the
# `make test: <stage>: exit N, S s, CPU C s (load average ...)` line of
# scripts/timed.sh.  A failed stage skips the stages after it in its lane;
# the other lanes finish; then the failed stages are named again with
# their logs, and the exit status is 1.
set -u

cd "$(dirname "$0")/.." || exit 2
ROOT=$(pwd)
BUILD=${BUILD:-$ROOT/build}
MAKE=${MAKE:-make}
LOGS=$BUILD/make-test

rm -rf "$LOGS"
mkdir -p "$LOGS"
start=$(date +%s)

# the log of stage NAME ("t+tools/t" -> t+tools-t.log)
log_of() {
    echo "$LOGS/${1//\//-}.log"
}

# stage NAME COMMAND [ARG...]
stage() {
    local name=$1 log rc
    shift

    log=$(log_of "$name")

    echo "make test: $name: started" \
         "(load average $(cut -d' ' -f1-3 /proc/loadavg))" >&2
    bash "$ROOT/scripts/timed.sh" "$name" "$@" >"$log" 2>&1 </dev/null
    rc=$?
    {
        flock 8
        echo "======== $name ($log)"
        cat "$log"
    } 8>>"$LOGS/console.lock" >&2
    if [ "$rc" -ne 0 ]; then
        echo "$name" >>"$LOGS/failed"
    fi
    return "$rc"
}

# a stage not run because one before it in its lane failed
skipped() {
    echo "make test: $1: skipped ($2 failed)" >&2
    echo "$1 ($2 failed)" >>"$LOGS/skipped"
}

lane1() {
    stage build "$MAKE" -s module tools || {
        skipped unit build; skipped t+tools/t build; skipped trixie build
        return 1; }
    stage unit "$MAKE" -s unit-test || true
    VALIDIBOT_TOKEN_BIN=$BUILD/validibot-token \
    VALIDIBOT_MODULE_SO=$BUILD/ngx_http_validibot_module.so \
        stage t+tools/t bash scripts/test.sh t/ tools/t/ || true
    # trixie's nginx is built by lane 3 meanwhile
    while [ ! -f "$LOGS/trixie-build.done" ]; do
        sleep 1
    done
    if grep -qx trixie-build "$LOGS/failed" 2>/dev/null; then
        skipped trixie trixie-build
        return 1
    fi
    stage trixie bash scripts/compat.sh trixie
}

lane2() {
    stage asan-build "$MAKE" -s asan-build || {
        skipped asan asan-build; return 1; }
    stage asan "$MAKE" -s test-asan ASAN_SHARDS=2
}

# niced: its CPU goes to the other lanes first (the ASan build and suite
# are the longest path; the suites' timing is better kept undisturbed).
# trixie's nginx is built first, lane 1 waits for it.
lane3() {
    COMPAT_BUILD_ONLY=1 stage trixie-build nice -n 10 \
        bash scripts/compat.sh trixie
    touch "$LOGS/trixie-build.done"
    stage fuzz nice -n 10 "$MAKE" -s fuzz-smoke
}

lane1 & p1=$!
lane2 & p2=$!
lane3 & p3=$!
wait $p1 $p2 $p3

total=$(($(date +%s) - start))
if [ -s "$LOGS/failed" ] || [ -s "$LOGS/skipped" ]; then
    echo >&2
    while read -r name; do
        echo "======== FAILED: $name ($(log_of "$name"), last 60 lines)" >&2
        tail -60 "$(log_of "$name")" >&2
    done <"$LOGS/failed"
    echo "make test: FAILED in $total s: $(paste -sd' ' "$LOGS/failed")" \
         "$( [ -s "$LOGS/skipped" ] && echo "; skipped:" \
             "$(paste -sd, "$LOGS/skipped")")" >&2
    exit 1
fi
echo "make test: all stages passed in $total s" \
     "(load average $(cut -d' ' -f1-3 /proc/loadavg))" >&2
