
/*
 * Copyright (C) The ngx_http_validibot_module authors
 *
 * Validibot roles and permissions as bit masks.  A membership holds a set
 * of roles; a required code (role or permission) is the set of roles that
 * satisfy it.  Pure functions.
 */


#ifndef _NGX_HTTP_VALIDIBOT_ROLES_H_INCLUDED_
#define _NGX_HTTP_VALIDIBOT_ROLES_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>


#define NGX_HTTP_VALIDIBOT_ROLE_OWNER                      0x01
#define NGX_HTTP_VALIDIBOT_ROLE_ADMIN                      0x02
#define NGX_HTTP_VALIDIBOT_ROLE_AUTHOR                     0x04
#define NGX_HTTP_VALIDIBOT_ROLE_EXECUTOR                   0x08
#define NGX_HTTP_VALIDIBOT_ROLE_ANALYTICS_VIEWER           0x10
#define NGX_HTTP_VALIDIBOT_ROLE_WORKFLOW_VIEWER            0x20
#define NGX_HTTP_VALIDIBOT_ROLE_VALIDATION_RESULTS_VIEWER  0x40

/* longest "owner,admin,..." with every role: for buffers */
#define NGX_HTTP_VALIDIBOT_ROLES_MAX_LEN                   128


/*
 * Maps a role code ("executor") or permission code ("workflow_launch"),
 * matched case-insensitively, to the mask of roles that satisfy it:
 * owner and admin satisfy every code except "owner".  0: unknown code.
 */
uint32_t ngx_http_validibot_code_mask(const unsigned char *code, size_t len);

/* 1 if the code names a role (not a permission), 0 otherwise */
int ngx_http_validibot_code_is_role(const unsigned char *code, size_t len);

/*
 * Parses a membership's "roles" field: comma-separated role codes, any
 * case, spaces around items ignored.  Unknown codes are skipped (a newer
 * Validibot may add roles); they grant nothing.
 */
uint32_t ngx_http_validibot_roles_parse(const unsigned char *p, size_t len);

/*
 * Walks a "roles" field: returns the next comma-separated item, trimmed of
 * spaces and tabs (its length, maybe 0, in *len), and moves *p past its
 * comma; NULL when the field is done.
 */
const unsigned char *ngx_http_validibot_roles_next(const unsigned char **p,
    const unsigned char *end, size_t *len);

/*
 * Writes the canonical comma-separated lowercase list of the roles in
 * "mask" (in the order of the constants above) to buf; returns its
 * length, or 0 when mask is empty.  buf needs
 * NGX_HTTP_VALIDIBOT_ROLES_MAX_LEN bytes.
 */
size_t ngx_http_validibot_roles_format(uint32_t mask, unsigned char *buf);


#endif /* _NGX_HTTP_VALIDIBOT_ROLES_H_INCLUDED_ */
