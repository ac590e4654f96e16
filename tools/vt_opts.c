
/*
 * Copyright (C) The ngx_http_validibot_module authors
 *
 * The command-line parser validibot-token and validibot-sync share
 * (vt_opts.h).
 */


#include <stdio.h>
#include <string.h>

#include "vt_opts.h"


const vt_optdef_t *
vt_args_def(const vt_optdef_t *defs, const char *name, size_t len)
{
    const vt_optdef_t  *d;

    for (d = defs; d->name; d++) {
        if (strlen(d->name) == len && memcmp(d->name, name, len) == 0) {
            return d;
        }
    }

    return NULL;
}


/*
 * Every option has the same arity wherever it appears, so one pass needs
 * no command.  An unknown option is remembered, not refused: the caller
 * says so once it knows which help to point at.
 */
int
vt_args_parse(const vt_optdef_t *defs, int argc, char **argv,
    vt_args_t *args)
{
    int                 i, dashdash;
    size_t              j, len;
    const char         *a, *eq;
    const vt_optdef_t  *d;

    args->nopts = 0;
    args->npos = 0;
    args->unknown = NULL;
    args->unknown_len = 0;
    args->err[0] = '\0';
    dashdash = 0;

    for (i = 1; i < argc; i++) {
        a = argv[i];

        if (dashdash || a[0] != '-' || a[1] == '\0') {
            args->pos[args->npos++] = argv[i];
            continue;
        }

        if (strcmp(a, "--") == 0) {
            dashdash = 1;
            continue;
        }

        if (strcmp(a, "-h") == 0) {
            a = "--help";
        }

        eq = (a[1] == '-') ? strchr(a + 2, '=') : NULL;
        len = eq ? (size_t) (eq - (a + 2)) : strlen(a + 2);

        d = (a[1] == '-') ? vt_args_def(defs, a + 2, len) : NULL;

        if (d == NULL) {
            if (args->unknown == NULL) {
                args->unknown = a;
                args->unknown_len = eq ? (size_t) (eq - a) : strlen(a);
            }

            continue;
        }

        if (args->nopts == VT_MAX_OPTS) {
            snprintf(args->err, sizeof(args->err), "too many options");
            return -1;
        }

        args->opts[args->nopts].name = d->name;
        args->opts[args->nopts].value = NULL;

        if (d->value) {
            if (eq) {
                args->opts[args->nopts].value = eq + 1;

            } else if (i + 1 < argc) {
                args->opts[args->nopts].value = argv[++i];

            } else {
                snprintf(args->err, sizeof(args->err), "--%s needs a value",
                         d->name);
                return -1;
            }

        } else if (eq) {
            snprintf(args->err, sizeof(args->err), "--%s takes no value",
                     d->name);
            return -1;
        }

        if (!d->repeat) {
            for (j = 0; j < args->nopts; j++) {
                if (args->opts[j].name == d->name) {
                    snprintf(args->err, sizeof(args->err),
                             "--%s given twice", d->name);
                    return -1;
                }
            }
        }

        args->nopts++;
    }

    return 0;
}
