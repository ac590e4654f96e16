
/*
 * Copyright (C) The ngx_http_validibot_module authors
 */


#include <string.h>
#include <stdint.h>

#include "ngx_http_validibot_json.h"


/*
 * What each byte becomes: 0 copied as is, 1 escaped short ("\n"), 2 as
 * \u00XX, 3 the start of a multibyte sequence (or not UTF-8 at all).
 */
static const unsigned char  ngx_http_validibot_json_class[256] = {
    2, 2, 2, 2, 2, 2, 2, 2, 1, 1, 1, 2, 1, 1, 2, 2,     /* 0x00 */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,     /* 0x10 */
    0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,     /* 0x20 " */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0,     /* 0x50 \ */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2,     /* 0x70 DEL */
    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,
    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,
    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,
    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,
    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,
    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,
    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,
    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3
};


size_t
ngx_http_validibot_utf8_len(const unsigned char *p, size_t len)
{
    size_t    n, i;
    uint32_t  cp, min;

    if (p[0] < 0x80) {
        return 1;
    }

    if ((p[0] & 0xe0) == 0xc0) {
        n = 2; cp = p[0] & 0x1f; min = 0x80;

    } else if ((p[0] & 0xf0) == 0xe0) {
        n = 3; cp = p[0] & 0x0f; min = 0x800;

    } else if ((p[0] & 0xf8) == 0xf0) {
        n = 4; cp = p[0] & 0x07; min = 0x10000;

    } else {
        return 0;
    }

    if (len < n) {
        return 0;
    }

    for (i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80) {
            return 0;
        }

        cp = (cp << 6) | (p[i] & 0x3f);
    }

    /* overlong forms, surrogates and beyond U+10FFFF */

    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
        return 0;
    }

    return n;
}


/*
 * Non-zero if any of the 8 bytes in w may need more than a copy: below
 * 0x20, quote, backslash, DEL or 0x80 and above.  The zero-byte tests can
 * also flag a byte right after one that matched (a borrow), never miss
 * one: a flagged word only goes the byte-by-byte way.
 */
#define NGX_HTTP_VALIDIBOT_ONES   0x0101010101010101ULL
#define NGX_HTTP_VALIDIBOT_HIGHS  0x8080808080808080ULL
#define ngx_http_validibot_zero8(x)                                          \
    (((x) - NGX_HTTP_VALIDIBOT_ONES) & ~(x) & NGX_HTTP_VALIDIBOT_HIGHS)

static inline uint64_t
ngx_http_validibot_json_special8(uint64_t w)
{
    return (w & NGX_HTTP_VALIDIBOT_HIGHS)
           | ((w - 0x20 * NGX_HTTP_VALIDIBOT_ONES) & ~w
              & NGX_HTTP_VALIDIBOT_HIGHS)
           | ngx_http_validibot_zero8(w ^ (0x22 * NGX_HTTP_VALIDIBOT_ONES))
           | ngx_http_validibot_zero8(w ^ (0x5c * NGX_HTTP_VALIDIBOT_ONES))
           | ngx_http_validibot_zero8(w ^ (0x7f * NGX_HTTP_VALIDIBOT_ONES));
}


unsigned char *
ngx_http_validibot_json_quote(unsigned char *dst, const unsigned char *src,
    size_t len)
{
    uint64_t              w;
    size_t                n;
    unsigned char         ch;
    const unsigned char  *end;

    static const char  hex[] = "0123456789abcdef";

    end = src + len;

    *dst++ = '"';

    while (src < end) {

        /* eight plain bytes at a time while there are */

        while (end - src >= 8) {
            memcpy(&w, src, 8);

            if (ngx_http_validibot_json_special8(w)) {
                break;
            }

            memcpy(dst, src, 8);
            dst += 8;
            src += 8;
        }

        if (src == end) {
            break;
        }

        /* then one at a time, up to a byte that needs more */

        while (ngx_http_validibot_json_class[*src] == 0) {
            *dst++ = *src++;

            if (src == end) {
                goto done;
            }
        }

        ch = *src;

        switch (ngx_http_validibot_json_class[ch]) {

        case 1:
            *dst++ = '\\';

            switch (ch) {
            case '\b': *dst++ = 'b'; break;
            case '\f': *dst++ = 'f'; break;
            case '\n': *dst++ = 'n'; break;
            case '\r': *dst++ = 'r'; break;
            case '\t': *dst++ = 't'; break;
            default:   *dst++ = ch;             /* quote, backslash */
            }

            src++;
            continue;

        case 2:
            *dst++ = '\\';
            *dst++ = 'u';
            *dst++ = '0';
            *dst++ = '0';
            *dst++ = hex[ch >> 4];
            *dst++ = hex[ch & 0xf];
            src++;
            continue;
        }

        n = ngx_http_validibot_utf8_len(src, end - src);

        if (n == 0) {
            /* U+FFFD: what a decoder gives back encodes the same */
            *dst++ = 0xef;
            *dst++ = 0xbf;
            *dst++ = 0xbd;
            src++;
            continue;
        }

        memcpy(dst, src, n);
        dst += n;
        src += n;
    }

done:

    *dst++ = '"';

    return dst;
}
