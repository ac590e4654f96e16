#!/bin/bash
# Runs a command and says how long it took (make test's stages: their
# times are in CI's log, docs/testing.md "What make test costs").
#
#   scripts/timed.sh NAME COMMAND [ARG...]
name=$1
shift
start=$(date +%s)
"$@"
rc=$?
echo "make test: $name: exit $rc, $(($(date +%s) - start)) s" \
     "(load average $(cut -d' ' -f1-3 /proc/loadavg))" >&2
exit $rc
