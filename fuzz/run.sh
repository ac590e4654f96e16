#!/bin/sh
# fuzz/run.sh BUILD_DIR TARGET SECONDS
#
# Runs one libFuzzer target for SECONDS with its dictionary, growing a
# working corpus under BUILD_DIR/corpus/TARGET from the seeds in
# fuzz/corpus/TARGET (which stay untouched).  Prints one summary line;
# on a crash prints the report's head and exits non-zero, leaving the
# input in BUILD_DIR/artifacts/.
set -u

dir=$1 target=$2 seconds=$3
top=$(cd "$(dirname "$0")/.." && pwd)
work=$dir/corpus/$target
log=$dir/$target.log

mkdir -p "$work" "$dir/artifacts"

"$dir/$target" -max_total_time="$seconds" -print_final_stats=1 \
    -timeout=10 -rss_limit_mb=2048 -dict="$top/fuzz/$target.dict" \
    -artifact_prefix="$dir/artifacts/$target-" \
    "$work" "$top/fuzz/corpus/$target" >"$log" 2>&1
rc=$?

execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
files=$(ls "$work" | wc -l)

if [ $rc -ne 0 ]; then
    echo "$target: FAILED (exit $rc) after ${execs:-?} executions; log: $log"
    grep -m1 -A25 -E '^==[0-9]+==|runtime error|deadly signal' "$log"
    ls "$dir/artifacts/$target-"* 2>/dev/null
    exit 1
fi

echo "$target: ${execs:-?} executions in ${seconds} s" \
     "(${rate:-?}/s), $cov, corpus $files files, 0 crashes"
