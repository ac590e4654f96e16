
/*
 * Copyright (C) The ngx_http_validibot_module authors
 *
 * validibot-sync run: one session connects to Redis and PostgreSQL,
 * decides between resuming the slot and a full load, then streams
 * pgoutput (protocol 2, streaming on) and applies each transaction to
 * Redis.  Any connection error ends the session; vs_run starts another
 * after a pause.  The position is confirmed to PostgreSQL only once Redis
 * executed the transaction.
 */


#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <time.h>

#include "vs.h"


#define VS_STOP     0             /* SIGTERM */
#define VS_RETRY    1             /* a connection failed: again later */
#define VS_RESYNC   2             /* again, with a full load */
#define VS_FATAL    3             /* the setup is wrong: exit */

#define VS_PG_EPOCH_US  946684800000000LL    /* 2000-01-01 in unix us */
#define VS_FETCH        "5000"
#define VS_FAST_EVERY   64        /* stream messages between two looks at
                                     the fast path's notifications */


typedef struct {
    uint32_t       subxid;
    unsigned char *data;
    size_t         len;
} vs_smsg_t;

typedef struct {
    uint32_t       xid;
    vs_smsg_t     *msgs;
    size_t         n, cap;
} vs_sbuf_t;


typedef struct {
    vs_conf_t     *conf;
    vs_redis_t     redis;
    PGconn        *pg;
    PGconn        *repl;
    vs_mirror_t   *mirror;

    char           sysid[32];
    char           timeline[16];
    char          *generation;

    vs_rel_t      *rels;
    size_t         nrels, crels;

    vs_sbuf_t     *sbufs;
    size_t         nsbufs, csbufs;
    vs_sbuf_t     *cur;               /* inside Stream Start .. Stop */

    uint64_t       received;
    uint64_t       confirmed;
    int            in_txn;
    int            truncated;
    int            changes;           /* in the open transaction */
    uint64_t       applied;           /* transactions */
    int            resynced;

    uint32_t       xid;               /* of the open transaction */
    vs_fast_ring_t fast;              /* xids the stream applied */
} vs_session_t;


static const char  vs_beat_lua[] =
    "if redis.call('HGET', KEYS[1], 'generation') ~= ARGV[1] then "
    "return 0 end "
    "if redis.call('HEXISTS', KEYS[1], 'resync') == 1 then return 2 end "
    "redis.call('HSET', KEYS[1], 'heartbeat_ms', ARGV[2], 'lsn', ARGV[3]) "
    "return 1";


PGconn *
vs_pg_connect(vs_conf_t *conf, int replication)
{
    PGconn      *pg;
    const char  *keys[6], *vals[6];

    /*
     * The operator's string first (expanded: a URI or key=value), then
     * what the bridge needs: ISO timestamps in UTC.
     */
    keys[0] = "dbname";
    vals[0] = conf->pg;
    keys[1] = "fallback_application_name";
    vals[1] = "validibot-sync";
    keys[2] = "options";
    vals[2] = "-c datestyle=ISO -c timezone=UTC";
    keys[3] = replication ? "replication" : NULL;
    vals[3] = "database";
    keys[4] = NULL;
    vals[4] = NULL;

    pg = PQconnectdbParams(keys, vals, 1);

    if (PQstatus(pg) != CONNECTION_OK) {
        vs_log("error", "cannot connect to PostgreSQL%s: %s",
               replication ? " for replication" : "",
               pg ? PQerrorMessage(pg) : "out of memory");
        PQfinish(pg);
        return NULL;
    }

    return pg;
}


static PGresult *
vs_query(PGconn *pg, const char *sql, ExecStatusType want)
{
    PGresult  *res;

    res = PQexec(pg, sql);

    if (PQresultStatus(res) != want) {
        vs_log("error", "PostgreSQL: %s: %s", sql,
               PQresultErrorMessage(res));
        PQclear(res);
        return NULL;
    }

    return res;
}


/*
 * What the bridge needs from the database: wal_level logical, the
 * publication with the six tables, REPLICA IDENTITY FULL where deletes
 * must carry more than the primary key.  Each problem is logged with what
 * to do; -1 if any.
 */
int
vs_check_setup(PGconn *pg, vs_conf_t *conf, int verbose)
{
    int          i, r, bad, found;
    char        *sql, *ident;
    PGresult    *res;

    bad = 0;

    res = vs_query(pg, "SHOW wal_level", PGRES_TUPLES_OK);
    if (res == NULL) {
        return -1;
    }

    if (strcmp(PQgetvalue(res, 0, 0), "logical") != 0) {
        vs_log("error", "wal_level is \"%s\", not \"logical\": "
               "ALTER SYSTEM SET wal_level = logical; then restart "
               "PostgreSQL (docs/sync.md)", PQgetvalue(res, 0, 0));
        bad = 1;

    } else if (verbose) {
        vs_log("info", "wal_level is logical");
    }

    PQclear(res);

    ident = PQescapeLiteral(pg, conf->publication, strlen(conf->publication));
    sql = vs_sprintf("SELECT c.relname, c.relreplident, "
                     "EXISTS (SELECT 1 FROM pg_publication_tables p "
                     "WHERE p.pubname = %s AND p.tablename = c.relname "
                     "AND p.schemaname = n.nspname) "
                     "FROM pg_class c JOIN pg_namespace n "
                     "ON n.oid = c.relnamespace "
                     "WHERE c.oid IN (SELECT to_regclass(t) FROM unnest("
                     "ARRAY['users_user', 'users_organization', "
                     "'users_membership', 'users_membershiprole', "
                     "'users_role', 'users_validibotapikey']) t)",
                     ident);
    PQfreemem(ident);

    res = vs_query(pg, sql, PGRES_TUPLES_OK);
    free(sql);

    if (res == NULL) {
        return -1;
    }

    for (i = 0; i < VS_NTABLES; i++) {
        found = 0;

        for (r = 0; r < PQntuples(res); r++) {
            if (strcmp(PQgetvalue(res, r, 0), vs_table_names[i]) != 0) {
                continue;
            }

            found = 1;

            if (PQgetvalue(res, r, 2)[0] != 't') {
                vs_log("error", "table %s is not in publication \"%s\": "
                       "run validibot-sync setup (or setup --print)",
                       vs_table_names[i], conf->publication);
                bad = 1;
            }

            if (vs_full_identity[i] && PQgetvalue(res, r, 1)[0] != 'f') {
                vs_log("error", "table %s lacks REPLICA IDENTITY FULL: its "
                       "deletes would reach the bridge without the columns "
                       "it needs; as the table's owner: ALTER TABLE %s "
                       "REPLICA IDENTITY FULL;", vs_table_names[i],
                       vs_table_names[i]);
                bad = 1;
            }
        }

        if (!found) {
            vs_log("error", "table %s not found: is this Validibot's "
                   "database?", vs_table_names[i]);
            bad = 1;
        }
    }

    PQclear(res);

    if (verbose && !bad) {
        vs_log("info", "publication \"%s\" and replica identities are "
               "ready", conf->publication);
    }

    (void) vs_fast_check(pg, conf, verbose);

    return bad ? -1 : 0;
}


static void
vs_lsn_str(uint64_t lsn, char *out)
{
    snprintf(out, 24, "%X/%X", (unsigned) (lsn >> 32), (unsigned) lsn);
}


static int
vs_lsn_parse(const char *s, uint64_t *lsn)
{
    unsigned  hi, lo;

    if (sscanf(s, "%X/%X", &hi, &lo) != 2) {
        return -1;
    }

    *lsn = ((uint64_t) hi << 32) | lo;
    return 0;
}


/* what a load allocated and freed goes back to the system */
static void
vs_trim(void)
{
#ifdef __GLIBC__
    (void) malloc_trim(0);
#endif
}


static char *
vs_state_key(vs_session_t *s)
{
    return vs_sprintf("%ssync:state", s->conf->prefix);
}


/* tells PostgreSQL what is applied: the slot may let the WAL go */
static int
vs_feedback(vs_session_t *s, int reply)
{
    int            i;
    int64_t        now;
    unsigned char  buf[34], *p;
    uint64_t       v[4];

    now = vs_now_ms() * 1000 - VS_PG_EPOCH_US;
    v[0] = s->confirmed;
    v[1] = s->confirmed;
    v[2] = s->confirmed;
    v[3] = (uint64_t) now;

    p = buf;
    *p++ = 'r';

    for (i = 0; i < 4; i++) {
        int  b;

        for (b = 7; b >= 0; b--) {
            *p++ = (unsigned char) (v[i] >> (b * 8));
        }
    }

    *p++ = (unsigned char) reply;

    if (PQputCopyData(s->repl, (char *) buf, (int) (p - buf)) <= 0
        || PQflush(s->repl) != 0)
    {
        vs_log("error", "PostgreSQL: cannot send the position: %s",
               PQerrorMessage(s->repl));
        return -1;
    }

    return 0;
}


/* the heartbeat, at least once a second; it also notices a lost state */
static int
vs_heartbeat(vs_session_t *s)
{
    int          rc;
    char        *key, now[24], lsn[24];
    redisReply  *rep;

    key = vs_state_key(s);
    snprintf(now, sizeof(now), "%lld", (long long) vs_now_ms());
    vs_lsn_str(s->confirmed, lsn);

    rep = vs_redis_cmd(&s->redis, "EVAL %s 1 %s %s %s %s", vs_beat_lua, key,
                       s->generation, now, lsn);
    free(key);

    if (rep == NULL) {
        return VS_RETRY;
    }

    rc = (rep->type == REDIS_REPLY_INTEGER) ? (int) rep->integer : -1;

    if (rep->type == REDIS_REPLY_ERROR) {
        vs_log("error", "Redis at %s: heartbeat: %s", s->redis.where,
               rep->str);
    }

    freeReplyObject(rep);

    switch (rc) {
    case 1:
        return -1;
    case 0:
        vs_log("warn", "the bridge's state in Redis is gone (Redis "
               "restarted empty, or flushed): full resync");
        return VS_RESYNC;
    case 2:
        vs_log("info", "resync requested (validibot-sync resync)");
        return VS_RESYNC;
    default:
        return VS_RETRY;
    }
}


/* the six tables under one snapshot (or as they are now), in order */
static int
vs_load(vs_session_t *s, const char *snapshot, int write)
{
    int          i, r, n;
    char        *sql, *cols;
    size_t       k, total;
    PGresult    *res;
    int64_t      start;
    static const vs_table_e  order[] = {
        VS_ORG, VS_ROLE, VS_USER, VS_MEMBER, VS_MROLE, VS_KEY
    };

    start = vs_now_ms();
    total = 0;

    res = vs_query(s->pg, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
                   PGRES_COMMAND_OK);
    if (res == NULL) {
        return VS_RETRY;
    }
    PQclear(res);

    if (snapshot) {
        sql = vs_sprintf("SET TRANSACTION SNAPSHOT '%s'", snapshot);
        res = vs_query(s->pg, sql, PGRES_COMMAND_OK);
        free(sql);
        if (res == NULL) {
            return VS_RETRY;
        }
        PQclear(res);
    }

    for (i = 0; i < VS_NTABLES; i++) {
        vs_table_e  t = order[i];

        cols = vs_sprintf("t.%s", vs_columns[t][0]);

        for (k = 1; vs_columns[t][k]; k++) {
            char  *c = vs_sprintf("%s, t.%s", cols, vs_columns[t][k]);
            free(cols);
            cols = c;
        }

        if (t == VS_KEY) {
            sql = vs_sprintf("DECLARE vs_load CURSOR FOR SELECT %s, "
                             "r.public_id FROM %s t LEFT JOIN %s r "
                             "ON r.id = t.rotated_from_id", cols,
                             vs_table_names[t], vs_table_names[t]);
        } else {
            sql = vs_sprintf("DECLARE vs_load CURSOR FOR SELECT %s FROM %s t",
                             cols, vs_table_names[t]);
        }

        free(cols);
        res = vs_query(s->pg, sql, PGRES_COMMAND_OK);
        free(sql);

        if (res == NULL) {
            return VS_RETRY;
        }
        PQclear(res);

        do {
            res = vs_query(s->pg, "FETCH " VS_FETCH " FROM vs_load",
                           PGRES_TUPLES_OK);
            if (res == NULL) {
                return VS_RETRY;
            }

            n = PQntuples(res);

            for (r = 0; r < n; r++) {
                vs_mirror_load_row(s->mirror, t, res, r, write);
            }

            total += n;
            PQclear(res);

            if (write && s->redis.c == NULL) {
                return VS_RETRY;
            }

        } while (n > 0);

        res = vs_query(s->pg, "CLOSE vs_load", PGRES_COMMAND_OK);
        if (res == NULL) {
            return VS_RETRY;
        }
        PQclear(res);
    }

    res = vs_query(s->pg, "COMMIT", PGRES_COMMAND_OK);
    if (res == NULL) {
        return VS_RETRY;
    }
    PQclear(res);

    vs_mirror_load_done(s->mirror, write);

    if (write && s->redis.c == NULL) {
        return VS_RETRY;
    }

    vs_log("info", "%s %zu rows in %lld ms", write ? "loaded" : "read",
           total, (long long) (vs_now_ms() - start));

    return -1;
}


static int
vs_bsearch_cmp(const void *key, const void *elt)
{
    return strcmp(key, *(char * const *) elt);
}


/* after a load: the records it did not write go (never before) */
static int
vs_sweep(vs_session_t *s)
{
    size_t       i, k, nseen, gone;
    char        *pat, **seen;
    redisReply  *rep, *keys;
    static const char  *kinds[] = { "key", "user", "org", "member" };

    nseen = vs_mirror_seen(s->mirror, &seen);
    gone = 0;

    for (i = 0; i < 4; i++) {
        pat = vs_sprintf("%s%s:*", s->conf->prefix, kinds[i]);
        rep = NULL;

        do {
            redisReply  *next;

            next = vs_redis_cmd(&s->redis, "SCAN %s MATCH %s COUNT 1000",
                                rep ? rep->element[0]->str : "0", pat);
            if (rep) {
                freeReplyObject(rep);
            }
            rep = next;

            if (rep == NULL || rep->type != REDIS_REPLY_ARRAY
                || rep->elements != 2)
            {
                free(pat);
                if (rep) {
                    freeReplyObject(rep);
                }
                return VS_RETRY;
            }

            keys = rep->element[1];

            for (k = 0; k < keys->elements; k++) {
                if (bsearch(keys->element[k]->str, seen, nseen,
                            sizeof(char *), vs_bsearch_cmp) == NULL)
                {
                    vs_redis_appendf(&s->redis, "DEL %b",
                                     keys->element[k]->str,
                                     keys->element[k]->len);
                    gone++;
                }
            }

            if (vs_redis_flush(&s->redis, NULL) != 0) {
                free(pat);
                freeReplyObject(rep);
                return VS_RETRY;
            }

        } while (strcmp(rep->element[0]->str, "0") != 0);

        freeReplyObject(rep);
        free(pat);
    }

    vs_log("info", "deleted %zu records the load did not see", gone);

    vs_mirror_seen_free(s->mirror);
    vs_trim();

    return -1;
}


/* a full load: a new slot, its exported snapshot, a new generation */
static int
vs_resync(vs_session_t *s, int slot_exists)
{
    int          rc;
    char        *sql, *key, now[24], gen[24], *snapshot;
    uint64_t     lsn;
    PGresult    *res;
    redisReply  *rep;

    if (slot_exists) {
        sql = vs_sprintf("DROP_REPLICATION_SLOT %s WAIT", s->conf->slot);
        res = vs_query(s->repl, sql, PGRES_COMMAND_OK);
        free(sql);
        if (res == NULL) {
            return VS_RETRY;
        }
        PQclear(res);
    }

    sql = vs_sprintf("CREATE_REPLICATION_SLOT %s LOGICAL pgoutput "
                     "(SNAPSHOT 'export')", s->conf->slot);
    res = vs_query(s->repl, sql, PGRES_TUPLES_OK);
    free(sql);
    if (res == NULL) {
        return VS_RETRY;
    }

    if (vs_lsn_parse(PQgetvalue(res, 0, 1), &lsn) != 0) {
        PQclear(res);
        return VS_RETRY;
    }

    snapshot = vs_strndup(PQgetvalue(res, 0, 2), strlen(PQgetvalue(res, 0, 2)));

    vs_log("info", "slot \"%s\" created at %s: full load", s->conf->slot,
           PQgetvalue(res, 0, 1));
    PQclear(res);

    rc = vs_load(s, snapshot, 1);
    free(snapshot);

    if (rc != -1) {
        return rc;
    }

    rc = vs_sweep(s);
    if (rc != -1) {
        return rc;
    }

    /* the new generation, after everything it covers is in Redis */
    key = vs_state_key(s);
    rep = vs_redis_cmd(&s->redis, "HINCRBY %s generations 1", key);
    if (rep == NULL || rep->type != REDIS_REPLY_INTEGER) {
        free(key);
        if (rep) {
            freeReplyObject(rep);
        }
        return VS_RETRY;
    }

    snprintf(gen, sizeof(gen), "%lld-%lld", (long long) rep->integer,
             (long long) vs_now_ms());
    freeReplyObject(rep);

    free(s->generation);
    s->generation = vs_strndup(gen, strlen(gen));
    s->confirmed = lsn;
    s->received = lsn;

    snprintf(now, sizeof(now), "%lld", (long long) vs_now_ms());
    vs_lsn_str(lsn, gen);

    rep = vs_redis_cmd(&s->redis, "HSET %s generation %s system_id %s "
                       "timeline %s slot %s lsn %s heartbeat_ms %s "
                       "loaded_ms %s", key, s->generation, s->sysid,
                       s->timeline, s->conf->slot, gen, now, now);
    if (rep) {
        freeReplyObject(rep);
        rep = vs_redis_cmd(&s->redis, "HDEL %s resync", key);
    }

    free(key);

    if (rep == NULL) {
        return VS_RETRY;
    }

    freeReplyObject(rep);
    vs_log("info", "generation %s ready", s->generation);
    s->resynced = 1;

    return -1;
}


static vs_rel_t *
vs_rel_find(vs_session_t *s, uint32_t oid)
{
    size_t  i;

    for (i = 0; i < s->nrels; i++) {
        if (s->rels[i].oid == oid) {
            return &s->rels[i];
        }
    }

    return NULL;
}


static int
vs_relation(vs_session_t *s, vs_msg_t *m)
{
    vs_rel_t    rel, *r;
    vs_table_e  t;

    t = vs_table_of(m->nspname, m->relname);

    if (vs_rel_columns(m, t, &rel) != 0) {
        vs_log("error", "malformed Relation message for %s", m->relname);
        return VS_RETRY;
    }

    if (t < VS_NTABLES && vs_full_identity[t] && rel.identity != 'f') {
        vs_log("error", "table %s lost REPLICA IDENTITY FULL: as the "
               "table's owner: ALTER TABLE %s REPLICA IDENTITY FULL;",
               m->relname, m->relname);
        return VS_FATAL;
    }

    r = vs_rel_find(s, m->relid);

    if (r == NULL) {
        if (s->nrels == s->crels) {
            s->crels = s->crels ? s->crels * 2 : 16;
            s->rels = realloc(s->rels, s->crels * sizeof(vs_rel_t));
            if (s->rels == NULL) {
                vs_log("error", "out of memory");
                exit(VS_EXIT_FAIL);
            }
        }
        r = &s->rels[s->nrels++];
    }

    *r = rel;
    return -1;
}


static int
vs_change(vs_session_t *s, vs_msg_t *m)
{
    int          nold, nnew;
    vs_rel_t    *rel;
    vs_value_t   oldv[128], newv[128];

    rel = vs_rel_find(s, m->relid);

    if (rel == NULL) {
        vs_log("error", "change for relation %u before its Relation "
               "message", m->relid);
        return VS_RETRY;
    }

    if (rel->table >= VS_NTABLES) {
        return -1;
    }

    nold = nnew = 0;

    if ((m->oldtup
         && vs_tuple(m->oldtup, m->oldlen, oldv, 128, &nold) != 0)
        || (m->newtup
            && vs_tuple(m->newtup, m->newlen, newv, 128, &nnew) != 0))
    {
        vs_log("error", "malformed tuple for %s",
               vs_table_names[rel->table]);
        return VS_RETRY;
    }

    s->changes++;

    vs_mirror_change(s->mirror, rel, m->type, m->oldtup ? oldv : NULL, nold,
                     m->newtup ? newv : NULL, nnew);

    return -1;
}


static int
vs_commit(vs_session_t *s, uint64_t lsn)
{
    char  buf[24];

    vs_lsn_str(lsn, buf);

    if (s->changes && vs_mirror_commit(s->mirror, buf) != 0) {
        return VS_RETRY;
    }

    if (s->changes) {
        s->applied++;
    }

    vs_fast_applied(&s->fast, s->xid);

    s->changes = 0;
    s->in_txn = 0;

    if (lsn > s->confirmed) {
        s->confirmed = lsn;
    }

    if (s->truncated) {
        /* a crash before the resync must not forget it */
        redisReply  *rep;
        char        *key;

        s->truncated = 0;
        vs_log("warn", "TRUNCATE of a mirrored table: full resync");

        key = vs_state_key(s);
        rep = vs_redis_cmd(&s->redis, "HSET %s resync truncate", key);
        free(key);

        if (rep) {
            freeReplyObject(rep);
        }

        return VS_RESYNC;
    }

    return -1;
}


static vs_sbuf_t *
vs_sbuf(vs_session_t *s, uint32_t xid, int create)
{
    size_t  i;

    for (i = 0; i < s->nsbufs; i++) {
        if (s->sbufs[i].xid == xid) {
            return &s->sbufs[i];
        }
    }

    if (!create) {
        return NULL;
    }

    if (s->nsbufs == s->csbufs) {
        s->csbufs = s->csbufs ? s->csbufs * 2 : 8;
        s->sbufs = realloc(s->sbufs, s->csbufs * sizeof(vs_sbuf_t));
        if (s->sbufs == NULL) {
            vs_log("error", "out of memory");
            exit(VS_EXIT_FAIL);
        }
    }

    memset(&s->sbufs[s->nsbufs], 0, sizeof(vs_sbuf_t));
    s->sbufs[s->nsbufs].xid = xid;

    return &s->sbufs[s->nsbufs++];
}


static void
vs_sbuf_drop(vs_session_t *s, vs_sbuf_t *b, uint32_t subxid, int all)
{
    size_t  i, k;

    for (i = 0, k = 0; i < b->n; i++) {
        if (all || b->msgs[i].subxid == subxid) {
            free(b->msgs[i].data);
        } else {
            b->msgs[k++] = b->msgs[i];
        }
    }

    b->n = k;

    if (all) {
        free(b->msgs);
        *b = s->sbufs[--s->nsbufs];
    }
}


static int vs_message(vs_session_t *s, const unsigned char *p, size_t len,
    int replay);


/* a streamed transaction committed: its buffered changes, in order */
static int
vs_stream_commit(vs_session_t *s, vs_msg_t *m)
{
    int         rc;
    size_t      i;
    vs_sbuf_t  *b;

    b = vs_sbuf(s, m->xid, 0);
    s->changes = 0;
    s->xid = m->xid;
    vs_mirror_xid(s->mirror, m->xid);

    if (b) {
        for (i = 0; i < b->n; i++) {
            rc = vs_message(s, b->msgs[i].data, b->msgs[i].len, 1);
            if (rc != -1) {
                return rc;
            }
        }

        vs_sbuf_drop(s, b, 0, 1);
    }

    return vs_commit(s, m->lsn);
}


static int
vs_message(vs_session_t *s, const unsigned char *p, size_t len, int replay)
{
    int         streaming;
    uint32_t    i;
    vs_msg_t    m;
    vs_smsg_t   sm;
    vs_rel_t   *rel;
    vs_sbuf_t  *b;

    streaming = (s->cur != NULL) || replay;

    if (vs_decode(p, len, streaming, &m) != 0) {
        vs_log("error", "malformed pgoutput message '%c'", p[0]);
        return VS_RETRY;
    }

    if (s->cur && !replay && strchr("IUDT", m.type)) {
        sm.subxid = m.xid;
        sm.data = vs_alloc(len);
        memcpy(sm.data, p, len);
        sm.len = len;

        b = s->cur;
        if (b->n == b->cap) {
            b->cap = b->cap ? b->cap * 2 : 64;
            b->msgs = realloc(b->msgs, b->cap * sizeof(vs_smsg_t));
            if (b->msgs == NULL) {
                vs_log("error", "out of memory");
                exit(VS_EXIT_FAIL);
            }
        }
        b->msgs[b->n++] = sm;
        return -1;
    }

    switch (m.type) {

    case 'B':
        s->in_txn = 1;
        s->changes = 0;
        s->xid = m.xid;
        vs_mirror_xid(s->mirror, m.xid);
        return -1;

    case 'C':
        return vs_commit(s, m.lsn);

    case 'R':
        return vs_relation(s, &m);

    case 'I':
    case 'U':
    case 'D':
        return vs_change(s, &m);

    case 'T':
        /* relids follow the option byte */
        for (i = 0; i < m.nrels; i++) {
            size_t    off = 1 + (streaming ? 4 : 0) + 4 + 1 + i * 4;
            uint32_t  oid;

            if (off + 4 > len) {
                break;
            }

            oid = ((uint32_t) p[off] << 24) | ((uint32_t) p[off + 1] << 16)
                  | ((uint32_t) p[off + 2] << 8) | p[off + 3];
            rel = vs_rel_find(s, oid);

            if (rel && rel->table < VS_NTABLES) {
                s->truncated = 1;
                s->changes++;
            }
        }
        return -1;

    case 'S':
        s->cur = vs_sbuf(s, m.xid, 1);
        return -1;

    case 'E':
        s->cur = NULL;
        return -1;

    case 'c':
        s->cur = NULL;
        return vs_stream_commit(s, &m);

    case 'A':
        b = vs_sbuf(s, m.xid, 0);
        if (b) {
            vs_sbuf_drop(s, b, m.subxid, m.subxid == m.xid);
        }
        return -1;

    default:
        return -1;
    }
}


static uint64_t
vs_be64(const unsigned char *p)
{
    int       i;
    uint64_t  v;

    for (i = 0, v = 0; i < 8; i++) {
        v = (v << 8) | p[i];
    }

    return v;
}


static int
vs_idle(vs_session_t *s)
{
    size_t  i;

    if (s->in_txn || s->cur) {
        return 0;
    }

    for (i = 0; i < s->nsbufs; i++) {
        if (s->sbufs[i].n) {
            return 0;
        }
    }

    return 1;
}


static int
vs_stream(vs_session_t *s)
{
    int             n, rc, sock, psock, since;
    char           *buf, *sql, lsn[24];
    int64_t         now, next;
    fd_set          fds;
    uint64_t        end;
    PGresult       *res;
    struct timeval  tv;

    vs_lsn_str(s->confirmed, lsn);
    sql = vs_sprintf("START_REPLICATION SLOT %s LOGICAL %s "
                     "(proto_version '2', streaming 'on', "
                     "publication_names '\"%s\"')", s->conf->slot, lsn,
                     s->conf->publication);
    res = PQexec(s->repl, sql);
    free(sql);

    if (PQresultStatus(res) != PGRES_COPY_BOTH) {
        vs_log("error", "START_REPLICATION: %s", PQresultErrorMessage(res));
        PQclear(res);
        return VS_RETRY;
    }

    PQclear(res);
    vs_log("info", "streaming from slot \"%s\" at %s", s->conf->slot, lsn);

    next = 0;
    since = 0;

    for ( ;; ) {
        if (vs_stop) {
            (void) vs_feedback(s, 0);
            return VS_STOP;
        }

        if (vs_hup) {
            vs_hup = 0;
            vs_log("info", "SIGHUP: nothing to reload (the configuration "
                   "is the command line); still streaming");
        }

        now = vs_now_ms();

        if (now >= next) {
            rc = vs_heartbeat(s);
            if (rc != -1) {
                return rc;
            }

            if (vs_feedback(s, 0) != 0) {
                return VS_RETRY;
            }

            next = now + 1000;
        }

        n = PQgetCopyData(s->repl, &buf, 1);

        if (n == 0 || ++since >= VS_FAST_EVERY) {
            since = 0;

            if (vs_fast_poll(s->pg, &s->redis, &s->fast) != 0) {
                if (n > 0) {
                    PQfreemem(buf);
                }
                return VS_RETRY;
            }
        }

        if (n == 0) {
            sock = PQsocket(s->repl);
            psock = PQsocket(s->pg);
            FD_ZERO(&fds);
            FD_SET(sock, &fds);
            FD_SET(psock, &fds);
            tv.tv_sec = (next - now) / 1000;
            tv.tv_usec = ((next - now) % 1000) * 1000;

            if (select((sock > psock ? sock : psock) + 1, &fds, NULL, NULL,
                       &tv) < 0
                && errno != EINTR)
            {
                return VS_RETRY;
            }

            if (PQconsumeInput(s->repl) == 0) {
                vs_log("error", "PostgreSQL: %s", PQerrorMessage(s->repl));
                return VS_RETRY;
            }

            continue;
        }

        if (n < 0) {
            res = PQgetResult(s->repl);
            vs_log("error", "replication stream ended: %s",
                   res ? PQresultErrorMessage(res)
                       : PQerrorMessage(s->repl));
            PQclear(res);
            return VS_RETRY;
        }

        rc = -1;

        if (buf[0] == 'k' && n >= 18) {
            end = vs_be64((unsigned char *) buf + 1);

            if (vs_idle(s) && end > s->confirmed) {
                s->confirmed = end;
            }

            if (buf[17]) {
                rc = vs_feedback(s, 0) == 0 ? -1 : VS_RETRY;
            }

        } else if (buf[0] == 'w' && n > 25) {
            end = vs_be64((unsigned char *) buf + 1);
            if (end > s->received) {
                s->received = end;
            }
            rc = vs_message(s, (unsigned char *) buf + 25, n - 25, 0);
        }

        PQfreemem(buf);

        if (rc != -1) {
            return rc;
        }
    }
}


static int
vs_session(vs_conf_t *conf, int force, vs_session_t *s)
{
    int          rc, slot_exists, resync;
    char        *key;
    const char  *params[1], *v;
    PGresult    *res;
    redisReply  *st;
    size_t       i;

    s->conf = conf;
    s->redis.url = conf->redis_url;
    s->redis.prefix = conf->prefix;

    rc = vs_redis_connect(&s->redis);
    if (rc != 0) {
        return rc == -2 ? VS_FATAL : VS_RETRY;
    }

    s->pg = vs_pg_connect(conf, 0);
    if (s->pg == NULL) {
        return VS_RETRY;
    }

    if (vs_check_setup(s->pg, conf, 0) != 0) {
        vs_log("error", "the database is not set up for validibot-sync "
               "(above); not starting");
        return VS_FATAL;
    }

    s->repl = vs_pg_connect(conf, 1);
    if (s->repl == NULL) {
        return VS_RETRY;
    }

    res = vs_query(s->repl, "IDENTIFY_SYSTEM", PGRES_TUPLES_OK);
    if (res == NULL) {
        return VS_RETRY;
    }

    snprintf(s->sysid, sizeof(s->sysid), "%s", PQgetvalue(res, 0, 0));
    snprintf(s->timeline, sizeof(s->timeline), "%s", PQgetvalue(res, 0, 1));
    PQclear(res);

    params[0] = conf->slot;
    res = PQexecParams(s->pg, "SELECT confirmed_flush_lsn FROM "
                       "pg_replication_slots WHERE slot_name = $1 "
                       "AND database = current_database() "
                       "AND plugin = 'pgoutput'", 1, NULL, params, NULL,
                       NULL, 0);

    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        vs_log("error", "PostgreSQL: %s", PQresultErrorMessage(res));
        PQclear(res);
        return VS_RETRY;
    }

    slot_exists = PQntuples(res) > 0;

    if (slot_exists && !PQgetisnull(res, 0, 0)) {
        (void) vs_lsn_parse(PQgetvalue(res, 0, 0), &s->confirmed);
    }

    PQclear(res);

    key = vs_state_key(s);
    st = vs_redis_cmd(&s->redis, "HGETALL %s", key);
    free(key);

    if (st == NULL || st->type != REDIS_REPLY_ARRAY) {
        if (st) {
            freeReplyObject(st);
        }
        return VS_RETRY;
    }

    resync = force;

    {
        const char  *gen = NULL, *sysid = NULL, *tli = NULL, *slot = NULL,
                    *req = NULL;

        for (i = 0; i + 1 < st->elements; i += 2) {
            v = st->element[i]->str;

            if (strcmp(v, "generation") == 0) {
                gen = st->element[i + 1]->str;
            } else if (strcmp(v, "system_id") == 0) {
                sysid = st->element[i + 1]->str;
            } else if (strcmp(v, "timeline") == 0) {
                tli = st->element[i + 1]->str;
            } else if (strcmp(v, "slot") == 0) {
                slot = st->element[i + 1]->str;
            } else if (strcmp(v, "resync") == 0) {
                req = st->element[i + 1]->str;
            }
        }

        if (resync) {
            /* said already */

        } else if (gen == NULL) {
            vs_log("info", "no bridge state in Redis: full load");
            resync = 1;

        } else if (!slot_exists) {
            vs_log("warn", "slot \"%s\" does not exist (dropped, or lost "
                   "in a failover): full resync", conf->slot);
            resync = 1;

        } else if (sysid == NULL || strcmp(sysid, s->sysid) != 0
                   || tli == NULL || strcmp(tli, s->timeline) != 0)
        {
            vs_log("warn", "PostgreSQL's system identifier or timeline "
                   "changed (%s/%s, was %s/%s): full resync", s->sysid,
                   s->timeline, sysid ? sysid : "-", tli ? tli : "-");
            resync = 1;

        } else if (slot == NULL || strcmp(slot, conf->slot) != 0) {
            vs_log("warn", "Redis was fed from slot \"%s\": full resync",
                   slot ? slot : "-");
            resync = 1;

        } else if (req) {
            vs_log("info", "resync requested (validibot-sync resync)");
            resync = 1;

        } else {
            s->generation = vs_strndup(gen, strlen(gen));
        }
    }

    freeReplyObject(st);

    s->mirror = vs_mirror_new(&s->redis);

    if (resync) {
        rc = vs_resync(s, slot_exists);

    } else {
        rc = vs_load(s, NULL, 0);
    }

    if (rc != -1) {
        return rc;
    }

    /* after the load: a transaction notified from now on is streamed too */
    if (vs_fast_listen(s->pg, conf) != 0) {
        return VS_RETRY;
    }

    return vs_stream(s);
}


static void
vs_session_end(vs_session_t *s)
{
    size_t  i, k;

    if (s->repl) {
        PQfinish(s->repl);
    }

    if (s->pg) {
        PQfinish(s->pg);
    }

    vs_redis_close(&s->redis);
    free(s->redis.where);

    if (s->mirror) {
        vs_mirror_free(s->mirror);
    }

    for (i = 0; i < s->nsbufs; i++) {
        for (k = 0; k < s->sbufs[i].n; k++) {
            free(s->sbufs[i].msgs[k].data);
        }
        free(s->sbufs[i].msgs);
    }

    free(s->sbufs);
    free(s->rels);
    free(s->generation);
    memset(s, 0, sizeof(vs_session_t));
}


int
vs_run(vs_conf_t *conf)
{
    int              rc, force, pause;
    struct timespec  ts;
    vs_session_t     s;

    force = 0;
    pause = 250;
    memset(&s, 0, sizeof(vs_session_t));

    vs_log("info", "validibot-sync %s: Redis prefix \"%s\", slot \"%s\", "
           "publication \"%s\"", VS_VERSION, conf->prefix, conf->slot,
           conf->publication);

    for ( ;; ) {
        rc = vs_session(conf, force, &s);

        if (s.applied || s.resynced) {
            pause = 250;
        }

        if (s.resynced) {
            force = 0;
        }

        vs_session_end(&s);

        switch (rc) {
        case VS_STOP:
            vs_log("info", "stopped");
            return VS_EXIT_OK;

        case VS_FATAL:
            return VS_EXIT_FAIL;

        case VS_RESYNC:
            force = 1;
            continue;

        default:
            break;
        }

        if (vs_stop) {
            vs_log("info", "stopped");
            return VS_EXIT_OK;
        }

        vs_log("info", "reconnecting in %d ms", pause);
        ts.tv_sec = pause / 1000;
        ts.tv_nsec = (pause % 1000) * 1000000L;
        (void) nanosleep(&ts, NULL);

        pause = pause * 2 > 5000 ? 5000 : pause * 2;
    }
}
