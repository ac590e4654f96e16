
/*
 * Copyright (C) The ngx_http_validibot_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <ngx_event_connect.h>
#include <ngx_sha1.h>

#include "ngx_http_validibot_redis.h"
#include "ngx_http_validibot_hint.h"
#include "ngx_http_validibot_reply.h"
#include "ngx_http_validibot_script.h"
#include "ngx_http_validibot_metrics.h"
#include "ngx_http_validibot_ssl.h"
#include "ngx_http_validibot_sentinel.h"


#define NGX_HTTP_VALIDIBOT_BACKOFF_MIN   100
#define NGX_HTTP_VALIDIBOT_BACKOFF_MAX   1000
#define NGX_HTTP_VALIDIBOT_MAX_WAITERS   8192
#define NGX_HTTP_VALIDIBOT_READ_SIZE     16384
#define NGX_HTTP_VALIDIBOT_SHA_LEN       40
#define NGX_HTTP_VALIDIBOT_STATUS_LEN    128


typedef enum {
    NGX_HTTP_VALIDIBOT_IDLE = 0,
    NGX_HTTP_VALIDIBOT_RESOLVING,      /* the address: resolver, sentinels */
    NGX_HTTP_VALIDIBOT_CONNECTING,
    NGX_HTTP_VALIDIBOT_TLS,            /* the TLS handshake of rediss:// */
    NGX_HTTP_VALIDIBOT_READY,
    NGX_HTTP_VALIDIBOT_BACKOFF
} ngx_http_validibot_conn_state_e;


typedef enum {
    NGX_HTTP_VALIDIBOT_W_LOOKUP = 0,
    NGX_HTTP_VALIDIBOT_W_HANDSHAKE,
    NGX_HTTP_VALIDIBOT_W_SCRIPT,
    NGX_HTTP_VALIDIBOT_W_FIRE,
    NGX_HTTP_VALIDIBOT_W_ORG,
    NGX_HTTP_VALIDIBOT_W_ROLE,         /* sentinel://: is it the master? */
    NGX_HTTP_VALIDIBOT_W_SYNC,
    NGX_HTTP_VALIDIBOT_W_TRACK_ID,    /* the tracking connection's */
    NGX_HTTP_VALIDIBOT_W_SUBSCRIBE,
    NGX_HTTP_VALIDIBOT_W_PING
} ngx_http_validibot_waiter_type_e;


typedef struct ngx_http_validibot_conn_s  ngx_http_validibot_conn_t;


struct ngx_http_validibot_waiter_s {
    ngx_queue_t                           queue;
    ngx_http_validibot_redis_handler_pt   handler;
    void                                 *data;
    ngx_msec_t                            deadline;
    ngx_uint_t                            type;
    ngx_uint_t                            retried;
    ngx_uint_t                            nparts;   /* replies awaited */
    size_t                                org_len;
    size_t                                user_len; /* the hinted owner */
    u_char                                public_id[32];
    u_char                                org[NGX_HTTP_VALIDIBOT_ORG_MAX_LEN];
    u_char                                user[
                                              NGX_HTTP_VALIDIBOT_HINT_USER_MAX];
};


struct ngx_http_validibot_conn_s {
    ngx_peer_connection_t                 peer;
    ngx_uint_t                            state;
    ngx_queue_t                           waiters;
    ngx_uint_t                            nwaiters;
    redisReader                          *reader;

    /* the head waiter's replies so far, when it awaits several */
    redisReply                           *part[NGX_HTTP_VALIDIBOT_MAX_PARTS];
    ngx_uint_t                            nparts;
    ngx_http_validibot_composed_t         composed;

    /*
     * Hinted lookups of one org queued in the same write share one read
     * of the org's status: the org whose read is queued and unsent, and
     * the latest such reply, which every hinted lookup queued after it
     * (and before the next one) uses.
     */
    size_t                                org_len;
    u_char                                org[NGX_HTTP_VALIDIBOT_ORG_MAX_LEN];
    redisReply                            status;
    u_char                                status_str[
                                              NGX_HTTP_VALIDIBOT_STATUS_LEN];

    /*
     * With validibot_sync_max_lag, the lookups queued in one write share
     * one read of validibot-sync's heartbeat, queued ahead of the first;
     * the latest reply (unix ms, -1: none) judges every lookup after it.
     */
    ngx_uint_t                            sync_queued;
    int64_t                               heartbeat;

    /* bytes queued for Redis: out[pos..len) */
    u_char                               *out;
    size_t                                out_pos;
    size_t                                out_len;
    size_t                                out_size;

    /* head waiter's deadline, connect timeout or backoff */
    ngx_event_t                           timer;
    ngx_msec_t                            backoff;

    /* the address of this connection when the name is resolved anew */
    ngx_resolver_ctx_t                   *resolving;
    ngx_sockaddr_t                        sockaddr;
    ngx_str_t                             addr_text;
    u_char                                addr_buf[NGX_SOCKADDR_STRLEN];

    /* the tracking connection (validibot_cache) only */
    ngx_event_t                           ping;
    unsigned                              track:1;
    unsigned                              subscribed:1;
};


typedef struct {
    ngx_http_validibot_redis_conf_t      *conf;
    ngx_http_validibot_conn_t            *conns;
    ngx_uint_t                            next;
    ngx_http_validibot_conn_t            *last;
    ngx_queue_t                           free;
    ngx_log_t                            *log;
    ngx_http_validibot_hints_t           *hints;

    /* a handshake refusal was logged since the last handshake passed */
    ngx_uint_t                            refused;

    u_char                                sha[NGX_HTTP_VALIDIBOT_SHA_LEN];
    time_t                                stale_logged;

    ngx_http_validibot_conn_t            *track;
    ngx_str_t                            *track_prefixes;
    ngx_uint_t                            ntrack_prefixes;
    ngx_msec_t                            track_ping;
    ngx_http_validibot_track_handler_pt   track_handler;
} ngx_http_validibot_redis_t;


static ngx_int_t ngx_http_validibot_redis_connect(
    ngx_http_validibot_conn_t *rc);
static ngx_int_t ngx_http_validibot_redis_open(ngx_http_validibot_conn_t *rc,
    struct sockaddr *sockaddr, socklen_t socklen, ngx_str_t *name);
static void ngx_http_validibot_redis_resolved(ngx_resolver_ctx_t *ctx);
static void ngx_http_validibot_redis_master(ngx_addr_t *master);
static void ngx_http_validibot_redis_switched(ngx_addr_t *master);
static ngx_int_t ngx_http_validibot_redis_connected(
    ngx_http_validibot_conn_t *rc);
static void ngx_http_validibot_redis_ssl_handler(ngx_connection_t *c);
static void ngx_http_validibot_redis_fail(ngx_http_validibot_conn_t *rc,
    const char *reason);
static void ngx_http_validibot_redis_fail_level(ngx_http_validibot_conn_t *rc,
    ngx_uint_t level, const char *reason);
static void ngx_http_validibot_redis_close(ngx_http_validibot_conn_t *rc);
static ngx_http_validibot_conn_t *ngx_http_validibot_redis_pick(void);
static ngx_http_validibot_waiter_t *ngx_http_validibot_redis_waiter(
    ngx_http_validibot_conn_t *rc, ngx_uint_t type);
static ngx_int_t ngx_http_validibot_redis_append(
    ngx_http_validibot_conn_t *rc, ngx_uint_t argc, ngx_str_t *argv);
static ngx_int_t ngx_http_validibot_redis_append_lookup(
    ngx_http_validibot_conn_t *rc, ngx_http_validibot_waiter_t *w);
static ngx_int_t ngx_http_validibot_redis_append_hinted(
    ngx_http_validibot_conn_t *rc, ngx_http_validibot_waiter_t *w);
static ngx_int_t ngx_http_validibot_redis_requeue(
    ngx_http_validibot_conn_t *rc, ngx_http_validibot_waiter_t *w);
static ngx_int_t ngx_http_validibot_redis_append_sync(
    ngx_http_validibot_conn_t *rc);
static void ngx_http_validibot_redis_heartbeat(ngx_http_validibot_conn_t *rc,
    redisReply *reply);
static ngx_uint_t ngx_http_validibot_redis_is_stale(
    ngx_http_validibot_conn_t *rc);
static void ngx_http_validibot_redis_org_status(
    ngx_http_validibot_conn_t *rc, redisReply *reply);
static ngx_int_t ngx_http_validibot_redis_lookup_reply(
    ngx_http_validibot_conn_t *rc, ngx_http_validibot_waiter_t *w,
    redisReply **reply);
static void ngx_http_validibot_redis_flush(ngx_http_validibot_conn_t *rc);
static void ngx_http_validibot_redis_arm(ngx_http_validibot_conn_t *rc);
static void ngx_http_validibot_redis_read_handler(ngx_event_t *rev);
static void ngx_http_validibot_redis_write_handler(ngx_event_t *wev);
static void ngx_http_validibot_redis_timer_handler(ngx_event_t *ev);
static ngx_int_t ngx_http_validibot_redis_reply(ngx_http_validibot_conn_t *rc,
    redisReply *reply);
static ngx_int_t ngx_http_validibot_redis_track_reply(
    ngx_http_validibot_conn_t *rc, ngx_http_validibot_waiter_t *w,
    redisReply *reply);
static void ngx_http_validibot_redis_ping_handler(ngx_event_t *ev);


static ngx_http_validibot_redis_t  *ngx_http_validibot_redis;

redisReply  ngx_http_validibot_redis_stale;

static ngx_str_t  ngx_http_validibot_script = ngx_string(
    NGX_HTTP_VALIDIBOT_SCRIPT);

/*
 * The hinted lookup's commands in RESP, but for the key name: each is
 * "head $<len> CRLF <key> CRLF tail".  The fields are the script's, in
 * its order (ngx_http_validibot_reply.h); encoded once here, since
 * encoding every argument for every request was a tenth of a lookup.
 */

#define NGX_HTTP_VALIDIBOT_RESP(s)  { sizeof(s) - 1, (u_char *) s }

static ngx_str_t  ngx_http_validibot_hinted_cmds[] = {

    /* HMGET key:<id> user digest ... label */
    NGX_HTTP_VALIDIBOT_RESP("*9\r\n$5\r\nHMGET\r\n"),
    NGX_HTTP_VALIDIBOT_RESP("$4\r\nuser\r\n$6\r\ndigest\r\n"
                            "$14\r\ndigest_version\r\n$10\r\nexpires_at\r\n"
                            "$10\r\nrevoked_at\r\n$10\r\ncreated_at\r\n"
                            "$5\r\nlabel\r\n"),

    /* HMGET user:<user> is_active email name is_superuser */
    NGX_HTTP_VALIDIBOT_RESP("*6\r\n$5\r\nHMGET\r\n"),
    NGX_HTTP_VALIDIBOT_RESP("$9\r\nis_active\r\n$5\r\nemail\r\n"
                            "$4\r\nname\r\n$12\r\nis_superuser\r\n"),

    /* HGET org:<org> status */
    NGX_HTTP_VALIDIBOT_RESP("*3\r\n$4\r\nHGET\r\n"),
    NGX_HTTP_VALIDIBOT_RESP("$6\r\nstatus\r\n"),

    /* HMGET member:<org>:<user> is_active roles */
    NGX_HTTP_VALIDIBOT_RESP("*4\r\n$5\r\nHMGET\r\n"),
    NGX_HTTP_VALIDIBOT_RESP("$9\r\nis_active\r\n$5\r\nroles\r\n"),

    /* HGET usage:<id> last_used_at */
    NGX_HTTP_VALIDIBOT_RESP("*3\r\n$4\r\nHGET\r\n"),
    NGX_HTTP_VALIDIBOT_RESP("$12\r\nlast_used_at\r\n")
};



ngx_int_t
ngx_http_validibot_redis_init_process(ngx_cycle_t *cycle,
    ngx_http_validibot_redis_conf_t *conf)
{
    u_char                      digest[20];
    ngx_uint_t                  i;
    ngx_sha1_t                  sha1;
    ngx_http_validibot_conn_t  *rc;
    ngx_http_validibot_redis_t *redis;

    redis = ngx_pcalloc(cycle->pool, sizeof(ngx_http_validibot_redis_t));
    if (redis == NULL) {
        return NGX_ERROR;
    }

    redis->conns = ngx_pcalloc(cycle->pool, conf->connections
                                          * sizeof(ngx_http_validibot_conn_t));
    if (redis->conns == NULL) {
        return NGX_ERROR;
    }

    redis->conf = conf;
    redis->log = cycle->log;
    ngx_queue_init(&redis->free);

    if (conf->hints) {
        redis->hints = ngx_http_validibot_hints_create(conf->hints);
        if (redis->hints == NULL) {
            return NGX_ERROR;
        }
    }

    ngx_sha1_init(&sha1);
    ngx_sha1_update(&sha1, ngx_http_validibot_script.data,
                    ngx_http_validibot_script.len);
    ngx_sha1_final(digest, &sha1);
    ngx_hex_dump(redis->sha, digest, sizeof(digest));

    for (i = 0; i < conf->connections; i++) {
        rc = &redis->conns[i];
        ngx_queue_init(&rc->waiters);
        rc->timer.handler = ngx_http_validibot_redis_timer_handler;
        rc->timer.data = rc;
        rc->timer.log = cycle->log;
    }

    if (conf->sentinels
        && ngx_http_validibot_sentinel_init(cycle, conf->sentinels,
                                            &conf->master_name, conf->timeout,
                                            ngx_http_validibot_redis_master,
                                            ngx_http_validibot_redis_switched)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (conf->tls && !conf->ssl_verify) {
        /* nginx -t said so too, but that is not in this log */
        ngx_log_error(NGX_LOG_WARN, cycle->log, 0,
                      "validibot: \"validibot_redis_ssl_verify\" is off: "
                      "the certificate and the name of Redis at \"%V\" are "
                      "not checked", &conf->host);
    }

    ngx_http_validibot_redis = redis;

    return NGX_OK;
}


/*
 * At exit: a connection's waiters back to the free list, its socket,
 * timer and output buffer gone.
 */

static void
ngx_http_validibot_redis_release(ngx_http_validibot_redis_t *redis,
    ngx_http_validibot_conn_t *rc)
{
    ngx_queue_t  *q;

    while (!ngx_queue_empty(&rc->waiters)) {
        q = ngx_queue_head(&rc->waiters);
        ngx_queue_remove(q);
        ngx_queue_insert_tail(&redis->free, q);
    }

    ngx_http_validibot_redis_close(rc);

    if (rc->timer.timer_set) {
        ngx_del_timer(&rc->timer);
    }

    if (rc->out) {
        ngx_free(rc->out);
        rc->out = NULL;
    }
}


void
ngx_http_validibot_redis_exit_process(ngx_cycle_t *cycle)
{
    ngx_uint_t                    i;
    ngx_queue_t                  *q;
    ngx_http_validibot_redis_t   *redis;
    ngx_http_validibot_waiter_t  *w;

    redis = ngx_http_validibot_redis;
    if (redis == NULL) {
        return;
    }

    for (i = 0; i < redis->conf->connections; i++) {
        ngx_http_validibot_redis_release(redis, &redis->conns[i]);
    }

    if (redis->track) {
        ngx_http_validibot_redis_release(redis, redis->track);
        ngx_free(redis->track);
        redis->track = NULL;
    }

    while (!ngx_queue_empty(&redis->free)) {
        q = ngx_queue_head(&redis->free);
        ngx_queue_remove(q);
        w = ngx_queue_data(q, ngx_http_validibot_waiter_t, queue);
        ngx_free(w);
    }

    ngx_http_validibot_hints_free(redis->hints);
    ngx_http_validibot_ssl_exit_process();
    ngx_http_validibot_sentinel_exit();

    ngx_http_validibot_redis = NULL;
}


ngx_http_validibot_waiter_t *
ngx_http_validibot_redis_lookup(ngx_str_t *public_id, ngx_str_t *org,
    ngx_http_validibot_redis_handler_pt handler, void *data, ngx_log_t *log)
{
    ngx_http_validibot_conn_t    *rc;
    ngx_http_validibot_redis_t   *redis;
    ngx_http_validibot_waiter_t  *w;

    redis = ngx_http_validibot_redis;

    if (public_id->len != sizeof(w->public_id)
        || org->len > NGX_HTTP_VALIDIBOT_ORG_MAX_LEN)
    {
        return NULL;
    }

    rc = ngx_http_validibot_redis_pick();
    if (rc == NULL) {
        /* the failure itself was logged at "error" when it happened */
        ngx_log_error(NGX_LOG_INFO, log, 0,
                      "validibot: redis %V unavailable, waiting to reconnect",
                      &redis->conf->addr->name);
        return NULL;
    }

    if (redis->conf->sync_lag && !rc->sync_queued
        && ngx_http_validibot_redis_append_sync(rc) != NGX_OK)
    {
        return NULL;
    }

    w = ngx_http_validibot_redis_waiter(rc, NGX_HTTP_VALIDIBOT_W_LOOKUP);
    if (w == NULL) {
        return NULL;
    }

    ngx_memcpy(w->public_id, public_id->data, public_id->len);

    /* no org: its data may be NULL, and memcpy(dst, NULL, 0) is undefined */
    if (org->len) {
        ngx_memcpy(w->org, org->data, org->len);
    }

    w->org_len = org->len;
    w->handler = handler;
    w->data = data;

    if (redis->hints) {
        w->user_len = ngx_http_validibot_hints_get(redis->hints, w->public_id,
                                                   w->user);
    }

    if (ngx_http_validibot_redis_append_lookup(rc, w) != NGX_OK) {
        /* nothing was queued for it: give it back at once */
        ngx_queue_remove(&w->queue);
        rc->nwaiters--;
        ngx_queue_insert_head(&redis->free, &w->queue);
        return NULL;
    }

    ngx_http_validibot_metrics_count(NGX_HTTP_VALIDIBOT_M_LOOKUPS);
    ngx_http_validibot_metrics_depth(1);

    ngx_http_validibot_redis_arm(rc);
    ngx_http_validibot_redis_flush(rc);

    return w;
}


void
ngx_http_validibot_redis_cancel(ngx_http_validibot_waiter_t *w)
{
    w->handler = NULL;
    w->data = NULL;
}


ngx_int_t
ngx_http_validibot_redis_command(ngx_uint_t argc, ngx_str_t *argv)
{
    ngx_http_validibot_conn_t    *rc;
    ngx_http_validibot_waiter_t  *w;

    rc = ngx_http_validibot_redis_pick();
    if (rc == NULL) {
        return NGX_DECLINED;
    }

    w = ngx_http_validibot_redis_waiter(rc, NGX_HTTP_VALIDIBOT_W_FIRE);
    if (w == NULL) {
        return NGX_DECLINED;
    }

    if (ngx_http_validibot_redis_append(rc, argc, argv) != NGX_OK) {
        ngx_queue_remove(&w->queue);
        rc->nwaiters--;
        ngx_queue_insert_head(&ngx_http_validibot_redis->free, &w->queue);
        return NGX_DECLINED;
    }

    ngx_http_validibot_redis_arm(rc);
    ngx_http_validibot_redis_flush(rc);

    return NGX_OK;
}


ngx_int_t
ngx_http_validibot_redis_track(ngx_str_t *prefixes, ngx_uint_t nprefixes,
    ngx_msec_t ping, ngx_http_validibot_track_handler_pt handler)
{
    ngx_http_validibot_conn_t   *rc;
    ngx_http_validibot_redis_t  *redis;

    redis = ngx_http_validibot_redis;

    rc = ngx_calloc(sizeof(ngx_http_validibot_conn_t), redis->log);
    if (rc == NULL) {
        return NGX_ERROR;
    }

    ngx_queue_init(&rc->waiters);
    rc->timer.handler = ngx_http_validibot_redis_timer_handler;
    rc->timer.data = rc;
    rc->timer.log = redis->log;
    rc->ping.handler = ngx_http_validibot_redis_ping_handler;
    rc->ping.data = rc;
    rc->ping.log = redis->log;
    rc->ping.cancelable = 1;
    rc->track = 1;

    redis->track = rc;
    redis->track_prefixes = prefixes;
    redis->ntrack_prefixes = nprefixes;
    redis->track_ping = ping;
    redis->track_handler = handler;

    /* a failure is retried after a backoff, as for any connection */
    (void) ngx_http_validibot_redis_connect(rc);

    return NGX_OK;
}


void
ngx_http_validibot_redis_track_drain(void)
{
    ngx_connection_t           *c;
    ngx_http_validibot_conn_t  *rc;

    rc = ngx_http_validibot_redis->track;

    /* not only once subscribed: the SUBSCRIBE reply itself may wait */

    if (rc == NULL || rc->state != NGX_HTTP_VALIDIBOT_READY
        || rc->peer.connection == NULL)
    {
        return;
    }

    c = rc->peer.connection;

    /*
     * With epoll, ngx_unix_recv() does not even ask the kernel when the
     * last epoll_wait() reported nothing: "available" makes it ask.
     */

    c->read->available = 1;
    c->read->ready = 1;

    ngx_http_validibot_redis_read_handler(c->read);
}


/*
 * Round robin over the connections that are not backing off and not
 * full; an idle one is connected on the way.
 */

static ngx_http_validibot_conn_t *
ngx_http_validibot_redis_pick(void)
{
    ngx_uint_t                   i, n;
    ngx_http_validibot_conn_t   *rc;
    ngx_http_validibot_redis_t  *redis;

    redis = ngx_http_validibot_redis;
    if (redis == NULL) {
        return NULL;
    }

    n = redis->conf->connections;

    /*
     * A write is already waiting for the end of this event loop iteration:
     * join it, so that one iteration's lookups cost Redis one read and the
     * worker one send; the next iteration moves on to the next connection.
     */

    rc = redis->last;

    if (rc && rc->state == NGX_HTTP_VALIDIBOT_READY
        && rc->peer.connection && rc->peer.connection->write->posted
        && rc->nwaiters < NGX_HTTP_VALIDIBOT_MAX_WAITERS)
    {
        return rc;
    }

    for (i = 0; i < n; i++) {
        rc = &redis->conns[redis->next++ % n];

        if (rc->state == NGX_HTTP_VALIDIBOT_BACKOFF
            || rc->nwaiters >= NGX_HTTP_VALIDIBOT_MAX_WAITERS)
        {
            continue;
        }

        if (rc->state == NGX_HTTP_VALIDIBOT_IDLE
            && ngx_http_validibot_redis_connect(rc) != NGX_OK)
        {
            continue;
        }

        redis->last = rc;

        return rc;
    }

    return NULL;
}


static ngx_http_validibot_waiter_t *
ngx_http_validibot_redis_waiter(ngx_http_validibot_conn_t *rc,
    ngx_uint_t type)
{
    ngx_queue_t                  *q;
    ngx_http_validibot_redis_t   *redis;
    ngx_http_validibot_waiter_t  *w;

    redis = ngx_http_validibot_redis;

    /*
     * Waiters outlive requests (a placeholder keeps its slot), so they come
     * from a free list of the worker, not from a request pool; the list
     * never grows beyond the most lookups ever in flight at once.
     */

    if (!ngx_queue_empty(&redis->free)) {
        q = ngx_queue_head(&redis->free);
        ngx_queue_remove(q);
        w = ngx_queue_data(q, ngx_http_validibot_waiter_t, queue);

    } else {
        w = ngx_alloc(sizeof(ngx_http_validibot_waiter_t), redis->log);
        if (w == NULL) {
            return NULL;
        }
    }

    w->handler = NULL;
    w->data = NULL;
    w->type = type;
    w->retried = 0;
    w->nparts = 1;
    w->org_len = 0;
    w->user_len = 0;
    w->deadline = ngx_current_msec + redis->conf->timeout;

    ngx_queue_insert_tail(&rc->waiters, &w->queue);
    rc->nwaiters++;

    return w;
}


static ngx_int_t
ngx_http_validibot_redis_reserve(ngx_http_validibot_conn_t *rc, size_t len)
{
    size_t   size;
    u_char  *out;

    if (rc->out_pos == rc->out_len) {
        rc->out_pos = 0;
        rc->out_len = 0;
    }

    if (rc->out_size - rc->out_len >= len) {
        return NGX_OK;
    }

    /* move what is left to the front before growing */

    if (rc->out_pos) {
        ngx_memmove(rc->out, rc->out + rc->out_pos, rc->out_len - rc->out_pos);
        rc->out_len -= rc->out_pos;
        rc->out_pos = 0;

        if (rc->out_size - rc->out_len >= len) {
            return NGX_OK;
        }
    }

    size = rc->out_size ? rc->out_size : 4096;

    while (size - rc->out_len < len) {
        size *= 2;
    }

    out = ngx_alloc(size, ngx_http_validibot_redis->log);
    if (out == NULL) {
        return NGX_ERROR;
    }

    if (rc->out) {
        ngx_memcpy(out, rc->out, rc->out_len);
        ngx_free(rc->out);
    }

    rc->out = out;
    rc->out_size = size;

    return NGX_OK;
}


/* writes "<n>\r\n" */

static u_char *
ngx_http_validibot_redis_uint(u_char *p, size_t n)
{
    u_char   *q;
    u_char    tmp[NGX_SIZE_T_LEN];

    q = tmp + sizeof(tmp);

    do {
        *--q = (u_char) ('0' + n % 10);
        n /= 10;
    } while (n);

    p = ngx_cpymem(p, q, tmp + sizeof(tmp) - q);
    *p++ = '\r'; *p++ = '\n';

    return p;
}


/* at most what the command takes in RESP */

static size_t
ngx_http_validibot_redis_size(ngx_uint_t argc, ngx_str_t *argv)
{
    size_t      len;
    ngx_uint_t  i;

    len = sizeof("*\r\n") - 1 + NGX_INT_T_LEN;

    for (i = 0; i < argc; i++) {
        len += sizeof("$\r\n\r\n") - 1 + NGX_SIZE_T_LEN + argv[i].len;
    }

    return len;
}


static ngx_int_t
ngx_http_validibot_redis_append(ngx_http_validibot_conn_t *rc,
    ngx_uint_t argc, ngx_str_t *argv)
{
    u_char      *p;
    ngx_uint_t   i;

    if (ngx_http_validibot_redis_reserve(rc,
                                         ngx_http_validibot_redis_size(argc,
                                                                       argv))
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    p = rc->out + rc->out_len;

    /* RESP by hand: ngx_sprintf() was a tenth of a lookup's instructions */

    *p++ = '*';
    p = ngx_http_validibot_redis_uint(p, argc);

    for (i = 0; i < argc; i++) {
        *p++ = '$';
        p = ngx_http_validibot_redis_uint(p, argv[i].len);
        p = ngx_cpymem(p, argv[i].data, argv[i].len);
        *p++ = '\r'; *p++ = '\n';
    }

    rc->out_len = p - rc->out;

    return NGX_OK;
}


/* writes cmd[0], the key name made of n pieces as a bulk string, cmd[1] */

static u_char *
ngx_http_validibot_redis_keyed(u_char *p, ngx_str_t *cmd, ngx_str_t *piece,
    ngx_uint_t n)
{
    size_t      len;
    ngx_uint_t  i;

    len = 0;

    for (i = 0; i < n; i++) {
        len += piece[i].len;
    }

    p = ngx_cpymem(p, cmd[0].data, cmd[0].len);
    *p++ = '$';
    p = ngx_http_validibot_redis_uint(p, len);

    for (i = 0; i < n; i++) {
        p = ngx_cpymem(p, piece[i].data, piece[i].len);
    }

    *p++ = '\r'; *p++ = '\n';

    return ngx_cpymem(p, cmd[1].data, cmd[1].len);
}


static ngx_int_t
ngx_http_validibot_redis_append_lookup(ngx_http_validibot_conn_t *rc,
    ngx_http_validibot_waiter_t *w)
{
    u_char                      *p;
    ngx_str_t                    argv[7];
    ngx_http_validibot_redis_t  *redis;
    u_char                       key[NGX_HTTP_VALIDIBOT_PREFIX_MAX_LEN
                                     + sizeof("key:") - 1 + 32];

    redis = ngx_http_validibot_redis;

    if (w->user_len) {
        return ngx_http_validibot_redis_append_hinted(rc, w);
    }

    w->nparts = 1;

    p = ngx_cpymem(key, redis->conf->prefix.data, redis->conf->prefix.len);
    p = ngx_cpymem(p, "key:", sizeof("key:") - 1);
    p = ngx_cpymem(p, w->public_id, sizeof(w->public_id));

    if (w->retried) {
        ngx_str_set(&argv[0], "EVAL");
        argv[1] = ngx_http_validibot_script;

    } else {
        ngx_str_set(&argv[0], "EVALSHA");
        argv[1].len = NGX_HTTP_VALIDIBOT_SHA_LEN;
        argv[1].data = redis->sha;
    }

    ngx_str_set(&argv[2], "1");
    argv[3].len = p - key;
    argv[3].data = key;
    argv[4] = redis->conf->prefix;
    argv[5].len = w->org_len;
    argv[5].data = w->org;
    argv[6].len = sizeof(w->public_id);
    argv[6].data = w->public_id;

    return ngx_http_validibot_redis_append(rc, 7, argv);
}


/*
 * The owner is hinted: the script's reads as plain commands, pipelined,
 * half of the script's CPU in Redis.  All or nothing is queued, so that
 * replies keep lining up with waiters.
 */

static ngx_int_t
ngx_http_validibot_redis_append_hinted(ngx_http_validibot_conn_t *rc,
    ngx_http_validibot_waiter_t *w)
{
    u_char                       *p;
    size_t                        len;
    ngx_uint_t                    n, share;
    ngx_str_t                    *prefix, *cmd;
    ngx_queue_t                  *q;
    ngx_http_validibot_waiter_t  *ow;
    ngx_str_t                     key[3], user[3], org[3], member[5],
                                  usage[3];

    prefix = &ngx_http_validibot_redis->conf->prefix;

    /* the pieces of each key name */

    key[0] = *prefix;
    ngx_str_set(&key[1], "key:");
    key[2].len = sizeof(w->public_id);
    key[2].data = w->public_id;

    user[0] = *prefix;
    ngx_str_set(&user[1], "user:");
    user[2].len = w->user_len;
    user[2].data = w->user;

    org[0] = *prefix;
    ngx_str_set(&org[1], "org:");
    org[2].len = w->org_len;
    org[2].data = w->org;

    usage[0] = *prefix;
    ngx_str_set(&usage[1], "usage:");
    usage[2] = key[2];

    member[0] = *prefix;
    ngx_str_set(&member[1], "member:");
    member[2] = org[2];
    ngx_str_set(&member[3], ":");
    member[4] = user[2];

    cmd = ngx_http_validibot_hinted_cmds;

    len = 5 * (NGX_SIZE_T_LEN + sizeof("$\r\n\r\n") - 1)
          + cmd[0].len + cmd[1].len + cmd[2].len + cmd[3].len
          + cmd[4].len + cmd[5].len + cmd[6].len + cmd[7].len
          + cmd[8].len + cmd[9].len
          + 5 * prefix->len + sizeof("key:user:org:member::usage:") - 1
          + 2 * sizeof(w->public_id) + 2 * w->user_len + 2 * w->org_len;

    /* with room for all of them, nothing below can fail but the waiter */

    if (ngx_http_validibot_redis_reserve(rc, len) != NGX_OK) {
        return NGX_ERROR;
    }

    /*
     * Replies: key, user, usage and, with an org, membership; the org's
     * status has a FIFO entry of its own.
     */

    n = 3;
    share = 0;

    if (w->org_len) {
        n = 4;
        share = (rc->org_len == w->org_len
                 && ngx_memcmp(rc->org, w->org, w->org_len) == 0);
    }

    p = rc->out + rc->out_len;

    if (w->org_len && !share) {

        /* the org's read goes ahead of this lookup in the FIFO */

        ow = ngx_http_validibot_redis_waiter(rc, NGX_HTTP_VALIDIBOT_W_ORG);
        if (ow == NULL) {
            return NGX_ERROR;
        }

        /* a variable: the macro evaluates its first argument twice */
        q = ngx_queue_prev(&w->queue);
        ngx_queue_remove(&ow->queue);
        ngx_queue_insert_after(q, &ow->queue);

        p = ngx_http_validibot_redis_keyed(p, &cmd[4], org, 3);

        ngx_memcpy(rc->org, w->org, w->org_len);
        rc->org_len = w->org_len;
    }

    p = ngx_http_validibot_redis_keyed(p, &cmd[0], key, 3);
    p = ngx_http_validibot_redis_keyed(p, &cmd[2], user, 3);
    p = ngx_http_validibot_redis_keyed(p, &cmd[8], usage, 3);

    if (w->org_len) {
        p = ngx_http_validibot_redis_keyed(p, &cmd[6], member, 5);
    }

    rc->out_len = p - rc->out;

    w->nparts = n;

    ngx_http_validibot_metrics_count(NGX_HTTP_VALIDIBOT_M_HINTED);

    return NGX_OK;
}


static ngx_int_t
ngx_http_validibot_redis_connect(ngx_http_validibot_conn_t *rc)
{
    u_char                            db[NGX_INT_T_LEN];
    ngx_str_t                         argv[3];
    ngx_uint_t                        argc;
    ngx_resolver_ctx_t               *ctx;
    ngx_http_validibot_redis_t       *redis;
    ngx_http_validibot_waiter_t      *w;
    ngx_http_validibot_redis_conf_t  *conf;

    redis = ngx_http_validibot_redis;
    conf = redis->conf;

    rc->reader = rc->track ? ngx_http_validibot_reader_create_track()
                           : ngx_http_validibot_reader_create();
    if (rc->reader == NULL) {
        ngx_http_validibot_redis_fail(rc, "out of memory");
        return NGX_ERROR;
    }

    rc->state = NGX_HTTP_VALIDIBOT_CONNECTING;
    rc->out_pos = 0;
    rc->out_len = 0;

    /*
     * The handshake is pipelined ahead of the first lookups: AUTH, SELECT,
     * a name for CLIENT LIST, and the script, so EVALSHA never meets an
     * empty script cache after a restart or failover.
     */

    if (conf->password.data) {
        ngx_str_set(&argv[0], "AUTH");
        argc = 1;

        if (conf->user.len) {
            argv[argc++] = conf->user;
        }

        argv[argc++] = conf->password;

        w = ngx_http_validibot_redis_waiter(rc,
                                            NGX_HTTP_VALIDIBOT_W_HANDSHAKE);
        if (w == NULL
            || ngx_http_validibot_redis_append(rc, argc, argv) != NGX_OK)
        {
            goto failed;
        }
    }

    if (conf->db) {
        ngx_str_set(&argv[0], "SELECT");
        /* on the stack: a reconnect must not grow the cycle's pool */
        argv[1].data = db;
        argv[1].len = ngx_sprintf(db, "%ui", conf->db) - db;

        w = ngx_http_validibot_redis_waiter(rc,
                                            NGX_HTTP_VALIDIBOT_W_HANDSHAKE);
        if (w == NULL
            || ngx_http_validibot_redis_append(rc, 2, argv) != NGX_OK)
        {
            goto failed;
        }
    }

    if (conf->sentinels) {
        /* a sentinel's answer may be stale: only a master will do */
        ngx_str_set(&argv[0], "ROLE");

        w = ngx_http_validibot_redis_waiter(rc, NGX_HTTP_VALIDIBOT_W_ROLE);
        if (w == NULL
            || ngx_http_validibot_redis_append(rc, 1, argv) != NGX_OK)
        {
            goto failed;
        }
    }

    ngx_str_set(&argv[0], "CLIENT");
    ngx_str_set(&argv[1], "SETNAME");
    ngx_str_set(&argv[2], "validibot-nginx");

    if (rc->track) {
        ngx_str_set(&argv[2], "validibot-nginx-tracking");
    }

    w = ngx_http_validibot_redis_waiter(rc, NGX_HTTP_VALIDIBOT_W_FIRE);
    if (w == NULL || ngx_http_validibot_redis_append(rc, 3, argv) != NGX_OK) {
        goto failed;
    }

    if (rc->track) {
        /* CLIENT TRACKING needs the id: it goes when the id comes */

        ngx_str_set(&argv[1], "ID");

        w = ngx_http_validibot_redis_waiter(rc,
                                            NGX_HTTP_VALIDIBOT_W_TRACK_ID);
        if (w == NULL
            || ngx_http_validibot_redis_append(rc, 2, argv) != NGX_OK)
        {
            goto failed;
        }

    } else {
        ngx_str_set(&argv[0], "SCRIPT");
        ngx_str_set(&argv[1], "LOAD");
        argv[2] = ngx_http_validibot_script;

        w = ngx_http_validibot_redis_waiter(rc, NGX_HTTP_VALIDIBOT_W_SCRIPT);
        if (w == NULL
            || ngx_http_validibot_redis_append(rc, 3, argv) != NGX_OK)
        {
            goto failed;
        }
    }

    /*
     * The tracking connection goes the same way as the others: TLS,
     * the resolver and the sentinels apply to it too.
     */

    ngx_http_validibot_redis_arm(rc);

    if (conf->sentinels) {
        /* asked on every connect: a failover is what closes connections */
        rc->state = NGX_HTTP_VALIDIBOT_RESOLVING;
        ngx_http_validibot_sentinel_ask();
        return NGX_OK;
    }

    if (conf->resolver == NULL) {
        return ngx_http_validibot_redis_open(rc, conf->addr->sockaddr,
                                             conf->addr->socklen,
                                             &conf->addr->name);
    }

    /*
     * A host name with "resolver" configured: resolved again on every
     * connect, without blocking, inside the head waiter's deadline (the
     * timer is armed); nginx's resolver caches the answer for its TTL.
     */

    rc->state = NGX_HTTP_VALIDIBOT_RESOLVING;

    ctx = ngx_resolve_start(conf->resolver, NULL);
    if (ctx == NULL || ctx == NGX_NO_RESOLVER) {
        ngx_http_validibot_redis_fail(rc, "cannot start resolving");
        return NGX_ERROR;
    }

    ctx->name = conf->url->host;
    ctx->handler = ngx_http_validibot_redis_resolved;
    ctx->data = rc;
    ctx->timeout = conf->resolver_timeout;

    rc->resolving = ctx;

    if (ngx_resolve_name(ctx) != NGX_OK) {
        rc->resolving = NULL;
        ngx_http_validibot_redis_fail(rc, "cannot start resolving");
        return NGX_ERROR;
    }

    /* a cached answer was handled at once, and may have failed */

    return (rc->state == NGX_HTTP_VALIDIBOT_BACKOFF) ? NGX_ERROR : NGX_OK;

failed:

    ngx_http_validibot_redis_fail(rc, "out of memory");
    return NGX_ERROR;
}


/* the sentinels answered: every connection waiting for it connects */

static void
ngx_http_validibot_redis_master(ngx_addr_t *master)
{
    ngx_uint_t                   i;
    ngx_http_validibot_conn_t   *rc;
    ngx_http_validibot_redis_t  *redis;

    redis = ngx_http_validibot_redis;

    if (redis == NULL) {
        return;
    }

    if (master) {
        ngx_log_error(NGX_LOG_INFO, redis->log, 0,
                      "validibot: redis %V: the sentinels name %V",
                      &redis->conf->addr->name, &master->name);
    }

    /* the lookup connections, then the tracking connection, if any */

    for (i = 0; i <= redis->conf->connections; i++) {
        rc = (i < redis->conf->connections) ? &redis->conns[i]
                                             : redis->track;

        if (rc == NULL || rc->state != NGX_HTTP_VALIDIBOT_RESOLVING) {
            continue;
        }

        if (master == NULL) {
            ngx_http_validibot_redis_fail(rc, "no master");
            continue;
        }

        ngx_memcpy(&rc->sockaddr, master->sockaddr, master->socklen);
        rc->addr_text.data = rc->addr_buf;
        rc->addr_text.len = ngx_cpymem(rc->addr_buf, master->name.data,
                                       master->name.len)
                            - rc->addr_buf;

        (void) ngx_http_validibot_redis_open(rc, &rc->sockaddr.sockaddr,
                                             master->socklen,
                                             &rc->addr_text);
    }
}


/*
 * A sentinel announced a new master: every connection to another address
 * (lookups in flight there get 503) and every one backing off connects
 * again now; the sentinels' handler gives them the new address next.
 */

static void
ngx_http_validibot_redis_switched(ngx_addr_t *master)
{
    ngx_uint_t                   i;
    ngx_http_validibot_conn_t   *rc;
    ngx_http_validibot_redis_t  *redis;

    redis = ngx_http_validibot_redis;

    if (redis == NULL) {
        return;
    }

    /* the lookup connections, then the tracking connection, if any */

    for (i = 0; i <= redis->conf->connections; i++) {
        rc = (i < redis->conf->connections) ? &redis->conns[i]
                                             : redis->track;

        if (rc == NULL) {
            continue;
        }

        switch (rc->state) {

        case NGX_HTTP_VALIDIBOT_IDLE:
        case NGX_HTTP_VALIDIBOT_RESOLVING:
            /* asks, or is asking: the answer will be the new master */
            continue;

        case NGX_HTTP_VALIDIBOT_BACKOFF:
            break;

        default:
            if (ngx_cmp_sockaddr(rc->peer.sockaddr, rc->peer.socklen,
                                 master->sockaddr, master->socklen, 1)
                == NGX_OK)
            {
                /* there already */
                continue;
            }

            if (!ngx_queue_empty(&rc->waiters)) {
                ngx_http_validibot_redis_fail_level(rc, NGX_LOG_WARN,
                                                    "the master moved");
                break;
            }

            ngx_log_error(NGX_LOG_INFO, redis->log, 0,
                          "validibot: redis %V: the master moved, closing "
                          "the connection to %V", &redis->conf->addr->name,
                          rc->peer.name);

            ngx_http_validibot_redis_close(rc);
        }

        /* the wait was for the failover, and it is over */

        if (rc->timer.timer_set) {
            ngx_del_timer(&rc->timer);
        }

        rc->state = NGX_HTTP_VALIDIBOT_IDLE;

        (void) ngx_http_validibot_redis_connect(rc);
    }
}


static void
ngx_http_validibot_redis_resolved(ngx_resolver_ctx_t *ctx)
{
    ngx_http_validibot_conn_t        *rc;
    ngx_http_validibot_redis_conf_t  *conf;

    rc = ctx->data;
    conf = ngx_http_validibot_redis->conf;

    rc->resolving = NULL;

    if (ctx->state) {
        ngx_log_error(NGX_LOG_ERR, ngx_http_validibot_redis->log, 0,
                      "validibot: redis host \"%V\" could not be resolved "
                      "(%i: %s)", &ctx->name, ctx->state,
                      ngx_resolver_strerror(ctx->state));
        ngx_resolve_name_done(ctx);
        ngx_http_validibot_redis_fail(rc, "host not resolved");
        return;
    }

    /* the first address, as at configuration time */

    ngx_memcpy(&rc->sockaddr, ctx->addrs[0].sockaddr, ctx->addrs[0].socklen);
    ngx_inet_set_port(&rc->sockaddr.sockaddr, conf->url->port);

    rc->addr_text.data = rc->addr_buf;
    rc->addr_text.len = ngx_sock_ntop(&rc->sockaddr.sockaddr,
                                      ctx->addrs[0].socklen, rc->addr_buf,
                                      NGX_SOCKADDR_STRLEN, 1);

    ngx_log_error(NGX_LOG_INFO, ngx_http_validibot_redis->log, 0,
                  "validibot: redis host \"%V\" resolved to %V",
                  &ctx->name, &rc->addr_text);

    (void) ngx_http_validibot_redis_open(rc, &rc->sockaddr.sockaddr,
                                         ctx->addrs[0].socklen,
                                         &rc->addr_text);

    ngx_resolve_name_done(ctx);
}


/* opens the socket; the handshake commands are queued already */

static ngx_int_t
ngx_http_validibot_redis_open(ngx_http_validibot_conn_t *rc,
    struct sockaddr *sockaddr, socklen_t socklen, ngx_str_t *name)
{
    int                          tcp_nodelay;
    ngx_int_t                    rv;
    ngx_connection_t            *c;
    ngx_http_validibot_redis_t  *redis;

    redis = ngx_http_validibot_redis;

    ngx_memzero(&rc->peer, sizeof(ngx_peer_connection_t));
    rc->peer.sockaddr = sockaddr;
    rc->peer.socklen = socklen;
    rc->peer.name = name;
    rc->peer.get = ngx_event_get_peer;
    rc->peer.log = redis->log;
    rc->peer.log_error = NGX_ERROR_ERR;

    rc->state = NGX_HTTP_VALIDIBOT_CONNECTING;

    rv = ngx_event_connect_peer(&rc->peer);

    if (rv == NGX_ERROR || rv == NGX_BUSY || rv == NGX_DECLINED) {
        ngx_http_validibot_redis_fail(rc, "connect failed");
        return NGX_ERROR;
    }

    ngx_http_validibot_metrics_count(NGX_HTTP_VALIDIBOT_M_RECONNECTS);

    c = rc->peer.connection;
    c->data = rc;
    c->read->handler = ngx_http_validibot_redis_read_handler;
    c->write->handler = ngx_http_validibot_redis_write_handler;

    /*
     * Writes are already batched per event loop iteration: Nagle would
     * only hold a batch back while the previous one is unacknowledged.
     */

    if (rc->peer.sockaddr->sa_family != AF_UNIX) {
        tcp_nodelay = 1;

        if (setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY,
                       (const void *) &tcp_nodelay, sizeof(int))
            == -1)
        {
            ngx_log_error(NGX_LOG_WARN, redis->log, ngx_socket_errno,
                          "validibot: setsockopt(TCP_NODELAY) failed");
        }
    }

    c->log = redis->log;
    c->read->log = c->log;
    c->write->log = c->log;

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, redis->log, 0,
                   "validibot: redis connecting to %V", rc->peer.name);

    if (rv == NGX_OK) {
        /* connected at once (a unix socket): TLS or the first write */
        return ngx_http_validibot_redis_connected(rc);
    }

    return NGX_OK;
}


/*
 * The socket is connected: plain Redis is ready for the queued commands;
 * rediss:// first shakes hands, within the deadline of the head waiter
 * (the timer is already armed for it).  NGX_ERROR: the connection failed.
 */

static ngx_int_t
ngx_http_validibot_redis_connected(ngx_http_validibot_conn_t *rc)
{
    ngx_int_t          rv;
    ngx_connection_t  *c;

    c = rc->peer.connection;

    if (!ngx_http_validibot_redis->conf->tls) {
        rc->state = NGX_HTTP_VALIDIBOT_READY;
        ngx_http_validibot_redis_flush(rc);
        return NGX_OK;
    }

    rc->state = NGX_HTTP_VALIDIBOT_TLS;

    /* the SSL connection's memory: a pool of the connection, as upstream */

    c->pool = ngx_create_pool(512, c->log);
    if (c->pool == NULL) {
        ngx_http_validibot_redis_fail(rc, "out of memory");
        return NGX_ERROR;
    }

    rv = ngx_http_validibot_ssl_handshake(c, ngx_http_validibot_redis->conf,
                                          ngx_http_validibot_redis_ssl_handler);

    if (rv == NGX_AGAIN) {
        return NGX_OK;
    }

    if (rv == NGX_ERROR && (c->ssl == NULL || c->ssl->connection == NULL)) {
        ngx_http_validibot_redis_fail(rc, "TLS set-up failed");
        return NGX_ERROR;
    }

    ngx_http_validibot_redis_ssl_handler(c);

    return (rc->state == NGX_HTTP_VALIDIBOT_READY) ? NGX_OK : NGX_ERROR;
}


static void
ngx_http_validibot_redis_ssl_handler(ngx_connection_t *c)
{
    ngx_http_validibot_conn_t  *rc;

    rc = c->data;

    if (ngx_http_validibot_ssl_check(c, ngx_http_validibot_redis->conf)
        != NGX_OK)
    {
        ngx_http_validibot_redis_fail(rc, "TLS handshake failed");
        return;
    }

    /* the handshake borrowed the event handlers */

    c->read->handler = ngx_http_validibot_redis_read_handler;
    c->write->handler = ngx_http_validibot_redis_write_handler;

    rc->state = NGX_HTTP_VALIDIBOT_READY;
    ngx_http_validibot_redis_flush(rc);
}


static void
ngx_http_validibot_redis_close(ngx_http_validibot_conn_t *rc)
{
    ngx_pool_t  *pool;

    if (rc->ping.timer_set) {
        ngx_del_timer(&rc->ping);
    }

    if (rc->subscribed) {
        /* writes may go unreported from now on */
        rc->subscribed = 0;
        ngx_http_validibot_redis->track_handler(
                                       NGX_HTTP_VALIDIBOT_TRACK_DOWN, NULL);
    }

    if (rc->resolving) {
        ngx_resolve_name_done(rc->resolving);
        rc->resolving = NULL;
    }

    if (rc->peer.connection) {
        pool = rc->peer.connection->pool;

        ngx_http_validibot_ssl_close(rc->peer.connection);
        ngx_close_connection(rc->peer.connection);
        rc->peer.connection = NULL;

        if (pool) {
            ngx_destroy_pool(pool);
        }
    }

    if (rc->reader) {
        ngx_http_validibot_reader_free(rc->reader);
        rc->reader = NULL;
    }

    rc->nparts = 0;
    rc->org_len = 0;
    rc->sync_queued = 0;
    rc->out_pos = 0;
    rc->out_len = 0;
    rc->state = NGX_HTTP_VALIDIBOT_IDLE;
}


/*
 * Any error is sticky for the connection: close it, fail every waiter
 * (their requests get 503), and wait a little before connecting again so
 * that a Redis that is down costs a worker nothing.
 */

static void
ngx_http_validibot_redis_fail(ngx_http_validibot_conn_t *rc,
    const char *reason)
{
    ngx_http_validibot_redis_fail_level(rc, NGX_LOG_ERR, reason);
}


static void
ngx_http_validibot_redis_fail_level(ngx_http_validibot_conn_t *rc,
    ngx_uint_t level, const char *reason)
{
    ngx_uint_t                            n;
    ngx_queue_t                           failed, *q;
    ngx_http_validibot_redis_t           *redis;
    ngx_http_validibot_waiter_t          *w;
    ngx_http_validibot_redis_handler_pt   handler;

    redis = ngx_http_validibot_redis;

    /* count the requests that lose their answer, not our own commands */

    n = 0;

    for (q = ngx_queue_head(&rc->waiters);
         q != ngx_queue_sentinel(&rc->waiters);
         q = ngx_queue_next(q))
    {
        w = ngx_queue_data(q, ngx_http_validibot_waiter_t, queue);

        if (w->type == NGX_HTTP_VALIDIBOT_W_LOOKUP) {
            ngx_http_validibot_metrics_depth(-1);

            if (w->handler) {
                n++;
            }
        }
    }

    ngx_http_validibot_metrics_count(NGX_HTTP_VALIDIBOT_M_REDIS_ERRORS);

    if (rc->track) {
        ngx_log_error(level, redis->log, 0,
                      "validibot: redis %V tracking connection: %s, "
                      "the cache is off until it is back",
                      &redis->conf->addr->name, reason);

    } else {
        ngx_log_error(level, redis->log, 0,
                      "validibot: redis %V: %s, %ui lookup(s) failed",
                      &redis->conf->addr->name, reason, n);
    }

    ngx_http_validibot_redis_close(rc);

    rc->backoff = rc->backoff ? ngx_min(rc->backoff * 2,
                                        NGX_HTTP_VALIDIBOT_BACKOFF_MAX)
                              : NGX_HTTP_VALIDIBOT_BACKOFF_MIN;
    rc->state = NGX_HTTP_VALIDIBOT_BACKOFF;

    if (rc->timer.timer_set) {
        ngx_del_timer(&rc->timer);
    }

    rc->timer.cancelable = 1;
    ngx_add_timer(&rc->timer, rc->backoff);

    /* detach the queue first: a handler may queue a new lookup */

    ngx_queue_init(&failed);

    if (!ngx_queue_empty(&rc->waiters)) {
        failed = rc->waiters;
        failed.next->prev = &failed;
        failed.prev->next = &failed;
    }

    ngx_queue_init(&rc->waiters);
    rc->nwaiters = 0;

    while (!ngx_queue_empty(&failed)) {
        q = ngx_queue_head(&failed);
        ngx_queue_remove(q);
        ngx_queue_insert_tail(&redis->free, q);

        w = ngx_queue_data(q, ngx_http_validibot_waiter_t, queue);
        handler = w->handler;
        w->handler = NULL;

        if (handler) {
            handler(w->data, NULL);
        }
    }
}


/* keeps the timer at the deadline of the oldest command in flight */

static void
ngx_http_validibot_redis_arm(ngx_http_validibot_conn_t *rc)
{
    ngx_msec_int_t                left;
    ngx_http_validibot_waiter_t  *w;

    if (ngx_queue_empty(&rc->waiters)) {
        if (rc->timer.timer_set) {
            ngx_del_timer(&rc->timer);
        }
        return;
    }

    w = ngx_queue_data(ngx_queue_head(&rc->waiters),
                       ngx_http_validibot_waiter_t, queue);

    left = (ngx_msec_int_t) (w->deadline - ngx_current_msec);
    if (left <= 0) {
        left = 1;
    }

    rc->timer.cancelable = 0;
    ngx_add_timer(&rc->timer, (ngx_msec_t) left);
}


static void
ngx_http_validibot_redis_timer_handler(ngx_event_t *ev)
{
    ngx_http_validibot_conn_t    *rc;
    ngx_http_validibot_waiter_t  *w;

    rc = ev->data;

    if (rc->state == NGX_HTTP_VALIDIBOT_BACKOFF) {
        rc->state = NGX_HTTP_VALIDIBOT_IDLE;

        /* nothing else would connect it again */
        if (rc->track && !ngx_exiting && !ngx_terminate) {
            (void) ngx_http_validibot_redis_connect(rc);
        }

        return;
    }

    if (ngx_queue_empty(&rc->waiters)) {
        return;
    }

    w = ngx_queue_data(ngx_queue_head(&rc->waiters),
                       ngx_http_validibot_waiter_t, queue);

    /* the timer may fire early: ngx_add_timer() is lazy by design */

    if ((ngx_msec_int_t) (w->deadline - ngx_current_msec) > 0) {
        ngx_http_validibot_redis_arm(rc);
        return;
    }

    ngx_http_validibot_metrics_count(NGX_HTTP_VALIDIBOT_M_REDIS_TIMEOUTS);
    ngx_http_validibot_redis_fail(rc, "timed out");
}


static void
ngx_http_validibot_redis_flush(ngx_http_validibot_conn_t *rc)
{
    ngx_connection_t  *c;

    c = rc->peer.connection;

    if (c == NULL || rc->state != NGX_HTTP_VALIDIBOT_READY) {
        return;
    }

    /*
     * Writing is deferred to the end of this event loop iteration: the
     * lookups of every request that arrived in it go out in one write.
     */

    if (!c->write->posted) {
        ngx_post_event(c->write, &ngx_posted_events);
    }
}


/* the first event on a connection in progress says whether it connected */

ngx_int_t
ngx_http_validibot_redis_test_connect(ngx_connection_t *c)
{
    int        err;
    socklen_t  len;

    err = 0;
    len = sizeof(int);

    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, (void *) &err, &len) == -1) {
        err = ngx_socket_errno;
    }

    if (err) {
        (void) ngx_connection_error(c, err, "connect() failed");
        return NGX_ERROR;
    }

    return NGX_OK;
}


static void
ngx_http_validibot_redis_write_handler(ngx_event_t *wev)
{
    ssize_t                     n;
    ngx_connection_t           *c;
    ngx_http_validibot_conn_t  *rc;

    c = wev->data;
    rc = c->data;

    if (rc->state == NGX_HTTP_VALIDIBOT_CONNECTING) {
        if (ngx_http_validibot_redis_test_connect(c) != NGX_OK) {
            ngx_http_validibot_redis_fail(rc, "connect failed");
            return;
        }

        if (ngx_http_validibot_redis_connected(rc) != NGX_OK
            || rc->state != NGX_HTTP_VALIDIBOT_READY)
        {
            return;
        }
    }

    /* lookups queued from now on read the org's status anew */
    rc->org_len = 0;
    rc->sync_queued = 0;

    while (rc->out_pos < rc->out_len) {

        n = c->send(c, rc->out + rc->out_pos, rc->out_len - rc->out_pos);

        if (n == NGX_AGAIN) {
            if (ngx_handle_write_event(wev, 0) != NGX_OK) {
                ngx_http_validibot_redis_fail(rc, "write event failed");
            }
            return;
        }

        if (n == NGX_ERROR || n == 0) {
            ngx_http_validibot_redis_fail(rc, "send failed");
            return;
        }

        rc->out_pos += n;
    }

    rc->out_pos = 0;
    rc->out_len = 0;
}


static void
ngx_http_validibot_redis_read_handler(ngx_event_t *rev)
{
    void                       *reply;
    ssize_t                     n;
    ngx_connection_t           *c;
    ngx_http_validibot_conn_t  *rc;
    u_char                      buf[NGX_HTTP_VALIDIBOT_READ_SIZE];

    c = rev->data;
    rc = c->data;

    if (c->close) {
        /*
         * worker_shutdown_timeout ran out (a graceful shutdown otherwise
         * leaves these connections to exit_process): go when idle
         */
        if (ngx_queue_empty(&rc->waiters)) {
            ngx_http_validibot_redis_close(rc);
        }
        return;
    }

    if (rc->state == NGX_HTTP_VALIDIBOT_CONNECTING) {
        if (ngx_http_validibot_redis_test_connect(c) != NGX_OK) {
            ngx_http_validibot_redis_fail(rc, "connect failed");
            return;
        }

        if (ngx_http_validibot_redis_connected(rc) != NGX_OK
            || rc->state != NGX_HTTP_VALIDIBOT_READY)
        {
            return;
        }
    }

    for ( ;; ) {
        n = c->recv(c, buf, sizeof(buf));

        if (n == NGX_AGAIN) {
            break;
        }

        if (n == 0 || n == NGX_ERROR) {
            if (ngx_queue_empty(&rc->waiters) && !rc->track) {
                /* an idle connection closed by Redis: reconnect lazily */
                ngx_log_error(NGX_LOG_INFO, c->log, 0,
                              "validibot: redis %V closed an idle connection",
                              rc->peer.name);
                ngx_http_validibot_redis_close(rc);
                return;
            }

            ngx_http_validibot_redis_fail(rc, "connection closed");
            return;
        }

        if (redisReaderFeed(rc->reader, (char *) buf, n) != REDIS_OK) {
            ngx_http_validibot_redis_fail(rc, "out of memory");
            return;
        }

        for ( ;; ) {
            reply = NULL;

            if (redisReaderGetReply(rc->reader, &reply) != REDIS_OK) {
                ngx_http_validibot_redis_fail(rc, "protocol error");
                return;
            }

            if (reply == NULL) {
                break;
            }

            n = ngx_http_validibot_redis_reply(rc, reply);

            if (n == NGX_ERROR) {
                return;
            }

            if (rc->peer.connection != c) {
                /* closed while delivering */
                return;
            }

            /* NGX_AGAIN: the head waiter keeps this reply for more */

            if (n == NGX_OK) {
                ngx_http_validibot_reader_reset(rc->reader);
            }
        }
    }

    if (ngx_handle_read_event(rev, 0) != NGX_OK) {
        ngx_http_validibot_redis_fail(rc, "read event failed");
        return;
    }

    ngx_http_validibot_redis_arm(rc);
}


/* hands one reply to the oldest waiter; NGX_ERROR: the connection failed */

static ngx_int_t
ngx_http_validibot_redis_reply(ngx_http_validibot_conn_t *rc,
    redisReply *reply)
{
    ngx_int_t                             rv;
    ngx_uint_t                            level;
    ngx_queue_t                          *q;
    ngx_http_validibot_redis_t           *redis;
    ngx_http_validibot_waiter_t          *w;
    ngx_http_validibot_redis_handler_pt   handler;

    redis = ngx_http_validibot_redis;

    if (rc->subscribed
        && reply->type == REDIS_REPLY_ARRAY && reply->elements == 3
        && reply->element[0]->type == REDIS_REPLY_STRING
        && reply->element[0]->len == sizeof("message") - 1
        && ngx_strncmp(reply->element[0]->str, "message",
                       sizeof("message") - 1) == 0)
    {
        /* a report of writes, between or ahead of PING replies */
        redis->track_handler(NGX_HTTP_VALIDIBOT_TRACK_MESSAGE,
                             reply->element[2]);
        return NGX_OK;
    }

    if (ngx_queue_empty(&rc->waiters)) {
        ngx_http_validibot_redis_fail(rc, "reply nobody asked for");
        return NGX_ERROR;
    }

    q = ngx_queue_head(&rc->waiters);
    w = ngx_queue_data(q, ngx_http_validibot_waiter_t, queue);

    switch (w->type) {

    case NGX_HTTP_VALIDIBOT_W_HANDSHAKE:
        if (reply->type == REDIS_REPLY_ERROR) {
            /*
             * Never the password: Redis does not echo it.  A refusal
             * repeats at every reconnect until an operator acts: the
             * first of a cycle is an error, its repetitions are info.
             */
            level = redis->refused ? NGX_LOG_INFO : NGX_LOG_ERR;
            redis->refused = 1;

            ngx_log_error(level, redis->log, 0,
                          "validibot: redis %V refused the handshake: %*s",
                          &redis->conf->addr->name,
                          ngx_min(reply->len, 256), reply->str);
            ngx_http_validibot_redis_fail_level(rc, level,
                                                "handshake failed");
            return NGX_ERROR;
        }
        break;

    case NGX_HTTP_VALIDIBOT_W_SCRIPT:
        if (reply->type != REDIS_REPLY_STRING
            || reply->len != NGX_HTTP_VALIDIBOT_SHA_LEN
            || ngx_strncasecmp((u_char *) reply->str, redis->sha,
                               NGX_HTTP_VALIDIBOT_SHA_LEN) != 0)
        {
            ngx_http_validibot_redis_fail(rc, "SCRIPT LOAD failed");
            return NGX_ERROR;
        }

        /*
         * The server answers: the next failure starts a fresh backoff,
         * the next refusal is news again.
         */
        rc->backoff = 0;

        if (redis->refused) {
            redis->refused = 0;
            ngx_log_error(NGX_LOG_NOTICE, redis->log, 0,
                          "validibot: redis %V accepted the handshake again",
                          &redis->conf->addr->name);
        }
        break;

    case NGX_HTTP_VALIDIBOT_W_LOOKUP:
        rv = ngx_http_validibot_redis_lookup_reply(rc, w, &reply);

        if (rv == NGX_DONE) {
            /* asked again at the tail */
            return NGX_OK;
        }

        if (rv != NGX_OK) {
            return rv;
        }

        break;

    case NGX_HTTP_VALIDIBOT_W_ORG:
        ngx_http_validibot_redis_org_status(rc, reply);
        break;

    case NGX_HTTP_VALIDIBOT_W_TRACK_ID:
    case NGX_HTTP_VALIDIBOT_W_SUBSCRIBE:
    case NGX_HTTP_VALIDIBOT_W_PING:
        if (ngx_http_validibot_redis_track_reply(rc, w, reply) != NGX_OK) {
            return NGX_ERROR;
        }

        break;

    case NGX_HTTP_VALIDIBOT_W_ROLE:
        if (reply->type != REDIS_REPLY_ARRAY || reply->elements == 0
            || reply->element[0]->type != REDIS_REPLY_STRING
            || reply->element[0]->len != sizeof("master") - 1
            || ngx_strncmp(reply->element[0]->str, "master",
                           sizeof("master") - 1) != 0)
        {
            ngx_log_error(NGX_LOG_ERR, redis->log, 0,
                          "validibot: redis %V: %V is not the master",
                          &redis->conf->addr->name, rc->peer.name);
            ngx_http_validibot_redis_fail(rc, "not the master");
            return NGX_ERROR;
        }

        break;

    case NGX_HTTP_VALIDIBOT_W_SYNC:
        ngx_http_validibot_redis_heartbeat(rc, reply);
        break;

    default: /* NGX_HTTP_VALIDIBOT_W_FIRE */
        if (reply->type == REDIS_REPLY_ERROR) {
            ngx_log_error(NGX_LOG_WARN, redis->log, 0,
                          "validibot: redis %V: %*s",
                          &redis->conf->addr->name,
                          ngx_min(reply->len, 256), reply->str);

            /* a master turned replica under us: ask the sentinels again */

            if (redis->conf->sentinels
                && reply->len >= sizeof("READONLY") - 1
                && ngx_strncmp(reply->str, "READONLY",
                               sizeof("READONLY") - 1) == 0)
            {
                ngx_http_validibot_redis_fail(rc, "READONLY");
                return NGX_ERROR;
            }
        }
        break;
    }

    ngx_queue_remove(q);
    rc->nwaiters--;
    ngx_queue_insert_head(&redis->free, q);

    if (w->type == NGX_HTTP_VALIDIBOT_W_LOOKUP) {
        ngx_http_validibot_metrics_depth(-1);
    }

    handler = w->handler;
    w->handler = NULL;

    if (handler) {
        if (w->type == NGX_HTTP_VALIDIBOT_W_LOOKUP && redis->conf->sync_lag
            && ngx_http_validibot_redis_is_stale(rc))
        {
            reply = &ngx_http_validibot_redis_stale;
        }

        handler(w->data, reply);
    }

    return NGX_OK;
}


/*
 * HGET <prefix>sync:state heartbeat_ms, ahead of the lookups of this
 * write: the heartbeat rides in their round trip.
 */

static ngx_int_t
ngx_http_validibot_redis_append_sync(ngx_http_validibot_conn_t *rc)
{
    u_char                       *p;
    ngx_str_t                     argv[3];
    ngx_http_validibot_redis_t   *redis;
    ngx_http_validibot_waiter_t  *w;
    u_char                        key[NGX_HTTP_VALIDIBOT_PREFIX_MAX_LEN
                                      + sizeof("sync:state") - 1];

    redis = ngx_http_validibot_redis;

    p = ngx_cpymem(key, redis->conf->prefix.data, redis->conf->prefix.len);
    p = ngx_cpymem(p, "sync:state", sizeof("sync:state") - 1);

    ngx_str_set(&argv[0], "HGET");
    argv[1].len = p - key;
    argv[1].data = key;
    ngx_str_set(&argv[2], "heartbeat_ms");

    w = ngx_http_validibot_redis_waiter(rc, NGX_HTTP_VALIDIBOT_W_SYNC);
    if (w == NULL) {
        return NGX_ERROR;
    }

    if (ngx_http_validibot_redis_append(rc, 3, argv) != NGX_OK) {
        ngx_queue_remove(&w->queue);
        rc->nwaiters--;
        ngx_queue_insert_head(&redis->free, &w->queue);
        return NGX_ERROR;
    }

    rc->sync_queued = 1;

    return NGX_OK;
}


static void
ngx_http_validibot_redis_heartbeat(ngx_http_validibot_conn_t *rc,
    redisReply *reply)
{
    size_t   i;
    int64_t  ms;

    rc->heartbeat = -1;

    if (reply->type != REDIS_REPLY_STRING || reply->len == 0
        || reply->len > 15)
    {
        return;
    }

    ms = 0;

    for (i = 0; i < reply->len; i++) {
        if (reply->str[i] < '0' || reply->str[i] > '9') {
            return;
        }

        ms = ms * 10 + (reply->str[i] - '0');
    }

    rc->heartbeat = ms;

    ngx_http_validibot_metrics_heartbeat(ms);
}


/* the latest heartbeat read is missing or too old: once a second, why */

static ngx_uint_t
ngx_http_validibot_redis_is_stale(ngx_http_validibot_conn_t *rc)
{
    int64_t                      now, age;
    ngx_time_t                  *tp;
    ngx_http_validibot_redis_t  *redis;

    redis = ngx_http_validibot_redis;
    tp = ngx_timeofday();
    now = (int64_t) tp->sec * 1000 + tp->msec;
    age = now - rc->heartbeat;

    if (rc->heartbeat > 0 && age <= (int64_t) redis->conf->sync_lag) {
        return 0;
    }

    if (redis->stale_logged != tp->sec) {
        redis->stale_logged = tp->sec;

        if (rc->heartbeat > 0) {
            ngx_log_error(NGX_LOG_ERR, redis->log, 0,
                          "validibot: validibot-sync's heartbeat in redis "
                          "%V is %L ms old, over validibot_sync_max_lag "
                          "%M ms: lookups answer 503",
                          &redis->conf->addr->name, age,
                          redis->conf->sync_lag);

        } else {
            ngx_log_error(NGX_LOG_ERR, redis->log, 0,
                          "validibot: no validibot-sync heartbeat in redis "
                          "%V (validibot_sync_max_lag is set): lookups "
                          "answer 503", &redis->conf->addr->name);
        }
    }

    return 1;
}


/*
 * A reply for the head lookup.  NGX_OK: *reply is what its handler gets
 * (for a hinted lookup, the script's reply composed from the parts);
 * NGX_AGAIN: a part kept until the others come; NGX_DONE: the lookup was
 * queued again, with the script; NGX_ERROR: the connection failed.
 */

static ngx_int_t
ngx_http_validibot_redis_lookup_reply(ngx_http_validibot_conn_t *rc,
    ngx_http_validibot_waiter_t *w, redisReply **reply)
{
    redisReply                  *r;
    ngx_uint_t                   org;
    const redisReply            *result;
    ngx_http_validibot_redis_t  *redis;

    redis = ngx_http_validibot_redis;
    r = *reply;

    if (w->nparts > 1) {
        rc->part[rc->nparts++] = r;

        if (rc->nparts < w->nparts) {
            return NGX_AGAIN;
        }

        rc->nparts = 0;
        org = (w->nparts == 4);

        /*
         * key, user, usage and membership; the org's status was read
         * before
         */

        if (ngx_http_validibot_reply_compose(rc->part[0], rc->part[1],
                                             rc->part[2],
                                             org ? &rc->status : NULL,
                                             org ? rc->part[3] : NULL,
                                             w->user, w->user_len,
                                             &rc->composed, &result)
            == NGX_HTTP_VALIDIBOT_COMPOSE_OTHER)
        {
            /* the hint was wrong: the script's reply will correct it */

            ngx_http_validibot_hints_drop(redis->hints, w->public_id);
            ngx_http_validibot_metrics_count(
                                       NGX_HTTP_VALIDIBOT_M_HINTS_WRONG);

            ngx_log_debug2(NGX_LOG_DEBUG_HTTP, redis->log, 0,
                           "validibot: key \"%*s\" has another owner, "
                           "asking again", (size_t) 32, w->public_id);

            w->user_len = 0;

            return ngx_http_validibot_redis_requeue(rc, w);
        }

        if (result == &rc->composed.top && result->elements == 0) {
            /* the key is gone */
            ngx_http_validibot_hints_drop(redis->hints, w->public_id);
        }

        *reply = (redisReply *) result;
        return NGX_OK;
    }

    if (r->type == REDIS_REPLY_ERROR
        && r->len >= sizeof("NOSCRIPT") - 1
        && ngx_strncmp(r->str, "NOSCRIPT", sizeof("NOSCRIPT") - 1) == 0
        && !w->retried)
    {
        /*
         * The script cache was flushed under us: ask again with the
         * script itself, at the tail, where its reply will come.
         */

        ngx_log_error(NGX_LOG_WARN, redis->log, 0,
                      "validibot: redis %V lost the lookup script, "
                      "sending it again", &redis->conf->addr->name);

        w->retried = 1;

        return ngx_http_validibot_redis_requeue(rc, w);
    }

    /* learn the owner for the next lookup of this key */

    if (redis->hints && r->type == REDIS_REPLY_ARRAY) {
        if (r->elements == NGX_HTTP_VALIDIBOT_NFIELDS
            && r->element[0]->type == REDIS_REPLY_STRING)
        {
            ngx_http_validibot_hints_put(redis->hints, w->public_id,
                                         (u_char *) r->element[0]->str,
                                         r->element[0]->len);

        } else if (r->elements == 0) {
            ngx_http_validibot_hints_drop(redis->hints, w->public_id);
        }
    }

    return NGX_OK;
}


/*
 * Keeps the org status reply for the hinted lookups queued after it: its
 * arena is rewound before they complete, so the value is copied.  A type
 * other than a string, a nil or an error becomes an integer, which the
 * lookups refuse as a reply of the wrong shape.
 */

static void
ngx_http_validibot_redis_org_status(ngx_http_validibot_conn_t *rc,
    redisReply *reply)
{
    size_t       len;
    redisReply  *st;

    st = &rc->status;
    ngx_memzero(st, sizeof(redisReply));

    switch (reply->type) {

    case REDIS_REPLY_NIL:
        st->type = REDIS_REPLY_NIL;
        return;

    case REDIS_REPLY_STRING:
    case REDIS_REPLY_ERROR:
        /* a status is a short word: a longer one stays unequal to all */
        len = ngx_min(reply->len, NGX_HTTP_VALIDIBOT_STATUS_LEN - 1);
        ngx_memcpy(rc->status_str, reply->str, len);
        rc->status_str[len] = '\0';

        st->type = reply->type;
        st->str = (char *) rc->status_str;
        st->len = len;
        return;

    default:
        st->type = REDIS_REPLY_INTEGER;
        return;
    }
}


/*
 * Asks again for the head lookup, at the tail, where the new reply will
 * come: the waiter keeps its deadline.  NGX_DONE, or NGX_ERROR when the
 * connection failed; NGX_OK for a lookup whose request went away: it is
 * done with, nobody would read the answer.
 */

static ngx_int_t
ngx_http_validibot_redis_requeue(ngx_http_validibot_conn_t *rc,
    ngx_http_validibot_waiter_t *w)
{
    if (w->handler == NULL) {
        return NGX_OK;
    }

    ngx_queue_remove(&w->queue);
    ngx_queue_insert_tail(&rc->waiters, &w->queue);

    if (ngx_http_validibot_redis_append_lookup(rc, w) != NGX_OK) {
        ngx_http_validibot_redis_fail(rc, "out of memory");
        return NGX_ERROR;
    }

    ngx_http_validibot_redis_flush(rc);

    return NGX_DONE;
}


/*
 * The tracking connection's own replies: its id, then tracking on and
 * subscribed, then PONGs.  NGX_ERROR: the connection failed.
 */

static ngx_int_t
ngx_http_validibot_redis_track_reply(ngx_http_validibot_conn_t *rc,
    ngx_http_validibot_waiter_t *w, redisReply *reply)
{
    u_char                      *p;
    ngx_str_t                   *argv;
    ngx_uint_t                   i, argc;
    ngx_http_validibot_redis_t  *redis;
    u_char                       id[NGX_INT64_LEN];

    redis = ngx_http_validibot_redis;

    if (reply->type == REDIS_REPLY_ERROR) {
        ngx_log_error(NGX_LOG_ERR, redis->log, 0,
                      "validibot: redis %V refused the tracking "
                      "connection: %*s", &redis->conf->addr->name,
                      ngx_min(reply->len, 256), reply->str);
        ngx_http_validibot_redis_fail(rc, "tracking refused");
        return NGX_ERROR;
    }

    switch (w->type) {

    case NGX_HTTP_VALIDIBOT_W_TRACK_ID:

        if (reply->type != REDIS_REPLY_INTEGER || reply->integer < 0) {
            ngx_http_validibot_redis_fail(rc, "CLIENT ID failed");
            return NGX_ERROR;
        }

        /* from the heap, freed below: a reconnect must not grow a pool */

        argc = 6 + 2 * redis->ntrack_prefixes;
        argv = ngx_alloc(argc * sizeof(ngx_str_t), redis->log);
        if (argv == NULL) {
            ngx_http_validibot_redis_fail(rc, "out of memory");
            return NGX_ERROR;
        }

        p = ngx_sprintf(id, "%L", (int64_t) reply->integer);

        ngx_str_set(&argv[0], "CLIENT");
        ngx_str_set(&argv[1], "TRACKING");
        ngx_str_set(&argv[2], "ON");
        ngx_str_set(&argv[3], "REDIRECT");
        argv[4].data = id;
        argv[4].len = p - id;
        ngx_str_set(&argv[5], "BCAST");

        for (i = 0; i < redis->ntrack_prefixes; i++) {
            ngx_str_set(&argv[6 + 2 * i], "PREFIX");
            argv[7 + 2 * i] = redis->track_prefixes[i];
        }

        if (ngx_http_validibot_redis_waiter(rc,
                                            NGX_HTTP_VALIDIBOT_W_HANDSHAKE)
            == NULL
            || ngx_http_validibot_redis_append(rc, argc, argv) != NGX_OK)
        {
            ngx_free(argv);
            ngx_http_validibot_redis_fail(rc, "out of memory");
            return NGX_ERROR;
        }

        ngx_str_set(&argv[0], "SUBSCRIBE");
        ngx_str_set(&argv[1], "__redis__:invalidate");

        if (ngx_http_validibot_redis_waiter(rc,
                                            NGX_HTTP_VALIDIBOT_W_SUBSCRIBE)
            == NULL
            || ngx_http_validibot_redis_append(rc, 2, argv) != NGX_OK)
        {
            ngx_free(argv);
            ngx_http_validibot_redis_fail(rc, "out of memory");
            return NGX_ERROR;
        }

        ngx_free(argv);
        ngx_http_validibot_redis_flush(rc);

        return NGX_OK;

    case NGX_HTTP_VALIDIBOT_W_SUBSCRIBE:

        if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 3
            || reply->element[0]->type != REDIS_REPLY_STRING
            || reply->element[0]->len != sizeof("subscribe") - 1
            || ngx_strncmp(reply->element[0]->str, "subscribe",
                           sizeof("subscribe") - 1) != 0)
        {
            ngx_http_validibot_redis_fail(rc, "SUBSCRIBE failed");
            return NGX_ERROR;
        }

        rc->subscribed = 1;
        rc->backoff = 0;

        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, redis->log, 0,
                       "validibot: redis %V tracking", rc->peer.name);

        ngx_add_timer(&rc->ping, redis->track_ping);

        redis->track_handler(NGX_HTTP_VALIDIBOT_TRACK_UP, NULL);

        return NGX_OK;

    default: /* NGX_HTTP_VALIDIBOT_W_PING: ["pong", ""] once subscribed */
        return NGX_OK;
    }
}


/*
 * With RESP2 a broken redirect goes unreported: a PING that is not
 * answered within validibot_redis_timeout fails the connection (the
 * timer of its waiter), which drops the cache.
 */

static void
ngx_http_validibot_redis_ping_handler(ngx_event_t *ev)
{
    ngx_str_t                   argv[1];
    ngx_http_validibot_conn_t  *rc;

    rc = ev->data;

    if (!rc->subscribed) {
        return;
    }

    ngx_str_set(&argv[0], "PING");

    if (ngx_http_validibot_redis_waiter(rc, NGX_HTTP_VALIDIBOT_W_PING) == NULL
        || ngx_http_validibot_redis_append(rc, 1, argv) != NGX_OK)
    {
        ngx_http_validibot_redis_fail(rc, "out of memory");
        return;
    }

    ngx_http_validibot_redis_arm(rc);
    ngx_http_validibot_redis_flush(rc);

    ngx_add_timer(&rc->ping, ngx_http_validibot_redis->track_ping);
}
