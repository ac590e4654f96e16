#!/usr/bin/env bash
# `make bench` / `make bench-quick`: the same proxied request through
#
#   baseline      nginx proxying, no authentication
#   module-cold   ngx_http_validibot_module, 10,000 keys in rotation
#   module-hot    the module, 10 keys in rotation
#   module-assertion  module-hot plus validibot_assertion: the signed
#                 identity assertion for the upstream (docs/upstream.md)
#   module-script the module with validibot_owner_hints off: the lookup
#                 script on every request, 10,000 keys
#   module-cache-hot   the module with validibot_cache, 10 keys
#   module-cache-cold  the module with validibot_cache, 10,000 keys
#   module-tls    module-cold over rediss:// (TLS 1.3 to the same Redis)
#   lua           access_by_lua + lua-nginx-redis doing the same check
#   lua-cache-hot the same with successes kept 1 s in a resty.lrucache
#                 (fast, but a revoked key works on for up to a second),
#                 10 keys
#   auth_request  auth_request to an auth service doing the same check
#
# one nginx worker under test (pinned to one CPU), wrk on loopback (pinned
# to the other, with Redis and the upstream), variants alternated over
# several rounds, each compared with the baseline of its own round.  Then
# instructions per request under callgrind.  docs/performance.md explains
# the method; the table goes to bench/results.md.
#
# Knobs (environment): BENCH_ROUNDS (3), BENCH_DURATION (5 s),
# BENCH_WARMUP (1 s), BENCH_CONNECTIONS (64), BENCH_POOL (2, the module's
# validibot_redis_connections), BENCH_LUA_POOL (100, set_keepalive pool),
# BENCH_CALLGRIND (1), BENCH_CG_N1/N2 (200/2200 requests),
# BENCH_CG_VARIANTS (a subset of the callgrind runs, for experiments),
# BENCH_RESULTS (where the markdown goes), BENCH_NGINX_CPU (0),
# BENCH_LOAD_CPU (1), BENCH_UPSTREAM (process, the default: a separate
# nginx on BENCH_LOAD_CPU; inline: a server block of the nginx under test),
# MODULE_PROFILE_SO (the profile build, make module-profile: loaded by the
# rounds of module-assertion, which then report the assertion's own time
# per request; BENCH_PROFILE=0 runs them on MODULE_SO instead).

set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
bench=$top/bench
run=${BENCH_RUN_DIR:-$top/build/bench}
module=${MODULE_SO:-$top/build/ngx_http_validibot_module.so}
profile_so=${MODULE_PROFILE_SO:-$(dirname "$module")/ngx_http_validibot_module-profile.so}
nginx=${NGINX_BIN:-/usr/sbin/nginx}

rounds=${BENCH_ROUNDS:-3}
duration=${BENCH_DURATION:-5}
warmup=${BENCH_WARMUP:-1}
conns=${BENCH_CONNECTIONS:-64}
pool=${BENCH_POOL:-2}
lua_pool=${BENCH_LUA_POOL:-100}
callgrind=${BENCH_CALLGRIND:-1}
cg_n1=${BENCH_CG_N1:-200}
cg_n2=${BENCH_CG_N2:-2200}
results_md=${BENCH_RESULTS:-$bench/results.md}
ngx_cpu=${BENCH_NGINX_CPU:-0}
load_cpu=${BENCH_LOAD_CPU:-1}
upstream=${BENCH_UPSTREAM:-process}

cold_keys=10000
hot_keys=10
path=/api/v1/orgs/acme/workflows/
variants=${BENCH_VARIANTS:-baseline module-cold module-hot module-assertion module-script module-cache-hot module-cache-cold module-tls lua lua-cache-hot auth_request}

rm -rf "$run"
mkdir -p "$run/logs" "$run/conf" "$run/cg"


# --- helpers -------------------------------------------------------------

. "$top/scripts/lib.sh"

redis_port=$(free_port)
port=$(free_port)
while [ "$port" = "$redis_port" ]; do port=$(free_port); done

rcli() {
    redis-cli -p "$redis_port" "$@"
}

conf_of() {
    case $1 in
        module-script) echo module-script ;;
        module-cache-*) echo module-cache ;;
        module-assertion) echo module-assertion ;;
        module-tls) echo module-tls ;;
        module-*) echo module ;;
        lua-cache-*) echo lua-cache ;;
        *)        echo "$1" ;;
    esac
}

nkeys_of() {
    case $1 in
        *-hot|module-assertion) echo $hot_keys ;;
        *)          echo $cold_keys ;;
    esac
}

# render TEMPLATE OUT DAEMON MASTER
render() {
    sed -e "s#@RUN@#$run#g" -e "s#@PORT@#$port#g" \
        -e "s#@REDIS_PORT@#$redis_port#g" -e "s#@MODULE@#$module#g" \
        -e "s#@BENCH@#$bench#g" -e "s#@POOL@#$pool#g" \
        -e "s#@LUA_POOL@#$lua_pool#g" -e "s#@DAEMON@#$3#g" \
        -e "s#@MASTER@#$4#g" -e "s#@CONF@#$1#g" \
        "$bench/conf/$1.conf.in" > "$2"
}

# upstream_inc CONF: the upstream server block for an inline upstream
upstream_inc() {
    local inc=$run/conf/upstream-$1.inc

    if [ "$upstream" != inline ]; then
        : > "$inc"
        return
    fi

    {
        echo "server {"
        echo "    listen unix:$run/upstream.sock;"
        # the module strips X-Validibot-* in every location, this one too
        [ "$1" = module ] && echo "    validibot_identity_headers off;"
        echo "    location / {"
        echo "        default_type text/plain;"
        echo "        return 200 \"ok\\n\";"
        echo "    }"
        echo "}"
    } > "$inc"
}

wait_port() {
    local i
    for i in $(seq 100); do
        curl -s -o /dev/null "http://127.0.0.1:$port/" && return 0
        sleep 0.05
    done
    echo "bench: nothing listens on 127.0.0.1:$port" >&2
    return 1
}

pid_alive() {
    [ -n "$1" ] && kill -0 "$1" 2>/dev/null
}

# stop_pidfile FILE: TERM the process named in FILE and wait for it
stop_pidfile() {
    local pid i
    [ -s "$1" ] || return 0
    pid=$(cat "$1")
    pid_alive "$pid" || { rm -f "$1"; return 0; }
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 100); do
        pid_alive "$pid" || break
        sleep 0.05
    done
    rm -f "$1"
}

start_nginx() {
    taskset -c "$ngx_cpu" "$nginx" -p "$run/" -e "$run/logs/error.log" \
        -c "$run/conf/$1.conf"
    wait_port
}

stop_nginx() {
    stop_pidfile "$run/logs/nginx.pid"
}

vg_pid=""

cleanup() {
    stop_nginx || true
    if pid_alive "$vg_pid"; then
        kill -TERM "$vg_pid" 2>/dev/null || true
        wait "$vg_pid" 2>/dev/null || true
    fi
    stop_pidfile "$run/logs/upstream.pid" || true
    stop_pidfile "$run/redis.pid" || true
}
trap cleanup EXIT

worker_pid() {
    pgrep -P "$(cat "$run/logs/nginx.pid")" | head -1
}

# cpu ticks (user + system) of a process
cpu_ticks() {
    awk '{ print $14 + $15 }' "/proc/$1/stat"
}

# cpu ticks of the separate upstream's worker (0 when it is inline)
upstream_ticks() {
    if [ "$upstream" = inline ]; then
        echo 0
        return
    fi
    cpu_ticks "$(pgrep -P "$(cat "$run/logs/upstream.pid")" | head -1)"
}

# cpu_busy N: "busy total" jiffies of CPU N, from /proc/stat
cpu_busy() {
    awk -v c="cpu$1" '$1 == c {
        t = 0; for (i = 2; i <= 9; i++) t += $i
        print t - $5 - $6, t }' /proc/stat
}

# http_status KEY [PATH]: status of one GET ("" KEY: no Authorization)
http_status() {
    local h=()
    [ -n "$1" ] && h=(-H "Authorization: Bearer $1")
    curl -s -o "$run/body" -w '%{http_code}' "${h[@]}" \
        "http://127.0.0.1:$port${2:-$path}"
}

expect() {
    local what=$1 want=$2 got=$3
    if [ "$got" != "$want" ]; then
        echo "bench: $what: got $got, want $want" >&2
        exit 1
    fi
}


# --- Redis, data, upstream -----------------------------------------------

tls_port=$(free_port)
while [ "$tls_port" = "$redis_port" ] || [ "$tls_port" = "$port" ]; do
    tls_port=$(free_port)
done

echo "bench: redis-server on 127.0.0.1:$redis_port (TLS $tls_port)," \
     "nginx on 127.0.0.1:$port"

# module-tls: a CA and a certificate for 127.0.0.1, made here
mkdir -p "$run/tls"
perl -I "$top/t/lib" -MValidibot::Certs=make_certs \
    -e 'make_certs($ARGV[0])' "$run/tls"

taskset -c "$load_cpu" redis-server --port "$redis_port" --bind 127.0.0.1 \
    --save '' --appendonly no --daemonize yes --dir "$run" \
    --pidfile "$run/redis.pid" --logfile "$run/redis.log" \
    --tls-port "$tls_port" --tls-cert-file "$run/tls/server.crt" \
    --tls-key-file "$run/tls/server.key" \
    --tls-ca-cert-file "$run/tls/ca.crt" --tls-auth-clients no

for _ in $(seq 100); do
    rcli ping >/dev/null 2>&1 && break
    sleep 0.05
done

openssl rand -hex 32 > "$run/digest.key"
chmod 600 "$run/digest.key"

perl "$bench/seed.pl" "$run/digest.key" $cold_keys "$run/keys.txt" \
    | rcli --pipe > "$run/seed.log"

# the module's own lookup script, for the Lua variants
cc -I "$top/src" -o "$run/script-dump" -x c - <<'EOF'
#include <stdio.h>
#include "ngx_http_validibot_script.h"
int main(void) { fputs(NGX_HTTP_VALIDIBOT_SCRIPT, stdout); return 0; }
EOF
"$run/script-dump" > "$run/script.lua"

if [ "$upstream" != inline ]; then
    render upstream "$run/conf/upstream.conf" on on
    taskset -c "$load_cpu" "$nginx" -p "$run/" \
        -e "$run/logs/upstream-error.log" -c "$run/conf/upstream.conf"
fi

for c in baseline module lua auth_request; do
    upstream_inc $c
    render $c "$run/conf/$c.conf" on on
    render $c "$run/conf/$c-cg.conf" off off
    "$nginx" -p "$run/" -e "$run/logs/error.log" -t -q -c "$run/conf/$c.conf"
done

# module-script: the same, with validibot_owner_hints off
for s in "" -cg; do
    sed 's#^\( *\)validibot_redis_connections.*#&\n\1validibot_owner_hints off;#' \
        "$run/conf/module$s.conf" > "$run/conf/module-script$s.conf"
done
grep -q 'validibot_owner_hints off' "$run/conf/module-script.conf"
"$nginx" -p "$run/" -e "$run/logs/error.log" -t -q \
    -c "$run/conf/module-script.conf"

# module-cache: the same, with validibot_cache (room for every key)
for s in "" -cg; do
    sed 's#^\( *\)validibot_redis_connections.*#&\n\1validibot_cache zone=keys:64m;#' \
        "$run/conf/module$s.conf" > "$run/conf/module-cache$s.conf"
done
grep -q 'validibot_cache zone' "$run/conf/module-cache.conf"
"$nginx" -p "$run/" -e "$run/logs/error.log" -t -q \
    -c "$run/conf/module-cache.conf"

# lua-cache: the Lua peer with a 1 s lrucache of successes
for s in "" -cg; do
    sed 's#^\( *\)realm = .*#&\n\1cache_ttl = 1,#' \
        "$run/conf/lua$s.conf" > "$run/conf/lua-cache$s.conf"
done
grep -q 'cache_ttl = 1' "$run/conf/lua-cache.conf"
"$nginx" -p "$run/" -e "$run/logs/error.log" -t -q \
    -c "$run/conf/lua-cache.conf"

# module-tls: the same as module, over rediss://
for s in "" -cg; do
    sed -e "s#redis://127.0.0.1:$redis_port/0;#rediss://127.0.0.1:$tls_port/0;#" \
        -e "s#^\( *\)validibot_redis_connections.*#&\n\1validibot_redis_ssl_trusted_certificate $run/tls/ca.crt;#" \
        "$run/conf/module$s.conf" > "$run/conf/module-tls$s.conf"
done
grep -q "rediss://127.0.0.1:$tls_port/0" "$run/conf/module-tls.conf"
"$nginx" -p "$run/" -e "$run/logs/error.log" -t -q \
    -c "$run/conf/module-tls.conf"

# module-assertion: the same as module, with validibot_assertion
openssl rand -hex 32 > "$run/gw-1.key"
chmod 600 "$run/gw-1.key"

for s in "" -cg; do
    sed "s#^\( *\)validibot_auth .*#&\n\1validibot_assertion $run/gw-1.key;#" \
        "$run/conf/module$s.conf" > "$run/conf/module-assertion$s.conf"
done
grep -q 'validibot_assertion' "$run/conf/module-assertion.conf"

# its rounds on the profile build (not callgrind's: instructions stay those
# of the module as shipped)
profile=0
if [ "${BENCH_PROFILE:-1}" != 0 ] && [ -f "$profile_so" ]; then
    profile=1
    sed -i "s#^load_module .*#load_module $profile_so;#" \
        "$run/conf/module-assertion.conf"
    grep -q "load_module $profile_so;" "$run/conf/module-assertion.conf"
elif [ "${BENCH_PROFILE:-1}" != 0 ]; then
    echo "bench: no $profile_so (make module-profile): module-assertion" \
         "runs without the assertion's own time" >&2
fi
"$nginx" -p "$run/" -e "$run/logs/error.log" -t -q \
    -c "$run/conf/module-assertion.conf"


# --- correctness first ---------------------------------------------------

good=$(head -1 "$run/keys.txt")
bad=${good%?}$( [ "${good: -1}" = 0 ] && echo 1 || echo 0 )
unknown=vbk_1_$(printf '%032d' 0)_${good##*_}

for c in baseline module module-script module-assertion module-cache \
         module-tls lua lua-cache auth_request; do
    start_nginx $c
    expect "$c valid key" 200 "$(http_status "$good")"
    expect "$c body" "ok" "$(cat "$run/body")"
    if [ $c != baseline ]; then
        expect "$c wrong secret" 401 "$(http_status "$bad")"
        expect "$c unknown key" 401 "$(http_status "$unknown")"
        expect "$c no key" 401 "$(http_status "")"
        expect "$c other org" 403 \
            "$(http_status "$good" /api/v1/orgs/other/workflows/)"
        echo "bench: check $c: valid 200, wrong secret/unknown/none 401," \
             "other org 403"
    else
        echo "bench: check $c: 200"
    fi
    stop_nginx
done


# --- rounds --------------------------------------------------------------

tsv=$run/results.tsv
printf 'round\tvariant\trps\tp50_us\tp99_us\tnon2xx\tsock_errors\trequests' \
    > "$tsv"
printf '\tredis_evalsha_per_req\tredis_conns\tredis_conns_opened' >> "$tsv"
printf '\tworker_cpu_pct\tworker_us_per_req' >> "$tsv"
printf '\tredis_cpu_pct\tnginx_cpu_busy_pct\tload_cpu_busy_pct' >> "$tsv"
printf '\twrk_cpu_pct\tupstream_cpu_pct\tredis_other_per_req' >> "$tsv"
printf '\tredis_other_cmds\tprofile\n' >> "$tsv"
TIMEFORMAT='%U %S'


# the variant list, rotated by one each round so no variant always runs
# right after the same neighbour or at the same point of a round
set -- $variants
nvar=$#

for r in $(seq "$rounds"); do
    order=()
    for i in $(seq 0 $((nvar - 1))); do
        j=$(( (i + r - 1) % nvar + 1 ))
        order+=("${!j}")
    done

    for v in "${order[@]}"; do
        elog=$(wc -l < "$run/logs/error.log")
        start_nginx "$(conf_of $v)"
        wpid=$(worker_pid)
        url=http://127.0.0.1:$port$path

        BENCH_KEYS=$run/keys.txt BENCH_NKEYS=$(nkeys_of $v) \
            taskset -c "$load_cpu" wrk -t1 -c"$conns" -d"${warmup}s" \
            -s "$bench/wrk.lua" "$url" > /dev/null

        rcli config resetstat > /dev/null
        t0=$(cpu_ticks "$wpid")
        r0=$(cpu_ticks "$(cat "$run/redis.pid")")
        u0=$(upstream_ticks)
        read -r n0 nt0 < <(cpu_busy "$ngx_cpu")
        read -r l0 lt0 < <(cpu_busy "$load_cpu")

        # CLIENT LIST sampled mid-run: connections held under load
        ( sleep "$(awk "BEGIN { print $duration / 2 }")"
          rcli client list > "$run/clients-$r-$v.txt" ) &
        sampler=$!

        { time BENCH_KEYS=$run/keys.txt BENCH_NKEYS=$(nkeys_of $v) \
            taskset -c "$load_cpu" wrk -t1 -c"$conns" -d"${duration}s" \
            -s "$bench/wrk.lua" "$url" > "$run/wrk-$r-$v.txt"; } \
            2> "$run/wrk-time-$r-$v.txt"

        t1=$(cpu_ticks "$wpid")
        r1=$(cpu_ticks "$(cat "$run/redis.pid")")
        u1=$(upstream_ticks)
        read -r n1 nt1 < <(cpu_busy "$ngx_cpu")
        read -r l1 lt1 < <(cpu_busy "$load_cpu")
        wait $sampler
        rcli info commandstats > "$run/cmdstats-$r-$v.txt"
        rcli info stats > "$run/stats-$r-$v.txt"
        stop_nginx

        # the profile build's sums, logged by the worker as it exited
        prof=-
        if [ "$v" = module-assertion ] && [ "$profile" = 1 ]; then
            prof=$(tail -n +$((elog + 1)) "$run/logs/error.log" \
                   | grep 'validibot: profile: assertions=' | tail -1 \
                   | sed 's/.*validibot: profile: //; s/ /,/g')
            [ -n "$prof" ] || {
                echo "bench: the profile build logged no figures" >&2
                exit 1
            }
        fi

        line=$(grep '^RESULT' "$run/wrk-$r-$v.txt") || {
            echo "bench: wrk gave no result for $v" >&2
            cat "$run/wrk-$r-$v.txt" >&2
            exit 1
        }

        perl -e '
            my ($r, $v, $line, $cmdf, $statf, $clf, $ticks, $hz, $dur,
                $rticks, $nb, $nt, $lb, $lt, $wrkt, $uticks, $prof) = @ARGV;
            my %x = $line =~ /(\w+)=([\d.]+)/g;
            # EVALSHA (the script lookup) and every other command, per
            # request: Redis counts the reads a script makes (HMGET, HGET)
            # with the rest, so hinted lookups (plain HMGET, HGET) and
            # scripts show up side by side; CLIENT LIST, CONFIG, INFO
            # are ours
            my ($calls, $other, %other) = (0, 0);
            open my $f, "<", $cmdf or die;
            while (<$f>) {
                next unless /^cmdstat_(\S+?):calls=(\d+)/;
                my ($cmd, $n) = ($1, $2);
                if ($cmd eq "evalsha") {
                    $calls += $n;
                } elsif ($cmd !~ /^(?:client\|list|config\|resetstat|info)$/) {
                    $other += $n;
                    $other{uc $cmd} = $n;
                }
            }
            my $others = join " ", map {
                sprintf "%s=%.2f", $_,
                        $x{requests} ? $other{$_} / $x{requests} : 0
            } sort keys %other;
            my $opened = 0;
            open $f, "<", $statf or die;
            while (<$f>) { $opened = $1 if /^total_connections_received:(\d+)/ }
            # our own CLIENT LIST and two INFO connections
            $opened -= 3;
            $opened = 0 if $opened < 0;
            my $held = 0;
            open $f, "<", $clf or die;
            while (<$f>) { $held++ if / name=validibot-(?:nginx|lua) / }
            my $cpu = $ticks / $hz;
            my $secs = $x{duration_us} / 1e6;
            printf "%d\t%s\t%.1f\t%d\t%d\t%d\t%d\t%d\t%.3f\t%d\t%d"
                   . "\t%.1f\t%.2f\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%.3f\t%s"
                   . "\t%s\n",
                $r, $v, $x{rps}, $x{p50_us}, $x{p99_us}, $x{non2xx},
                $x{sock_errors}, $x{requests},
                $x{requests} ? $calls / $x{requests} : 0, $held, $opened,
                100 * $cpu / $secs,
                $x{requests} ? 1e6 * $cpu / $x{requests} : 0,
                100 * $rticks / $hz / $secs,
                $nt ? 100 * $nb / $nt : 0, $lt ? 100 * $lb / $lt : 0,
                100 * $wrkt / ($dur + 0.0), 100 * $uticks / $hz / $secs,
                $x{requests} ? $other / $x{requests} : 0, $others || "-",
                $prof;
        ' "$r" "$v" "$line" "$run/cmdstats-$r-$v.txt" "$run/stats-$r-$v.txt" \
            "$run/clients-$r-$v.txt" $((t1 - t0)) "$(getconf CLK_TCK)" \
            "$duration" $((r1 - r0)) $((n1 - n0)) $((nt1 - nt0)) \
            $((l1 - l0)) $((lt1 - lt0)) \
            "$(awk '{ print $1 + $2 }' "$run/wrk-time-$r-$v.txt")" \
            $((u1 - u0)) "$prof" \
            | tee -a "$tsv" | awk -F'\t' '{
                printf "bench: round %s %-13s %6.0f req/s  p50 %5.2f ms  " \
                       "p99 %5.2f ms  worker %3.0f%%  redis %3.0f%%  " \
                       "wrk %3.0f%%  upstream %3.0f%%  cpus %3.0f%% %3.0f%%\n",
                       $1, $2, $3, $4 / 1000, $5 / 1000, $12, $14, $17, $18,
                       $15, $16 }'

        if [ "$(awk -F'\t' 'END { print $6 + $7 }' "$tsv")" != 0 ]; then
            echo "bench: $v: non-2xx answers or socket errors under load" \
                 "(see $run/wrk-$r-$v.txt)" >&2
            exit 1
        fi
    done
done


# --- callgrind -----------------------------------------------------------

cg_tsv=$run/callgrind.tsv
: > "$cg_tsv"

# cg_run CONF NKEYS N [TAG]: instructions of one nginx process serving N
# requests
cg_run() {
    local out=$run/cg/$1${4:-}-$3.out extra=()

    # LuaJIT writes machine code: valgrind must notice code changes
    [ "$1" = lua ] && extra=(--smc-check=all-non-file)

    taskset -c "$ngx_cpu" valgrind --tool=callgrind "${extra[@]}" \
        --callgrind-out-file="$out" "$nginx" -p "$run/" \
        -e "$run/logs/error.log" -c "$run/conf/$1-cg.conf" \
        > "$run/cg/$1${4:-}-$3.log" 2>&1 &
    vg_pid=$!

    for _ in $(seq 600); do
        curl -s -o /dev/null "http://127.0.0.1:$port/" && break
        sleep 0.1
    done

    taskset -c "$load_cpu" perl "$bench/client.pl" "$port" "$run/keys.txt" \
        "$2" "$3" "$path" 200

    kill -QUIT "$vg_pid"
    wait "$vg_pid" || true
    vg_pid=""

    awk '/^(summary|totals):/ { print $2; exit }' "$out"
}

if [ "$callgrind" = 1 ]; then
    # module: every key new to the worker (the script); module-hinted:
    # 100 keys, so all the requests counted are hinted lookups;
    # module-assertion: module-hinted plus validibot_assertion;
    # module-cache-hot: 10 keys, every counted request a cache hit
    for c in ${BENCH_CG_VARIANTS:-baseline module module-hinted \
                                  module-assertion module-cache-hot lua}; do
        conf=${c%-hinted} keys=$cold_keys tag=
        [ "$c" = module-hinted ] && keys=100 tag=-hinted
        [ "$c" = module-assertion ] && keys=100
        [ "$c" = module-cache-hot ] && conf=module-cache keys=$hot_keys
        i1=$(cg_run $conf $keys "$cg_n1" $tag)
        i2=$(cg_run $conf $keys "$cg_n2" $tag)
        per=$(( (i2 - i1) / (cg_n2 - cg_n1) ))
        printf '%s\t%s\t%s\t%s\n' "$c" "$i1" "$i2" "$per" >> "$cg_tsv"
        echo "bench: callgrind $c: $per instructions per request"
    done

    # per-function profiles for report.pl: exclusive for both, inclusive
    # for the module, each at both request counts so start-up cancels out
    for c in baseline module module-cache; do
        for n in "$cg_n1" "$cg_n2"; do
            [ -f "$run/cg/$c-$n.out" ] || continue
            callgrind_annotate --auto=no --threshold=100 \
                "$run/cg/$c-$n.out" > "$run/cg/$c-$n.self" 2>/dev/null
            callgrind_annotate --auto=no --threshold=100 --inclusive=yes \
                "$run/cg/$c-$n.out" > "$run/cg/$c-$n.incl" 2>/dev/null
        done
    done
fi


# --- report --------------------------------------------------------------

BENCH_UPSTREAM_MODE=$upstream perl "$bench/report.pl" "$tsv" "$cg_tsv" \
    "$run/cg" "$cg_n1" "$cg_n2" "$pool" "$lua_pool" "$conns" "$duration" \
    "$rounds" > "$run/results.md"

[ "$run/results.md" -ef "$results_md" ] || cp "$run/results.md" "$results_md"
sed -n '/^## Results/,/^## Machine/p' "$run/results.md" | sed '$d'
echo "bench: written to $results_md"
