
/*
 * Copyright (C) The ngx_http_validibot_module authors
 *
 * The command-line parser validibot-token and validibot-sync share: one
 * pass, "--name value" or "--name=value", "-h" for "--help", "--" ends
 * the options.  It exits nowhere: errors come back as text.
 */


#ifndef _VT_OPTS_H_INCLUDED_
#define _VT_OPTS_H_INCLUDED_


#include <stddef.h>


#define VT_MAX_OPTS           64


typedef struct {
    const char   *name;               /* without "--" */
    unsigned      value:1;            /* takes a value */
    unsigned      repeat:1;           /* may be given more than once */
    unsigned      global:1;           /* validibot-token: every command */
} vt_optdef_t;


typedef struct {
    const char   *name;               /* the definition's name */
    const char   *value;              /* NULL for a flag */
} vt_opt_t;


typedef struct {
    vt_opt_t      opts[VT_MAX_OPTS];
    size_t        nopts;
    char        **pos;                /* the other words, argc entries */
    int           npos;
    const char   *unknown;            /* the first unknown option, as */
    size_t        unknown_len;        /* given, without any "=value" */
    char          err[96];
} vt_args_t;


/* 0, or -1 with the reason in args->err; "pos" is the caller's */
int vt_args_parse(const vt_optdef_t *defs, int argc, char **argv,
    vt_args_t *args);
const vt_optdef_t *vt_args_def(const vt_optdef_t *defs, const char *name,
    size_t len);


#endif /* _VT_OPTS_H_INCLUDED_ */
