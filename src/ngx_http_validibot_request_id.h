
/*
 * Copyright (C) The ngx_http_validibot_module authors
 *
 * A cheap $request_id for the signed assertion's jti: SipHash-2-4 with
 * 128-bit output (Aumasson and Bernstein) of a per-worker counter, keyed
 * by 16 random bytes each worker draws at start.  Unique per worker and
 * unpredictable without the key, like nginx's 16 bytes from RAND_bytes(),
 * at a fraction of their cost (docs/upstream.md).  Pure.
 */


#ifndef _NGX_HTTP_VALIDIBOT_REQUEST_ID_H_INCLUDED_
#define _NGX_HTTP_VALIDIBOT_REQUEST_ID_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>


#define NGX_HTTP_VALIDIBOT_REQUEST_ID_KEY_LEN  16
#define NGX_HTTP_VALIDIBOT_REQUEST_ID_LEN      32      /* hex, as nginx's */


/* SipHash-2-4, 16 bytes of output */
void ngx_http_validibot_siphash128(const unsigned char *key,
    const unsigned char *msg, size_t len, unsigned char *out);

/* 32 lowercase hex of SipHash-2-4-128 of n (8 bytes little-endian) */
void ngx_http_validibot_request_id(const unsigned char *key, uint64_t n,
    unsigned char *out);


#endif /* _NGX_HTTP_VALIDIBOT_REQUEST_ID_H_INCLUDED_ */
