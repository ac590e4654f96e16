
/*
 * Copyright (C) The ngx_http_validibot_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <openssl/rand.h>

#include "ngx_http_validibot_track.h"
#include "ngx_http_validibot_redis.h"
#include "ngx_http_validibot_metrics.h"


typedef struct {
    ngx_http_validibot_cache_t   *cache;
    ngx_str_t                     prefix;
    ngx_str_t                     prefixes[4];
    ngx_uint_t                    up;
    ngx_uint_t                    gen;       /* one more per loss */
    ngx_uint_t                    epoch;     /* one more per report */
    ngx_log_t                    *log;
    ngx_queue_t                   waiting;   /* ..._track_wait_t */
    ngx_event_t                   drain;
    u_char                        prf[NGX_HTTP_VALIDIBOT_PRF_KEY_LEN];
} ngx_http_validibot_track_t;


static void ngx_http_validibot_track_handler(ngx_uint_t event,
    redisReply *reply);
static void ngx_http_validibot_track_flush(void);
static void ngx_http_validibot_track_drain_handler(ngx_event_t *ev);


static ngx_http_validibot_track_t  *ngx_http_validibot_track;

/* the records a decision depends on; never <prefix>usage: */
static const char  *ngx_http_validibot_track_kinds[] = {
    "key:", "user:", "org:", "member:"
};


ngx_int_t
ngx_http_validibot_track_init_process(ngx_cycle_t *cycle, size_t size,
    ngx_str_t *prefix, ngx_msec_t ping)
{
    size_t                       len;
    ngx_uint_t                   i;
    ngx_http_validibot_track_t  *t;
    u_char                       seed[NGX_HTTP_VALIDIBOT_CACHE_SEED_LEN];

    t = ngx_pcalloc(cycle->pool, sizeof(ngx_http_validibot_track_t));
    if (t == NULL) {
        return NGX_ERROR;
    }

    t->cache = ngx_http_validibot_cache_create(size);
    if (t->cache == NULL) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                      "validibot: no memory for the cache");
        return NGX_ERROR;
    }

    if (RAND_bytes(t->prf, sizeof(t->prf)) != 1
        || RAND_bytes(seed, sizeof(seed)) != 1)
    {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                      "validibot: RAND_bytes() failed");
        return NGX_ERROR;
    }

    ngx_http_validibot_cache_seed(t->cache, seed);

    t->prefix = *prefix;
    t->gen = 1;
    t->log = cycle->log;

    ngx_queue_init(&t->waiting);
    t->drain.handler = ngx_http_validibot_track_drain_handler;
    t->drain.log = cycle->log;
    t->drain.data = t;

    for (i = 0; i < 4; i++) {
        len = ngx_strlen(ngx_http_validibot_track_kinds[i]);

        t->prefixes[i].data = ngx_pnalloc(cycle->pool, prefix->len + len);
        if (t->prefixes[i].data == NULL) {
            return NGX_ERROR;
        }

        ngx_memcpy(ngx_cpymem(t->prefixes[i].data, prefix->data,
                              prefix->len),
                   ngx_http_validibot_track_kinds[i], len);
        t->prefixes[i].len = prefix->len + len;
    }

    ngx_http_validibot_track = t;

    return ngx_http_validibot_redis_track(t->prefixes, 4, ping,
                                          ngx_http_validibot_track_handler);
}


void
ngx_http_validibot_track_tag(const ngx_http_validibot_key_t *key, u_char *tag)
{
    u_char  *p, in[1 + NGX_HTTP_VALIDIBOT_PUBLIC_ID_LEN
                   + NGX_HTTP_VALIDIBOT_SECRET_LEN];

    p = in;
    *p++ = (u_char) key->format_version;
    p = ngx_cpymem(p, key->public_id, NGX_HTTP_VALIDIBOT_PUBLIC_ID_LEN);
    ngx_memcpy(p, key->secret, NGX_HTTP_VALIDIBOT_SECRET_LEN);

    ngx_http_validibot_prf(ngx_http_validibot_track->prf, in, sizeof(in), tag);
}


/* after the Redis client's exit: closing the connection reports DOWN */

void
ngx_http_validibot_track_exit_process(void)
{
    if (ngx_http_validibot_track == NULL) {
        return;
    }

    if (ngx_http_validibot_track->drain.posted) {
        ngx_delete_posted_event(&ngx_http_validibot_track->drain);
    }

    ngx_http_validibot_cache_free(ngx_http_validibot_track->cache);
    ngx_explicit_memzero(ngx_http_validibot_track->prf,
                         NGX_HTTP_VALIDIBOT_PRF_KEY_LEN);
    ngx_http_validibot_track = NULL;
}


/*
 * Why a hit waits.  An invalidation must apply before any request sent
 * after the write's acknowledgement, and such a request may be read in
 * the same iteration as the report, or later from ngx_posted_events (a
 * keep-alive connection's next request): draining once at the start of
 * the iteration misses it, and draining before each hit costs a recv()
 * a hit.  The drain event is posted once for the requests parked so far;
 * it runs after the epoll handlers that read them, so each hit is served
 * after a drain later than its own bytes.  A request parked once the
 * event has started waits for the next one.
 */

ngx_int_t
ngx_http_validibot_track_wait(ngx_http_validibot_track_wait_t *w)
{
    ngx_http_validibot_track_t  *t;

    t = ngx_http_validibot_track;

    if (!t->up) {
        ngx_http_validibot_metrics_count(NGX_HTTP_VALIDIBOT_M_CACHE_MISSES);
        return NGX_DECLINED;
    }

    ngx_queue_insert_tail(&t->waiting, &w->queue);
    w->waiting = 1;

    if (!t->drain.posted) {
        ngx_post_event(&t->drain, &ngx_posted_events);
    }

    return NGX_OK;
}


void
ngx_http_validibot_track_unwait(ngx_http_validibot_track_wait_t *w)
{
    if (w->waiting) {
        ngx_queue_remove(&w->queue);
        w->waiting = 0;
    }
}


static void
ngx_http_validibot_track_drain_handler(ngx_event_t *ev)
{
    ngx_queue_t                       *q, parked;
    ngx_http_validibot_track_t        *t;
    ngx_http_validibot_track_wait_t   *w;

    t = ev->data;

    /* taken before the drain: a request parked later needs a later one */

    if (ngx_queue_empty(&t->waiting)) {
        return;
    }

    ngx_queue_init(&parked);
    ngx_queue_add(&parked, &t->waiting);
    ngx_queue_init(&t->waiting);

    ngx_http_validibot_redis_track_drain();

    /* a resumed request may finish another one: take them one at a time */

    while (!ngx_queue_empty(&parked)) {
        q = ngx_queue_head(&parked);
        w = ngx_queue_data(q, ngx_http_validibot_track_wait_t, queue);

        ngx_queue_remove(q);
        w->waiting = 0;

        w->handler(w);
    }
}


ngx_http_validibot_cache_entry_t *
ngx_http_validibot_track_get(ngx_str_t *public_id, ngx_str_t *org,
    ngx_http_validibot_record_t *rec)
{
    ngx_http_validibot_track_t        *t;
    ngx_http_validibot_cache_entry_t  *e;

    t = ngx_http_validibot_track;

    if (!t->up) {
        ngx_http_validibot_metrics_count(NGX_HTTP_VALIDIBOT_M_CACHE_MISSES);
        return NULL;
    }

    e = ngx_http_validibot_cache_get(t->cache, public_id->data, org->data,
                                     org->len, ngx_current_msec, rec);

    ngx_http_validibot_metrics_count(e ? NGX_HTTP_VALIDIBOT_M_CACHE_HITS
                                       : NGX_HTTP_VALIDIBOT_M_CACHE_MISSES);

    return e;
}


void
ngx_http_validibot_track_token(ngx_http_validibot_track_token_t *tk)
{
    ngx_http_validibot_track_t  *t;

    t = ngx_http_validibot_track;

    tk->gen = t->up ? t->gen : 0;
    tk->epoch = t->epoch;
}


ngx_http_validibot_cache_entry_t *
ngx_http_validibot_track_put(ngx_http_validibot_track_token_t *tk,
    ngx_str_t *public_id, ngx_str_t *org, ngx_http_validibot_record_t *rec,
    ngx_msec_t ttl, ngx_msec_t negative_ttl)
{
    uint64_t                                 evicted;
    ngx_http_validibot_track_t              *t;
    ngx_http_validibot_cache_entry_t        *e;
    const ngx_http_validibot_cache_stats_t  *st;

    t = ngx_http_validibot_track;

    /* a report of a write this answer predates may be unread yet */

    ngx_http_validibot_redis_track_drain();

    if (tk->gen == 0 || tk->gen != t->gen || tk->epoch != t->epoch
        || !t->up)
    {
        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, t->log, 0,
                       "validibot: key \"%V\" not cached: a report or a "
                       "loss came while it was looked up", public_id);
        ngx_http_validibot_metrics_count(NGX_HTTP_VALIDIBOT_M_CACHE_REFUSED);
        return NULL;
    }

    st = ngx_http_validibot_cache_stats(t->cache);
    evicted = st->evictions + st->expired;

    e = ngx_http_validibot_cache_put(t->cache, public_id->data, org->data,
                                     org->len, rec, ngx_current_msec,
                                     rec->found ? ttl : negative_ttl);
    if (e == NULL) {
        return NULL;
    }

    ngx_http_validibot_metrics_count(NGX_HTTP_VALIDIBOT_M_CACHE_STORES);

    ngx_http_validibot_metrics_count_n(NGX_HTTP_VALIDIBOT_M_CACHE_EVICTIONS,
                                (ngx_uint_t) (st->evictions + st->expired
                                              - evicted));

    return e;
}


static void
ngx_http_validibot_track_handler(ngx_uint_t event, redisReply *reply)
{
    size_t                       i, n;
    redisReply                  *k;
    ngx_http_validibot_track_t  *t;

    t = ngx_http_validibot_track;

    if (t == NULL) {
        return;
    }

    switch (event) {

    case NGX_HTTP_VALIDIBOT_TRACK_UP:
        t->up = 1;
        ngx_http_validibot_metrics_tracking(1);

        ngx_log_error(NGX_LOG_INFO, t->log, 0,
                      "validibot: cache tracking connection subscribed");
        return;

    case NGX_HTTP_VALIDIBOT_TRACK_DOWN:
        if (t->up) {
            t->up = 0;
            ngx_http_validibot_metrics_tracking(-1);
        }

        t->gen++;
        ngx_http_validibot_track_flush();
        return;

    default: /* NGX_HTTP_VALIDIBOT_TRACK_MESSAGE */
        break;
    }

    /* any report refuses the stores of the lookups in flight */

    t->epoch++;

    if (reply->type == REDIS_REPLY_NIL) {
        ngx_log_error(NGX_LOG_INFO, t->log, 0,
                      "validibot: redis reported a flush, cache dropped");
        ngx_http_validibot_track_flush();
        return;
    }

    if (reply->type != REDIS_REPLY_ARRAY) {
        /* not what Redis sends (anyone may PUBLISH here): as bad as a loss */

        ngx_log_error(NGX_LOG_WARN, t->log, 0,
                      "validibot: an unexpected report on the tracking "
                      "connection (type %d), cache dropped", reply->type);
        ngx_http_validibot_track_flush();
        return;
    }

    ngx_http_validibot_metrics_count_n(
                NGX_HTTP_VALIDIBOT_M_CACHE_INVALIDATIONS, reply->elements);

    if (reply->element == NULL && reply->elements) {
        /* too many names to keep (ngx_http_validibot_reader_create_track()) */

        ngx_log_error(NGX_LOG_INFO, t->log, 0,
                      "validibot: redis reported %uz writes at once, more "
                      "than %d, cache dropped", reply->elements,
                      NGX_HTTP_VALIDIBOT_TRACK_MAX_KEYS);
        ngx_http_validibot_track_flush();
        return;
    }

    for (i = 0; i < reply->elements; i++) {
        k = reply->element[i];

        if (k->type != REDIS_REPLY_STRING) {
            ngx_log_error(NGX_LOG_WARN, t->log, 0,
                          "validibot: an unexpected report on the tracking "
                          "connection (element type %d), cache dropped",
                          k->type);
            ngx_http_validibot_track_flush();
            return;
        }

        if (k->len < t->prefix.len
            || ngx_memcmp(k->str, t->prefix.data, t->prefix.len) != 0)
        {
            continue;
        }

        n = ngx_http_validibot_cache_invalidate(t->cache,
                                    (u_char *) k->str + t->prefix.len,
                                    k->len - t->prefix.len);

        ngx_http_validibot_metrics_count_n(
                                 NGX_HTTP_VALIDIBOT_M_CACHE_INVALIDATED, n);
    }
}


static void
ngx_http_validibot_track_flush(void)
{
    ngx_http_validibot_cache_flush(ngx_http_validibot_track->cache);
    ngx_http_validibot_metrics_count(NGX_HTTP_VALIDIBOT_M_CACHE_FLUSHES);
}
