
/*
 * Copyright (C) The ngx_http_validibot_module authors
 *
 * Counters shared by all workers in a small shared memory zone, and their
 * Prometheus text exposition (format 0.0.4).  Updates are atomic adds: no
 * lock on the request path.
 */


#ifndef _NGX_HTTP_VALIDIBOT_METRICS_H_INCLUDED_
#define _NGX_HTTP_VALIDIBOT_METRICS_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>


/* counters, besides the per-status request counts */
typedef enum {
    NGX_HTTP_VALIDIBOT_M_LOOKUPS = 0,       /* lookups sent to Redis */
    NGX_HTTP_VALIDIBOT_M_REDIS_ERRORS,      /* connection failures, any kind */
    NGX_HTTP_VALIDIBOT_M_REDIS_TIMEOUTS,    /* of which timeouts */
    NGX_HTTP_VALIDIBOT_M_RECONNECTS,        /* connections opened */
    NGX_HTTP_VALIDIBOT_M_LOCKOUTS,          /* failed-attempt lock-outs */
    NGX_HTTP_VALIDIBOT_M_THROTTLED,         /* requests answered 429 */
    NGX_HTTP_VALIDIBOT_M_HINTED,            /* lookups with plain commands */
    NGX_HTTP_VALIDIBOT_M_HINTS_WRONG,       /* of which asked again */
    NGX_HTTP_VALIDIBOT_M_CACHE_HITS,        /* decided from the cache */
    NGX_HTTP_VALIDIBOT_M_CACHE_MISSES,      /* cache asked, Redis asked */
    NGX_HTTP_VALIDIBOT_M_CACHE_STORES,      /* lookup results stored */
    NGX_HTTP_VALIDIBOT_M_CACHE_REFUSED,     /* not stored: the race */
    NGX_HTTP_VALIDIBOT_M_CACHE_EVICTIONS,   /* LRU or time to live */
    NGX_HTTP_VALIDIBOT_M_CACHE_INVALIDATIONS, /* record names Redis sent */
    NGX_HTTP_VALIDIBOT_M_CACHE_INVALIDATED, /* entries they evicted */
    NGX_HTTP_VALIDIBOT_M_CACHE_FLUSHES,     /* whole cache dropped */
    NGX_HTTP_VALIDIBOT_M_MASTER_SWITCHES,   /* +switch-master acted on */
    NGX_HTTP_VALIDIBOT_NCOUNTERS
} ngx_http_validibot_counter_e;


/*
 * Adds the zone "validibot_metrics" once per configuration (any caller may
 * ask; later calls are no-ops).  nstatus: how many auth statuses are
 * counted, names: their names (static strings, "ok", "missing", ...).
 */
ngx_int_t ngx_http_validibot_metrics_add(ngx_conf_t *cf, ngx_uint_t nstatus,
    const char **names);

/* all of these are no-ops when no zone was added */
void ngx_http_validibot_metrics_count(ngx_http_validibot_counter_e c);
void ngx_http_validibot_metrics_count_n(ngx_http_validibot_counter_e c,
    ngx_uint_t n);
void ngx_http_validibot_metrics_status(ngx_uint_t status);

/* lookups in flight (the pipeline depth), summed over workers: +1 / -1 */
void ngx_http_validibot_metrics_depth(ngx_int_t delta);

/* tracking connections subscribed, summed over workers: +1 / -1 */
void ngx_http_validibot_metrics_tracking(ngx_int_t delta);

/* a finished lookup's latency, in microseconds */
void ngx_http_validibot_metrics_latency(ngx_uint_t usec);

/*
 * the newest validibot-sync heartbeat read (unix ms), for the gauge
 * validibot_sync_heartbeat_age_seconds (there once one was read)
 */
void ngx_http_validibot_metrics_heartbeat(int64_t ms);

/* the exposition text, allocated from the pool */
ngx_int_t ngx_http_validibot_metrics_render(ngx_pool_t *pool, ngx_str_t *out);


#endif /* _NGX_HTTP_VALIDIBOT_METRICS_H_INCLUDED_ */
