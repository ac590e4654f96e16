
/*
 * Copyright (C) The ngx_http_validibot_module authors
 */


#include <stdint.h>
#include <string.h>

#include "ngx_http_validibot_key.h"


#define NGX_HTTP_VALIDIBOT_SCHEME      "bearer"
#define NGX_HTTP_VALIDIBOT_SCHEME_LEN  (sizeof(NGX_HTTP_VALIDIBOT_SCHEME) - 1)

/* "vbk_1_": the only format version accepted, spelt exactly this way */
#define NGX_HTTP_VALIDIBOT_KEY_PREFIX      "vbk_1_"
#define NGX_HTTP_VALIDIBOT_KEY_PREFIX_LEN  6


static int ngx_http_validibot_lowhex(const unsigned char *p, size_t len);


ngx_http_validibot_cred_e
ngx_http_validibot_parse_authorization(const unsigned char *value, size_t len,
    ngx_http_validibot_key_t *key)
{
    size_t                i;
    unsigned char         c;
    const unsigned char  *end;

    if (value == NULL || len < NGX_HTTP_VALIDIBOT_SCHEME_LEN) {
        return NGX_HTTP_VALIDIBOT_CRED_MISSING;
    }

    /* the scheme name is case-insensitive (RFC 9110, 11.1) */

    for (i = 0; i < NGX_HTTP_VALIDIBOT_SCHEME_LEN; i++) {
        c = value[i];

        if (c >= 'A' && c <= 'Z') {
            c |= 0x20;
        }

        if (c != (unsigned char) NGX_HTTP_VALIDIBOT_SCHEME[i]) {
            return NGX_HTTP_VALIDIBOT_CRED_MISSING;
        }
    }

    if (len == NGX_HTTP_VALIDIBOT_SCHEME_LEN) {
        return NGX_HTTP_VALIDIBOT_CRED_MALFORMED;
    }

    /* "Bearerx" is another scheme, not a bad Bearer credential */

    if (value[i] != ' ' && value[i] != '\t') {
        return NGX_HTTP_VALIDIBOT_CRED_MISSING;
    }

    end = value + len;
    value += i;

    while (value < end && (*value == ' ' || *value == '\t')) {
        value++;
    }

    while (end > value && (end[-1] == ' ' || end[-1] == '\t')) {
        end--;
    }

    if (ngx_http_validibot_parse_key(value, end - value, key) != 0) {
        return NGX_HTTP_VALIDIBOT_CRED_MALFORMED;
    }

    return NGX_HTTP_VALIDIBOT_CRED_OK;
}


int
ngx_http_validibot_parse_key(const unsigned char *p, size_t len,
    ngx_http_validibot_key_t *key)
{
    size_t  i;

    /* Validibot refuses over-long input before it looks at the syntax */

    if (p == NULL || len > NGX_HTTP_VALIDIBOT_KEY_MAX_LEN) {
        return -1;
    }

    /* version 1 admits one length only; "vbk_01_" is not version 1 here */

    if (len != NGX_HTTP_VALIDIBOT_KEY_LEN) {
        return -1;
    }

    for (i = 0; i < NGX_HTTP_VALIDIBOT_KEY_PREFIX_LEN; i++) {
        if (p[i] != (unsigned char) NGX_HTTP_VALIDIBOT_KEY_PREFIX[i]) {
            return -1;
        }
    }

    p += NGX_HTTP_VALIDIBOT_KEY_PREFIX_LEN;

    if (ngx_http_validibot_lowhex(p, NGX_HTTP_VALIDIBOT_PUBLIC_ID_LEN) != 0
        || p[NGX_HTTP_VALIDIBOT_PUBLIC_ID_LEN] != '_'
        || ngx_http_validibot_lowhex(p + NGX_HTTP_VALIDIBOT_PUBLIC_ID_LEN + 1,
                                     NGX_HTTP_VALIDIBOT_SECRET_LEN)
           != 0)
    {
        return -1;
    }

    if (key) {
        key->format_version = NGX_HTTP_VALIDIBOT_FORMAT_VERSION;
        key->public_id = p;
        key->secret = p + NGX_HTTP_VALIDIBOT_PUBLIC_ID_LEN + 1;
    }

    return 0;
}


int
ngx_http_validibot_check_public_id(const unsigned char *p, size_t len)
{
    if (p == NULL || len != NGX_HTTP_VALIDIBOT_PUBLIC_ID_LEN) {
        return -1;
    }

    return ngx_http_validibot_lowhex(p, len);
}


/*
 * No branch per byte: every key checked is 96 hex digits long.  Eight
 * bytes at a time: with the high bit of each byte cleared (and checked
 * apart), adding 0x80 - lo sets it where a byte is >= lo and adding
 * 0x7f - hi where it is > hi, and no byte carries into the next.
 */

#define NGX_HTTP_VALIDIBOT_ONES  0x0101010101010101ULL
#define NGX_HTTP_VALIDIBOT_HIGH  0x8080808080808080ULL

#define ngx_http_validibot_in(y, lo, hi)                                      \
    (((y) + NGX_HTTP_VALIDIBOT_ONES * (0x80 - (lo)))                          \
     & ~((y) + NGX_HTTP_VALIDIBOT_ONES * (0x7f - (hi))))

static int
ngx_http_validibot_lowhex(const unsigned char *p, size_t len)
{
    size_t    i;
    uint64_t  w, y, top, bad;
    unsigned  rest;

    top = 0;
    bad = 0;

    for (i = 0; i + 8 <= len; i += 8) {
        memcpy(&w, p + i, 8);

        top |= w;
        y = w & ~NGX_HTTP_VALIDIBOT_HIGH;
        bad |= ~(ngx_http_validibot_in(y, '0', '9')
                 | ngx_http_validibot_in(y, 'a', 'f'));
    }

    rest = 0;

    for ( /* void */ ; i < len; i++) {
        rest |= ((unsigned) p[i] - '0' > 9) & ((unsigned) p[i] - 'a' > 5);
    }

    return ((top | bad) & NGX_HTTP_VALIDIBOT_HIGH) || rest ? -1 : 0;
}
