#!/bin/bash
# Builds nginx 1.22.1 itself from Debian's source package with
# AddressSanitizer + UndefinedBehaviorSanitizer, and this module as a
# dynamic module of that tree with the same flags (docs/hardening.md).
#
#   scripts/asan-build.sh            build (incremental after the first run)
#   scripts/asan-build.sh test [t/foo.t ...]
#                                    build, then run the t/ suite (or the
#                                    files given) on it: `make test-asan`
#   ASAN_DIR=/path scripts/asan-build.sh ...   (default build/asan)
#
# The results of the build are
#   $ASAN_DIR/nginx-1.22.1/objs/nginx
#   $ASAN_DIR/nginx-1.22.1/objs/ngx_http_validibot_module.so
#
# The test run fails when prove fails or when any sanitizer reported
# anything: ASan and LSan write their reports to $ASAN_DIR/logs/asan.<pid>
# (log_path), UBSan to stderr (the block's error.log, all appended to
# logs/error.log, or prove's stderr, kept in logs/stderr.log), and
# stress/san-check.pl searches them all for "ERROR: AddressSanitizer",
# "ERROR: LeakSanitizer" and "runtime error:".  stress/{asan,lsan,ubsan}.supp
# list what belongs to nginx's core, not to the module (each entry says
# why).  ASAN_NGINX and ASAN_MODULE run the suite on another sanitized
# build (one with a planted bug, to see that the checks catch it).
#
# The source is the orig tarball of Debian's "nginx" source package,
# fetched with `apt-get source --download-only` through a private apt
# configuration for bookworm under $ASAN_DIR/apt (scripts/apt-suite.sh;
# the machine's own apt sources are never edited) and checked against the
# SHA-256 that apt's signed Sources index gives.  NGX_ORIG_TARBALL=/path/to/it
# skips the download (its checksum is still checked).  Debian's own patches are not
# applied (they live in debian.tar.xz, which is not needed for this): the
# point is nginx's core under the sanitizers, with Debian's configure
# flags.
set -euo pipefail

MODE=build
if [ "${1:-}" = test ]; then
    MODE=test
    shift
elif [ "${1:-}" = build ]; then
    shift
fi

cd "$(dirname "$0")/.."
ROOT=$(pwd)
ASAN_DIR=${ASAN_DIR:-$ROOT/build/asan}
NGX_VERSION=1.22.1
NGX_DIR=$ASAN_DIR/nginx-$NGX_VERSION
TARBALL_NAME=nginx_$NGX_VERSION.orig.tar.gz
TARBALL=$ASAN_DIR/$TARBALL_NAME

SAN_CFLAGS="-g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined"
SAN_LDFLAGS="-fsanitize=address,undefined"

mkdir -p "$ASAN_DIR"

log() { echo "asan-build: $*" >&2; }

# --- packages: the libraries Debian's configure flags need ------------------

pkgs="gcc make nginx-dev libpcre2-dev zlib1g-dev libssl-dev libhiredis-dev"
missing=""
for p in $pkgs; do
    dpkg-query -W -f '${Status}' "$p" 2>/dev/null | grep -q "ok installed" \
        || missing="$missing $p"
done
if [ -n "$missing" ]; then
    if [ "$(id -u)" != 0 ]; then
        log "missing packages:$missing (run as root to install)"
        exit 1
    fi
    log "installing$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

# --- the source tarball -----------------------------------------------------

# bookworm's nginx source package, through a private apt configuration
# (scripts/apt-suite.sh): the machine's apt sources are not touched
. "$ROOT/scripts/apt-suite.sh"

if ! apt_suite_init bookworm "$ASAN_DIR/apt"; then
    log "could not read bookworm's Sources index"
    exit 1
fi

if [ -n "${NGX_ORIG_TARBALL:-}" ] && [ ! -f "$TARBALL" ]; then
    cp "$NGX_ORIG_TARBALL" "$TARBALL"
fi

# checks a tarball already there, fetches it otherwise
if ! got=$(apt_suite_orig "$ASAN_DIR/apt" nginx "$ASAN_DIR"); then
    log "no verified $TARBALL_NAME"
    exit 1
fi
if [ "$got" != "$TARBALL" ]; then
    log "bookworm's nginx source is $(basename "$got"), not $TARBALL_NAME"
    exit 1
fi
want=$(sha256sum "$TARBALL" | cut -d' ' -f1)

# --- configure (once per tarball, flags and module config) ------------------

# Debian's flags, as /usr/sbin/nginx was built with (nginx-dev ships them)
# shellcheck disable=SC1091
. /usr/share/nginx/src/conf_flags

CONF_ARGS=("${NGX_CONF_FLAGS[@]}"
           "--with-cc-opt=$SAN_CFLAGS"
           "--with-ld-opt=$SAN_LDFLAGS"
           "--add-dynamic-module=$ROOT")

stamp=$(printf '%s\n' "$want" "${CONF_ARGS[@]}" | cat - "$ROOT/config" \
        | sha256sum | cut -d' ' -f1)

if [ ! -f "$NGX_DIR/objs/Makefile" ] \
   || [ "$(cat "$ASAN_DIR/configure.stamp" 2>/dev/null)" != "$stamp" ]
then
    log "unpacking and configuring nginx $NGX_VERSION"
    rm -rf "$NGX_DIR"
    tar -xzf "$TARBALL" -C "$ASAN_DIR"
    if ! (cd "$NGX_DIR" && ./configure "${CONF_ARGS[@]}") \
            >"$ASAN_DIR/configure.log" 2>&1
    then
        tail -30 "$ASAN_DIR/configure.log" >&2
        log "configure failed (log: $ASAN_DIR/configure.log)"
        exit 1
    fi
    echo "$stamp" > "$ASAN_DIR/configure.stamp"
fi

# --- build: nginx and the module; make rebuilds only what changed -----------

log "building nginx and the module with $SAN_CFLAGS"
if ! make -C "$NGX_DIR" -f objs/Makefile -j"$(nproc)" binary modules \
        >"$ASAN_DIR/make.log" 2>&1
then
    grep -E 'error|warning' "$ASAN_DIR/make.log" | head -30 >&2
    log "build failed (log: $ASAN_DIR/make.log)"
    exit 1
fi

log "built $NGX_DIR/objs/nginx"
log "built $NGX_DIR/objs/ngx_http_validibot_module.so"

[ "$MODE" = test ] || exit 0

# --- the t/ suite on the sanitized nginx -----------------------------------

LOG_DIR=$ASAN_DIR/logs
rm -rf "$LOG_DIR"
mkdir -p "$LOG_DIR"

# nginx in the foreground, as the harness's own child, so that the only
# process is the one that serves (with `daemon on` the parent that forks
# away exits with the whole configuration still allocated, and LSan would
# report that).  The harness does this for valgrind: TEST_NGINX_USE_VALGRIND
# set to something not numeric runs "valgrind -q <that> nginx ...", and the
# "valgrind" found first on PATH here is a stand-in that drops its options
# and runs nginx itself.  must_die blocks still start nginx as a daemon
# (it fails before forking).
mkdir -p "$ASAN_DIR/bin"

# nginx dlclose()s its modules when it destroys the cycle at exit, before
# LSan looks for leaks: the module's frames in a leak report would be
# "<unknown module>".  A dlclose() that does nothing keeps them named.
# It is preloaded after the ASan runtime, which must come first.
printf '%s\n' 'int dlclose(void *handle) { (void) handle; return 0; }' \
    > "$ASAN_DIR/nodlclose.c"
gcc -shared -fPIC -O2 -o "$ASAN_DIR/nodlclose.so" "$ASAN_DIR/nodlclose.c"
ASAN_PRELOAD="$(gcc -print-file-name=libasan.so) $ASAN_DIR/nodlclose.so"

cat > "$ASAN_DIR/bin/valgrind" <<EOF
#!/bin/sh
# Not valgrind: scripts/asan-build.sh uses the harness's valgrind mode to
# run the sanitized nginx in the foreground.  Drops the options, runs the
# command with a dlclose() that keeps modules mapped.
while [ \$# -gt 0 ]; do
    case "\$1" in -*) shift ;; *) break ;; esac
done
LD_PRELOAD="$ASAN_PRELOAD" exec "\$@"
EOF
chmod +x "$ASAN_DIR/bin/valgrind"
export PATH="$ASAN_DIR/bin:$PATH"
export TEST_NGINX_USE_VALGRIND=--asan-foreground

# ASan and LSan reports go to files (log_path; it must be in both
# variables, as UBSan's start-up resets the shared flags), not to nginx's
# stderr.  UBSan's runtime in gcc writes to stderr whatever log_path says:
# that is the block's error.log once nginx runs (every block's is appended
# to logs/error.log) and prove's stderr before that (logs/stderr.log).
#
# abort_on_error: an ASan error or a UB report (halt_on_error) ends the
# process with SIGABRT, so the test where it happened fails.  exitcode=0:
# a leak report does not change nginx's exit status (must_die blocks check
# it); leaks are found in the report files instead.  The suppression files
# say why each entry is there.
san_common="log_path=$LOG_DIR/asan:abort_on_error=1:exitcode=0"
# gcc's built-in symbolizer leaves frames in the dlopen()ed module
# unnamed; llvm-symbolizer (package llvm-14, with clang) names them
for s in llvm-symbolizer llvm-symbolizer-14; do
    if command -v "$s" >/dev/null 2>&1; then
        san_common="$san_common:external_symbolizer_path=$(command -v "$s")"
        break
    fi
done
export ASAN_OPTIONS="$san_common:detect_leaks=1:suppressions=$ROOT/stress/asan.supp:detect_stack_use_after_return=1:check_initialization_order=1:strict_init_order=1"
export LSAN_OPTIONS="suppressions=$ROOT/stress/lsan.supp:print_suppressions=${LSAN_PRINT_SUPPRESSIONS:-0}"
export UBSAN_OPTIONS="$san_common:halt_on_error=1:print_stacktrace=1:suppressions=$ROOT/stress/ubsan.supp"

# A tree of its own (lock, server root): an ASan run may go on while
# `make t` runs elsewhere in the same checkout.
# ASAN_NGINX / ASAN_MODULE: another sanitized build to run the suite on
# (e.g. one with a planted bug, to see that the checks catch it)
export TEST_NGINX_BINARY=${ASAN_NGINX:-$NGX_DIR/objs/nginx}
export TEST_NGINX_LOAD_MODULES=${ASAN_MODULE:-$NGX_DIR/objs/ngx_http_validibot_module.so}
export TEST_NGINX_SERVROOT=$ASAN_DIR/servroot
export TEST_NGINX_HTML_DIR=$TEST_NGINX_SERVROOT/html
export TEST_NGINX_ERROR_LOG=$LOG_DIR/error.log
rm -f "$TEST_NGINX_ERROR_LOG"
# sanitized code runs 2-3 times slower: give the client more time
export TEST_NGINX_TIMEOUT=${TEST_NGINX_TIMEOUT:-10}
export TEST_NGINX_SLEEP=${TEST_NGINX_SLEEP:-0.1}

# ASAN_SHARDS=N (make test: 2) runs the files in N shards at once, each
# with its own server root, Redis, ports, lock and error log: the suite
# waits more than it computes (583 s, 240 s of CPU: the harness sleeps
# 3 x TEST_NGINX_SLEEP before each look at the error log, nginx starts
# slowly under ASan), so two shards on two cores take about half the
# time of one.  Files go to the shard with the least expected time,
# longest first; the times are those of one shard alone at load average
# 1-1.5 (prove --timer, 2 December 2026); a file not listed counts 30 s.
SHARDS=${ASAN_SHARDS:-1}
declare -A WEIGHT=(
    [t/001-outcomes.t]=22
    [t/002-config.t]=32
    [t/003-roles.t]=66
    [t/004-headers.t]=28
    [t/005-redis.t]=31
    [t/006-concurrency.t]=3
    [t/007-secrets.t]=15
    [t/008-around.t]=23
    [t/009-fail-limit.t]=16
    [t/010-status.t]=8
    [t/011-config-around.t]=9
    [t/012-owner-hints.t]=30
    [t/013-assertion.t]=31
    [t/013-cache.t]=81
    [t/013-sync.t]=23
    [t/015-around.t]=17
    [t/015-authorization.t]=13
    [t/015-path.t]=13
    [t/015-satisfy.t]=8
    [t/015-values.t]=9
    [t/020-redis-password-file.t]=11
    [t/021-redis-tls.t]=28
    [t/022-redis-resolver.t]=10
    [t/023-sentinel.t]=13
    [t/harness-selftest.t]=32
    [t/harness/settings.t]=6
    [t/harness/validibot-test.t]=2
)

run_shards() {
    local -a files=() load=() pids=() rcs=()
    local f i best arg st=0

    for arg in "${@:-t/}"; do
        if [ -d "$arg" ]; then
            mapfile -t -O "${#files[@]}" files < <(find "$arg" -name '*.t' \
                | sort)
        else
            files+=("$arg")
        fi
    done
    # longest first, each to the shard with the least so far
    mapfile -t files < <(for f in "${files[@]}"; do
                             echo "${WEIGHT[$f]:-30} $f"
                         done | sort -k1,1nr -k2 | cut -d' ' -f2)
    for i in $(seq 1 "$SHARDS"); do
        load[i]=0
        : >"$LOG_DIR/files-$i"
    done
    for f in "${files[@]}"; do
        best=1
        for i in $(seq 2 "$SHARDS"); do
            if [ "${load[i]}" -lt "${load[best]}" ]; then
                best=$i
            fi
        done
        load[best]=$((load[best] + ${WEIGHT[$f]:-30}))
        echo "$f" >>"$LOG_DIR/files-$best"
    done

    for i in $(seq 1 "$SHARDS"); do
        mapfile -t files <"$LOG_DIR/files-$i"
        log "shard $i/$SHARDS: ${#files[@]} files (about ${load[i]} s):" \
            "${files[*]}"
        mkdir -p "$ASAN_DIR/shard-$i"
        (
            t0=$(date +%s)
            rc=0
            BUILD=$ASAN_DIR/shard-$i \
            TEST_NGINX_SERVROOT=$ASAN_DIR/servroot-$i \
            TEST_NGINX_HTML_DIR=$ASAN_DIR/servroot-$i/html \
            TEST_NGINX_ERROR_LOG=$LOG_DIR/error-$i.log \
                bash scripts/test.sh "${files[@]}" \
                >"$LOG_DIR/shard-$i.log" 2>&1 || rc=$?
            {
                flock 8
                echo "---- asan shard $i/$SHARDS ($LOG_DIR/shard-$i.log)"
                cat "$LOG_DIR/shard-$i.log"
                echo "---- asan shard $i/$SHARDS: exit $rc," \
                     "$(($(date +%s) - t0)) s"
            } 8>>"$LOG_DIR/console.lock" >&2
            exit "$rc"
        ) &
        pids[i]=$!
        SAN_FILES+=("$LOG_DIR/error-$i.log" "$LOG_DIR/shard-$i.log")
    done
    for i in $(seq 1 "$SHARDS"); do
        rcs[i]=0
        wait "${pids[i]}" || rcs[i]=$?
        [ "${rcs[i]}" -eq 0 ] || st=1
    done
    # prove's "Files=N, Tests=M" of each shard, added up
    log "shards' exit statuses: ${rcs[*]:1};" \
        "$(cat "$LOG_DIR"/shard-*.log | perl -ne '
            $f += $1, $t += $2 if /^Files=(\d+), Tests=(\d+)/;
            END { print "Files=", $f // 0, ", Tests=", $t // 0, " in all" }')"
    return "$st"
}

SAN_FILES=()
start=$(date +%s)
status=0
if [ "$SHARDS" -le 1 ]; then
    BUILD=$ASAN_DIR bash scripts/test.sh "$@" \
        2> >(tee "$LOG_DIR/stderr.log" >&2) || status=$?
    SAN_FILES=("$LOG_DIR/error.log" "$LOG_DIR/stderr.log")
    sleep 0.5    # let tee finish
else
    run_shards "$@" || status=$?
fi
end=$(date +%s)

if ! perl stress/san-check.pl "$LOG_DIR"/asan.* "${SAN_FILES[@]}" >&2
then
    log "sanitizer reports found (files in $LOG_DIR)"
    [ "$status" -eq 0 ] && status=1
fi

log "t/ suite on ASan+UBSan nginx: exit $status in $((end - start)) s"
exit $status
