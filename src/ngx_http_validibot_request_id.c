
/*
 * Copyright (C) The ngx_http_validibot_module authors
 */


#include "ngx_http_validibot_request_id.h"


#define ngx_http_validibot_rotl(x, b)  (((x) << (b)) | ((x) >> (64 - (b))))

#define ngx_http_validibot_sipround(v0, v1, v2, v3)                          \
    v0 += v1; v1 = ngx_http_validibot_rotl(v1, 13); v1 ^= v0;                \
    v0 = ngx_http_validibot_rotl(v0, 32);                                    \
    v2 += v3; v3 = ngx_http_validibot_rotl(v3, 16); v3 ^= v2;                \
    v0 += v3; v3 = ngx_http_validibot_rotl(v3, 21); v3 ^= v0;                \
    v2 += v1; v1 = ngx_http_validibot_rotl(v1, 17); v1 ^= v2;                \
    v2 = ngx_http_validibot_rotl(v2, 32)


static uint64_t
ngx_http_validibot_le64(const unsigned char *p, size_t n)
{
    size_t    i;
    uint64_t  v;

    v = 0;

    for (i = 0; i < n; i++) {
        v |= (uint64_t) p[i] << (8 * i);
    }

    return v;
}


static void
ngx_http_validibot_put_le64(unsigned char *p, uint64_t v)
{
    size_t  i;

    for (i = 0; i < 8; i++) {
        p[i] = (unsigned char) (v >> (8 * i));
    }
}


void
ngx_http_validibot_siphash128(const unsigned char *key,
    const unsigned char *msg, size_t len, unsigned char *out)
{
    size_t    i;
    uint64_t  k0, k1, v0, v1, v2, v3, m;

    k0 = ngx_http_validibot_le64(key, 8);
    k1 = ngx_http_validibot_le64(key + 8, 8);

    v0 = k0 ^ 0x736f6d6570736575ULL;
    v1 = k1 ^ 0x646f72616e646f6dULL ^ 0xee;    /* 0xee: 128-bit output */
    v2 = k0 ^ 0x6c7967656e657261ULL;
    v3 = k1 ^ 0x7465646279746573ULL;

    for (i = 0; i + 8 <= len; i += 8) {
        m = ngx_http_validibot_le64(msg + i, 8);
        v3 ^= m;
        ngx_http_validibot_sipround(v0, v1, v2, v3);
        ngx_http_validibot_sipround(v0, v1, v2, v3);
        v0 ^= m;
    }

    /* the last 0-7 bytes, with the length's low byte on top */

    m = ngx_http_validibot_le64(msg + i, len - i) | ((uint64_t) len << 56);
    v3 ^= m;
    ngx_http_validibot_sipround(v0, v1, v2, v3);
    ngx_http_validibot_sipround(v0, v1, v2, v3);
    v0 ^= m;

    v2 ^= 0xee;

    for (i = 0; i < 4; i++) {
        ngx_http_validibot_sipround(v0, v1, v2, v3);
    }

    ngx_http_validibot_put_le64(out, v0 ^ v1 ^ v2 ^ v3);

    v1 ^= 0xdd;

    for (i = 0; i < 4; i++) {
        ngx_http_validibot_sipround(v0, v1, v2, v3);
    }

    ngx_http_validibot_put_le64(out + 8, v0 ^ v1 ^ v2 ^ v3);
}


void
ngx_http_validibot_request_id(const unsigned char *key, uint64_t n,
    unsigned char *out)
{
    size_t         i;
    unsigned char  msg[8], md[16];

    static const char  hex[] = "0123456789abcdef";

    ngx_http_validibot_put_le64(msg, n);
    ngx_http_validibot_siphash128(key, msg, sizeof(msg), md);

    for (i = 0; i < sizeof(md); i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 0xf];
    }
}
