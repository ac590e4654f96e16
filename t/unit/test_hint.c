
/*
 * Copyright (C) The ngx_http_validibot_module authors
 *
 * Owner hints: put, get, drop, a full set, user ids too long to hint,
 * and how many of 10,000 keys a table of the default size keeps.
 */


#include <stdlib.h>

#include "tap.h"
#include "ngx_http_validibot_hint.h"


/* a public id from a number, as random as a real one is not needed */
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


int
main(void)
{
    size_t                       len;
    unsigned                     i, kept;
    unsigned char                a[32], b[32];
    unsigned char                user[NGX_HTTP_VALIDIBOT_HINT_USER_MAX];
    unsigned char                same[32];
    unsigned char                longer[NGX_HTTP_VALIDIBOT_HINT_USER_MAX + 1];
    ngx_http_validibot_hints_t  *h;

    h = ngx_http_validibot_hints_create(64);
    ok(h != NULL, "create");

    pid(1, a);
    pid(2, b);

    ok(ngx_http_validibot_hints_get(h, a, user) == 0, "empty: no hint");

    ngx_http_validibot_hints_put(h, a, S("42"));
    len = ngx_http_validibot_hints_get(h, a, user);
    ok(len == 2 && memcmp(user, "42", 2) == 0, "put then get");
    ok(ngx_http_validibot_hints_get(h, b, user) == 0, "another id: no hint");

    ngx_http_validibot_hints_put(h, a, S("user-7@example"));
    len = ngx_http_validibot_hints_get(h, a, user);
    ok(len == 14 && memcmp(user, "user-7@example", 14) == 0,
       "put again replaces the owner");

    ngx_http_validibot_hints_drop(h, a);
    ok(ngx_http_validibot_hints_get(h, a, user) == 0, "drop");
    ngx_http_validibot_hints_drop(h, b);
    ok(1, "drop of an id never put");

    /* a 36-character UUID fits; a longer id than the limit is not kept */
    ngx_http_validibot_hints_put(h, a,
                                 S("0b6f6c1e-2f3a-4c53-9a0e-7d1f4b2c9e10"));
    ok(ngx_http_validibot_hints_get(h, a, user) == 36, "a UUID is hinted");

    memset(longer, 'u', sizeof(longer));
    ngx_http_validibot_hints_put(h, a, longer, sizeof(longer));
    ok(ngx_http_validibot_hints_get(h, a, user) == 0,
       "a user id over %d bytes is not hinted (and drops the old hint)",
       NGX_HTTP_VALIDIBOT_HINT_USER_MAX);

    ngx_http_validibot_hints_put(h, a, longer,
                                 NGX_HTTP_VALIDIBOT_HINT_USER_MAX);
    ok(ngx_http_validibot_hints_get(h, a, user)
       == NGX_HTTP_VALIDIBOT_HINT_USER_MAX
       && memcmp(user, longer, NGX_HTTP_VALIDIBOT_HINT_USER_MAX) == 0,
       "a user id of exactly %d bytes is hinted",
       NGX_HTTP_VALIDIBOT_HINT_USER_MAX);

    ngx_http_validibot_hints_put(h, b, (const unsigned char *) "", 0);
    ok(ngx_http_validibot_hints_get(h, b, user) == 0,
       "an empty user id is not hinted");

    /* ids that differ only in their last digit are different keys */
    memcpy(same, a, 32);
    same[31] = same[31] == '0' ? '1' : '0';
    ok(ngx_http_validibot_hints_get(h, same, user) == 0,
       "an id one digit off gets no hint");

    ngx_http_validibot_hints_free(h);

    /* a full table keeps what fits and never returns a wrong owner */

    h = ngx_http_validibot_hints_create(16);
    ok(h != NULL, "create 16");

    for (i = 0; i < 1000; i++) {
        unsigned char  u[16];
        int            n;

        pid(i, a);
        n = snprintf((char *) u, sizeof(u), "%u", i);
        ngx_http_validibot_hints_put(h, a, u, n);
    }

    kept = 0;

    for (i = 0; i < 1000; i++) {
        unsigned char  u[16];
        int            n;

        pid(i, a);
        n = snprintf((char *) u, sizeof(u), "%u", i);
        len = ngx_http_validibot_hints_get(h, a, user);

        if (len == 0) {
            continue;
        }

        if (len != (size_t) n || memcmp(user, u, n) != 0) {
            break;
        }

        kept++;
    }

    ok(i == 1000, "1,000 ids in 16 entries: no hint names a wrong owner");
    ok(kept > 0 && kept <= 16, "and at most 16 are kept (%u)", kept);

    ngx_http_validibot_hints_free(h);

    /* the default size, 65,536, and the bench's 10,000 keys */

    h = ngx_http_validibot_hints_create(65536);

    for (i = 0; i < 10000; i++) {
        pid(i, a);
        ngx_http_validibot_hints_put(h, a, S("7"));
    }

    kept = 0;

    for (i = 0; i < 10000; i++) {
        pid(i, a);
        kept += ngx_http_validibot_hints_get(h, a, user) == 1;
    }

    ok(kept >= 9950, "65,536 entries keep %u of 10,000 keys (>= 99.5 %%)",
       kept);

    ngx_http_validibot_hints_free(h);
    ngx_http_validibot_hints_free(NULL);
    ok(1, "free(NULL)");

    return tap_done();
}
