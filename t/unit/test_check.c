
/*
 * Copyright (C) The ngx_http_validibot_module authors
 *
 * The verdict, rule by rule and in Validibot's order.
 */


#define OPENSSL_SUPPRESS_DEPRECATED
#define _GNU_SOURCE

#include <dlfcn.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "tap.h"
#include "ngx_http_validibot_check.h"
#include "ngx_http_validibot_roles.h"


#define PID     "0123456789abcdef0123456789abcdef"
#define SECRET  "00112233445566778899aabbccddeeff" \
                "00112233445566778899aabbccddeeff"
#define KEY     "vbk_1_" PID "_" SECRET

/* python3 hmac, see test_digest.c: keys "test-digest-key" (v1) and
 * "second-digest-key" (v2) */
#define D1  "0e686ddb7c05262fd98181346ff564127a826d008d03c4480728587e0c563c0a"
#define D2  "a525aa58f4f220bec25ac32adbf0a25adb8d5cd2619e818402202d86a90ff3f9"
#define D1_UPPER                                                             \
    "0E686DDB7C05262FD98181346FF564127A826D008D03C4480728587E0C563C0A"

#define NOW  1000


static ngx_http_validibot_key_t    key;
static int                         sha_finals, compares;
static ngx_http_validibot_hmac_t   hmacs[2];
static ngx_http_validibot_check_t  chk;


/*
 * The miss must cost what a hit costs.  These stand in for libcrypto's
 * (the executable's definitions win) and count the work done.
 */
int
SHA256_Final(unsigned char *md, SHA256_CTX *c)
{
    static int  (*real)(unsigned char *, SHA256_CTX *);

    if (real == NULL) {
        *(void **) &real = dlsym(RTLD_NEXT, "SHA256_Final");
    }

    sha_finals++;

    return real(md, c);
}


int
CRYPTO_memcmp(const void *a, const void *b, size_t len)
{
    static int  (*real)(const void *, const void *, size_t);

    if (real == NULL) {
        *(void **) &real = dlsym(RTLD_NEXT, "CRYPTO_memcmp");
    }

    compares++;

    return real(a, b, len);
}


static void
set(ngx_http_validibot_record_t *rec, int f, const char *v)
{
    rec->field[f].data = (const unsigned char *) v;
    rec->field[f].len = v ? strlen(v) : 0;
}


/* a valid record of an active user, executor in an active org */
static void
good(ngx_http_validibot_record_t *rec)
{
    memset(rec, 0, sizeof(ngx_http_validibot_record_t));
    rec->found = 1;
    set(rec, NGX_HTTP_VALIDIBOT_F_USER, "42");
    set(rec, NGX_HTTP_VALIDIBOT_F_DIGEST, D1);
    set(rec, NGX_HTTP_VALIDIBOT_F_DIGEST_VERSION, "1");
    set(rec, NGX_HTTP_VALIDIBOT_F_EXPIRES_AT, "2000");
    set(rec, NGX_HTTP_VALIDIBOT_F_CREATED_AT, "500");
    set(rec, NGX_HTTP_VALIDIBOT_F_USER_ACTIVE, "1");
    set(rec, NGX_HTTP_VALIDIBOT_F_ORG_STATUS, "active");
    set(rec, NGX_HTTP_VALIDIBOT_F_MEMBER_ACTIVE, "1");
    set(rec, NGX_HTTP_VALIDIBOT_F_MEMBER_ROLES, "executor");
}


static void
reset(unsigned org, const uint32_t *need, size_t nneed)
{
    memset(&chk, 0x5a, sizeof(chk));
    chk.key = &key;
    chk.hmacs = hmacs;
    chk.nhmacs = 2;
    chk.now = NOW;
    chk.leeway = 0;
    chk.max_age = 0;
    chk.org = org;
    chk.need = need;
    chk.nneed = nneed;
    chk.verified = 0;
    chk.superusers = 0;
    chk.superuser = 0;
    chk.parsed_roles = NULL;
}


static int
is(ngx_http_validibot_status_e got, ngx_http_validibot_status_e want,
    const char *reason)
{
    if (got != want) {
        fprintf(stderr, "#   got %s (%s), want %s\n",
                ngx_http_validibot_status_name(got),
                chk.reason ? chk.reason : "NULL",
                ngx_http_validibot_status_name(want));
        return 0;
    }

    if (reason && (chk.reason == NULL || strcmp(chk.reason, reason) != 0)) {
        fprintf(stderr, "#   reason \"%s\", want \"%s\"\n",
                chk.reason ? chk.reason : "NULL", reason);
        return 0;
    }

    return 1;
}


static ngx_http_validibot_status_e
run(const ngx_http_validibot_record_t *rec)
{
    return ngx_http_validibot_check(&chk, rec);
}


static uint32_t
mask(const char *code)
{
    return ngx_http_validibot_code_mask((const unsigned char *) code,
                                        strlen(code));
}


int
main(void)
{
    size_t                       i;
    uint32_t                     need[3];
    ngx_http_validibot_status_e  st;
    ngx_http_validibot_record_t  rec;

    if (ngx_http_validibot_parse_key(S(KEY), &key) != 0
        || ngx_http_validibot_hmac_init(&hmacs[0], 1,
                                        S("test-digest-key")) != 0
        || ngx_http_validibot_hmac_init(&hmacs[1], 2,
                                        S("second-digest-key")) != 0)
    {
        printf("Bail out! setup\n");
        return 2;
    }

    /* success without and with an org */

    good(&rec);
    reset(0, NULL, 0);
    ok(is(run(&rec), NGX_HTTP_VALIDIBOT_OK, "ok") && chk.roles == 0,
       "valid key, no org: ok, no roles");

    need[0] = mask("workflow_launch");
    reset(1, need, 1);
    ok(is(run(&rec), NGX_HTTP_VALIDIBOT_OK, "ok")
       && chk.roles == NGX_HTTP_VALIDIBOT_ROLE_EXECUTOR,
       "executor may workflow_launch; roles set");

    reset(1, NULL, 0);
    ok(is(run(&rec), NGX_HTTP_VALIDIBOT_OK, NULL)
       && chk.roles == NGX_HTTP_VALIDIBOT_ROLE_EXECUTOR,
       "org, nothing required: ok");

    /* not found: dummy work, then invalid */

    memset(&rec, 0, sizeof(rec));
    reset(0, NULL, 0);
    ok(is(run(&rec), NGX_HTTP_VALIDIBOT_INVALID, "unknown key")
       && chk.roles == 0, "unknown key: invalid");

    chk.nhmacs = 0;
    ok(is(run(&rec), NGX_HTTP_VALIDIBOT_INVALID, NULL),
       "no digest key at all, miss: invalid");

    good(&rec);
    reset(0, NULL, 0);
    chk.nhmacs = 0;
    ok(is(run(&rec), NGX_HTTP_VALIDIBOT_INVALID, "no digest key for version"),
       "no digest key at all, hit: invalid");

    /* the same digest work for a hit, a miss and a mismatch */

    good(&rec);
    reset(0, NULL, 0);
    sha_finals = compares = 0;
    st = run(&rec);
    ok(is(st, NGX_HTTP_VALIDIBOT_OK, NULL)
       && sha_finals == 2 && compares == 1,
       "hit: 2 SHA-256 finishes, 1 compare (%d, %d)", sha_finals, compares);
    ok(chk.secret_ok, "hit: secret_ok");

    /* a cache hit whose tag matched: the digest is not computed again */

    good(&rec);
    reset(0, NULL, 0);
    chk.verified = 1;
    sha_finals = compares = 0;
    st = run(&rec);
    ok(is(st, NGX_HTTP_VALIDIBOT_OK, NULL) && chk.secret_ok
       && sha_finals == 0 && compares == 0,
       "verified: no SHA-256, no compare (%d, %d)", sha_finals, compares);

    good(&rec);
    set(&rec, NGX_HTTP_VALIDIBOT_F_REVOKED_AT, "1700000000");
    reset(0, NULL, 0);
    chk.verified = 1;
    ok(is(run(&rec), NGX_HTTP_VALIDIBOT_REVOKED, "revoked"),
       "verified: every other rule still applies (revoked)");

    /* a cache hit's roles, parsed when the entry was stored */

    {
        uint32_t  parsed, need1;

        need1 = ngx_http_validibot_roles_parse((const unsigned char *)
                                               "author", 6);
        good(&rec);
        reset(1, &need1, 1);
        ok(is(run(&rec), NGX_HTTP_VALIDIBOT_FORBIDDEN, "role lacking"),
           "executor lacks author's role");

        parsed = need1;
        reset(1, &need1, 1);
        chk.parsed_roles = &parsed;
        ok(is(run(&rec), NGX_HTTP_VALIDIBOT_OK, NULL) && chk.roles == need1,
           "parsed_roles used instead of the field");
    }

    good(&rec);
    set(&rec, NGX_HTTP_VALIDIBOT_F_DIGEST, "00");
    reset(0, NULL, 0);
    (void) run(&rec);
    ok(!chk.secret_ok, "a digest mismatch: no secret_ok");

    memset(&rec, 0, sizeof(rec));
    sha_finals = compares = 0;
    st = run(&rec);
    ok(is(st, NGX_HTTP_VALIDIBOT_INVALID, "unknown key")
       && sha_finals == 2 && compares == 1,
       "miss: 2 SHA-256 finishes, 1 compare (%d, %d)", sha_finals, compares);

    good(&rec);
    set(&rec, NGX_HTTP_VALIDIBOT_F_DIGEST, "short");
    sha_finals = compares = 0;
    st = run(&rec);
    ok(is(st, NGX_HTTP_VALIDIBOT_INVALID, "digest mismatch")
       && sha_finals == 2 && compares == 1,
       "short stored digest: 2 SHA-256 finishes, 1 compare (%d, %d)",
       sha_finals, compares);

    /* digest_version */

    good(&rec);
    set(&rec, NGX_HTTP_VALIDIBOT_F_DIGEST_VERSION, NULL);
    reset(0, NULL, 0);
    ok(is(run(&rec), NGX_HTTP_VALIDIBOT_OK, NULL), "absent version: 1");

    set(&rec, NGX_HTTP_VALIDIBOT_F_DIGEST_VERSION, "");
    ok(is(run(&rec), NGX_HTTP_VALIDIBOT_OK, NULL), "empty version: 1");

    set(&rec, NGX_HTTP_VALIDIBOT_F_DIGEST_VERSION, "0");
    ok(is(run(&rec), NGX_HTTP_VALIDIBOT_OK, NULL), "version 0: 1");

    set(&rec, NGX_HTTP_VALIDIBOT_F_DIGEST_VERSION, "2");
    ok(is(run(&rec), NGX_HTTP_VALIDIBOT_INVALID, "digest mismatch"),
       "version 2 with a version 1 digest: mismatch");

    set(&rec, NGX_HTTP_VALIDIBOT_F_DIGEST, D2);
    ok(is(run(&rec), NGX_HTTP_VALIDIBOT_OK, NULL),
       "version 2 digest with the version 2 key: ok");

    chk.nhmacs = 1;
    ok(is(run(&rec), NGX_HTTP_VALIDIBOT_INVALID, "no digest key for version"),
       "version 2 with only key 1 configured: invalid");

    reset(0, NULL, 0);
    set(&rec, NGX_HTTP_VALIDIBOT_F_DIGEST_VERSION, "3");
    ok(is(run(&rec), NGX_HTTP_VALIDIBOT_INVALID, "no digest key for version"),
       "version 3: no key");

    set(&rec, NGX_HTTP_VALIDIBOT_F_DIGEST_VERSION, "4294967297");
    ok(is(run(&rec), NGX_HTTP_VALIDIBOT_INVALID, "no digest key for version"),
       "version 2^32+1 is not version 1");

    set(&rec, NGX_HTTP_VALIDIBOT_F_DIGEST_VERSION, "4294967298");
    ok(is(run(&rec), NGX_HTTP_VALIDIBOT_INVALID, "no digest key for version"),
       "version 2^32+2 is not version 2");

    set(&rec, NGX_HTTP_VALIDIBOT_F_DIGEST_VERSION, "x");
    ok(is(run(&rec), NGX_HTTP_VALIDIBOT_INVALID, "bad digest_version"),
       "version x: bad");

    set(&rec, NGX_HTTP_VALIDIBOT_F_DIGEST_VERSION, "-1");
    ok(is(run(&rec), NGX_HTTP_VALIDIBOT_INVALID, "bad digest_version"),
       "version -1: bad");

    set(&rec, NGX_HTTP_VALIDIBOT_F_DIGEST_VERSION, "1000000000000000000");
    ok(is(run(&rec), NGX_HTTP_VALIDIBOT_INVALID, "bad digest_version"),
       "version of 19 digits: bad");

    /* the digest */

    good(&rec);
    reset(0, NULL, 0);
    set(&rec, NGX_HTTP_VALIDIBOT_F_DIGEST, D1_UPPER);
    ok(is(run(&rec), NGX_HTTP_VALIDIBOT_INVALID, "digest mismatch"),
       "uppercase stored digest: mismatch");

    rec.field[NGX_HTTP_VALIDIBOT_F_DIGEST].data = (const unsigned char *) D1;
    rec.field[NGX_HTTP_VALIDIBOT_F_DIGEST].len = 63;
    ok(is(run(&rec), NGX_HTTP_VALIDIBOT_INVALID, "digest mismatch"),
       "63 chars: mismatch");

    set(&rec, NGX_HTTP_VALIDIBOT_F_DIGEST, D1 "0");
    ok(is(run(&rec), NGX_HTTP_VALIDIBOT_INVALID, "digest mismatch"),
       "65 chars: mismatch");

    set(&rec, NGX_HTTP_VALIDIBOT_F_DIGEST, NULL);
    ok(is(run(&rec), NGX_HTTP_VALIDIBOT_INVALID, "digest mismatch"),
       "absent digest: mismatch");

    set(&rec, NGX_HTTP_VALIDIBOT_F_DIGEST, "");
    ok(is(run(&rec), NGX_HTTP_VALIDIBOT_INVALID, "digest mismatch"),
       "empty digest: mismatch");

    set(&rec, NGX_HTTP_VALIDIBOT_F_DIGEST,
        "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
    ok(is(run(&rec), NGX_HTTP_VALIDIBOT_INVALID, "digest mismatch"),
       "the dummy itself: mismatch");

    set(&rec, NGX_HTTP_VALIDIBOT_F_DIGEST,
        "0e686ddb7c05262fd98181346ff564127a826d008d03c4480728587e0c563c0b");
    ok(is(run(&rec), NGX_HTTP_VALIDIBOT_INVALID, "digest mismatch"),
       "last char off: mismatch");

    set(&rec, NGX_HTTP_VALIDIBOT_F_DIGEST,
        "1e686ddb7c05262fd98181346ff564127a826d008d03c4480728587e0c563c0a");
    ok(is(run(&rec), NGX_HTTP_VALIDIBOT_INVALID, "digest mismatch"),
       "first char off: mismatch");

    /* a valid key with another public id does not match this digest */

    {
        ngx_http_validibot_key_t  other;

        ngx_http_validibot_parse_key(
            S("vbk_1_1123456789abcdef0123456789abcdef_" SECRET), &other);
        set(&rec, NGX_HTTP_VALIDIBOT_F_DIGEST, D1);
        chk.key = &other;
        ok(is(run(&rec), NGX_HTTP_VALIDIBOT_INVALID, "digest mismatch"),
           "other public id, same secret: mismatch");

        ngx_http_validibot_parse_key(
            S("vbk_1_" PID "_10112233445566778899aabbccddeeff"
              "00112233445566778899aabbccddeeff"), &other);
        ok(is(run(&rec), NGX_HTTP_VALIDIBOT_INVALID, "digest mismatch"),
           "other secret: mismatch");
    }

    /* revocation */

    good(&rec);
    reset(0, NULL, 0);
    set(&rec, NGX_HTTP_VALIDIBOT_F_REVOKED_AT, "1");
    ok(is(run(&rec), NGX_HTTP_VALIDIBOT_REVOKED, "revoked"), "revoked_at 1");
    set(&rec, NGX_HTTP_VALIDIBOT_F_REVOKED_AT, "2000");
    ok(is(run(&rec), NGX_HTTP_VALIDIBOT_REVOKED, "revoked"),
       "revoked_at in the future: revoked now");
    set(&rec, NGX_HTTP_VALIDIBOT_F_REVOKED_AT, "0");
    ok(is(run(&rec), NGX_HTTP_VALIDIBOT_OK, NULL), "revoked_at 0: ok");
    set(&rec, NGX_HTTP_VALIDIBOT_F_REVOKED_AT, "");
    ok(is(run(&rec), NGX_HTTP_VALIDIBOT_OK, NULL), "revoked_at empty: ok");
    set(&rec, NGX_HTTP_VALIDIBOT_F_REVOKED_AT, "yes");
    ok(is(run(&rec), NGX_HTTP_VALIDIBOT_REVOKED, "bad revoked_at"),
       "revoked_at unparsable: revoked");

    /* expiry: expired when now >= expires_at + leeway */

    good(&rec);
    reset(0, NULL, 0);
    set(&rec, NGX_HTTP_VALIDIBOT_F_EXPIRES_AT, "1001");
    ok(is(run(&rec), NGX_HTTP_VALIDIBOT_OK, NULL), "expires now+1: ok");
    set(&rec, NGX_HTTP_VALIDIBOT_F_EXPIRES_AT, "1000");
    ok(is(run(&rec), NGX_HTTP_VALIDIBOT_EXPIRED, "expired"),
       "expires now: expired");
    set(&rec, NGX_HTTP_VALIDIBOT_F_EXPIRES_AT, "999");
    ok(is(run(&rec), NGX_HTTP_VALIDIBOT_EXPIRED, "expired"),
       "expired now-1: expired");
    set(&rec, NGX_HTTP_VALIDIBOT_F_EXPIRES_AT, "1");
    ok(is(run(&rec), NGX_HTTP_VALIDIBOT_EXPIRED, "expired"),
       "expires 1: expired");
    set(&rec, NGX_HTTP_VALIDIBOT_F_EXPIRES_AT, "0");
    ok(is(run(&rec), NGX_HTTP_VALIDIBOT_OK, NULL), "expires 0: never");
    set(&rec, NGX_HTTP_VALIDIBOT_F_EXPIRES_AT, "");
    ok(is(run(&rec), NGX_HTTP_VALIDIBOT_OK, NULL), "expires empty: never");
    set(&rec, NGX_HTTP_VALIDIBOT_F_EXPIRES_AT, NULL);
    ok(is(run(&rec), NGX_HTTP_VALIDIBOT_OK, NULL), "expires absent: never");
    set(&rec, NGX_HTTP_VALIDIBOT_F_EXPIRES_AT, "soon");
    ok(is(run(&rec), NGX_HTTP_VALIDIBOT_EXPIRED, "bad expires_at"),
       "expires unparsable: expired");
    set(&rec, NGX_HTTP_VALIDIBOT_F_EXPIRES_AT, "-5");
    ok(is(run(&rec), NGX_HTTP_VALIDIBOT_EXPIRED, "bad expires_at"),
       "expires negative: expired");
    set(&rec, NGX_HTTP_VALIDIBOT_F_EXPIRES_AT, "999999999999999999");
    ok(is(run(&rec), NGX_HTTP_VALIDIBOT_OK, NULL), "expires 10^18-1: ok");

    chk.leeway = 10;
    set(&rec, NGX_HTTP_VALIDIBOT_F_EXPIRES_AT, "991");
    ok(is(run(&rec), NGX_HTTP_VALIDIBOT_OK, NULL),
       "leeway 10, expired 9 s ago: ok");
    set(&rec, NGX_HTTP_VALIDIBOT_F_EXPIRES_AT, "990");
    ok(is(run(&rec), NGX_HTTP_VALIDIBOT_EXPIRED, "expired"),
       "leeway 10, expired 10 s ago: expired");

    chk.leeway = -10;
    set(&rec, NGX_HTTP_VALIDIBOT_F_EXPIRES_AT, "1011");
    ok(is(run(&rec), NGX_HTTP_VALIDIBOT_OK, NULL),
       "leeway -10, expires in 11 s: ok");
    set(&rec, NGX_HTTP_VALIDIBOT_F_EXPIRES_AT, "1010");
    ok(is(run(&rec), NGX_HTTP_VALIDIBOT_EXPIRED, "expired"),
       "leeway -10, expires in 10 s: expired");

    chk.leeway = INT64_MAX;
    set(&rec, NGX_HTTP_VALIDIBOT_F_EXPIRES_AT, "5");
    ok(is(run(&rec), NGX_HTTP_VALIDIBOT_OK, NULL),
       "leeway INT64_MAX does not overflow");
    chk.leeway = INT64_MIN;
    set(&rec, NGX_HTTP_VALIDIBOT_F_EXPIRES_AT, "999999999999999999");
    ok(is(run(&rec), NGX_HTTP_VALIDIBOT_EXPIRED, "expired"),
       "leeway INT64_MIN does not overflow");

    /* max key age: created_at + max_age + leeway */

    good(&rec);
    reset(0, NULL, 0);
    chk.max_age = 100;
    set(&rec, NGX_HTTP_VALIDIBOT_F_CREATED_AT, "901");
    ok(is(run(&rec), NGX_HTTP_VALIDIBOT_OK, NULL), "age 99 of 100: ok");
    ok(chk.expires_at == 0 || chk.expires_at > NOW,
       "expires_at reported on success");
    set(&rec, NGX_HTTP_VALIDIBOT_F_CREATED_AT, "900");
    ok(is(run(&rec), NGX_HTTP_VALIDIBOT_EXPIRED, "older than max key age"),
       "age 100 of 100: expired");
    set(&rec, NGX_HTTP_VALIDIBOT_F_EXPIRES_AT, "0");
    ok(is(run(&rec), NGX_HTTP_VALIDIBOT_EXPIRED, "older than max key age"),
       "too old even if it never expires");
    set(&rec, NGX_HTTP_VALIDIBOT_F_CREATED_AT, NULL);
    ok(is(run(&rec), NGX_HTTP_VALIDIBOT_EXPIRED,
          "no created_at for max key age"),
       "no created_at: expired when max_age is set");
    set(&rec, NGX_HTTP_VALIDIBOT_F_CREATED_AT, "x");
    ok(is(run(&rec), NGX_HTTP_VALIDIBOT_EXPIRED,
          "no created_at for max key age"),
       "created_at unparsable: expired");
    chk.leeway = 5;
    set(&rec, NGX_HTTP_VALIDIBOT_F_CREATED_AT, "896");
    ok(is(run(&rec), NGX_HTTP_VALIDIBOT_OK, NULL),
       "age 104 of 100, leeway 5: ok");
    chk.max_age = 0;
    set(&rec, NGX_HTTP_VALIDIBOT_F_CREATED_AT, NULL);
    ok(is(run(&rec), NGX_HTTP_VALIDIBOT_OK, NULL),
       "no max age: created_at not needed");
    chk.max_age = INT64_MAX;
    chk.leeway = INT64_MAX;
    set(&rec, NGX_HTTP_VALIDIBOT_F_CREATED_AT, "999999999999999999");
    ok(is(run(&rec), NGX_HTTP_VALIDIBOT_OK, NULL),
       "max_age and leeway INT64_MAX do not overflow");

    /* the user */

    good(&rec);
    reset(0, NULL, 0);
    set(&rec, NGX_HTTP_VALIDIBOT_F_USER_ACTIVE, NULL);
    ok(is(run(&rec), NGX_HTTP_VALIDIBOT_USER_INACTIVE, "user missing"),
       "no user record");
    set(&rec, NGX_HTTP_VALIDIBOT_F_USER_ACTIVE, "0");
    ok(is(run(&rec), NGX_HTTP_VALIDIBOT_USER_INACTIVE, "user inactive"),
       "is_active 0");
    set(&rec, NGX_HTTP_VALIDIBOT_F_USER_ACTIVE, "");
    ok(is(run(&rec), NGX_HTTP_VALIDIBOT_USER_INACTIVE, "user inactive"),
       "is_active empty");
    set(&rec, NGX_HTTP_VALIDIBOT_F_USER_ACTIVE, "true");
    ok(is(run(&rec), NGX_HTTP_VALIDIBOT_USER_INACTIVE, "user inactive"),
       "is_active true");
    set(&rec, NGX_HTTP_VALIDIBOT_F_USER_ACTIVE, "1 ");
    ok(is(run(&rec), NGX_HTTP_VALIDIBOT_USER_INACTIVE, "user inactive"),
       "is_active \"1 \"");
    set(&rec, NGX_HTTP_VALIDIBOT_F_USER_ACTIVE, "11");
    ok(is(run(&rec), NGX_HTTP_VALIDIBOT_USER_INACTIVE, "user inactive"),
       "is_active 11");

    /* the org */

    good(&rec);
    need[0] = mask("workflow_launch");
    reset(1, need, 1);
    set(&rec, NGX_HTTP_VALIDIBOT_F_ORG_STATUS, NULL);
    ok(is(run(&rec), NGX_HTTP_VALIDIBOT_ORG_INACTIVE, "org missing"),
       "no org record");
    set(&rec, NGX_HTTP_VALIDIBOT_F_ORG_STATUS, "suspended");
    ok(is(run(&rec), NGX_HTTP_VALIDIBOT_ORG_INACTIVE, "org inactive"),
       "org suspended");
    set(&rec, NGX_HTTP_VALIDIBOT_F_ORG_STATUS, "deleted");
    ok(is(run(&rec), NGX_HTTP_VALIDIBOT_ORG_INACTIVE, "org inactive"),
       "org deleted");
    set(&rec, NGX_HTTP_VALIDIBOT_F_ORG_STATUS, "Active");
    ok(is(run(&rec), NGX_HTTP_VALIDIBOT_ORG_INACTIVE, "org inactive"),
       "org Active (case matters)");
    set(&rec, NGX_HTTP_VALIDIBOT_F_ORG_STATUS, "");
    ok(is(run(&rec), NGX_HTTP_VALIDIBOT_ORG_INACTIVE, "org inactive"),
       "org status empty");
    set(&rec, NGX_HTTP_VALIDIBOT_F_ORG_STATUS, "activex");
    ok(is(run(&rec), NGX_HTTP_VALIDIBOT_ORG_INACTIVE, "org inactive"),
       "org status activex");

    /* the membership */

    good(&rec);
    reset(1, need, 1);
    set(&rec, NGX_HTTP_VALIDIBOT_F_MEMBER_ACTIVE, NULL);
    ok(is(run(&rec), NGX_HTTP_VALIDIBOT_NOT_MEMBER, "not a member")
       && chk.roles == 0, "no membership");
    set(&rec, NGX_HTTP_VALIDIBOT_F_MEMBER_ACTIVE, "0");
    ok(is(run(&rec), NGX_HTTP_VALIDIBOT_NOT_MEMBER, "membership inactive"),
       "membership inactive");
    set(&rec, NGX_HTTP_VALIDIBOT_F_MEMBER_ACTIVE, "");
    ok(is(run(&rec), NGX_HTTP_VALIDIBOT_NOT_MEMBER, "membership inactive"),
       "membership is_active empty");

    /* superusers: into every org, past every role (validibot_superusers) */

    good(&rec);
    need[0] = mask("admin_manage_org");
    set(&rec, NGX_HTTP_VALIDIBOT_F_MEMBER_ACTIVE, NULL);
    set(&rec, NGX_HTTP_VALIDIBOT_F_USER_SUPERUSER, "1");
    reset(1, need, 1);
    ok(is(run(&rec), NGX_HTTP_VALIDIBOT_NOT_MEMBER, "not a member"),
       "superuser, not a member, superusers deny: refused");
    reset(1, need, 1);
    chk.superusers = 1;
    ok(is(run(&rec), NGX_HTTP_VALIDIBOT_OK, "ok (superuser)")
       && chk.superuser == 1 && chk.roles == 0,
       "superuser, not a member, superusers allow: passes every role");
    set(&rec, NGX_HTTP_VALIDIBOT_F_MEMBER_ACTIVE, "1");
    reset(1, need, 1);
    chk.superusers = 1;
    ok(is(run(&rec), NGX_HTTP_VALIDIBOT_OK, "ok (superuser)")
       && chk.roles == NGX_HTTP_VALIDIBOT_ROLE_EXECUTOR,
       "superuser and executor member: the membership's roles reported");
    set(&rec, NGX_HTTP_VALIDIBOT_F_USER_SUPERUSER, "0");
    reset(1, need, 1);
    chk.superusers = 1;
    ok(is(run(&rec), NGX_HTTP_VALIDIBOT_FORBIDDEN, "role lacking"),
       "is_superuser 0: an ordinary member");
    set(&rec, NGX_HTTP_VALIDIBOT_F_USER_SUPERUSER, "1");
    set(&rec, NGX_HTTP_VALIDIBOT_F_ORG_STATUS, NULL);
    reset(1, need, 1);
    chk.superusers = 1;
    ok(is(run(&rec), NGX_HTTP_VALIDIBOT_ORG_INACTIVE, "org missing"),
       "superuser, org gone: still refused");
    set(&rec, NGX_HTTP_VALIDIBOT_F_ORG_STATUS, "active");
    set(&rec, NGX_HTTP_VALIDIBOT_F_USER_ACTIVE, "0");
    reset(1, need, 1);
    chk.superusers = 1;
    ok(is(run(&rec), NGX_HTTP_VALIDIBOT_USER_INACTIVE, "user inactive"),
       "inactive superuser: refused");

    /* roles */

    good(&rec);
    need[0] = mask("workflow_edit");
    reset(1, need, 1);
    ok(is(run(&rec), NGX_HTTP_VALIDIBOT_FORBIDDEN, "role lacking")
       && chk.roles == NGX_HTTP_VALIDIBOT_ROLE_EXECUTOR,
       "executor may not workflow_edit; roles still reported");

    need[0] = mask("workflow_launch");
    need[1] = mask("workflow_view");
    reset(1, need, 2);
    ok(is(run(&rec), NGX_HTTP_VALIDIBOT_OK, NULL), "two needs, both held");

    need[1] = mask("admin_manage_org");
    reset(1, need, 2);
    ok(is(run(&rec), NGX_HTTP_VALIDIBOT_FORBIDDEN, NULL),
       "two needs, second lacking");

    need[0] = mask("admin_manage_org");
    need[1] = mask("workflow_launch");
    reset(1, need, 2);
    ok(is(run(&rec), NGX_HTTP_VALIDIBOT_FORBIDDEN, NULL),
       "two needs, first lacking");

    need[0] = mask("workflow_edit") | mask("workflow_launch");
    reset(1, need, 1);
    ok(is(run(&rec), NGX_HTTP_VALIDIBOT_OK, NULL),
       "one need of two codes, either held");

    need[0] = 0;
    reset(1, need, 1);
    ok(is(run(&rec), NGX_HTTP_VALIDIBOT_FORBIDDEN, NULL),
       "an empty mask is never satisfied");

    set(&rec, NGX_HTTP_VALIDIBOT_F_MEMBER_ROLES, NULL);
    need[0] = mask("workflow_view");
    reset(1, need, 1);
    ok(is(run(&rec), NGX_HTTP_VALIDIBOT_FORBIDDEN, NULL) && chk.roles == 0,
       "no roles field: forbidden");

    reset(1, NULL, 0);
    ok(is(run(&rec), NGX_HTTP_VALIDIBOT_OK, NULL) && chk.roles == 0,
       "no roles field, nothing required: ok");

    set(&rec, NGX_HTTP_VALIDIBOT_F_MEMBER_ROLES, "owner");
    need[0] = mask("owner");
    reset(1, need, 1);
    ok(is(run(&rec), NGX_HTTP_VALIDIBOT_OK, NULL), "owner needs owner");

    set(&rec, NGX_HTTP_VALIDIBOT_F_MEMBER_ROLES, "admin");
    ok(is(run(&rec), NGX_HTTP_VALIDIBOT_FORBIDDEN, NULL),
       "admin is not owner");

    need[0] = mask("executor");
    need[1] = mask("validation_results_view_own");
    need[2] = mask("analytics_review");
    reset(1, need, 3);
    ok(is(run(&rec), NGX_HTTP_VALIDIBOT_OK, NULL)
       && chk.roles == NGX_HTTP_VALIDIBOT_ROLE_ADMIN,
       "admin satisfies every code but owner");

    set(&rec, NGX_HTTP_VALIDIBOT_F_MEMBER_ROLES, "workflow_launch");
    need[0] = mask("workflow_launch");
    reset(1, need, 1);
    ok(is(run(&rec), NGX_HTTP_VALIDIBOT_FORBIDDEN, NULL),
       "a permission code stored as a role grants nothing");

    set(&rec, NGX_HTTP_VALIDIBOT_F_MEMBER_ROLES, " Author , EXECUTOR ");
    need[0] = mask("workflow_launch");
    need[1] = mask("workflow_edit");
    reset(1, need, 2);
    ok(is(run(&rec), NGX_HTTP_VALIDIBOT_OK, NULL)
       && chk.roles == (NGX_HTTP_VALIDIBOT_ROLE_AUTHOR
                        | NGX_HTTP_VALIDIBOT_ROLE_EXECUTOR),
       "several roles, any case");

    /* no org: a requirement fails closed; org fields are ignored */

    good(&rec);
    need[0] = mask("workflow_view");
    reset(0, need, 1);
    ok(is(run(&rec), NGX_HTTP_VALIDIBOT_FORBIDDEN, NULL) && chk.roles == 0,
       "role required without org: forbidden");

    set(&rec, NGX_HTTP_VALIDIBOT_F_ORG_STATUS, NULL);
    set(&rec, NGX_HTTP_VALIDIBOT_F_MEMBER_ACTIVE, NULL);
    reset(0, NULL, 0);
    ok(is(run(&rec), NGX_HTTP_VALIDIBOT_OK, NULL),
       "no org named: org fields not looked at");

    /* the order of the rules */

    good(&rec);
    reset(1, need, 1);
    set(&rec, NGX_HTTP_VALIDIBOT_F_DIGEST, D2);
    set(&rec, NGX_HTTP_VALIDIBOT_F_REVOKED_AT, "5");
    set(&rec, NGX_HTTP_VALIDIBOT_F_EXPIRES_AT, "5");
    set(&rec, NGX_HTTP_VALIDIBOT_F_USER_ACTIVE, "0");
    set(&rec, NGX_HTTP_VALIDIBOT_F_ORG_STATUS, "deleted");
    set(&rec, NGX_HTTP_VALIDIBOT_F_MEMBER_ACTIVE, "0");
    need[0] = 0;
    ok(is(run(&rec), NGX_HTTP_VALIDIBOT_INVALID, NULL),
       "order: digest first");
    set(&rec, NGX_HTTP_VALIDIBOT_F_DIGEST, D1);
    ok(is(run(&rec), NGX_HTTP_VALIDIBOT_REVOKED, NULL), "order: revoked");
    set(&rec, NGX_HTTP_VALIDIBOT_F_REVOKED_AT, NULL);
    ok(is(run(&rec), NGX_HTTP_VALIDIBOT_EXPIRED, NULL), "order: expired");
    set(&rec, NGX_HTTP_VALIDIBOT_F_EXPIRES_AT, NULL);
    ok(is(run(&rec), NGX_HTTP_VALIDIBOT_USER_INACTIVE, NULL), "order: user");
    set(&rec, NGX_HTTP_VALIDIBOT_F_USER_ACTIVE, "1");
    ok(is(run(&rec), NGX_HTTP_VALIDIBOT_ORG_INACTIVE, NULL), "order: org");
    set(&rec, NGX_HTTP_VALIDIBOT_F_ORG_STATUS, "active");
    ok(is(run(&rec), NGX_HTTP_VALIDIBOT_NOT_MEMBER, NULL),
       "order: membership");
    set(&rec, NGX_HTTP_VALIDIBOT_F_MEMBER_ACTIVE, "1");
    ok(is(run(&rec), NGX_HTTP_VALIDIBOT_FORBIDDEN, NULL), "order: roles");
    need[0] = mask("executor");
    ok(is(run(&rec), NGX_HTTP_VALIDIBOT_OK, "ok"), "order: ok");

    /* status names */

    {
        static const char  *names[] = {
            "ok", "missing", "malformed", "invalid", "revoked", "expired",
            "user_inactive", "org_inactive", "not_member", "forbidden",
            "store_error",
            "throttled"
        };

        for (i = 0; i < NGX_HTTP_VALIDIBOT_NSTATUS; i++) {
            ok(strcmp(ngx_http_validibot_status_name(i), names[i]) == 0,
               "status %zu is %s", i, names[i]);
        }

        ok(strcmp(ngx_http_validibot_status_name(NGX_HTTP_VALIDIBOT_NSTATUS),
                  "unknown") == 0, "out of range: unknown");
        ok(strcmp(ngx_http_validibot_status_name(
                      (ngx_http_validibot_status_e) -1), "unknown") == 0,
           "negative: unknown");
    }

    return tap_done();
}
