
/*
 * Copyright (C) The ngx_http_validibot_module authors
 *
 * Validibot's secret digest: hex HMAC-SHA256 keyed with the deployment's
 * digest key over "validibot-api-key\0format=F\0digest=D\0public=P\0secret=S".
 * Pure functions over OpenSSL.
 */


#ifndef _NGX_HTTP_VALIDIBOT_DIGEST_H_INCLUDED_
#define _NGX_HTTP_VALIDIBOT_DIGEST_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>


#define NGX_HTTP_VALIDIBOT_DIGEST_HEX_LEN  64


/*
 * A digest key with its HMAC inner and outer SHA-256 states computed once,
 * so a request costs two SHA-256 finishes and no allocation.  Opaque bytes
 * big enough for two SHA256_CTX; set up with ngx_http_validibot_hmac_init().
 */
typedef struct {
    unsigned         version;             /* digest_version it serves */
    unsigned char    state[256];
} ngx_http_validibot_hmac_t;


/* 0 on success, -1 on failure (key_len 0 is allowed but unwise) */
int ngx_http_validibot_hmac_init(ngx_http_validibot_hmac_t *h,
    unsigned version, const unsigned char *key, size_t key_len);

/*
 * Writes the 64 lowercase hex characters of the digest of the given
 * key parts to "out" (no NUL).
 */
void ngx_http_validibot_digest(const ngx_http_validibot_hmac_t *h,
    unsigned format_version, const unsigned char *public_id, size_t pid_len,
    const unsigned char *secret, size_t secret_len, unsigned char *out);

/*
 * Plain HMAC-SHA256 of "msg" with the key of "h" into the 32 bytes of
 * "out" (the signed identity assertion uses it).
 */
void ngx_http_validibot_hmac_sha256(const ngx_http_validibot_hmac_t *h,
    const unsigned char *msg, size_t len, unsigned char *out);

/*
 * Feeds "data" to the inner hash of "h" for good: later HMACs with "h"
 * cover data followed by their message (a fixed prefix hashed once).
 */
void ngx_http_validibot_hmac_absorb(ngx_http_validibot_hmac_t *h,
    const unsigned char *data, size_t len);

/* constant time in len: 1 if equal, 0 if not */
int ngx_http_validibot_digest_equal(const unsigned char *a,
    const unsigned char *b, size_t len);

/*
 * Reads a digest key file's bytes: one trailing "\n" (or "\r\n") is
 * dropped.  Not for request time.
 */
size_t ngx_http_validibot_digest_key_trim(const unsigned char *p, size_t len);


#endif /* _NGX_HTTP_VALIDIBOT_DIGEST_H_INCLUDED_ */
