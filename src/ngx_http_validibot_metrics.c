
/*
 * Copyright (C) The ngx_http_validibot_module authors
 *
 * Counters in the shared zone "validibot_metrics", updated with atomic
 * adds, and their Prometheus text exposition (format 0.0.4).
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_http_validibot_metrics.h"


#define NGX_HTTP_VALIDIBOT_METRICS_SIZE     (64 * 1024)

/* the latency buckets, the last one being +Inf */
#define NGX_HTTP_VALIDIBOT_METRICS_NBUCKETS  13


typedef struct {
    ngx_atomic_t                 counters[NGX_HTTP_VALIDIBOT_NCOUNTERS];
    ngx_atomic_t                 depth;
    ngx_atomic_t                 tracking;
    /* per bucket, not cumulative: one add per observation */
    ngx_atomic_t                 buckets[NGX_HTTP_VALIDIBOT_METRICS_NBUCKETS];
    ngx_atomic_t                 sum;           /* microseconds */
    ngx_atomic_t                 heartbeat;     /* unix ms, 0: none */
    ngx_uint_t                   nstatus;
    ngx_atomic_t                 status[1];
} ngx_http_validibot_metrics_sh_t;


typedef struct {
    ngx_http_validibot_metrics_sh_t  *sh;
    ngx_slab_pool_t                  *shpool;
    ngx_uint_t                        nstatus;
    const char                      **names;
} ngx_http_validibot_metrics_ctx_t;


typedef struct {
    ngx_str_t                    name;
    ngx_str_t                    help;
} ngx_http_validibot_metrics_desc_t;


static ngx_int_t ngx_http_validibot_metrics_init_zone(
    ngx_shm_zone_t *shm_zone, void *data);
static void ngx_http_validibot_metrics_cleanup(void *data);
static ngx_http_validibot_metrics_ctx_t *ngx_http_validibot_metrics_get(void);
static u_char *ngx_http_validibot_metrics_label(u_char *p, u_char *last,
    const char *value);


extern ngx_module_t  ngx_http_validibot_module;


static ngx_str_t  ngx_http_validibot_metrics_name =
    ngx_string("validibot_metrics");


/* in the order of ngx_http_validibot_counter_e */
static ngx_http_validibot_metrics_desc_t  ngx_http_validibot_metrics_descs[] = {
    { ngx_string("validibot_redis_lookups_total"),
      ngx_string("Key lookups sent to Redis.") },
    { ngx_string("validibot_redis_errors_total"),
      ngx_string("Redis connection failures of all kinds, timeouts "
                 "included.") },
    { ngx_string("validibot_redis_timeouts_total"),
      ngx_string("Redis timeouts.") },
    { ngx_string("validibot_redis_reconnects_total"),
      ngx_string("Redis connections opened.") },
    { ngx_string("validibot_fail_lockouts_total"),
      ngx_string("Client addresses locked out after too many failed "
                 "attempts.") },
    { ngx_string("validibot_throttled_total"),
      ngx_string("Requests refused with 429.") },
    { ngx_string("validibot_owner_hints_used_total"),
      ngx_string("Lookups read with plain commands, the key's owner "
                 "known from an earlier lookup.") },
    { ngx_string("validibot_owner_hints_wrong_total"),
      ngx_string("Owner hints the key record contradicted: those lookups "
                 "were asked again with the script.") },
    { ngx_string("validibot_cache_hits_total"),
      ngx_string("Requests decided from the cache (validibot_cache).") },
    { ngx_string("validibot_cache_misses_total"),
      ngx_string("Requests the cache could not decide: looked up in "
                 "Redis.") },
    { ngx_string("validibot_cache_stores_total"),
      ngx_string("Lookup results stored in the cache.") },
    { ngx_string("validibot_cache_stores_refused_total"),
      ngx_string("Lookup results not stored: an invalidation or a lost "
                 "tracking connection came while they were in flight.") },
    { ngx_string("validibot_cache_evictions_total"),
      ngx_string("Cache entries dropped to make room or past their time "
                 "to live.") },
    { ngx_string("validibot_cache_invalidations_total"),
      ngx_string("Record names Redis reported written (client-side "
                 "caching invalidations received).") },
    { ngx_string("validibot_cache_invalidated_total"),
      ngx_string("Cache entries those invalidations evicted.") },
    { ngx_string("validibot_cache_flushes_total"),
      ngx_string("Whole caches dropped: tracking connection lost, PING "
                 "missed, reconnect, FLUSHALL or FLUSHDB.") },
    { ngx_string("validibot_redis_master_switches_total"),
      ngx_string("New masters announced by a sentinel (+switch-master) "
                 "and followed, counted by each worker.") }
};


static ngx_uint_t  ngx_http_validibot_metrics_bounds[] = {
    250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000,
    500000, 1000000
};


static ngx_str_t  ngx_http_validibot_metrics_le[] = {
    ngx_string("0.00025"),
    ngx_string("0.0005"),
    ngx_string("0.001"),
    ngx_string("0.0025"),
    ngx_string("0.005"),
    ngx_string("0.01"),
    ngx_string("0.025"),
    ngx_string("0.05"),
    ngx_string("0.1"),
    ngx_string("0.25"),
    ngx_string("0.5"),
    ngx_string("1"),
    ngx_string("+Inf")
};


/*
 * The context found for the cycle that ngx_cycle was when it was looked
 * up: workers never change cycle, so this is one compare per update.
 */
static ngx_cycle_t                       *ngx_http_validibot_metrics_cycle;
static ngx_http_validibot_metrics_ctx_t  *ngx_http_validibot_metrics_ctx;


ngx_int_t
ngx_http_validibot_metrics_add(ngx_conf_t *cf, ngx_uint_t nstatus,
    const char **names)
{
    size_t                             size;
    ngx_shm_zone_t                    *shm_zone;
    ngx_pool_cleanup_t                *cln;
    ngx_http_validibot_metrics_ctx_t  *ctx;

    /* a slab pool needs a few pages whatever the page size */

    size = ngx_max(NGX_HTTP_VALIDIBOT_METRICS_SIZE, 8 * ngx_pagesize);

    shm_zone = ngx_shared_memory_add(cf, &ngx_http_validibot_metrics_name,
                                     size, &ngx_http_validibot_module);
    if (shm_zone == NULL) {
        return NGX_ERROR;
    }

    if (shm_zone->data) {
        return NGX_OK;
    }

    ctx = ngx_pcalloc(cf->pool, sizeof(ngx_http_validibot_metrics_ctx_t));
    if (ctx == NULL) {
        return NGX_ERROR;
    }

    ctx->nstatus = nstatus;
    ctx->names = names;

    /* the cached context must not outlive its cycle */

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        return NGX_ERROR;
    }

    cln->handler = ngx_http_validibot_metrics_cleanup;
    cln->data = ctx;

    shm_zone->init = ngx_http_validibot_metrics_init_zone;
    shm_zone->data = ctx;

    return NGX_OK;
}


static ngx_int_t
ngx_http_validibot_metrics_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_http_validibot_metrics_ctx_t  *octx = data;

    size_t                             size;
    ngx_http_validibot_metrics_ctx_t  *ctx;

    ctx = shm_zone->data;

    if (octx) {
        ctx->shpool = octx->shpool;

        /* reload: the counters go on, unless their layout changed */

        if (octx->sh->nstatus == ctx->nstatus) {
            ctx->sh = octx->sh;
            return NGX_OK;
        }

    } else {
        ctx->shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

        if (shm_zone->shm.exists) {
            ctx->sh = ctx->shpool->data;
            return NGX_OK;
        }
    }

    size = offsetof(ngx_http_validibot_metrics_sh_t, status)
           + ngx_max(ctx->nstatus, 1) * sizeof(ngx_atomic_t);

    ctx->sh = ngx_slab_calloc(ctx->shpool, size);
    if (ctx->sh == NULL) {
        ngx_log_error(NGX_LOG_EMERG, shm_zone->shm.log, 0,
                      "%ui statuses do not fit in the \"%V\" zone",
                      ctx->nstatus, &shm_zone->shm.name);
        return NGX_ERROR;
    }

    if (octx) {
        /* old workers still add to the old block: it is not freed */
        ngx_log_error(NGX_LOG_NOTICE, shm_zone->shm.log, 0,
                      "the \"%V\" zone's counters restart",
                      &shm_zone->shm.name);
    }

    ctx->sh->nstatus = ctx->nstatus;
    ctx->shpool->data = ctx->sh;

    return NGX_OK;
}


static void
ngx_http_validibot_metrics_cleanup(void *data)
{
    ngx_http_validibot_metrics_ctx_t  *ctx = data;

    if (ngx_http_validibot_metrics_ctx == ctx) {
        ngx_http_validibot_metrics_ctx = NULL;
        ngx_http_validibot_metrics_cycle = NULL;
    }
}


static ngx_http_validibot_metrics_ctx_t *
ngx_http_validibot_metrics_get(void)
{
    ngx_uint_t                         i;
    ngx_cycle_t                       *cycle;
    ngx_shm_zone_t                    *shm_zone;
    ngx_list_part_t                   *part;
    ngx_http_validibot_metrics_ctx_t  *ctx;

    cycle = (ngx_cycle_t *) ngx_cycle;

    if (cycle == ngx_http_validibot_metrics_cycle) {
        return ngx_http_validibot_metrics_ctx;
    }

    part = &cycle->shared_memory.part;
    shm_zone = part->elts;

    for (i = 0; /* void */ ; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            shm_zone = part->elts;
            i = 0;
        }

        if (shm_zone[i].init != ngx_http_validibot_metrics_init_zone) {
            continue;
        }

        ctx = shm_zone[i].data;

        if (ctx->sh == NULL) {
            /* the cycle is still being configured */
            return NULL;
        }

        ngx_http_validibot_metrics_cycle = cycle;
        ngx_http_validibot_metrics_ctx = ctx;

        return ctx;
    }

    /* not cached: no pool cleanup would tell us when the cycle goes */

    return NULL;
}


void
ngx_http_validibot_metrics_count(ngx_http_validibot_counter_e c)
{
    ngx_http_validibot_metrics_count_n(c, 1);
}


void
ngx_http_validibot_metrics_count_n(ngx_http_validibot_counter_e c,
    ngx_uint_t n)
{
    ngx_http_validibot_metrics_ctx_t  *ctx;

    if ((ngx_uint_t) c >= NGX_HTTP_VALIDIBOT_NCOUNTERS || n == 0) {
        return;
    }

    ctx = ngx_http_validibot_metrics_get();
    if (ctx == NULL) {
        return;
    }

    (void) ngx_atomic_fetch_add(&ctx->sh->counters[c], n);
}


void
ngx_http_validibot_metrics_status(ngx_uint_t status)
{
    ngx_http_validibot_metrics_ctx_t  *ctx;

    ctx = ngx_http_validibot_metrics_get();
    if (ctx == NULL || status >= ctx->sh->nstatus) {
        return;
    }

    (void) ngx_atomic_fetch_add(&ctx->sh->status[status], 1);
}


void
ngx_http_validibot_metrics_depth(ngx_int_t delta)
{
    ngx_http_validibot_metrics_ctx_t  *ctx;

    ctx = ngx_http_validibot_metrics_get();
    if (ctx == NULL) {
        return;
    }

    /* unsigned wrap-around: read back as signed */

    (void) ngx_atomic_fetch_add(&ctx->sh->depth, (ngx_atomic_int_t) delta);
}


void
ngx_http_validibot_metrics_tracking(ngx_int_t delta)
{
    ngx_http_validibot_metrics_ctx_t  *ctx;

    ctx = ngx_http_validibot_metrics_get();
    if (ctx == NULL) {
        return;
    }

    (void) ngx_atomic_fetch_add(&ctx->sh->tracking,
                                (ngx_atomic_int_t) delta);
}


void
ngx_http_validibot_metrics_latency(ngx_uint_t usec)
{
    ngx_uint_t                         i;
    ngx_http_validibot_metrics_ctx_t  *ctx;

    ctx = ngx_http_validibot_metrics_get();
    if (ctx == NULL) {
        return;
    }

    for (i = 0; i < NGX_HTTP_VALIDIBOT_METRICS_NBUCKETS - 1; i++) {
        if (usec <= ngx_http_validibot_metrics_bounds[i]) {
            break;
        }
    }

    (void) ngx_atomic_fetch_add(&ctx->sh->buckets[i], 1);
    (void) ngx_atomic_fetch_add(&ctx->sh->sum, (ngx_atomic_int_t) usec);
}


void
ngx_http_validibot_metrics_heartbeat(int64_t ms)
{
    ngx_atomic_uint_t                  old;
    ngx_http_validibot_metrics_ctx_t  *ctx;

    ctx = ngx_http_validibot_metrics_get();
    if (ctx == NULL || ms <= 0) {
        return;
    }

    /* the newest any worker saw */

    do {
        old = ctx->sh->heartbeat;

        if ((ngx_atomic_uint_t) ms <= old) {
            return;
        }

    } while (!ngx_atomic_cmp_set(&ctx->sh->heartbeat, old,
                                 (ngx_atomic_uint_t) ms));
}


ngx_int_t
ngx_http_validibot_metrics_render(ngx_pool_t *pool, ngx_str_t *out)
{
    u_char                             *p, *last;
    size_t                              len;
    ngx_uint_t                          i, nstatus;
    ngx_atomic_int_t                    depth;
    ngx_time_t                         *tp;
    ngx_atomic_uint_t                   n, total, sum, now, age;
    ngx_http_validibot_metrics_sh_t    *sh;
    ngx_http_validibot_metrics_ctx_t   *ctx;
    ngx_http_validibot_metrics_desc_t  *d;

    ctx = ngx_http_validibot_metrics_get();

    /* without a zone the families are still there, at zero */

    sh = ctx ? ctx->sh : NULL;
    nstatus = sh ? ngx_min(ctx->nstatus, sh->nstatus) : 0;

    len = sizeof("# HELP validibot_requests_total \n"
                 "# TYPE validibot_requests_total counter\n") - 1
          + sizeof("Requests checked, by $validibot_auth_status.") - 1;

    for (i = 0; i < nstatus; i++) {
        /* a label value escapes to at most twice its length */
        len += sizeof("validibot_requests_total{status=\"\"} \n") - 1
               + 2 * ngx_strlen(ctx->names[i]) + NGX_ATOMIC_T_LEN;
    }

    for (i = 0; i < NGX_HTTP_VALIDIBOT_NCOUNTERS; i++) {
        d = &ngx_http_validibot_metrics_descs[i];
        len += sizeof("# HELP  \n# TYPE  counter\n \n") - 1
               + 3 * d->name.len + d->help.len + NGX_ATOMIC_T_LEN;
    }

    len += sizeof("# HELP validibot_redis_pipeline_depth "
                  "Key lookups in flight, summed over workers.\n"
                  "# TYPE validibot_redis_pipeline_depth gauge\n"
                  "validibot_redis_pipeline_depth \n") - 1
           + NGX_ATOMIC_T_LEN;

    len += sizeof("# HELP validibot_cache_tracking_connections "
                  "Workers whose cache tracking connection is subscribed.\n"
                  "# TYPE validibot_cache_tracking_connections gauge\n"
                  "validibot_cache_tracking_connections \n") - 1
           + NGX_ATOMIC_T_LEN;

    len += sizeof("# HELP validibot_lookup_duration_seconds "
                  "Key lookup latency, from sending to the reply.\n"
                  "# TYPE validibot_lookup_duration_seconds histogram\n"
                  "validibot_lookup_duration_seconds_sum .\n"
                  "validibot_lookup_duration_seconds_count \n") - 1
           + 3 * NGX_ATOMIC_T_LEN
           + NGX_HTTP_VALIDIBOT_METRICS_NBUCKETS
             * (sizeof("validibot_lookup_duration_seconds_bucket{le=\"\"} \n")
                - 1 + sizeof("0.00025") - 1 + NGX_ATOMIC_T_LEN);

    len += sizeof("# HELP validibot_sync_heartbeat_age_seconds "
                  "Age of the newest validibot-sync heartbeat read.\n"
                  "# TYPE validibot_sync_heartbeat_age_seconds gauge\n"
                  "validibot_sync_heartbeat_age_seconds .\n") - 1
           + 2 * NGX_ATOMIC_T_LEN;

    /* one spare byte: a full buffer then means truncation */
    len++;

    p = ngx_pnalloc(pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    out->data = p;
    last = p + len;

    p = ngx_slprintf(p, last,
                     "# HELP validibot_requests_total "
                     "Requests checked, by $validibot_auth_status.\n"
                     "# TYPE validibot_requests_total counter\n");

    for (i = 0; i < nstatus; i++) {
        p = ngx_slprintf(p, last, "validibot_requests_total{status=\"");
        p = ngx_http_validibot_metrics_label(p, last, ctx->names[i]);
        p = ngx_slprintf(p, last, "\"} %uA\n", sh->status[i]);
    }

    for (i = 0; i < NGX_HTTP_VALIDIBOT_NCOUNTERS; i++) {
        d = &ngx_http_validibot_metrics_descs[i];
        n = sh ? sh->counters[i] : 0;

        p = ngx_slprintf(p, last,
                         "# HELP %V %V\n# TYPE %V counter\n%V %uA\n",
                         &d->name, &d->help, &d->name, &d->name, n);
    }

    /* a worker that died with lookups in flight leaves the sum off */

    depth = sh ? (ngx_atomic_int_t) sh->depth : 0;

    if (depth < 0) {
        depth = 0;
    }

    p = ngx_slprintf(p, last,
                     "# HELP validibot_redis_pipeline_depth "
                     "Key lookups in flight, summed over workers.\n"
                     "# TYPE validibot_redis_pipeline_depth gauge\n"
                     "validibot_redis_pipeline_depth %A\n", depth);

    depth = sh ? (ngx_atomic_int_t) sh->tracking : 0;

    if (depth < 0) {
        depth = 0;
    }

    p = ngx_slprintf(p, last,
                     "# HELP validibot_cache_tracking_connections "
                     "Workers whose cache tracking connection is subscribed.\n"
                     "# TYPE validibot_cache_tracking_connections gauge\n"
                     "validibot_cache_tracking_connections %A\n", depth);

    p = ngx_slprintf(p, last,
                     "# HELP validibot_lookup_duration_seconds "
                     "Key lookup latency, from sending to the reply.\n"
                     "# TYPE validibot_lookup_duration_seconds histogram\n");

    /* +Inf and _count come from the same reads, so they always agree */

    total = 0;

    for (i = 0; i < NGX_HTTP_VALIDIBOT_METRICS_NBUCKETS; i++) {
        total += sh ? sh->buckets[i] : 0;

        p = ngx_slprintf(p, last,
                         "validibot_lookup_duration_seconds_bucket{le=\"%V\"}"
                         " %uA\n",
                         &ngx_http_validibot_metrics_le[i], total);
    }

    sum = sh ? sh->sum : 0;

    p = ngx_slprintf(p, last,
                     "validibot_lookup_duration_seconds_sum %uA.%06uA\n"
                     "validibot_lookup_duration_seconds_count %uA\n",
                     sum / 1000000, sum % 1000000, total);

    /* only once a heartbeat was read: validibot_sync_max_lag is set */

    if (sh && sh->heartbeat) {
        tp = ngx_timeofday();
        now = (ngx_atomic_uint_t) tp->sec * 1000 + tp->msec;
        age = now > sh->heartbeat ? now - sh->heartbeat : 0;

        p = ngx_slprintf(p, last,
                         "# HELP validibot_sync_heartbeat_age_seconds "
                         "Age of the newest validibot-sync heartbeat read.\n"
                         "# TYPE validibot_sync_heartbeat_age_seconds gauge\n"
                         "validibot_sync_heartbeat_age_seconds %uA.%03uA\n",
                         age / 1000, age % 1000);
    }

    if (p == last) {
        /* the estimate above is an upper bound: this is a bug */
        ngx_log_error(NGX_LOG_ALERT, ngx_cycle->log, 0,
                      "validibot metrics text truncated");
        return NGX_ERROR;
    }

    out->len = p - out->data;

    return NGX_OK;
}


static u_char *
ngx_http_validibot_metrics_label(u_char *p, u_char *last, const char *value)
{
    u_char  c;

    /* the format escapes backslash, double quote and newline */

    while (*value && p + 2 <= last) {
        c = (u_char) *value++;

        switch (c) {

        case '\\':
        case '"':
            *p++ = '\\';
            *p++ = c;
            break;

        case '\n':
            *p++ = '\\';
            *p++ = 'n';
            break;

        default:
            *p++ = c;
        }
    }

    return p;
}
