
/*
 * Copyright (C) The ngx_http_validibot_module authors
 *
 * Owner hints: which user a public id belongs to, remembered by a worker
 * after a lookup.  A key never changes owner, so with a hint the lookup
 * can send plain pipelined reads (key, user, org, membership) in one
 * round trip instead of a script, at half of Redis's CPU.  A hint is only
 * a guess: the key record read in the same round trip says whose key it
 * is, and a wrong guess is thrown away.  Nothing is ever decided from a
 * hint alone.
 *
 * A fixed table of 4-way sets, allocated once (calloc: pages become
 * resident only when used); a full set loses a pseudo-random entry.  Pure:
 * no nginx, no I/O.
 */


#ifndef _NGX_HTTP_VALIDIBOT_HINT_H_INCLUDED_
#define _NGX_HTTP_VALIDIBOT_HINT_H_INCLUDED_


#include <stddef.h>


/* longer user ids are never hinted: those keys always use the script */
#define NGX_HTTP_VALIDIBOT_HINT_USER_MAX  46


typedef struct ngx_http_validibot_hints_s  ngx_http_validibot_hints_t;


/* n entries, rounded up to a power of two (at least 4); NULL: no memory */
ngx_http_validibot_hints_t *ngx_http_validibot_hints_create(size_t n);
void ngx_http_validibot_hints_free(ngx_http_validibot_hints_t *h);

/*
 * public_id is 32 lowercase hex digits (checked by the caller).  get()
 * copies the user id into user (NGX_HTTP_VALIDIBOT_HINT_USER_MAX bytes)
 * and returns its length, or 0 when there is no hint.
 */
size_t ngx_http_validibot_hints_get(ngx_http_validibot_hints_t *h,
    const unsigned char *public_id, unsigned char *user);
void ngx_http_validibot_hints_put(ngx_http_validibot_hints_t *h,
    const unsigned char *public_id, const unsigned char *user, size_t len);
void ngx_http_validibot_hints_drop(ngx_http_validibot_hints_t *h,
    const unsigned char *public_id);


#endif /* _NGX_HTTP_VALIDIBOT_HINT_H_INCLUDED_ */
