
/*
 * Copyright (C) The ngx_http_validibot_module authors
 *
 * validibot_cache in a worker: the decision cache
 * (ngx_http_validibot_cache.h) kept exact by the tracking connection
 * (ngx_http_validibot_redis_track()).  The cache answers only while the
 * tracking connection is subscribed; every report of a write evicts what
 * depends on the record; a lost connection or a FLUSHALL drops it all.
 * A lookup's answer is stored only if the connection stayed up and no
 * report arrived between sending the lookup and storing its answer: a
 * report may overtake the reply it concerns.
 */


#ifndef _NGX_HTTP_VALIDIBOT_TRACK_H_INCLUDED_
#define _NGX_HTTP_VALIDIBOT_TRACK_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_http_validibot_cache.h"
#include "ngx_http_validibot_key.h"


/* what a lookup remembers from when it was sent */
typedef struct {
    ngx_uint_t                    gen;      /* 0: the cache was off */
    ngx_uint_t                    epoch;
} ngx_http_validibot_track_token_t;


/*
 * A request that may be served from the cache waits for the next drain of
 * the tracking connection (ngx_http_validibot_track_wait()): one drain,
 * posted after the reads of the event loop iteration, then every request
 * parked before it is resumed through its handler.
 */
typedef struct ngx_http_validibot_track_wait_s
    ngx_http_validibot_track_wait_t;

typedef void (*ngx_http_validibot_track_wait_pt)(
    ngx_http_validibot_track_wait_t *w);

struct ngx_http_validibot_track_wait_s {
    ngx_queue_t                       queue;
    ngx_http_validibot_track_wait_pt  handler;
    unsigned                          waiting:1;
};


/* size: bytes for the worker's cache; prefix: validibot_redis_prefix */
ngx_int_t ngx_http_validibot_track_init_process(ngx_cycle_t *cycle,
    size_t size, ngx_str_t *prefix, ngx_msec_t ping);
void ngx_http_validibot_track_exit_process(void);

/*
 * NGX_OK: parked until the next drain, w->handler then calls
 * ngx_http_validibot_track_get(); NGX_DECLINED: the tracking connection
 * is down, ask Redis (counted as a miss).
 */
ngx_int_t ngx_http_validibot_track_wait(ngx_http_validibot_track_wait_t *w);
void ngx_http_validibot_track_unwait(ngx_http_validibot_track_wait_t *w);

/*
 * Only from a wait's handler, so that every report read before it applies.
 * A hit: rec filled from the entry; NULL: ask Redis (a miss, or the
 * cache is off while the tracking connection is down).
 */
ngx_http_validibot_cache_entry_t *ngx_http_validibot_track_get(
    ngx_str_t *public_id, ngx_str_t *org, ngx_http_validibot_record_t *rec);

void ngx_http_validibot_track_token(ngx_http_validibot_track_token_t *t);

/*
 * The credential's tag under this worker's PRF key, drawn at start-up
 * (NGX_HTTP_VALIDIBOT_PRF_LEN bytes): what a hit compares instead of
 * computing the digest again.  The tag is no use outside this process.
 */
void ngx_http_validibot_track_tag(const ngx_http_validibot_key_t *key,
    u_char *tag);

/* the entry stored, or NULL when refused (the race) or not cacheable */
ngx_http_validibot_cache_entry_t *ngx_http_validibot_track_put(
    ngx_http_validibot_track_token_t *t, ngx_str_t *public_id,
    ngx_str_t *org, ngx_http_validibot_record_t *rec, ngx_msec_t ttl,
    ngx_msec_t negative_ttl);


#endif /* _NGX_HTTP_VALIDIBOT_TRACK_H_INCLUDED_ */
