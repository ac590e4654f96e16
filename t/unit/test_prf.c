
/*
 * Copyright (C) The ngx_http_validibot_module authors
 *
 * The cache's PRF: SipHash-2-4 with 128-bit output, checked against
 * OpenSSL's own SipHash (EVP_MAC "SIPHASH", size 16) for every length
 * from 0 to 199 bytes and random keys, plus the reference vector; and
 * the comparison.
 */


#include <stdlib.h>
#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <openssl/rand.h>

#include "tap.h"
#include "ngx_http_validibot_prf.h"


static int
openssl_siphash(const unsigned char *key, const unsigned char *in, size_t n,
    unsigned char *out)
{
    int            rc;
    size_t         size, len;
    EVP_MAC       *mac;
    EVP_MAC_CTX   *ctx;
    OSSL_PARAM     params[2];

    size = 16;
    params[0] = OSSL_PARAM_construct_size_t(OSSL_MAC_PARAM_SIZE, &size);
    params[1] = OSSL_PARAM_construct_end();

    mac = EVP_MAC_fetch(NULL, "SIPHASH", NULL);
    ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;

    rc = ctx
         && EVP_MAC_init(ctx, key, 16, params)
         && EVP_MAC_update(ctx, in, n)
         && EVP_MAC_final(ctx, out, &len, 16)
         && len == 16;

    EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(mac);

    return rc ? 0 : -1;
}


int
main(void)
{
    int            same, k;
    size_t         i, n;
    unsigned char  key[16], in[200], a[16], b[16];

    static const unsigned char  v0[16] = {
        0xa3, 0x81, 0x7f, 0x04, 0xba, 0x25, 0xa8, 0xe6,
        0x6d, 0xf6, 0x72, 0x14, 0xc7, 0x55, 0x02, 0x93
    };

    for (i = 0; i < 16; i++) {
        key[i] = (unsigned char) i;
    }

    for (i = 0; i < sizeof(in); i++) {
        in[i] = (unsigned char) i;
    }

    ngx_http_validibot_prf(key, in, 0, a);
    ok(memcmp(a, v0, 16) == 0, "the reference vector (key 00..0f, empty)");

    for (k = 0; k < 4; k++) {
        if (k) {
            (void) RAND_bytes(key, sizeof(key));
        }

        same = 1;

        for (n = 0; n < sizeof(in); n++) {
            ngx_http_validibot_prf(key, in, n, a);

            if (openssl_siphash(key, in, n, b) != 0 || memcmp(a, b, 16)) {
                same = 0;
            }
        }

        ok(same, "key %d: as OpenSSL's SipHash-2-4-128, 0 to 199 bytes", k);
    }

    ngx_http_validibot_prf(key, in, 97, a);
    memcpy(b, a, 16);
    ok(ngx_http_validibot_prf_equal(a, b), "equal tags");
    b[15] ^= 1;
    ok(!ngx_http_validibot_prf_equal(a, b), "one bit off: not equal");
    b[15] ^= 1;
    b[0] ^= 0x80;
    ok(!ngx_http_validibot_prf_equal(a, b), "first byte off: not equal");

    in[96] ^= 1;
    ngx_http_validibot_prf(key, in, 97, b);
    ok(memcmp(a, b, 16) != 0, "one input bit changes the tag");

    return tap_done();
}
