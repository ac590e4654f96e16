
/*
 * Copyright (C) The ngx_http_validibot_module authors
 */


#include "ngx_http_validibot_value.h"
#include "ngx_http_validibot_json.h"


int
ngx_http_validibot_identity_header(const unsigned char *lowcase, size_t len)
{
    size_t             i;
    unsigned char      c;
    static const char  prefix[] = "x-validibot-";

    if (len <= sizeof(prefix) - 1) {
        return 0;
    }

    for (i = 0; i < sizeof(prefix) - 1; i++) {
        c = lowcase[i];

        if (c == '_') {
            c = '-';
        }

        if (c != (unsigned char) prefix[i]) {
            return 0;
        }
    }

    return 1;
}


int
ngx_http_validibot_user_valid(const unsigned char *p, size_t len)
{
    size_t         i;
    unsigned char  c;

    if (len == 0 || len > NGX_HTTP_VALIDIBOT_USER_MAX_LEN) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        c = p[i];

        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z')
              || (c >= 'A' && c <= 'Z') || c == '_' || c == '-'
              || c == '.' || c == '@' || c == '+'))
        {
            return 0;
        }
    }

    return 1;
}


int
ngx_http_validibot_roles_valid(const unsigned char *p, size_t len)
{
    size_t         i;
    unsigned char  c;

    for (i = 0; i < len; i++) {
        c = p[i];

        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z')
              || (c >= 'A' && c <= 'Z') || c == '_' || c == ','
              || c == ' '))
        {
            return 0;
        }
    }

    return 1;
}


int
ngx_http_validibot_path_ambiguous(const unsigned char *p, size_t len)
{
    size_t         i, seg;
    unsigned char  c, h, l;

    seg = 0;    /* where the current segment starts */

    for (i = 0; i <= len; i++) {
        c = (i < len) ? p[i] : '/';

        if (c == '?' || c == '#') {
            c = '/';
            len = i;
        }

        if (c == '\\') {
            return 1;
        }

        if (c == '%' && i + 2 < len) {
            h = p[i + 1];
            l = p[i + 2] | 0x20;

            if ((h == '2' && (l == 'f' || l == 'e'))
                || (h == '5' && l == 'c'))
            {
                return 1;
            }
        }

        if (c != '/') {
            continue;
        }

        if (i > 0 && i - seg == 0 && i < len) {
            return 1;                                  /* "//" */
        }

        if ((i - seg == 1 && p[seg] == '.')
            || (i - seg == 2 && p[seg] == '.' && p[seg + 1] == '.'))
        {
            return 1;                                  /* "." or ".." */
        }

        seg = i + 1;
    }

    return 0;
}


size_t
ngx_http_validibot_utf8_prefix(const unsigned char *p, size_t len,
    size_t max, int *valid)
{
    size_t  i, n;

    *valid = 1;
    i = 0;

    while (i < len) {
        n = ngx_http_validibot_utf8_len(p + i, len - i);

        if (n == 0) {
            *valid = 0;
            return i;
        }

        if (i + n > max) {
            return i;
        }

        i += n;
    }

    return i;
}
