
/*
 * Copyright (C) The ngx_http_validibot_module authors
 */


#include <string.h>
#include <openssl/sha.h>

#include "ngx_http_validibot_assertion.h"
#include "ngx_http_validibot_json.h"


/*
 * base64url with SSSE3 where the CPU has it (checked at load): 12 bytes
 * to 16 characters a step, 2-3 times faster than a table per byte on the
 * signature, 4-6 times on the claims (docs/performance.md); the portable
 * loop does the rest and other CPUs.
 */
#if (defined(__x86_64__) || defined(__i386__))                               \
    && (defined(__clang__) || __GNUC__ > 4                                   \
        || (__GNUC__ == 4 && __GNUC_MINOR__ >= 9))
#define NGX_HTTP_VALIDIBOT_B64_SSSE3  1
#include <tmmintrin.h>
#endif


#define NGX_HTTP_VALIDIBOT_INT64_LEN  (sizeof("-9223372036854775808") - 1)

/* a literal of the JSON at p */
#define ngx_http_validibot_lit(s)                                            \
    memcpy(p, s, sizeof(s) - 1); p += sizeof(s) - 1

/* claims seen, for "present" and "given twice" */
#define NGX_HTTP_VALIDIBOT_A_ISS    0x0001
#define NGX_HTTP_VALIDIBOT_A_AUD    0x0002
#define NGX_HTTP_VALIDIBOT_A_SUB    0x0004
#define NGX_HTTP_VALIDIBOT_A_ORG    0x0008
#define NGX_HTTP_VALIDIBOT_A_ROLES  0x0010
#define NGX_HTTP_VALIDIBOT_A_KID    0x0020
#define NGX_HTTP_VALIDIBOT_A_IAT    0x0040
#define NGX_HTTP_VALIDIBOT_A_EXP    0x0080
#define NGX_HTTP_VALIDIBOT_A_JTI    0x0100
#define NGX_HTTP_VALIDIBOT_A_HTM    0x0200
#define NGX_HTTP_VALIDIBOT_A_HTU    0x0400
#define NGX_HTTP_VALIDIBOT_A_ALG    0x0800
#define NGX_HTTP_VALIDIBOT_A_TYP    0x1000

#define NGX_HTTP_VALIDIBOT_A_REQUIRED                                        \
    (NGX_HTTP_VALIDIBOT_A_ISS|NGX_HTTP_VALIDIBOT_A_AUD|NGX_HTTP_VALIDIBOT_A_SUB \
     |NGX_HTTP_VALIDIBOT_A_KID|NGX_HTTP_VALIDIBOT_A_IAT                       \
     |NGX_HTTP_VALIDIBOT_A_EXP|NGX_HTTP_VALIDIBOT_A_JTI                       \
     |NGX_HTTP_VALIDIBOT_A_HTM|NGX_HTTP_VALIDIBOT_A_HTU)


typedef struct {
    unsigned char  *p;
    unsigned char  *end;
} ngx_http_validibot_jp_t;


typedef struct {
    const char  *name;
    unsigned     bit;
    size_t       offset;       /* of the string in the claims; 0: not one */
} ngx_http_validibot_claim_t;


static unsigned char *ngx_http_validibot_json_str(unsigned char *p,
    const ngx_http_validibot_astr_t *s);
static unsigned char *ngx_http_validibot_json_roles(unsigned char *p,
    const ngx_http_validibot_astr_t *s);
static unsigned char *ngx_http_validibot_json_int(unsigned char *p,
    int64_t n);
static unsigned char *ngx_http_validibot_json_tail(unsigned char *p,
    const ngx_http_validibot_claims_t *c);
static unsigned char *ngx_http_validibot_json_sec(unsigned char *p,
    const ngx_http_validibot_claims_t *c);
static unsigned char *ngx_http_validibot_json_jti(unsigned char *p,
    const ngx_http_validibot_claims_t *c);
static void ngx_http_validibot_assertion_memo_sec(
    ngx_http_validibot_assertion_memo_t *m,
    const ngx_http_validibot_claims_t *c);
static size_t ngx_http_validibot_assertion_sign_after(
    const ngx_http_validibot_assertion_key_t *key,
    const unsigned char *b64, size_t b64_len, const unsigned char *sec,
    size_t sec_len, const ngx_http_validibot_hmac_t *state,
    const unsigned char *tail, size_t tail_len, unsigned char *out);
static size_t ngx_http_validibot_b64url(unsigned char *dst,
    const unsigned char *src, size_t len);
static size_t ngx_http_validibot_b64url_scalar(unsigned char *dst,
    const unsigned char *src, size_t len);
#if (NGX_HTTP_VALIDIBOT_B64_SSSE3)
static size_t ngx_http_validibot_b64url_ssse3(unsigned char *dst,
    const unsigned char *src, size_t len);
static void ngx_http_validibot_b64url_init(void)
    __attribute__((constructor));
#endif
static int ngx_http_validibot_unb64url(unsigned char *dst, size_t *dlen,
    const unsigned char *src, size_t len);
static void ngx_http_validibot_jp_ws(ngx_http_validibot_jp_t *jp);
static int ngx_http_validibot_jp_str(ngx_http_validibot_jp_t *jp,
    ngx_http_validibot_astr_t *out);
static int ngx_http_validibot_jp_int(ngx_http_validibot_jp_t *jp,
    int64_t *v);
static int ngx_http_validibot_jp_roles(ngx_http_validibot_jp_t *jp,
    ngx_http_validibot_astr_t *out);
static int ngx_http_validibot_jp_other(ngx_http_validibot_jp_t *jp);
static int ngx_http_validibot_jp_object(ngx_http_validibot_jp_t *jp,
    ngx_http_validibot_claims_t *c, unsigned *seen, int header);
static int ngx_http_validibot_astr_eq(const ngx_http_validibot_astr_t *a,
    const char *s);
static int ngx_http_validibot_astr_same(const ngx_http_validibot_astr_t *a,
    const ngx_http_validibot_astr_t *b);


/* tells keys apart in memos, across reloads too */
static uint64_t  ngx_http_validibot_assertion_serial;


static const char  ngx_http_validibot_b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

#if (NGX_HTTP_VALIDIBOT_B64_SSSE3)
static int  ngx_http_validibot_b64_ssse3;
#endif


#define ngx_http_validibot_claim(name, bit, field)                           \
    { name, NGX_HTTP_VALIDIBOT_A_##bit,                                      \
      offsetof(ngx_http_validibot_claims_t, field) }

/* the claims a memo keeps as given, in order */
static const size_t  ngx_http_validibot_memo_in[] = {
    offsetof(ngx_http_validibot_claims_t, iss),
    offsetof(ngx_http_validibot_claims_t, aud),
    offsetof(ngx_http_validibot_claims_t, sub),
    offsetof(ngx_http_validibot_claims_t, org),
    offsetof(ngx_http_validibot_claims_t, roles),
    offsetof(ngx_http_validibot_claims_t, kid)
};

/* iat, exp and roles are not strings: offset 0 (iss's) is never theirs */
static const ngx_http_validibot_claim_t  ngx_http_validibot_claims[] = {
    ngx_http_validibot_claim("iss", ISS, iss),
    ngx_http_validibot_claim("aud", AUD, aud),
    ngx_http_validibot_claim("sub", SUB, sub),
    ngx_http_validibot_claim("org", ORG, org),
    ngx_http_validibot_claim("kid", KID, kid),
    ngx_http_validibot_claim("jti", JTI, jti),
    ngx_http_validibot_claim("htm", HTM, htm),
    ngx_http_validibot_claim("htu", HTU, htu),
    { "roles", NGX_HTTP_VALIDIBOT_A_ROLES, 0 },
    { "iat", NGX_HTTP_VALIDIBOT_A_IAT, 0 },
    { "exp", NGX_HTTP_VALIDIBOT_A_EXP, 0 },
    { NULL, 0, 0 }
};


static const char  *ngx_http_validibot_assertion_errors[] = {
    "valid",
    "malformed",
    "unsupported algorithm",
    "unknown key id",
    "bad signature",
    "missing or mistyped claim",
    "expired",
    "issued in the future",
    "wrong issuer",
    "wrong audience",
    "wrong method",
    "wrong path"
};


int
ngx_http_validibot_assertion_kid_valid(const unsigned char *kid, size_t len)
{
    size_t         i;
    unsigned char  ch;

    if (len == 0 || len > NGX_HTTP_VALIDIBOT_ASSERTION_KID_MAX) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        ch = kid[i];

        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')
            || (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-')
        {
            continue;
        }

        return 0;
    }

    return 1;
}


int
ngx_http_validibot_assertion_key_init(ngx_http_validibot_assertion_key_t *key,
    const unsigned char *kid, size_t kid_len, const unsigned char *secret,
    size_t secret_len)
{
    size_t         n;
    unsigned char  json[sizeof("{\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":\"\"}")
                        + NGX_HTTP_VALIDIBOT_ASSERTION_KID_MAX];

    if (!ngx_http_validibot_assertion_kid_valid(kid, kid_len)
        || secret_len < NGX_HTTP_VALIDIBOT_ASSERTION_KEY_MIN)
    {
        return -1;
    }

    memset(key, 0, sizeof(ngx_http_validibot_assertion_key_t));

    if (ngx_http_validibot_hmac_init(&key->hmac, 1, secret, secret_len) != 0) {
        return -1;
    }

    memcpy(key->kid, kid, kid_len);
    key->kid_len = kid_len;

    /* the kid needs no escaping: its alphabet has no JSON specials */

    n = sizeof("{\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":\"") - 1;
    memcpy(json, "{\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":\"", n);
    memcpy(json + n, kid, kid_len);
    n += kid_len;
    json[n++] = '"';
    json[n++] = '}';

    key->head_len = ngx_http_validibot_b64url(key->head, json, n);
    key->head[key->head_len++] = '.';

    /* every signature starts with the same header: hash it once */

    key->signer = key->hmac;
    ngx_http_validibot_hmac_absorb(&key->signer, key->head, key->head_len);

    key->serial = ++ngx_http_validibot_assertion_serial;

    return 0;
}


/*
 * SHA-256 compresses 64-byte blocks: the whole blocks of the signing input
 * that are the same in every token of this key and issuer (the JWS header,
 * then the JSON up to the audience's value) are hashed here once, not per
 * request.  Whole 3-byte groups of the JSON only: their base64url does not
 * depend on what follows.
 */

void
ngx_http_validibot_assertion_key_prefix(
    ngx_http_validibot_assertion_key_t *key, const unsigned char *iss,
    size_t len)
{
    size_t          n, cut;
    unsigned char   json[sizeof("{\"iss\":\"\",\"aud\":")
                         + 6 * NGX_HTTP_VALIDIBOT_ASSERTION_PRE_MAX], *p;

    cut = 0;

    if (len > NGX_HTTP_VALIDIBOT_ASSERTION_PRE_MAX) {
        len = NGX_HTTP_VALIDIBOT_ASSERTION_PRE_MAX;

        /*
         * a UTF-8 sequence cut here is quoted otherwise (up to 3 bytes,
         * 3 each as U+FFFD), and the closing quote: drop them
         */
        cut = 10;
    }

    p = json;
    memcpy(p, "{\"iss\":", sizeof("{\"iss\":") - 1);
    p += sizeof("{\"iss\":") - 1;
    p = ngx_http_validibot_json_quote(p, iss, len);

    if (cut == 0) {
        memcpy(p, ",\"aud\":", sizeof(",\"aud\":") - 1);
        p += sizeof(",\"aud\":") - 1;
    }

    n = p - json;
    n = (n > cut) ? n - cut : 0;

    if (n > NGX_HTTP_VALIDIBOT_ASSERTION_PRE_MAX) {
        n = NGX_HTTP_VALIDIBOT_ASSERTION_PRE_MAX;
    }

    n -= n % 3;

    memcpy(key->pre, json, n);
    key->pre_len = n;
    key->prehead_len = key->head_len
                       + ngx_http_validibot_b64url(key->head + key->head_len,
                                                   json, n);

    key->presigner = key->hmac;
    ngx_http_validibot_hmac_absorb(&key->presigner, key->head,
                                   key->prehead_len);
}


size_t
ngx_http_validibot_assertion_json_size(const ngx_http_validibot_claims_t *c)
{
    /* a byte becomes at most "\u00XX"; the fixed text is < 128 */

    return 128 + 2 * NGX_HTTP_VALIDIBOT_INT64_LEN
           + 6 * (c->iss.len + c->aud.len + c->sub.len + c->org.len
                  + c->roles.len + c->kid.len + c->jti.len + c->htm.len
                  + c->htu.len);
}


size_t
ngx_http_validibot_assertion_json(const ngx_http_validibot_claims_t *c,
    unsigned char *buf)
{
    size_t  fixed;

    return ngx_http_validibot_assertion_json_fixed(c, buf, &fixed);
}


size_t
ngx_http_validibot_assertion_json_fixed(const ngx_http_validibot_claims_t *c,
    unsigned char *buf, size_t *fixed)
{
    unsigned char  *p;

    p = buf;

    ngx_http_validibot_lit("{\"iss\":");
    p = ngx_http_validibot_json_str(p, &c->iss);
    ngx_http_validibot_lit(",\"aud\":");
    p = ngx_http_validibot_json_str(p, &c->aud);
    ngx_http_validibot_lit(",\"sub\":");
    p = ngx_http_validibot_json_str(p, &c->sub);

    if (c->org.len) {
        ngx_http_validibot_lit(",\"org\":");
        p = ngx_http_validibot_json_str(p, &c->org);
        ngx_http_validibot_lit(",\"roles\":");
        p = ngx_http_validibot_json_roles(p, &c->roles);
    }

    ngx_http_validibot_lit(",\"kid\":");
    p = ngx_http_validibot_json_str(p, &c->kid);
    *fixed = p - buf;

    p = ngx_http_validibot_json_tail(p, c);

    return p - buf;
}


/* the claims' JSON from iat on: what changes from request to request */

static unsigned char *
ngx_http_validibot_json_tail(unsigned char *p,
    const ngx_http_validibot_claims_t *c)
{
    p = ngx_http_validibot_json_sec(p, c);

    return ngx_http_validibot_json_jti(p, c);
}


/* iat and exp, the same for every request of a second */

static unsigned char *
ngx_http_validibot_json_sec(unsigned char *p,
    const ngx_http_validibot_claims_t *c)
{
    ngx_http_validibot_lit(",\"iat\":");
    p = ngx_http_validibot_json_int(p, c->iat);
    ngx_http_validibot_lit(",\"exp\":");
    p = ngx_http_validibot_json_int(p, c->exp);
    ngx_http_validibot_lit(",\"jti\":");

    return p;
}


/* jti's value to the end: what no two requests share */

static unsigned char *
ngx_http_validibot_json_jti(unsigned char *p,
    const ngx_http_validibot_claims_t *c)
{
    p = ngx_http_validibot_json_str(p, &c->jti);
    ngx_http_validibot_lit(",\"htm\":");
    p = ngx_http_validibot_json_str(p, &c->htm);
    ngx_http_validibot_lit(",\"htu\":");
    p = ngx_http_validibot_json_str(p, &c->htu);
    *p++ = '}';

    return p;
}


size_t
ngx_http_validibot_assertion_size(const ngx_http_validibot_assertion_key_t *key,
    size_t json_len)
{
    return key->head_len + (json_len * 4 + 2) / 3 + 1
           + NGX_HTTP_VALIDIBOT_ASSERTION_SIG_LEN;
}


size_t
ngx_http_validibot_assertion_sign(const ngx_http_validibot_assertion_key_t *key,
    const unsigned char *json, size_t json_len, unsigned char *out)
{
    size_t                            head, skip;
    unsigned char                    *p, md[SHA256_DIGEST_LENGTH];
    const ngx_http_validibot_hmac_t  *signer;

    /* the prefix hashed at start-up, if the JSON does start so */

    if (key->pre_len && json_len >= key->pre_len
        && memcmp(json, key->pre, key->pre_len) == 0)
    {
        head = key->prehead_len;
        skip = key->pre_len;
        signer = &key->presigner;

    } else {
        head = key->head_len;
        skip = 0;
        signer = &key->signer;
    }

    p = out;

    memcpy(p, key->head, head);
    p += head;
    p += ngx_http_validibot_b64url(p, json + skip, json_len - skip);

    ngx_http_validibot_hmac_sha256(signer, out + head, p - out - head, md);

    *p++ = '.';
    p += ngx_http_validibot_b64url(p, md, sizeof(md));

    return p - out;
}


size_t
ngx_http_validibot_assertion_sign_memo(
    const ngx_http_validibot_assertion_key_t *key,
    ngx_http_validibot_assertion_memo_t *m, const unsigned char *json,
    size_t json_len, size_t fixed, unsigned char *out)
{
    size_t  n;

    n = (fixed < json_len) ? fixed : json_len;

    if (n > NGX_HTTP_VALIDIBOT_ASSERTION_MEMO_MAX) {
        n = NGX_HTTP_VALIDIBOT_ASSERTION_MEMO_MAX;
    }

    n -= n % 3;

    if (m == NULL || n <= key->pre_len) {
        return ngx_http_validibot_assertion_sign(key, json, json_len, out);
    }

    if (m->serial != key->serial || m->json_len != n
        || memcmp(m->json, json, n) != 0)
    {
        /* another key or other claims: this start, for the next requests */

        memcpy(m->json, json, n);
        m->json_len = n;
        m->b64_len = ngx_http_validibot_b64url(m->b64, json, n);
        m->state = key->signer;
        ngx_http_validibot_hmac_absorb(&m->state, m->b64, m->b64_len);
        m->serial = key->serial;
        m->in_ok = 0;
    }

    return ngx_http_validibot_assertion_sign_after(key, m->b64, m->b64_len,
                                                   NULL, 0, &m->state,
                                                   json + n, json_len - n,
                                                   out);
}


size_t
ngx_http_validibot_assertion_sign_tail(
    const ngx_http_validibot_assertion_key_t *key,
    const ngx_http_validibot_assertion_memo_t *m, const unsigned char *tail,
    size_t tail_len, unsigned char *out)
{
    return ngx_http_validibot_assertion_sign_after(key, m->b64, m->b64_len,
                                                   m->sec_b64, m->sec_b64_len,
                                                   &m->sec_state, tail,
                                                   tail_len, out);
}


/* the token whose payload starts with b64 and sec, hashed into "state" */

static size_t
ngx_http_validibot_assertion_sign_after(
    const ngx_http_validibot_assertion_key_t *key,
    const unsigned char *b64, size_t b64_len, const unsigned char *sec,
    size_t sec_len, const ngx_http_validibot_hmac_t *state,
    const unsigned char *tail, size_t tail_len, unsigned char *out)
{
    unsigned char  *p, *payload, md[SHA256_DIGEST_LENGTH];

    p = out;

    memcpy(p, key->head, key->head_len);
    p += key->head_len;
    memcpy(p, b64, b64_len);
    p += b64_len;

    if (sec_len) {
        memcpy(p, sec, sec_len);
        p += sec_len;
    }

    payload = p;
    p += ngx_http_validibot_b64url(p, tail, tail_len);

    ngx_http_validibot_hmac_sha256(state, payload, p - payload, md);

    *p++ = '.';
    p += ngx_http_validibot_b64url(p, md, sizeof(md));

    return p - out;
}


size_t
ngx_http_validibot_assertion_memo_slot(const unsigned char *id, size_t len,
    unsigned bits)
{
    size_t    i;
    uint64_t  a, b, h;

    if (len >= 16) {
        memcpy(&a, id + len - 16, 8);
        memcpy(&b, id + len - 8, 8);
        h = a ^ (b * 0xff51afd7ed558ccdULL);

    } else {
        h = 0;

        for (i = 0; i < len; i++) {
            h = (h << 8 | h >> 56) ^ id[i];
        }
    }

    h ^= len;

    return (size_t) ((h * 0x9e3779b97f4a7c15ULL) >> (64 - bits));
}


size_t
ngx_http_validibot_assertion_memo_size(
    const ngx_http_validibot_assertion_key_t *key,
    const ngx_http_validibot_assertion_memo_t *m, size_t tail_len)
{
    return ngx_http_validibot_assertion_size(key, m->json_len
                                                  + m->sec_json_len
                                                  + tail_len);
}


size_t
ngx_http_validibot_assertion_memo_tail(
    const ngx_http_validibot_assertion_key_t *key,
    ngx_http_validibot_assertion_memo_t *m,
    const ngx_http_validibot_claims_t *c, unsigned char *buf)
{
    size_t                            i;
    unsigned char                    *p;
    const unsigned char              *in;
    const ngx_http_validibot_astr_t  *s;

    if (m == NULL || !m->in_ok || m->serial != key->serial) {
        return 0;
    }

    /* byte for byte: the same claims write the same JSON up to iat */

    in = m->in;

    for (i = 0; i < NGX_HTTP_VALIDIBOT_ASSERTION_MEMO_NIN; i++) {
        s = (const ngx_http_validibot_astr_t *)
                ((const unsigned char *) c + ngx_http_validibot_memo_in[i]);

        if (s->len != m->in_len[i]
            || (s->len && memcmp(in, s->data, s->len) != 0))
        {
            return 0;
        }

        in += s->len;
    }

    if (!m->sec_ok || m->sec_iat != c->iat || m->sec_exp != c->exp) {
        ngx_http_validibot_assertion_memo_sec(m, c);
    }

    p = buf;
    memcpy(p, m->sec_rest, m->sec_rest_len);
    p += m->sec_rest_len;
    p = ngx_http_validibot_json_jti(p, c);

    return p - buf;
}


/*
 * A new second: rest, iat, exp and the start of jti hashed after the
 * claims up to kid, once; the requests of this second hash from jti's
 * value on.
 */

static void
ngx_http_validibot_assertion_memo_sec(ngx_http_validibot_assertion_memo_t *m,
    const ngx_http_validibot_claims_t *c)
{
    size_t          len, n;
    unsigned char  *p, json[NGX_HTTP_VALIDIBOT_ASSERTION_SEC_MAX];

    p = json;
    memcpy(p, m->rest, m->rest_len);
    p += m->rest_len;
    p = ngx_http_validibot_json_sec(p, c);

    len = p - json;
    n = len - len % 3;

    m->sec_json_len = n;
    m->sec_b64_len = ngx_http_validibot_b64url(m->sec_b64, json, n);
    m->sec_state = m->state;
    ngx_http_validibot_hmac_absorb(&m->sec_state, m->sec_b64,
                                   m->sec_b64_len);
    m->sec_rest_len = len - n;
    memcpy(m->sec_rest, json + n, m->sec_rest_len);
    m->sec_iat = c->iat;
    m->sec_exp = c->exp;
    m->sec_ok = 1;
}


void
ngx_http_validibot_assertion_memo_keep(
    const ngx_http_validibot_assertion_key_t *key,
    ngx_http_validibot_assertion_memo_t *m,
    const ngx_http_validibot_claims_t *c, const unsigned char *json,
    size_t fixed)
{
    size_t                            i, total;
    unsigned char                    *in;
    const ngx_http_validibot_astr_t  *s;

    if (m == NULL) {
        return;
    }

    m->in_ok = 0;
    m->sec_ok = 0;

    if (m->serial != key->serial || m->json_len > fixed
        || fixed - m->json_len > sizeof(m->rest)
        || memcmp(m->json, json, m->json_len) != 0)
    {
        return;
    }

    total = 0;

    for (i = 0; i < NGX_HTTP_VALIDIBOT_ASSERTION_MEMO_NIN; i++) {
        s = (const ngx_http_validibot_astr_t *)
                ((const unsigned char *) c + ngx_http_validibot_memo_in[i]);
        total += s->len;
    }

    if (total > sizeof(m->in)) {
        return;
    }

    in = m->in;

    for (i = 0; i < NGX_HTTP_VALIDIBOT_ASSERTION_MEMO_NIN; i++) {
        s = (const ngx_http_validibot_astr_t *)
                ((const unsigned char *) c + ngx_http_validibot_memo_in[i]);

        if (s->len) {
            memcpy(in, s->data, s->len);
        }

        in += s->len;
        m->in_len[i] = s->len;
    }

    m->rest_len = fixed - m->json_len;
    memcpy(m->rest, json + m->json_len, m->rest_len);
    m->in_ok = 1;
}


ngx_http_validibot_assertion_rc_e
ngx_http_validibot_assertion_verify(
    const ngx_http_validibot_assertion_verify_t *v, const unsigned char *tok,
    size_t len, ngx_http_validibot_claims_t *claims, unsigned char *buf,
    size_t *kid_out)
{
    size_t                                     i, n, signed_len;
    unsigned                                   seen;
    const unsigned char                       *dot1, *dot2;
    ngx_http_validibot_jp_t                    jp;
    ngx_http_validibot_claims_t                head;
    const ngx_http_validibot_assertion_key_t  *key;
    unsigned char                              md[SHA256_DIGEST_LENGTH];
    unsigned char                              sig[SHA256_DIGEST_LENGTH + 3];

    memset(claims, 0, sizeof(ngx_http_validibot_claims_t));

    dot1 = memchr(tok, '.', len);
    if (dot1 == NULL) {
        return NGX_HTTP_VALIDIBOT_ASSERTION_MALFORMED;
    }

    dot2 = memchr(dot1 + 1, '.', tok + len - (dot1 + 1));
    if (dot2 == NULL || memchr(dot2 + 1, '.', tok + len - (dot2 + 1))) {
        return NGX_HTTP_VALIDIBOT_ASSERTION_MALFORMED;
    }

    /* the JOSE header: alg HS256, typ JWT if given, and our kid */

    if (ngx_http_validibot_unb64url(buf, &n, tok, dot1 - tok) != 0) {
        return NGX_HTTP_VALIDIBOT_ASSERTION_MALFORMED;
    }

    memset(&head, 0, sizeof(ngx_http_validibot_claims_t));
    seen = 0;
    jp.p = buf;
    jp.end = buf + n;

    if (ngx_http_validibot_jp_object(&jp, &head, &seen, 1) != 0) {
        return NGX_HTTP_VALIDIBOT_ASSERTION_MALFORMED;
    }

    /* the header parse keeps alg in iss and typ in aud */

    if (!(seen & NGX_HTTP_VALIDIBOT_A_ALG)
        || !ngx_http_validibot_astr_eq(&head.iss, "HS256")
        || ((seen & NGX_HTTP_VALIDIBOT_A_TYP)
            && !ngx_http_validibot_astr_eq(&head.aud, "JWT")))
    {
        return NGX_HTTP_VALIDIBOT_ASSERTION_ALG;
    }

    if (!(seen & NGX_HTTP_VALIDIBOT_A_KID)) {
        return NGX_HTTP_VALIDIBOT_ASSERTION_KID;
    }

    key = NULL;

    for (i = 0; i < v->nkeys; i++) {
        if (v->keys[i].kid_len == head.kid.len
            && memcmp(v->keys[i].kid, head.kid.data, head.kid.len) == 0)
        {
            key = &v->keys[i];
            break;
        }
    }

    if (key == NULL) {
        return NGX_HTTP_VALIDIBOT_ASSERTION_KID;
    }

    if (kid_out) {
        *kid_out = i;
    }

    /* the signature, compared in constant time */

    if (tok + len - (dot2 + 1) != NGX_HTTP_VALIDIBOT_ASSERTION_SIG_LEN
        || ngx_http_validibot_unb64url(sig, &n, dot2 + 1,
                                      NGX_HTTP_VALIDIBOT_ASSERTION_SIG_LEN)
           != 0
        || n != SHA256_DIGEST_LENGTH)
    {
        return NGX_HTTP_VALIDIBOT_ASSERTION_SIGNATURE;
    }

    signed_len = dot2 - tok;
    ngx_http_validibot_hmac_sha256(&key->hmac, tok, signed_len, md);

    if (!ngx_http_validibot_digest_equal(md, sig, sizeof(md))) {
        return NGX_HTTP_VALIDIBOT_ASSERTION_SIGNATURE;
    }

    /* the claims */

    if (ngx_http_validibot_unb64url(buf, &n, dot1 + 1, dot2 - (dot1 + 1))
        != 0)
    {
        return NGX_HTTP_VALIDIBOT_ASSERTION_MALFORMED;
    }

    seen = 0;
    jp.p = buf;
    jp.end = buf + n;

    if (ngx_http_validibot_jp_object(&jp, claims, &seen, 0) != 0) {
        memset(claims, 0, sizeof(ngx_http_validibot_claims_t));
        return NGX_HTTP_VALIDIBOT_ASSERTION_MALFORMED;
    }

    if ((seen & NGX_HTTP_VALIDIBOT_A_REQUIRED)
        != NGX_HTTP_VALIDIBOT_A_REQUIRED)
    {
        return NGX_HTTP_VALIDIBOT_ASSERTION_CLAIMS;
    }

    /* as RFC 7519 and PyJWT: expired from exp on, immature after iat */

    if (v->now >= claims->exp + v->leeway) {
        return NGX_HTTP_VALIDIBOT_ASSERTION_EXPIRED;
    }

    if (claims->iat > v->now + v->leeway) {
        return NGX_HTTP_VALIDIBOT_ASSERTION_FUTURE;
    }

    if (v->iss.data && !ngx_http_validibot_astr_same(&v->iss, &claims->iss)) {
        return NGX_HTTP_VALIDIBOT_ASSERTION_ISSUER;
    }

    if (v->aud.data && !ngx_http_validibot_astr_same(&v->aud, &claims->aud)) {
        return NGX_HTTP_VALIDIBOT_ASSERTION_AUDIENCE;
    }

    if (v->htm.data && !ngx_http_validibot_astr_same(&v->htm, &claims->htm)) {
        return NGX_HTTP_VALIDIBOT_ASSERTION_METHOD;
    }

    if (v->htu.data && !ngx_http_validibot_astr_same(&v->htu, &claims->htu)) {
        return NGX_HTTP_VALIDIBOT_ASSERTION_PATH;
    }

    return NGX_HTTP_VALIDIBOT_ASSERTION_OK;
}


const char *
ngx_http_validibot_assertion_strerror(ngx_http_validibot_assertion_rc_e rc)
{
    if ((size_t) rc >= sizeof(ngx_http_validibot_assertion_errors)
                       / sizeof(ngx_http_validibot_assertion_errors[0]))
    {
        return "unknown";
    }

    return ngx_http_validibot_assertion_errors[rc];
}


/* a JSON string as every JSON of the module and tool writes it */

static unsigned char *
ngx_http_validibot_json_str(unsigned char *p,
    const ngx_http_validibot_astr_t *s)
{
    return ngx_http_validibot_json_quote(p, s->data, s->len);
}


static unsigned char *
ngx_http_validibot_json_roles(unsigned char *p,
    const ngx_http_validibot_astr_t *s)
{
    const unsigned char        *q, *end, *comma;
    ngx_http_validibot_astr_t   role;

    *p++ = '[';

    q = s->data;
    end = s->data + s->len;

    while (q < end) {
        comma = memchr(q, ',', end - q);
        if (comma == NULL) {
            comma = end;
        }

        if (comma > q) {
            if (p[-1] != '[') {
                *p++ = ',';
            }

            role.data = q;
            role.len = comma - q;
            p = ngx_http_validibot_json_str(p, &role);
        }

        q = comma + 1;
    }

    *p++ = ']';

    return p;
}


static unsigned char *
ngx_http_validibot_json_int(unsigned char *p, int64_t n)
{
    uint64_t       u;
    unsigned char  tmp[NGX_HTTP_VALIDIBOT_INT64_LEN], *t;

    if (n < 0) {
        *p++ = '-';
        u = (uint64_t) 0 - (uint64_t) n;

    } else {
        u = (uint64_t) n;
    }

    t = tmp + sizeof(tmp);

    do {
        *--t = (unsigned char) ('0' + u % 10);
        u /= 10;
    } while (u);

    memcpy(p, t, tmp + sizeof(tmp) - t);

    return p + (tmp + sizeof(tmp) - t);
}


size_t
ngx_http_validibot_assertion_b64url(unsigned char *dst,
    const unsigned char *src, size_t len, int scalar)
{
    if (scalar) {
        return ngx_http_validibot_b64url_scalar(dst, src, len);
    }

    return ngx_http_validibot_b64url(dst, src, len);
}


int
ngx_http_validibot_assertion_b64url_simd(void)
{
#if (NGX_HTTP_VALIDIBOT_B64_SSSE3)
    return ngx_http_validibot_b64_ssse3;
#else
    return 0;
#endif
}


static size_t
ngx_http_validibot_b64url(unsigned char *dst, const unsigned char *src,
    size_t len)
{
#if (NGX_HTTP_VALIDIBOT_B64_SSSE3)
    size_t  n;

    if (ngx_http_validibot_b64_ssse3 && len >= 16) {
        n = ngx_http_validibot_b64url_ssse3(dst, src, len);

        return n / 3 * 4
               + ngx_http_validibot_b64url_scalar(dst + n / 3 * 4, src + n,
                                                  len - n);
    }
#endif

    return ngx_http_validibot_b64url_scalar(dst, src, len);
}


static size_t
ngx_http_validibot_b64url_scalar(unsigned char *dst, const unsigned char *src,
    size_t len)
{
    unsigned char  *d;

    d = dst;

    while (len > 2) {
        *d++ = ngx_http_validibot_b64[src[0] >> 2];
        *d++ = ngx_http_validibot_b64[((src[0] & 0x03) << 4) | (src[1] >> 4)];
        *d++ = ngx_http_validibot_b64[((src[1] & 0x0f) << 2) | (src[2] >> 6)];
        *d++ = ngx_http_validibot_b64[src[2] & 0x3f];

        src += 3;
        len -= 3;
    }

    if (len) {
        *d++ = ngx_http_validibot_b64[src[0] >> 2];

        if (len == 1) {
            *d++ = ngx_http_validibot_b64[(src[0] & 0x03) << 4];

        } else {
            *d++ = ngx_http_validibot_b64[((src[0] & 0x03) << 4)
                                          | (src[1] >> 4)];
            *d++ = ngx_http_validibot_b64[(src[1] & 0x0f) << 2];
        }
    }

    return d - dst;
}


#if (NGX_HTTP_VALIDIBOT_B64_SSSE3)

/*
 * W. Muła and D. Lemire, "Faster Base64 Encoding and Decoding Using AVX2
 * Instructions" (2018), with SSE: bytes abc of each group of 3 to the
 * four 6-bit values, then each value to its character by adding the
 * offset of its range ('A', 'a' - 26, '0' - 52, '-' - 62, '_' - 63).
 * Whole groups of 12 while 16 bytes can be read; returns how many bytes
 * it encoded, a multiple of 12.
 */

static __attribute__((target("ssse3"))) size_t
ngx_http_validibot_b64url_ssse3(unsigned char *dst, const unsigned char *src,
    size_t len)
{
    size_t   n;
    __m128i  in, hi, lo, idx, shuf, lut;

    /* each 32-bit lane gets b a c b of its group (little-endian) */
    shuf = _mm_setr_epi8(1, 0, 2, 1, 4, 3, 5, 4, 7, 6, 8, 7, 10, 9, 11, 10);

    /* by range: 0-25, 26-51, then 52-61 (indices 2-11), 62, 63 */
    lut = _mm_setr_epi8('A', 'a' - 26, '0' - 52, '0' - 52, '0' - 52,
                        '0' - 52, '0' - 52, '0' - 52, '0' - 52, '0' - 52,
                        '0' - 52, '0' - 52, '-' - 62, '_' - 63, 0, 0);

    for (n = 0; len - n >= 16; n += 12) {
        in = _mm_loadu_si128((const __m128i *) (src + n));
        in = _mm_shuffle_epi8(in, shuf);

        /* the 1st and 3rd values to bytes 0 and 2 of a lane (shifts) */
        hi = _mm_mulhi_epu16(_mm_and_si128(in, _mm_set1_epi32(0x0fc0fc00)),
                             _mm_set1_epi32(0x04000040));

        /* the 2nd and 4th to bytes 1 and 3 */
        lo = _mm_mullo_epi16(_mm_and_si128(in, _mm_set1_epi32(0x003f03f0)),
                             _mm_set1_epi32(0x01000010));

        in = _mm_or_si128(hi, lo);

        /* 0 below 52, 1-12 from 52; then +1 above 25 */
        idx = _mm_subs_epu8(in, _mm_set1_epi8(51));
        idx = _mm_sub_epi8(idx, _mm_cmpgt_epi8(in, _mm_set1_epi8(25)));

        in = _mm_add_epi8(in, _mm_shuffle_epi8(lut, idx));

        _mm_storeu_si128((__m128i *) (dst + n / 3 * 4), in);
    }

    return n;
}


static void
ngx_http_validibot_b64url_init(void)
{
    /* before libgcc's own constructor may have run */
    __builtin_cpu_init();

    ngx_http_validibot_b64_ssse3 = (__builtin_cpu_supports("ssse3") != 0);
}

#endif


/* unpadded, canonical base64url only: one text per byte string */

static int
ngx_http_validibot_unb64url(unsigned char *dst, size_t *dlen,
    const unsigned char *src, size_t len)
{
    size_t         i, n;
    uint32_t       acc;
    unsigned char  ch, v;

    if (len % 4 == 1) {
        return -1;
    }

    acc = 0;
    n = 0;

    for (i = 0; i < len; i++) {
        ch = src[i];

        if (ch >= 'A' && ch <= 'Z') {
            v = ch - 'A';

        } else if (ch >= 'a' && ch <= 'z') {
            v = ch - 'a' + 26;

        } else if (ch >= '0' && ch <= '9') {
            v = ch - '0' + 52;

        } else if (ch == '-') {
            v = 62;

        } else if (ch == '_') {
            v = 63;

        } else {
            return -1;
        }

        acc = (acc << 6) | v;

        if (i % 4 == 3) {
            dst[n++] = (unsigned char) (acc >> 16);
            dst[n++] = (unsigned char) (acc >> 8);
            dst[n++] = (unsigned char) acc;
            acc = 0;
        }
    }

    switch (len % 4) {

    case 2:
        if (acc & 0x0f) {
            return -1;
        }

        dst[n++] = (unsigned char) (acc >> 4);
        break;

    case 3:
        if (acc & 0x03) {
            return -1;
        }

        dst[n++] = (unsigned char) (acc >> 10);
        dst[n++] = (unsigned char) (acc >> 2);
        break;
    }

    *dlen = n;

    return 0;
}


static void
ngx_http_validibot_jp_ws(ngx_http_validibot_jp_t *jp)
{
    while (jp->p < jp->end
           && (*jp->p == ' ' || *jp->p == '\t' || *jp->p == '\n'
               || *jp->p == '\r'))
    {
        jp->p++;
    }
}


static int
ngx_http_validibot_jp_hex4(const unsigned char *p, uint32_t *v)
{
    size_t         i;
    unsigned char  ch;

    *v = 0;

    for (i = 0; i < 4; i++) {
        ch = p[i];

        if (ch >= '0' && ch <= '9') {
            *v = (*v << 4) | (ch - '0');

        } else if ((ch | 0x20) >= 'a' && (ch | 0x20) <= 'f') {
            *v = (*v << 4) | ((ch | 0x20) - 'a' + 10);

        } else {
            return -1;
        }
    }

    return 0;
}


/*
 * A JSON string, decoded in place (the text never grows when decoded):
 * "out" points into the parsed buffer.
 */

static int
ngx_http_validibot_jp_str(ngx_http_validibot_jp_t *jp,
    ngx_http_validibot_astr_t *out)
{
    uint32_t        cp, lo;
    unsigned char  *p, *w, *start, ch;

    p = jp->p;

    if (p >= jp->end || *p != '"') {
        return -1;
    }

    start = w = ++p;

    for ( ;; ) {
        if (p >= jp->end) {
            return -1;
        }

        ch = *p++;

        if (ch == '"') {
            break;
        }

        if (ch < 0x20) {
            return -1;
        }

        if (ch != '\\') {
            *w++ = ch;
            continue;
        }

        if (p >= jp->end) {
            return -1;
        }

        ch = *p++;

        switch (ch) {
        case '"': case '\\': case '/':
            *w++ = ch;
            continue;
        case 'b': *w++ = '\b'; continue;
        case 'f': *w++ = '\f'; continue;
        case 'n': *w++ = '\n'; continue;
        case 'r': *w++ = '\r'; continue;
        case 't': *w++ = '\t'; continue;
        case 'u': break;
        default: return -1;
        }

        if (jp->end - p < 4 || ngx_http_validibot_jp_hex4(p, &cp) != 0) {
            return -1;
        }

        p += 4;

        if (cp >= 0xdc00 && cp <= 0xdfff) {
            return -1;
        }

        if (cp >= 0xd800 && cp <= 0xdbff) {
            if (jp->end - p < 6 || p[0] != '\\' || p[1] != 'u'
                || ngx_http_validibot_jp_hex4(p + 2, &lo) != 0
                || lo < 0xdc00 || lo > 0xdfff)
            {
                return -1;
            }

            p += 6;
            cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
        }

        if (cp < 0x80) {
            *w++ = (unsigned char) cp;

        } else if (cp < 0x800) {
            *w++ = (unsigned char) (0xc0 | (cp >> 6));
            *w++ = (unsigned char) (0x80 | (cp & 0x3f));

        } else if (cp < 0x10000) {
            *w++ = (unsigned char) (0xe0 | (cp >> 12));
            *w++ = (unsigned char) (0x80 | ((cp >> 6) & 0x3f));
            *w++ = (unsigned char) (0x80 | (cp & 0x3f));

        } else {
            *w++ = (unsigned char) (0xf0 | (cp >> 18));
            *w++ = (unsigned char) (0x80 | ((cp >> 12) & 0x3f));
            *w++ = (unsigned char) (0x80 | ((cp >> 6) & 0x3f));
            *w++ = (unsigned char) (0x80 | (cp & 0x3f));
        }
    }

    out->data = start;
    out->len = w - start;
    jp->p = p;

    return 0;
}


/* a whole number of seconds, as JWT's NumericDate in practice */

static int
ngx_http_validibot_jp_int(ngx_http_validibot_jp_t *jp, int64_t *v)
{
    size_t   n;
    int64_t  r;

    r = 0;

    for (n = 0; jp->p < jp->end && *jp->p >= '0' && *jp->p <= '9'; n++) {
        if (n == 18) {
            return -1;
        }

        r = r * 10 + (*jp->p++ - '0');
    }

    if (n == 0 || (n > 1 && *(jp->p - n) == '0')) {
        return -1;
    }

    if (jp->p < jp->end
        && (*jp->p == '.' || *jp->p == 'e' || *jp->p == 'E'))
    {
        return -1;
    }

    *v = r;

    return 0;
}


/* an array of strings, joined with commas in place */

static int
ngx_http_validibot_jp_roles(ngx_http_validibot_jp_t *jp,
    ngx_http_validibot_astr_t *out)
{
    unsigned char              *w, *start;
    ngx_http_validibot_astr_t   s;

    if (jp->p >= jp->end || *jp->p != '[') {
        return -1;
    }

    jp->p++;
    start = w = jp->p;

    ngx_http_validibot_jp_ws(jp);

    if (jp->p < jp->end && *jp->p == ']') {
        jp->p++;
        out->data = start;
        out->len = 0;
        return 0;
    }

    for ( ;; ) {
        ngx_http_validibot_jp_ws(jp);

        if (ngx_http_validibot_jp_str(jp, &s) != 0
            || s.len == 0 || memchr(s.data, ',', s.len))
        {
            return -1;
        }

        if (w != start) {
            *w++ = ',';
        }

        memmove(w, s.data, s.len);
        w += s.len;

        ngx_http_validibot_jp_ws(jp);

        if (jp->p >= jp->end) {
            return -1;
        }

        if (*jp->p == ']') {
            jp->p++;
            break;
        }

        if (*jp->p++ != ',') {
            return -1;
        }
    }

    out->data = start;
    out->len = w - start;

    return 0;
}


/* a value of a member we do not use: a scalar or an array of strings */

static int
ngx_http_validibot_jp_other(ngx_http_validibot_jp_t *jp)
{
    size_t                      n;
    ngx_http_validibot_astr_t   s;

    if (jp->p >= jp->end) {
        return -1;
    }

    switch (*jp->p) {

    case '"':
        return ngx_http_validibot_jp_str(jp, &s);

    case '[':
        return ngx_http_validibot_jp_roles(jp, &s);

    case 't':
    case 'f':
    case 'n':
        n = (*jp->p == 'f') ? 5 : 4;

        if ((size_t) (jp->end - jp->p) < n
            || (memcmp(jp->p, "true", n) != 0
                && memcmp(jp->p, "false", n) != 0
                && memcmp(jp->p, "null", n) != 0))
        {
            return -1;
        }

        jp->p += n;
        return 0;
    }

    n = 0;

    while (jp->p < jp->end
           && ((*jp->p >= '0' && *jp->p <= '9') || *jp->p == '-'
               || *jp->p == '+' || *jp->p == '.' || *jp->p == 'e'
               || *jp->p == 'E'))
    {
        jp->p++;
        n++;
    }

    return n ? 0 : -1;
}


/*
 * The JOSE header (header: alg in iss, typ in aud, kid in kid; "crit" is
 * refused, as RFC 7515 wants for extensions we do not know) or the claims.
 * A member given twice is refused: two readers must not see two values.
 */

static int
ngx_http_validibot_jp_object(ngx_http_validibot_jp_t *jp,
    ngx_http_validibot_claims_t *c, unsigned *seen, int header)
{
    size_t                             i;
    unsigned                           bit;
    ngx_http_validibot_astr_t          name, *field;
    const ngx_http_validibot_claim_t  *cl;

    ngx_http_validibot_jp_ws(jp);

    if (jp->p >= jp->end || *jp->p++ != '{') {
        return -1;
    }

    ngx_http_validibot_jp_ws(jp);

    if (jp->p < jp->end && *jp->p == '}') {
        jp->p++;
        goto end;
    }

    for ( ;; ) {
        ngx_http_validibot_jp_ws(jp);

        if (ngx_http_validibot_jp_str(jp, &name) != 0) {
            return -1;
        }

        ngx_http_validibot_jp_ws(jp);

        if (jp->p >= jp->end || *jp->p++ != ':') {
            return -1;
        }

        ngx_http_validibot_jp_ws(jp);

        field = NULL;
        bit = 0;

        if (header) {
            if (ngx_http_validibot_astr_eq(&name, "alg")) {
                bit = NGX_HTTP_VALIDIBOT_A_ALG;
                field = &c->iss;

            } else if (ngx_http_validibot_astr_eq(&name, "typ")) {
                bit = NGX_HTTP_VALIDIBOT_A_TYP;
                field = &c->aud;

            } else if (ngx_http_validibot_astr_eq(&name, "kid")) {
                bit = NGX_HTTP_VALIDIBOT_A_KID;
                field = &c->kid;

            } else if (ngx_http_validibot_astr_eq(&name, "crit")) {
                return -1;
            }

        } else {
            for (i = 0; ngx_http_validibot_claims[i].name; i++) {
                cl = &ngx_http_validibot_claims[i];

                if (ngx_http_validibot_astr_eq(&name, cl->name)) {
                    bit = cl->bit;

                    if (bit != NGX_HTTP_VALIDIBOT_A_ROLES
                        && bit != NGX_HTTP_VALIDIBOT_A_IAT
                        && bit != NGX_HTTP_VALIDIBOT_A_EXP)
                    {
                        field = (ngx_http_validibot_astr_t *)
                                    ((unsigned char *) c + cl->offset);
                    }

                    break;
                }
            }
        }

        if (bit & *seen) {
            return -1;
        }

        *seen |= bit;

        if (field) {
            if (ngx_http_validibot_jp_str(jp, field) != 0) {
                return -1;
            }

        } else if (bit == NGX_HTTP_VALIDIBOT_A_ROLES) {
            if (ngx_http_validibot_jp_roles(jp, &c->roles) != 0) {
                return -1;
            }

        } else if (bit == NGX_HTTP_VALIDIBOT_A_IAT) {
            if (ngx_http_validibot_jp_int(jp, &c->iat) != 0) {
                return -1;
            }

        } else if (bit == NGX_HTTP_VALIDIBOT_A_EXP) {
            if (ngx_http_validibot_jp_int(jp, &c->exp) != 0) {
                return -1;
            }

        } else if (ngx_http_validibot_jp_other(jp) != 0) {
            return -1;
        }

        ngx_http_validibot_jp_ws(jp);

        if (jp->p >= jp->end) {
            return -1;
        }

        if (*jp->p == '}') {
            jp->p++;
            break;
        }

        if (*jp->p++ != ',') {
            return -1;
        }
    }

end:

    ngx_http_validibot_jp_ws(jp);

    return (jp->p == jp->end) ? 0 : -1;
}


static int
ngx_http_validibot_astr_eq(const ngx_http_validibot_astr_t *a, const char *s)
{
    size_t  len;

    len = strlen(s);

    return a->len == len && memcmp(a->data, s, len) == 0;
}


static int
ngx_http_validibot_astr_same(const ngx_http_validibot_astr_t *a,
    const ngx_http_validibot_astr_t *b)
{
    return a->len == b->len
           && (a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
}
