#!/bin/bash
# `make test-deb`: the packages as an operator meets them, on this machine
# (docs/packaging.md).
#
#   scripts/test-deb.sh build/deb
#
#  1. apt-get install ./libnginx-mod-http-validibot_*.deb
#     ./validibot-token_*.deb ./validibot-sync_*.deb: the module is enabled
#     in /etc/nginx/modules-enabled; the only other new path in /etc/nginx,
#     /etc/redis or named *validibot* under /etc is validibot-sync's
#     /etc/default/validibot-sync (its only conffile, no setting in it);
#     validibot-sync --help works and its man page shows every line of
#     it; its systemd unit is installed, valid, not enabled, and no
#     validibot-sync runs; nothing new listens on ports 80, 443, 6379 or
#     26379;
#  2. a Redis of its own (unix socket under a temporary directory) seeded
#     with the packaged /usr/bin/validibot-token;
#  3. an nginx of its own (/usr/sbin/nginx, its own nginx.conf that, like
#     Debian's, includes /etc/nginx/modules-enabled/*.conf, a free port):
#     `nginx -t` passes with only the module's directives added, and a
#     site answers 401 (no key), 200 (a key), 403 (a role it lacks);
#  4. the same packages installed again over themselves (an upgrade as
#     dpkg runs it) while that nginx serves: it keeps answering, and after
#     a reload too;
#  5. apt-get purge: every path `dpkg -L` listed is gone (the directories
#     other packages share excepted), and those parts of /etc and
#     deb-systemd-helper's state under /var/lib/systemd are as they were.
#
# It runs as root and leaves the machine as it found it: the packages are
# purged and its nginx and Redis stopped on every exit, failures included.
# It refuses to run when either package is already installed (that would
# be someone's install).  The system's nginx service is never started,
# stopped or reloaded (a policy-rc.d denies service actions while the
# packages are installed, unless one is already there).
set -euo pipefail

DEB_DIR=${1:?usage: scripts/test-deb.sh DIR-WITH-DEBS}
DEB_DIR=$(cd "$DEB_DIR" && pwd)
cd "$(dirname "$0")/.."
ROOT=$(pwd)
. "$ROOT/scripts/lib.sh"

PKGS=(libnginx-mod-http-validibot validibot-token validibot-sync)
APT=(apt-get -y -q -o DPkg::Lock::Timeout=600)
export DEBIAN_FRONTEND=noninteractive

fails=0
tests=0
ok() { tests=$((tests + 1)); echo "ok $tests - $*"; }
not_ok() { tests=$((tests + 1)); fails=$((fails + 1)); echo "not ok $tests - $*"; }
check() {
    local what=$1
    shift
    if "$@"; then ok "$what"; else not_ok "$what"; fi
}
die() { echo "test-deb: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root (it installs packages)"

mod_deb=$(ls "$DEB_DIR"/libnginx-mod-http-validibot_*.deb 2>/dev/null \
          | head -1)
cli_deb=$(ls "$DEB_DIR"/validibot-token_*.deb 2>/dev/null | head -1)
sync_deb=$(ls "$DEB_DIR"/validibot-sync_*.deb 2>/dev/null | head -1)
[ -n "$mod_deb" ] && [ -n "$cli_deb" ] && [ -n "$sync_deb" ] \
    || die "no .debs in $DEB_DIR (make deb)"

for p in "${PKGS[@]}"; do
    if dpkg-query -W -f '${Status}' "$p" 2>/dev/null \
            | grep -qv "not-installed"; then
        die "$p is installed already: not touching someone's install"
    fi
done

TMP=$(mktemp -d /tmp/validibot-test-deb.XXXXXX)
chmod 755 "$TMP"
policy_ours=0
nginx_conf=$TMP/nginx.conf

cleanup() {
    local rc=$?

    set +e
    if [ -f "$TMP/nginx.pid" ]; then
        /usr/sbin/nginx -c "$nginx_conf" -s quit 2>/dev/null
        sleep 0.5
        kill "$(cat "$TMP/nginx.pid" 2>/dev/null)" 2>/dev/null
    fi
    if [ -f "$TMP/redis.pid" ]; then
        kill "$(cat "$TMP/redis.pid")" 2>/dev/null
    fi
    for p in "${PKGS[@]}"; do
        if dpkg-query -W -f '${Status}' "$p" 2>/dev/null \
                | grep -qv "not-installed"; then
            echo "test-deb: purging $p" >&2
            "${APT[@]}" purge "$p" >/dev/null 2>&1
        fi
    done
    [ "$policy_ours" = 1 ] && rm -f /usr/sbin/policy-rc.d
    rm -rf "$TMP"
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# What /etc holds before (nginx's and Redis's configuration, and anything
# named after the project: other engineers' package installs may change
# the rest of /etc meanwhile), and what listens on the system services'
# ports (80, 443, 6379, 26379): the packages must start none of them.
etc_list() {
    { find /etc/nginx /etc/redis 2>/dev/null
      find /etc -path /etc/mtab -prune -o -iname '*validibot*' -print \
          2>/dev/null; } | sort -u
}
# what deb-systemd-helper remembers about units (enabled links to remove
# on purge, masks)
dsh_list() {
    find /var/lib/systemd -iname '*validibot*' 2>/dev/null | sort
}
services() {
    ss -Hltn 2>/dev/null | awk '{ print $4 }' \
        | grep -E ':(80|443|6379|26379)$' | sort -u || true
}
etc_list > "$TMP/etc.before"
dsh_list > "$TMP/dsh.before"
services > "$TMP/services.before"

if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    policy_ours=1
fi

# --- 1. install -----------------------------------------------------------

echo "# installing $(basename "$mod_deb") $(basename "$cli_deb")" \
     "$(basename "$sync_deb")"
"${APT[@]}" install --no-install-recommends "$mod_deb" "$cli_deb" "$sync_deb" \
    > "$TMP/install.log" 2>&1 || { cat "$TMP/install.log"; die "install failed"; }

for p in "${PKGS[@]}"; do
    dpkg -L "$p" > "$TMP/$p.files"
done

so=/usr/lib/nginx/modules/ngx_http_validibot_module.so
link=/etc/nginx/modules-enabled/50-mod-http-validibot.conf
avail=/usr/share/nginx/modules-available/mod-http-validibot.conf

check "the module is in $so" test -f "$so"
check "$avail loads it" \
    grep -qx 'load_module modules/ngx_http_validibot_module.so;' "$avail"
check "installing enabled it: $link -> $avail" \
    test "$(readlink "$link")" = "$avail"
abi=$(awk -F= '/^nginx:abi=/ { print $2 }' \
          /usr/share/nginx/src/debian/libnginx-mod.abisubstvars)
depends=$(dpkg-query -W -f '${Depends}' libnginx-mod-http-validibot)
check "the module depends on this nginx's ABI ($abi)" \
    grep -qw -- "$abi" <<< "$depends"
conffiles=$(dpkg-query -W -f '${Conffiles}' libnginx-mod-http-validibot \
                validibot-token)
check "the module and validibot-token ship no configuration file" \
    test -z "$conffiles"
sync_env=/etc/default/validibot-sync
conffiles=$(dpkg-query -W -f '${Conffiles}' validibot-sync \
            | awk 'NF { print $1 }')
check "validibot-sync's only conffile is $sync_env" \
    test "$conffiles" = "$sync_env"
check "$sync_env sets nothing (every setting commented out: no secret)" \
    test -z "$(grep -Ev '^[[:space:]]*(#|$)' "$sync_env")"
check "$sync_env is mode 0644, root's" \
    test "$(stat -c '%a %U' "$sync_env")" = "644 root"
check "validibot-token is in /usr/bin" test -x /usr/bin/validibot-token
check "validibot-token has a man page" \
    bash -c 'man -w validibot-token | grep -q /usr/share/man/man1/'

# validibot-sync: the daemon, its man page, its unit (not enabled)
sync=/usr/bin/validibot-sync
unit=/lib/systemd/system/validibot-sync.service
check "validibot-sync is in /usr/bin" test -x "$sync"
check "validibot-sync --help works" \
    bash -c "'$sync' --help > '$TMP/sync.help' && grep -q '^Usage: validibot-sync' '$TMP/sync.help'"
# the page is written from --help at build time: every line of --help,
# spaces squeezed, is in the rendered page (its paragraphs filled: the
# help's lines are compared as runs of words)
LC_ALL=C MANWIDTH=120 man -P cat validibot-sync 2>/dev/null \
    | sed 's/.\x08//g' | tr -s ' \n' '  ' > "$TMP/sync.man" || true
# ("Usage: X" is the synopsis X; a "Heading:" line a section HEADING)
missing=""
while IFS= read -r line; do
    case $line in
        "Usage: "*) line=${line#Usage: } ;;
        *[!A-Za-z\ ]*:) ;;
        [A-Z]*:) line=$(echo "${line%:}" | tr '[:lower:]' '[:upper:]') ;;
    esac
    words=$(echo "$line" | tr -s ' ' | sed 's/^ //; s/ $//')
    [ -n "$words" ] || continue
    grep -qF -- "$words" "$TMP/sync.man" || missing="$missing [$words]"
done < "$TMP/sync.help"
grep -qE '(^| )\.(SH|SS|TP|nf|fi|PP) ' "$TMP/sync.man" \
    && missing="$missing [a roff request shows as text]"
check "man validibot-sync shows every line of --help${missing:+; not:$missing}" \
    test -s "$TMP/sync.man" -a -z "$missing"
check "the unit is $unit" test -f "$unit"
check "the unit runs the packaged binary with the packaged environment" \
    bash -c "grep -qx 'ExecStart=$sync run' '$unit' && grep -qx 'EnvironmentFile=$sync_env' '$unit'"
# (also runs ExecStart's binary's path and Documentation=man: checks)
check "systemd-analyze verify accepts the unit" \
    bash -c "systemd-analyze verify '$unit' > '$TMP/verify.log' 2>&1 && ! grep -q . '$TMP/verify.log' || { cat '$TMP/verify.log' >&2; false; }"
check "installing enabled no unit (nothing in /etc/systemd)" \
    test -z "$(find /etc/systemd -name 'validibot-sync*' 2>/dev/null)"
check "installing started no validibot-sync" \
    bash -c "! pgrep -f '^$sync' >/dev/null"

etc_list > "$TMP/etc.installed"
diff "$TMP/etc.before" "$TMP/etc.installed" | grep '^[<>]' \
    > "$TMP/etc.diff" || true
check "the only new paths in /etc/nginx, /etc/redis, /etc/*validibot* are the link and $sync_env" \
    test "$(cat "$TMP/etc.diff")" = "$(printf '> %s\n' "$sync_env" "$link" | sort)"
check "installing started nothing on ports 80, 443, 6379, 26379" \
    test "$(services)" = "$(cat "$TMP/services.before")"

# --- 2. a Redis of its own, seeded with the packaged CLI -------------------

redis-server --port 0 --unixsocket "$TMP/redis.sock" --unixsocketperm 777 \
    --dir "$TMP" --save '' --appendonly no --daemonize yes \
    --pidfile "$TMP/redis.pid" --logfile "$TMP/redis.log"
for _ in $(seq 100); do
    redis-cli -s "$TMP/redis.sock" ping >/dev/null 2>&1 && break
    sleep 0.1
done

openssl rand -hex 32 > "$TMP/digest.key"
export VALIDIBOT_REDIS_URL=unix:$TMP/redis.sock
export VALIDIBOT_DIGEST_KEY_FILE=$TMP/digest.key
tok=/usr/bin/validibot-token

"$tok" org add acme --name "Acme Inc" >/dev/null
"$tok" user add bob --email bob@example.com --name "Bob Executor" >/dev/null
"$tok" member grant acme bob executor >/dev/null
key=$("$tok" create --user bob --label "test-deb" 2>/dev/null)
check "the packaged validibot-token created a key" \
    bash -c "echo '$key' | grep -Eq '^vbk_1_[0-9a-f]{32}_[0-9a-f]{64}\$'"

# --- 3. a site on the packaged module -------------------------------------

port=$(free_port)
cat > "$nginx_conf" <<EOF
# like /etc/nginx/nginx.conf: the enabled modules, then the site
include /etc/nginx/modules-enabled/*.conf;

pid $TMP/nginx.pid;
error_log $TMP/error.log notice;
worker_processes 1;

events {}

http {
    access_log off;
    client_body_temp_path $TMP/body;
    proxy_temp_path $TMP/proxy;
    fastcgi_temp_path $TMP/fastcgi;
    uwsgi_temp_path $TMP/uwsgi;
    scgi_temp_path $TMP/scgi;

    # the module's directives, nothing else
    validibot_redis unix:$TMP/redis.sock;
    validibot_digest_key 1 $TMP/digest.key;

    # the upstream: says who the gateway says the user is
    server {
        listen unix:$TMP/upstream.sock;
        return 200 "user=\$http_x_validibot_user\n";
    }

    server {
        listen 127.0.0.1:$port;
        validibot_auth "Validibot API";

        location = /api/v1/auth/me/ {
            proxy_pass http://unix:$TMP/upstream.sock;
        }

        location ~ ^/api/v1/orgs/(?<org>[a-z0-9_-]+)/workflows/[^/]+/clone/\$ {
            validibot_org \$org;
            validibot_require workflow_edit;
            proxy_pass http://unix:$TMP/upstream.sock;
        }
    }
}
EOF

check "nginx -t passes with the module enabled by the package" \
    /usr/sbin/nginx -t -q -c "$nginx_conf" 2>/dev/null
/usr/sbin/nginx -c "$nginx_conf" || die "nginx did not start ($TMP/error.log)"

status() {
    curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$@"
}
base=http://127.0.0.1:$port
me=$base/api/v1/auth/me/
clone=$base/api/v1/orgs/acme/workflows/7/clone/

check "no key: 401" test "$(status "$me")" = 401
check "bob's key: 200" \
    test "$(status -H "Authorization: Bearer $key" "$me")" = 200
check "bob's key, the body names bob" \
    test "$(curl -s --max-time 10 -H "Authorization: Bearer $key" "$me")" \
         = "user=bob"
check "an executor may not clone: 403" \
    test "$(status -H "Authorization: Bearer $key" -X POST "$clone")" = 403

# --- 4. installed again over itself while nginx serves ---------------------

"${APT[@]}" install --reinstall --no-install-recommends "$mod_deb" \
    "$cli_deb" "$sync_deb" > "$TMP/reinstall.log" 2>&1 \
    || { cat "$TMP/reinstall.log"; die "reinstall failed"; }
check "after the upgrade the running nginx still answers 200" \
    test "$(status -H "Authorization: Bearer $key" "$me")" = 200
check "the upgrade kept the admin's enabling link" \
    test "$(readlink "$link")" = "$avail"
/usr/sbin/nginx -c "$nginx_conf" -s reload 2>/dev/null
sleep 1
check "after a reload: 200 and 401" \
    test "$(status -H "Authorization: Bearer $key" "$me")$(status "$me")" \
         = 200401

/usr/sbin/nginx -c "$nginx_conf" -s quit 2>/dev/null
for _ in $(seq 50); do
    [ -f "$TMP/nginx.pid" ] || break
    sleep 0.1
done
kill "$(cat "$TMP/redis.pid")" && rm -f "$TMP/redis.pid"

# --- 5. purge --------------------------------------------------------------

"${APT[@]}" purge "${PKGS[@]}" > "$TMP/purge.log" 2>&1 \
    || { cat "$TMP/purge.log"; die "purge failed"; }

# every file and link the packages listed is gone; a directory (/etc,
# /etc/default, /lib, which is a link to usr/lib on bookworm) stays only
# when another package still owns it
left=""
for p in "${PKGS[@]}"; do
    while read -r f; do
        [ "$f" = /. ] && continue
        if [ -e "$f" ] || [ -L "$f" ]; then
            if [ -d "$f" ] && [ -n "$(dpkg -S "$f" 2>/dev/null)" ]; then
                continue
            fi
            left="$left $f"
        fi
    done < "$TMP/$p.files"
done
check "purge left no file of the packages behind${left:+:$left}" \
    test -z "$left"
check "purge removed the enabling link" \
    bash -c "! test -e '$link' && ! test -L '$link' && ! test -L '$link.removed'"
etc_list > "$TMP/etc.after"
check "/etc/nginx, /etc/redis and /etc/*validibot* are as before" \
    cmp -s "$TMP/etc.before" "$TMP/etc.after"
dsh_list > "$TMP/dsh.after"
check "deb-systemd-helper keeps nothing about validibot-sync" \
    cmp -s "$TMP/dsh.before" "$TMP/dsh.after"

echo "1..$tests"
if [ "$fails" -gt 0 ]; then
    echo "test-deb: $fails of $tests checks failed" >&2
    exit 1
fi
echo "test-deb: all $tests checks passed"
