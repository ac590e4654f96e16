
/*
 * Copyright (C) The ngx_http_validibot_module authors
 *
 * validibot-token: JSON.  A writer for --json output (valid UTF-8 always:
 * stored bytes that are not become U+FFFD) and a reader for one object per
 * line (import --jsonl): its top-level members are returned, nested values
 * are checked and skipped.
 */


#include <stdlib.h>
#include <string.h>

#include "vt.h"
#include "ngx_http_validibot_json.h"


#define VT_JSON_MAX_DEPTH    32
#define VT_JSON_MAX_MEMBERS  256


void
vt_jw_init(vt_jw_t *j, FILE *f)
{
    memset(j, 0, sizeof(vt_jw_t));
    j->f = f;
}


static void
vt_jw_sep(vt_jw_t *j)
{
    if (j->after_key) {
        j->after_key = 0;
        return;
    }

    if (j->depth > 0) {
        if (!j->first[j->depth]) {
            fputc(',', j->f);
        }

        j->first[j->depth] = 0;
    }
}


static void
vt_jw_open(vt_jw_t *j, int c)
{
    vt_jw_sep(j);
    fputc(c, j->f);

    if (j->depth + 1 >= (int) (sizeof(j->first) / sizeof(int))) {
        vt_fail(VT_EXIT_REDIS, "internal error: JSON too deep");
    }

    j->first[++j->depth] = 1;
}


void
vt_jw_obj(vt_jw_t *j)
{
    vt_jw_open(j, '{');
}


void
vt_jw_arr(vt_jw_t *j)
{
    vt_jw_open(j, '[');
}


void
vt_jw_end_obj(vt_jw_t *j)
{
    j->depth--;
    fputc('}', j->f);
}


void
vt_jw_end_arr(vt_jw_t *j)
{
    j->depth--;
    fputc(']', j->f);
}


/* the module's JSON strings (src/ngx_http_validibot_json.c) */

void
vt_jw_strn(vt_jw_t *j, const char *s, size_t len)
{
    unsigned char  small[ngx_http_validibot_json_quote_size(256)], *buf, *end;

    vt_jw_sep(j);

    buf = small;

    if (len > 256) {
        buf = malloc(ngx_http_validibot_json_quote_size(len));
        if (buf == NULL) {
            vt_fail(VT_EXIT_REDIS, "out of memory");
        }
    }

    end = ngx_http_validibot_json_quote(buf, (const unsigned char *) s, len);
    fwrite(buf, 1, end - buf, j->f);

    if (buf != small) {
        free(buf);
    }
}


void
vt_jw_str(vt_jw_t *j, const char *s)
{
    if (s == NULL) {
        vt_jw_null(j);
        return;
    }

    vt_jw_strn(j, s, strlen(s));
}


void
vt_jw_key(vt_jw_t *j, const char *key)
{
    vt_jw_strn(j, key, strlen(key));
    fputc(':', j->f);
    j->after_key = 1;
}


void
vt_jw_int(vt_jw_t *j, int64_t v)
{
    vt_jw_sep(j);
    fprintf(j->f, "%lld", (long long) v);
}


void
vt_jw_bool(vt_jw_t *j, int v)
{
    vt_jw_sep(j);
    fputs(v ? "true" : "false", j->f);
}


void
vt_jw_null(vt_jw_t *j)
{
    vt_jw_sep(j);
    fputs("null", j->f);
}


/* a stored time: absent, empty or 0 is null; junk is shown as it is */

void
vt_jw_time(vt_jw_t *j, const char *raw)
{
    int64_t  t;

    if (vt_int_field(raw, &t) != 0) {
        vt_jw_str(j, raw);
        return;
    }

    if (t == 0) {
        vt_jw_null(j);
        return;
    }

    vt_jw_str(j, vt_iso(t));
}


void
vt_jw_done(vt_jw_t *j)
{
    fputc('\n', j->f);
}


/* the reader */

typedef struct {
    const char  *p;
    const char  *end;
    const char  *err;
} vt_jr_t;


static int vt_jr_value(vt_jr_t *r, int depth, vt_json_member_t *m);


static void
vt_jr_ws(vt_jr_t *r)
{
    while (r->p < r->end
           && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n'
               || *r->p == '\r'))
    {
        r->p++;
    }
}


static int
vt_jr_fail(vt_jr_t *r, const char *err)
{
    if (r->err == NULL) {
        r->err = err;
    }

    return -1;
}


static int
vt_jr_hex4(vt_jr_t *r, uint32_t *cp)
{
    int       i;
    char      c;
    uint32_t  v;

    if (r->end - r->p < 4) {
        return vt_jr_fail(r, "bad \\u escape");
    }

    for (i = 0, v = 0; i < 4; i++) {
        c = *r->p++;

        if (c >= '0' && c <= '9') {
            v = v * 16 + (c - '0');

        } else if (c >= 'a' && c <= 'f') {
            v = v * 16 + (c - 'a' + 10);

        } else if (c >= 'A' && c <= 'F') {
            v = v * 16 + (c - 'A' + 10);

        } else {
            return vt_jr_fail(r, "bad \\u escape");
        }
    }

    *cp = v;

    return 0;
}


/* a string after its opening quote; decoded into *out when out != NULL */

static int
vt_jr_string(vt_jr_t *r, char **out, size_t *outlen)
{
    size_t       n;
    char        *buf, *q;
    uint32_t     cp, lo;
    const char  *start;

    start = r->p;

    /* the decoded text is never longer than the raw text */
    buf = out ? vt_alloc(r->end - start + 1) : NULL;
    q = buf;

    while (r->p < r->end) {
        if (*r->p == '"') {
            r->p++;

            if (out) {
                *q = '\0';
                *out = buf;
                *outlen = q - buf;
            }

            return 0;
        }

        if ((unsigned char) *r->p < 0x20) {
            return vt_jr_fail(r, "control character in string");
        }

        if (*r->p != '\\') {
            n = ngx_http_validibot_utf8_len((const unsigned char *) r->p,
                                            r->end - r->p);

            if (n == 0) {
                return vt_jr_fail(r, "invalid UTF-8");
            }

            if (q) {
                memcpy(q, r->p, n);
                q += n;
            }

            r->p += n;
            continue;
        }

        r->p++;

        if (r->p == r->end) {
            break;
        }

        switch (*r->p++) {
        case '"':  cp = '"'; break;
        case '\\': cp = '\\'; break;
        case '/':  cp = '/'; break;
        case 'b':  cp = '\b'; break;
        case 'f':  cp = '\f'; break;
        case 'n':  cp = '\n'; break;
        case 'r':  cp = '\r'; break;
        case 't':  cp = '\t'; break;
        case 'u':
            if (vt_jr_hex4(r, &cp) != 0) {
                return -1;
            }

            if (cp >= 0xdc00 && cp <= 0xdfff) {
                return vt_jr_fail(r, "lone surrogate in \\u escape");
            }

            if (cp >= 0xd800 && cp <= 0xdbff) {
                if (r->end - r->p < 2 || r->p[0] != '\\' || r->p[1] != 'u') {
                    return vt_jr_fail(r, "lone surrogate in \\u escape");
                }

                r->p += 2;

                if (vt_jr_hex4(r, &lo) != 0) {
                    return -1;
                }

                if (lo < 0xdc00 || lo > 0xdfff) {
                    return vt_jr_fail(r, "lone surrogate in \\u escape");
                }

                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            }

            if (cp == 0) {
                return vt_jr_fail(r, "NUL in string");
            }

            break;
        default:
            return vt_jr_fail(r, "bad escape in string");
        }

        if (q == NULL) {
            continue;
        }

        if (cp < 0x80) {
            *q++ = (char) cp;

        } else if (cp < 0x800) {
            *q++ = (char) (0xc0 | (cp >> 6));
            *q++ = (char) (0x80 | (cp & 0x3f));

        } else if (cp < 0x10000) {
            *q++ = (char) (0xe0 | (cp >> 12));
            *q++ = (char) (0x80 | ((cp >> 6) & 0x3f));
            *q++ = (char) (0x80 | (cp & 0x3f));

        } else {
            *q++ = (char) (0xf0 | (cp >> 18));
            *q++ = (char) (0x80 | ((cp >> 12) & 0x3f));
            *q++ = (char) (0x80 | ((cp >> 6) & 0x3f));
            *q++ = (char) (0x80 | (cp & 0x3f));
        }
    }

    return vt_jr_fail(r, "unterminated string");
}


static int
vt_jr_number(vt_jr_t *r)
{
    const char  *p, *end;

    p = r->p;
    end = r->end;

    if (p < end && *p == '-') {
        p++;
    }

    if (p == end || *p < '0' || *p > '9') {
        return vt_jr_fail(r, "bad number");
    }

    if (*p == '0') {
        p++;

    } else {
        while (p < end && *p >= '0' && *p <= '9') {
            p++;
        }
    }

    if (p < end && *p == '.') {
        p++;

        if (p == end || *p < '0' || *p > '9') {
            return vt_jr_fail(r, "bad number");
        }

        while (p < end && *p >= '0' && *p <= '9') {
            p++;
        }
    }

    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;

        if (p < end && (*p == '+' || *p == '-')) {
            p++;
        }

        if (p == end || *p < '0' || *p > '9') {
            return vt_jr_fail(r, "bad number");
        }

        while (p < end && *p >= '0' && *p <= '9') {
            p++;
        }
    }

    r->p = p;

    return 0;
}


static int
vt_jr_literal(vt_jr_t *r, const char *lit)
{
    size_t  len;

    len = strlen(lit);

    if ((size_t) (r->end - r->p) < len || memcmp(r->p, lit, len) != 0) {
        return vt_jr_fail(r, "unexpected character");
    }

    r->p += len;

    return 0;
}


/* a nested object or array: checked, not kept */

static int
vt_jr_container(vt_jr_t *r, int depth, char close)
{
    if (depth > VT_JSON_MAX_DEPTH) {
        return vt_jr_fail(r, "nested too deep");
    }

    vt_jr_ws(r);

    if (r->p < r->end && *r->p == close) {
        r->p++;
        return 0;
    }

    for ( ;; ) {
        if (close == '}') {
            vt_jr_ws(r);

            if (r->p == r->end || *r->p != '"') {
                return vt_jr_fail(r, "expected a member name");
            }

            r->p++;

            if (vt_jr_string(r, NULL, NULL) != 0) {
                return -1;
            }

            vt_jr_ws(r);

            if (r->p == r->end || *r->p++ != ':') {
                return vt_jr_fail(r, "expected ':'");
            }
        }

        if (vt_jr_value(r, depth + 1, NULL) != 0) {
            return -1;
        }

        vt_jr_ws(r);

        if (r->p < r->end && *r->p == ',') {
            r->p++;
            continue;
        }

        if (r->p < r->end && *r->p == close) {
            r->p++;
            return 0;
        }

        return vt_jr_fail(r, close == '}' ? "expected ',' or '}'"
                                          : "expected ',' or ']'");
    }
}


static int
vt_jr_value(vt_jr_t *r, int depth, vt_json_member_t *m)
{
    const char  *start;

    vt_jr_ws(r);

    if (r->p == r->end) {
        return vt_jr_fail(r, "unexpected end of line");
    }

    start = r->p;

    switch (*r->p) {

    case '"':
        r->p++;

        if (m) {
            m->type = VT_JSON_STRING;
            return vt_jr_string(r, &m->value, &m->len);
        }

        return vt_jr_string(r, NULL, NULL);

    case '{':
    case '[':
        r->p++;

        if (m) {
            m->type = VT_JSON_OTHER;
        }

        return vt_jr_container(r, depth, *start == '{' ? '}' : ']');

    case 't':
        if (m) {
            m->type = VT_JSON_TRUE;
        }

        return vt_jr_literal(r, "true");

    case 'f':
        if (m) {
            m->type = VT_JSON_FALSE;
        }

        return vt_jr_literal(r, "false");

    case 'n':
        if (m) {
            m->type = VT_JSON_NULL;
        }

        return vt_jr_literal(r, "null");
    }

    if (vt_jr_number(r) != 0) {
        return -1;
    }

    if (m) {
        m->type = VT_JSON_NUMBER;
        m->value = vt_strndup(start, r->p - start);
        m->len = r->p - start;
    }

    return 0;
}


/*
 * One JSON object filling [p, p + len): its members in order.  Returns
 * NULL, or a static message.
 */

const char *
vt_json_object(const char *p, size_t len, vt_json_member_t **members,
    size_t *n)
{
    size_t             count, namelen;
    vt_jr_t            r;
    vt_json_member_t  *m;

    r.p = p;
    r.end = p + len;
    r.err = NULL;

    m = vt_alloc(VT_JSON_MAX_MEMBERS * sizeof(vt_json_member_t));
    count = 0;

    vt_jr_ws(&r);

    if (r.p == r.end || *r.p++ != '{') {
        return "not a JSON object";
    }

    vt_jr_ws(&r);

    if (r.p < r.end && *r.p == '}') {
        r.p++;
        goto done;
    }

    for ( ;; ) {
        if (count == VT_JSON_MAX_MEMBERS) {
            return "too many members";
        }

        vt_jr_ws(&r);

        if (r.p == r.end || *r.p++ != '"') {
            return "expected a member name";
        }

        if (vt_jr_string(&r, &m[count].name, &namelen) != 0) {
            return r.err;
        }

        m[count].value = NULL;
        m[count].len = 0;

        vt_jr_ws(&r);

        if (r.p == r.end || *r.p++ != ':') {
            return "expected ':'";
        }

        if (vt_jr_value(&r, 1, &m[count]) != 0) {
            return r.err;
        }

        count++;

        vt_jr_ws(&r);

        if (r.p < r.end && *r.p == ',') {
            r.p++;
            continue;
        }

        if (r.p < r.end && *r.p == '}') {
            r.p++;
            break;
        }

        return "expected ',' or '}'";
    }

done:

    vt_jr_ws(&r);

    if (r.p != r.end) {
        return "text after the object";
    }

    *members = m;
    *n = count;

    return NULL;
}
