
/*
 * Copyright (C) The ngx_http_validibot_module authors
 *
 * validibot-token: the Redis connection.  Blocking hiredis is right for a
 * command-line tool.  Any I/O error or error reply ends the process with
 * exit code 3; WATCH conflicts are reported to the caller, which retries.
 */


#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "vt.h"
#include "ngx_http_validibot_url.h"


#define VT_CONNECT_TIMEOUT  5
#define VT_COMMAND_TIMEOUT  60
#define VT_MAX_ARGV         64
#define VT_MAX_PASSWORD     4096


static redisReply **vt_replies;
static size_t       vt_nreplies;
static size_t       vt_replies_cap;
static redisContext  *vt_rc;
static const char    *vt_where;


static void
vt_redis_cleanup(void)
{
    size_t  i;

    for (i = 0; i < vt_nreplies; i++) {
        freeReplyObject(vt_replies[i]);
    }

    free(vt_replies);
    vt_replies = NULL;
    vt_nreplies = 0;

    if (vt_rc) {
        redisFree(vt_rc);
        vt_rc = NULL;
    }
}


/* replies live until exit, like everything else */

static redisReply *
vt_keep(redisReply *r)
{
    redisReply  **n;

    if (vt_nreplies == vt_replies_cap) {
        vt_replies_cap = vt_replies_cap ? vt_replies_cap * 2 : 64;

        n = realloc(vt_replies, vt_replies_cap * sizeof(redisReply *));
        if (n == NULL) {
            vt_fail(VT_EXIT_REDIS, "out of memory");
        }

        vt_replies = n;
    }

    vt_replies[vt_nreplies++] = r;

    return r;
}


static void
vt_io_fail(vt_ctx_t *ctx)
{
    vt_fail(VT_EXIT_REDIS, "Redis at %s: %s", vt_where,
            ctx->rc->errstr[0] ? ctx->rc->errstr : "connection lost");
}


/*
 * sentinel://: asks the sentinels in turn for the master's address, as
 * the module does; the caller checks it with ROLE.  Sets *host, *port.
 */

static void
vt_sentinel_master(ngx_http_validibot_url_t *url, char **host,
    unsigned *port)
{
    char            *h, *name, *where;
    unsigned         i;
    redisReply      *r;
    redisContext    *c;
    struct timeval   tv;

    name = vt_strndup((const char *) url->master.data, url->master.len);

    tv.tv_sec = VT_CONNECT_TIMEOUT;
    tv.tv_usec = 0;

    for (i = 0; i < url->nsentinels; i++) {
        h = vt_strndup((const char *) url->sentinel_host[i].data,
                       url->sentinel_host[i].len);
        where = vt_sprintf("%s:%u", h, url->sentinel_port[i]);

        c = redisConnectWithTimeout(h, (int) url->sentinel_port[i], tv);

        if (c == NULL || c->err) {
            vt_warn("sentinel %s: %s", where,
                    c ? c->errstr : "out of memory");
            if (c) {
                redisFree(c);
            }
            continue;
        }

        (void) redisSetTimeout(c, tv);

        r = redisCommand(c, "SENTINEL get-master-addr-by-name %s", name);

        if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 2
            && r->element[0]->type == REDIS_REPLY_STRING
            && r->element[1]->type == REDIS_REPLY_STRING
            && atoi(r->element[1]->str) > 0
            && atoi(r->element[1]->str) < 65536)
        {
            *host = vt_strdup(r->element[0]->str);
            *port = (unsigned) atoi(r->element[1]->str);
            freeReplyObject(r);
            redisFree(c);
            return;
        }

        vt_warn("sentinel %s: no address for master \"%s\"", where, name);

        if (r) {
            freeReplyObject(r);
        }

        redisFree(c);
    }

    vt_fail(VT_EXIT_REDIS, "no sentinel named a master \"%s\"", name);
}


/*
 * VALIDIBOT_REDIS_PASSWORD_FILE: "password" or "user password", as
 * validibot_redis_password_file reads it.  The pieces point into the
 * returned buffer, which the caller wipes.
 */

static unsigned char *
vt_password_file(const char *path, ngx_http_validibot_url_t *url)
{
    size_t          n;
    const char     *err;
    unsigned char  *buf;

    buf = vt_read_secret(path, VT_MAX_PASSWORD, &n,
                         "VALIDIBOT_REDIS_PASSWORD_FILE");

    err = ngx_http_validibot_url_credentials(buf, n, &url->user,
                                             &url->password);
    if (err) {
        vt_wipe(buf, n);
        vt_fail(VT_EXIT_USAGE, "VALIDIBOT_REDIS_PASSWORD_FILE \"%s\" %s",
                path, err);
    }

    return buf;
}


void
vt_connect(vt_ctx_t *ctx)
{
    const char                *err, *file;
    char                      *host, *path, *pass, *user, *db;
    unsigned                   port;
    unsigned char             *secret;
    redisReply                *r;
    struct timeval             tv;
    ngx_http_validibot_url_t   url;

    if (ctx->rc) {
        return;
    }

    err = ngx_http_validibot_url_parse((const unsigned char *) ctx->url,
                                       strlen(ctx->url), &url);
    if (err) {
        /* the URL is not echoed: it may hold a password */
        vt_fail(VT_EXIT_USAGE, "bad Redis URL in %s: %s", ctx->url_from, err);
    }

    secret = NULL;
    file = getenv("VALIDIBOT_REDIS_PASSWORD_FILE");

    if (file && *file) {
        if (url.password.data) {
            vt_fail(VT_EXIT_USAGE, "a password in %s and in "
                    "VALIDIBOT_REDIS_PASSWORD_FILE: give one", ctx->url_from);
        }

        secret = vt_password_file(file, &url);
    }

    tv.tv_sec = VT_CONNECT_TIMEOUT;
    tv.tv_usec = 0;

    if (url.unix_socket) {
        path = vt_strndup((const char *) url.path.data, url.path.len);
        vt_where = vt_sprintf("unix:%s", path);
        ctx->rc = redisConnectUnixWithTimeout(path, tv);

    } else {
        if (url.sentinel) {
            vt_sentinel_master(&url, &host, &port);

        } else {
            host = vt_strndup((const char *) url.host.data, url.host.len);
            port = url.port;
        }

        vt_where = strchr(host, ':') ? vt_sprintf("[%s]:%u", host, port)
                                     : vt_sprintf("%s:%u", host, port);
        ctx->rc = url.tls
                  ? redisConnectFd(vt_tls_connect(host, port, vt_where,
                                                  VT_CONNECT_TIMEOUT))
                  : redisConnectWithTimeout(host, (int) port, tv);
    }

    if (ctx->rc == NULL) {
        vt_fail(VT_EXIT_REDIS, "cannot connect to Redis at %s: out of memory",
                vt_where);
    }

    vt_rc = ctx->rc;
    atexit(vt_redis_cleanup);

    if (ctx->rc->err) {
        vt_fail(VT_EXIT_REDIS, "cannot connect to Redis at %s: %s", vt_where,
                ctx->rc->errstr);
    }

    tv.tv_sec = VT_COMMAND_TIMEOUT;

    if (redisSetTimeout(ctx->rc, tv) != REDIS_OK) {
        vt_io_fail(ctx);
    }

    if (url.password.data) {
        pass = vt_strndup((const char *) url.password.data, url.password.len);

        if (url.user.len) {
            user = vt_strndup((const char *) url.user.data, url.user.len);
            r = redisCommand(ctx->rc, "AUTH %s %s", user, pass);

        } else {
            r = redisCommand(ctx->rc, "AUTH %s", pass);
        }

        vt_wipe(pass, url.password.len);

        if (secret) {
            vt_wipe(secret, VT_MAX_PASSWORD + 1);
        }

        if (r == NULL) {
            vt_io_fail(ctx);
        }

        vt_keep(r);

        if (r->type == REDIS_REPLY_ERROR) {
            vt_fail(VT_EXIT_REDIS, "Redis at %s refused AUTH: %s", vt_where,
                    r->str);
        }
    }

    if (url.db) {
        db = vt_sprintf("%u", url.db);

        r = redisCommand(ctx->rc, "SELECT %s", db);
        if (r == NULL) {
            vt_io_fail(ctx);
        }

        vt_keep(r);

        if (r->type == REDIS_REPLY_ERROR) {
            vt_fail(VT_EXIT_REDIS, "Redis at %s refused SELECT %s: %s",
                    vt_where, db, r->str);
        }
    }

    if (url.sentinel) {
        /* a sentinel's answer may be stale: only the master will do */

        r = redisCommand(ctx->rc, "ROLE");
        if (r == NULL) {
            vt_io_fail(ctx);
        }

        vt_keep(r);

        if (r->type != REDIS_REPLY_ARRAY || r->elements == 0
            || r->element[0]->type != REDIS_REPLY_STRING
            || strcmp(r->element[0]->str, "master") != 0)
        {
            vt_fail(VT_EXIT_REDIS, "Redis at %s, named by the sentinels, is "
                    "not the master", vt_where);
        }
    }
}


static int
vt_collect(const char *arg, va_list ap, const char **argv)
{
    int  argc;

    for (argc = 0; arg; arg = va_arg(ap, const char *)) {
        if (argc == VT_MAX_ARGV) {
            vt_fail(VT_EXIT_REDIS, "internal error: too many arguments");
        }

        argv[argc++] = arg;
    }

    return argc;
}


redisReply *
vt_read(vt_ctx_t *ctx)
{
    void  *r;

    if (redisGetReply(ctx->rc, &r) != REDIS_OK || r == NULL) {
        vt_io_fail(ctx);
    }

    return vt_keep(r);
}


static void
vt_check(redisReply *r, const char *what)
{
    if (r->type == REDIS_REPLY_ERROR) {
        vt_fail(VT_EXIT_REDIS, "Redis at %s: %s: %s", vt_where, what, r->str);
    }
}


redisReply *
vt_cmdv(vt_ctx_t *ctx, int argc, const char **argv)
{
    redisReply  *r;

    vt_appendv(ctx, argc, argv);

    r = vt_read(ctx);
    vt_check(r, argv[0]);

    return r;
}


redisReply *
vt_cmd(vt_ctx_t *ctx, const char *arg, ...)
{
    int          argc;
    va_list      ap;
    const char  *argv[VT_MAX_ARGV];

    va_start(ap, arg);
    argc = vt_collect(arg, ap, argv);
    va_end(ap);

    return vt_cmdv(ctx, argc, argv);
}


void
vt_appendv(vt_ctx_t *ctx, int argc, const char **argv)
{
    int     i;
    size_t  lens[VT_MAX_ARGV], *lp;

    vt_connect(ctx);

    lp = (argc <= VT_MAX_ARGV) ? lens : vt_alloc(argc * sizeof(size_t));

    for (i = 0; i < argc; i++) {
        lp[i] = strlen(argv[i]);
    }

    if (redisAppendCommandArgv(ctx->rc, argc, argv, lp) != REDIS_OK) {
        vt_io_fail(ctx);
    }
}


void
vt_append(vt_ctx_t *ctx, const char *arg, ...)
{
    int          argc;
    va_list      ap;
    const char  *argv[VT_MAX_ARGV];

    va_start(ap, arg);
    argc = vt_collect(arg, ap, argv);
    va_end(ap);

    vt_appendv(ctx, argc, argv);
}


/*
 * A transaction: MULTI, the queued commands and EXEC go out together and
 * the replies are read at EXEC.  Nothing is sent before the caller has
 * checked everything, so a bad argument never leaves half a change.
 */

void
vt_multi(vt_ctx_t *ctx)
{
    vt_append(ctx, "MULTI", VT_END);
    ctx->queued = 0;
}


void
vt_queuev(vt_ctx_t *ctx, int argc, const char **argv)
{
    vt_appendv(ctx, argc, argv);
    ctx->queued++;
}


void
vt_queue(vt_ctx_t *ctx, const char *arg, ...)
{
    int          argc;
    va_list      ap;
    const char  *argv[VT_MAX_ARGV];

    va_start(ap, arg);
    argc = vt_collect(arg, ap, argv);
    va_end(ap);

    vt_queuev(ctx, argc, argv);
}


/* 0: committed; -1: a WATCHed key changed, nothing was written */

int
vt_exec(vt_ctx_t *ctx)
{
    size_t       i;
    redisReply  *r, *first_error;

    vt_append(ctx, "EXEC", VT_END);

    r = vt_read(ctx);
    vt_check(r, "MULTI");

    first_error = NULL;

    for (i = 0; i < ctx->queued; i++) {
        r = vt_read(ctx);

        if (r->type == REDIS_REPLY_ERROR && first_error == NULL) {
            first_error = r;
        }
    }

    r = vt_read(ctx);

    if (first_error) {
        /* EXEC answers EXECABORT: the transaction was discarded */
        vt_fail(VT_EXIT_REDIS, "Redis at %s: transaction refused, nothing "
                "written: %s", vt_where, first_error->str);
    }

    vt_check(r, "EXEC");

    if (r->type == REDIS_REPLY_NIL) {
        return -1;
    }

    if (r->type != REDIS_REPLY_ARRAY) {
        vt_fail(VT_EXIT_REDIS, "Redis at %s: unexpected EXEC reply",
                vt_where);
    }

    for (i = 0; i < r->elements; i++) {
        if (r->element[i]->type == REDIS_REPLY_ERROR) {
            vt_fail(VT_EXIT_REDIS, "Redis at %s: in transaction: %s",
                    vt_where, r->element[i]->str);
        }
    }

    return 0;
}


static int
vt_strcmp(const void *a, const void *b)
{
    return strcmp(*(char * const *) a, *(char * const *) b);
}


/* every key name matching pattern, sorted, without SCAN's duplicates */

char **
vt_scan(vt_ctx_t *ctx, const char *pattern, size_t *n)
{
    size_t        i, j, cap, count;
    char         *cursor;
    char        **names, **nn;
    redisReply   *r, *keys;

    cursor = "0";
    names = NULL;
    cap = 0;
    count = 0;

    do {
        r = vt_cmd(ctx, "SCAN", cursor, "MATCH", pattern, "COUNT", "1000",
                   VT_END);

        if (r->type != REDIS_REPLY_ARRAY || r->elements != 2
            || r->element[0]->type != REDIS_REPLY_STRING
            || r->element[1]->type != REDIS_REPLY_ARRAY)
        {
            vt_fail(VT_EXIT_REDIS, "Redis at %s: unexpected SCAN reply",
                    vt_where);
        }

        cursor = r->element[0]->str;
        keys = r->element[1];

        for (i = 0; i < keys->elements; i++) {
            if (keys->element[i]->type != REDIS_REPLY_STRING) {
                continue;
            }

            if (count == cap) {
                cap = cap ? cap * 2 : 256;
                nn = vt_alloc(cap * sizeof(char *));

                if (count) {
                    memcpy(nn, names, count * sizeof(char *));
                }

                names = nn;
            }

            names[count++] = keys->element[i]->str;
        }

    } while (strcmp(cursor, "0") != 0);

    if (count) {
        qsort(names, count, sizeof(char *), vt_strcmp);

        for (i = 1, j = 1; i < count; i++) {
            if (strcmp(names[i], names[j - 1]) != 0) {
                names[j++] = names[i];
            }
        }

        count = j;
    }

    *n = count;

    return names;
}


/* a field of an HGETALL reply, or NULL */

const redisReply *
vt_hash_get(const redisReply *r, const char *field)
{
    size_t  i;

    if (r == NULL || r->type != REDIS_REPLY_ARRAY) {
        return NULL;
    }

    for (i = 0; i + 1 < r->elements; i += 2) {
        if (r->element[i]->type == REDIS_REPLY_STRING
            && strcmp(r->element[i]->str, field) == 0
            && r->element[i + 1]->type == REDIS_REPLY_STRING)
        {
            return r->element[i + 1];
        }
    }

    return NULL;
}


const char *
vt_hash_str(const redisReply *r, const char *field)
{
    const redisReply  *v;

    v = vt_hash_get(r, field);

    return v ? v->str : NULL;
}


/* "<prefix>user:42", "<prefix>member:acme:42" */

char *
vt_key(vt_ctx_t *ctx, const char *kind, const char *a, const char *b)
{
    if (b) {
        return vt_sprintf("%s%s:%s:%s", ctx->prefix, kind, a, b);
    }

    return vt_sprintf("%s%s:%s", ctx->prefix, kind, a);
}
