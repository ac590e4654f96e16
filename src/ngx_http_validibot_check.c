
/*
 * Copyright (C) The ngx_http_validibot_module authors
 */


#include <string.h>

#include "ngx_http_validibot_check.h"
#include "ngx_http_validibot_roles.h"


#define ngx_http_validibot_span_is(s, lit)                                   \
    ((s)->data != NULL && (s)->len == sizeof(lit) - 1                         \
     && memcmp((s)->data, lit, sizeof(lit) - 1) == 0)


static ngx_http_validibot_status_e ngx_http_validibot_refuse(
    ngx_http_validibot_check_t *chk, ngx_http_validibot_status_e status,
    const char *reason);
static uint32_t ngx_http_validibot_check_roles(
    const ngx_http_validibot_check_t *chk,
    const ngx_http_validibot_span_t *roles);


/* what a miss compares against: no stored digest is ever all 'x' */
static const unsigned char  ngx_http_validibot_dummy[] =
    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx";


static const char  *ngx_http_validibot_status_names[] = {
    "ok",
    "missing",
    "malformed",
    "invalid",
    "revoked",
    "expired",
    "user_inactive",
    "org_inactive",
    "not_member",
    "forbidden",
    "store_error",
    "throttled"
};

typedef char ngx_http_validibot_names_fit[
    (sizeof(ngx_http_validibot_status_names) / sizeof(char *)
     == NGX_HTTP_VALIDIBOT_NSTATUS) ? 1 : -1];

typedef char ngx_http_validibot_digest_fits[
    (NGX_HTTP_VALIDIBOT_DIGEST_HEX_LEN == 64
     && sizeof(ngx_http_validibot_dummy) == 65) ? 1 : -1];


ngx_http_validibot_status_e
ngx_http_validibot_check(ngx_http_validibot_check_t *chk,
    const ngx_http_validibot_record_t *rec)
{
    int                               equal;
    size_t                            i;
    int64_t                           version, t;
    uint32_t                          roles;
    const unsigned char              *stored;
    const ngx_http_validibot_hmac_t  *h;
    const ngx_http_validibot_span_t  *f;
    unsigned char                     computed[64];

    chk->roles = 0;
    chk->expires_at = 0;
    chk->reason = NULL;
    chk->secret_ok = 0;

    if (chk->nhmacs == 0) {
        return ngx_http_validibot_refuse(chk, NGX_HTTP_VALIDIBOT_INVALID,
                                         "no digest key for version");
    }

    f = rec->field;

    if (!rec->found) {

        /* the same work as a hit, so timing does not tell which ids exist */

        ngx_http_validibot_digest(&chk->hmacs[0], chk->key->format_version,
                                  chk->key->public_id,
                                  NGX_HTTP_VALIDIBOT_PUBLIC_ID_LEN,
                                  chk->key->secret,
                                  NGX_HTTP_VALIDIBOT_SECRET_LEN, computed);

        (void) ngx_http_validibot_digest_equal(computed,
                                               ngx_http_validibot_dummy,
                                           NGX_HTTP_VALIDIBOT_DIGEST_HEX_LEN);

        return ngx_http_validibot_refuse(chk, NGX_HTTP_VALIDIBOT_INVALID,
                                         "unknown key");
    }

    if (ngx_http_validibot_span_int(&f[NGX_HTTP_VALIDIBOT_F_DIGEST_VERSION],
                                    &version)
        != 0)
    {
        return ngx_http_validibot_refuse(chk, NGX_HTTP_VALIDIBOT_INVALID,
                                         "bad digest_version");
    }

    if (version == 0) {
        version = 1;
    }

    h = NULL;

    for (i = 0; i < chk->nhmacs; i++) {
        if ((int64_t) chk->hmacs[i].version == version) {
            h = &chk->hmacs[i];
            break;
        }
    }

    if (h == NULL) {
        return ngx_http_validibot_refuse(chk, NGX_HTTP_VALIDIBOT_INVALID,
                                         "no digest key for version");
    }

    if (!chk->verified) {
        ngx_http_validibot_digest(h, chk->key->format_version,
                                  chk->key->public_id,
                                  NGX_HTTP_VALIDIBOT_PUBLIC_ID_LEN,
                                  chk->key->secret,
                                  NGX_HTTP_VALIDIBOT_SECRET_LEN, computed);

        f = &rec->field[NGX_HTTP_VALIDIBOT_F_DIGEST];

        stored = (f->len == NGX_HTTP_VALIDIBOT_DIGEST_HEX_LEN)
                 ? f->data : ngx_http_validibot_dummy;

        equal = ngx_http_validibot_digest_equal(computed, stored,
                                            NGX_HTTP_VALIDIBOT_DIGEST_HEX_LEN);

        if (!equal || stored == ngx_http_validibot_dummy) {
            return ngx_http_validibot_refuse(chk, NGX_HTTP_VALIDIBOT_INVALID,
                                             "digest mismatch");
        }
    }

    chk->secret_ok = 1;

    f = rec->field;

    if (ngx_http_validibot_span_int(&f[NGX_HTTP_VALIDIBOT_F_REVOKED_AT], &t)
        != 0)
    {
        return ngx_http_validibot_refuse(chk, NGX_HTTP_VALIDIBOT_REVOKED,
                                         "bad revoked_at");
    }

    if (t != 0) {
        return ngx_http_validibot_refuse(chk, NGX_HTTP_VALIDIBOT_REVOKED,
                                         "revoked");
    }

    if (ngx_http_validibot_span_int(&f[NGX_HTTP_VALIDIBOT_F_EXPIRES_AT], &t)
        != 0)
    {
        return ngx_http_validibot_refuse(chk, NGX_HTTP_VALIDIBOT_EXPIRED,
                                         "bad expires_at");
    }

    /* t < 10^18, so only a huge positive leeway could overflow t + leeway */

    if (t != 0
        && (chk->leeway <= 0 || t <= INT64_MAX - chk->leeway)
        && chk->now >= t + chk->leeway)
    {
        return ngx_http_validibot_refuse(chk, NGX_HTTP_VALIDIBOT_EXPIRED,
                                         "expired");
    }

    chk->expires_at = t;

    /*
     * An expiry policy of the edge: a key older than max_age is expired
     * whatever its record says; one with no creation time is too old.
     */

    if (chk->max_age > 0) {
        if (ngx_http_validibot_span_int(&f[NGX_HTTP_VALIDIBOT_F_CREATED_AT],
                                        &t)
            != 0
            || t == 0)
        {
            return ngx_http_validibot_refuse(chk, NGX_HTTP_VALIDIBOT_EXPIRED,
                                             "no created_at for max key age");
        }

        if (t <= INT64_MAX - chk->max_age - (chk->leeway > 0 ? chk->leeway : 0)
            && chk->now >= t + chk->max_age + chk->leeway)
        {
            return ngx_http_validibot_refuse(chk, NGX_HTTP_VALIDIBOT_EXPIRED,
                                             "older than max key age");
        }
    }

    if (f[NGX_HTTP_VALIDIBOT_F_USER_ACTIVE].data == NULL) {
        return ngx_http_validibot_refuse(chk, NGX_HTTP_VALIDIBOT_USER_INACTIVE,
                                         "user missing");
    }

    if (!ngx_http_validibot_span_is(&f[NGX_HTTP_VALIDIBOT_F_USER_ACTIVE], "1"))
    {
        return ngx_http_validibot_refuse(chk, NGX_HTTP_VALIDIBOT_USER_INACTIVE,
                                         "user inactive");
    }

    if (!chk->org) {

        /* a role cannot be held outside an organization: fail closed */

        if (chk->nneed) {
            return ngx_http_validibot_refuse(chk, NGX_HTTP_VALIDIBOT_FORBIDDEN,
                                             "roles required without org");
        }

        chk->reason = "ok";
        return NGX_HTTP_VALIDIBOT_OK;
    }

    if (f[NGX_HTTP_VALIDIBOT_F_ORG_STATUS].data == NULL) {
        return ngx_http_validibot_refuse(chk, NGX_HTTP_VALIDIBOT_ORG_INACTIVE,
                                         "org missing");
    }

    if (!ngx_http_validibot_span_is(&f[NGX_HTTP_VALIDIBOT_F_ORG_STATUS],
                                    "active"))
    {
        return ngx_http_validibot_refuse(chk, NGX_HTTP_VALIDIBOT_ORG_INACTIVE,
                                         "org inactive");
    }

    if (chk->superusers
        && ngx_http_validibot_span_is(&f[NGX_HTTP_VALIDIBOT_F_USER_SUPERUSER],
                                      "1"))
    {
        /*
         * Validibot lets a superuser into every org and past every
         * permission check; the roles shown are the membership's, if any.
         */

        if (ngx_http_validibot_span_is(&f[NGX_HTTP_VALIDIBOT_F_MEMBER_ACTIVE],
                                       "1"))
        {
            chk->roles = ngx_http_validibot_check_roles(chk,
                                       &f[NGX_HTTP_VALIDIBOT_F_MEMBER_ROLES]);
        }

        chk->superuser = 1;
        chk->reason = "ok (superuser)";
        return NGX_HTTP_VALIDIBOT_OK;
    }

    if (f[NGX_HTTP_VALIDIBOT_F_MEMBER_ACTIVE].data == NULL) {
        return ngx_http_validibot_refuse(chk, NGX_HTTP_VALIDIBOT_NOT_MEMBER,
                                         "not a member");
    }

    if (!ngx_http_validibot_span_is(&f[NGX_HTTP_VALIDIBOT_F_MEMBER_ACTIVE],
                                    "1"))
    {
        return ngx_http_validibot_refuse(chk, NGX_HTTP_VALIDIBOT_NOT_MEMBER,
                                         "membership inactive");
    }

    roles = ngx_http_validibot_check_roles(chk,
                                       &f[NGX_HTTP_VALIDIBOT_F_MEMBER_ROLES]);

    /* set before the role check: validibot-token verify shows them */

    chk->roles = roles;

    for (i = 0; i < chk->nneed; i++) {
        if ((roles & chk->need[i]) == 0) {
            chk->reason = "role lacking";
            return NGX_HTTP_VALIDIBOT_FORBIDDEN;
        }
    }

    chk->reason = "ok";

    return NGX_HTTP_VALIDIBOT_OK;
}


const char *
ngx_http_validibot_status_name(ngx_http_validibot_status_e s)
{
    if ((unsigned) s >= NGX_HTTP_VALIDIBOT_NSTATUS) {
        return "unknown";
    }

    return ngx_http_validibot_status_names[s];
}


static ngx_http_validibot_status_e
ngx_http_validibot_refuse(ngx_http_validibot_check_t *chk,
    ngx_http_validibot_status_e status, const char *reason)
{
    chk->roles = 0;
    chk->reason = reason;

    return status;
}


/* a cache hit parsed the same field when its entry was stored */

static uint32_t
ngx_http_validibot_check_roles(const ngx_http_validibot_check_t *chk,
    const ngx_http_validibot_span_t *roles)
{
    if (chk->parsed_roles) {
        return *chk->parsed_roles;
    }

    return ngx_http_validibot_roles_parse(roles->data, roles->len);
}
