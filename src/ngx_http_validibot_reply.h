
/*
 * Copyright (C) The ngx_http_validibot_module authors
 *
 * Decoding the lookup script's reply (ngx_http_validibot_script.h) as the
 * hiredis reader hands it over.  Pure: no nginx, no I/O.  Field pointers
 * point into the reply and live as long as it does.
 */


#ifndef _NGX_HTTP_VALIDIBOT_REPLY_H_INCLUDED_
#define _NGX_HTTP_VALIDIBOT_REPLY_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>
#include <hiredis/hiredis.h>


typedef enum {
    NGX_HTTP_VALIDIBOT_F_USER = 0,
    NGX_HTTP_VALIDIBOT_F_DIGEST,
    NGX_HTTP_VALIDIBOT_F_DIGEST_VERSION,
    NGX_HTTP_VALIDIBOT_F_EXPIRES_AT,
    NGX_HTTP_VALIDIBOT_F_REVOKED_AT,
    NGX_HTTP_VALIDIBOT_F_CREATED_AT,
    NGX_HTTP_VALIDIBOT_F_LABEL,
    NGX_HTTP_VALIDIBOT_F_USER_ACTIVE,
    NGX_HTTP_VALIDIBOT_F_EMAIL,
    NGX_HTTP_VALIDIBOT_F_NAME,
    NGX_HTTP_VALIDIBOT_F_ORG_STATUS,
    NGX_HTTP_VALIDIBOT_F_MEMBER_ACTIVE,
    NGX_HTTP_VALIDIBOT_F_MEMBER_ROLES,
    NGX_HTTP_VALIDIBOT_F_LAST_USED_AT,
    NGX_HTTP_VALIDIBOT_F_USER_SUPERUSER,
    NGX_HTTP_VALIDIBOT_NFIELDS
} ngx_http_validibot_field_e;


typedef struct {
    size_t                len;
    const unsigned char  *data;           /* NULL: absent (nil) */
} ngx_http_validibot_span_t;


typedef struct {
    unsigned                    found;    /* key record exists */
    unsigned                    truncated; /* label, email or name cut */
    ngx_http_validibot_span_t   field[NGX_HTTP_VALIDIBOT_NFIELDS];
} ngx_http_validibot_record_t;


/*
 * Fills rec from the reply.  Returns 0 on success, -1 when the reply is
 * not of the script's shape (an error reply, wrong type or element count,
 * a non-string element, an over-long field that decides access): the
 * caller must then fail closed.  A label, email or name over
 * NGX_HTTP_VALIDIBOT_FIELD_MAX_LEN bytes is cut to that length and
 * "truncated" set.  An empty "user" is a missing record (found == 0).
 */
#define NGX_HTTP_VALIDIBOT_FIELD_MAX_LEN  4096

int ngx_http_validibot_reply_decode(const redisReply *reply,
    ngx_http_validibot_record_t *rec);

/*
 * The hinted lookup (ngx_http_validibot_hint.h) reads with plain commands
 * instead of the script, in one round trip:
 *
 *   key     HMGET key:<id>  user digest digest_version expires_at
 *                           revoked_at created_at label
 *   user    HMGET user:<user>  is_active email name is_superuser
 *   usage   HGET usage:<id> last_used_at
 *   status  HGET org:<org> status             (only with an org)
 *   member  HMGET member:<org>:<user>  is_active roles   (only with an org)
 *
 * ngx_http_validibot_reply_compose() turns these replies (status and
 * member both NULL without an org; usage is a string or a nil) into the
 * reply the script would have given, built in "out", for
 * ngx_http_validibot_reply_decode().  "user" is the guessed owner.  It
 * returns NGX_HTTP_VALIDIBOT_COMPOSE_OTHER when the key record names
 * another owner (or none that can be hinted): its user and membership
 * reads are of no use, ask the script.  Otherwise *result is the script's
 * reply (an empty array when the key record is gone), or the first error
 * part, or, for a part of a wrong shape, a nil that the decoder refuses.
 */
#define NGX_HTTP_VALIDIBOT_KEY_FIELDS     7
#define NGX_HTTP_VALIDIBOT_USER_FIELDS    4
#define NGX_HTTP_VALIDIBOT_MEMBER_FIELDS  2
#define NGX_HTTP_VALIDIBOT_MAX_PARTS      5

#define NGX_HTTP_VALIDIBOT_COMPOSE_OK     0
#define NGX_HTTP_VALIDIBOT_COMPOSE_OTHER  1

typedef struct {
    redisReply   top;
    redisReply  *elts[NGX_HTTP_VALIDIBOT_NFIELDS];
    redisReply   nil;
} ngx_http_validibot_composed_t;

int ngx_http_validibot_reply_compose(redisReply *key, redisReply *user_part,
    redisReply *usage, redisReply *status, redisReply *member,
    const unsigned char *user, size_t user_len,
    ngx_http_validibot_composed_t *out, const redisReply **result);


/*
 * Parses a unix-seconds or small integer field: absent, empty or "0"
 * yields 0 with return 0; a decimal integer yields its value with
 * return 0; anything else returns -1.
 */
int ngx_http_validibot_span_int(const ngx_http_validibot_span_t *s,
    int64_t *value);

/*
 * A hiredis reader (free with redisReaderFree()) that fails, as if out of
 * memory, on an array of more than NGX_HTTP_VALIDIBOT_READER_MAX_ELEMENTS
 * elements: hiredis allocates the element vector as soon as it reads the
 * count, so a garbage "*2000000000\r\n" would otherwise cost 16 GB.
 */
#define NGX_HTTP_VALIDIBOT_READER_MAX_ELEMENTS  1024

redisReader *ngx_http_validibot_reader_create(void);

/*
 * The tracking connection's reader: the same, except for an array inside
 * a reply (a report of writes: ["message", channel, [name, ...]]).  One of
 * up to NGX_HTTP_VALIDIBOT_TRACK_MAX_KEYS names is kept whole; a longer
 * one (up to NGX_HTTP_VALIDIBOT_TRACK_COUNT_MAX) is read through without
 * keeping its elements: its "elements" says how many there were and its
 * "element" is NULL.  Redis sends one report per prefix for all the
 * writes of one event loop iteration (a MULTI/EXEC of thousands of
 * records is one report), so a long one is no protocol error.
 */
#define NGX_HTTP_VALIDIBOT_TRACK_MAX_KEYS    16384
#define NGX_HTTP_VALIDIBOT_TRACK_COUNT_MAX   0x7fffffff

redisReader *ngx_http_validibot_reader_create_track(void);

/*
 * The reader builds replies in an arena of its own, without malloc():
 * a reply stays valid until ngx_http_validibot_reader_reset(), which the
 * caller makes once it is done with a complete reply (never
 * freeReplyObject() on these).  Free the reader with
 * ngx_http_validibot_reader_free().
 */
void ngx_http_validibot_reader_reset(redisReader *r);
void ngx_http_validibot_reader_free(redisReader *r);


#endif /* _NGX_HTTP_VALIDIBOT_REPLY_H_INCLUDED_ */
