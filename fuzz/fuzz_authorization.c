
/*
 * Copyright (C) The ngx_http_validibot_module authors
 *
 * libFuzzer target: any bytes as an Authorization header value, as a bare
 * key, as a membership's roles field and as an integer field.  Besides the
 * sanitizers, the parsers are held to an independent oracle: POSIX regex
 * for the key, and a plain re-reading of the header rules.
 */


#include <regex.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ngx_http_validibot_key.h"
#include "ngx_http_validibot_roles.h"
#include "ngx_http_validibot_reply.h"


#define KEY_RE  "^vbk_1_[a-f0-9]{32}_[a-f0-9]{64}$"


static regex_t  key_re;


int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void) argc;
    (void) argv;

    if (regcomp(&key_re, KEY_RE, REG_EXTENDED | REG_NOSUB) != 0) {
        abort();
    }

    return 0;
}


/* the oracle for a bare key: length cap, then the regex on a C string */
static int
ref_key(const uint8_t *p, size_t n)
{
    int    rc;
    char  *s;

    if (n > NGX_HTTP_VALIDIBOT_KEY_MAX_LEN || memchr(p, '\0', n) != NULL) {
        return 0;
    }

    s = malloc(n + 1);
    if (s == NULL) {
        abort();
    }

    memcpy(s, p, n);
    s[n] = '\0';

    rc = regexec(&key_re, s, 0, NULL, 0) == 0;

    free(s);

    return rc;
}


static ngx_http_validibot_cred_e
ref_authorization(const uint8_t *p, size_t n)
{
    size_t  i, j;

    if (n < 6 || strncasecmp((const char *) p, "bearer", 6) != 0
        || memchr(p, '\0', 6) != NULL)
    {
        return NGX_HTTP_VALIDIBOT_CRED_MISSING;
    }

    if (n == 6) {
        return NGX_HTTP_VALIDIBOT_CRED_MALFORMED;
    }

    if (p[6] != ' ' && p[6] != '\t') {
        return NGX_HTTP_VALIDIBOT_CRED_MISSING;
    }

    for (i = 6; i < n && (p[i] == ' ' || p[i] == '\t'); i++) { /* void */ }
    for (j = n; j > i && (p[j - 1] == ' ' || p[j - 1] == '\t'); j--) { }

    return ref_key(p + i, j - i) ? NGX_HTTP_VALIDIBOT_CRED_OK
                                 : NGX_HTTP_VALIDIBOT_CRED_MALFORMED;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                        rc;
    int64_t                    v;
    uint32_t                   m;
    unsigned char              buf[NGX_HTTP_VALIDIBOT_ROLES_MAX_LEN];
    ngx_http_validibot_key_t   key;
    ngx_http_validibot_span_t  span;
    ngx_http_validibot_cred_e  cred;

    /* the header value */

    memset(&key, 0, sizeof(key));
    cred = ngx_http_validibot_parse_authorization(data, size, &key);

    if (cred != ref_authorization(data, size)) {
        abort();
    }

    if (cred == NGX_HTTP_VALIDIBOT_CRED_OK) {
        if (key.format_version != 1
            || key.public_id < data || key.secret + 64 > data + size
            || key.secret != key.public_id + 33
            || ngx_http_validibot_check_public_id(key.public_id, 32) != 0
            || ngx_http_validibot_parse_key(key.public_id - 6, 103, NULL)
               != 0)
        {
            abort();
        }
    }

    /* the bare key */

    rc = ngx_http_validibot_parse_key(data, size, &key);

    if ((rc == 0) != ref_key(data, size)) {
        abort();
    }

    if (ngx_http_validibot_check_public_id(data, size) == 0 && size != 32) {
        abort();
    }

    /* a roles field, and the same bytes as one code */

    m = ngx_http_validibot_roles_parse(data, size);

    if ((m & ~0x7fu)
        || ngx_http_validibot_roles_parse(buf,
               ngx_http_validibot_roles_format(m, buf)) != m)
    {
        abort();
    }

    m = ngx_http_validibot_code_mask(data, size);

    if ((m & ~0x7fu) || (m && size > sizeof("validation_results_view_own")))
    {
        abort();
    }

    /* an integer field */

    span.data = data;
    span.len = size;
    rc = ngx_http_validibot_span_int(&span, &v);

    if (rc == 0 && (v < 0 || size > 18)) {
        abort();
    }

    return 0;
}
