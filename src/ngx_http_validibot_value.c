
/*
 * Copyright (C) The ngx_http_validibot_module authors
 */


#include "ngx_http_validibot_value.h"


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
    size_t         i, n, k;
    uint32_t       cp, min;
    unsigned char  c;

    *valid = 1;
    i = 0;

    while (i < len) {
        c = p[i];

        if (c < 0x80) {
            n = 1;
            cp = c;
            min = 0;

        } else if ((c & 0xe0) == 0xc0) {
            n = 2;
            cp = c & 0x1f;
            min = 0x80;

        } else if ((c & 0xf0) == 0xe0) {
            n = 3;
            cp = c & 0x0f;
            min = 0x800;

        } else if ((c & 0xf8) == 0xf0) {
            n = 4;
            cp = c & 0x07;
            min = 0x10000;

        } else {
            *valid = 0;
            return i;
        }

        if (n > len - i) {
            *valid = 0;
            return i;
        }

        for (k = 1; k < n; k++) {
            if ((p[i + k] & 0xc0) != 0x80) {
                *valid = 0;
                return i;
            }

            cp = (cp << 6) | (p[i + k] & 0x3f);
        }

        /* overlong forms, surrogates and beyond U+10FFFF */

        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
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
