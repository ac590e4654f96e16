
/*
 * Copyright (C) The ngx_http_validibot_module authors
 *
 * The decision cache: put and get by public id and org, negative entries
 * for every org, each kind of invalidation evicting exactly what depends
 * on the record, time to live, LRU eviction, a flood of negative entries
 * that cannot evict positive ones, replies too big, flush, usage times.
 */


#include <stdlib.h>

#include "tap.h"
#include "ngx_http_validibot_cache.h"
#include "ngx_http_validibot_roles.h"


static ngx_http_validibot_record_t  rec;


static void
pid(unsigned n, unsigned char *out)
{
    static const char  hex[] = "0123456789abcdef";
    unsigned           i;
    unsigned long      x;

    x = n * 2654435761UL + 12345;

    for (i = 0; i < 32; i++) {
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;
        out[i] = hex[x & 15];
    }
}


static void
field(ngx_http_validibot_field_e f, const char *v)
{
    rec.field[f].data = (const unsigned char *) v;
    rec.field[f].len = v ? strlen(v) : 0;
}


/* a found record of a user, with roles when it is an org's */
static ngx_http_validibot_record_t *
found(const char *user, const char *roles)
{
    memset(&rec, 0, sizeof(rec));
    rec.found = 1;
    field(NGX_HTTP_VALIDIBOT_F_USER, user);
    field(NGX_HTTP_VALIDIBOT_F_DIGEST,
          "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
    field(NGX_HTTP_VALIDIBOT_F_DIGEST_VERSION, "1");
    field(NGX_HTTP_VALIDIBOT_F_REVOKED_AT, "");
    field(NGX_HTTP_VALIDIBOT_F_USER_ACTIVE, "1");
    field(NGX_HTTP_VALIDIBOT_F_MEMBER_ROLES, roles);
    field(NGX_HTTP_VALIDIBOT_F_LAST_USED_AT, "1764000000");
    return &rec;
}


static ngx_http_validibot_record_t *
missing(void)
{
    memset(&rec, 0, sizeof(rec));
    return &rec;
}


static int
hit(ngx_http_validibot_cache_t *c, const unsigned char *id, const char *org,
    uint64_t now)
{
    ngx_http_validibot_record_t  out;

    return ngx_http_validibot_cache_get(c, id, (const unsigned char *) org,
                                        strlen(org), now, &out)
           != NULL;
}


static int
span_is(const ngx_http_validibot_span_t *s, const char *v)
{
    if (v == NULL) {
        return s->data == NULL;
    }

    return s->data && s->len == strlen(v) && memcmp(s->data, v, s->len) == 0;
}


static ngx_http_validibot_cache_entry_t *
put(ngx_http_validibot_cache_t *c, const unsigned char *id, const char *org,
    ngx_http_validibot_record_t *r, uint64_t now, uint64_t ttl)
{
    return ngx_http_validibot_cache_put(c, id, (const unsigned char *) org,
                                        strlen(org), r, now, ttl);
}


static size_t
inval(ngx_http_validibot_cache_t *c, const char *name)
{
    return ngx_http_validibot_cache_invalidate(c, (const unsigned char *) name,
                                               strlen(name));
}


int
main(void)
{
    char                               name[64];
    unsigned                           i, kept;
    unsigned char                      a[32], b[32], x[32];
    char                               big[NGX_HTTP_VALIDIBOT_CACHE_DATA + 1];
    unsigned char                      seed[NGX_HTTP_VALIDIBOT_CACHE_SEED_LEN];
    ngx_http_validibot_cache_t        *c;
    ngx_http_validibot_record_t        out;
    ngx_http_validibot_cache_entry_t  *e;

    ok(ngx_http_validibot_cache_create(1000) == NULL, "too small: NULL");

    c = ngx_http_validibot_cache_create(1 << 20);
    ok(c != NULL && ngx_http_validibot_cache_size(c) > 1000,
       "1m: %zu entries", c ? ngx_http_validibot_cache_size(c) : 0);

    pid(1, a);
    pid(2, b);

    ok(!hit(c, a, "", 0), "empty: a miss");

    ok(put(c, a, "", found("7", NULL), 0, 1000) != NULL, "put, no org");
    ok(put(c, a, "acme", found("7", "executor"), 0, 1000) != NULL,
       "put, org acme");

    e = ngx_http_validibot_cache_get(c, a, (const unsigned char *) "acme", 4,
                                     10, &out);
    ok(e && out.found
       && span_is(&out.field[NGX_HTTP_VALIDIBOT_F_USER], "7")
       && span_is(&out.field[NGX_HTTP_VALIDIBOT_F_MEMBER_ROLES], "executor")
       && span_is(&out.field[NGX_HTTP_VALIDIBOT_F_REVOKED_AT], "")
       && span_is(&out.field[NGX_HTTP_VALIDIBOT_F_EXPIRES_AT], NULL)
       && span_is(&out.field[NGX_HTTP_VALIDIBOT_F_LAST_USED_AT],
                  "1764000000"),
       "get: every field as stored, nils stay nils, empty stays empty");

    e = ngx_http_validibot_cache_get(c, a, (const unsigned char *) "", 0, 10,
                                     &out);
    ok(e && span_is(&out.field[NGX_HTTP_VALIDIBOT_F_MEMBER_ROLES], NULL),
       "no org and org acme are two entries");
    ok(!hit(c, a, "beta", 10), "org beta: a miss");
    ok(ngx_http_validibot_cache_get(c, a, NULL, 0, 10, &out) != NULL
       && span_is(&out.field[NGX_HTTP_VALIDIBOT_F_MEMBER_ROLES], NULL),
       "no org as a NULL pointer, as nginx passes an empty string");
    ok(!hit(c, b, "acme", 10), "another id: a miss");

    ngx_http_validibot_cache_used(e, 1764003600);
    ngx_http_validibot_cache_get(c, a, (const unsigned char *) "", 0, 10,
                                 &out);
    ok(span_is(&out.field[NGX_HTTP_VALIDIBOT_F_LAST_USED_AT], "1764003600"),
       "a usage write remembered");

    {
        uint32_t  roles;

        e = ngx_http_validibot_cache_get(c, a, (const unsigned char *) "acme",
                                         4, 10, &out);
        ok(e && ngx_http_validibot_cache_roles_get(e, &roles)
           && roles == NGX_HTTP_VALIDIBOT_ROLE_EXECUTOR,
           "the roles parsed when the entry was stored");
        put(c, a, "acme", found("7", "author"), 0, 1000);
        e = ngx_http_validibot_cache_get(c, a, (const unsigned char *) "acme",
                                         4, 10, &out);
        ok(e && ngx_http_validibot_cache_roles_get(e, &roles)
           && roles == NGX_HTTP_VALIDIBOT_ROLE_AUTHOR,
           "the entry replaced: the new record's roles");
    }

    ok(!hit(c, a, "", 1000), "time to live over: a miss");
    ok(ngx_http_validibot_cache_stats(c)->expired == 1, "counted expired");

    /* each invalidation evicts what depends on the record, nothing else */

    put(c, a, "", found("7", NULL), 0, 1000);
    put(c, a, "acme", found("7", "executor"), 0, 1000);
    put(c, a, "beta", found("7", "author"), 0, 1000);
    put(c, b, "acme", found("8", "author"), 0, 1000);
    put(c, b, "", found("8", NULL), 0, 1000);

    snprintf(name, sizeof(name), "key:%.32s", (const char *) a);
    ok(inval(c, name) == 3 && !hit(c, a, "", 1) && !hit(c, a, "acme", 1)
       && !hit(c, a, "beta", 1) && hit(c, b, "acme", 1) && hit(c, b, "", 1),
       "key:<id>: every org of that key, no other key");

    put(c, a, "", found("7", NULL), 0, 1000);
    put(c, a, "acme", found("7", "executor"), 0, 1000);
    ok(inval(c, "user:7") == 2 && !hit(c, a, "", 1) && !hit(c, a, "acme", 1)
       && hit(c, b, "acme", 1), "user:7: that user's entries only");
    ok(inval(c, "user:77") == 0 && inval(c, "user:") == 0
       && hit(c, b, "", 1), "user:77 and user: evict nothing of user 8");

    put(c, a, "", found("7", NULL), 0, 1000);
    put(c, a, "acme", found("7", "executor"), 0, 1000);
    put(c, a, "beta", found("7", "author"), 0, 1000);
    ok(inval(c, "org:acme") == 2 && !hit(c, a, "acme", 1)
       && !hit(c, b, "acme", 1) && hit(c, a, "beta", 1) && hit(c, a, "", 1),
       "org:acme: every entry of org acme, no other org, no org-less one");

    put(c, a, "acme", found("7", "executor"), 0, 1000);
    put(c, b, "acme", found("8", "author"), 0, 1000);
    ok(inval(c, "member:acme:7") == 1 && !hit(c, a, "acme", 1)
       && hit(c, b, "acme", 1) && hit(c, a, "beta", 1) && hit(c, a, "", 1),
       "member:acme:7: user 7 in acme only");
    ok(inval(c, "member:acme") == 0 && inval(c, "member:beta:8") == 0
       && inval(c, "other:x") == 0 && inval(c, "key:short") == 0,
       "names of other shapes or without entries evict nothing");

    put(c, a, "org", found("a:b", "author"), 0, 1000);
    ok(inval(c, "member:org:a:b") == 1, "a user id with a colon");

    /* negative entries: for every org, replaced by a positive one */

    pid(3, x);
    ok(put(c, x, "acme", missing(), 0, 100) != NULL, "put a negative entry");
    e = ngx_http_validibot_cache_get(c, x, (const unsigned char *) "beta", 4,
                                     1, &out);
    ok(e != NULL && !out.found, "a negative entry answers for any org");
    {
        uint32_t  roles;

        ok(e && !ngx_http_validibot_cache_roles_get(e, &roles),
           "a negative entry has no roles");
    }
    ok(!hit(c, x, "", 100), "negative time to live over: a miss");
    put(c, x, "", missing(), 0, 100);
    put(c, x, "acme", found("9", "owner"), 0, 1000);
    ok(hit(c, x, "acme", 1) && !hit(c, x, "", 1),
       "a positive entry replaces the negative one");
    put(c, x, "", missing(), 0, 100);
    ok(ngx_http_validibot_cache_get(c, x, (const unsigned char *) "acme", 4,
                                    1, &out) != NULL && !out.found,
       "a negative entry replaces the positive ones");
    snprintf(name, sizeof(name), "key:%.32s", (const char *) x);
    ok(inval(c, name) == 1 && !hit(c, x, "", 1),
       "key:<id> evicts a negative entry (the key was made)");

    /* a flood of random ids cannot evict good entries */

    ngx_http_validibot_cache_flush(c);
    ok(ngx_http_validibot_cache_entries(c) == 0, "flush: empty");

    put(c, a, "acme", found("7", "executor"), 0, 1000);

    for (i = 100; i < 100 + 3 * ngx_http_validibot_cache_size(c); i++) {
        pid(i, x);
        put(c, x, "", missing(), 0, 1000);
    }

    ok(hit(c, a, "acme", 1), "after a flood of negative entries: still a hit");
    ok(ngx_http_validibot_cache_entries(c)
       <= ngx_http_validibot_cache_size(c) / 10 + 1,
       "negative entries stay in their part (%zu)",
       ngx_http_validibot_cache_entries(c));

    /* a full positive part loses its least recently used entry */

    ngx_http_validibot_cache_flush(c);

    for (i = 1000; i < 1000 + ngx_http_validibot_cache_size(c); i++) {
        pid(i, x);
        put(c, x, "", found("7", NULL), 0, 1000);

        if (i == 1000) {
            memcpy(a, x, 32);
        }

        if (i == 1001) {
            memcpy(b, x, 32);
        }

        /* keep the first one recently used */
        (void) hit(c, a, "", 1);
    }

    kept = hit(c, a, "", 1);
    ok(kept && !hit(c, b, "", 1),
       "full: the least recently used went, the recently used stayed");
    ok(ngx_http_validibot_cache_stats(c)->evictions > 0, "evictions counted");

    /* too big for an entry: not cached */

    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    found("7", NULL);
    field(NGX_HTTP_VALIDIBOT_F_NAME, big);
    pid(5, x);
    ok(put(c, x, "", &rec, 0, 1000) == NULL && !hit(c, x, "", 1)
       && ngx_http_validibot_cache_stats(c)->too_big == 1,
       "a reply over %d bytes is not cached", NGX_HTTP_VALIDIBOT_CACHE_DATA);

    ngx_http_validibot_cache_free(c);

    /* a keyed id hash: every id found again, evicted by its key:<id> */

    c = ngx_http_validibot_cache_create(4 << 20);   /* > 2000 entries */
    memset(seed, 0, sizeof(seed));

    for (i = 0; i < sizeof(seed); i++) {
        seed[i] = (unsigned char) (i * 37 + 11);
    }

    ngx_http_validibot_cache_seed(c, seed);

    for (i = 0; i < 2000; i++) {
        pid(1000 + i, x);
        put(c, x, "", found("7", NULL), 0, 1000);
    }

    for (kept = 0, i = 0; i < 2000; i++) {
        pid(1000 + i, x);
        kept += hit(c, x, "", 1);
    }

    pid(1500, x);
    snprintf(name, sizeof(name), "key:%.32s", (const char *) x);
    ok(kept == 2000 && inval(c, name) == 1 && !hit(c, x, "", 1),
       "seeded: 2000 of 2000 found, key:<id> evicts that id");

    ngx_http_validibot_cache_free(c);

    return tap_done();
}
