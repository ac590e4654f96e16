
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
/* the claims' JSON hashed once per key: a multiple of 3 (base64) */
#define NGX_HTTP_VALIDIBOT_ASSERTION_PRE_MAX      192
/* the claims' JSON a memo keeps: a multiple of 3 */
#define NGX_HTTP_VALIDIBOT_ASSERTION_MEMO_MAX     240
/* the claims a memo keeps as given (iss, aud, sub, org, roles, kid) */
#define NGX_HTTP_VALIDIBOT_ASSERTION_MEMO_IN      240
#define NGX_HTTP_VALIDIBOT_ASSERTION_MEMO_NIN     6

/* rest (0-2), ",\"iat\":" int ",\"exp\":" int ",\"jti\":": at most 63 */
#define NGX_HTTP_VALIDIBOT_ASSERTION_SEC_MAX      63

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


/*
 * A signing or verification key: its kid, HMAC state, encoded JWS header.
 * With a prefix (ngx_http_validibot_assertion_key_prefix()), head[] goes
 * on with the base64url of pre[], the start every claims' JSON of this
 * issuer has, and "presigner" has absorbed all of head[].
 */
typedef struct {
    ngx_http_validibot_hmac_t   hmac;
    ngx_http_validibot_hmac_t   signer;      /* with the header absorbed */
    ngx_http_validibot_hmac_t   presigner;   /* with the header and pre */
    size_t                      kid_len;
    size_t                      head_len;    /* with the trailing '.' */
    uint64_t                    serial;      /* unique in the process */
    size_t                      pre_len;     /* 0: no prefix */
    size_t                      prehead_len; /* head_len + b64url(pre) */
    unsigned char               kid[NGX_HTTP_VALIDIBOT_ASSERTION_KID_MAX];
    unsigned char               head[NGX_HTTP_VALIDIBOT_ASSERTION_HEAD_MAX
                                     + NGX_HTTP_VALIDIBOT_ASSERTION_PRE_MAX
                                       / 3 * 4];
    unsigned char               pre[NGX_HTTP_VALIDIBOT_ASSERTION_PRE_MAX];
} ngx_http_validibot_assertion_key_t;


/*
 * The part of the claims that stays the same from one request of an API
 * key to the next (iss, aud, sub, org, roles, kid: everything before iat),
 * hashed once with a signing key: its JSON, base64url and HMAC state.
 * With in_ok, also the claims it was written from, as given, and the JSON
 * between json[] and iat ("rest").  With sec_ok, one level more for the
 * second of sec_iat: rest, iat, exp and the JSON up to jti's value, hashed
 * after "state" in whole 3-byte groups (sec_json_len of JSON), and the 0-2
 * bytes left (sec_rest).  A request with the same claims in that second
 * writes and hashes only sec_rest and jti to htu; in another second, the
 * level is made again from "state" first (_memo_tail(), _sign_tail()).
 * sec_ok is read only with in_ok, and cleared where in_ok is set
 * (_memo_keep()).
 */
typedef struct {
    uint64_t                    serial;      /* the key's; 0: empty */
    size_t                      json_len;    /* a multiple of 3 */
    size_t                      b64_len;
    size_t                      rest_len;    /* 0-2 */
    unsigned                    in_ok;
    size_t                      in_len[NGX_HTTP_VALIDIBOT_ASSERTION_MEMO_NIN];
    ngx_http_validibot_hmac_t   state;       /* the header and b64 absorbed */
    unsigned char               rest[2];
    unsigned char               in[NGX_HTTP_VALIDIBOT_ASSERTION_MEMO_IN];
    unsigned char               json[NGX_HTTP_VALIDIBOT_ASSERTION_MEMO_MAX];
    unsigned char               b64[NGX_HTTP_VALIDIBOT_ASSERTION_MEMO_MAX
                                    / 3 * 4];
    unsigned                    sec_ok;
    int64_t                     sec_iat;
    int64_t                     sec_exp;
    size_t                      sec_json_len;  /* a multiple of 3 */
    size_t                      sec_b64_len;
    size_t                      sec_rest_len;  /* 0-2 */
    ngx_http_validibot_hmac_t   sec_state;     /* "state", sec_b64 absorbed */
    unsigned char               sec_rest[2];
    unsigned char               sec_b64[NGX_HTTP_VALIDIBOT_ASSERTION_SEC_MAX
                                        / 3 * 4];
} ngx_http_validibot_assertion_memo_t;


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

/*
 * For a key that signs: hashes once the start that every claims' JSON with
 * this issuer has ({"iss":...,"aud":), so sign() hashes only the rest.
 * The tokens are the same bytes.
 */
void ngx_http_validibot_assertion_key_prefix(
    ngx_http_validibot_assertion_key_t *key, const unsigned char *iss,
    size_t len);

/* an upper bound of the claims' JSON */
size_t ngx_http_validibot_assertion_json_size(
    const ngx_http_validibot_claims_t *c);

/* the claims' JSON into buf; returns its length */
size_t ngx_http_validibot_assertion_json(const ngx_http_validibot_claims_t *c,
    unsigned char *buf);

/* the same, and in *fixed the length of its start before iat */
size_t ngx_http_validibot_assertion_json_fixed(
    const ngx_http_validibot_claims_t *c, unsigned char *buf, size_t *fixed);

/* the exact length of a JWS over a JSON payload of json_len bytes */
size_t ngx_http_validibot_assertion_size(
    const ngx_http_validibot_assertion_key_t *key, size_t json_len);

/* header.payload.signature into out; returns its length */
size_t ngx_http_validibot_assertion_sign(
    const ngx_http_validibot_assertion_key_t *key,
    const unsigned char *json, size_t json_len, unsigned char *out);

/*
 * The same token as ngx_http_validibot_assertion_sign(), with the first
 * "fixed" bytes of the JSON (from _json_fixed()) taken from the memo when
 * it holds them for this key, else hashed into it for the next requests.
 */
size_t ngx_http_validibot_assertion_sign_memo(
    const ngx_http_validibot_assertion_key_t *key,
    ngx_http_validibot_assertion_memo_t *memo, const unsigned char *json,
    size_t json_len, size_t fixed, unsigned char *out);

/*
 * When the memo holds, for this key, exactly these claims' iss, aud, sub,
 * org, roles and kid (byte for byte): makes the memo's level for c's iat
 * and exp unless it has it, writes the JSON after that level (its
 * sec_rest, then jti to htu) into buf, at least json_size(c) bytes, and
 * returns its length; 0 otherwise.  The token is then _sign_tail()'s, of
 * _memo_size(memo, length) bytes.
 */
size_t ngx_http_validibot_assertion_memo_tail(
    const ngx_http_validibot_assertion_key_t *key,
    ngx_http_validibot_assertion_memo_t *memo,
    const ngx_http_validibot_claims_t *c, unsigned char *buf);

/*
 * The memo of an API key among 2^bits: a multiplicative hash of its last
 * 16 bytes (a public id is 32 random hex digits), not a byte-serial one.
 */
size_t ngx_http_validibot_assertion_memo_slot(const unsigned char *id,
    size_t len, unsigned bits);

/* the exact length of the token of a tail from _memo_tail() */
size_t ngx_http_validibot_assertion_memo_size(
    const ngx_http_validibot_assertion_key_t *key,
    const ngx_http_validibot_assertion_memo_t *memo, size_t tail_len);

/* the token of the memo's start and the tail from _memo_tail() */
size_t ngx_http_validibot_assertion_sign_tail(
    const ngx_http_validibot_assertion_key_t *key,
    const ngx_http_validibot_assertion_memo_t *memo,
    const unsigned char *tail, size_t tail_len, unsigned char *out);

/*
 * After _sign_memo() with these claims, their JSON and "fixed": keeps the
 * claims in the memo if it holds the start of this JSON, for _memo_tail().
 */
void ngx_http_validibot_assertion_memo_keep(
    const ngx_http_validibot_assertion_key_t *key,
    ngx_http_validibot_assertion_memo_t *memo,
    const ngx_http_validibot_claims_t *c, const unsigned char *json,
    size_t fixed);

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

/*
 * base64url, unpadded, as the tokens have it (for tests): with "scalar",
 * by the portable loop even where SSSE3 is used; returns its length.
 */
size_t ngx_http_validibot_assertion_b64url(unsigned char *dst,
    const unsigned char *src, size_t len, int scalar);

/* 1 if base64url takes SSSE3 on this CPU */
int ngx_http_validibot_assertion_b64url_simd(void);

const char *ngx_http_validibot_assertion_strerror(
    ngx_http_validibot_assertion_rc_e rc);


#endif /* _NGX_HTTP_VALIDIBOT_ASSERTION_H_INCLUDED_ */
