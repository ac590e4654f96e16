#!/usr/bin/env bash
# `make run`: the module for real on this machine.  A Redis under run/, demo
# data written with validibot-token, nginx on 127.0.0.1:8080 in front of a
# demo upstream that echoes the identity it receives.  `make stop` ends it.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
run=$top/run
tok=$top/build/validibot-token
port=${VALIDIBOT_DEMO_PORT:-8080}

mkdir -p "$run/logs" "$run/redis"
sh "$top/scripts/stop.sh" >/dev/null 2>&1 || true

# Redis on a unix socket only: nothing else on this machine is disturbed.
# The socket is world-writable because nginx workers run as "nobody".
redis-server --port 0 --unixsocket "$run/redis.sock" --unixsocketperm 777 \
    --dir "$run/redis" --save '' --appendonly no --daemonize yes \
    --pidfile "$run/redis.pid" --logfile "$run/redis.log"

for _ in $(seq 50); do
    redis-cli -s "$run/redis.sock" ping >/dev/null 2>&1 && break
    sleep 0.1
done

[ -f "$run/digest.key" ] || openssl rand -hex 32 > "$run/digest.key"
chmod 600 "$run/digest.key"

export VALIDIBOT_REDIS_URL="unix:$run/redis.sock"
export VALIDIBOT_DIGEST_KEY_FILE="$run/digest.key"

"$tok" org add acme --name "Acme Inc" >/dev/null
"$tok" user add alice --email alice@example.com --name "Alice Author" >/dev/null
"$tok" user add bob --email bob@example.com --name "Bob Executor" >/dev/null
"$tok" member grant acme alice author >/dev/null
"$tok" member grant acme bob executor >/dev/null
author=$("$tok" create --user alice --label "demo author key")
executor=$("$tok" create --user bob --label "demo executor key")

sed -e "s#@TOP@#$top#g" -e "s#@RUN@#$run#g" -e "s#@PORT@#$port#g" \
    "$top/scripts/demo.conf.in" > "$run/nginx.conf"

/usr/sbin/nginx -p "$run/" -c "$run/nginx.conf" -t -q
/usr/sbin/nginx -p "$run/" -c "$run/nginx.conf"

base=http://127.0.0.1:$port
cat <<MSG

Validibot gateway demo running: nginx on $base, Redis at $run/redis.sock
(error log: $run/logs/error.log; stop with \`make stop\`).

Org "acme": alice is an author, bob an executor. Their keys (shown once):

  export AUTHOR=$author
  export EXECUTOR=$executor

Try:

  curl -i $base/api/v1/auth/me/                                    # 401, no key
  curl -i -H "Authorization: Bearer \$AUTHOR" $base/api/v1/auth/me/  # 200, identity echoed
  curl -i -H "Authorization: Bearer \$AUTHOR" -X POST $base/api/v1/orgs/acme/workflows/7/runs/    # 403: authors cannot launch
  curl -i -H "Authorization: Bearer \$EXECUTOR" -X POST $base/api/v1/orgs/acme/workflows/7/runs/  # 200
  curl -i -H "Authorization: Bearer \$AUTHOR" -X POST $base/api/v1/orgs/acme/workflows/7/clone/   # 200
  curl -i -H "Authorization: Bearer \$EXECUTOR" $base/api/v1/orgs/other/workflows/              # 403: not a member

Manage keys with $tok (VALIDIBOT_REDIS_URL=unix:$run/redis.sock
VALIDIBOT_DIGEST_KEY_FILE=$run/digest.key), e.g. \`$tok list\`.
MSG
