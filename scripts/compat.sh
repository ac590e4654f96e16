#!/bin/bash
# Builds the module for the nginx of other Debian releases and runs the t/
# suite on each (docs/testing.md, "Other nginx versions").
#
#   scripts/compat.sh                     bookworm trixie sid
#   scripts/compat.sh trixie              one suite
#   COMPAT_FILES="t/004-headers.t" scripts/compat.sh trixie
#   COMPAT_BUILD_ONLY=1 scripts/compat.sh trixie
#                                         build, run nothing
#
# For each suite, through a private apt configuration (scripts/apt-suite.sh;
# the machine's apt sources are not touched):
#   - nginx-dev of that suite gives the configure flags Debian builds its
#     nginx with (/usr/share/nginx/src/conf_flags);
#   - the orig tarball of its "nginx" source package, checked against the
#     signed Sources index, gives nginx's source;
#   - nginx is configured with those flags plus this module as a dynamic
#     module, and `make binary modules` builds both;
#   - scripts/test.sh runs t/ with that nginx and that .so.
# When the suite's nginx is the one installed here (/usr/sbin/nginx, from
# Debian's own build of the same source and flags) it and `make module`'s
# .so are used as they are.
#
# Flags the release's configure does not know (Debian patches the
# configure script, e.g. sid's --override-system) are dropped and named.
# A mirror that lacks the orig tarball (it happens for sid right after an
# upload) stops that suite, unless COMPAT_TARBALL_<suite> names an
# nginx-<version>.tar.gz from nginx.org to use instead; the summary says
# which source each suite was built from.  The module is then also built
# against the suite's own nginx-dev tree (Debian's headers and flags, as
# dh_nginx builds libnginx-mod-*), and the headers that differ between
# that tree and the tarball are named.
#
# Everything is kept under build/compat/<suite>/ (apt lists, tarball, the
# configured tree): a second run rebuilds only what changed.  Exit status:
# non-zero when any suite failed to build or to pass.
set -uo pipefail

cd "$(dirname "$0")/.." || exit 2
ROOT=$(pwd)
BUILD=${BUILD:-$ROOT/build}
COMPAT_DIR=${COMPAT_DIR:-$BUILD/compat}

. "$ROOT/scripts/apt-suite.sh"

log() { echo "compat: $*" >&2; }

SUITES=("$@")
[ ${#SUITES[@]} -gt 0 ] || SUITES=(bookworm trixie sid)

for p in gcc make dpkg-dev libpcre2-dev zlib1g-dev libssl-dev \
         libhiredis-dev nginx-dev; do
    dpkg-query -W -f '${Status}' "$p" 2>/dev/null | grep -q "ok installed" \
        || { log "missing package $p (make deps)"; exit 2; }
done

# prints "<nginx binary> <module .so> <source>" for SUITE, or fails
build_suite() {
    local suite=$1 dir=$COMPAT_DIR/$1 ver upstream dev flags_file tarball
    local src_note tree stamp arg name
    local -a flags keep

    apt_suite_init "$suite" "$dir/apt" || return 1

    ver=$(apt_suite_version "$dir/apt" nginx-dev)
    if [ -z "$ver" ] || [ "$ver" = "(none)" ]; then
        log "$suite: no nginx-dev"
        return 1
    fi
    upstream=${ver#*:}
    upstream=${upstream%-*}

    # the nginx installed here is Debian's build of this very version
    if [ "$(dpkg-query -W -f '${Version}' nginx-dev 2>/dev/null)" = "$ver" ] \
       && [ -x /usr/sbin/nginx ]
    then
        make -s -C "$ROOT" module >&2 || return 1
        echo "/usr/sbin/nginx $BUILD/ngx_http_validibot_module.so" \
             "Debian's nginx $ver as installed"
        return 0
    fi

    dev=$(apt_suite_deb "$dir/apt" nginx-dev "$dir/deb") || return 1
    rm -rf "$dir/nginx-dev"
    dpkg-deb -x "$dev" "$dir/nginx-dev" || return 1
    flags_file=$dir/nginx-dev/usr/share/nginx/src/conf_flags

    src_note="Debian's nginx_$upstream.orig.tar.gz ($ver)"
    if ! tarball=$(apt_suite_orig "$dir/apt" nginx "$dir/src"); then
        eval "tarball=\${COMPAT_TARBALL_$suite:-}"
        if [ -z "$tarball" ]; then
            log "$suite: no source for nginx $upstream; set" \
                "COMPAT_TARBALL_$suite=/path/to/nginx-$upstream.tar.gz" \
                "(nginx.org) to build from that instead"
            return 1
        fi
        src_note="$(basename "$tarball") given as COMPAT_TARBALL_$suite"
        src_note="$src_note (sha256 $(sha256sum "$tarball" | cut -c1-16)...)"
    fi

    tree=$dir/nginx
    # shellcheck disable=SC1090
    . "$flags_file"
    flags=("${NGX_CONF_FLAGS[@]}")

    stamp=$(printf '%s\n' "$tarball" "$(sha256sum "$tarball")" \
                "${flags[@]}" | cat - "$ROOT/config" | sha256sum)
    if [ ! -f "$tree/objs/Makefile" ] \
       || [ "$(cat "$dir/configure.stamp" 2>/dev/null)" != "$stamp" ]
    then
        log "$suite: unpacking and configuring nginx from $src_note"
        rm -rf "$tree" "$dir/unpack"
        mkdir -p "$dir/unpack"
        tar -xzf "$tarball" -C "$dir/unpack" || return 1
        mv "$dir/unpack"/nginx-* "$tree" && rm -rf "$dir/unpack"

        keep=()
        for arg in "${flags[@]}"; do
            name=${arg%%=*}
            if grep -q -- "$name" "$tree/auto/options"; then
                keep+=("$arg")
            else
                log "$suite: dropped $name (not known to this nginx's" \
                    "configure: a Debian patch)"
            fi
        done

        if ! (cd "$tree" && ./configure "${keep[@]}" \
                --add-dynamic-module="$ROOT") >"$dir/configure.log" 2>&1
        then
            tail -20 "$dir/configure.log" >&2
            log "$suite: configure failed ($dir/configure.log)"
            return 1
        fi
        echo "$stamp" > "$dir/configure.stamp"
    fi

    log "$suite: building nginx $(sed -n \
        's/^#define NGINX_VERSION *"\(.*\)"/\1/p' \
        "$tree/src/core/nginx.h") and the module"
    if ! make -C "$tree" -f objs/Makefile -j"$(nproc)" binary modules \
            >"$dir/make.log" 2>&1
    then
        grep -E 'error|warning' "$dir/make.log" | head -30 >&2
        log "$suite: build failed ($dir/make.log)"
        return 1
    fi

    # built from another tarball: the module must still compile against
    # the suite's own nginx (Debian's headers, Debian's configure)
    if [ "${src_note#Debian}" = "$src_note" ]; then
        log "$suite: building the module against nginx-dev $ver as well"
        if ! make -s -C "$ROOT" BUILD="$dir/nginx-dev-build" \
                NGINX_SRC="$dir/nginx-dev/usr/share/nginx/src" \
                NGINX_BIN="$tree/objs/nginx" module \
                >"$dir/nginx-dev-build.log" 2>&1
        then
            tail -20 "$dir/nginx-dev-build.log" >&2
            log "$suite: the module does not build against nginx-dev $ver"
            return 1
        fi
        src_note="$src_note; the module also built against nginx-dev $ver"
        name=$( (cd "$dir/nginx-dev/usr/share/nginx/src" \
                 && find src -name '*.h' | sort | while read -r arg; do
                        cmp -s "$arg" "$tree/$arg" || echo "${arg#src/}"
                    done) | paste -sd, -)
        src_note="$src_note (headers that differ: ${name:-none})"
    fi

    echo "$tree/objs/nginx $tree/objs/ngx_http_validibot_module.so" \
         "$src_note"
}

SUMMARY=()
ROWS=()
status=0
load_start=$(cut -d' ' -f1 /proc/loadavg)

for suite in "${SUITES[@]}"; do
    dir=$COMPAT_DIR/$suite
    mkdir -p "$dir"

    t0=$(date +%s)
    if ! out=$(build_suite "$suite"); then
        SUMMARY+=("$suite: BUILD FAILED")
        status=1
        continue
    fi
    read -r nginx so note <<< "$out"
    if [ -n "${COMPAT_BUILD_ONLY:-}" ]; then
        SUMMARY+=("$suite: built - $note")
        continue
    fi
    version=$("$nginx" -v 2>&1 | sed 's,.*nginx/,,')
    t1=$(date +%s)

    log "$suite: t/ with nginx $version ($nginx)"
    TEST_NGINX_BINARY=$nginx TEST_NGINX_LOAD_MODULES=$so \
    TEST_NGINX_SERVROOT=$dir/servroot BUILD=$dir \
        bash "$ROOT/scripts/test.sh" ${COMPAT_FILES:-} \
        2>&1 | tee "$dir/test.log"
    rc=${PIPESTATUS[0]}
    t2=$(date +%s)

    counts=$(grep -E '^Files=' "$dir/test.log" | tail -1 | cut -d, -f1,2)
    # a row of docs/testing.md's table
    verdict=FAIL
    [ "$rc" -eq 0 ] && verdict=PASS
    nfiles=$(echo "$counts" | sed -n 's/Files=\([0-9]*\).*/\1/p')
    ntests=$(echo "$counts" | sed -n 's/.*Tests=\([0-9]*\).*/\1/p')
    row="| $suite | $version | $verdict | $nfiles | $ntests"
    ROWS+=("$row | $((t1 - t0)) s | $((t2 - t1)) s | $note |")
    if [ "$rc" -eq 0 ]; then
        SUMMARY+=("$suite: nginx $version: PASS ($counts) - $note")
    else
        SUMMARY+=("$suite: nginx $version: FAIL ($counts) - $note;" \
                  "log $dir/test.log")
        status=1
    fi
done

echo
echo "compat summary:"
printf '  %s\n' "${SUMMARY[@]}"
if [ ${#ROWS[@]} -gt 0 ]; then
    echo
    commit=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')
    git -C "$ROOT" diff --quiet HEAD 2>/dev/null \
        || commit="$commit + local changes"
    echo "for docs/testing.md (commit $commit, $(date -u +%Y-%m-%d)," \
         "load average $load_start at the start," \
         "$(cut -d' ' -f1 /proc/loadavg) at the end):"
    echo "| suite | nginx | t/ | files | tests | build | t/ time | built from |"
    echo "|---|---|---|---|---|---|---|---|"
    printf '%s\n' "${ROWS[@]}"
fi
exit $status
