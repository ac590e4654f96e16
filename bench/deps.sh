#!/bin/sh
# Installs the Debian packages only `make bench` needs (kept out of
# scripts/deps.sh so that `make test` stays lean).  Quiet when all there.
set -e

pkgs="wrk valgrind perl openssl curl procps
      libnginx-mod-http-lua lua-nginx-redis lua-nginx-string"

missing=""
for p in $pkgs; do
    dpkg-query -W -f '${Status}' "$p" 2>/dev/null | grep -q "ok installed" \
        || missing="$missing $p"
done

[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
    echo "bench: missing packages:$missing (run as root to install)" >&2
    exit 1
fi

echo "bench: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# lua-nginx-redis pulls in nginx-extras: keep the packaged nginx service
# from starting on port 80, the bench runs its own
printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
chmod +x /usr/sbin/policy-rc.d
apt-get install -y -qq --no-install-recommends $missing >/dev/null
rm -f /usr/sbin/policy-rc.d
