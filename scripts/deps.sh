#!/bin/sh
# Installs Debian packages: with no arguments, those the build, the tests
# and the demo need; with arguments, those named (what `make bench` and
# the hardening targets need on top).  Quiet and quick when all are there.
set -e

pkgs="$*"

if [ -z "$pkgs" ]; then
    pkgs="nginx nginx-dev libhiredis-dev libssl-dev redis-server gcc make
          libtest-base-perl libtest-longstring-perl liblist-moreutils-perl
          libtext-diff-perl libipc-run-perl libhttp-message-perl liburi-perl
          libwww-perl curl clang libclang-rt-14-dev python3-prometheus-client
          openssl dpkg-dev libpcre2-dev zlib1g-dev postgresql-15 libpq-dev
          python3-django python3-djangorestframework python3-jwt nodejs
          redis-sentinel"
fi

missing=""
for p in $pkgs; do
    dpkg-query -W -f '${Status}' "$p" 2>/dev/null | grep -q "ok installed" \
        || missing="$missing $p"
done

[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
    echo "deps: missing packages:$missing (run as root to install)" >&2
    exit 1
fi

echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# policy-rc.d keeps the packages' own nginx and redis services from
# starting on port 80 and 6379: the project runs its own.
printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
chmod +x /usr/sbin/policy-rc.d
apt-get install -y -qq --no-install-recommends $missing >/dev/null
rm -f /usr/sbin/policy-rc.d
