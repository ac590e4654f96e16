
/*
 * Copyright (C) The ngx_http_validibot_module authors
 *
 * libFuzzer target: any bytes as a client header name (lowercased as
 * nginx keeps it), as a user id or roles value read from Redis, as a raw
 * request path and as free text for whoami's JSON.  Each check is held to
 * an oracle written differently: the header name mapped the way CGI maps
 * it, POSIX regex for the grammars, a split-then-search reading of the
 * path rules, and RFC 3629's table of well-formed byte sequences.
 */


#include <ctype.h>
#include <regex.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ngx_http_validibot_value.h"


#define USER_RE   "^[A-Za-z0-9_.@+-]{1,128}$"
#define ROLES_RE  "^[A-Za-z0-9_, ]*$"


static regex_t  user_re, roles_re;


int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void) argc;
    (void) argv;

    if (regcomp(&user_re, USER_RE, REG_EXTENDED | REG_NOSUB) != 0
        || regcomp(&roles_re, ROLES_RE, REG_EXTENDED | REG_NOSUB) != 0)
    {
        abort();
    }

    return 0;
}


static int
ref_match(regex_t *re, const uint8_t *p, size_t n)
{
    int    rc;
    char  *s;

    /* a NUL or a byte over 0x7f never matches these ASCII grammars */

    if (memchr(p, '\0', n) != NULL) {
        return 0;
    }

    s = malloc(n + 1);
    if (s == NULL) {
        abort();
    }

    memcpy(s, p, n);
    s[n] = '\0';

    rc = regexec(re, s, 0, NULL, 0);
    free(s);

    return rc == 0;
}


/* CGI: HTTP_ + the name uppercased with "-" as "_" */
static int
ref_identity(const uint8_t *p, size_t n)
{
    size_t  i;
    char    cgi[13];

    if (n <= 12) {
        return 0;
    }

    for (i = 0; i < 12; i++) {
        cgi[i] = (p[i] == '-') ? '_' : (char) toupper(p[i]);
    }

    cgi[12] = '\0';

    /* nginx lowercases names: an uppercase byte never reaches the check */
    return strcmp(cgi, "X_VALIDIBOT_") == 0;
}


/* split the path from the query, then look for each form by itself */
static int
ref_path(const uint8_t *p, size_t n)
{
    size_t  i, end, seg;

    for (end = 0; end < n && p[end] != '?' && p[end] != '#'; end++) {
        /* void */
    }

    for (i = 0; i < end; i++) {
        if (p[i] == '\\') {
            return 1;
        }

        if (i + 1 < end && p[i] == '/' && p[i + 1] == '/') {
            return 1;
        }

        if (i + 2 < end && p[i] == '%'
            && (strncasecmp((const char *) p + i, "%2f", 3) == 0
                || strncasecmp((const char *) p + i, "%2e", 3) == 0
                || strncasecmp((const char *) p + i, "%5c", 3) == 0))
        {
            return 1;
        }
    }

    seg = 0;

    for (i = 0; i <= end; i++) {
        if (i == end || p[i] == '/') {
            if ((i - seg == 1 && p[seg] == '.')
                || (i - seg == 2 && p[seg] == '.' && p[seg + 1] == '.'))
            {
                return 1;
            }

            seg = i + 1;
        }
    }

    return 0;
}


/* the length of one well-formed sequence at p (RFC 3629 section 4), or 0 */
static size_t
ref_utf8_one(const uint8_t *p, size_t n)
{
    uint8_t  a, b;

    a = p[0];

    if (a <= 0x7f) {
        return 1;
    }

    if (n < 2) {
        return 0;
    }

    b = p[1];

    if (a >= 0xc2 && a <= 0xdf) {
        return (b >= 0x80 && b <= 0xbf) ? 2 : 0;
    }

    if (a >= 0xe0 && a <= 0xef) {
        if (n < 3 || p[2] < 0x80 || p[2] > 0xbf) {
            return 0;
        }

        if ((a == 0xe0 && (b < 0xa0 || b > 0xbf))
            || (a == 0xed && (b < 0x80 || b > 0x9f))
            || (a != 0xe0 && a != 0xed && (b < 0x80 || b > 0xbf)))
        {
            return 0;
        }

        return 3;
    }

    if (a >= 0xf0 && a <= 0xf4) {
        if (n < 4 || p[2] < 0x80 || p[2] > 0xbf || p[3] < 0x80
            || p[3] > 0xbf)
        {
            return 0;
        }

        if ((a == 0xf0 && (b < 0x90 || b > 0xbf))
            || (a == 0xf4 && (b < 0x80 || b > 0x8f))
            || (a != 0xf0 && a != 0xf4 && (b < 0x80 || b > 0xbf)))
        {
            return 0;
        }

        return 4;
    }

    return 0;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int       valid, want_valid;
    size_t    i, k, n, max, want;
    uint8_t  *low;

    /* header names: nginx hands the check a lowercased copy */

    low = malloc(size + 1);
    if (low == NULL) {
        abort();
    }

    for (i = 0; i < size; i++) {
        low[i] = (uint8_t) tolower(data[i]);
    }

    if (ngx_http_validibot_identity_header(low, size)
        != ref_identity(low, size))
    {
        abort();
    }

    free(low);

    /* values from Redis */

    if (ngx_http_validibot_user_valid(data, size)
        != ref_match(&user_re, data, size))
    {
        abort();
    }

    if (ngx_http_validibot_roles_valid(data, size)
        != ref_match(&roles_re, data, size))
    {
        abort();
    }

    /* raw request paths */

    if (ngx_http_validibot_path_ambiguous(data, size) != ref_path(data, size))
    {
        abort();
    }

    /* UTF-8: whole characters up to max, stopping at the first bad one */

    max = size ? data[0] % (size + 1) : 0;

    n = ngx_http_validibot_utf8_prefix(data, size, max, &valid);

    want = 0;
    want_valid = 1;

    while (want < size) {
        k = ref_utf8_one(data + want, size - want);

        if (k == 0) {
            want_valid = 0;
            break;
        }

        if (want + k > max) {
            break;
        }

        want += k;
    }

    if (n != want || valid != want_valid) {
        abort();
    }

    return 0;
}
