
/*
 * Copyright (C) The ngx_http_validibot_module authors
 *
 * Key syntax and the Authorization header.
 */


#include <stdlib.h>

#include "tap.h"
#include "ngx_http_validibot_key.h"


#define PID     "0123456789abcdef0123456789abcdef"
#define SECRET  "00112233445566778899aabbccddeeff" \
                "00112233445566778899aabbccddeeff"
#define KEY     "vbk_1_" PID "_" SECRET


static ngx_http_validibot_cred_e
auth(const unsigned char *v, size_t len)
{
    ngx_http_validibot_key_t  key;

    return ngx_http_validibot_parse_authorization(v, len, &key);
}


static int
key_ok(const unsigned char *p, size_t len)
{
    ngx_http_validibot_key_t  key;

    return ngx_http_validibot_parse_key(p, len, &key) == 0;
}


int
main(void)
{
    size_t                     i, n, bad;
    unsigned char              buf[16384], *big;
    const unsigned char       *sentinel = (const unsigned char *) "s";
    ngx_http_validibot_key_t   key;

    /* parse_key: the valid key */

    memset(&key, 0, sizeof(key));
    ok(sizeof(KEY) - 1 == NGX_HTTP_VALIDIBOT_KEY_LEN, "key is 103 bytes");
    ok(ngx_http_validibot_parse_key(S(KEY), &key) == 0, "valid key parses");
    ok(key.format_version == 1, "format version 1");
    ok(key.public_id == (const unsigned char *) KEY + 6
       && memcmp(key.public_id, PID, 32) == 0, "public id points into key");
    ok(key.secret == (const unsigned char *) KEY + 39
       && memcmp(key.secret, SECRET, 64) == 0, "secret points into key");
    ok(ngx_http_validibot_parse_key(S(KEY), NULL) == 0, "key may be NULL");

    /* parse_key: length */

    ok(!key_ok(S(KEY) - 1), "102 bytes refused");
    memcpy(buf, KEY, 103);
    buf[103] = '0';
    ok(!key_ok(buf, 104), "104 bytes refused");
    ok(!key_ok(NULL, 0), "NULL refused");
    ok(!key_ok(S("")), "empty refused");

    for (n = 159; n <= 161; n++) {
        memset(buf, 'a', n);
        memcpy(buf, KEY, 103);
        ok(!key_ok(buf, n), "%zu bytes refused", n);
    }

    /* parse_key: prefix and format version */

    ok(!key_ok(S("vbk_01_" PID "_" SECRET)), "vbk_01_ refused");
    ok(!key_ok(S("vbk_2_" PID "_" SECRET)), "vbk_2_ refused");
    ok(!key_ok(S("vbk_0_" PID "_" SECRET)), "vbk_0_ refused");
    ok(!key_ok(S("VBK_1_" PID "_" SECRET)), "VBK_1_ refused");
    ok(!key_ok(S("vbk-1_" PID "_" SECRET)), "vbk-1_ refused");
    ok(!key_ok(S("vbk_1-" PID "_" SECRET)), "vbk_1- refused");
    ok(!key_ok(S("vbk_1_" PID "-" SECRET)), "- as separator refused");
    ok(!key_ok(S("vbk_11_" PID SECRET)), "format 11 without separator");

    /* parse_key: every position with a wrong byte */

    for (bad = 0, i = 0; i < 103; i++) {
        static const unsigned char  wrong[] = { 'g', 'A', 'F', '\0', ' ',
                                                '\xff', '_', '0', 'a' };
        size_t                      w;

        for (w = 0; w < sizeof(wrong); w++) {
            memcpy(buf, KEY, 103);

            if (buf[i] == wrong[w]) {
                continue;
            }

            buf[i] = wrong[w];

            /* a hex digit for a hex digit is still a valid key */

            if (i >= 6 && i != 38
                && (wrong[w] == '0' || wrong[w] == 'a'))
            {
                bad += !key_ok(buf, 103);
                continue;
            }

            bad += key_ok(buf, 103);
        }
    }

    ok(bad == 0, "each of 103 positions checked (%zu wrong verdicts)", bad);

    ok(!key_ok(S("vbk_1_0123456789ABCDEF0123456789abcdef_" SECRET)),
       "uppercase hex in public id refused");
    ok(!key_ok(S("vbk_1_" PID "_00112233445566778899AABBCCDDEEFF"
                 "00112233445566778899aabbccddeeff")),
       "uppercase hex in secret refused");

    /* parse_key fills nothing on failure */

    key.public_id = sentinel;
    key.secret = sentinel;
    key.format_version = 77;
    ngx_http_validibot_parse_key(S("vbk_2_" PID "_" SECRET), &key);
    ok(key.public_id == sentinel && key.secret == sentinel
       && key.format_version == 77, "key untouched on failure");

    /* check_public_id */

    ok(ngx_http_validibot_check_public_id(S(PID)) == 0, "public id ok");
    ok(ngx_http_validibot_check_public_id(S(PID) - 1) == -1, "31 refused");
    ok(ngx_http_validibot_check_public_id(S(PID "0")) == -1, "33 refused");
    ok(ngx_http_validibot_check_public_id(
           S("0123456789ABCDEF0123456789abcdef")) == -1, "uppercase refused");
    ok(ngx_http_validibot_check_public_id(
           S("0123456789abcdeg0123456789abcdef")) == -1, "g refused");
    ok(ngx_http_validibot_check_public_id(NULL, 32) == -1, "NULL refused");

    /* parse_authorization: no credentials, or another scheme */

    ok(auth(NULL, 0) == NGX_HTTP_VALIDIBOT_CRED_MISSING, "NULL: missing");
    ok(auth(S("")) == NGX_HTTP_VALIDIBOT_CRED_MISSING, "empty: missing");
    ok(auth(S("Basic dXNlcjpwYXNz")) == NGX_HTTP_VALIDIBOT_CRED_MISSING,
       "Basic: missing");
    ok(auth(S("Bearerx")) == NGX_HTTP_VALIDIBOT_CRED_MISSING,
       "Bearerx: missing");
    ok(auth(S("Bearer_" KEY)) == NGX_HTTP_VALIDIBOT_CRED_MISSING,
       "Bearer_key: missing");
    ok(auth(S("Bearer" KEY)) == NGX_HTTP_VALIDIBOT_CRED_MISSING,
       "Bearer glued to key: missing");
    ok(auth(S("Bear")) == NGX_HTTP_VALIDIBOT_CRED_MISSING, "Bear: missing");
    ok(auth(S("Beare")) == NGX_HTTP_VALIDIBOT_CRED_MISSING,
       "Beare: missing");
    ok(auth(S(" Bearer " KEY)) == NGX_HTTP_VALIDIBOT_CRED_MISSING,
       "leading space: missing");
    ok(auth(S("Token " KEY)) == NGX_HTTP_VALIDIBOT_CRED_MISSING,
       "Token: missing");
    ok(auth(S("Bearer\0" KEY)) == NGX_HTTP_VALIDIBOT_CRED_MISSING,
       "Bearer NUL key: missing");
    ok(auth(S("B\xc3\xa9" "arer " KEY)) == NGX_HTTP_VALIDIBOT_CRED_MISSING,
       "non-ASCII scheme: missing");
    ok(auth(S("Bearer\r\n" KEY)) == NGX_HTTP_VALIDIBOT_CRED_MISSING,
       "CR after scheme: missing");

    /* parse_authorization: Bearer without a valid key */

    ok(auth(S("Bearer")) == NGX_HTTP_VALIDIBOT_CRED_MALFORMED,
       "Bearer alone: malformed");
    ok(auth(S("bearer")) == NGX_HTTP_VALIDIBOT_CRED_MALFORMED,
       "bearer alone: malformed");
    ok(auth(S("Bearer ")) == NGX_HTTP_VALIDIBOT_CRED_MALFORMED,
       "Bearer SP: malformed");
    ok(auth(S("Bearer \t \t")) == NGX_HTTP_VALIDIBOT_CRED_MALFORMED,
       "Bearer and blanks: malformed");
    ok(auth(S("Bearer x")) == NGX_HTTP_VALIDIBOT_CRED_MALFORMED,
       "Bearer x: malformed");
    ok(auth(S("Bearer " KEY "x")) == NGX_HTTP_VALIDIBOT_CRED_MALFORMED,
       "key plus a byte: malformed");
    ok(auth(S("Bearer " KEY " x")) == NGX_HTTP_VALIDIBOT_CRED_MALFORMED,
       "key, space, byte: malformed");
    ok(auth(S("Bearer " KEY "\0")) == NGX_HTTP_VALIDIBOT_CRED_MALFORMED,
       "key plus NUL: malformed");
    ok(auth(S("Bearer \0" KEY)) == NGX_HTTP_VALIDIBOT_CRED_MALFORMED,
       "NUL before key: malformed");
    ok(auth(S("Bearer " KEY "\r")) == NGX_HTTP_VALIDIBOT_CRED_MALFORMED,
       "key plus CR: malformed");
    ok(auth(S("Bearer " KEY " " KEY)) == NGX_HTTP_VALIDIBOT_CRED_MALFORMED,
       "two keys: malformed");
    ok(auth(S("Bearer vbk_2_" PID "_" SECRET))
       == NGX_HTTP_VALIDIBOT_CRED_MALFORMED, "format 2: malformed");
    ok(auth(S("Bearer vbk_1_" PID "_" SECRET "=="))
       == NGX_HTTP_VALIDIBOT_CRED_MALFORMED, "b64 padding: malformed");
    ok(auth(S("Bearer vbk_1_" PID "_00112233445566778899AABBCCDDEEFF"
              "00112233445566778899aabbccddeeff"))
       == NGX_HTTP_VALIDIBOT_CRED_MALFORMED, "uppercase secret: malformed");
    ok(auth(S("Bearer " KEY "\xc3\xa9"))
       == NGX_HTTP_VALIDIBOT_CRED_MALFORMED, "non-ASCII tail: malformed");

    /* 159, 160, 161 bytes after "Bearer " */

    for (n = 159; n <= 161; n++) {
        memcpy(buf, "Bearer ", 7);
        memset(buf + 7, 'a', n);
        memcpy(buf + 7, KEY, 103);
        ok(auth(buf, 7 + n) == NGX_HTTP_VALIDIBOT_CRED_MALFORMED,
           "%zu-byte key: malformed", n);

        /* the same padded with trailing blanks is the key itself */

        memset(buf + 7 + 103, ' ', n - 103);
        buf[7 + n - 1] = '\t';
        ok(auth(buf, 7 + n) == NGX_HTTP_VALIDIBOT_CRED_OK,
           "key + %zu trailing blanks: ok", n - 103);
    }

    /* values of 8 KB and more */

    memcpy(buf, "Bearer ", 7);
    memset(buf + 7, 'a', 8192);
    ok(auth(buf, 8199) == NGX_HTTP_VALIDIBOT_CRED_MALFORMED,
       "Bearer + 8 KB: malformed");
    memcpy(buf + 7, KEY, 103);
    ok(auth(buf, 8199) == NGX_HTTP_VALIDIBOT_CRED_MALFORMED,
       "key + 8 KB: malformed");
    memset(buf + 7, ' ', 8192);
    memcpy(buf + 7 + 4000, KEY, 103);
    ok(auth(buf, 8199) == NGX_HTTP_VALIDIBOT_CRED_OK,
       "key in 8 KB of blanks: ok");
    memset(buf, 0, sizeof(buf));
    ok(auth(buf, sizeof(buf)) == NGX_HTTP_VALIDIBOT_CRED_MISSING,
       "16 KB of NULs: missing");
    memcpy(buf, "Bearer ", 7);
    ok(auth(buf, sizeof(buf)) == NGX_HTTP_VALIDIBOT_CRED_MALFORMED,
       "Bearer + 16 KB of NULs: malformed");

    for (i = 0; i < sizeof(buf); i++) {
        buf[i] = (unsigned char) (i * 131 + 7);
    }

    ok(auth(buf, sizeof(buf)) == NGX_HTTP_VALIDIBOT_CRED_MISSING,
       "16 KB of binary: missing");

    /* an exact-size heap copy lets a sanitizer see any over-read */

    big = malloc(65536 + 7);
    if (big == NULL) {
        return 2;
    }

    memcpy(big, "BEARER\t", 7);
    memset(big + 7, '\t', 65536);
    ok(auth(big, 65536 + 7) == NGX_HTTP_VALIDIBOT_CRED_MALFORMED,
       "BEARER + 64 KB of tabs: malformed");
    free(big);

    big = malloc(7 + 103);
    if (big == NULL) {
        return 2;
    }

    memcpy(big, "Bearer " KEY, 7 + 103);
    ok(auth(big, 7 + 103) == NGX_HTTP_VALIDIBOT_CRED_OK,
       "exact-size heap value: ok");
    free(big);

    /* parse_authorization: valid */

    memset(&key, 0, sizeof(key));
    ok(ngx_http_validibot_parse_authorization(S("Bearer " KEY), &key)
       == NGX_HTTP_VALIDIBOT_CRED_OK, "Bearer key: ok");
    ok(key.format_version == 1 && memcmp(key.public_id, PID, 32) == 0
       && memcmp(key.secret, SECRET, 64) == 0, "key parts filled");
    ok(auth(S("bearer " KEY)) == NGX_HTTP_VALIDIBOT_CRED_OK, "bearer: ok");
    ok(auth(S("BEARER " KEY)) == NGX_HTTP_VALIDIBOT_CRED_OK, "BEARER: ok");
    ok(auth(S("bEaReR " KEY)) == NGX_HTTP_VALIDIBOT_CRED_OK, "bEaReR: ok");
    ok(auth(S("Bearer\t" KEY)) == NGX_HTTP_VALIDIBOT_CRED_OK, "HTAB: ok");
    ok(auth(S("Bearer  \t  " KEY)) == NGX_HTTP_VALIDIBOT_CRED_OK,
       "several blanks: ok");
    ok(auth(S("Bearer " KEY " \t ")) == NGX_HTTP_VALIDIBOT_CRED_OK,
       "trailing blanks: ok");

    key.public_id = sentinel;
    ngx_http_validibot_parse_authorization(S("Bearer " KEY "x"), &key);
    ok(key.public_id == sentinel, "key untouched on malformed");

    return tap_done();
}
