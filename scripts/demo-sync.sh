#!/usr/bin/env bash
# `make demo-sync`: validibot-sync for real on this machine.  A PostgreSQL
# 15 cluster under run/pg with Validibot's schema
# (tools/t/sync/validibot-schema.sql) and a few rows, validibot-sync
# feeding the demo Redis from it, nginx on 127.0.0.1:8080 as `make run`
# sets it up.  Prints the SQL that revokes a key in Validibot's database
# and the curl that shows the refusal.  `make stop` ends everything.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
run=$top/run
port=${VALIDIBOT_DEMO_PORT:-8080}
pgport=${VALIDIBOT_DEMO_PG_PORT:-54329}
pgbin=/usr/lib/postgresql/15/bin
sync=$top/build/validibot-sync

sh "$top/scripts/stop.sh" >/dev/null 2>&1 || true
mkdir -p "$run/logs" "$run/redis"

# PostgreSQL refuses to run as root: the cluster belongs to "nobody" then
owner=$(id -un)
as_owner() { "$@"; }
if [ "$(id -u)" = 0 ]; then
    owner=nobody
    as_owner() { runuser -u nobody -- "$@"; }
fi

if [ ! -f "$run/pg/PG_VERSION" ]; then
    rm -rf "$run/pg"
    mkdir -p "$run/pg"
    chown "$owner" "$run/pg"
    as_owner "$pgbin/initdb" -D "$run/pg" -A trust -U postgres -E UTF8 \
        --no-sync >/dev/null
    cat >> "$run/pg/postgresql.conf" <<CONF
listen_addresses = ''
port = $pgport
unix_socket_directories = '$run/pg'
wal_level = logical
max_slot_wal_keep_size = 1GB
CONF
fi

as_owner "$pgbin/pg_ctl" -D "$run/pg" -w -l "$run/pg/log" start >/dev/null

pg="postgresql://postgres@/validibot?host=$run/pg&port=$pgport"
psql() { "$pgbin/psql" -X -q -A -t -v ON_ERROR_STOP=1 "$@"; }

if [ -z "$(psql -d "postgresql://postgres@/postgres?host=$run/pg&port=$pgport" \
               -c "SELECT 1 FROM pg_database WHERE datname = 'validibot'")" ]
then
    psql -d "postgresql://postgres@/postgres?host=$run/pg&port=$pgport" \
        -c 'CREATE DATABASE validibot;'
    psql -d "$pg" -f "$top/tools/t/sync/validibot-schema.sql"
fi

# Redis as `make run` has it: a unix socket only
redis-server --port 0 --unixsocket "$run/redis.sock" --unixsocketperm 777 \
    --dir "$run/redis" --save '' --appendonly no --daemonize yes \
    --pidfile "$run/redis.pid" --logfile "$run/redis.log"
for _ in $(seq 50); do
    redis-cli -s "$run/redis.sock" ping >/dev/null 2>&1 && break
    sleep 0.1
done

[ -f "$run/digest.key" ] || openssl rand -hex 32 > "$run/digest.key"
chmod 600 "$run/digest.key"
dkey=$(tr -d '\n' < "$run/digest.key")

# a key as Validibot's issue_key makes it: the digest of
# "validibot-api-key\0format=1\0digest=1\0public=<id>\0secret=<secret>"
new_key() {
    local user=$1 label=$2 pid secret digest
    pid=$(openssl rand -hex 16)
    secret=$(openssl rand -hex 32)
    digest=$(printf 'validibot-api-key\0format=1\0digest=1\0public=%s\0secret=%s' \
                 "$pid" "$secret" \
             | openssl dgst -sha256 -hmac "$dkey" -r | cut -d' ' -f1)
    psql -d "$pg" >/dev/null <<SQL
INSERT INTO users_validibotapikey (created, modified, id, public_id, label,
    format_version, digest_version, secret_digest, expires_at, revoked_at,
    last_used_at, rotated_from_id, user_id)
SELECT now(), now(), gen_random_uuid(), '$pid', '$label', 1, 1, '$digest',
    now() + interval '365 days', NULL, NULL, NULL, id
FROM users_user WHERE username = '$user';
SQL
    echo "vbk_1_${pid}_$secret"
}

psql -d "$pg" >/dev/null <<'SQL'
INSERT INTO users_organization (created, modified, name, slug, is_personal,
    allow_authors_to_adjust_access, mcp_allowed, workflow_visibility_cap,
    x402_allowed)
VALUES (now(), now(), 'Acme Inc', 'acme', false, false, false, 'ALL_USERS',
    false) ON CONFLICT (slug) DO NOTHING;
INSERT INTO users_user (password, is_superuser, username, email, is_staff,
    is_active, date_joined, name, job_title, company, location, timezone, bio)
VALUES ('!', false, 'alice', 'alice@example.com', false, true, now(),
        'Alice Author', '', '', '', '', ''),
       ('!', false, 'bob', 'bob@example.com', false, true, now(),
        'Bob Executor', '', '', '', '', '')
ON CONFLICT (username) DO NOTHING;
INSERT INTO users_membership (created, modified, is_active, org_id, user_id)
SELECT now(), now(), true, o.id, u.id FROM users_organization o, users_user u
WHERE o.slug = 'acme' AND u.username IN ('alice', 'bob')
ON CONFLICT (user_id, org_id) DO NOTHING;
INSERT INTO users_membershiprole (membership_id, role_id)
SELECT m.id, r.id FROM users_membership m
    JOIN users_user u ON u.id = m.user_id
    JOIN users_role r ON r.code = CASE u.username WHEN 'alice' THEN 'AUTHOR'
                                                  ELSE 'EXECUTOR' END
ON CONFLICT (membership_id, role_id) DO NOTHING;
SQL

author=$(new_key alice "demo author key")
executor=$(new_key bob "demo executor key")
epid=$(echo "$executor" | cut -d_ -f3)

export VALIDIBOT_SYNC_PG=$pg
export VALIDIBOT_REDIS_URL="unix:$run/redis.sock"
"$sync" setup >/dev/null 2>&1
nohup "$sync" run > "$run/logs/sync.log" 2>&1 &
echo $! > "$run/sync.pid"

for _ in $(seq 100); do
    grep -q 'streaming from slot' "$run/logs/sync.log" && break
    sleep 0.1
done

sed -e "s#@TOP@#$top#g" -e "s#@RUN@#$run#g" -e "s#@PORT@#$port#g" \
    -e "s#^\(    validibot_digest_key .*\)#\1\n    validibot_sync_max_lag 5s;#" \
    "$top/scripts/demo.conf.in" > "$run/nginx.conf"

/usr/sbin/nginx -p "$run/" -c "$run/nginx.conf" -t -q
/usr/sbin/nginx -p "$run/" -c "$run/nginx.conf"

base=http://127.0.0.1:$port
cat <<MSG

validibot-sync demo running: Validibot's tables in PostgreSQL
($pg), validibot-sync mirroring them into Redis ($run/redis.sock, log:
$run/logs/sync.log), nginx on $base (validibot_sync_max_lag 5s).
Stop everything with \`make stop\`.

Org "acme": alice is an author, bob an executor. Their keys (shown once):

  export AUTHOR=$author
  export EXECUTOR=$executor

  curl -i -H "Authorization: Bearer \$EXECUTOR" -X POST $base/api/v1/orgs/acme/workflows/7/runs/   # 200

Revoke bob's key in Validibot's database, as its UI does:

  $pgbin/psql "$pg" -c "UPDATE users_validibotapikey SET revoked_at = now(), modified = now() WHERE public_id = '$epid';"

and the next request is refused (401, WWW-Authenticate: Bearer ... error="invalid_token"):

  curl -i -H "Authorization: Bearer \$EXECUTOR" $base/api/v1/auth/me/

Other changes work the same way (roles, memberships, users.is_active);
\`$sync status\` (with VALIDIBOT_SYNC_PG and VALIDIBOT_REDIS_URL as above)
shows the lag.
MSG
