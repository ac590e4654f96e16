
/*
 * Copyright (C) The ngx_http_validibot_module authors
 *
 * validibot-sync: the command line (setup, run, resync, status), logging
 * and signals.  docs/sync.md is the operator's guide.
 */


#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "vs.h"
#include "vt_opts.h"


volatile sig_atomic_t  vs_stop;
volatile sig_atomic_t  vs_hup;


static const vt_optdef_t  vs_optdefs[] = {
    { "pg", 1, 0, 0 },
    { "redis", 1, 0, 0 },
    { "prefix", 1, 0, 0 },
    { "slot", 1, 0, 0 },
    { "publication", 1, 0, 0 },
    { "print", 0, 0, 0 },
    { "json", 0, 0, 0 },
    { "help", 0, 0, 0 },
    { "version", 0, 0, 0 },
    { NULL, 0, 0, 0 }
};


static const char  vs_usage[] =
    "Usage: validibot-sync [OPTIONS] COMMAND\n"
    "\n"
    "Mirrors Validibot's users, organizations, memberships, roles and API\n"
    "keys from PostgreSQL (logical replication) into the Redis records\n"
    "ngx_http_validibot_module reads.\n"
    "\n"
    "Commands:\n"
    "  setup [--print]   print (or run, as the tables' owner) the one-time\n"
    "                    setup: publication, REPLICA IDENTITY FULL, the\n"
    "                    fast path's triggers; checks wal_level\n"
    "  run               stream, in the foreground, logging to stderr;\n"
    "                    SIGTERM stops cleanly\n"
    "  resync            ask the bridge for a full reload (a stopped bridge\n"
    "                    reloads when it starts)\n"
    "  status [--json]   slot lag, heartbeat age, records per kind\n"
    "\n"
    "Options (environment variable in brackets):\n"
    "  --pg CONNINFO     libpq connection string or postgresql:// URI\n"
    "                    [VALIDIBOT_SYNC_PG]; PG* variables and .pgpass apply\n"
    "  --redis URL       redis://[[user]:password@]host[:port][/db] or\n"
    "                    unix:/path[?db=N] [VALIDIBOT_REDIS_URL]\n"
    "                    (default redis://127.0.0.1:6379/0)\n"
    "  --prefix P        Redis key prefix [VALIDIBOT_REDIS_PREFIX]\n"
    "                    (default validibot:)\n"
    "  --slot NAME       replication slot (default validibot_sync)\n"
    "  --publication N   publication (default validibot_sync)\n"
    "\n"
    "Exit codes: 0 ok, 1 not set up or not reachable, 2 usage error.\n";


void
vs_log(const char *level, const char *fmt, ...)
{
    va_list  ap;

    fprintf(stderr, "validibot-sync: [%s] ", level);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);

    /* libpq's messages end with a newline */
    if (fmt[0] && fmt[strlen(fmt) - 1] != '\n') {
        fputc('\n', stderr);
    }

    fflush(stderr);
}


void *
vs_alloc(size_t size)
{
    void  *p;

    p = malloc(size ? size : 1);
    if (p == NULL) {
        vs_log("error", "out of memory");
        exit(VS_EXIT_FAIL);
    }

    return p;
}


char *
vs_strndup(const char *s, size_t len)
{
    char  *p;

    p = vs_alloc(len + 1);
    memcpy(p, s, len);
    p[len] = '\0';

    return p;
}


char *
vs_sprintf(const char *fmt, ...)
{
    int      n;
    char    *p;
    va_list  ap;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);

    p = vs_alloc(n + 1);

    va_start(ap, fmt);
    vsnprintf(p, n + 1, fmt, ap);
    va_end(ap);

    return p;
}


int64_t
vs_now_ms(void)
{
    struct timeval  tv;

    gettimeofday(&tv, NULL);

    return (int64_t) tv.tv_sec * 1000 + tv.tv_usec / 1000;
}


static void
vs_signal(int sig)
{
    if (sig == SIGHUP) {
        vs_hup = 1;

    } else {
        vs_stop = 1;
    }
}


static int
vs_valid_name(const char *s)
{
    const char  *p;

    if (*s == '\0' || strlen(s) > 63) {
        return 0;
    }

    for (p = s; *p; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9')
              || *p == '_'))
        {
            return 0;
        }
    }

    return 1;
}


/* the one-time setup, as SQL */
static char *
vs_setup_sql(vs_conf_t *conf)
{
    int    i;
    char  *sql, *t, *fast;

    sql = vs_sprintf("CREATE PUBLICATION %s FOR TABLE", conf->publication);

    for (i = 0; i < VS_NTABLES; i++) {
        t = vs_sprintf("%s%s %s", sql, i ? "," : "", vs_table_names[i]);
        free(sql);
        sql = t;
    }

    t = vs_sprintf("%s;\n", sql);
    free(sql);
    sql = t;

    for (i = 0; i < VS_NTABLES; i++) {
        if (vs_full_identity[i]) {
            t = vs_sprintf("%sALTER TABLE %s REPLICA IDENTITY FULL;\n", sql,
                           vs_table_names[i]);
            free(sql);
            sql = t;
        }
    }

    /* the fast path: refusals notified at COMMIT (tools/sync/vs_fast.c) */
    fast = vs_fast_setup_sql(conf);
    t = vs_sprintf("%s%s", sql, fast);
    free(fast);
    free(sql);

    return t;
}


static int
vs_cmd_setup(vs_conf_t *conf, int print)
{
    int        i, rc;
    char      *sql, *one, *lit;
    PGconn    *pg;
    PGresult  *res;

    sql = vs_setup_sql(conf);

    if (print) {
        printf("-- validibot-sync setup: run once, as the owner of "
               "Validibot's tables.\n"
               "-- wal_level must be logical (SHOW wal_level;). If not:\n"
               "--   ALTER SYSTEM SET wal_level = logical;  "
               "then restart PostgreSQL.\n"
               "%s"
               "-- The bridge's role: LOGIN, REPLICATION, SELECT on the "
               "tables.\n"
               "-- CREATE ROLE validibot_sync LOGIN REPLICATION "
               "PASSWORD '...';\n"
               "-- GRANT SELECT ON", sql);

        for (i = 0; i < VS_NTABLES; i++) {
            printf("%s %s", i ? "," : "", vs_table_names[i]);
        }

        printf(" TO validibot_sync;\n");
        free(sql);
        return VS_EXIT_OK;
    }

    pg = vs_pg_connect(conf, 0);
    if (pg == NULL) {
        free(sql);
        return VS_EXIT_FAIL;
    }

    lit = PQescapeLiteral(pg, conf->publication, strlen(conf->publication));
    one = vs_sprintf("SELECT 1 FROM pg_publication WHERE pubname = %s", lit);
    PQfreemem(lit);
    res = PQexec(pg, one);
    free(one);

    rc = VS_EXIT_OK;

    if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1) {
        /* there already: only the replica identities */
        char  *p = strchr(sql, '\n');
        vs_log("info", "publication \"%s\" exists", conf->publication);
        memmove(sql, p + 1, strlen(p + 1) + 1);
    }

    PQclear(res);

    res = PQexec(pg, sql);

    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        vs_log("error", "setup: %s", PQresultErrorMessage(res));
        rc = VS_EXIT_FAIL;
    }

    PQclear(res);
    free(sql);

    if (rc == VS_EXIT_OK && vs_check_setup(pg, conf, 1) != 0) {
        rc = VS_EXIT_FAIL;
    }

    PQfinish(pg);

    return rc;
}


static int
vs_cmd_resync(vs_conf_t *conf)
{
    char        *key;
    vs_redis_t   r;
    redisReply  *rep;

    memset(&r, 0, sizeof(vs_redis_t));
    r.url = conf->redis_url;
    r.prefix = conf->prefix;

    if (vs_redis_connect(&r) != 0) {
        return VS_EXIT_FAIL;
    }

    key = vs_sprintf("%ssync:state", conf->prefix);
    rep = vs_redis_cmd(&r, "HSET %s resync requested", key);
    free(key);

    if (rep == NULL || rep->type == REDIS_REPLY_ERROR) {
        vs_log("error", "Redis at %s: %s", r.where,
               rep ? rep->str : "no reply");
        return VS_EXIT_FAIL;
    }

    freeReplyObject(rep);
    vs_redis_close(&r);
    free(r.where);

    printf("resync requested: the running bridge reloads within a second "
           "(a stopped one when it starts)\n");

    return VS_EXIT_OK;
}


static const char *
vs_field(redisReply *h, const char *name)
{
    size_t  i;

    if (h == NULL || h->type != REDIS_REPLY_ARRAY) {
        return NULL;
    }

    for (i = 0; i + 1 < h->elements; i += 2) {
        if (strcmp(h->element[i]->str, name) == 0) {
            return h->element[i + 1]->str;
        }
    }

    return NULL;
}


static long long
vs_count(vs_redis_t *r, const char *prefix, const char *kind)
{
    char         *pat, cursor[32];
    long long     n;
    redisReply   *rep;

    pat = vs_sprintf("%s%s:*", prefix, kind);
    strcpy(cursor, "0");
    n = 0;

    do {
        rep = vs_redis_cmd(r, "SCAN %s MATCH %s COUNT 1000", cursor, pat);

        if (rep == NULL || rep->type != REDIS_REPLY_ARRAY
            || rep->elements != 2)
        {
            n = -1;
            break;
        }

        snprintf(cursor, sizeof(cursor), "%s", rep->element[0]->str);
        n += rep->element[1]->elements;
        freeReplyObject(rep);
        rep = NULL;

    } while (strcmp(cursor, "0") != 0);

    if (rep) {
        freeReplyObject(rep);
    }

    free(pat);

    return n;
}


static int
vs_cmd_status(vs_conf_t *conf, int json)
{
    int          i, rc;
    char        *key;
    double       lag_s, age;
    long long    lag_b, counts[4];
    PGconn      *pg;
    PGresult    *res;
    vs_redis_t   r;
    redisReply  *st;
    const char  *hb, *gen, *active, *params[1];
    static const char  *kinds[] = { "key", "user", "org", "member" };

    rc = VS_EXIT_OK;
    lag_b = -1;
    lag_s = -1;
    active = NULL;

    pg = vs_pg_connect(conf, 0);

    if (pg) {
        params[0] = conf->slot;
        res = PQexecParams(pg,
                  "SELECT s.active, "
                  "pg_current_wal_lsn() - s.confirmed_flush_lsn, "
                  "coalesce(extract(epoch FROM r.flush_lag), 0) "
                  "FROM pg_replication_slots s LEFT JOIN pg_stat_replication "
                  "r ON r.pid = s.active_pid WHERE s.slot_name = $1",
                  1, NULL, params, NULL, NULL, 0);

        if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1) {
            active = PQgetvalue(res, 0, 0)[0] == 't' ? "yes" : "no";
            lag_b = atoll(PQgetvalue(res, 0, 1));
            lag_s = atof(PQgetvalue(res, 0, 2));

        } else {
            vs_log("error", "slot \"%s\" not found", conf->slot);
            rc = VS_EXIT_FAIL;
        }

        PQclear(res);
        PQfinish(pg);

    } else {
        rc = VS_EXIT_FAIL;
    }

    memset(&r, 0, sizeof(vs_redis_t));
    r.url = conf->redis_url;
    r.prefix = conf->prefix;
    st = NULL;

    if (vs_redis_connect(&r) == 0) {
        key = vs_sprintf("%ssync:state", conf->prefix);
        st = vs_redis_cmd(&r, "HGETALL %s", key);
        free(key);

        for (i = 0; i < 4; i++) {
            counts[i] = vs_count(&r, conf->prefix, kinds[i]);
        }

    } else {
        rc = VS_EXIT_FAIL;
        for (i = 0; i < 4; i++) {
            counts[i] = -1;
        }
    }

    hb = vs_field(st, "heartbeat_ms");
    gen = vs_field(st, "generation");
    age = hb ? (vs_now_ms() - atoll(hb)) / 1000.0 : -1;

    if (hb == NULL) {
        rc = VS_EXIT_FAIL;
    }

    if (json) {
        printf("{\"slot\": \"%s\", \"slot_active\": %s, "
               "\"lag_bytes\": %lld, \"lag_seconds\": %.3f, "
               "\"heartbeat_age_seconds\": %.3f, \"generation\": ",
               conf->slot, active ? (active[0] == 'y' ? "true" : "false")
                                  : "null",
               lag_b, lag_s, age);

        if (gen) {
            printf("\"%s\"", gen);
        } else {
            printf("null");
        }

        printf(", \"records\": {\"key\": %lld, \"user\": %lld, "
               "\"org\": %lld, \"member\": %lld}}\n",
               counts[0], counts[1], counts[2], counts[3]);

    } else {
        printf("slot:              %s (active: %s)\n", conf->slot,
               active ? active : "not found");
        printf("lag:               %lld bytes, %.3f s\n", lag_b, lag_s);

        if (hb) {
            printf("heartbeat age:     %.3f s\n", age);
        } else {
            printf("heartbeat age:     none (the bridge never ran, or "
                   "Redis lost its state)\n");
        }

        printf("generation:        %s\n", gen ? gen : "none");
        printf("records:           %lld keys, %lld users, %lld orgs, "
               "%lld members\n", counts[0], counts[1], counts[2], counts[3]);
    }

    if (st) {
        freeReplyObject(st);
    }

    vs_redis_close(&r);
    free(r.where);

    return rc;
}


/*
 * The command line into "conf", the command and its flags: -1 to go on,
 * else the exit code.  The parser's buffers go before it returns (the
 * values point into argv).
 */
static int
vs_args(int argc, char **argv, vs_conf_t *conf, const char **cmd,
    int *print, int *json)
{
    int          i, rc, help, version;
    size_t       k;
    const char  *v, *name;
    vt_args_t   *args;

    args = vs_alloc(sizeof(vt_args_t));
    args->pos = vs_alloc((argc + 1) * sizeof(char *));

    rc = -1;
    help = version = 0;
    *cmd = NULL;

    if (vt_args_parse(vs_optdefs, argc, argv, args) != 0) {
        fprintf(stderr, "validibot-sync: %s\n", args->err);
        rc = VS_EXIT_USAGE;
        goto done;
    }

    for (k = 0; k < args->nopts; k++) {
        v = args->opts[k].value;
        name = args->opts[k].name;

        if (strcmp(name, "pg") == 0) {
            conf->pg = v;
        } else if (strcmp(name, "redis") == 0) {
            conf->redis_url = v;
        } else if (strcmp(name, "prefix") == 0) {
            conf->prefix = v;
        } else if (strcmp(name, "slot") == 0) {
            conf->slot = v;
        } else if (strcmp(name, "publication") == 0) {
            conf->publication = v;
        } else if (strcmp(name, "print") == 0) {
            *print = 1;
        } else if (strcmp(name, "json") == 0) {
            *json = 1;
        } else if (strcmp(name, "help") == 0) {
            help = 1;
        } else {
            version = 1;
        }
    }

    for (i = 0; i < args->npos; i++) {
        if (strcmp(args->pos[i], "help") == 0) {
            help = 1;

        } else if (*cmd == NULL) {
            *cmd = args->pos[i];

        } else {
            fprintf(stderr, "validibot-sync: unexpected argument \"%s\"\n",
                    args->pos[i]);
            rc = VS_EXIT_USAGE;
            goto done;
        }
    }

    if (help) {
        fputs(vs_usage, stdout);
        rc = VS_EXIT_OK;

    } else if (version) {
        printf("validibot-sync %s\n", VS_VERSION);
        rc = VS_EXIT_OK;

    } else if (args->unknown) {
        fprintf(stderr, "validibot-sync: unknown option %.*s\n",
                (int) args->unknown_len, args->unknown);
        rc = VS_EXIT_USAGE;
    }

done:

    free(args->pos);
    free(args);

    return rc;
}


int
main(int argc, char **argv)
{
    int                rc, print, json;
    const char        *cmd, *env;
    vs_conf_t          conf;
    struct sigaction   sa;

    memset(&conf, 0, sizeof(vs_conf_t));

    env = getenv("VALIDIBOT_SYNC_PG");
    conf.pg = env ? env : "";
    env = getenv("VALIDIBOT_REDIS_URL");
    conf.redis_url = env && *env ? env : VS_DEFAULT_REDIS;
    env = getenv("VALIDIBOT_REDIS_PREFIX");
    conf.prefix = env && *env ? env : VS_DEFAULT_PREFIX;
    conf.slot = VS_DEFAULT_SLOT;
    conf.publication = VS_DEFAULT_PUB;

    print = json = 0;

    rc = vs_args(argc, argv, &conf, &cmd, &print, &json);
    if (rc != -1) {
        return rc;
    }

    if (cmd == NULL) {
        fputs(vs_usage, stderr);
        return VS_EXIT_USAGE;
    }

    if (!vs_valid_name(conf.slot) || !vs_valid_name(conf.publication)) {
        fprintf(stderr, "validibot-sync: --slot and --publication take "
                "1 to 63 of a-z 0-9 _\n");
        return VS_EXIT_USAGE;
    }

    if (strlen(conf.prefix) > 128) {
        fprintf(stderr, "validibot-sync: --prefix is too long\n");
        return VS_EXIT_USAGE;
    }

    if ((print && strcmp(cmd, "setup") != 0)
        || (json && strcmp(cmd, "status") != 0))
    {
        fprintf(stderr, "validibot-sync: %s does not take %s\n", cmd,
                print ? "--print" : "--json");
        return VS_EXIT_USAGE;
    }

    if (strcmp(cmd, "setup") == 0) {
        return vs_cmd_setup(&conf, print);
    }

    if (strcmp(cmd, "resync") == 0) {
        return vs_cmd_resync(&conf);
    }

    if (strcmp(cmd, "status") == 0) {
        return vs_cmd_status(&conf, json);
    }

    if (strcmp(cmd, "run") != 0) {
        fprintf(stderr, "validibot-sync: unknown command \"%s\"\n", cmd);
        return VS_EXIT_USAGE;
    }

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = vs_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    return vs_run(&conf);
}
