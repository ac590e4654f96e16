
/*
 * Copyright (C) The ngx_http_validibot_module authors
 *
 * The script reply decoder, fed real redisReply objects from hiredis's
 * reader; span_int; the capped reader.
 */


#include <stdlib.h>

#include "tap.h"
#include "ngx_http_validibot_reply.h"


#define NIL  "$-1\r\n"


static int
feed(redisReader *r, const void *p, size_t len)
{
    return redisReaderFeed(r, p, len);
}


/* the reply lives in its reader's arena: the reader is kept to the next call */
static redisReader  *resp_reader;

static redisReply *
resp(const void *p, size_t len)
{
    void  *reply;

    ngx_http_validibot_reader_free(resp_reader);

    resp_reader = ngx_http_validibot_reader_create();
    reply = NULL;

    if (resp_reader == NULL || feed(resp_reader, p, len) != REDIS_OK
        || redisReaderGetReply(resp_reader, &reply) != REDIS_OK)
    {
        reply = NULL;
    }

    return reply;
}


/*
 * decodes RESP; -2 when the reader itself gave no reply.  The record
 * points into the reply: it is kept until the next call.
 */
static int
decode(const void *p, size_t len, ngx_http_validibot_record_t *rec)
{
    redisReply  *last;

    last = resp(p, len);
    if (last == NULL) {
        return -2;
    }

    return ngx_http_validibot_reply_decode(last, rec);
}


/* "*15\r\n" and 15 bulk strings, element i replaced by "repl" when set */
#define REC(buf, i, lit)  record(buf, i, lit, sizeof(lit) - 1)

static size_t
record(char *buf, int i, const char *repl, size_t rlen)
{
    int                  k;
    size_t               n;
    static const char  *v[] = {
        "42",
        "0e686ddb7c05262fd98181346ff564127a826d008d03c4480728587e0c563c0a",
        "1", "1795536000", "", "1764000000", "CI", "1", "ci@example.com",
        "CI bot", "active", "1", "author,executor", "1764003600", "0"
    };

    n = sprintf(buf, "*15\r\n");

    for (k = 0; k < 15; k++) {
        if (k == i) {
            memcpy(buf + n, repl, rlen);
            n += rlen;
        } else {
            n += sprintf(buf + n, "$%zu\r\n%s\r\n", strlen(v[k]), v[k]);
        }
    }

    return n;
}


static int
span_is(const ngx_http_validibot_span_t *s, const char *v)
{
    return s->data && s->len == strlen(v) && memcmp(s->data, v, s->len) == 0;
}


static int
span_int(const void *p, size_t len, int64_t *v)
{
    ngx_http_validibot_span_t  s;

    s.data = p;
    s.len = len;

    return ngx_http_validibot_span_int(&s, v);
}



/*
 * A report of n names as Redis sends it to a RESP2 subscriber, with
 * "extra" appended (the next reply): malloc()ed, *len set
 */
static char *
report(size_t n, const char *extra, size_t *len)
{
    char    *p, *b;
    size_t   i;

    b = malloc(64 + n * 32 + strlen(extra));
    if (b == NULL) {
        return NULL;
    }

    p = b + sprintf(b, "*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate"
                       "\r\n*%zu\r\n", n);

    for (i = 0; i < n; i++) {
        /* now and then a nil, an integer or an array among the names */
        switch (i % 1000) {
        case 1:
            p += sprintf(p, "$-1\r\n");
            break;
        case 2:
            p += sprintf(p, ":%zu\r\n", i);
            break;
        case 3:
            p += sprintf(p, "*2\r\n$1\r\na\r\n*1\r\n:1\r\n");
            break;
        default:
            p += sprintf(p, "$16\r\nvalidibot:k%05zu\r\n", i % 100000);
        }
    }

    p += sprintf(p, "%s", extra);
    *len = p - b;

    return b;
}


int
main(void)
{
    int                          i, rc;
    char                         buf[16384], *big, *bulk;
    void                        *reply;
    size_t                       n, blen;
    int64_t                      v;
    redisReply                   fake, *elts[15];
    redisReader                 *r;
    ngx_http_validibot_record_t  rec;

    /* a key record not found */

    rec.found = 7;
    ok(decode(S("*0\r\n"), &rec) == 0 && rec.found == 0,
       "empty array: not found");
    ok(rec.field[0].data == NULL && rec.field[12].data == NULL,
       "fields absent when not found");

    /* a full record */

    n = record(buf, -1, NULL, 0);
    ok(decode(buf, n, &rec) == 0 && rec.found == 1, "15 strings: found");
    ok(span_is(&rec.field[NGX_HTTP_VALIDIBOT_F_USER], "42")
       && span_is(&rec.field[NGX_HTTP_VALIDIBOT_F_DIGEST_VERSION], "1")
       && span_is(&rec.field[NGX_HTTP_VALIDIBOT_F_EXPIRES_AT], "1795536000")
       && span_is(&rec.field[NGX_HTTP_VALIDIBOT_F_REVOKED_AT], "")
       && span_is(&rec.field[NGX_HTTP_VALIDIBOT_F_LABEL], "CI")
       && span_is(&rec.field[NGX_HTTP_VALIDIBOT_F_EMAIL], "ci@example.com")
       && span_is(&rec.field[NGX_HTTP_VALIDIBOT_F_ORG_STATUS], "active")
       && span_is(&rec.field[NGX_HTTP_VALIDIBOT_F_MEMBER_ROLES],
                  "author,executor"),
       "fields in script order");
    ok(rec.field[NGX_HTTP_VALIDIBOT_F_REVOKED_AT].data != NULL,
       "empty string is present, not absent");

    /* nils */

    for (i = 1; i < 15; i++) {
        n = REC(buf, i, NIL);
        rc = decode(buf, n, &rec);
        ok(rc == 0 && rec.found && rec.field[i].data == NULL
           && rec.field[i].len == 0 && rec.field[0].data != NULL,
           "nil in field %d: absent", i);
    }

    n = sprintf(buf, "*15\r\n$2\r\n42\r\n");
    for (i = 1; i < 15; i++) {
        n += sprintf(buf + n, NIL);
    }
    ok(decode(buf, n, &rec) == 0 && rec.found, "only user: found");

    /* the user field */

    n = REC(buf, 0, NIL);
    ok(decode(buf, n, &rec) == 0 && rec.found == 0, "nil user: no key");
    n = REC(buf, 0, "$0\r\n\r\n");
    ok(decode(buf, n, &rec) == 0 && rec.found == 0, "empty user: no key");

    /* binary and NUL bytes pass through with their length */

    n = REC(buf, 6, "$5\r\na\0b\r\n\r\n");
    ok(decode(buf, n, &rec) == 0
       && rec.field[6].len == 5 && memcmp(rec.field[6].data, "a\0b\r\n", 5)
          == 0, "NUL and CRLF inside a field kept");

    /* field length limit */

    big = malloc(2 * NGX_HTTP_VALIDIBOT_FIELD_MAX_LEN + 1024);
    if (big == NULL) {
        return 2;
    }

    for (i = NGX_HTTP_VALIDIBOT_FIELD_MAX_LEN - 1;
         i <= NGX_HTTP_VALIDIBOT_FIELD_MAX_LEN + 1;
         i++)
    {
        n = sprintf(big, "*15\r\n$%d\r\n", i);
        memset(big + n, 'u', i);
        n += i;
        n += sprintf(big + n, "\r\n");
        for (rc = 1; rc < 15; rc++) {
            n += sprintf(big + n, NIL);
        }

        rc = decode(big, n, &rec);
        ok(i <= NGX_HTTP_VALIDIBOT_FIELD_MAX_LEN
           ? rc == 0 && rec.field[0].len == (size_t) i : rc == -1,
           "%d-byte field %s", i,
           i <= NGX_HTTP_VALIDIBOT_FIELD_MAX_LEN ? "accepted" : "refused");
    }

    n = REC(buf, 12, "");
    n = sprintf(big, "%.*s$8192\r\n", (int) n, buf);
    memset(big + n, 'r', 8192);
    n += 8192;
    n += sprintf(big + n, "\r\n");
    ok(decode(big, n, &rec) == -1, "8 KB roles field refused");

    /* informational fields are cut, never refused */

    bulk = malloc(8192 + 32);
    if (bulk == NULL) {
        return 2;
    }

    n = sprintf(bulk, "$8192\r\n");
    memset(bulk + n, 'l', 8192);
    n += 8192;
    n += sprintf(bulk + n, "\r\n");
    blen = n;

    for (i = NGX_HTTP_VALIDIBOT_F_LABEL; i <= NGX_HTTP_VALIDIBOT_F_NAME; i++) {
        if (i == NGX_HTTP_VALIDIBOT_F_USER_ACTIVE) {
            continue;
        }

        n = record(big, i, bulk, blen);
        ok(decode(big, n, &rec) == 0 && rec.found && rec.truncated
           && rec.field[i].len == NGX_HTTP_VALIDIBOT_FIELD_MAX_LEN,
           "8 KB field %d cut to the limit", i);
    }

    n = record(big, NGX_HTTP_VALIDIBOT_F_USER_ACTIVE, bulk, blen);
    ok(decode(big, n, &rec) == -1, "8 KB is_active refused");

    free(bulk);
    free(big);

    /* wrong element types */

    n = REC(buf, 3, ":1795536000\r\n");
    ok(decode(buf, n, &rec) == -1 && rec.found == 0, "integer element");
    n = REC(buf, 10, "+active\r\n");
    ok(decode(buf, n, &rec) == -1, "status element");
    n = REC(buf, 1, "-ERR boom\r\n");
    ok(decode(buf, n, &rec) == -1, "error element");
    n = REC(buf, 12, "*1\r\n$5\r\nowner\r\n");
    ok(decode(buf, n, &rec) == -1, "nested array element");
    n = REC(buf, 12, "*0\r\n");
    ok(decode(buf, n, &rec) == -1, "nested empty array element");
    n = REC(buf, 12, "*-1\r\n");
    ok(decode(buf, n, &rec) == 0 && rec.field[12].data == NULL,
       "nil array element is nil");
    n = REC(buf, 0, ":42\r\n");
    ok(decode(buf, n, &rec) == -1, "integer user");

    /* wrong top-level shapes */

    ok(decode(S("-ERR something\r\n"), &rec) == -1, "error reply");
    ok(decode(S("-NOSCRIPT No matching script.\r\n"), &rec) == -1,
       "NOSCRIPT reply");
    ok(decode(S("+OK\r\n"), &rec) == -1, "status reply");
    ok(decode(S(":0\r\n"), &rec) == -1, "integer reply");
    ok(decode(S("$2\r\n42\r\n"), &rec) == -1, "string reply");
    ok(decode(S("$-1\r\n"), &rec) == -1, "nil reply");
    ok(decode(S("*-1\r\n"), &rec) == -1, "nil array reply");
    ok(decode(S("*1\r\n$2\r\n42\r\n"), &rec) == -1, "1 element");

    n = sprintf(buf, "*14\r\n");
    for (i = 0; i < 14; i++) {
        n += sprintf(buf + n, "$1\r\n1\r\n");
    }
    ok(decode(buf, n, &rec) == -1, "14 elements (the script before "
       "is_superuser)");

    n = sprintf(buf, "*16\r\n");
    for (i = 0; i < 16; i++) {
        n += sprintf(buf + n, "$1\r\n1\r\n");
    }
    ok(decode(buf, n, &rec) == -1 && rec.found == 0, "16 elements");

    ok(ngx_http_validibot_reply_decode(NULL, &rec) == -1, "NULL reply");

    /* an array hiredis would never build, but the decoder must not trust */

    memset(&fake, 0, sizeof(fake));
    memset(elts, 0, sizeof(elts));
    fake.type = REDIS_REPLY_ARRAY;
    fake.elements = 15;
    fake.element = NULL;
    ok(ngx_http_validibot_reply_decode(&fake, &rec) == -1,
       "15 elements, NULL vector");
    fake.element = elts;
    ok(ngx_http_validibot_reply_decode(&fake, &rec) == -1,
       "15 NULL elements");

    {
        redisReply  strs[15];

        memset(strs, 0, sizeof(strs));

        for (i = 0; i < 15; i++) {
            strs[i].type = REDIS_REPLY_STRING;
            elts[i] = &strs[i];
        }

        strs[0].str = "42";
        strs[0].len = 2;

        ok(ngx_http_validibot_reply_decode(&fake, &rec) == 0
           && rec.field[5].data != NULL && rec.field[5].len == 0,
           "string with no buffer and length 0: empty, present");

        strs[5].len = 3;
        ok(ngx_http_validibot_reply_decode(&fake, &rec) == -1,
           "string with no buffer and length 3: refused");
    }

    /* the capped reader */

    r = ngx_http_validibot_reader_create();
    reply = NULL;
    ok(r != NULL && feed(r, S("*1024\r\n")) == REDIS_OK
       && redisReaderGetReply(r, &reply) == REDIS_OK && reply == NULL,
       "1024 elements: waiting for them");
    ngx_http_validibot_reader_free(r);

    r = ngx_http_validibot_reader_create();
    ok(r != NULL && feed(r, S("*1025\r\n")) == REDIS_OK
       && redisReaderGetReply(r, &reply) == REDIS_ERR && r->err != 0,
       "1025 elements: reader error");
    ngx_http_validibot_reader_free(r);

    r = ngx_http_validibot_reader_create();
    ok(r != NULL && feed(r, S("*1\r\n*2147483647\r\n")) == REDIS_OK
       && redisReaderGetReply(r, &reply) == REDIS_ERR,
       "nested 2^31-1 elements: reader error, no allocation");
    ngx_http_validibot_reader_free(r);

    r = ngx_http_validibot_reader_create();
    ok(r != NULL && feed(r, S("*0\r\n*2\r\n:1\r\n$-1\r\n"))
       == REDIS_OK
       && redisReaderGetReply(r, &reply) == REDIS_OK && reply != NULL
       && ((redisReply *) reply)->elements == 0, "two replies: first");
    ngx_http_validibot_reader_reset(r);
    reply = NULL;
    ok(redisReaderGetReply(r, &reply) == REDIS_OK && reply != NULL
       && ((redisReply *) reply)->elements == 2
       && ((redisReply *) reply)->element[1]->type == REDIS_REPLY_NIL,
       "two replies: second");
    ngx_http_validibot_reader_reset(r);
    ngx_http_validibot_reader_free(r);

    /* the tracking connection's reader */

    {
        char        *b;
        size_t       len, j;
        redisReply  *m, *names;

        b = report(NGX_HTTP_VALIDIBOT_TRACK_MAX_KEYS, "+PONG\r\n", &len);
        r = ngx_http_validibot_reader_create_track();
        reply = NULL;
        ok(b != NULL && r != NULL && feed(r, b, len) == REDIS_OK
           && redisReaderGetReply(r, &reply) == REDIS_OK && reply != NULL,
           "track: a report of %d names read",
           NGX_HTTP_VALIDIBOT_TRACK_MAX_KEYS);
        m = reply;
        names = m ? m->element[2] : NULL;
        ok(names != NULL && names->type == REDIS_REPLY_ARRAY
           && names->elements == NGX_HTTP_VALIDIBOT_TRACK_MAX_KEYS
           && names->element != NULL
           && names->element[0]->len == 16
           && memcmp(names->element[0]->str, "validibot:k00000", 16) == 0
           && names->element[1]->type == REDIS_REPLY_NIL
           && names->element[2]->integer == 2
           && names->element[3]->elements == 2
           && names->element[3]->element[1]->element[0]->integer == 1
           && names->element[NGX_HTTP_VALIDIBOT_TRACK_MAX_KEYS - 1]->len == 16,
           "track: all %d names kept", NGX_HTTP_VALIDIBOT_TRACK_MAX_KEYS);
        ngx_http_validibot_reader_reset(r);
        reply = NULL;
        ok(redisReaderGetReply(r, &reply) == REDIS_OK && reply != NULL
           && ((redisReply *) reply)->type == REDIS_REPLY_STATUS,
           "track: the next reply after it");
        ngx_http_validibot_reader_free(r);
        free(b);

        b = report(NGX_HTTP_VALIDIBOT_TRACK_MAX_KEYS + 1, "+PONG\r\n", &len);
        r = ngx_http_validibot_reader_create_track();
        reply = NULL;
        ok(b != NULL && r != NULL && feed(r, b, len) == REDIS_OK
           && redisReaderGetReply(r, &reply) == REDIS_OK && reply != NULL,
           "track: a report of one name more read");
        m = reply;
        names = m ? m->element[2] : NULL;
        ok(names != NULL && names->type == REDIS_REPLY_ARRAY
           && names->elements == NGX_HTTP_VALIDIBOT_TRACK_MAX_KEYS + 1
           && names->element == NULL
           && m->element[0]->len == 7 && m->element[1]->len == 20,
           "track: its names only counted");
        ngx_http_validibot_reader_reset(r);
        reply = NULL;
        ok(redisReaderGetReply(r, &reply) == REDIS_OK && reply != NULL
           && ((redisReply *) reply)->type == REDIS_REPLY_STATUS,
           "track: the next reply after it");
        ngx_http_validibot_reader_free(r);
        free(b);

        /* a longer one in pieces of 7 bytes: the counting survives */

        b = report(20000, "", &len);
        r = ngx_http_validibot_reader_create_track();
        reply = NULL;
        for (j = 0; b != NULL && r != NULL && j < len && reply == NULL;
             j += 7)
        {
            if (feed(r, b + j, len - j < 7 ? len - j : 7) != REDIS_OK
                || redisReaderGetReply(r, &reply) != REDIS_OK)
            {
                break;
            }
        }
        ok(reply != NULL && j >= len
           && ((redisReply *) reply)->element[2]->elements == 20000
           && ((redisReply *) reply)->element[2]->element == NULL,
           "track: 20000 names fed 7 bytes at a time: counted");
        ngx_http_validibot_reader_free(r);
        free(b);

        r = ngx_http_validibot_reader_create_track();
        ok(r != NULL && feed(r, S("*1025\r\n")) == REDIS_OK
           && redisReaderGetReply(r, &reply) == REDIS_ERR,
           "track: a reply (not inside one) of 1025 elements: reader error");
        ngx_http_validibot_reader_free(r);

        r = ngx_http_validibot_reader_create();
        ok(r != NULL && feed(r, S("*1\r\n*1025\r\n")) == REDIS_OK
           && redisReaderGetReply(r, &reply) == REDIS_ERR,
           "lookup reader: nested 1025 elements: still a reader error");
        ngx_http_validibot_reader_free(r);
    }

    /* span_int */

    v = 99;
    ok(span_int(NULL, 0, &v) == 0 && v == 0, "absent -> 0");
    v = 99;
    ok(span_int("", 0, &v) == 0 && v == 0, "empty -> 0");
    ok(span_int(S("0"), &v) == 0 && v == 0, "\"0\" -> 0");
    ok(span_int(S("1"), &v) == 0 && v == 1, "\"1\" -> 1");
    ok(span_int(S("007"), &v) == 0 && v == 7, "\"007\" -> 7");
    ok(span_int(S("1764000000"), &v) == 0 && v == 1764000000, "unix time");
    ok(span_int(S("999999999999999999"), &v) == 0
       && v == 999999999999999999LL, "18 digits");
    ok(span_int(S("1000000000000000000"), &v) == -1, "19 digits refused");
    ok(span_int(S("99999999999999999999999"), &v) == -1,
       "23 digits refused");
    ok(span_int(S("-1"), &v) == -1, "-1 refused");
    ok(span_int(S("+1"), &v) == -1, "+1 refused");
    ok(span_int(S(" 1"), &v) == -1, "leading space refused");
    ok(span_int(S("1 "), &v) == -1, "trailing space refused");
    ok(span_int(S("1.5"), &v) == -1, "1.5 refused");
    ok(span_int(S("1e9"), &v) == -1, "1e9 refused");
    ok(span_int(S("0x10"), &v) == -1, "0x10 refused");
    ok(span_int(S("1\0"), &v) == -1, "NUL refused");
    ok(span_int(S("abc"), &v) == -1, "abc refused");
    ok(span_int(S("/"), &v) == -1 && span_int(S(":"), &v) == -1,
       "neighbours of the digits refused");

    decode(S("*0\r\n"), &rec);

    return tap_done();
}
