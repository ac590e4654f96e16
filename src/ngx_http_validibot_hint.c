
/*
 * Copyright (C) The ngx_http_validibot_module authors
 */


#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ngx_http_validibot_hint.h"


#define NGX_HTTP_VALIDIBOT_HINT_WAYS  4


/* one cache line: the public id in binary, the user id, its length */

typedef struct {
    unsigned char  id[16];
    unsigned char  len;                   /* 0: empty */
    unsigned char  user[NGX_HTTP_VALIDIBOT_HINT_USER_MAX + 1];
} ngx_http_validibot_hint_t;


struct ngx_http_validibot_hints_s {
    size_t                      mask;     /* sets - 1 */
    ngx_http_validibot_hint_t  *entry;
};


static unsigned
ngx_http_validibot_hex(unsigned char c)
{
    return c <= '9' ? c - '0' : c - 'a' + 10;
}


/* packs the hex id and returns its set; the caller checked the syntax */

static size_t
ngx_http_validibot_hint_key(ngx_http_validibot_hints_t *h,
    const unsigned char *public_id, unsigned char *id, unsigned *way)
{
    size_t    i;
    uint64_t  x;

    for (i = 0; i < 16; i++) {
        id[i] = (unsigned char) (ngx_http_validibot_hex(public_id[2 * i]) << 4
                                 | ngx_http_validibot_hex(public_id[2 * i
                                                                    + 1]));
    }

    /*
     * Public ids are random, but an import may choose them: mix, so that
     * ids alike in their first bytes do not crowd one set.
     */

    memcpy(&x, id, sizeof(x));
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;

    *way = (unsigned) (x >> 62);

    return (size_t) x & h->mask;
}


ngx_http_validibot_hints_t *
ngx_http_validibot_hints_create(size_t n)
{
    size_t                       sets;
    ngx_http_validibot_hints_t  *h;

    sets = 1;

    while (sets * NGX_HTTP_VALIDIBOT_HINT_WAYS < n) {
        sets <<= 1;
    }

    h = malloc(sizeof(ngx_http_validibot_hints_t));
    if (h == NULL) {
        return NULL;
    }

    h->entry = calloc(sets * NGX_HTTP_VALIDIBOT_HINT_WAYS,
                      sizeof(ngx_http_validibot_hint_t));
    if (h->entry == NULL) {
        free(h);
        return NULL;
    }

    h->mask = sets - 1;

    return h;
}


void
ngx_http_validibot_hints_free(ngx_http_validibot_hints_t *h)
{
    if (h == NULL) {
        return;
    }

    free(h->entry);
    free(h);
}


/* the entry of the id in its set, or NULL; "set" is the set's first way */

static ngx_http_validibot_hint_t *
ngx_http_validibot_hint_find(ngx_http_validibot_hints_t *h,
    const unsigned char *public_id, unsigned char *id,
    ngx_http_validibot_hint_t **set, unsigned *way)
{
    unsigned                    i;
    ngx_http_validibot_hint_t  *e;

    e = &h->entry[ngx_http_validibot_hint_key(h, public_id, id, way)
                  * NGX_HTTP_VALIDIBOT_HINT_WAYS];
    *set = e;

    for (i = 0; i < NGX_HTTP_VALIDIBOT_HINT_WAYS; i++) {
        if (e[i].len && memcmp(e[i].id, id, sizeof(e[i].id)) == 0) {
            return &e[i];
        }
    }

    return NULL;
}


size_t
ngx_http_validibot_hints_get(ngx_http_validibot_hints_t *h,
    const unsigned char *public_id, unsigned char *user)
{
    unsigned                    way;
    unsigned char               id[16];
    ngx_http_validibot_hint_t  *e, *set;

    e = ngx_http_validibot_hint_find(h, public_id, id, &set, &way);
    if (e == NULL) {
        return 0;
    }

    memcpy(user, e->user, e->len);

    return e->len;
}


void
ngx_http_validibot_hints_put(ngx_http_validibot_hints_t *h,
    const unsigned char *public_id, const unsigned char *user, size_t len)
{
    unsigned                    i, way;
    unsigned char               id[16];
    ngx_http_validibot_hint_t  *e, *s;

    if (len == 0 || len > NGX_HTTP_VALIDIBOT_HINT_USER_MAX) {
        ngx_http_validibot_hints_drop(h, public_id);
        return;
    }

    e = ngx_http_validibot_hint_find(h, public_id, id, &s, &way);

    if (e == NULL) {

        /*
         * An empty way, else the one the id's own bits name: no order to
         * keep, and keys used in a cycle do not evict each other in turn
         * as they would under LRU.
         */

        e = &s[way];

        for (i = 0; i < NGX_HTTP_VALIDIBOT_HINT_WAYS; i++) {
            if (s[i].len == 0) {
                e = &s[i];
                break;
            }
        }

        memcpy(e->id, id, sizeof(e->id));
    }

    memcpy(e->user, user, len);
    e->len = (unsigned char) len;
}


void
ngx_http_validibot_hints_drop(ngx_http_validibot_hints_t *h,
    const unsigned char *public_id)
{
    unsigned                    way;
    unsigned char               id[16];
    ngx_http_validibot_hint_t  *e, *set;

    e = ngx_http_validibot_hint_find(h, public_id, id, &set, &way);
    if (e != NULL) {
        e->len = 0;
    }
}
