
/*
 * Copyright (C) The ngx_http_validibot_module authors
 */


#include <string.h>

#include "ngx_http_validibot_roles.h"


#define OWNER     NGX_HTTP_VALIDIBOT_ROLE_OWNER
#define ADMIN     NGX_HTTP_VALIDIBOT_ROLE_ADMIN
#define AUTHOR    NGX_HTTP_VALIDIBOT_ROLE_AUTHOR
#define EXECUTOR  NGX_HTTP_VALIDIBOT_ROLE_EXECUTOR
#define ANALYTICS_VIEWER                                                     \
    NGX_HTTP_VALIDIBOT_ROLE_ANALYTICS_VIEWER
#define WORKFLOW_VIEWER                                                      \
    NGX_HTTP_VALIDIBOT_ROLE_WORKFLOW_VIEWER
#define VALIDATION_RESULTS_VIEWER                                            \
    NGX_HTTP_VALIDIBOT_ROLE_VALIDATION_RESULTS_VIEWER


typedef struct {
    const char  *name;
    size_t       len;
    uint32_t     role;      /* the role itself; 0 for a permission */
    uint32_t     mask;      /* roles that satisfy the code */
} ngx_http_validibot_code_t;


#define ngx_http_validibot_code(n, role, mask)  { n, sizeof(n) - 1, role, mask }


/*
 * Validibot 0.14 users/constants.py and permissions.py.  The roles come
 * first and in bit order: roles_format() walks them.
 */
static const ngx_http_validibot_code_t  ngx_http_validibot_codes[] = {

    ngx_http_validibot_code("owner", OWNER, OWNER),
    ngx_http_validibot_code("admin", ADMIN, ADMIN|OWNER),
    ngx_http_validibot_code("author", AUTHOR, AUTHOR|ADMIN|OWNER),
    ngx_http_validibot_code("executor", EXECUTOR, EXECUTOR|ADMIN|OWNER),
    ngx_http_validibot_code("analytics_viewer", ANALYTICS_VIEWER,
                            ANALYTICS_VIEWER|ADMIN|OWNER),
    ngx_http_validibot_code("workflow_viewer", WORKFLOW_VIEWER,
                            WORKFLOW_VIEWER|ADMIN|OWNER),
    ngx_http_validibot_code("validation_results_viewer",
                            VALIDATION_RESULTS_VIEWER,
                            VALIDATION_RESULTS_VIEWER|ADMIN|OWNER),

    ngx_http_validibot_code("workflow_launch", 0, EXECUTOR|ADMIN|OWNER),
    ngx_http_validibot_code("workflow_view", 0,
                            OWNER|ADMIN|AUTHOR|EXECUTOR|WORKFLOW_VIEWER
                            |VALIDATION_RESULTS_VIEWER),
    ngx_http_validibot_code("workflow_edit", 0, AUTHOR|ADMIN|OWNER),
    ngx_http_validibot_code("validator_view", 0, AUTHOR|ADMIN|OWNER),
    ngx_http_validibot_code("validator_edit", 0, AUTHOR|ADMIN|OWNER),
    ngx_http_validibot_code("guest_invite", 0, AUTHOR|ADMIN|OWNER),
    ngx_http_validibot_code("validation_results_view_all", 0,
                            VALIDATION_RESULTS_VIEWER|AUTHOR|ADMIN|OWNER),
    ngx_http_validibot_code("validation_results_view_own", 0,
                            VALIDATION_RESULTS_VIEWER|EXECUTOR|AUTHOR|ADMIN
                            |OWNER),
    ngx_http_validibot_code("analytics_view", 0,
                            ANALYTICS_VIEWER|AUTHOR|ADMIN|OWNER),
    ngx_http_validibot_code("analytics_review", 0,
                            ANALYTICS_VIEWER|AUTHOR|ADMIN|OWNER),
    ngx_http_validibot_code("admin_manage_org", 0, ADMIN|OWNER)
};

#define NGX_HTTP_VALIDIBOT_NCODES                                            \
    (sizeof(ngx_http_validibot_codes) / sizeof(ngx_http_validibot_code_t))


static const ngx_http_validibot_code_t *ngx_http_validibot_code_find(
    const unsigned char *code, size_t len);


uint32_t
ngx_http_validibot_code_mask(const unsigned char *code, size_t len)
{
    const ngx_http_validibot_code_t  *c;

    c = ngx_http_validibot_code_find(code, len);

    return c ? c->mask : 0;
}


int
ngx_http_validibot_code_is_role(const unsigned char *code, size_t len)
{
    const ngx_http_validibot_code_t  *c;

    c = ngx_http_validibot_code_find(code, len);

    return c && c->role;
}


const unsigned char *
ngx_http_validibot_roles_next(const unsigned char **pp,
    const unsigned char *end, size_t *len)
{
    const unsigned char  *p, *item, *last;

    p = *pp;

    if (p == NULL || p >= end) {
        return NULL;
    }

    item = p;

    while (p < end && *p != ',') {
        p++;
    }

    last = p;

    while (item < last && (*item == ' ' || *item == '\t')) {
        item++;
    }

    while (last > item && (last[-1] == ' ' || last[-1] == '\t')) {
        last--;
    }

    /* past the comma; one past the end stops the next call */
    *pp = p + 1;
    *len = last - item;

    return item;
}


uint32_t
ngx_http_validibot_roles_parse(const unsigned char *p, size_t len)
{
    size_t                            n;
    uint32_t                          roles;
    const unsigned char              *end, *item;
    const ngx_http_validibot_code_t  *c;

    if (p == NULL) {
        return 0;
    }

    roles = 0;
    end = p + len;

    while ((item = ngx_http_validibot_roles_next(&p, end, &n)) != NULL) {

        /* a permission code in a membership grants nothing: role is 0 */

        c = ngx_http_validibot_code_find(item, n);
        if (c) {
            roles |= c->role;
        }
    }

    return roles;
}


size_t
ngx_http_validibot_roles_format(uint32_t mask, unsigned char *buf)
{
    size_t          i;
    unsigned char  *p;

    p = buf;

    for (i = 0; i < NGX_HTTP_VALIDIBOT_NCODES; i++) {
        if (ngx_http_validibot_codes[i].role == 0) {
            break;
        }

        if (!(mask & ngx_http_validibot_codes[i].role)) {
            continue;
        }

        if (p != buf) {
            *p++ = ',';
        }

        memcpy(p, ngx_http_validibot_codes[i].name,
               ngx_http_validibot_codes[i].len);
        p += ngx_http_validibot_codes[i].len;
    }

    return p - buf;
}


static const ngx_http_validibot_code_t *
ngx_http_validibot_code_find(const unsigned char *code, size_t len)
{
    size_t                            i, j;
    unsigned char                     c;
    const ngx_http_validibot_code_t  *e;

    if (code == NULL) {
        return NULL;
    }

    for (i = 0; i < NGX_HTTP_VALIDIBOT_NCODES; i++) {
        e = &ngx_http_validibot_codes[i];

        if (e->len != len) {
            continue;
        }

        for (j = 0; j < len; j++) {
            c = code[j];

            if (c >= 'A' && c <= 'Z') {
                c |= 0x20;
            }

            if (c != (unsigned char) e->name[j]) {
                break;
            }
        }

        if (j == len) {
            return e;
        }
    }

    return NULL;
}
