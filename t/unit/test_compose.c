
/*
 * Copyright (C) The ngx_http_validibot_module authors
 *
 * The hinted lookup's parts, read from one RESP stream by the module's
 * reader as the module reads them, composed into the script's reply and
 * decoded: every field in its place, a missing key, another owner, error
 * parts, parts of a wrong shape.
 */


#include <stdlib.h>

#include "tap.h"
#include "ngx_http_validibot_reply.h"


#define NIL   "$-1\r\n"
#define KEY   "*7\r\n$1\r\n7\r\n$3\r\ndig\r\n$1\r\n1\r\n$10\r\n1795536000" \
              "\r\n$0\r\n\r\n$10\r\n1700000000\r\n$2\r\nCI\r\n"
#define USED  "$10\r\n1700000100\r\n"
#define USER  "*4\r\n$1\r\n1\r\n$14\r\nci@example.com\r\n$2\r\nCi\r\n" \
              "$1\r\n1\r\n"
#define ORG   "$6\r\nactive\r\n"
#define MEM   "*2\r\n$1\r\n1\r\n$15\r\nauthor,executor\r\n"


static redisReader  *reader;
static redisReply   *part[NGX_HTTP_VALIDIBOT_MAX_PARTS];


/* reads n replies from one stream into part[]; -1 if fewer came */
static int
parts(const char *stream, size_t n)
{
    size_t  i;
    void   *reply;

    ngx_http_validibot_reader_free(reader);
    reader = ngx_http_validibot_reader_create();

    if (reader == NULL
        || redisReaderFeed(reader, stream, strlen(stream)) != REDIS_OK)
    {
        return -1;
    }

    for (i = 0; i < n; i++) {
        reply = NULL;

        if (redisReaderGetReply(reader, &reply) != REDIS_OK || reply == NULL) {
            return -1;
        }

        part[i] = reply;
    }

    return 0;
}


static int
span_is(const ngx_http_validibot_span_t *s, const char *v)
{
    return s->data && s->len == strlen(v) && memcmp(s->data, v, s->len) == 0;
}


/* composes, then decodes; returns compose's answer, -2 when parts fail */
static int
run(const char *stream, size_t n, const char *user,
    ngx_http_validibot_composed_t *out, const redisReply **result)
{
    if (parts(stream, n) != 0) {
        return -2;
    }

    /* three parts: no org; five: with an org's status and membership */

    return ngx_http_validibot_reply_compose(part[0], part[1], part[2],
                                            n == 5 ? part[3] : NULL,
                                            n == 5 ? part[4] : NULL,
                                            (const unsigned char *) user,
                                            strlen(user), out, result);
}


int
main(void)
{
    int                            rc;
    const redisReply              *result;
    ngx_http_validibot_record_t    rec;
    ngx_http_validibot_composed_t  out;

    /* all four parts: the script's reply, field by field */

    rc = run(KEY USER USED ORG MEM, 5, "7", &out, &result);
    ok(rc == NGX_HTTP_VALIDIBOT_COMPOSE_OK && result == &out.top,
       "five parts compose");
    ok(ngx_http_validibot_reply_decode(result, &rec) == 0 && rec.found,
       "and decode as a found record");
    ok(span_is(&rec.field[NGX_HTTP_VALIDIBOT_F_USER], "7")
       && span_is(&rec.field[NGX_HTTP_VALIDIBOT_F_DIGEST], "dig")
       && span_is(&rec.field[NGX_HTTP_VALIDIBOT_F_DIGEST_VERSION], "1")
       && span_is(&rec.field[NGX_HTTP_VALIDIBOT_F_EXPIRES_AT], "1795536000")
       && span_is(&rec.field[NGX_HTTP_VALIDIBOT_F_REVOKED_AT], "")
       && span_is(&rec.field[NGX_HTTP_VALIDIBOT_F_CREATED_AT], "1700000000")
       && span_is(&rec.field[NGX_HTTP_VALIDIBOT_F_LABEL], "CI")
       && span_is(&rec.field[NGX_HTTP_VALIDIBOT_F_USER_ACTIVE], "1")
       && span_is(&rec.field[NGX_HTTP_VALIDIBOT_F_EMAIL], "ci@example.com")
       && span_is(&rec.field[NGX_HTTP_VALIDIBOT_F_NAME], "Ci")
       && span_is(&rec.field[NGX_HTTP_VALIDIBOT_F_ORG_STATUS], "active")
       && span_is(&rec.field[NGX_HTTP_VALIDIBOT_F_MEMBER_ACTIVE], "1")
       && span_is(&rec.field[NGX_HTTP_VALIDIBOT_F_MEMBER_ROLES],
                  "author,executor")
       && span_is(&rec.field[NGX_HTTP_VALIDIBOT_F_LAST_USED_AT],
                  "1700000100")
       && span_is(&rec.field[NGX_HTTP_VALIDIBOT_F_USER_SUPERUSER], "1"),
       "every field where the script puts it");

    /* no org: three parts, org and membership absent */

    rc = run(KEY USER USED, 3, "7", &out, &result);
    ok(rc == NGX_HTTP_VALIDIBOT_COMPOSE_OK && result == &out.top
       && ngx_http_validibot_reply_decode(result, &rec) == 0 && rec.found
       && rec.field[NGX_HTTP_VALIDIBOT_F_ORG_STATUS].data == NULL
       && rec.field[NGX_HTTP_VALIDIBOT_F_MEMBER_ACTIVE].data == NULL
       && rec.field[NGX_HTTP_VALIDIBOT_F_MEMBER_ROLES].data == NULL
       && span_is(&rec.field[NGX_HTTP_VALIDIBOT_F_NAME], "Ci"),
       "three parts: no org, as the script with \"\"");

    /* nils in the user, org and membership parts stay nils */

    rc = run(KEY "*4\r\n" NIL NIL NIL NIL NIL NIL "*2\r\n" NIL NIL, 5, "7",
             &out, &result);
    ok(rc == NGX_HTTP_VALIDIBOT_COMPOSE_OK
       && ngx_http_validibot_reply_decode(result, &rec) == 0 && rec.found
       && rec.field[NGX_HTTP_VALIDIBOT_F_USER_ACTIVE].data == NULL
       && rec.field[NGX_HTTP_VALIDIBOT_F_USER_SUPERUSER].data == NULL
       && rec.field[NGX_HTTP_VALIDIBOT_F_ORG_STATUS].data == NULL
       && rec.field[NGX_HTTP_VALIDIBOT_F_MEMBER_ROLES].data == NULL
       && rec.field[NGX_HTTP_VALIDIBOT_F_LAST_USED_AT].data == NULL,
       "user, usage, org and membership missing: nils, as from the script");

    /* the key record is gone: the script's {} */

    rc = run("*7\r\n" NIL NIL NIL NIL NIL NIL NIL USER USED ORG MEM, 5, "7",
             &out, &result);
    ok(rc == NGX_HTTP_VALIDIBOT_COMPOSE_OK && result == &out.top
       && result->elements == 0
       && ngx_http_validibot_reply_decode(result, &rec) == 0
       && rec.found == 0, "no key record: not found");

    /* another owner: ask the script */

    rc = run(KEY USER USED ORG MEM, 5, "8", &out, &result);
    ok(rc == NGX_HTTP_VALIDIBOT_COMPOSE_OTHER, "hinted 8, record says 7");
    rc = run(KEY USER USED ORG MEM, 5, "77", &out, &result);
    ok(rc == NGX_HTTP_VALIDIBOT_COMPOSE_OTHER, "hinted 77, record says 7");
    rc = run("*7\r\n$0\r\n\r\n" NIL NIL NIL NIL NIL NIL USER USED, 3, "7",
             &out, &result);
    ok(rc == NGX_HTTP_VALIDIBOT_COMPOSE_OTHER,
       "an empty owner: the script decides (and refuses)");

    /* an error in any part is handed over as it is */

    rc = run(KEY USER USED "-WRONGTYPE Operation against a key\r\n" MEM, 5,
             "7", &out, &result);
    ok(rc == NGX_HTTP_VALIDIBOT_COMPOSE_OK
       && result->type == REDIS_REPLY_ERROR
       && strncmp(result->str, "WRONGTYPE", 9) == 0
       && ngx_http_validibot_reply_decode(result, &rec) == -1,
       "an error in the org part: that error, which decode refuses");
    rc = run("-ERR boom\r\n" USER USED, 3, "7", &out, &result);
    ok(rc == NGX_HTTP_VALIDIBOT_COMPOSE_OK
       && result->type == REDIS_REPLY_ERROR
       && ngx_http_validibot_reply_decode(result, &rec) == -1,
       "an error in the key part");
    rc = run(KEY "-ERR user\r\n" USED, 3, "7", &out, &result);
    ok(rc == NGX_HTTP_VALIDIBOT_COMPOSE_OK
       && result->type == REDIS_REPLY_ERROR, "an error in the user part");

    /* wrong shapes: a nil the decoder refuses */

    rc = run("*8\r\n" NIL NIL NIL NIL NIL NIL NIL NIL USER USED, 3, "7", &out,
             &result);
    ok(rc == NGX_HTTP_VALIDIBOT_COMPOSE_OK && result == &out.nil
       && ngx_http_validibot_reply_decode(result, &rec) == -1,
       "key part of 8 fields: refused");
    rc = run(":1\r\n" USER USED, 3, "7", &out, &result);
    ok(rc == NGX_HTTP_VALIDIBOT_COMPOSE_OK && result == &out.nil,
       "key part an integer: refused");
    rc = run(KEY "*2\r\n$1\r\n1\r\n$1\r\nx\r\n" USED, 3, "7", &out,
             &result);
    ok(rc == NGX_HTTP_VALIDIBOT_COMPOSE_OK && result == &out.nil,
       "user part of 2 fields: refused");
    rc = run(KEY USER USED ":1\r\n" MEM, 5, "7", &out, &result);
    ok(rc == NGX_HTTP_VALIDIBOT_COMPOSE_OK && result == &out.nil,
       "org part an integer: refused");
    rc = run(KEY USER USED ORG "*3\r\n" NIL NIL NIL, 5, "7", &out,
             &result);
    ok(rc == NGX_HTTP_VALIDIBOT_COMPOSE_OK && result == &out.nil,
       "membership part of 3 fields: refused");
    rc = run(KEY USER USED ORG "*2\r\n*1\r\n" NIL NIL, 5, "7", &out,
             &result);
    ok(rc == NGX_HTTP_VALIDIBOT_COMPOSE_OK && result == &out.nil,
       "a nested array in the membership: refused");
    rc = run(KEY USER ":1\r\n", 3, "7", &out, &result);
    ok(rc == NGX_HTTP_VALIDIBOT_COMPOSE_OK && result == &out.nil,
       "usage part an integer: refused");
    ok(parts(KEY USER USED ORG, 4) == 0
       && ngx_http_validibot_reply_compose(part[0], part[1], part[2],
                                           part[3], NULL,
                                           (const unsigned char *) "7", 1,
                                           &out, &result)
          == NGX_HTTP_VALIDIBOT_COMPOSE_OK && result == &out.nil,
       "an org status without a membership is not a shape");

    ok(ngx_http_validibot_reply_compose(part[0], NULL, NULL, NULL, NULL,
                                        (const unsigned char *) "7", 1,
                                        &out, &result)
       == NGX_HTTP_VALIDIBOT_COMPOSE_OK && result == &out.nil,
       "a NULL part: refused");

    ngx_http_validibot_reader_free(reader);

    return tap_done();
}
