
/*
 * Copyright (C) The ngx_http_validibot_module authors
 *
 * ngx_http_validibot_request_id.c: the request id is the hex of OpenSSL's
 * own SipHash-2-4-128 (EVP_MAC "SIPHASH", size 16) of the counter's 8
 * little-endian bytes, 32 lowercase hex, new for each counter and key
 * (the PRF itself: test_prf.c).  Prints TAP.
 */


#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include "tap.h"
#include "ngx_http_validibot_request_id.h"


static void
hex(const unsigned char *p, size_t n, char *out)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        sprintf(out + 2 * i, "%02x", p[i]);
    }
}


static int
openssl_siphash(const unsigned char *key, const unsigned char *msg,
    size_t len, unsigned char *out)
{
    int           rc;
    size_t        size, outl;
    EVP_MAC      *mac;
    OSSL_PARAM    params[2];
    EVP_MAC_CTX  *ctx;

    size = 16;
    params[0] = OSSL_PARAM_construct_size_t(OSSL_MAC_PARAM_SIZE, &size);
    params[1] = OSSL_PARAM_construct_end();

    mac = EVP_MAC_fetch(NULL, "SIPHASH", NULL);
    if (mac == NULL) {
        return -1;
    }

    ctx = EVP_MAC_CTX_new(mac);

    rc = ctx != NULL
         && EVP_MAC_init(ctx, key, 16, params) == 1
         && EVP_MAC_update(ctx, msg, len) == 1
         && EVP_MAC_final(ctx, out, &outl, 16) == 1
         && outl == 16;

    EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(mac);

    return rc ? 0 : -1;
}


int
main(void)
{
    int            form;
    size_t         i;
    uint64_t       n;
    unsigned char  key[16], ref[16], le[8];
    unsigned char  id[NGX_HTTP_VALIDIBOT_REQUEST_ID_LEN + 1];
    unsigned char  id2[NGX_HTTP_VALIDIBOT_REQUEST_ID_LEN + 1];
    char           got[33];

    if (RAND_bytes(key, sizeof(key)) != 1) {
        return 1;
    }

    /* the request id: hex of SipHash-2-4-128 of the counter, little-endian */

    form = 1;

    for (n = 0; n < 1000; n++) {
        id[NGX_HTTP_VALIDIBOT_REQUEST_ID_LEN] = '\0';
        ngx_http_validibot_request_id(key, n * 0x9e3779b97f4a7c15ULL, id);

        for (i = 0; i < NGX_HTTP_VALIDIBOT_REQUEST_ID_LEN; i++) {
            if (!((id[i] >= '0' && id[i] <= '9')
                  || (id[i] >= 'a' && id[i] <= 'f')))
            {
                form = 0;
            }
        }

        if (id[NGX_HTTP_VALIDIBOT_REQUEST_ID_LEN] != '\0') {
            form = 0;
        }
    }

    ok(form, "32 lowercase hex, nothing written past them");

    n = 0x0102030405060708ULL;

    for (i = 0; i < 8; i++) {
        le[i] = (unsigned char) (n >> (8 * i));
    }

    ngx_http_validibot_request_id(key, n, id);
    openssl_siphash(key, le, 8, ref);
    hex(ref, 16, got);
    ok(memcmp(id, got, 32) == 0, "the counter's 8 bytes, little-endian: %s",
       got);

    ngx_http_validibot_request_id(key, n + 1, id2);
    ok(memcmp(id, id2, 32) != 0, "the next counter, another id");

    key[0] ^= 1;
    ngx_http_validibot_request_id(key, n, id2);
    ok(memcmp(id, id2, 32) != 0, "another key, another id");

    return tap_done();
}
