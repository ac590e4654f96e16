
/*
 * Copyright (C) The ngx_http_validibot_module authors
 *
 * SipHash-2-4 with a 128-bit output (Aumasson and Bernstein), a PRF: a
 * cache hit compares a tag of the presented credential, made with a key
 * each worker draws at start-up, instead of computing the HMAC-SHA256
 * digest again.  Pure: no nginx, no I/O.
 */


#ifndef _NGX_HTTP_VALIDIBOT_PRF_H_INCLUDED_
#define _NGX_HTTP_VALIDIBOT_PRF_H_INCLUDED_


#include <stddef.h>


#define NGX_HTTP_VALIDIBOT_PRF_KEY_LEN  16
#define NGX_HTTP_VALIDIBOT_PRF_LEN      16


void ngx_http_validibot_prf(const unsigned char *key, const unsigned char *in,
    size_t len, unsigned char *out);

/* 1 when equal; in constant time */
int ngx_http_validibot_prf_equal(const unsigned char *a,
    const unsigned char *b);


#endif /* _NGX_HTTP_VALIDIBOT_PRF_H_INCLUDED_ */
