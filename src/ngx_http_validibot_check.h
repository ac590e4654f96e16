
/*
 * Copyright (C) The ngx_http_validibot_module authors
 *
 * The rules that turn a key and its decoded record into a verdict, in
 * Validibot's order: digest (constant time, the same work on a miss),
 * revocation, expiry, user, organization, membership, roles.  Pure.
 */


#ifndef _NGX_HTTP_VALIDIBOT_CHECK_H_INCLUDED_
#define _NGX_HTTP_VALIDIBOT_CHECK_H_INCLUDED_


#include "ngx_http_validibot_key.h"
#include "ngx_http_validibot_digest.h"
#include "ngx_http_validibot_reply.h"


/* values of $validibot_auth_status, in this order */
typedef enum {
    NGX_HTTP_VALIDIBOT_OK = 0,
    NGX_HTTP_VALIDIBOT_MISSING,
    NGX_HTTP_VALIDIBOT_MALFORMED,
    NGX_HTTP_VALIDIBOT_INVALID,
    NGX_HTTP_VALIDIBOT_REVOKED,
    NGX_HTTP_VALIDIBOT_EXPIRED,
    NGX_HTTP_VALIDIBOT_USER_INACTIVE,
    NGX_HTTP_VALIDIBOT_ORG_INACTIVE,
    NGX_HTTP_VALIDIBOT_NOT_MEMBER,
    NGX_HTTP_VALIDIBOT_FORBIDDEN,
    NGX_HTTP_VALIDIBOT_STORE_ERROR,
    NGX_HTTP_VALIDIBOT_THROTTLED,
    NGX_HTTP_VALIDIBOT_NSTATUS
} ngx_http_validibot_status_e;


typedef struct {
    /* in */
    const ngx_http_validibot_key_t   *key;
    const ngx_http_validibot_hmac_t  *hmacs;     /* configured digest keys */
    size_t                            nhmacs;
    int64_t                           now;       /* unix seconds */
    int64_t                           leeway;    /* seconds, expiry skew */
    int64_t                           max_age;   /* seconds, 0: no limit */
    unsigned                          org;       /* an org was named */
    const uint32_t                   *need;      /* role masks, all must */
    size_t                            nneed;     /*   hold; any bit is ok */
    unsigned                          verified;  /* the secret is known to
                                                    match this record's
                                                    digest: not digested */
    unsigned                          superusers; /* let them in (as
                                                    Validibot does) */
    const uint32_t                   *parsed_roles; /* the membership's
                                                    roles already parsed
                                                    (a cache hit); NULL:
                                                    parse the field */

    /* out */
    uint32_t                          roles;     /* membership's roles */
    int64_t                           expires_at; /* 0: never */
    unsigned                          superuser; /* let in as one */
    const char                       *reason;    /* for the log; static */
    unsigned                          secret_ok; /* the digest matched */
} ngx_http_validibot_check_t;


/*
 * Decides.  "rec" may be NULL-free but not found (rec->found == 0): the
 * digest is still computed with the first configured key so that a miss
 * costs what a hit does.  Never returns STORE_ERROR, MISSING or
 * MALFORMED; those are the caller's (and THROTTLED).
 */
ngx_http_validibot_status_e ngx_http_validibot_check(
    ngx_http_validibot_check_t *chk, const ngx_http_validibot_record_t *rec);

/* "ok", "missing", ... as in $validibot_auth_status */
const char *ngx_http_validibot_status_name(ngx_http_validibot_status_e s);


#endif /* _NGX_HTTP_VALIDIBOT_CHECK_H_INCLUDED_ */
