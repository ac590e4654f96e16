
/*
 * Copyright (C) The ngx_http_validibot_module authors
 *
 * validibot-sync: the fast path for refusals.  The walsender decodes the
 * WAL in order, so a revocation committed after a large unrelated
 * transaction reaches the bridge only once that transaction is decoded
 * (seconds for a million rows).  A NOTIFY is delivered at COMMIT,
 * whatever the decoding: triggers that validibot-sync setup installs
 * notify when a key is revoked or deleted and when a user is deactivated
 * or deleted, and the bridge marks the record refused at once.
 *
 * The stream, being behind, would then write older states over the mark
 * (fail open).  So the mark carries the transaction's xid in the field
 * "sync_fast", and the stream writes key and user records through a
 * script that leaves the guarded field (revoked_at, is_active) alone
 * while the mark names another transaction, and removes the mark when it
 * applies the marked transaction itself.  A notification for a
 * transaction the stream applied already is ignored: the stream wrote
 * the newer state.
 */


#include <stdlib.h>
#include <string.h>

#include "vs.h"


/*
 * KEYS[1] the record; ARGV[1] the guarded field, ARGV[2] the xid of the
 * transaction being applied, then field value pairs.
 */
const char  vs_fast_guard_lua[] =
    "local m = redis.call('HGET', KEYS[1], 'sync_fast') "
    "local a = {} "
    "for i = 3, #ARGV, 2 do "
    "if ARGV[i] ~= ARGV[1] or not m or m == ARGV[2] then "
    "a[#a + 1] = ARGV[i] a[#a + 1] = ARGV[i + 1] end "
    "end "
    "if m == ARGV[2] then redis.call('HDEL', KEYS[1], 'sync_fast') end "
    "if #a > 0 then redis.call('HSET', KEYS[1], unpack(a)) end "
    "return #a";


static const char  *vs_fast_triggers[] = {
    "key_revoked", "key_deleted", "user_inactive", "user_deleted"
};


/* the function and the four triggers, for validibot-sync setup */
char *
vs_fast_setup_sql(vs_conf_t *conf)
{
    const char  *p = conf->publication;

    return vs_sprintf(
        "CREATE OR REPLACE FUNCTION %s_fast() RETURNS trigger\n"
        "    LANGUAGE plpgsql AS $vs$\n"
        "BEGIN\n"
        "    IF TG_TABLE_NAME = 'users_validibotapikey' THEN\n"
        "        PERFORM pg_notify(TG_ARGV[0], 'key ' || OLD.public_id "
        "|| ' ' || txid_current() %% 4294967296);\n"
        "    ELSE\n"
        "        PERFORM pg_notify(TG_ARGV[0], 'user ' || OLD.id "
        "|| ' ' || txid_current() %% 4294967296);\n"
        "    END IF;\n"
        "    RETURN NULL;\n"
        "END\n"
        "$vs$;\n"
        "CREATE OR REPLACE TRIGGER %s_key_revoked AFTER UPDATE OF "
        "revoked_at ON users_validibotapikey FOR EACH ROW WHEN "
        "(NEW.revoked_at IS NOT NULL AND NEW.revoked_at IS DISTINCT FROM "
        "OLD.revoked_at) EXECUTE FUNCTION %s_fast('%s');\n"
        "CREATE OR REPLACE TRIGGER %s_key_deleted AFTER DELETE ON "
        "users_validibotapikey FOR EACH ROW EXECUTE FUNCTION "
        "%s_fast('%s');\n"
        "CREATE OR REPLACE TRIGGER %s_user_inactive AFTER UPDATE OF "
        "is_active ON users_user FOR EACH ROW WHEN (OLD.is_active AND NOT "
        "NEW.is_active) EXECUTE FUNCTION %s_fast('%s');\n"
        "CREATE OR REPLACE TRIGGER %s_user_deleted AFTER DELETE ON "
        "users_user FOR EACH ROW EXECUTE FUNCTION %s_fast('%s');\n",
        p, p, p, p, p, p, p, p, p, p, p, p, p);
}


/*
 * The triggers are optional: without them refusals take the stream's
 * path only.  A warning says so; 1 when all four are there.
 */
int
vs_fast_check(PGconn *pg, vs_conf_t *conf, int verbose)
{
    int          n, i;
    char        *sql, *list, *t;
    PGresult    *res;

    list = vs_sprintf("'%s_%s'", conf->publication, vs_fast_triggers[0]);

    for (i = 1; i < 4; i++) {
        t = vs_sprintf("%s, '%s_%s'", list, conf->publication,
                       vs_fast_triggers[i]);
        free(list);
        list = t;
    }

    sql = vs_sprintf("SELECT count(*) FROM pg_trigger t JOIN pg_class c "
                     "ON c.oid = t.tgrelid WHERE NOT t.tgisinternal "
                     "AND t.tgenabled <> 'D' AND c.relname IN "
                     "('users_validibotapikey', 'users_user') "
                     "AND t.tgname IN (%s)", list);
    free(list);

    res = PQexec(pg, sql);
    free(sql);

    n = (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
        ? atoi(PQgetvalue(res, 0, 0)) : -1;
    PQclear(res);

    if (n != 4) {
        vs_log("warn", "the fast path's triggers are missing (%d of 4): "
               "revocations wait for the walsender to decode everything "
               "committed before them; run validibot-sync setup "
               "(docs/sync.md)", n < 0 ? 0 : n);
        return 0;
    }

    if (verbose) {
        vs_log("info", "the fast path's triggers are ready");
    }

    return 1;
}


int
vs_fast_listen(PGconn *pg, vs_conf_t *conf)
{
    char      *sql;
    PGresult  *res;

    sql = vs_sprintf("LISTEN %s", conf->publication);
    res = PQexec(pg, sql);
    free(sql);

    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        vs_log("error", "PostgreSQL: LISTEN: %s", PQresultErrorMessage(res));
        PQclear(res);
        return -1;
    }

    PQclear(res);

    return 0;
}


void
vs_fast_applied(vs_fast_ring_t *a, uint32_t xid)
{
    a->xid[a->next] = xid;
    a->next = (a->next + 1) % VS_FAST_RING;
}


static int
vs_fast_was_applied(vs_fast_ring_t *a, uint32_t xid)
{
    size_t  i;

    for (i = 0; i < VS_FAST_RING; i++) {
        if (a->xid[i] == xid) {
            return 1;
        }
    }

    return 0;
}


/*
 * Reads what the connection has and marks the records the notifications
 * name.  -1: PostgreSQL or Redis failed (the session starts again).
 */
int
vs_fast_poll(PGconn *pg, vs_redis_t *r, vs_fast_ring_t *applied)
{
    int        n;
    char      *name, now[24], xid[16];
    PGnotify  *nt;
    vs_fast_t  f;

    if (PQconsumeInput(pg) == 0) {
        vs_log("error", "PostgreSQL: %s", PQerrorMessage(pg));
        return -1;
    }

    n = 0;

    while ((nt = PQnotifies(pg)) != NULL) {

        if (vs_fast_parse(nt->extra, &f) != 0) {
            vs_log("warn", "fast path: notification \"%.80s\" not "
                   "understood: ignored", nt->extra);
            PQfreemem(nt);
            continue;
        }

        if (vs_fast_was_applied(applied, f.xid)) {
            PQfreemem(nt);
            continue;
        }

        snprintf(xid, sizeof(xid), "%u", f.xid);

        if (f.kind == VS_FAST_KEY) {
            snprintf(now, sizeof(now), "%lld",
                     (long long) (vs_now_ms() / 1000));
            name = vs_sprintf("%skey:%s", r->prefix, f.id);
            vs_redis_appendf(r, "HSET %s revoked_at %s sync_fast %s", name,
                             now, xid);
            vs_log("info", "fast path: key %s refused ahead of the stream "
                   "(transaction %s)", f.id, xid);

        } else {
            name = vs_sprintf("%suser:%s", r->prefix, f.id);
            vs_redis_appendf(r, "HSET %s is_active 0 sync_fast %s", name,
                             xid);
            vs_log("info", "fast path: user %s refused ahead of the stream "
                   "(transaction %s)", f.id, xid);
        }

        free(name);
        PQfreemem(nt);
        n++;
    }

    if (n && vs_redis_flush(r, NULL) != 0) {
        return -1;
    }

    return 0;
}
