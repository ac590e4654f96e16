
/*
 * Copyright (C) The ngx_http_validibot_module authors
 *
 * A cheap $request_id for the signed assertion's jti: the PRF
 * (SipHash-2-4-128, ngx_http_validibot_prf.c) of a per-worker counter,
 * keyed by 16 random bytes each worker draws at start.  Unique per worker
 * and unpredictable without the key, like nginx's 16 bytes from
 * RAND_bytes(), at a fraction of their cost (docs/upstream.md).  Pure.
 */


#ifndef _NGX_HTTP_VALIDIBOT_REQUEST_ID_H_INCLUDED_
#define _NGX_HTTP_VALIDIBOT_REQUEST_ID_H_INCLUDED_


#include <stdint.h>

#include "ngx_http_validibot_prf.h"


#define NGX_HTTP_VALIDIBOT_REQUEST_ID_KEY_LEN  NGX_HTTP_VALIDIBOT_PRF_KEY_LEN
#define NGX_HTTP_VALIDIBOT_REQUEST_ID_LEN      32      /* hex, as nginx's */


/* 32 lowercase hex of the PRF of n (8 bytes little-endian) under key */
void ngx_http_validibot_request_id(const unsigned char *key, uint64_t n,
    unsigned char *out);


#endif /* _NGX_HTTP_VALIDIBOT_REQUEST_ID_H_INCLUDED_ */
