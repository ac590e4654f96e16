
/*
 * Copyright (C) The ngx_http_validibot_module authors
 *
 * The signed identity assertion: a vector made independently with
 * python3's hmac, base64 and json (and read back by PyJWT), JSON escaping,
 * and every way verification refuses.
 */


#include <stdlib.h>

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

    return tap_done();
}
