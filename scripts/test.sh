#!/bin/bash
# Runs the Test::Nginx-format suite (t/*.t) against the real nginx and a
# redis-server of its own, on free ports, and returns prove's status.
#
#   scripts/test.sh                      every t/**/*.t, with our t/lib
#   scripts/test.sh t/foo.t t/bar.t      only these
#   TEST_NGINX_LIB=/tmp/test-nginx/lib scripts/test.sh
#                                        the same files with the real
#                                        Test::Nginx (it comes first on @INC)
#   TEST_NGINX_USE_VALGRIND=1 scripts/test.sh
#                                        nginx under valgrind memcheck; any
#                                        invalid access or definite leak
#                                        fails the run
#
# Environment it sets for the tests (a value already set wins):
#   TEST_NGINX_BINARY        /usr/sbin/nginx
#   TEST_NGINX_LOAD_MODULES  build/ngx_http_validibot_module.so (if built)
#   TEST_NGINX_PORT          a free port for nginx
#   TEST_NGINX_SERVROOT      t/servroot;  TEST_NGINX_HTML_DIR its html/
#   TEST_NGINX_REDIS_PORT    the port of the Redis started here
#   TEST_NGINX_REDIS_SOCKET  its unix socket
#   TEST_VALIDIBOT_REDIS_DIR its directory (pid file, log, socket)
#   TEST_NGINX_DIGEST_KEY_FILE_V1/_V2   digest key files (t/lib/Validibot)
# PROVE_ARGS (default "-r") is passed to prove; TEST_FILES replaces the
# default file list "t/".
set -u

cd "$(dirname "$0")/.." || exit 2
ROOT=$(pwd)
BUILD=${BUILD:-$ROOT/build}
mkdir -p "$BUILD"

# One run at a time per tree: the runs would share t/servroot.
exec 9>"$BUILD/test.lock"
if ! flock -n 9; then
    echo "test.sh: another test run holds $BUILD/test.lock; waiting" >&2
    flock 9
fi

. "$ROOT/scripts/lib.sh"

RUN_DIR=$(mktemp -d /tmp/validibot-test.XXXXXX) || exit 2
export TEST_VALIDIBOT_REDIS_DIR="$RUN_DIR/redis"
export TEST_VALIDIBOT_KEY_DIR="$RUN_DIR/keys"
mkdir -p "$TEST_VALIDIBOT_REDIS_DIR" "$TEST_VALIDIBOT_KEY_DIR"

stop_redis() {
    local pidfile="$TEST_VALIDIBOT_REDIS_DIR/redis.pid" pid i
    [ -f "$pidfile" ] || return 0
    pid=$(cat "$pidfile" 2>/dev/null)
    case "$pid" in ''|*[!0-9]*) return 0 ;; esac
    kill "$pid" 2>/dev/null || return 0
    for i in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.05
    done
    kill -9 "$pid" 2>/dev/null
}

cleanup() {
    stop_redis
    rm -rf "$RUN_DIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

export TEST_NGINX_REDIS_PORT=${TEST_NGINX_REDIS_PORT:-$(free_port)}
export TEST_NGINX_REDIS_SOCKET="$TEST_VALIDIBOT_REDIS_DIR/redis.sock"
export TEST_NGINX_BINARY=${TEST_NGINX_BINARY:-/usr/sbin/nginx}
export TEST_NGINX_PORT=${TEST_NGINX_PORT:-$(free_port)}
export TEST_NGINX_SERVROOT=${TEST_NGINX_SERVROOT:-$ROOT/t/servroot}
export TEST_NGINX_HTML_DIR=${TEST_NGINX_HTML_DIR:-$TEST_NGINX_SERVROOT/html}

if [ -z "${TEST_NGINX_LOAD_MODULES+set}" ]; then
    if [ -f "$BUILD/ngx_http_validibot_module.so" ]; then
        export TEST_NGINX_LOAD_MODULES="$BUILD/ngx_http_validibot_module.so"
    else
        echo "test.sh: $BUILD/ngx_http_validibot_module.so is not built;" \
             "tests of the module will fail (make module)" >&2
    fi
fi

# The Redis: the same command line as Validibot::Test::redis_start, which
# tests use to bring it back after stopping it.
# fd 9 (the lock) is not handed on: a Redis left behind by a run that died
# must not hold the lock of the next one.
if ! perl -I"$ROOT/t/lib" -MValidibot::Test \
        -e 'Validibot::Test::redis_start()' 9>&-; then
    echo "test.sh: could not start redis-server" \
         "(log: $TEST_VALIDIBOT_REDIS_DIR/redis.log)" >&2
    cat "$TEST_VALIDIBOT_REDIS_DIR/redis.log" >&2 2>/dev/null
    exit 2
fi

INC=(-I "$ROOT/t/lib")
if [ -n "${TEST_NGINX_LIB:-}" ]; then
    if [ ! -f "$TEST_NGINX_LIB/Test/Nginx/Socket.pm" ]; then
        echo "test.sh: no Test/Nginx/Socket.pm under $TEST_NGINX_LIB" >&2
        exit 2
    fi
    INC=(-I "$TEST_NGINX_LIB" -I "$ROOT/t/lib")
fi

# Which Socket.pm runs is worth a line in the log.
perl "${INC[@]}" -e 'for (@INC) { my $f = "$_/Test/Nginx/Socket.pm";
    if (-f $f) { print STDERR "test.sh: using $f\n"; last } }'

if [ $# -gt 0 ]; then
    FILES=("$@")
else
    read -r -a FILES <<< "${TEST_FILES:-t/}"
fi
read -r -a PARGS <<< "${PROVE_ARGS:--r}"

echo "test.sh: nginx $TEST_NGINX_BINARY on port $TEST_NGINX_PORT," \
     "redis on port $TEST_NGINX_REDIS_PORT" >&2

status=0
if [ -n "${TEST_NGINX_USE_VALGRIND:-}" ]; then
    VGLOG="$BUILD/valgrind.log"
    : > "$VGLOG"
    prove "${INC[@]}" "${PARGS[@]}" "${FILES[@]}" 9>&- 2> >(tee "$VGLOG" >&2)
    status=$?
    sleep 0.2
    # -q valgrind prints only errors, each line "==PID== ..."
    errors=$(grep -cE '^==[0-9]+== +(Invalid (read|write|free)|Conditional jump|Use of uninitialised|Syscall param|Mismatched free|Source and destination overlap|[0-9,]+ (\([0-9,]+ direct, [0-9,]+ indirect\) )?bytes in [0-9,]+ blocks are definitely lost)' "$VGLOG")
    if [ "$errors" -gt 0 ]; then
        echo "test.sh: valgrind reported $errors error(s); see $VGLOG" >&2
        [ "$status" -eq 0 ] && status=1
    else
        echo "test.sh: valgrind reported no errors" >&2
    fi
else
    prove "${INC[@]}" "${PARGS[@]}" "${FILES[@]}" 9>&-
    status=$?
fi

exit $status
