
/*
 * Copyright (C) The ngx_http_validibot_module authors
 *
 * The signed identity assertion the module hands upstream: a compact JWS
 * (a JWT, HS256) whose claims say who the gateway let through, for which
 * method and path (docs/upstream.md).  Pure functions over OpenSSL: the
 * module signs with them, validibot-token verifies with them.
 */


#ifndef _NGX_HTTP_VALIDIBOT_ASSERTION_H_INCLUDED_
#define _NGX_HTTP_VALIDIBOT_ASSERTION_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>

#include "ngx_http_validibot_digest.h"


#define NGX_HTTP_VALIDIBOT_ASSERTION_KID_MAX      64
#define NGX_HTTP_VALIDIBOT_ASSERTION_KEY_MIN      32
#define NGX_HTTP_VALIDIBOT_ASSERTION_HEAD_MAX     160

/* base64url of 32 bytes, no padding */
#define NGX_HTTP_VALIDIBOT_ASSERTION_SIG_LEN      43


typedef struct {
    const unsigned char  *data;
    size_t                len;
} ngx_http_validibot_astr_t;


/*
 * The claims.  "roles" is comma-separated as $validibot_roles has it and
 * becomes a JSON array; with an empty "org" neither org nor roles is sent.
 * For verification, a NULL "data" in an expected value means: not checked.
 */
typedef struct {
    ngx_http_validibot_astr_t   iss;
    ngx_http_validibot_astr_t   aud;
    ngx_http_validibot_astr_t   sub;
    ngx_http_validibot_astr_t   org;
    ngx_http_validibot_astr_t   roles;
    ngx_http_validibot_astr_t   kid;      /* the API key's public id */
    ngx_http_validibot_astr_t   jti;
    ngx_http_validibot_astr_t   htm;
    ngx_http_validibot_astr_t   htu;
    int64_t                     iat;
    int64_t                     exp;
} ngx_http_validibot_claims_t;


/* a signing or verification key: its kid, HMAC state, encoded JWS header */
typedef struct {
    ngx_http_validibot_hmac_t   hmac;
    ngx_http_validibot_hmac_t   signer;      /* with the header absorbed */
    size_t                      kid_len;
    size_t                      head_len;    /* with the trailing '.' */
    unsigned char               kid[NGX_HTTP_VALIDIBOT_ASSERTION_KID_MAX];
    unsigned char               head[NGX_HTTP_VALIDIBOT_ASSERTION_HEAD_MAX];
} ngx_http_validibot_assertion_key_t;


typedef enum {
    NGX_HTTP_VALIDIBOT_ASSERTION_OK = 0,
    NGX_HTTP_VALIDIBOT_ASSERTION_MALFORMED,
    NGX_HTTP_VALIDIBOT_ASSERTION_ALG,
    NGX_HTTP_VALIDIBOT_ASSERTION_KID,
    NGX_HTTP_VALIDIBOT_ASSERTION_SIGNATURE,
    NGX_HTTP_VALIDIBOT_ASSERTION_CLAIMS,
    NGX_HTTP_VALIDIBOT_ASSERTION_EXPIRED,
    NGX_HTTP_VALIDIBOT_ASSERTION_FUTURE,
    NGX_HTTP_VALIDIBOT_ASSERTION_ISSUER,
    NGX_HTTP_VALIDIBOT_ASSERTION_AUDIENCE,
    NGX_HTTP_VALIDIBOT_ASSERTION_METHOD,
    NGX_HTTP_VALIDIBOT_ASSERTION_PATH
} ngx_http_validibot_assertion_rc_e;


typedef struct {
    const ngx_http_validibot_assertion_key_t  *keys;
    size_t                                     nkeys;
    int64_t                                    now;
    int64_t                                    leeway;   /* seconds */
    ngx_http_validibot_astr_t                  iss;      /* expected */
    ngx_http_validibot_astr_t                  aud;
    ngx_http_validibot_astr_t                  htm;
    ngx_http_validibot_astr_t                  htu;
} ngx_http_validibot_assertion_verify_t;


/* 1 if a kid is 1-64 of [A-Za-z0-9._-] */
int ngx_http_validibot_assertion_kid_valid(const unsigned char *kid,
    size_t len);

/*
 * 0, or -1 for an invalid kid or a secret shorter than
 * NGX_HTTP_VALIDIBOT_ASSERTION_KEY_MIN bytes.
 */
int ngx_http_validibot_assertion_key_init(
    ngx_http_validibot_assertion_key_t *key, const unsigned char *kid,
    size_t kid_len, const unsigned char *secret, size_t secret_len);

/* an upper bound of the claims' JSON */
size_t ngx_http_validibot_assertion_json_size(
    const ngx_http_validibot_claims_t *c);

/* the claims' JSON into buf; returns its length */
size_t ngx_http_validibot_assertion_json(const ngx_http_validibot_claims_t *c,
    unsigned char *buf);

/* the exact length of a JWS over a JSON payload of json_len bytes */
size_t ngx_http_validibot_assertion_size(
    const ngx_http_validibot_assertion_key_t *key, size_t json_len);

/* header.payload.signature into out; returns its length */
size_t ngx_http_validibot_assertion_sign(
    const ngx_http_validibot_assertion_key_t *key,
    const unsigned char *json, size_t json_len, unsigned char *out);

/*
 * Checks a JWS: form, alg HS256, a kid among v->keys, the signature, the
 * claims present and typed, iat and exp against v->now with v->leeway,
 * then each expected value set in v.  The claims' strings are decoded
 * into "buf" (at least "len" bytes) and point there; "kid_out", when not
 * NULL, gets the signing key's index.
 */
ngx_http_validibot_assertion_rc_e ngx_http_validibot_assertion_verify(
    const ngx_http_validibot_assertion_verify_t *v, const unsigned char *tok,
    size_t len, ngx_http_validibot_claims_t *claims, unsigned char *buf,
    size_t *kid_out);

const char *ngx_http_validibot_assertion_strerror(
    ngx_http_validibot_assertion_rc_e rc);


#endif /* _NGX_HTTP_VALIDIBOT_ASSERTION_H_INCLUDED_ */
