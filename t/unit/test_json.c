
/*
 * Copyright (C) The ngx_http_validibot_module authors
 *
 * ngx_http_validibot_json.c: the JSON strings the assertion and
 * validibot-token write (escapes, UTF-8 kept, anything else U+FFFD, the
 * size bound) and the UTF-8 sequence check.  Prints TAP.
 */


#include "tap.h"
#include "ngx_http_validibot_json.h"


static const char *
quote(const unsigned char *s, size_t len)
{
    unsigned char        *end;
    static unsigned char  buf[1024];

    end = ngx_http_validibot_json_quote(buf, s, len);
    *end = '\0';

    return (const char *) buf;
}


#define is_quoted(in, want)                                                  \
    ok(strcmp(quote(S(in)), want) == 0, "%s", want)


int
main(void)
{
    size_t         i, n;
    unsigned char  all[256], *end;
    static unsigned char  out[ngx_http_validibot_json_quote_size(256) + 1];

    is_quoted("", "\"\"");
    is_quoted("plain /api/v1/orgs/acme/", "\"plain /api/v1/orgs/acme/\"");
    is_quoted("a\"b\\c", "\"a\\\"b\\\\c\"");
    is_quoted("\b\f\n\r\t", "\"\\b\\f\\n\\r\\t\"");
    is_quoted("\x01\x0b\x1f\x7f", "\"\\u0001\\u000b\\u001f\\u007f\"");
    is_quoted("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80",
              "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"");

    /* not UTF-8: each byte that starts no valid sequence is one U+FFFD */

    is_quoted("\x80", "\"\xef\xbf\xbd\"");
    is_quoted("\xc0\x80", "\"\xef\xbf\xbd\xef\xbf\xbd\"");
    is_quoted("\xed\xa0\x80", "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"");
    is_quoted("a\xe2\x82", "\"a\xef\xbf\xbd\xef\xbf\xbd\"");
    is_quoted("\xf4\x90\x80\x80x",
              "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbdx\"");
    is_quoted("\xff", "\"\xef\xbf\xbd\"");

    /* the bound holds for the worst input, every byte value */

    for (i = 0; i < sizeof(all); i++) {
        all[i] = (unsigned char) i;
    }

    end = ngx_http_validibot_json_quote(out, all, sizeof(all));
    n = end - out;

    ok(n <= ngx_http_validibot_json_quote_size(sizeof(all)),
       "every byte: %zu bytes, within the bound", n);

    end = ngx_http_validibot_json_quote(out, S("\x01\x01\x01"));
    ok((size_t) (end - out) == ngx_http_validibot_json_quote_size(3),
       "controls only: exactly the bound");

    /*
     * eight bytes at a time: every length 0..40 with one byte that needs
     * more at each position (and one of each kind in a row), against the
     * text made piece by piece
     */

    {
        static const char  *in[] = { "\"", "\\", "\n", "\x01", "\x1f",
                                     "\x7f", "\xc3\xa9", "\xff", " ", "~" };
        static const char  *want[] = { "\\\"", "\\\\", "\\n",
                                       "\\u0001", "\\u001f", "\\u007f",
                                       "\xc3\xa9", "\xef\xbf\xbd", " ", "~" };
        char    src[64], exp[128];
        size_t  len, pos, k, bad, sl, el;

        for (bad = 0, len = 0; len <= 40; len++) {
            for (pos = 0; pos <= len; pos++) {
                for (k = 0; k < sizeof(in) / sizeof(in[0]); k++) {
                    sl = 0;
                    el = 0;
                    exp[el++] = '"';

                    for (i = 0; i < len; i++) {
                        if (i == pos) {
                            memcpy(src + sl, in[k], strlen(in[k]));
                            sl += strlen(in[k]);
                            memcpy(exp + el, want[k], strlen(want[k]));
                            el += strlen(want[k]);
                            continue;
                        }

                        src[sl++] = (char) ('a' + i % 26);
                        exp[el++] = (char) ('a' + i % 26);
                    }

                    exp[el++] = '"';

                    end = ngx_http_validibot_json_quote(out,
                              (const unsigned char *) src, sl);
                    bad += ((size_t) (end - out) != el
                            || memcmp(out, exp, el) != 0);
                }
            }
        }

        ok(bad == 0, "word at a time: lengths 0..40, a byte to escape at "
           "each place (%zu differ)", bad);
    }

    /* the UTF-8 check */

    ok(ngx_http_validibot_utf8_len(S("a")) == 1, "ASCII: 1");
    ok(ngx_http_validibot_utf8_len(S("\xc3\xa9")) == 2, "U+00E9: 2");
    ok(ngx_http_validibot_utf8_len(S("\xef\xbf\xbd")) == 3, "U+FFFD: 3");
    ok(ngx_http_validibot_utf8_len(S("\xf4\x8f\xbf\xbf")) == 4,
       "U+10FFFF: 4");
    ok(ngx_http_validibot_utf8_len(S("\xe0\x9f\xbf")) == 0, "overlong: 0");
    ok(ngx_http_validibot_utf8_len(S("\xed\xbf\xbf")) == 0, "surrogate: 0");
    ok(ngx_http_validibot_utf8_len(S("\xf4\x90\x80\x80")) == 0,
       "beyond U+10FFFF: 0");
    ok(ngx_http_validibot_utf8_len((const unsigned char *) "\xc3\xa9", 1)
       == 0, "cut short: 0");
    ok(ngx_http_validibot_utf8_len(S("\xbf")) == 0, "continuation: 0");

    return tap_done();
}
