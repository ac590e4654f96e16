
/*
 * Copyright (C) The ngx_http_validibot_module authors
 */


#include <stdlib.h>
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




int
ngx_http_validibot_reply_decode(const redisReply *reply,
    ngx_http_validibot_record_t *rec)
{
    size_t             i, len;
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
            || (e->str == NULL && e->len != 0))
        {
            goto invalid;
        }

        len = e->len;

        if (len > NGX_HTTP_VALIDIBOT_FIELD_MAX_LEN) {

            /* what only whoami shows never decides access: cut it short */

            if (i != NGX_HTTP_VALIDIBOT_F_LABEL
                && i != NGX_HTTP_VALIDIBOT_F_EMAIL
                && i != NGX_HTTP_VALIDIBOT_F_NAME)
            {
                goto invalid;
            }

            len = NGX_HTTP_VALIDIBOT_FIELD_MAX_LEN;
            rec->truncated = 1;
        }

        rec->field[i].len = len;
        rec->field[i].data = e->str ? (const unsigned char *) e->str
                                    : (const unsigned char *) "";
    }

    /* an empty "user" is no user, as the schema says: the key is unknown */

    if (rec->field[NGX_HTTP_VALIDIBOT_F_USER].len == 0) {
        memset(rec, 0, sizeof(ngx_http_validibot_record_t));
        return 0;
    }

    rec->found = 1;

    return 0;

invalid:

    memset(rec, 0, sizeof(ngx_http_validibot_record_t));

    return -1;
}


/* an array of n elements, each a string or a nil */

static int
ngx_http_validibot_reply_fields(const redisReply *r, size_t n)
{
    size_t  i;

    if (r->type != REDIS_REPLY_ARRAY || r->elements != n
        || r->element == NULL)
    {
        return -1;
    }

    for (i = 0; i < n; i++) {
        if (r->element[i] == NULL
            || (r->element[i]->type != REDIS_REPLY_STRING
                && r->element[i]->type != REDIS_REPLY_NIL))
        {
            return -1;
        }
    }

    return 0;
}


int
ngx_http_validibot_reply_compose(redisReply *key, redisReply *user_part,
    redisReply *usage, redisReply *status, redisReply *member,
    const unsigned char *user,
    size_t user_len, ngx_http_validibot_composed_t *out,
    const redisReply **result)
{
    size_t             i, nparts;
    redisReply       **e, *part[NGX_HTTP_VALIDIBOT_MAX_PARTS];
    const redisReply  *k;

    memset(out, 0, sizeof(ngx_http_validibot_composed_t));
    out->nil.type = REDIS_REPLY_NIL;
    out->top.type = REDIS_REPLY_ARRAY;
    out->top.element = out->elts;

    *result = &out->nil;

    /* an org's status and membership come together, or neither */

    if ((status == NULL) != (member == NULL)) {
        return NGX_HTTP_VALIDIBOT_COMPOSE_OK;
    }

    part[0] = key;
    part[1] = user_part;
    part[2] = usage;
    part[3] = status;
    part[4] = member;
    nparts = status ? NGX_HTTP_VALIDIBOT_MAX_PARTS : 3;

    for (i = 0; i < nparts; i++) {
        if (part[i] == NULL) {
            return NGX_HTTP_VALIDIBOT_COMPOSE_OK;
        }

        if (part[i]->type == REDIS_REPLY_ERROR) {
            *result = part[i];
            return NGX_HTTP_VALIDIBOT_COMPOSE_OK;
        }
    }

    if (ngx_http_validibot_reply_fields(part[0],
                                        NGX_HTTP_VALIDIBOT_KEY_FIELDS)
        != 0)
    {
        return NGX_HTTP_VALIDIBOT_COMPOSE_OK;
    }

    k = part[0]->element[0];

    if (k->type == REDIS_REPLY_NIL) {
        /* no key record, or no owner in it: the script's {} */
        *result = &out->top;
        return NGX_HTTP_VALIDIBOT_COMPOSE_OK;
    }

    if (k->len != user_len || k->str == NULL
        || memcmp(k->str, user, user_len) != 0)
    {
        return NGX_HTTP_VALIDIBOT_COMPOSE_OTHER;
    }

    if (ngx_http_validibot_reply_fields(part[1],
                                        NGX_HTTP_VALIDIBOT_USER_FIELDS)
        != 0)
    {
        return NGX_HTTP_VALIDIBOT_COMPOSE_OK;
    }

    /* the usage record's last_used_at and the org's status: one value */

    for (i = 2; i < nparts && i < 4; i++) {
        if (part[i]->type != REDIS_REPLY_STRING
            && part[i]->type != REDIS_REPLY_NIL)
        {
            return NGX_HTTP_VALIDIBOT_COMPOSE_OK;
        }
    }

    if (nparts == NGX_HTTP_VALIDIBOT_MAX_PARTS
        && ngx_http_validibot_reply_fields(part[4],
                                   NGX_HTTP_VALIDIBOT_MEMBER_FIELDS) != 0)
    {
        return NGX_HTTP_VALIDIBOT_COMPOSE_OK;
    }

    /* in the order of ngx_http_validibot_field_e */

    e = out->elts;

    for (i = 0; i < 7; i++) {
        e[NGX_HTTP_VALIDIBOT_F_USER + i] = part[0]->element[i];
    }

    e[NGX_HTTP_VALIDIBOT_F_LAST_USED_AT] = part[2];

    for (i = 0; i < 3; i++) {
        e[NGX_HTTP_VALIDIBOT_F_USER_ACTIVE + i] = part[1]->element[i];
    }

    e[NGX_HTTP_VALIDIBOT_F_USER_SUPERUSER] = part[1]->element[3];

    if (nparts == NGX_HTTP_VALIDIBOT_MAX_PARTS) {
        e[NGX_HTTP_VALIDIBOT_F_ORG_STATUS] = part[3];
        e[NGX_HTTP_VALIDIBOT_F_MEMBER_ACTIVE] = part[4]->element[0];
        e[NGX_HTTP_VALIDIBOT_F_MEMBER_ROLES] = part[4]->element[1];

    } else {
        e[NGX_HTTP_VALIDIBOT_F_ORG_STATUS] = &out->nil;
        e[NGX_HTTP_VALIDIBOT_F_MEMBER_ACTIVE] = &out->nil;
        e[NGX_HTTP_VALIDIBOT_F_MEMBER_ROLES] = &out->nil;
    }

    out->top.elements = NGX_HTTP_VALIDIBOT_NFIELDS;
    *result = &out->top;

    return NGX_HTTP_VALIDIBOT_COMPOSE_OK;
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


/* one block of the reply arena; the first one is kept across resets */

#define NGX_HTTP_VALIDIBOT_ARENA_BLOCK  4096

typedef struct ngx_http_validibot_block_s  ngx_http_validibot_block_t;

struct ngx_http_validibot_block_s {
    ngx_http_validibot_block_t  *next;
    size_t                       used;
    size_t                       size;
};

typedef struct {
    ngx_http_validibot_block_t  *first;
    ngx_http_validibot_block_t  *cur;
    size_t                       max;       /* nested arrays, see below */
    unsigned                     count:1;   /* longer nested: count only */
} ngx_http_validibot_arena_t;


/*
 * What an element of an array that is only counted becomes: nothing is
 * allocated for it, and nothing may write to it.
 */
static redisReply  ngx_http_validibot_counted;


static void *
ngx_http_validibot_arena_alloc(ngx_http_validibot_arena_t *a, size_t n)
{
    size_t                       size;
    ngx_http_validibot_block_t  *b;

    n = (n + 7) & ~(size_t) 7;
    b = a->cur;

    if (b->size - b->used < n) {
        size = n > NGX_HTTP_VALIDIBOT_ARENA_BLOCK
               ? n : NGX_HTTP_VALIDIBOT_ARENA_BLOCK;

        b = malloc(sizeof(ngx_http_validibot_block_t) + size);
        if (b == NULL) {
            return NULL;
        }

        b->next = NULL;
        b->used = 0;
        b->size = size;
        a->cur->next = b;
        a->cur = b;
    }

    b->used += n;

    return (char *) (b + 1) + b->used - n;
}


/* an element of an array that is only counted, or of such an element */

static int
ngx_http_validibot_arena_counted(const redisReadTask *task)
{
    return task->parent != NULL
           && ((redisReply *) task->parent->obj)->element == NULL;
}


static redisReply *
ngx_http_validibot_arena_reply(const redisReadTask *task, size_t extra)
{
    redisReply  *r, *parent;

    r = ngx_http_validibot_arena_alloc(task->privdata,
                                       sizeof(redisReply) + extra);
    if (r == NULL) {
        return NULL;
    }

    memset(r, 0, sizeof(redisReply));
    r->type = task->type;

    if (task->parent) {
        parent = task->parent->obj;
        parent->element[task->idx] = r;
    }

    return r;
}


static void *
ngx_http_validibot_create_string(const redisReadTask *task, char *str,
    size_t len)
{
    redisReply  *r;

    if (ngx_http_validibot_arena_counted(task)) {
        return &ngx_http_validibot_counted;
    }

    r = ngx_http_validibot_arena_reply(task, len + 1);
    if (r == NULL) {
        return NULL;
    }

    r->str = (char *) (r + 1);
    memcpy(r->str, str, len);
    r->str[len] = '\0';
    r->len = len;

    return r;
}


static void *
ngx_http_validibot_create_integer(const redisReadTask *task, long long value)
{
    redisReply  *r;

    if (ngx_http_validibot_arena_counted(task)) {
        return &ngx_http_validibot_counted;
    }

    r = ngx_http_validibot_arena_reply(task, 0);
    if (r != NULL) {
        r->integer = value;
    }

    return r;
}


static void *
ngx_http_validibot_create_nil(const redisReadTask *task)
{
    redisReply  *r;

    /* a nil bulk's task says "string": the type is set here, as hiredis does */

    if (ngx_http_validibot_arena_counted(task)) {
        return &ngx_http_validibot_counted;
    }

    r = ngx_http_validibot_arena_reply(task, 0);
    if (r != NULL) {
        r->type = REDIS_REPLY_NIL;
    }

    return r;
}


static void
ngx_http_validibot_free_object(void *reply)
{
    /* the arena is rewound by ngx_http_validibot_reader_reset() */
    (void) reply;
}


static redisReplyObjectFunctions  ngx_http_validibot_arena_fn = {
    ngx_http_validibot_create_string,
    ngx_http_validibot_create_array,
    ngx_http_validibot_create_integer,
    ngx_http_validibot_create_nil,
    ngx_http_validibot_free_object
};


static redisReader *
ngx_http_validibot_reader_new(size_t max, unsigned count)
{
    redisReader                 *r;
    ngx_http_validibot_arena_t  *a;

    a = malloc(sizeof(ngx_http_validibot_arena_t)
               + sizeof(ngx_http_validibot_block_t)
               + NGX_HTTP_VALIDIBOT_ARENA_BLOCK);
    if (a == NULL) {
        return NULL;
    }

    a->first = (ngx_http_validibot_block_t *) (a + 1);
    a->first->next = NULL;
    a->first->used = 0;
    a->first->size = NGX_HTTP_VALIDIBOT_ARENA_BLOCK;
    a->cur = a->first;
    a->max = max;
    a->count = count;

    r = redisReaderCreateWithFunctions(&ngx_http_validibot_arena_fn);
    if (r == NULL) {
        free(a);
        return NULL;
    }

    r->privdata = a;

    return r;
}


redisReader *
ngx_http_validibot_reader_create(void)
{
    return ngx_http_validibot_reader_new(
                                NGX_HTTP_VALIDIBOT_READER_MAX_ELEMENTS, 0);
}


redisReader *
ngx_http_validibot_reader_create_track(void)
{
    return ngx_http_validibot_reader_new(NGX_HTTP_VALIDIBOT_TRACK_MAX_KEYS,
                                         1);
}


void
ngx_http_validibot_reader_reset(redisReader *r)
{
    ngx_http_validibot_arena_t  *a;
    ngx_http_validibot_block_t  *b, *next;

    a = r->privdata;

    for (b = a->first->next; b; b = next) {
        next = b->next;
        free(b);
    }

    a->first->next = NULL;
    a->first->used = 0;
    a->cur = a->first;
}


void
ngx_http_validibot_reader_free(redisReader *r)
{
    if (r == NULL) {
        return;
    }

    ngx_http_validibot_reader_reset(r);
    free(r->privdata);
    redisReaderFree(r);
}


static void *
#if (HIREDIS_MAJOR >= 1)
ngx_http_validibot_create_array(const redisReadTask *task, size_t elements)
#else
ngx_http_validibot_create_array(const redisReadTask *task, int elements)
#endif
{
    size_t                       max;
    redisReply                  *r;
    ngx_http_validibot_arena_t  *a;

    if (ngx_http_validibot_arena_counted(task)) {
        return &ngx_http_validibot_counted;
    }

    a = task->privdata;

    /*
     * "*2000000000\r\n" would otherwise ask for 16 GB before a single
     * element arrives; NULL makes the reader fail ("Out of memory"), and
     * the error is sticky, so the connection is closed
     */

    max = task->parent ? a->max : NGX_HTTP_VALIDIBOT_READER_MAX_ELEMENTS;

    if ((size_t) elements > max) {

        /* a negative count is in the 2^63s too */

        if (task->parent == NULL || !a->count
            || (size_t) elements > NGX_HTTP_VALIDIBOT_TRACK_COUNT_MAX)
        {
            return NULL;
        }

        /*
         * A report of more writes than that: its elements are read and
         * dropped, only their number is kept
         */

        r = ngx_http_validibot_arena_reply(task, 0);
        if (r != NULL) {
            r->elements = elements;
        }

        return r;
    }

    r = ngx_http_validibot_arena_reply(task,
                                       elements * sizeof(redisReply *));
    if (r == NULL) {
        return NULL;
    }

    r->elements = elements;
    r->element = (redisReply **) (r + 1);
    memset(r->element, 0, elements * sizeof(redisReply *));

    return r;
}
