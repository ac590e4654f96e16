#!/bin/bash
# Configures a copy of an nginx source tree with this module as a dynamic
# module, with the configure flags of the nginx that will load it (make's
# $(BUILD)/nginx/objs/Makefile rule; README "Building for another nginx").
#
#   scripts/configure-nginx.sh NGINX_SRC DEST NGINX_BIN LOG
#
# The flags come from NGINX_SRC/conf_flags when it has one (Debian's
# nginx-dev tree, /usr/share/nginx/src; with the --with-cc-opt and
# --with-ld-opt of `NGINX_BIN -V`, which it lacks), else from
# `NGINX_BIN -V` (its "configure arguments", less the modules it was built
# with).  A tree
# checked out from git has auto/configure instead of ./configure.
set -euo pipefail

src=$1 dest=$2 bin=$3 logf=$4
root=$(cd "$(dirname "$0")/.." && pwd)

rm -rf "$dest"
cp -r "$src" "$dest"
cd "$dest"

if [ -f conf_flags ]; then
    # shellcheck disable=SC1091
    . ./conf_flags
    from="$src/conf_flags"

    # Debian's conf_flags leave out the compiler and linker options its
    # nginx and its own modules are built with (-O2, -fstack-protector-
    # strong, _FORTIFY_SOURCE, relro): without them nginx's configure
    # compiles the module with -O alone.  Take them from NGINX_BIN -V.
    if args=$("$bin" -V 2>&1 | sed -n 's/^configure arguments: //p'); then
        eval "all=($args)"
        for a in "${all[@]}"; do
            case $a in
                --with-cc-opt=*|--with-ld-opt=*) NGX_CONF_FLAGS+=("$a") ;;
            esac
        done
        from="$from and the compiler options of $bin -V"
    fi
else
    if ! args=$("$bin" -V 2>&1 | sed -n 's/^configure arguments: //p'); then
        echo "configure-nginx: cannot run $bin -V" >&2
        exit 1
    fi
    eval "all=($args)"
    NGX_CONF_FLAGS=()
    for a in "${all[@]}"; do
        case $a in
            --add-module=*|--add-dynamic-module=*) ;;
            *) NGX_CONF_FLAGS+=("$a") ;;
        esac
    done
    from="$bin -V"
fi

configure=./configure
[ -x "$configure" ] || configure=auto/configure

echo "configure-nginx: $src with the flags of $from" >&2
if ! "$configure" "${NGX_CONF_FLAGS[@]}" --add-dynamic-module="$root" \
        >"$logf" 2>&1; then
    tail -20 "$logf" >&2
    echo "configure-nginx: configure failed (log: $logf)" >&2
    exit 1
fi

# the version this tree builds for, against the one that will load it
want=$(sed -n 's/^#define NGINX_VERSION *"\(.*\)"/\1/p' src/core/nginx.h)
have=$("$bin" -v 2>&1 | sed -n 's,.*nginx/\([0-9.]*\).*,\1,p') || true
if [ -n "$have" ] && [ "$want" != "$have" ]; then
    echo "configure-nginx: warning: $src is nginx $want but $bin is" \
         "nginx $have: the module will load only into nginx $want" >&2
fi
