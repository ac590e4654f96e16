
/*
 * Copyright (C) The ngx_http_validibot_module authors
 *
 * The signed identity assertion: a vector made independently with
 * python3's hmac, base64 and json (and read back by PyJWT), JSON escaping,
 * and every way verification refuses.
 */


#define _GNU_SOURCE  /* memmem() */

#include <stdlib.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "tap.h"
#include "ngx_http_validibot_assertion.h"


#define KEY     "0123456789abcdef0123456789abcdef"
#define PID     "0123456789abcdef0123456789abcdef"
#define NOW     1764000000

/*
 * python3: b64(json.dumps(header)) + "." + b64(json.dumps(claims)) with
 * separators (",", ":"), signed with hmac.new(KEY, ..., sha256)
 */
#define VECTOR                                                               \
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6InRlc3QtMSJ9."              \
    "eyJpc3MiOiJ2YWxpZGlib3QtZ2F0ZXdheSIsImF1ZCI6ImFwaS5leGFtcGxlLmNvbSIs"   \
    "InN1YiI6IjciLCJvcmciOiJhY21lIiwicm9sZXMiOlsiYXV0aG9yIiwiZXhlY3V0b3Ii"   \
    "XSwia2lkIjoiMDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWYiLCJpYXQiOjE3"   \
    "NjQwMDAwMDAsImV4cCI6MTc2NDAwMDA2MCwianRpIjoiZjAwZGZlZWQiLCJodG0iOiJQ"   \
    "T1NUIiwiaHR1IjoiL2FwaS92MS9vcmdzL2FjbWUvd29ya2Zsb3dzLzEvcnVucy8ifQ."   \
    "e2PRyUNWx0vLEt5n5k_8wwCAlFfb70FoK6h3xZ1lIqo"


#define A(s)  { (const unsigned char *) (s), sizeof(s) - 1 }


static ngx_http_validibot_claims_t  base = {
    A("validibot-gateway"), A("api.example.com"), A("7"), A("acme"),
    A("author,executor"), A(PID), A("f00dfeed"), A("POST"),
    A("/api/v1/orgs/acme/workflows/1/runs/"), NOW, NOW + 60
};


static size_t
make(const ngx_http_validibot_claims_t *c,
    const ngx_http_validibot_assertion_key_t *key, unsigned char **out)
{
    size_t          n, len;
    unsigned char  *json;

    json = malloc(ngx_http_validibot_assertion_json_size(c));
    n = ngx_http_validibot_assertion_json(c, json);

    ok(n <= ngx_http_validibot_assertion_json_size(c), "json within bound");

    *out = malloc(ngx_http_validibot_assertion_size(key, n));
    len = ngx_http_validibot_assertion_sign(key, json, n, *out);

    ok(len == ngx_http_validibot_assertion_size(key, n), "exact size");

    free(json);


    return len;
}


static ngx_http_validibot_assertion_rc_e
check(const ngx_http_validibot_assertion_verify_t *v, const char *tok,
    size_t len, ngx_http_validibot_claims_t *c)
{
    static unsigned char  buf[4096];

    /* the claims point into buf until the next check */

    return ngx_http_validibot_assertion_verify(v, (const unsigned char *) tok,
                                               len, c, buf, NULL);
}


/* the payload JSON of a claims struct, NUL-terminated, until the next */
static char *
payload(const ngx_http_validibot_claims_t *c)
{
    size_t       n;
    static char  json[4096];

    n = ngx_http_validibot_assertion_json(c, (unsigned char *) json);
    json[n] = '\0';

    return json;
}


/*
 * A token over any header and payload text, signed with "key": sign()
 * with no head gives b64(head) before its '.', which then serves as the
 * head of the real one (hashed into the signer as key_init() does).
 */
static size_t
forge(const ngx_http_validibot_assertion_key_t *key, const char *head,
    const char *body, unsigned char *out)
{
    size_t                              n;
    ngx_http_validibot_assertion_key_t  k;

    k = *key;
    k.head_len = 0;
    k.pre_len = 0;
    k.signer = k.hmac;

    n = ngx_http_validibot_assertion_sign(&k, (const unsigned char *) head,
                                          strlen(head), out);
    n = (size_t) ((unsigned char *) memchr(out, '.', n) - out);

    memcpy(k.head, out, n);
    k.head[n] = '.';
    k.head_len = n + 1;
    k.signer = k.hmac;
    ngx_http_validibot_hmac_absorb(&k.signer, k.head, k.head_len);

    return ngx_http_validibot_assertion_sign(&k, (const unsigned char *) body,
                                             strlen(body), out);
}


/* base64url, unpadded, a bit at a time: nothing shared with the module's */
static size_t
ref_b64url(unsigned char *dst, const unsigned char *src, size_t len)
{
    size_t       i, n, bits;
    uint32_t     acc;
    const char  *abc;

    abc = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    acc = 0;
    bits = 0;
    n = 0;

    for (i = 0; i < len; i++) {
        acc = (acc << 8) | src[i];
        bits += 8;

        while (bits >= 6) {
            bits -= 6;
            dst[n++] = abc[(acc >> bits) & 0x3f];
        }
    }

    if (bits) {
        dst[n++] = abc[(acc << (6 - bits)) & 0x3f];
    }

    return n;
}


static uint32_t
rnd(void)
{
    static uint32_t  x = 2463534242u;

    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;

    return x;
}


/*
 * One input through both encoders (the SSSE3 one where the CPU has it, and
 * the portable one), each against ref_b64url(); the input in a buffer of
 * its own length (ASan sees a read past it) and nothing written past the
 * encoding.  Returns 1 when all agree.
 */
static int
b64url_same(const unsigned char *in, size_t len)
{
    int             scalar, same;
    size_t          n, r, i;
    unsigned char  *src, want[512], got[512];

    src = malloc(len ? len : 1);
    memcpy(src, in, len);

    r = ref_b64url(want, src, len);
    same = 1;

    for (scalar = 0; scalar < 2; scalar++) {
        memset(got, 0xaa, sizeof(got));
        n = ngx_http_validibot_assertion_b64url(got, src, len, scalar);

        if (n != r || memcmp(got, want, r) != 0) {
            same = 0;
        }

        for (i = n; i < sizeof(got); i++) {
            if (got[i] != 0xaa) {
                same = 0;
            }
        }
    }

    free(src);

    return same;
}


/*
 * base64url: the encoders against a reference for every length 0-300 of
 * random bytes, every byte value at each place of 48 bytes (each lane of
 * an SSSE3 step and the rest), bytes 0-255 in a row; and sign() against a
 * JWS built here with OpenSSL's HMAC() and the reference encoder.
 */
static void
b64url_encoders(const ngx_http_validibot_assertion_key_t *key)
{
    size_t          len, i, t, v, bad, n, r;
    unsigned int    mdlen;
    unsigned char   in[512], tok[1024], want[1024], md[EVP_MAX_MD_SIZE];
    const char     *head;

#if defined(__x86_64__) || defined(__i386__)
    ok(ngx_http_validibot_assertion_b64url_simd()
       == (__builtin_cpu_supports("ssse3") != 0),
       "base64url takes SSSE3 exactly when the CPU has it (%d)",
       ngx_http_validibot_assertion_b64url_simd());
#endif

    bad = 0;

    for (len = 0; len <= 300; len++) {
        for (t = 0; t < 20; t++) {
            for (i = 0; i < len; i++) {
                in[i] = (unsigned char) rnd();
            }

            bad += !b64url_same(in, len);
        }
    }

    ok(bad == 0, "base64url: lengths 0-300 of random bytes (%zu differ)",
       bad);

    bad = 0;

    for (v = 0; v < 256; v++) {
        for (i = 0; i < 48; i++) {
            for (t = 0; t < 48; t++) {
                in[t] = (unsigned char) rnd();
            }

            in[i] = (unsigned char) v;

            bad += !b64url_same(in, 48);
            bad += !b64url_same(in, i + 1);
        }
    }

    for (i = 0; i < 256; i++) {
        in[i] = (unsigned char) i;
    }

    for (i = 0; i < 256; i++) {
        bad += !b64url_same(in + i, 256 - i);
    }

    ok(bad == 0, "base64url: each byte value at each place (%zu differ)",
       bad);

    /* the module's way: sign() against a JWS made here */

    head = "{\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":\"test-1\"}";
    bad = 0;

    for (len = 0; len <= 300; len++) {
        for (i = 0; i < len; i++) {
            in[i] = (unsigned char) rnd();
        }

        r = ref_b64url(want, (const unsigned char *) head, strlen(head));
        want[r++] = '.';
        r += ref_b64url(want + r, in, len);

        HMAC(EVP_sha256(), KEY, sizeof(KEY) - 1, want, r, md, &mdlen);

        want[r++] = '.';
        r += ref_b64url(want + r, md, mdlen);

        n = ngx_http_validibot_assertion_sign(key, in, len, tok);

        bad += (n != r || memcmp(tok, want, r) != 0);
    }

    ok(bad == 0, "sign() against a JWS made with the reference encoder "
       "and OpenSSL's HMAC(), JSON of 0-300 bytes (%zu differ)", bad);
}


/*
 * A key with an issuer's prefix hashed in (key_prefix()) signs the very
 * bytes the same key signs without it: for kids and issuers that put the
 * prefix's end before, on and after SHA-256 block boundaries, issuers
 * with escapes and UTF-8, longer than the prefix's room, and a JSON of
 * another issuer (signed without the prefix).  Each token verifies.
 */
static void
prefix_same_tokens(void)
{
    size_t                                  i, k, il, bad, used, jn, n1, n2;
    unsigned char                           kid[64], iss[300];
    static unsigned char                    json[8192], t1[16384],
                                            t2[16384], vb[8192];
    ngx_http_validibot_claims_t             c, got;
    ngx_http_validibot_assertion_key_t      plain, pre;
    ngx_http_validibot_assertion_verify_t   v;
    static const size_t                     kls[] = { 1, 4, 9, 20, 33, 64 };

    bad = 0;
    used = 0;

    for (k = 0; k < sizeof(kls) / sizeof(kls[0]); k++) {
        memset(kid, 'k', sizeof(kid));

        if (ngx_http_validibot_assertion_key_init(&plain, kid, kls[k],
                                                  S(KEY)) != 0)
        {
            bad++;
            continue;
        }

        for (il = 1; il <= 260; il++) {
            for (i = 0; i < il; i++) {
                iss[i] = (unsigned char) ('a' + i % 26);
            }

            if (il % 7 == 0) {
                iss[il / 2] = '"';
            }

            if (il % 11 == 0) {
                iss[il - 2] = 0xc3;
                iss[il - 1] = 0xa9;
            }

            if (il % 13 == 0 && il % 11 != 0) {
                iss[il - 1] = 0xc3;     /* cut short: U+FFFD */
            }

            pre = plain;
            ngx_http_validibot_assertion_key_prefix(&pre, iss, il);

            c = base;
            c.iss.data = iss;
            c.iss.len = il;

            jn = ngx_http_validibot_assertion_json(&c, json);
            n1 = ngx_http_validibot_assertion_sign(&plain, json, jn, t1);
            n2 = ngx_http_validibot_assertion_sign(&pre, json, jn, t2);

            bad += (n1 != n2 || memcmp(t1, t2, n1) != 0
                    || n2 != ngx_http_validibot_assertion_size(&pre, jn));
            used += (pre.pre_len > 0 && memcmp(json, pre.pre, pre.pre_len)
                                        == 0);

            memset(&v, 0, sizeof(v));
            v.keys = &pre;
            v.nkeys = 1;
            v.now = NOW;
            bad += (ngx_http_validibot_assertion_verify(&v, t2, n2, &got, vb,
                                                        NULL)
                    != NGX_HTTP_VALIDIBOT_ASSERTION_OK
                    || got.iss.len != ((il % 13 || il % 11 == 0) ? il
                                                                : il + 2));

            /* another issuer than the prefix's: the whole JSON is hashed */

            c.iss.data = (const unsigned char *) "other";
            c.iss.len = 5;

            jn = ngx_http_validibot_assertion_json(&c, json);
            n1 = ngx_http_validibot_assertion_sign(&plain, json, jn, t1);
            n2 = ngx_http_validibot_assertion_sign(&pre, json, jn, t2);

            bad += (n1 != n2 || memcmp(t1, t2, n1) != 0);
        }
    }

    ok(bad == 0, "prefix: the same tokens as without, 6 kids x issuers of "
       "1..260 bytes, all verified (%zu differ)", bad);
    ok(used >= 6 * 180, "prefix: used for %zu of %d", used, 6 * 260);

    ngx_http_validibot_assertion_key_prefix(&plain, S("validibot-gateway"));
    ok(plain.pre_len == 33
       && memcmp(plain.pre, "{\"iss\":\"validibot-gateway\",\"aud\":", 33)
          == 0
       && plain.prehead_len == plain.head_len + 44,
       "prefix of the default issuer: 33 bytes, 44 of base64url");
}


/*
 * sign_memo() gives the bytes sign() gives: memo empty, holding this
 * key's claims (a hit), another key's (same memo, told apart by serial),
 * other claims, a start longer than the memo's room, no memo.
 */
static void
memo_same_tokens(const ngx_http_validibot_assertion_key_t *k1,
    const ngx_http_validibot_assertion_key_t *k2)
{
    size_t                                    i, j, bad, hits, jn, fixed,
                                              n1, n2;
    unsigned char                             sub[300];
    static unsigned char                      json[8192], t1[16384],
                                              t2[16384];
    ngx_http_validibot_claims_t               c;
    ngx_http_validibot_assertion_memo_t      *m;
    const ngx_http_validibot_assertion_key_t *k;

    m = calloc(1, sizeof(ngx_http_validibot_assertion_memo_t));
    bad = 0;
    hits = 0;

    for (i = 0; i < 600; i++) {
        c = base;
        k = (i % 5 == 4) ? k2 : k1;

        /* runs of the same claims, then others; subs up to 299 bytes */

        for (j = 0; j < (i / 4) % 300; j++) {
            sub[j] = (unsigned char) ('a' + j % 26);
        }

        c.sub.data = sub;
        c.sub.len = (i / 4) % 300;
        c.aud.len = (i % 8 == 7) ? 3 : c.aud.len;
        c.iat = NOW + (int64_t) i;
        c.exp = c.iat + 60;

        jn = ngx_http_validibot_assertion_json_fixed(&c, json, &fixed);
        bad += (fixed + sizeof(",\"iat\":") - 1 > jn
                || memcmp(json + fixed, ",\"iat\":", 7) != 0);

        hits += (m->serial == k->serial && m->json_len > k->pre_len
                 && memcmp(m->json, json, m->json_len) == 0);

        n1 = ngx_http_validibot_assertion_sign(k, json, jn, t1);
        n2 = ngx_http_validibot_assertion_sign_memo(k, m, json, jn, fixed, t2);
        bad += (n1 != n2 || memcmp(t1, t2, n1) != 0);

        n2 = ngx_http_validibot_assertion_sign_memo(k, NULL, json, jn, fixed,
                                                    t2);
        bad += (n1 != n2 || memcmp(t1, t2, n1) != 0);
    }

    ok(bad == 0, "memo: the same tokens as sign(), 600 claims (%zu differ)",
       bad);
    ok(hits > 200 && hits < 600, "memo: %zu hits", hits);

    free(m);
}


/*
 * Public ids (32 random hex digits) spread over the 256 memos; short ids
 * stay in range; the slot depends on the whole last 16 bytes.
 */
static void
memo_slots(void)
{
    size_t         i, j, slot, min, max, out, count[256];
    unsigned char  id[32];

    static const char  hex[] = "0123456789abcdef";

    memset(count, 0, sizeof(count));
    srand(7);
    out = 0;

    for (i = 0; i < 25600; i++) {
        for (j = 0; j < sizeof(id); j++) {
            id[j] = hex[rand() % 16];
        }

        slot = ngx_http_validibot_assertion_memo_slot(id, sizeof(id), 8);
        out += (slot >= 256);
        count[slot & 255]++;

        slot = ngx_http_validibot_assertion_memo_slot(id, i % 16, 8);
        out += (slot >= 256);
    }

    min = 25600;
    max = 0;

    for (i = 0; i < 256; i++) {
        min = (count[i] < min) ? count[i] : min;
        max = (count[i] > max) ? count[i] : max;
    }

    ok(out == 0, "memo slot: always in range");
    ok(min >= 50 && max <= 160, "memo slot: 25,600 ids, %zu to %zu a slot "
       "(100 expected)", min, max);

    /* one digit changed anywhere in the last 16: another slot, mostly */

    memcpy(id, "0123456789abcdef0123456789abcdef", sizeof(id));
    slot = ngx_http_validibot_assertion_memo_slot(id, sizeof(id), 8);
    out = 0;

    for (j = 16; j < sizeof(id); j++) {
        id[j] ^= 1;
        out += (ngx_http_validibot_assertion_memo_slot(id, sizeof(id), 8)
                != slot);
        id[j] ^= 1;
    }

    ok(out >= 14, "memo slot: %zu of 16 one-digit changes move it", out);
}


/*
 * The module's way (memo_tail(), else sign_memo() and memo_keep()) gives
 * the bytes sign() gives, on hits after a change of each claim the memo
 * keeps (iss, aud, sub, org, roles, kid), of the key, and of iat to htu;
 * claims that write the same JSON from other bytes ("a,,b" roles) are not
 * hits; claims longer than the memo's room never are.
 */
static void
memo_tail_tokens(const ngx_http_validibot_assertion_key_t *k1,
    const ngx_http_validibot_assertion_key_t *k2)
{
    size_t                                    i, bad, hits, expect, jn,
                                              fixed, n1, n2, tn, sec;
    unsigned char                             big[300];
    static unsigned char                      json[8192], tail[8192],
                                              t1[16384], t2[16384];
    ngx_http_validibot_claims_t               c;
    ngx_http_validibot_assertion_memo_t      *m;
    const ngx_http_validibot_assertion_key_t *k;

    m = calloc(1, sizeof(ngx_http_validibot_assertion_memo_t));
    memset(big, 'x', sizeof(big));
    bad = 0;
    hits = 0;
    expect = 0;
    sec = 0;

    for (i = 0; i < 1200; i++) {
        c = base;
        k = k1;

        /* each change for 8 requests in a row: the first misses */

        switch ((i / 8) % 14) {
        case 1: c.roles = (ngx_http_validibot_astr_t) A("author"); break;
        case 2: c.roles = (ngx_http_validibot_astr_t) A("author,,executor");
                break;
        case 3: c.org = (ngx_http_validibot_astr_t) A("acmf"); break;
        case 4: c.org.len = 0; break;
        case 5: c.org.len = 0; c.roles.len = 0; break;
        case 6: c.aud = (ngx_http_validibot_astr_t) A("api.example.org");
                break;
        case 7: k = k2; break;
        case 8: c.iss = (ngx_http_validibot_astr_t) A("validibot-gatewaz");
                break;
        case 9: c.sub = (ngx_http_validibot_astr_t) A("8"); break;
        case 10: c.kid.len--; break;
        case 11: c.sub.data = big; c.sub.len = sizeof(big); break;
        case 12: c.aud = (ngx_http_validibot_astr_t) A("a\"\\\x01\xc3");
                 break;
        case 13: c.roles = (ngx_http_validibot_astr_t)
                     A("author,,executor");
                 break;
        }

        /*
         * a second lasts 3 requests, and exp changes within some of them
         * (another ttl): the memo's level for iat and exp is made again
         */
        c.iat = NOW + (int64_t) (i / 3);
        c.exp = c.iat + 60 * (int64_t) ((i / 2) % 2);
        c.jti.len = i % 9;
        c.htu.len = i % 36;
        c.htm.len = i % 5;

        expect += ((i % 8) != 0 && (i / 8) % 14 != 11);

        jn = ngx_http_validibot_assertion_json_fixed(&c, json, &fixed);
        n1 = ngx_http_validibot_assertion_sign(k, json, jn, t1);

        tn = ngx_http_validibot_assertion_memo_tail(k, m, &c, tail);

        if (tn) {
            hits++;
            bad += (ngx_http_validibot_assertion_memo_size(k, m, tn) != n1);

            /* hashed once a second, not per request */
            sec += (memmem(tail, tn, "\"iat\"", 5) == NULL
                    && memmem(tail, tn, "\"exp\"", 5) == NULL
                    && m->sec_iat == c.iat && m->sec_exp == c.exp);

            n2 = ngx_http_validibot_assertion_sign_tail(k, m, tail, tn, t2);

        } else {
            n2 = ngx_http_validibot_assertion_sign_memo(k, m, json, jn, fixed,
                                                        t2);
            ngx_http_validibot_assertion_memo_keep(k, m, &c, json, fixed);
        }

        bad += (n1 != n2 || memcmp(t1, t2, n1) != 0);
    }

    ok(bad == 0, "memo tail: the same tokens as sign(), 1200 claims "
       "(%zu differ)", bad);
    ok(hits == expect, "memo tail: %zu hits, %zu expected", hits, expect);
    ok(sec == hits, "memo tail: %zu of %zu hits from jti on", sec, hits);

    free(m);
}


int
main(void)
{
    char                                *json;
    size_t                               len, idx, n;
    unsigned char                       *tok, buf[2048], f[2048];
    ngx_http_validibot_claims_t          c, got;
    ngx_http_validibot_assertion_key_t   keys[2], other;
    ngx_http_validibot_assertion_verify_t  v;

    /* keys */

    ok(ngx_http_validibot_assertion_key_init(&keys[0], S("test-1"), S(KEY))
       == 0, "key init");
    ok(ngx_http_validibot_assertion_key_init(&keys[1], S("test-2"),
                                             S(KEY "x")) == 0,
       "second key");
    ok(ngx_http_validibot_assertion_key_init(&other, S("test-1"),
                                             S("another key, 32 bytes long...."
                                               "..")) == 0,
       "other key with the first kid");
    ok(ngx_http_validibot_assertion_key_init(&other, S("short"),
                                             S("0123456789abcdef0123456789abcde"))
       == -1, "a 31-byte key is refused");
    ok(ngx_http_validibot_assertion_key_init(&other, S("a/b"), S(KEY)) == -1,
       "a kid with a slash is refused");
    ok(ngx_http_validibot_assertion_key_init(&other, S(""), S(KEY)) == -1,
       "an empty kid is refused");
    ok(ngx_http_validibot_assertion_kid_valid(S("2026-01_a.B")),
       "kid alphabet");
    ok(!ngx_http_validibot_assertion_kid_valid(S("x\"y")), "no quote in kid");
    ok(ngx_http_validibot_assertion_key_init(&other, S("test-1"),
                                             S("another key, 32 bytes long...."
                                               "..")) == 0,
       "other key again");

    /* the independent vector */

    len = make(&base, &keys[0], &tok);

    ok(len == sizeof(VECTOR) - 1 && memcmp(tok, VECTOR, len) == 0,
       "the python vector, byte for byte");

    memset(&v, 0, sizeof(v));
    v.keys = keys;
    v.nkeys = 2;
    v.now = NOW + 30;

    ok(check(&v, VECTOR, sizeof(VECTOR) - 1, &got)
       == NGX_HTTP_VALIDIBOT_ASSERTION_OK, "vector verifies");

    /* claims decoded */

    memset(buf, 0, sizeof(buf));
    ok(ngx_http_validibot_assertion_verify(&v, tok, len, &got, buf, &idx)
       == NGX_HTTP_VALIDIBOT_ASSERTION_OK && idx == 0, "verify, kid index 0");
    ok(got.sub.len == 1 && got.sub.data[0] == '7', "sub");
    ok(got.roles.len == 15 && memcmp(got.roles.data, "author,executor", 15)
       == 0, "roles joined");
    ok(got.iat == NOW && got.exp == NOW + 60, "iat, exp");
    ok(got.htu.len == base.htu.len
       && memcmp(got.htu.data, base.htu.data, got.htu.len) == 0, "htu");
    free(tok);

    /* expectations */

    v.iss = base.iss;
    v.aud = base.aud;
    v.htm = base.htm;
    v.htu = base.htu;
    ok(check(&v, VECTOR, sizeof(VECTOR) - 1, &got)
       == NGX_HTTP_VALIDIBOT_ASSERTION_OK, "all expectations met");

    v.htu = (ngx_http_validibot_astr_t) A("/api/v1/orgs/acme/workflows/2/runs/");
    ok(check(&v, VECTOR, sizeof(VECTOR) - 1, &got)
       == NGX_HTTP_VALIDIBOT_ASSERTION_PATH, "another path: refused");
    v.htu = base.htu;

    v.htm = (ngx_http_validibot_astr_t) A("GET");
    ok(check(&v, VECTOR, sizeof(VECTOR) - 1, &got)
       == NGX_HTTP_VALIDIBOT_ASSERTION_METHOD, "another method: refused");
    v.htm = base.htm;

    v.aud = (ngx_http_validibot_astr_t) A("evil.example.com");
    ok(check(&v, VECTOR, sizeof(VECTOR) - 1, &got)
       == NGX_HTTP_VALIDIBOT_ASSERTION_AUDIENCE, "another audience: refused");
    v.aud = base.aud;

    v.iss = (ngx_http_validibot_astr_t) A("someone");
    ok(check(&v, VECTOR, sizeof(VECTOR) - 1, &got)
       == NGX_HTTP_VALIDIBOT_ASSERTION_ISSUER, "another issuer: refused");
    v.iss = base.iss;

    /* time */

    v.now = NOW + 60;
    ok(check(&v, VECTOR, sizeof(VECTOR) - 1, &got)
       == NGX_HTTP_VALIDIBOT_ASSERTION_EXPIRED, "at exp: expired");
    v.leeway = 5;
    ok(check(&v, VECTOR, sizeof(VECTOR) - 1, &got)
       == NGX_HTTP_VALIDIBOT_ASSERTION_OK, "at exp with leeway: valid");
    v.now = NOW - 6;
    ok(check(&v, VECTOR, sizeof(VECTOR) - 1, &got)
       == NGX_HTTP_VALIDIBOT_ASSERTION_FUTURE, "before iat - leeway: refused");
    v.now = NOW - 5;
    ok(check(&v, VECTOR, sizeof(VECTOR) - 1, &got)
       == NGX_HTTP_VALIDIBOT_ASSERTION_OK, "iat within leeway: valid");
    v.now = NOW + 30;
    v.leeway = 0;

    /* keys */

    v.keys = &other;
    v.nkeys = 1;
    ok(check(&v, VECTOR, sizeof(VECTOR) - 1, &got)
       == NGX_HTTP_VALIDIBOT_ASSERTION_SIGNATURE, "same kid, other key");

    v.keys = &keys[1];
    ok(check(&v, VECTOR, sizeof(VECTOR) - 1, &got)
       == NGX_HTTP_VALIDIBOT_ASSERTION_KID, "unknown kid");

    /* rotation: signed by the second key, verified with both */

    len = make(&base, &keys[1], &tok);
    v.keys = keys;
    v.nkeys = 2;
    ok(ngx_http_validibot_assertion_verify(&v, tok, len, &got, buf, &idx)
       == NGX_HTTP_VALIDIBOT_ASSERTION_OK && idx == 1,
       "signed by test-2, verified by its kid");

    /* every single-byte change is refused */

    n = 0;

    for (idx = 0; idx < len; idx++) {
        unsigned char  saved = tok[idx];

        tok[idx] = (saved == 'A') ? 'B' : 'A';

        if (ngx_http_validibot_assertion_verify(&v, tok, len, &got, buf, NULL)
            == NGX_HTTP_VALIDIBOT_ASSERTION_OK)
        {
            n++;
        }

        tok[idx] = saved;
    }

    ok(n == 0, "no one-byte change verifies (%zu did)", n);

    ok(check(&v, (char *) tok, len - 1, &got)
       != NGX_HTTP_VALIDIBOT_ASSERTION_OK, "truncated");
    free(tok);

    ok(check(&v, "a.b", 3, &got) == NGX_HTTP_VALIDIBOT_ASSERTION_MALFORMED,
       "two parts");
    ok(check(&v, "a.b.c.d", 7, &got) == NGX_HTTP_VALIDIBOT_ASSERTION_MALFORMED,
       "four parts");
    ok(check(&v, "", 0, &got) == NGX_HTTP_VALIDIBOT_ASSERTION_MALFORMED,
       "empty");

    /* headers: alg none, alg HS512, no kid, crit, padding */

    len = forge(&keys[0], "{\"alg\":\"none\",\"kid\":\"test-1\"}",
                payload(&base), f);
    ok(check(&v, (char *) f, len, &got) == NGX_HTTP_VALIDIBOT_ASSERTION_ALG,
       "alg none");

    len = forge(&keys[0], "{\"alg\":\"HS512\",\"kid\":\"test-1\"}",
                payload(&base), f);
    ok(check(&v, (char *) f, len, &got) == NGX_HTTP_VALIDIBOT_ASSERTION_ALG,
       "alg HS512");

    len = forge(&keys[0], "{\"alg\":\"HS256\"}", payload(&base), f);
    ok(check(&v, (char *) f, len, &got) == NGX_HTTP_VALIDIBOT_ASSERTION_KID,
       "no kid");

    len = forge(&keys[0], "{\"alg\":\"HS256\",\"kid\":\"test-1\",\"crit\":"
                "[\"x\"]}", payload(&base), f);
    ok(check(&v, (char *) f, len, &got)
       == NGX_HTTP_VALIDIBOT_ASSERTION_MALFORMED, "crit");

    len = forge(&keys[0], "{\"alg\":\"HS256\",\"kid\":\"test-1\",\"x\":1}",
                payload(&base), f);
    ok(check(&v, (char *) f, len, &got) == NGX_HTTP_VALIDIBOT_ASSERTION_OK,
       "an unknown header member is fine");

    /* claims: missing, twice, mistyped (no expectations from here) */

    memset(&v.iss, 0, sizeof(v.iss));
    memset(&v.aud, 0, sizeof(v.aud));
    memset(&v.htm, 0, sizeof(v.htm));
    memset(&v.htu, 0, sizeof(v.htu));

    len = forge(&keys[0], "{\"alg\":\"HS256\",\"kid\":\"test-1\"}",
                "{\"iss\":\"i\",\"aud\":\"a\",\"sub\":\"7\",\"kid\":\"k\","
                "\"iat\":1764000000,\"exp\":1764000060,\"jti\":\"j\","
                "\"htm\":\"GET\"}", f);
    ok(check(&v, (char *) f, len, &got) == NGX_HTTP_VALIDIBOT_ASSERTION_CLAIMS,
       "no htu");

    len = forge(&keys[0], "{\"alg\":\"HS256\",\"kid\":\"test-1\"}",
                "{\"iss\":\"i\",\"aud\":\"a\",\"sub\":\"7\",\"kid\":\"k\","
                "\"iat\":1764000000,\"exp\":1764000060,\"jti\":\"j\","
                "\"htm\":\"GET\",\"htu\":\"/\",\"htu\":\"/x\"}", f);
    ok(check(&v, (char *) f, len, &got)
       == NGX_HTTP_VALIDIBOT_ASSERTION_MALFORMED, "htu twice");

    len = forge(&keys[0], "{\"alg\":\"HS256\",\"kid\":\"test-1\"}",
                "{\"iss\":\"i\",\"aud\":\"a\",\"sub\":\"7\",\"kid\":\"k\","
                "\"iat\":1764000000,\"exp\":\"1764000060\",\"jti\":\"j\","
                "\"htm\":\"GET\",\"htu\":\"/\"}", f);
    ok(check(&v, (char *) f, len, &got)
       == NGX_HTTP_VALIDIBOT_ASSERTION_MALFORMED, "exp as a string");

    len = forge(&keys[0], "{\"alg\":\"HS256\",\"kid\":\"test-1\"}",
                " {\"iss\":\"i\", \"aud\":\"a\",\"sub\":\"7\",\"kid\":\"k\","
                "\"iat\":1764000000,\"exp\":1764000060,\"jti\":\"j\","
                "\"htm\":\"GET\",\"htu\":\"/\\u00e9\\ud83d\\ude00\","
                "\"extra\":[\"a\"],\"n\":null,\"f\":1.5e3} ", f);
    ok(check(&v, (char *) f, len, &got) == NGX_HTTP_VALIDIBOT_ASSERTION_OK
       && got.htu.len == 7
       && memcmp(got.htu.data, "/\xc3\xa9\xf0\x9f\x98\x80", 7) == 0,
       "spaces, \\u escapes with a surrogate pair, other members");

    len = forge(&keys[0], "{\"alg\":\"HS256\",\"kid\":\"test-1\"}",
                "{\"iss\":\"i\",\"aud\":\"a\",\"sub\":\"7\",\"kid\":\"k\","
                "\"iat\":1764000000,\"exp\":1764000060,\"jti\":\"j\","
                "\"htm\":\"GET\",\"htu\":\"/\\udc00\"}", f);
    ok(check(&v, (char *) f, len, &got)
       == NGX_HTTP_VALIDIBOT_ASSERTION_MALFORMED, "lone low surrogate");

    len = forge(&keys[0], "{\"alg\":\"HS256\",\"kid\":\"test-1\"}",
                "{\"iss\":\"i\",\"aud\":\"a\",\"sub\":\"7\",\"kid\":\"k\","
                "\"iat\":1764000000,\"exp\":1764000060,\"jti\":\"j\","
                "\"htm\":\"GET\",\"htu\":\"/\"} x", f);
    ok(check(&v, (char *) f, len, &got)
       == NGX_HTTP_VALIDIBOT_ASSERTION_MALFORMED, "trailing text");

    /* escaping: quotes, backslashes, controls, UTF-8, invalid bytes */

    c = base;
    c.sub = (ngx_http_validibot_astr_t) A("a\"b\\c\x01\x7f\xc3\xa9\xff\xc3");
    c.org.len = 0;
    json = payload(&c);
    ok(strstr(json, "\"sub\":\"a\\\"b\\\\c\\u0001\\u007f\xc3\xa9"
                    "\xef\xbf\xbd\xef\xbf\xbd\"") != NULL, "escaped: %s", json);
    ok(strstr(json, "\"org\"") == NULL && strstr(json, "\"roles\"") == NULL,
       "no org: neither org nor roles");

    c = base;
    c.roles = (ngx_http_validibot_astr_t) A("");
    json = payload(&c);
    ok(strstr(json, "\"roles\":[]") != NULL, "org, no role: []");

    c = base;
    c.roles = (ngx_http_validibot_astr_t) A("owner");
    json = payload(&c);
    ok(strstr(json, "\"roles\":[\"owner\"]") != NULL, "one role");

    /* what was escaped reads back the same (invalid bytes aside) */

    c = base;
    c.htu = (ngx_http_validibot_astr_t) A("/a\"b\\c\x01\xc3\xa9/");
    len = make(&c, &keys[0], &tok);
    v.htu = c.htu;
    ok(ngx_http_validibot_assertion_verify(&v, tok, len, &got, buf, NULL)
       == NGX_HTTP_VALIDIBOT_ASSERTION_OK, "escaped htu round trip");
    free(tok);

    ok(strcmp(ngx_http_validibot_assertion_strerror(
                  NGX_HTTP_VALIDIBOT_ASSERTION_EXPIRED), "expired") == 0,
       "strerror");

    b64url_encoders(&keys[0]);

    prefix_same_tokens();
    memo_slots();
    memo_same_tokens(&keys[0], &keys[1]);
    memo_tail_tokens(&keys[0], &keys[1]);

    ngx_http_validibot_assertion_key_prefix(&keys[0], S("validibot-gateway"));
    memo_same_tokens(&keys[0], &keys[1]);
    memo_tail_tokens(&keys[0], &keys[1]);

    return tap_done();
}
