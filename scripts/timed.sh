#!/bin/bash
# Runs a command and says how long it took (make test's stages: their
# times are in CI's log, docs/testing.md "What make test runs"), and how
# much CPU it and the children it waited for used (daemons such as the
# tests' Redis are not counted): on a shared machine the wall time says
# more about the load than about the stage.
#
#   scripts/timed.sh NAME COMMAND [ARG...]
name=$1
shift
start=$(date +%s)
"$@"
rc=$?
# `times`' second line: the children's user and system time, "1m2.345s"
# (run in this shell, not in a pipe's subshell, which has no children)
tmp=$(mktemp)
times >"$tmp"
cpu=$(awk 'NR == 2 {
    for (i = 1; i <= 2; i++) { split($i, t, /[ms]/); s += t[1] * 60 + t[2] }
    printf "%.0f", s }' "$tmp")
rm -f "$tmp"
echo "make test: $name: exit $rc, $(($(date +%s) - start)) s," \
     "CPU $cpu s (load average $(cut -d' ' -f1-3 /proc/loadavg))" >&2
exit $rc
