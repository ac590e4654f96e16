
/*
 * Copyright (C) The ngx_http_validibot_module authors
 *
 * Validibot API key syntax and the Authorization header.  Pure functions:
 * no nginx, no I/O, so the module, the command-line tool and the fuzzers
 * share them.
 */


#ifndef _NGX_HTTP_VALIDIBOT_KEY_H_INCLUDED_
#define _NGX_HTTP_VALIDIBOT_KEY_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>


#define NGX_HTTP_VALIDIBOT_FORMAT_VERSION   1
#define NGX_HTTP_VALIDIBOT_PUBLIC_ID_LEN    32
#define NGX_HTTP_VALIDIBOT_SECRET_LEN       64
#define NGX_HTTP_VALIDIBOT_KEY_MAX_LEN      160

/* "vbk_1_" + 32 + "_" + 64 */
#define NGX_HTTP_VALIDIBOT_KEY_LEN          103


typedef enum {
    NGX_HTTP_VALIDIBOT_CRED_OK = 0,
    NGX_HTTP_VALIDIBOT_CRED_MISSING,      /* empty, or a scheme not Bearer */
    NGX_HTTP_VALIDIBOT_CRED_MALFORMED     /* Bearer, but no valid key */
} ngx_http_validibot_cred_e;


typedef struct {
    unsigned              format_version;
    const unsigned char  *public_id;      /* 32 lowercase hex, not copied */
    const unsigned char  *secret;         /* 64 lowercase hex, not copied */
} ngx_http_validibot_key_t;


/*
 * Parses an Authorization header value.  The scheme "Bearer" is matched
 * case-insensitively and must be followed by one or more SP or HTAB and
 * the key; trailing SP/HTAB is ignored.  Fills "key" only on CRED_OK.
 */
ngx_http_validibot_cred_e ngx_http_validibot_parse_authorization(
    const unsigned char *value, size_t len, ngx_http_validibot_key_t *key);

/*
 * Checks a bare key "vbk_1_<public_id>_<secret>" (exact syntax, format
 * version 1 only, at most NGX_HTTP_VALIDIBOT_KEY_MAX_LEN bytes).
 * Returns 0 and fills "key" when valid, -1 otherwise.
 */
int ngx_http_validibot_parse_key(const unsigned char *p, size_t len,
    ngx_http_validibot_key_t *key);

/* 0 if p is exactly 32 lowercase hex digits, -1 otherwise */
int ngx_http_validibot_check_public_id(const unsigned char *p, size_t len);


#endif /* _NGX_HTTP_VALIDIBOT_KEY_H_INCLUDED_ */
