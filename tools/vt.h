
/*
 * Copyright (C) The ngx_http_validibot_module authors
 *
 * validibot-token: internal interfaces between the tool's files.  A
 * short-lived process: errors print one line and exit, memory is held
 * until exit.
 */


#ifndef _VT_H_INCLUDED_
#define _VT_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <hiredis/hiredis.h>

#include "ngx_http_validibot_digest.h"
#include "vt_opts.h"


#define VT_VERSION            "0.1.0"

/* exit codes, documented in docs/cli.md */
#define VT_EXIT_OK            0
#define VT_EXIT_NOT_FOUND     1       /* or: not usable, for verify */
#define VT_EXIT_USAGE         2
#define VT_EXIT_REDIS         3

#define VT_DEFAULT_URL        "redis://127.0.0.1:6379/0"
#define VT_DEFAULT_PREFIX     "validibot:"
#define VT_DEFAULT_LABEL      "Personal API key"
#define VT_DEFAULT_EXPIRES    (365 * 86400)
#define VT_DEFAULT_OVERLAP    (24 * 3600)

#define VT_MAX_DIGEST_KEYS    32
#define VT_MAX_TEXT           255     /* label, name, email */
#define VT_MAX_USER           128
#define VT_MAX_SLUG           100
#define VT_MAX_PREFIX         128     /* as validibot_redis_prefix */




typedef struct {
    unsigned      version;
    const char   *file;
} vt_dkey_t;


typedef struct vt_ctx_s  vt_ctx_t;

typedef int (*vt_handler_pt)(vt_ctx_t *ctx);


typedef struct {
    const char     *group;            /* "user", "org", "member",
                                         "assertion" or NULL */
    const char     *name;
    const char     *opts;             /* "user= label= purge": "=" takes
                                         a value */
    int             min_args;
    int             max_args;         /* -1: any number */
    vt_handler_pt   handler;
    const char     *synopsis;
    const char     *help;
} vt_command_t;


struct vt_ctx_s {
    /* global options */
    const char          *url;
    const char          *url_from;      /* "--redis" or the env name */
    const char          *prefix;
    unsigned             json;
    vt_dkey_t            dkeys[VT_MAX_DIGEST_KEYS];
    size_t               ndkeys;

    /* the command */
    const vt_command_t  *cmd;
    vt_opt_t             opts[VT_MAX_OPTS];
    size_t               nopts;
    char               **args;
    int                  nargs;

    /* Redis */
    redisContext        *rc;
    size_t               queued;        /* commands after MULTI */

    int64_t              now;
};


/* vt_util: errors, memory, text, time */
void vt_fail(int code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), noreturn));
void vt_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void *vt_alloc(size_t size);
char *vt_strdup(const char *s);
char *vt_strndup(const char *s, size_t len);
char *vt_sprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
const char *vt_cmd_name(void);

int vt_valid_user(const char *s);
int vt_valid_slug(const char *s);
int vt_valid_text(const char *s, size_t max);
int vt_valid_hex(const char *s, size_t len);
int vt_duration(const char *s, int64_t *seconds);
int vt_parse_time(const char *s, size_t len, int64_t *t);
char *vt_iso(int64_t t);
int vt_int_field(const char *s, int64_t *v);
char *vt_sanitize(const char *s);
char *vt_glob_escape(const char *s);
void vt_random_hex(char *out, size_t nbytes);
void vt_wipe(void *p, size_t len);
char *vt_read_line(size_t max);
unsigned char *vt_read_secret(const char *path, size_t max, size_t *len,
    const char *what);

const char *vt_opt(vt_ctx_t *ctx, const char *name);
int vt_flag(vt_ctx_t *ctx, const char *name);
size_t vt_opt_all(vt_ctx_t *ctx, const char *name, const char **out,
    size_t max);

const ngx_http_validibot_hmac_t *vt_digest_keys(vt_ctx_t *ctx, size_t *n,
    unsigned need_version);


/* vt_redis: a blocking connection, commands and transactions */

/* ends the argument lists of vt_cmd(), vt_append() and vt_queue() */
#define VT_END  ((const char *) NULL)

void vt_connect(vt_ctx_t *ctx);

/* vt_tls: rediss://, a connected descriptor for redisConnectFd() */
int vt_tls_connect(const char *host, unsigned port, const char *where,
    int timeout);
redisReply *vt_cmd(vt_ctx_t *ctx, const char *arg, ...)
    __attribute__((sentinel));
redisReply *vt_cmdv(vt_ctx_t *ctx, int argc, const char **argv);
void vt_append(vt_ctx_t *ctx, const char *arg, ...)
    __attribute__((sentinel));
void vt_appendv(vt_ctx_t *ctx, int argc, const char **argv);
redisReply *vt_read(vt_ctx_t *ctx);
void vt_multi(vt_ctx_t *ctx);
void vt_queue(vt_ctx_t *ctx, const char *arg, ...)
    __attribute__((sentinel));
void vt_queuev(vt_ctx_t *ctx, int argc, const char **argv);
int vt_exec(vt_ctx_t *ctx);
char **vt_scan(vt_ctx_t *ctx, const char *pattern, size_t *n);
const redisReply *vt_hash_get(const redisReply *r, const char *field);
const char *vt_hash_str(const redisReply *r, const char *field);
char *vt_key(vt_ctx_t *ctx, const char *kind, const char *a, const char *b);


/* vt_json: output, and one flat object per line for import */
typedef struct {
    FILE         *f;
    int           depth;
    int           first[32];
    int           after_key;
} vt_jw_t;

void vt_jw_init(vt_jw_t *j, FILE *f);
void vt_jw_obj(vt_jw_t *j);
void vt_jw_arr(vt_jw_t *j);
void vt_jw_end_obj(vt_jw_t *j);
void vt_jw_end_arr(vt_jw_t *j);
void vt_jw_key(vt_jw_t *j, const char *key);
void vt_jw_str(vt_jw_t *j, const char *s);
void vt_jw_strn(vt_jw_t *j, const char *s, size_t len);
void vt_jw_int(vt_jw_t *j, int64_t v);
void vt_jw_bool(vt_jw_t *j, int v);
void vt_jw_null(vt_jw_t *j);
void vt_jw_time(vt_jw_t *j, const char *raw);
void vt_jw_done(vt_jw_t *j);

typedef enum {
    VT_JSON_STRING,
    VT_JSON_NUMBER,
    VT_JSON_TRUE,
    VT_JSON_FALSE,
    VT_JSON_NULL,
    VT_JSON_OTHER             /* an object or an array */
} vt_json_type_e;

typedef struct {
    char            *name;
    vt_json_type_e   type;
    char            *value;   /* decoded string, or a number's text */
    size_t           len;
} vt_json_member_t;

const char *vt_json_object(const char *p, size_t len,
    vt_json_member_t **members, size_t *n);


/* the commands */
int vt_cmd_create(vt_ctx_t *ctx);
int vt_cmd_list(vt_ctx_t *ctx);
int vt_cmd_show(vt_ctx_t *ctx);
int vt_cmd_revoke(vt_ctx_t *ctx);
int vt_cmd_delete(vt_ctx_t *ctx);
int vt_cmd_rotate(vt_ctx_t *ctx);
int vt_cmd_verify(vt_ctx_t *ctx);
int vt_cmd_import(vt_ctx_t *ctx);
int vt_cmd_user_add(vt_ctx_t *ctx);
int vt_cmd_user_activate(vt_ctx_t *ctx);
int vt_cmd_user_deactivate(vt_ctx_t *ctx);
int vt_cmd_user_remove(vt_ctx_t *ctx);
int vt_cmd_user_show(vt_ctx_t *ctx);
int vt_cmd_org_add(vt_ctx_t *ctx);
int vt_cmd_org_suspend(vt_ctx_t *ctx);
int vt_cmd_org_activate(vt_ctx_t *ctx);
int vt_cmd_org_delete(vt_ctx_t *ctx);
int vt_cmd_org_show(vt_ctx_t *ctx);
int vt_cmd_member_grant(vt_ctx_t *ctx);
int vt_cmd_member_revoke(vt_ctx_t *ctx);
int vt_cmd_member_remove(vt_ctx_t *ctx);
int vt_cmd_member_list(vt_ctx_t *ctx);
int vt_cmd_assertion_verify(vt_ctx_t *ctx);


#endif /* _VT_H_INCLUDED_ */
