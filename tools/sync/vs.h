
/*
 * Copyright (C) The ngx_http_validibot_module authors
 *
 * validibot-sync: mirrors Validibot's users, organizations, memberships,
 * roles and API keys from PostgreSQL (logical replication, pgoutput) into
 * the Redis records ngx_http_validibot_module reads (docs/sync.md).
 * Internal interfaces between its files.
 */


#ifndef _VS_H_INCLUDED_
#define _VS_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>
#include <signal.h>
#include <hiredis/hiredis.h>
#include <libpq-fe.h>


#define VS_VERSION          "0.1.0"

#define VS_EXIT_OK          0
#define VS_EXIT_FAIL        1         /* not set up, not reachable */
#define VS_EXIT_USAGE       2

#define VS_DEFAULT_REDIS    "redis://127.0.0.1:6379/0"
#define VS_DEFAULT_PREFIX   "validibot:"
#define VS_DEFAULT_SLOT     "validibot_sync"
#define VS_DEFAULT_PUB      "validibot_sync"


#include "vs_pgoutput.h"


/* vs_redis.c: a blocking connection with timeouts, pipelines */

typedef struct {
    redisContext  *c;
    const char    *url;
    char          *where;          /* redacted, for logs */
    const char    *prefix;
    size_t         queued;
} vs_redis_t;

int vs_redis_connect(vs_redis_t *r);
void vs_redis_close(vs_redis_t *r);
void vs_redis_append(vs_redis_t *r, int argc, const char **argv,
    const size_t *lens);
void vs_redis_appendf(vs_redis_t *r, const char *fmt, ...);
int vs_redis_flush(vs_redis_t *r, redisReply **last);
redisReply *vs_redis_cmd(vs_redis_t *r, const char *fmt, ...);


/* vs_mirror.c: the in-memory tables and the mapping to Redis */

typedef struct vs_mirror_s  vs_mirror_t;

vs_mirror_t *vs_mirror_new(vs_redis_t *redis);
void vs_mirror_free(vs_mirror_t *mi);
void vs_mirror_load_row(vs_mirror_t *mi, vs_table_e t, PGresult *res,
    int row, int write);
void vs_mirror_load_done(vs_mirror_t *mi, int write);
int vs_mirror_change(vs_mirror_t *mi, vs_rel_t *rel, char op,
    vs_value_t *oldv, int nold, vs_value_t *newv, int nnew);
int vs_mirror_commit(vs_mirror_t *mi, const char *lsn);
void vs_mirror_abort(vs_mirror_t *mi);
void vs_mirror_xid(vs_mirror_t *mi, uint32_t xid);
size_t vs_mirror_seen(vs_mirror_t *mi, char ***keys);
void vs_mirror_seen_free(vs_mirror_t *mi);


/* vs_main.c: logging and state shared by the commands */

extern volatile sig_atomic_t  vs_stop;
extern volatile sig_atomic_t  vs_hup;

void vs_log(const char *level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void *vs_alloc(size_t size);
char *vs_strndup(const char *s, size_t len);
char *vs_sprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int64_t vs_now_ms(void);


/* vs_fast.c: refusals by NOTIFY, ahead of the stream */

#define VS_FAST_RING  4096        /* transactions the stream applied */

typedef struct {
    uint32_t      xid[VS_FAST_RING];
    size_t        next;
} vs_fast_ring_t;

extern const char  vs_fast_guard_lua[];


/* vs_stream.c: the run loop, initial load and resync */

typedef struct {
    const char   *pg;             /* libpq connection string or URI */
    const char   *redis_url;
    const char   *prefix;
    const char   *slot;
    const char   *publication;
} vs_conf_t;

int vs_run(vs_conf_t *conf);
int vs_check_setup(PGconn *pg, vs_conf_t *conf, int verbose);
PGconn *vs_pg_connect(vs_conf_t *conf, int replication);

char *vs_fast_setup_sql(vs_conf_t *conf);
int vs_fast_check(PGconn *pg, vs_conf_t *conf, int verbose);
int vs_fast_listen(PGconn *pg, vs_conf_t *conf);
int vs_fast_poll(PGconn *pg, vs_redis_t *r, vs_fast_ring_t *applied);
void vs_fast_applied(vs_fast_ring_t *a, uint32_t xid);

#endif /* _VS_H_INCLUDED_ */
