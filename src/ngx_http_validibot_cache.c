
/*
 * Copyright (C) The ngx_http_validibot_module authors
 */


#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ngx_http_validibot_cache.h"
#include "ngx_http_validibot_roles.h"


#define NGX_HTTP_VALIDIBOT_CACHE_FREE      0
#define NGX_HTTP_VALIDIBOT_CACHE_POSITIVE  1
#define NGX_HTTP_VALIDIBOT_CACHE_NEGATIVE  2

#define NGX_HTTP_VALIDIBOT_CACHE_USED_MAX  23


typedef struct ngx_http_validibot_cache_link_s  ngx_http_validibot_cache_link_t;

struct ngx_http_validibot_cache_link_s {
    ngx_http_validibot_cache_link_t  *prev;
    ngx_http_validibot_cache_link_t  *next;
};


struct ngx_http_validibot_cache_entry_s {
    ngx_http_validibot_cache_link_t   lru;      /* or the free list */
    ngx_http_validibot_cache_link_t   by_id;
    ngx_http_validibot_cache_link_t   by_user;  /* positive entries only */
    ngx_http_validibot_cache_link_t   by_org;   /* positive, with an org */
    uint64_t                          expires;
    unsigned char                     kind;
    unsigned char                     used_len; /* 0xff: nil */
    unsigned char                     tagged;
    uint16_t                          org_len;
    uint32_t                          roles;    /* parsed once, at put */
    uint16_t                          present;  /* a bit per field */
    uint16_t                          off[NGX_HTTP_VALIDIBOT_NFIELDS];
    uint16_t                          len[NGX_HTTP_VALIDIBOT_NFIELDS];
    unsigned char                     id[32];
    unsigned char                     tag[NGX_HTTP_VALIDIBOT_PRF_LEN];
    unsigned char                     used[NGX_HTTP_VALIDIBOT_CACHE_USED_MAX
                                           + 1];
    unsigned char                     data[NGX_HTTP_VALIDIBOT_CACHE_DATA];
};


typedef struct {
    ngx_http_validibot_cache_link_t   lru;      /* head: most recent */
    size_t                            n;
    size_t                            max;
} ngx_http_validibot_cache_part_t;


struct ngx_http_validibot_cache_s {
    ngx_http_validibot_cache_entry_t  *entry;
    size_t                             nentries;
    size_t                             mask;     /* buckets - 1 */
    ngx_http_validibot_cache_link_t   *id;
    ngx_http_validibot_cache_link_t   *user;
    ngx_http_validibot_cache_link_t   *org;
    ngx_http_validibot_cache_link_t    free;
    ngx_http_validibot_cache_part_t    part[2];  /* positive, negative */
    size_t                             bytes;
    ngx_http_validibot_cache_stats_t   stats;
    unsigned                           shift;    /* 64 - log2(buckets) */
    uint64_t                           key[9];   /* the id hash's */
};


#define ngx_http_validibot_cache_of(l, field)                                 \
    ((ngx_http_validibot_cache_entry_t *)                                     \
         ((unsigned char *) (l)                                               \
          - offsetof(ngx_http_validibot_cache_entry_t, field)))


static void
ngx_http_validibot_link_init(ngx_http_validibot_cache_link_t *l)
{
    l->prev = l;
    l->next = l;
}


static void
ngx_http_validibot_link_insert(ngx_http_validibot_cache_link_t *head,
    ngx_http_validibot_cache_link_t *l)
{
    l->next = head->next;
    l->next->prev = l;
    l->prev = head;
    head->next = l;
}


static void
ngx_http_validibot_link_remove(ngx_http_validibot_cache_link_t *l)
{
    l->next->prev = l->prev;
    l->prev->next = l->next;
    l->prev = l;
    l->next = l;
}


/*
 * Public ids are the client's choice (unknown ones are cached too), so
 * their bucket comes from a keyed hash: multiply-shift over the id's eight
 * 32-bit words with 64-bit keys (Dietzfelbinger's, 2-universal), keys
 * drawn per worker.  Without them a client cannot aim ids at one bucket.
 */

static size_t
ngx_http_validibot_cache_id_hash(ngx_http_validibot_cache_t *c,
    const unsigned char *id)
{
    size_t    i;
    uint32_t  w;
    uint64_t  h;

    h = c->key[8];

    for (i = 0; i < 8; i++) {
        memcpy(&w, id + 4 * i, 4);
        h += c->key[i] * w;
    }

    return (size_t) (h >> c->shift);
}


/* FNV-1a: users and orgs come from Redis, not from the client */

static size_t
ngx_http_validibot_cache_hash(const unsigned char *p, size_t len)
{
    size_t    i;
    uint32_t  h;

    h = 2166136261u;

    for (i = 0; i < len; i++) {
        h ^= p[i];
        h *= 16777619u;
    }

    return h ^ (h >> 16);
}


ngx_http_validibot_cache_t *
ngx_http_validibot_cache_create(size_t bytes)
{
    size_t                       i, n, buckets;
    unsigned                     shift;
    ngx_http_validibot_cache_t  *c;

    n = bytes / (sizeof(ngx_http_validibot_cache_entry_t)
                 + 3 * sizeof(ngx_http_validibot_cache_link_t));

    if (n < 16) {
        return NULL;
    }

    buckets = 1;
    shift = 64;

    while (buckets < n) {
        buckets <<= 1;
        shift--;
    }

    c = calloc(1, sizeof(ngx_http_validibot_cache_t));
    if (c == NULL) {
        return NULL;
    }

    /* calloc: pages become resident only when used */

    c->entry = calloc(n, sizeof(ngx_http_validibot_cache_entry_t));
    c->id = calloc(buckets, sizeof(ngx_http_validibot_cache_link_t));
    c->user = calloc(buckets, sizeof(ngx_http_validibot_cache_link_t));
    c->org = calloc(buckets, sizeof(ngx_http_validibot_cache_link_t));

    if (c->entry == NULL || c->id == NULL || c->user == NULL
        || c->org == NULL)
    {
        ngx_http_validibot_cache_free(c);
        return NULL;
    }

    c->nentries = n;
    c->mask = buckets - 1;
    c->shift = shift;

    /* fixed odd keys until ngx_http_validibot_cache_seed() */

    for (i = 0; i < 9; i++) {
        c->key[i] = (0x9e3779b97f4a7c15ULL * (2 * i + 1)) | 1;
    }

    c->bytes = n * sizeof(ngx_http_validibot_cache_entry_t)
               + 3 * buckets * sizeof(ngx_http_validibot_cache_link_t);

    for (i = 0; i < buckets; i++) {
        ngx_http_validibot_link_init(&c->id[i]);
        ngx_http_validibot_link_init(&c->user[i]);
        ngx_http_validibot_link_init(&c->org[i]);
    }

    ngx_http_validibot_link_init(&c->free);

    for (i = 0; i < n; i++) {
        ngx_http_validibot_link_init(&c->entry[i].by_id);
        ngx_http_validibot_link_init(&c->entry[i].by_user);
        ngx_http_validibot_link_init(&c->entry[i].by_org);
        ngx_http_validibot_link_insert(&c->free, &c->entry[i].lru);
    }

    ngx_http_validibot_link_init(&c->part[0].lru);
    ngx_http_validibot_link_init(&c->part[1].lru);

    c->part[1].max = n / 10 ? n / 10 : 1;
    c->part[0].max = n - c->part[1].max;

    return c;
}


void
ngx_http_validibot_cache_seed(ngx_http_validibot_cache_t *c,
    const unsigned char *seed)
{
    size_t  i;

    memcpy(c->key, seed, sizeof(c->key));

    for (i = 0; i < 8; i++) {
        c->key[i] |= 1;
    }
}


void
ngx_http_validibot_cache_free(ngx_http_validibot_cache_t *c)
{
    if (c == NULL) {
        return;
    }

    free(c->entry);
    free(c->id);
    free(c->user);
    free(c->org);
    free(c);
}


size_t
ngx_http_validibot_cache_entries(ngx_http_validibot_cache_t *c)
{
    return c->part[0].n + c->part[1].n;
}


size_t
ngx_http_validibot_cache_size(ngx_http_validibot_cache_t *c)
{
    return c->nentries;
}


const ngx_http_validibot_cache_stats_t *
ngx_http_validibot_cache_stats(ngx_http_validibot_cache_t *c)
{
    return &c->stats;
}


static void
ngx_http_validibot_cache_evict(ngx_http_validibot_cache_t *c,
    ngx_http_validibot_cache_entry_t *e)
{
    c->part[e->kind == NGX_HTTP_VALIDIBOT_CACHE_NEGATIVE].n--;

    ngx_http_validibot_link_remove(&e->lru);
    ngx_http_validibot_link_remove(&e->by_id);
    ngx_http_validibot_link_remove(&e->by_user);
    ngx_http_validibot_link_remove(&e->by_org);

    e->kind = NGX_HTTP_VALIDIBOT_CACHE_FREE;
    ngx_http_validibot_link_insert(&c->free, &e->lru);
}


/* the entry's user id is "len" bytes at "p" */

static int
ngx_http_validibot_cache_user_is(ngx_http_validibot_cache_entry_t *e,
    const unsigned char *p, size_t len)
{
    return e->len[NGX_HTTP_VALIDIBOT_F_USER] == len
           && (len == 0
               || memcmp(e->data + e->off[NGX_HTTP_VALIDIBOT_F_USER], p, len)
                  == 0);
}


static int
ngx_http_validibot_cache_org_is(ngx_http_validibot_cache_entry_t *e,
    const unsigned char *p, size_t len)
{
    /* no org may come as a NULL pointer: memcmp() must not see it */
    return e->org_len == len && (len == 0 || memcmp(e->data, p, len) == 0);
}


ngx_http_validibot_cache_entry_t *
ngx_http_validibot_cache_get(ngx_http_validibot_cache_t *c,
    const unsigned char *public_id, const unsigned char *org, size_t org_len,
    uint64_t now, ngx_http_validibot_record_t *rec)
{
    size_t                             i;
    ngx_http_validibot_cache_link_t   *head, *l, *next;
    ngx_http_validibot_cache_entry_t  *e;

    head = &c->id[ngx_http_validibot_cache_id_hash(c, public_id)];

    for (l = head->next; l != head; l = next) {
        next = l->next;
        e = ngx_http_validibot_cache_of(l, by_id);

        if (memcmp(e->id, public_id, 32) != 0) {
            continue;
        }

        if (e->kind == NGX_HTTP_VALIDIBOT_CACHE_POSITIVE
            && !ngx_http_validibot_cache_org_is(e, org, org_len))
        {
            continue;
        }

        if (now >= e->expires) {
            c->stats.expired++;
            ngx_http_validibot_cache_evict(c, e);
            continue;
        }

        /* a hit: the most recently used */

        ngx_http_validibot_link_remove(&e->lru);
        ngx_http_validibot_link_insert(
            &c->part[e->kind == NGX_HTTP_VALIDIBOT_CACHE_NEGATIVE].lru,
            &e->lru);

        memset(rec, 0, sizeof(ngx_http_validibot_record_t));

        if (e->kind == NGX_HTTP_VALIDIBOT_CACHE_POSITIVE) {
            rec->found = 1;

            for (i = 0; i < NGX_HTTP_VALIDIBOT_NFIELDS; i++) {
                if (e->present & (1u << i)) {
                    rec->field[i].len = e->len[i];
                    rec->field[i].data = e->data + e->off[i];
                }
            }

            if (e->used_len != 0xff) {
                rec->field[NGX_HTTP_VALIDIBOT_F_LAST_USED_AT].len =
                                                                  e->used_len;
                rec->field[NGX_HTTP_VALIDIBOT_F_LAST_USED_AT].data = e->used;
            }
        }

        c->stats.hits++;

        return e;
    }

    c->stats.misses++;

    return NULL;
}


ngx_http_validibot_cache_entry_t *
ngx_http_validibot_cache_put(ngx_http_validibot_cache_t *c,
    const unsigned char *public_id, const unsigned char *org, size_t org_len,
    const ngx_http_validibot_record_t *rec, uint64_t now, uint64_t ttl)
{
    size_t                             i, size, h;
    unsigned                           neg;
    ngx_http_validibot_cache_link_t   *head, *l, *next;
    ngx_http_validibot_cache_part_t   *part;
    ngx_http_validibot_cache_entry_t  *e;
    const ngx_http_validibot_span_t   *f;

    neg = !rec->found;

    if (org_len > NGX_HTTP_VALIDIBOT_CACHE_ORG_MAX) {
        return NULL;
    }

    size = org_len;

    if (!neg) {
        for (i = 0; i < NGX_HTTP_VALIDIBOT_NFIELDS; i++) {
            if (i != NGX_HTTP_VALIDIBOT_F_LAST_USED_AT) {
                size += rec->field[i].len;
            }
        }

        if (size > NGX_HTTP_VALIDIBOT_CACHE_DATA) {
            c->stats.too_big++;
            return NULL;
        }
    }

    /*
     * What this replaces: a negative entry stands for every org, so it
     * replaces all entries of the id and is replaced by any
     */

    h = ngx_http_validibot_cache_id_hash(c, public_id);
    head = &c->id[h];

    for (l = head->next; l != head; l = next) {
        next = l->next;
        e = ngx_http_validibot_cache_of(l, by_id);

        if (memcmp(e->id, public_id, 32) == 0
            && (neg || e->kind == NGX_HTTP_VALIDIBOT_CACHE_NEGATIVE
                || ngx_http_validibot_cache_org_is(e, org, org_len)))
        {
            ngx_http_validibot_cache_evict(c, e);
        }
    }

    part = &c->part[neg];

    if (part->n >= part->max) {
        e = ngx_http_validibot_cache_of(part->lru.prev, lru);
        ngx_http_validibot_cache_evict(c, e);
        c->stats.evictions++;
    }

    /* counts are capped below the table's size: there is a free entry */

    e = ngx_http_validibot_cache_of(c->free.next, lru);
    ngx_http_validibot_link_remove(&e->lru);

    e->kind = neg ? NGX_HTTP_VALIDIBOT_CACHE_NEGATIVE
                  : NGX_HTTP_VALIDIBOT_CACHE_POSITIVE;
    e->expires = now + ttl;
    e->present = 0;
    e->used_len = 0xff;
    e->tagged = 0;
    e->roles = neg ? 0 : ngx_http_validibot_roles_parse(
                        rec->field[NGX_HTTP_VALIDIBOT_F_MEMBER_ROLES].data,
                        rec->field[NGX_HTTP_VALIDIBOT_F_MEMBER_ROLES].len);
    e->org_len = (uint16_t) org_len;
    memcpy(e->id, public_id, 32);

    ngx_http_validibot_link_insert(&part->lru, &e->lru);
    ngx_http_validibot_link_insert(head, &e->by_id);
    part->n++;

    c->stats.stores++;

    if (neg) {
        return e;
    }

    if (org_len) {
        memcpy(e->data, org, org_len);
    }

    size = org_len;

    for (i = 0; i < NGX_HTTP_VALIDIBOT_NFIELDS; i++) {
        f = &rec->field[i];

        if (f->data == NULL) {
            continue;
        }

        if (i == NGX_HTTP_VALIDIBOT_F_LAST_USED_AT) {
            /* a longer one is no time: as if there were none */
            if (f->len <= NGX_HTTP_VALIDIBOT_CACHE_USED_MAX) {
                memcpy(e->used, f->data, f->len);
                e->used_len = (unsigned char) f->len;
            }

            continue;
        }

        e->present |= (uint16_t) (1u << i);
        e->off[i] = (uint16_t) size;
        e->len[i] = (uint16_t) f->len;

        if (f->len) {
            memcpy(e->data + size, f->data, f->len);
        }

        size += f->len;
    }

    f = &rec->field[NGX_HTTP_VALIDIBOT_F_USER];
    h = ngx_http_validibot_cache_hash(f->data ? f->data
                                              : (const unsigned char *) "",
                                      f->len);
    ngx_http_validibot_link_insert(&c->user[h & c->mask], &e->by_user);

    if (org_len) {
        h = ngx_http_validibot_cache_hash(org, org_len);
        ngx_http_validibot_link_insert(&c->org[h & c->mask], &e->by_org);
    }

    return e;
}


const unsigned char *
ngx_http_validibot_cache_tag_get(ngx_http_validibot_cache_entry_t *e)
{
    return e->tagged ? e->tag : NULL;
}


void
ngx_http_validibot_cache_tag_set(ngx_http_validibot_cache_entry_t *e,
    const unsigned char *tag)
{
    memcpy(e->tag, tag, NGX_HTTP_VALIDIBOT_PRF_LEN);
    e->tagged = 1;
}


int
ngx_http_validibot_cache_roles_get(ngx_http_validibot_cache_entry_t *e,
    uint32_t *roles)
{
    *roles = e->roles;

    return e->kind == NGX_HTTP_VALIDIBOT_CACHE_POSITIVE;
}


void
ngx_http_validibot_cache_used(ngx_http_validibot_cache_entry_t *e,
    int64_t at)
{
    unsigned char  *p, tmp[NGX_HTTP_VALIDIBOT_CACHE_USED_MAX];
    uint64_t        v;

    if (at < 0) {
        return;
    }

    v = (uint64_t) at;
    p = tmp + sizeof(tmp);

    do {
        *--p = (unsigned char) ('0' + v % 10);
        v /= 10;
    } while (v);

    e->used_len = (unsigned char) (tmp + sizeof(tmp) - p);
    memcpy(e->used, p, e->used_len);
}


/* evicts the entries of one chain that "match" says depend on the name */

#define NGX_HTTP_VALIDIBOT_CACHE_SWEEP(head, field, match)                    \
    for (l = (head)->next; l != (head); l = next) {                           \
        next = l->next;                                                       \
        e = ngx_http_validibot_cache_of(l, field);                            \
        if (match) {                                                          \
            ngx_http_validibot_cache_evict(c, e);                             \
            n++;                                                              \
        }                                                                     \
    }


size_t
ngx_http_validibot_cache_invalidate(ngx_http_validibot_cache_t *c,
    const unsigned char *name, size_t len)
{
    size_t                             n, i, org_len, user_len;
    const unsigned char               *org, *user;
    ngx_http_validibot_cache_link_t   *head, *l, *next;
    ngx_http_validibot_cache_entry_t  *e;

    n = 0;

    if (len == sizeof("key:") - 1 + 32
        && memcmp(name, "key:", sizeof("key:") - 1) == 0)
    {
        name += sizeof("key:") - 1;
        head = &c->id[ngx_http_validibot_cache_id_hash(c, name)];

        NGX_HTTP_VALIDIBOT_CACHE_SWEEP(head, by_id,
                                       memcmp(e->id, name, 32) == 0)

    } else if (len >= sizeof("user:") - 1
               && memcmp(name, "user:", sizeof("user:") - 1) == 0)
    {
        user = name + sizeof("user:") - 1;
        user_len = len - (sizeof("user:") - 1);
        head = &c->user[ngx_http_validibot_cache_hash(user, user_len)
                        & c->mask];

        NGX_HTTP_VALIDIBOT_CACHE_SWEEP(head, by_user,
                          ngx_http_validibot_cache_user_is(e, user, user_len))

    } else if (len >= sizeof("org:") - 1
               && memcmp(name, "org:", sizeof("org:") - 1) == 0)
    {
        org = name + sizeof("org:") - 1;
        org_len = len - (sizeof("org:") - 1);
        head = &c->org[ngx_http_validibot_cache_hash(org, org_len) & c->mask];

        NGX_HTTP_VALIDIBOT_CACHE_SWEEP(head, by_org,
                             ngx_http_validibot_cache_org_is(e, org, org_len))

    } else if (len >= sizeof("member:") - 1
               && memcmp(name, "member:", sizeof("member:") - 1) == 0)
    {
        /* org slugs have no ":"; user ids may */

        org = name + sizeof("member:") - 1;
        len -= sizeof("member:") - 1;

        for (i = 0; i < len && org[i] != ':'; i++) { /* void */ }

        if (i == len) {
            return 0;
        }

        org_len = i;
        user = org + i + 1;
        user_len = len - i - 1;
        head = &c->org[ngx_http_validibot_cache_hash(org, org_len) & c->mask];

        NGX_HTTP_VALIDIBOT_CACHE_SWEEP(head, by_org,
                        ngx_http_validibot_cache_org_is(e, org, org_len)
                        && ngx_http_validibot_cache_user_is(e, user, user_len))
    }

    c->stats.invalidated += n;

    return n;
}


void
ngx_http_validibot_cache_flush(ngx_http_validibot_cache_t *c)
{
    size_t                            i;
    ngx_http_validibot_cache_link_t  *head;

    for (i = 0; i < 2; i++) {
        head = &c->part[i].lru;

        while (head->next != head) {
            ngx_http_validibot_cache_evict(c,
                              ngx_http_validibot_cache_of(head->next, lru));
        }
    }

    c->stats.flushes++;
}
