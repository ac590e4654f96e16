
/*
 * Copyright (C) The ngx_http_validibot_module authors
 *
 * libFuzzer target: the signed identity assertion.  The first byte picks
 * what the rest is: a JWS for the verifier (signed with the test key when
 * the byte is odd, so the claims parser is reached), or claims (fields
 * split at NUL bytes) for the signer, whose output must verify and whose
 * claims, decoded and encoded again, must give the same JSON; signed the
 * module's way, through a memo, it must be the same token.
 */


#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ngx_http_validibot_assertion.h"


#define KEY  "fuzz-assertion-key-0123456789abcdef"


static ngx_http_validibot_assertion_key_t  key;


int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void) argc;
    (void) argv;

    if (ngx_http_validibot_assertion_key_init(&key,
            (const unsigned char *) "fz", 2, (const unsigned char *) KEY,
            sizeof(KEY) - 1) != 0)
    {
        abort();
    }

    return 0;
}


static void
verify_any(const uint8_t *data, size_t size, int sign)
{
    size_t                                  n, len;
    unsigned char                          *tok, *buf;
    ngx_http_validibot_claims_t             c;
    ngx_http_validibot_assertion_verify_t   v;

    memset(&v, 0, sizeof(v));
    v.keys = &key;
    v.nkeys = 1;
    v.now = 1764000000;
    v.leeway = 30;

    if (sign) {
        /* the input is a payload: sign it so verification gets past */
        tok = malloc(ngx_http_validibot_assertion_size(&key, size));
        len = ngx_http_validibot_assertion_sign(&key, data, size, tok);

    } else {
        tok = malloc(size + 1);
        memcpy(tok, data, size);
        len = size;
    }

    buf = malloc(len + 1);

    (void) ngx_http_validibot_assertion_verify(&v, tok, len, &c, buf, &n);

    free(buf);
    free(tok);
}


/*
 * The module's way, through one memo kept from input to input (hits when
 * the claims up to kid repeat): the same bytes as sign()'s token.
 */
static void
memo_way(const ngx_http_validibot_claims_t *c, const unsigned char *tok,
    size_t len)
{
    size_t          jlen, fixed, tn, n;
    unsigned char  *json, *tok2;

    static ngx_http_validibot_assertion_memo_t  memo;

    json = malloc(ngx_http_validibot_assertion_json_size(c));
    tok2 = malloc(len + 1);

    tn = ngx_http_validibot_assertion_memo_tail(&key, &memo, c, json);

    if (tn) {
        if (ngx_http_validibot_assertion_memo_size(&key, &memo, tn) != len) {
            abort();
        }

        n = ngx_http_validibot_assertion_sign_tail(&key, &memo, json, tn,
                                                   tok2);

    } else {
        jlen = ngx_http_validibot_assertion_json_fixed(c, json, &fixed);

        if (ngx_http_validibot_assertion_size(&key, jlen) != len) {
            abort();
        }

        n = ngx_http_validibot_assertion_sign_memo(&key, &memo, json, jlen,
                                                   fixed, tok2);
        ngx_http_validibot_assertion_memo_keep(&key, &memo, c, json, fixed);
    }

    if (n != len || memcmp(tok, tok2, len) != 0) {
        abort();
    }

    free(tok2);
    free(json);
}


static void
round_trip(const uint8_t *data, size_t size)
{
    size_t                                  i, n, len, jlen, jlen2;
    unsigned char                          *json, *json2, *tok, *buf;
    const uint8_t                          *p, *end, *nul;
    ngx_http_validibot_astr_t              *f[9];
    ngx_http_validibot_claims_t             c, got;
    ngx_http_validibot_assertion_rc_e       rc;
    ngx_http_validibot_assertion_verify_t   v;

    memset(&c, 0, sizeof(c));

    f[0] = &c.iss; f[1] = &c.aud; f[2] = &c.sub; f[3] = &c.org;
    f[4] = &c.roles; f[5] = &c.kid; f[6] = &c.jti; f[7] = &c.htm;
    f[8] = &c.htu;

    p = data;
    end = data + size;

    for (i = 0; i < 9; i++) {
        nul = memchr(p, '\0', end - p);
        f[i]->data = p;
        f[i]->len = (nul ? nul : end) - p;
        p = nul ? nul + 1 : end;
    }

    /* a few seconds and ttls: the memo's level per second changes */
    c.iat = 1764000000 + (int64_t) (size % 3);
    c.exp = c.iat + 60 + 60 * (int64_t) (size % 2);

    json = malloc(ngx_http_validibot_assertion_json_size(&c));
    jlen = ngx_http_validibot_assertion_json(&c, json);

    if (jlen > ngx_http_validibot_assertion_json_size(&c)) {
        abort();
    }

    tok = malloc(ngx_http_validibot_assertion_size(&key, jlen));
    len = ngx_http_validibot_assertion_sign(&key, json, jlen, tok);
    buf = malloc(len + 1);

    memset(&v, 0, sizeof(v));
    v.keys = &key;
    v.nkeys = 1;
    v.now = c.iat;

    rc = ngx_http_validibot_assertion_verify(&v, tok, len, &got, buf, &n);

    if (rc != NGX_HTTP_VALIDIBOT_ASSERTION_OK || n != 0) {
        abort();
    }

    memo_way(&c, tok, len);

    /* invalid UTF-8 became U+FFFD: compare what a second encoding gives */

    json2 = malloc(ngx_http_validibot_assertion_json_size(&got));
    jlen2 = ngx_http_validibot_assertion_json(&got, json2);

    if (jlen2 != jlen || memcmp(json, json2, jlen) != 0) {
        abort();
    }

    free(json2);
    free(buf);
    free(tok);
    free(json);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) {
        return 0;
    }

    switch (data[0] % 3) {
    case 0:
        verify_any(data + 1, size - 1, 0);
        break;
    case 1:
        verify_any(data + 1, size - 1, 1);
        break;
    default:
        round_trip(data + 1, size - 1);
        break;
    }

    return 0;
}
