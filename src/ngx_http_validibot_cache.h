
/*
 * Copyright (C) The ngx_http_validibot_module authors
 *
 * The decision cache of a worker (validibot_cache): what a lookup read
 * from Redis for a public id and an org, so that the next request of the
 * same key and org is decided without a round trip.  Exactness comes from
 * outside (the tracking connection, ngx_http_validibot_track.h): every
 * write Redis reports evicts what depends on the written record, and a
 * lost report flushes everything.  This part only keeps entries: a fixed
 * table of entries allocated once, indexed by public id, by user and by
 * org, with an LRU list and a time to live each.  Negative entries (no
 * such public id) live in a part of their own, so that a flood of random
 * ids cannot evict good entries.  Pure: no nginx, no I/O.
 *
 * An entry holds the fields of the lookup's reply (the key record's
 * digest, never a secret): the caller checks the presented secret against
 * it on every hit.
 */


#ifndef _NGX_HTTP_VALIDIBOT_CACHE_H_INCLUDED_
#define _NGX_HTTP_VALIDIBOT_CACHE_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>

#include "ngx_http_validibot_reply.h"
#include "ngx_http_validibot_prf.h"


/* bytes of fields an entry holds; a bigger reply is not cached */
#define NGX_HTTP_VALIDIBOT_CACHE_DATA     512
#define NGX_HTTP_VALIDIBOT_CACHE_ORG_MAX  128


typedef struct ngx_http_validibot_cache_s        ngx_http_validibot_cache_t;
typedef struct ngx_http_validibot_cache_entry_s
    ngx_http_validibot_cache_entry_t;


typedef struct {
    uint64_t  hits;
    uint64_t  misses;
    uint64_t  stores;
    uint64_t  evictions;         /* the least recently used made room */
    uint64_t  expired;           /* past their time to live */
    uint64_t  invalidated;       /* entries evicted by an invalidation */
    uint64_t  flushes;
    uint64_t  too_big;           /* replies not cached: over DATA bytes */
} ngx_http_validibot_cache_stats_t;


/*
 * About "bytes" of memory; a tenth of the entries (at least one) is the
 * negative part.  NULL: too small or no memory.
 */
ngx_http_validibot_cache_t *ngx_http_validibot_cache_create(size_t bytes);
void ngx_http_validibot_cache_free(ngx_http_validibot_cache_t *c);

/*
 * Keys the public id's hash with NGX_HTTP_VALIDIBOT_CACHE_SEED_LEN random
 * bytes (before the first put): without it, a client that knows the
 * default keys could send ids that all land in one bucket.
 */
#define NGX_HTTP_VALIDIBOT_CACHE_SEED_LEN  72

void ngx_http_validibot_cache_seed(ngx_http_validibot_cache_t *c,
    const unsigned char *seed);

size_t ngx_http_validibot_cache_entries(ngx_http_validibot_cache_t *c);
size_t ngx_http_validibot_cache_size(ngx_http_validibot_cache_t *c);
const ngx_http_validibot_cache_stats_t *ngx_http_validibot_cache_stats(
    ngx_http_validibot_cache_t *c);

/*
 * public_id: 32 lowercase hex digits (checked by the caller); org may be
 * empty.  On a hit, fills rec (spans into the entry, valid until the next
 * call that changes the cache) and returns the entry; NULL on a miss.
 * now: milliseconds, any monotonic origin.
 */
ngx_http_validibot_cache_entry_t *ngx_http_validibot_cache_get(
    ngx_http_validibot_cache_t *c, const unsigned char *public_id,
    const unsigned char *org, size_t org_len, uint64_t now,
    ngx_http_validibot_record_t *rec);

/*
 * Stores what a lookup read (rec->found 0: a negative entry, for every
 * org), replacing an entry of the same public id and org.  Returns the
 * entry, or NULL when it is too big to cache (or the org too long).
 */
ngx_http_validibot_cache_entry_t *ngx_http_validibot_cache_put(
    ngx_http_validibot_cache_t *c, const unsigned char *public_id,
    const unsigned char *org, size_t org_len,
    const ngx_http_validibot_record_t *rec, uint64_t now, uint64_t ttl);

/*
 * The tag (ngx_http_validibot_prf()) of a credential whose secret matched
 * this entry's digest: a later hit with the same tag skips the digest.
 * tag_get() returns NULL when there is none.  An entry is never updated
 * in place otherwise: a changed record is a new entry, with no tag.
 */
const unsigned char *ngx_http_validibot_cache_tag_get(
    ngx_http_validibot_cache_entry_t *e);
void ngx_http_validibot_cache_tag_set(ngx_http_validibot_cache_entry_t *e,
    const unsigned char *tag);

/*
 * The membership roles of the entry's record, parsed once
 * (ngx_http_validibot_roles_parse()) when it was stored: returns 0 for a
 * negative entry, which has none.
 */
int ngx_http_validibot_cache_roles_get(ngx_http_validibot_cache_entry_t *e,
    uint32_t *roles);

/* a usage write was sent at "at" (unix seconds): remember it */
void ngx_http_validibot_cache_used(ngx_http_validibot_cache_entry_t *e,
    int64_t at);

/*
 * A record changed: name is its Redis key without the prefix ("key:<id>",
 * "user:<id>", "org:<slug>", "member:<slug>:<user>").  Evicts every entry
 * that depends on it; returns how many.  A name of another shape evicts
 * nothing.
 */
size_t ngx_http_validibot_cache_invalidate(ngx_http_validibot_cache_t *c,
    const unsigned char *name, size_t len);

/* evicts everything */
void ngx_http_validibot_cache_flush(ngx_http_validibot_cache_t *c);


#endif /* _NGX_HTTP_VALIDIBOT_CACHE_H_INCLUDED_ */
