
/*
 * Copyright (C) The ngx_http_validibot_module authors
 *
 * libFuzzer target: arbitrary bytes from "Redis" into the hiredis reader
 * the module uses, every reply it yields through the script-reply decoder
 * and, when that accepts it, through the verdict with a fixed key and
 * fixed digest keys.  The seed corpus carries the key's real digests so
 * the fuzzer gets past the digest compare and into the later rules.  The
 * same bytes are also read as the parts of a hinted lookup, composed into
 * the script's reply and put through the same decoder and verdicts.
 */


#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ngx_http_validibot_check.h"
#include "ngx_http_validibot_roles.h"


#define KEY  "vbk_1_0123456789abcdef0123456789abcdef_"                       \
             "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

#define MAX_REPLIES  64


static ngx_http_validibot_key_t   key;
static ngx_http_validibot_hmac_t  hmacs[2];
static uint32_t                   need[2];


int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void) argc;
    (void) argv;

    if (ngx_http_validibot_parse_key((const unsigned char *) KEY,
                                     sizeof(KEY) - 1, &key)
        != 0
        || ngx_http_validibot_hmac_init(&hmacs[0], 1,
               (const unsigned char *) "fuzz-digest-key-1", 17) != 0
        || ngx_http_validibot_hmac_init(&hmacs[1], 2,
               (const unsigned char *) "fuzz-digest-key-2", 17) != 0)
    {
        abort();
    }

    need[0] = ngx_http_validibot_code_mask(
                  (const unsigned char *) "workflow_launch", 15);
    need[1] = ngx_http_validibot_code_mask(
                  (const unsigned char *) "workflow_view", 13);

    return 0;
}


static void
verdict(const ngx_http_validibot_record_t *rec, unsigned org, size_t nneed,
    int64_t leeway, int64_t max_age)
{
    ngx_http_validibot_check_t   chk;
    ngx_http_validibot_status_e  s;

    memset(&chk, 0, sizeof(chk));
    chk.key = &key;
    chk.hmacs = hmacs;
    chk.nhmacs = 2;
    chk.now = 1764000000;
    chk.leeway = leeway;
    chk.max_age = max_age;
    chk.org = org;
    chk.need = need;
    chk.nneed = nneed;

    s = ngx_http_validibot_check(&chk, rec);

    switch (s) {

    case NGX_HTTP_VALIDIBOT_OK:
        if (!rec->found || (nneed && !org)
            || (nneed && !((chk.roles & need[0]) && (chk.roles & need[1]))))
        {
            abort();
        }
        break;

    case NGX_HTTP_VALIDIBOT_INVALID:
    case NGX_HTTP_VALIDIBOT_REVOKED:
    case NGX_HTTP_VALIDIBOT_EXPIRED:
    case NGX_HTTP_VALIDIBOT_USER_INACTIVE:
    case NGX_HTTP_VALIDIBOT_ORG_INACTIVE:
    case NGX_HTTP_VALIDIBOT_NOT_MEMBER:
    case NGX_HTTP_VALIDIBOT_FORBIDDEN:
        if (!rec->found && s != NGX_HTTP_VALIDIBOT_INVALID) {
            abort();
        }
        break;

    default:
        abort();
    }

    if (chk.reason == NULL || (chk.roles & ~0x7fu)) {
        abort();
    }

    if (strlen(ngx_http_validibot_status_name(s)) == 0) {
        abort();
    }
}


static void
one(const redisReply *reply)
{
    size_t                       i;
    int64_t                      v;
    ngx_http_validibot_record_t  rec;

    if (ngx_http_validibot_reply_decode(reply, &rec) != 0) {
        if (rec.found) {
            abort();
        }

        return;
    }

    for (i = 0; i < NGX_HTTP_VALIDIBOT_NFIELDS; i++) {
        if (rec.field[i].len > NGX_HTTP_VALIDIBOT_FIELD_MAX_LEN
            || (rec.field[i].data == NULL && rec.field[i].len))
        {
            abort();
        }

        (void) ngx_http_validibot_span_int(&rec.field[i], &v);
    }

    verdict(&rec, 0, 0, 0, 0);
    verdict(&rec, 0, 2, 0, 0);
    verdict(&rec, 1, 0, 60, 0);
    verdict(&rec, 1, 2, 0, 0);
    verdict(&rec, 0, 0, -60, 90 * 86400);
    verdict(&rec, 0, 0, INT64_MAX, INT64_MAX);
    verdict(&rec, 0, 0, INT64_MIN, 1);
}


/* the module's reader fed with the input; NULL when feeding fails */

static redisReader *
reader(const uint8_t *data, size_t size)
{
    redisReader  *r;

    r = ngx_http_validibot_reader_create();
    if (r == NULL) {
        abort();
    }

    if (redisReaderFeed(r, (const char *) data, size) != REDIS_OK) {
        ngx_http_validibot_reader_free(r);
        return NULL;
    }

    return r;
}


static void
compose(redisReply **part, size_t nparts, const unsigned char *user,
    size_t len)
{
    const redisReply               *result;
    ngx_http_validibot_composed_t   out;

    result = NULL;

    /* 3: no org; 5: with an org; 4: a status without a membership */

    if (ngx_http_validibot_reply_compose(part[0], part[1],
                                         nparts > 2 ? part[2] : NULL,
                                         nparts > 3 ? part[3] : NULL,
                                         nparts > 4 ? part[4] : NULL,
                                         user, len, &out, &result)
        != NGX_HTTP_VALIDIBOT_COMPOSE_OK)
    {
        return;
    }

    if (result == NULL
        || (result == &out.top && result->elements != 0
            && result->elements != NGX_HTTP_VALIDIBOT_NFIELDS))
    {
        abort();
    }

    one(result);
}


/* the bytes as a hinted lookup's parts, all kept in one arena */

static void
parts(const uint8_t *data, size_t size)
{
    size_t        n;
    void         *reply;
    redisReply   *part[NGX_HTTP_VALIDIBOT_MAX_PARTS], *k;
    redisReader  *r;

    r = reader(data, size);
    if (r == NULL) {
        return;
    }

    for (n = 0; n < NGX_HTTP_VALIDIBOT_MAX_PARTS; n++) {
        reply = NULL;

        if (redisReaderGetReply(r, &reply) != REDIS_OK || reply == NULL) {
            break;
        }

        part[n] = reply;
    }

    /* 2 (a part short) and n: 3 without an org, 5 with one */

    if (n >= 2) {
        compose(part, 2, (const unsigned char *) "42", 2);
        compose(part, n, (const unsigned char *) "42", 2);

        /* the owner the key part names, to get past the owner check */
        k = part[0];

        if (k->type == REDIS_REPLY_ARRAY && k->elements > 0
            && k->element[0]->type == REDIS_REPLY_STRING)
        {
            compose(part, 2, (const unsigned char *) k->element[0]->str,
                    k->element[0]->len);
            compose(part, n, (const unsigned char *) k->element[0]->str,
                    k->element[0]->len);
        }
    }

    ngx_http_validibot_reader_free(r);
}


/* every part of a reply of the tracking connection's reader is readable */

static void
walk(const redisReply *r)
{
    size_t  i;

    if (r->type == REDIS_REPLY_ARRAY) {
        /* an array only counted has no element vector */
        for (i = 0; r->element != NULL && i < r->elements; i++) {
            walk(r->element[i]);
        }

    } else if ((r->type == REDIS_REPLY_STRING
                || r->type == REDIS_REPLY_STATUS
                || r->type == REDIS_REPLY_ERROR)
               && r->str[r->len] != '\0')
    {
        abort();
    }
}


static void
track(const uint8_t *data, size_t size)
{
    int           n;
    void         *reply;
    redisReader  *r;

    r = ngx_http_validibot_reader_create_track();
    if (r == NULL) {
        abort();
    }

    if (redisReaderFeed(r, (const char *) data, size) == REDIS_OK) {
        for (n = 0; n < MAX_REPLIES; n++) {
            reply = NULL;

            if (redisReaderGetReply(r, &reply) != REDIS_OK || reply == NULL) {
                break;
            }

            walk(reply);
            ngx_http_validibot_reader_reset(r);
        }
    }

    ngx_http_validibot_reader_free(r);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int           n;
    void         *reply;
    redisReader  *r;

    r = reader(data, size);
    if (r == NULL) {
        return 0;
    }

    for (n = 0; n < MAX_REPLIES; n++) {
        reply = NULL;

        if (redisReaderGetReply(r, &reply) != REDIS_OK || reply == NULL) {
            break;
        }

        one(reply);
        ngx_http_validibot_reader_reset(r);
    }

    ngx_http_validibot_reader_free(r);

    parts(data, size);
    track(data, size);

    return 0;
}
