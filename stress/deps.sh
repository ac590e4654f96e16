#!/bin/sh
# Installs the Debian packages the hardening targets need beyond
# scripts/deps.sh (docs/hardening.md): quiet when they are there.
#
#   stress/deps.sh valgrind wrk ...
set -e

missing=""
for p in "$@"; do
    dpkg-query -W -f '${Status}' "$p" 2>/dev/null | grep -q "ok installed" \
        || missing="$missing $p"
done

[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
    echo "stress/deps.sh: missing packages:$missing (run as root)" >&2
    exit 1
fi

echo "stress/deps.sh: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# keeps a package's own services (redis-server) from starting
printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
chmod +x /usr/sbin/policy-rc.d
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
rm -f /usr/sbin/policy-rc.d
