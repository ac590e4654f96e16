
/*
 * Copyright (C) The ngx_http_validibot_module authors
 *
 * validibot-sync: the Redis connection.  A daemon: errors are returned
 * (the run loop reconnects), never fatal.  Blocking, with connect and
 * command timeouts; commands are pipelined and their replies read in one
 * go.  The URL is parsed by the module's own parser (validibot_redis).
 */


#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "vs.h"
#include "ngx_http_validibot_url.h"


#define VS_REDIS_TIMEOUT  5


int
vs_redis_connect(vs_redis_t *r)
{
    char                      *host, *path, *user, *pass;
    const char                *err;
    size_t                     len;
    redisReply                *rep;
    struct timeval             tv;
    ngx_http_validibot_url_t   url;

    vs_redis_close(r);

    len = strlen(r->url);

    if (r->where == NULL) {
        r->where = vs_alloc(len + 4);
        len = ngx_http_validibot_url_redact((const unsigned char *) r->url,
                                            len, (unsigned char *) r->where);
        r->where[len] = '\0';
        len = strlen(r->url);
    }

    err = ngx_http_validibot_url_parse((const unsigned char *) r->url, len,
                                       &url);
    if (err) {
        vs_log("error", "bad Redis URL %s: %s", r->where, err);
        return -2;
    }

    /* the parser also knows rediss:// and sentinel://, this tool not yet */

    if (url.tls || url.sentinel) {
        vs_log("error", "bad Redis URL %s: %s is not supported by "
               "validibot-sync", r->where,
               url.tls ? "rediss://" : "sentinel://");
        return -2;
    }

    tv.tv_sec = VS_REDIS_TIMEOUT;
    tv.tv_usec = 0;

    if (url.unix_socket) {
        path = vs_strndup((const char *) url.path.data, url.path.len);
        r->c = redisConnectUnixWithTimeout(path, tv);
        free(path);

    } else {
        host = vs_strndup((const char *) url.host.data, url.host.len);
        r->c = redisConnectWithTimeout(host, (int) url.port, tv);
        free(host);
    }

    if (r->c == NULL || r->c->err) {
        vs_log("error", "cannot connect to Redis at %s: %s", r->where,
               r->c ? r->c->errstr : "out of memory");
        vs_redis_close(r);
        return -1;
    }

    if (redisSetTimeout(r->c, tv) != REDIS_OK) {
        vs_redis_close(r);
        return -1;
    }

    if (url.password.data) {
        pass = vs_strndup((const char *) url.password.data, url.password.len);

        if (url.user.len) {
            user = vs_strndup((const char *) url.user.data, url.user.len);
            rep = redisCommand(r->c, "AUTH %s %s", user, pass);
            free(user);

        } else {
            rep = redisCommand(r->c, "AUTH %s", pass);
        }

        memset(pass, 0, url.password.len);
        free(pass);

        if (rep == NULL || rep->type == REDIS_REPLY_ERROR) {
            vs_log("error", "Redis at %s refused AUTH: %s", r->where,
                   rep ? rep->str : r->c->errstr);
            if (rep) {
                freeReplyObject(rep);
            }
            vs_redis_close(r);
            return -1;
        }

        freeReplyObject(rep);
    }

    if (url.db) {
        rep = redisCommand(r->c, "SELECT %u", url.db);

        if (rep == NULL || rep->type == REDIS_REPLY_ERROR) {
            vs_log("error", "Redis at %s refused SELECT %u: %s", r->where,
                   url.db, rep ? rep->str : r->c->errstr);
            if (rep) {
                freeReplyObject(rep);
            }
            vs_redis_close(r);
            return -1;
        }

        freeReplyObject(rep);
    }

    rep = redisCommand(r->c, "CLIENT SETNAME validibot-sync");
    if (rep) {
        freeReplyObject(rep);
    }

    r->queued = 0;
    return 0;
}


void
vs_redis_close(vs_redis_t *r)
{
    if (r->c) {
        redisFree(r->c);
        r->c = NULL;
    }

    r->queued = 0;
}


void
vs_redis_append(vs_redis_t *r, int argc, const char **argv,
    const size_t *lens)
{
    if (r->c && redisAppendCommandArgv(r->c, argc, argv, lens) == REDIS_OK) {
        r->queued++;
    }
}


void
vs_redis_appendf(vs_redis_t *r, const char *fmt, ...)
{
    va_list  ap;

    if (r->c == NULL) {
        return;
    }

    va_start(ap, fmt);

    if (redisvAppendCommand(r->c, fmt, ap) == REDIS_OK) {
        r->queued++;
    }

    va_end(ap);
}


/*
 * Sends what was appended and reads every reply.  An error reply fails
 * the flush (the first is logged); "last", when given, gets the last
 * reply, to be freed by the caller.  -1 when the connection failed.
 */
int
vs_redis_flush(vs_redis_t *r, redisReply **last)
{
    int          rc;
    void        *v;
    redisReply  *rep;

    rc = 0;

    if (last) {
        *last = NULL;
    }

    if (r->c == NULL) {
        return -1;
    }

    while (r->queued) {
        if (redisGetReply(r->c, &v) != REDIS_OK || v == NULL) {
            vs_log("error", "Redis at %s: %s", r->where,
                   r->c->errstr[0] ? r->c->errstr : "connection lost");
            vs_redis_close(r);
            return -1;
        }

        r->queued--;
        rep = v;

        if (rep->type == REDIS_REPLY_ERROR && rc == 0) {
            vs_log("error", "Redis at %s: %s", r->where, rep->str);
            rc = -1;
        }

        if (r->queued == 0 && last) {
            *last = rep;

        } else {
            freeReplyObject(rep);
        }
    }

    return rc;
}


redisReply *
vs_redis_cmd(vs_redis_t *r, const char *fmt, ...)
{
    va_list      ap;
    redisReply  *rep;

    if (r->c == NULL) {
        return NULL;
    }

    if (vs_redis_flush(r, NULL) == -1 && r->c == NULL) {
        return NULL;
    }

    va_start(ap, fmt);
    rep = redisvCommand(r->c, fmt, ap);
    va_end(ap);

    if (rep == NULL) {
        vs_log("error", "Redis at %s: %s", r->where,
               r->c->errstr[0] ? r->c->errstr : "connection lost");
        vs_redis_close(r);
    }

    return rep;
}
