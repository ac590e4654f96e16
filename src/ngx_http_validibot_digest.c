
/*
 * Copyright (C) The ngx_http_validibot_module authors
 */


/* SHA256_Init() and friends are deprecated in OpenSSL 3; nginx uses -Werror */
#define OPENSSL_SUPPRESS_DEPRECATED

#include <string.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "ngx_http_validibot_digest.h"


#define NGX_HTTP_VALIDIBOT_HMAC_BLOCK  64


/* the two precomputed contexts live in the opaque state[] */
typedef char ngx_http_validibot_state_fits[
    (2 * sizeof(SHA256_CTX)
     <= sizeof(((ngx_http_validibot_hmac_t *) 0)->state)) ? 1 : -1];


static unsigned char *ngx_http_validibot_uint(unsigned char *p, unsigned n);


static const unsigned char  ngx_http_validibot_hex[] = "0123456789abcdef";


int
ngx_http_validibot_hmac_init(ngx_http_validibot_hmac_t *h, unsigned version,
    const unsigned char *key, size_t key_len)
{
    int            rc;
    size_t         i;
    SHA256_CTX     ctx[2];
    unsigned char  k[NGX_HTTP_VALIDIBOT_HMAC_BLOCK], pad[2][sizeof(k)];

    if (h == NULL || version == 0 || (key == NULL && key_len != 0)) {
        return -1;
    }

    memset(k, 0, sizeof(k));

    if (key_len > sizeof(k)) {
        if (SHA256(key, key_len, k) == NULL) {
            return -1;
        }

    } else if (key_len) {
        memcpy(k, key, key_len);
    }

    for (i = 0; i < sizeof(k); i++) {
        pad[0][i] = k[i] ^ 0x36;
        pad[1][i] = k[i] ^ 0x5c;
    }

    rc = SHA256_Init(&ctx[0]) == 1
         && SHA256_Update(&ctx[0], pad[0], sizeof(k)) == 1
         && SHA256_Init(&ctx[1]) == 1
         && SHA256_Update(&ctx[1], pad[1], sizeof(k)) == 1;

    if (rc) {
        memset(h, 0, sizeof(ngx_http_validibot_hmac_t));
        h->version = version;
        memcpy(h->state, ctx, sizeof(ctx));
    }

    OPENSSL_cleanse(k, sizeof(k));
    OPENSSL_cleanse(pad, sizeof(pad));
    OPENSSL_cleanse(ctx, sizeof(ctx));

    return rc ? 0 : -1;
}


void
ngx_http_validibot_digest(const ngx_http_validibot_hmac_t *h,
    unsigned format_version, const unsigned char *public_id, size_t pid_len,
    const unsigned char *secret, size_t secret_len, unsigned char *out)
{
    size_t         i;
    SHA256_CTX     ctx;
    unsigned char  md[SHA256_DIGEST_LENGTH], *p;

    /* "validibot-api-key\0format=" 4294967295 "\0digest=" 4294967295 ... */
    unsigned char  head[sizeof("validibot-api-key") + sizeof("format=")
                        + sizeof("digest=") + sizeof("public=")
                        + 2 * sizeof("4294967295")];

    p = head;
    memcpy(p, "validibot-api-key", sizeof("validibot-api-key"));
    p += sizeof("validibot-api-key");
    memcpy(p, "format=", sizeof("format=") - 1);
    p = ngx_http_validibot_uint(p + sizeof("format=") - 1, format_version);
    *p++ = '\0';
    memcpy(p, "digest=", sizeof("digest=") - 1);
    p = ngx_http_validibot_uint(p + sizeof("digest=") - 1, h->version);
    *p++ = '\0';
    memcpy(p, "public=", sizeof("public=") - 1);
    p += sizeof("public=") - 1;

    /* inner hash: the stored state already holds (key ^ ipad) */

    memcpy(&ctx, h->state, sizeof(SHA256_CTX));
    SHA256_Update(&ctx, head, p - head);
    SHA256_Update(&ctx, public_id, pid_len);
    SHA256_Update(&ctx, "\0secret=", sizeof("\0secret=") - 1);
    SHA256_Update(&ctx, secret, secret_len);
    SHA256_Final(md, &ctx);

    memcpy(&ctx, h->state + sizeof(SHA256_CTX), sizeof(SHA256_CTX));
    SHA256_Update(&ctx, md, sizeof(md));
    SHA256_Final(md, &ctx);

    for (i = 0; i < sizeof(md); i++) {
        out[2 * i] = ngx_http_validibot_hex[md[i] >> 4];
        out[2 * i + 1] = ngx_http_validibot_hex[md[i] & 0xf];
    }

    OPENSSL_cleanse(&ctx, sizeof(ctx));
    OPENSSL_cleanse(md, sizeof(md));
}


void
ngx_http_validibot_hmac_sha256(const ngx_http_validibot_hmac_t *h,
    const unsigned char *msg, size_t len, unsigned char *out)
{
    SHA256_CTX  ctx;

    memcpy(&ctx, h->state, sizeof(SHA256_CTX));
    SHA256_Update(&ctx, msg, len);
    SHA256_Final(out, &ctx);

    memcpy(&ctx, h->state + sizeof(SHA256_CTX), sizeof(SHA256_CTX));
    SHA256_Update(&ctx, out, SHA256_DIGEST_LENGTH);
    SHA256_Final(out, &ctx);

    OPENSSL_cleanse(&ctx, sizeof(ctx));
}


void
ngx_http_validibot_hmac_absorb(ngx_http_validibot_hmac_t *h,
    const unsigned char *data, size_t len)
{
    SHA256_CTX  ctx;

    memcpy(&ctx, h->state, sizeof(SHA256_CTX));
    SHA256_Update(&ctx, data, len);
    memcpy(h->state, &ctx, sizeof(SHA256_CTX));

    OPENSSL_cleanse(&ctx, sizeof(ctx));
}


int
ngx_http_validibot_digest_equal(const unsigned char *a, const unsigned char *b,
    size_t len)
{
    /* OpenSSL's compare does not stop at the first difference */
    return CRYPTO_memcmp(a, b, len) == 0;
}


size_t
ngx_http_validibot_digest_key_trim(const unsigned char *p, size_t len)
{
    if (len && p[len - 1] == '\n') {
        len--;

        if (len && p[len - 1] == '\r') {
            len--;
        }
    }

    return len;
}


static unsigned char *
ngx_http_validibot_uint(unsigned char *p, unsigned n)
{
    unsigned char  tmp[sizeof("4294967295") - 1], *t;

    t = tmp + sizeof(tmp);

    do {
        *--t = (unsigned char) ('0' + n % 10);
        n /= 10;
    } while (n);

    memcpy(p, t, tmp + sizeof(tmp) - t);

    return p + (tmp + sizeof(tmp) - t);
}
