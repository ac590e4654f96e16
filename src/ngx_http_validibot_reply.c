
/*
 * Copyright (C) The ngx_http_validibot_module authors
 */


#include <string.h>

#include "ngx_http_validibot_reply.h"


#define NGX_HTTP_VALIDIBOT_INT_MAX_DIGITS  18


#if (HIREDIS_MAJOR >= 1)
static void *ngx_http_validibot_create_array(const redisReadTask *task,
    size_t elements);
#else
static void *ngx_http_validibot_create_array(const redisReadTask *task,
    int elements);
#endif


static redisReplyObjectFunctions  ngx_http_validibot_reader_fn;
static void *(*ngx_http_validibot_default_create_array)(
    const redisReadTask *task,
#if (HIREDIS_MAJOR >= 1)
    size_t elements
#else
    int elements
#endif
    );


int
ngx_http_validibot_reply_decode(const redisReply *reply,
    ngx_http_validibot_record_t *rec)
{
    size_t             i;
    const redisReply  *e;

    memset(rec, 0, sizeof(ngx_http_validibot_record_t));

    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY) {
        return -1;
    }

    if (reply->elements == 0) {
        return 0;
    }

    if (reply->elements != NGX_HTTP_VALIDIBOT_NFIELDS
        || reply->element == NULL)
    {
        return -1;
    }

    for (i = 0; i < NGX_HTTP_VALIDIBOT_NFIELDS; i++) {
        e = reply->element[i];

        if (e == NULL) {
            goto invalid;
        }

        if (e->type == REDIS_REPLY_NIL) {
            continue;
        }

        if (e->type != REDIS_REPLY_STRING
            || e->len > NGX_HTTP_VALIDIBOT_FIELD_MAX_LEN
            || (e->str == NULL && e->len != 0))
        {
            goto invalid;
        }

        rec->field[i].len = e->len;
        rec->field[i].data = e->str ? (const unsigned char *) e->str
                                    : (const unsigned char *) "";
    }

    /* the script returns {} when there is no user: anything else is odd */

    if (rec->field[NGX_HTTP_VALIDIBOT_F_USER].len == 0) {
        goto invalid;
    }

    rec->found = 1;

    return 0;

invalid:

    memset(rec, 0, sizeof(ngx_http_validibot_record_t));

    return -1;
}


int
ngx_http_validibot_span_int(const ngx_http_validibot_span_t *s,
    int64_t *value)
{
    size_t   i;
    int64_t  v;

    *value = 0;

    if (s->data == NULL || s->len == 0) {
        return 0;
    }

    if (s->len > NGX_HTTP_VALIDIBOT_INT_MAX_DIGITS) {
        return -1;
    }

    v = 0;

    for (i = 0; i < s->len; i++) {
        if (s->data[i] < '0' || s->data[i] > '9') {
            return -1;
        }

        v = v * 10 + (s->data[i] - '0');
    }

    *value = v;

    return 0;
}


redisReader *
ngx_http_validibot_reader_create(void)
{
    redisReader  *r;

    r = redisReaderCreate();
    if (r == NULL) {
        return NULL;
    }

    /*
     * hiredis keeps its reply builders private: borrow them from the
     * reader once and wrap the array builder only
     */

    if (ngx_http_validibot_default_create_array == NULL) {
        ngx_http_validibot_reader_fn = *r->fn;
        ngx_http_validibot_default_create_array = r->fn->createArray;
        ngx_http_validibot_reader_fn.createArray =
                                           ngx_http_validibot_create_array;
    }

    r->fn = &ngx_http_validibot_reader_fn;

    return r;
}


static void *
#if (HIREDIS_MAJOR >= 1)
ngx_http_validibot_create_array(const redisReadTask *task, size_t elements)
#else
ngx_http_validibot_create_array(const redisReadTask *task, int elements)
#endif
{
    /*
     * "*2000000000\r\n" would make hiredis calloc() 16 GB before a single
     * element arrives; NULL makes the reader fail ("Out of memory"), and
     * the error is sticky, so the connection is closed
     */

    if (elements > NGX_HTTP_VALIDIBOT_READER_MAX_ELEMENTS) {
        return NULL;
    }

    return ngx_http_validibot_default_create_array(task, elements);
}
