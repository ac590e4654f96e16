
/*
 * Copyright (C) The ngx_http_validibot_module authors
 *
 * ngx_http_validibot_request_id.c: SipHash-2-4-128 against the published
 * test vectors (key 00..0f, message 00..len-1) and against OpenSSL's own
 * SipHash (EVP_MAC "SIPHASH", size 16) for random keys and counters; the
 * request id's form.  Prints TAP.
 */


#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include "tap.h"
#include "ngx_http_validibot_request_id.h"


/* from the SipHash reference implementation's vectors.h (vectors_sip128) */
static const struct {
    size_t       len;
    const char  *hex;
} vectors[] = {
    { 0,  "a3817f04ba25a8e66df67214c7550293" },
    { 1,  "da87c1d86b99af44347659119b22fc45" },
    { 7,  "a1f1ebbed8dbc153c0b84aa61ff08239" },
    { 8,  "3b62a9ba6258f5610f83e264f31497b4" },
    { 9,  "264499060ad9baabc47f8b02bb6d71ed" },
    { 15, "5493e99933b0a8117e08ec0f97cfc3d9" },
    { 16, "6ee2a4ca67b054bbfd3315bf85230577" },
    { 63, "5150d1772f50834a503e069a973fbd7c" }
};


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
    int            same, form;
    size_t         i, k;
    uint64_t       n;
    unsigned char  key[16], msg[64], md[16], ref[16], le[8];
    unsigned char  id[NGX_HTTP_VALIDIBOT_REQUEST_ID_LEN + 1];
    unsigned char  id2[NGX_HTTP_VALIDIBOT_REQUEST_ID_LEN + 1];
    char           got[33];

    for (i = 0; i < 64; i++) {
        msg[i] = (unsigned char) i;
    }

    for (i = 0; i < 16; i++) {
        key[i] = (unsigned char) i;
    }

    for (i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
        ngx_http_validibot_siphash128(key, msg, vectors[i].len, md);
        hex(md, 16, got);
        ok(strcmp(got, vectors[i].hex) == 0, "reference vector, %zu bytes: %s",
           vectors[i].len, got);
    }

    /* OpenSSL's SipHash agrees, any key, any length */

    same = 1;

    for (k = 0; k < 200; k++) {
        if (RAND_bytes(key, sizeof(key)) != 1
            || RAND_bytes(msg, sizeof(msg)) != 1)
        {
            same = 0;
            break;
        }

        ngx_http_validibot_siphash128(key, msg, k % 64, md);

        if (openssl_siphash(key, msg, k % 64, ref) != 0
            || memcmp(md, ref, 16) != 0)
        {
            same = 0;
            break;
        }
    }

    ok(same, "OpenSSL's SIPHASH (size 16) agrees on 200 random keys/inputs");

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
