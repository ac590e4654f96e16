
/*
 * Copyright (C) The ngx_http_validibot_module authors
 */


#include <stdint.h>
#include <string.h>

#include "ngx_http_validibot_prf.h"


#define NGX_HTTP_VALIDIBOT_ROTL(x, b)  (((x) << (b)) | ((x) >> (64 - (b))))

#define NGX_HTTP_VALIDIBOT_SIPROUND                                           \
    do {                                                                      \
        v0 += v1; v1 = NGX_HTTP_VALIDIBOT_ROTL(v1, 13); v1 ^= v0;            \
        v0 = NGX_HTTP_VALIDIBOT_ROTL(v0, 32);                                 \
        v2 += v3; v3 = NGX_HTTP_VALIDIBOT_ROTL(v3, 16); v3 ^= v2;            \
        v0 += v3; v3 = NGX_HTTP_VALIDIBOT_ROTL(v3, 21); v3 ^= v0;            \
        v2 += v1; v1 = NGX_HTTP_VALIDIBOT_ROTL(v1, 17); v1 ^= v2;            \
        v2 = NGX_HTTP_VALIDIBOT_ROTL(v2, 32);                                 \
    } while (0)


static uint64_t
ngx_http_validibot_le64(const unsigned char *p)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    uint64_t  v;

    /* one load: nginx's -O does not merge the bytes below */
    memcpy(&v, p, 8);

    return v;
#else
    return (uint64_t) p[0] | (uint64_t) p[1] << 8 | (uint64_t) p[2] << 16
           | (uint64_t) p[3] << 24 | (uint64_t) p[4] << 32
           | (uint64_t) p[5] << 40 | (uint64_t) p[6] << 48
           | (uint64_t) p[7] << 56;
#endif
}


static void
ngx_http_validibot_put64(unsigned char *p, uint64_t v)
{
    int  i;

    for (i = 0; i < 8; i++) {
        p[i] = (unsigned char) (v >> (8 * i));
    }
}


void
ngx_http_validibot_prf(const unsigned char *key, const unsigned char *in,
    size_t len, unsigned char *out)
{
    int             i;
    size_t          left;
    uint64_t        k0, k1, m, b, v0, v1, v2, v3;
    unsigned char   tail[8];
    const unsigned char  *end;

    k0 = ngx_http_validibot_le64(key);
    k1 = ngx_http_validibot_le64(key + 8);

    v0 = 0x736f6d6570736575ULL ^ k0;
    v1 = 0x646f72616e646f6dULL ^ k1 ^ 0xee;    /* 128-bit output */
    v2 = 0x6c7967656e657261ULL ^ k0;
    v3 = 0x7465646279746573ULL ^ k1;

    b = (uint64_t) len << 56;
    end = in + len - (len % 8);

    for ( /* void */ ; in != end; in += 8) {
        m = ngx_http_validibot_le64(in);
        v3 ^= m;
        NGX_HTTP_VALIDIBOT_SIPROUND;
        NGX_HTTP_VALIDIBOT_SIPROUND;
        v0 ^= m;
    }

    left = len % 8;
    memset(tail, 0, sizeof(tail));

    if (left) {
        memcpy(tail, in, left);
    }

    b |= ngx_http_validibot_le64(tail);

    v3 ^= b;
    NGX_HTTP_VALIDIBOT_SIPROUND;
    NGX_HTTP_VALIDIBOT_SIPROUND;
    v0 ^= b;

    v2 ^= 0xee;

    for (i = 0; i < 4; i++) {
        NGX_HTTP_VALIDIBOT_SIPROUND;
    }

    ngx_http_validibot_put64(out, v0 ^ v1 ^ v2 ^ v3);

    v1 ^= 0xdd;

    for (i = 0; i < 4; i++) {
        NGX_HTTP_VALIDIBOT_SIPROUND;
    }

    ngx_http_validibot_put64(out + 8, v0 ^ v1 ^ v2 ^ v3);
}


int
ngx_http_validibot_prf_equal(const unsigned char *a, const unsigned char *b)
{
    size_t          i;
    unsigned char   d;

    d = 0;

    for (i = 0; i < NGX_HTTP_VALIDIBOT_PRF_LEN; i++) {
        d |= a[i] ^ b[i];
    }

    return d == 0;
}
