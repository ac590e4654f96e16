
/*
 * Copyright (C) The ngx_http_validibot_module authors
 *
 * The digest against vectors computed independently (python3 hmac, and
 * `openssl dgst -sha256 -hmac` for the first), and against OpenSSL's
 * one-shot HMAC() for every key length around the block size.
 */


#define OPENSSL_SUPPRESS_DEPRECATED

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "tap.h"
#include "ngx_http_validibot_digest.h"


#define PID     "0123456789abcdef0123456789abcdef"
#define SECRET  "00112233445566778899aabbccddeeff" \
                "00112233445566778899aabbccddeeff"


typedef struct {
    const char  *key;           /* hex */
    unsigned     version;
    const char  *digest;
} vector_t;


/*
 * python3 -c 'import hmac, hashlib; print(hmac.new(KEY, b"\0".join([
 *     b"validibot-api-key", b"format=1", b"digest=%d" % V,
 *     b"public=" + PID, b"secret=" + SECRET]), hashlib.sha256).hexdigest())'
 */
static const vector_t  vectors[] = {
    { "746573742d6469676573742d6b6579", 1,
      "0e686ddb7c05262fd98181346ff564127a826d008d03c4480728587e0c563c0a" },
    { "746573742d6469676573742d6b6579", 2,
      "9a264220565ba658a038e9941369dd6ff45e7389d8329328e8fbd703fb52c2fd" },
    { "", 1,
      "4d865b219c3d60d1e00a91138889ae515551ba9cfbc24198c5bb995e7468cea0" },
    { "6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b"
      "6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b", 1,
      "86cc8f90e2c6467acfefa3074e2a0f67132de5aed19eaa7d7d6139c25632e650" },
    { "6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b"
      "6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b"
      "6b", 1,
      "7e1da993151718ba0fb2f6cbab574890335f4483ab56888e29d6e7faefa2d841" },
    { "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
      "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"
      "404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f"
      "606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f"
      "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"
      "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf"
      "c0c1c2c3c4c5c6c7", 7,
      "a4165d449f2c943078b475207d3e7671b714a2592152c5984da40e9ee1beaca8" },
    { "6100620a63", 4294967295u,
      "49f152a87edbc33ec248c36f7d14c1d6f50a4f0e8892356f242f0b66fd9b6b7d" }
};


static size_t
unhex(const char *s, unsigned char *out)
{
    size_t    n;
    unsigned  b;

    for (n = 0; s[2 * n]; n++) {
        sscanf(s + 2 * n, "%2x", &b);
        out[n] = (unsigned char) b;
    }

    return n;
}


/* the message built here the slow way, for HMAC() */
static size_t
message(unsigned version, unsigned char *m)
{
    int  n;

    n = sprintf((char *) m, "validibot-api-key%cformat=1%cdigest=%u%c"
                "public=" PID "%csecret=" SECRET, 0, 0, version, 0, 0);

    return (size_t) n;
}


int
main(void)
{
    size_t                      i, klen, mlen, bad;
    unsigned                    mdlen;
    unsigned char               key[256], out[65], out2[64], m[256];
    unsigned char               md[EVP_MAX_MD_SIZE], hex[65];
    ngx_http_validibot_hmac_t   h, h2;

    /* fixed vectors */

    for (i = 0; i < sizeof(vectors) / sizeof(vector_t); i++) {
        klen = unhex(vectors[i].key, key);

        ok(ngx_http_validibot_hmac_init(&h, vectors[i].version, key, klen)
           == 0 && h.version == vectors[i].version,
           "init: %zu-byte key, version %u", klen, vectors[i].version);

        memset(out, '?', sizeof(out));
        ngx_http_validibot_digest(&h, 1, (const unsigned char *) PID, 32,
                                  (const unsigned char *) SECRET, 64, out);

        ok(memcmp(out, vectors[i].digest, 64) == 0 && out[64] == '?',
           "digest: %zu-byte key, version %u, no byte past 64",
           klen, vectors[i].version);
    }

    /* the precomputed state is not consumed by a digest */

    ngx_http_validibot_hmac_init(&h, 1, (const unsigned char *) "k", 1);
    ngx_http_validibot_digest(&h, 1, (const unsigned char *) PID, 32,
                              (const unsigned char *) SECRET, 64, out);
    ngx_http_validibot_digest(&h, 1, (const unsigned char *) PID, 32,
                              (const unsigned char *) SECRET, 64, out2);
    ok(memcmp(out, out2, 64) == 0, "same digest twice from one state");

    h2 = h;
    ngx_http_validibot_digest(&h2, 1, (const unsigned char *) PID, 32,
                              (const unsigned char *) SECRET, 64, out2);
    ok(memcmp(out, out2, 64) == 0, "a copied state gives the same digest");

    /* a different secret, public id or format gives another digest */

    ngx_http_validibot_digest(&h, 1, (const unsigned char *) PID, 32,
                              (const unsigned char *) SECRET, 63, out2);
    ok(memcmp(out, out2, 64) != 0, "secret length matters");
    ngx_http_validibot_digest(&h, 2, (const unsigned char *) PID, 32,
                              (const unsigned char *) SECRET, 64, out2);
    ok(memcmp(out, out2, 64) != 0, "format version matters");

    /* every key length around the SHA-256 block, against HMAC() */

    for (bad = 0, klen = 0; klen <= 200; klen++) {
        for (i = 0; i < klen; i++) {
            key[i] = (unsigned char) (klen * 7 + i * 13);
        }

        ngx_http_validibot_hmac_init(&h, 3, key, klen);
        ngx_http_validibot_digest(&h, 1, (const unsigned char *) PID, 32,
                                  (const unsigned char *) SECRET, 64, out);

        mlen = message(3, m);
        HMAC(EVP_sha256(), key, (int) klen, m, mlen, md, &mdlen);

        for (i = 0; i < mdlen; i++) {
            sprintf((char *) hex + 2 * i, "%02x", md[i]);
        }

        bad += (mdlen != 32 || memcmp(out, hex, 64) != 0);
    }

    ok(bad == 0, "matches HMAC() for key lengths 0..200 (%zu differ)", bad);

    /*
     * a prefix absorbed once (the assertion's midstate), then the rest:
     * the same MAC as HMAC() over prefix + rest, for key lengths and
     * prefix lengths around the 64-byte block
     */

    for (i = 0; i < sizeof(m); i++) {
        m[i] = (unsigned char) (i * 31 + 5);
    }

    {
        size_t  ks[] = { 1, 32, 63, 64, 65, 100 }, k, plen;

        for (bad = 0, k = 0; k < sizeof(ks) / sizeof(ks[0]); k++) {
            for (i = 0; i < ks[k]; i++) {
                key[i] = (unsigned char) (ks[k] * 3 + i);
            }

            ngx_http_validibot_hmac_init(&h, 1, key, ks[k]);

            for (plen = 0; plen <= 200; plen++) {
                h2 = h;
                ngx_http_validibot_hmac_absorb(&h2, m, plen);
                ngx_http_validibot_hmac_sha256(&h2, m + plen,
                                               sizeof(m) - plen, out);

                HMAC(EVP_sha256(), key, (int) ks[k], m, sizeof(m), md,
                     &mdlen);

                bad += (mdlen != 32 || memcmp(out, md, 32) != 0);
            }

            /* absorbed in two pieces, across a block boundary */

            h2 = h;
            ngx_http_validibot_hmac_absorb(&h2, m, 50);
            ngx_http_validibot_hmac_absorb(&h2, m + 50, 30);
            ngx_http_validibot_hmac_sha256(&h2, m + 80, sizeof(m) - 80, out);
            HMAC(EVP_sha256(), key, (int) ks[k], m, sizeof(m), md, &mdlen);
            bad += (memcmp(out, md, 32) != 0);
        }

        ok(bad == 0, "absorbed prefix 0..200 bytes + rest = HMAC() of the "
           "whole, 6 key lengths (%zu differ)", bad);
    }

    /* init refusals */

    ok(ngx_http_validibot_hmac_init(&h, 0, key, 1) == -1, "version 0 refused");
    ok(ngx_http_validibot_hmac_init(&h, 1, NULL, 1) == -1,
       "NULL key with length refused");
    ok(ngx_http_validibot_hmac_init(&h, 1, NULL, 0) == 0,
       "NULL empty key allowed");
    ok(ngx_http_validibot_hmac_init(NULL, 1, key, 1) == -1, "NULL h refused");

    /* digest_equal */

    memcpy(out2, vectors[0].digest, 64);
    ok(ngx_http_validibot_digest_equal(
           (const unsigned char *) vectors[0].digest, out2, 64) == 1,
       "equal digests");

    out2[0] ^= 1;
    ok(ngx_http_validibot_digest_equal(
           (const unsigned char *) vectors[0].digest, out2, 64) == 0,
       "first byte differs");

    out2[0] ^= 1;
    out2[63] ^= 0x80;
    ok(ngx_http_validibot_digest_equal(
           (const unsigned char *) vectors[0].digest, out2, 64) == 0,
       "last byte differs");

    ok(ngx_http_validibot_digest_equal(
           (const unsigned char *) "0e686DDB", (const unsigned char *)
           "0e686ddb", 8) == 0, "case matters");

    ok(ngx_http_validibot_digest_equal(
           (const unsigned char *) "a", (const unsigned char *) "b", 0) == 1,
       "zero length is equal");

    /* digest_key_trim */

    ok(ngx_http_validibot_digest_key_trim(S("key\n")) == 3, "key\\n -> 3");
    ok(ngx_http_validibot_digest_key_trim(S("key\r\n")) == 3,
       "key\\r\\n -> 3");
    ok(ngx_http_validibot_digest_key_trim(S("key\n\n")) == 4,
       "key\\n\\n -> 4");
    ok(ngx_http_validibot_digest_key_trim(S("key\r")) == 4, "key\\r -> 4");
    ok(ngx_http_validibot_digest_key_trim(S("key")) == 3, "key -> 3");
    ok(ngx_http_validibot_digest_key_trim(S("\n")) == 0, "\\n -> 0");
    ok(ngx_http_validibot_digest_key_trim(S("\r\n")) == 0, "\\r\\n -> 0");
    ok(ngx_http_validibot_digest_key_trim(S("")) == 0, "empty -> 0");
    ok(ngx_http_validibot_digest_key_trim(S("k \n")) == 2,
       "trailing space kept");

    return tap_done();
}
