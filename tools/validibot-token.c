
/*
 * Copyright (C) The ngx_http_validibot_module authors
 *
 * validibot-token: the operator's tool for the keys, users, organizations
 * and memberships that ngx_http_validibot_module reads from Redis
 * (docs/redis-schema.md, docs/cli.md).  This file: the command line.
 */


#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vt.h"


static const vt_optdef_t  vt_optdefs[] = {
    { "redis", 1, 0, 1 },
    { "prefix", 1, 0, 1 },
    { "digest-key", 1, 1, 1 },
    { "json", 0, 0, 1 },
    { "help", 0, 0, 1 },
    { "version", 0, 0, 1 },
    { "user", 1, 0, 0 },
    { "label", 1, 0, 0 },
    { "expires", 1, 0, 0 },
    { "digest-version", 1, 0, 0 },
    { "overlap", 1, 0, 0 },
    { "org", 1, 0, 0 },
    { "require", 1, 1, 0 },
    { "jsonl", 1, 0, 0 },
    { "dry-run", 0, 0, 0 },
    { "email", 1, 0, 0 },
    { "name", 1, 0, 0 },
    { "purge", 0, 0, 0 },
    { "key", 1, 1, 0 },
    { "now", 1, 0, 0 },
    { "leeway", 1, 0, 0 },
    { "issuer", 1, 0, 0 },
    { "audience", 1, 0, 0 },
    { "method", 1, 0, 0 },
    { "path", 1, 0, 0 },
    { NULL, 0, 0, 0 }
};


static const vt_command_t  vt_commands[] = {

    { NULL, "create", "user label expires digest-version", 0, 0,
      vt_cmd_create,
      "create --user U [--label L] [--expires D|never] [--digest-version N]",
      "Makes a new key for user U from the kernel's CSPRNG and prints it\n"
      "once, on stdout; Redis keeps only its digest.  --label defaults to\n"
      "\"Personal API key\", --expires to 365d (\"never\": no expiry),\n"
      "--digest-version to 1 (its digest key must be given).\n" },

    { NULL, "list", "user", 0, 0, vt_cmd_list,
      "list [--user U]",
      "Lists keys (all, or user U's): public id, user, label, state,\n"
      "created, expires, revoked, last used.  Never a secret or digest.\n" },

    { NULL, "show", "", 1, 1, vt_cmd_show,
      "show PUBLIC_ID",
      "Shows one key's record (never its digest) and its user's state.\n" },

    { NULL, "revoke", "", 1, 1, vt_cmd_revoke,
      "revoke PUBLIC_ID",
      "Sets revoked_at: the module refuses the key from its next request.\n"
      "A key revoked already keeps its first revocation time.\n" },

    { NULL, "delete", "", 1, 1, vt_cmd_delete,
      "delete PUBLIC_ID",
      "Deletes the key's record (which also revokes it).\n" },

    { NULL, "rotate", "overlap expires digest-version", 1, 1, vt_cmd_rotate,
      "rotate PUBLIC_ID [--overlap D] [--expires D|never] "
      "[--digest-version N]",
      "Makes a new key for the same user and label (rotated_from: the old\n"
      "id), prints it once, and makes the old key expire after --overlap\n"
      "(default 24h; never later than it already would), so both work in\n"
      "the meantime.  --expires and --digest-version are the new key's,\n"
      "as for create.  A revoked or expired key cannot be rotated.\n" },

    { NULL, "verify", "org require", 0, 0, vt_cmd_verify,
      "verify [--org SLUG] [--require CODE[,CODE...]]...",
      "Reads a key from $VALIDIBOT_TOKEN, or else the first line of stdin,\n"
      "and checks it with the module's own rules and Redis script: exit 0\n"
      "when usable, 1 with the reason ($validibot_auth_status) when not.\n"
      "--org adds the organization and membership checks; each --require\n"
      "(role or permission codes, any of which will do) must also hold.\n"
      "Needs every digest key the module has.\n" },

    { NULL, "import", "jsonl dry-run", 0, 0, vt_cmd_import,
      "import --jsonl FILE [--dry-run]",
      "Loads key records exported from a Validibot database, one JSON\n"
      "object a line (\"-\": stdin): public_id, secret_digest,\n"
      "digest_version, user, label, created, expires_at, revoked_at\n"
      "(optional: last_used_at, rotated_from).  Every line is checked\n"
      "first; then all are written in one transaction, replacing records\n"
      "with the same public id.  --dry-run only checks.\n" },

    { "user", "add", "email name", 1, 1, vt_cmd_user_add,
      "user add U [--email E] [--name N]",
      "Adds user U, active.  For a user who exists, sets the given email\n"
      "and name and leaves is_active alone.\n" },

    { "user", "show", "", 1, 1, vt_cmd_user_show,
      "user show U",
      "Shows user U and the organizations U is a member of.\n" },

    { "user", "activate", "", 1, 1, vt_cmd_user_activate,
      "user activate U",
      "Sets is_active 1: U's keys work again.\n" },

    { "user", "deactivate", "", 1, 1, vt_cmd_user_deactivate,
      "user deactivate U",
      "Sets is_active 0: every key of U is refused from the next request.\n" },

    { "user", "remove", "", 1, 1, vt_cmd_user_remove,
      "user remove U",
      "Deletes user U, U's memberships and U's keys, in one transaction.\n" },

    { "org", "add", "name", 1, 1, vt_cmd_org_add,
      "org add SLUG [--name N]",
      "Adds an active organization.  For one that exists, sets the given\n"
      "name and leaves its status alone.\n" },

    { "org", "show", "", 1, 1, vt_cmd_org_show,
      "org show SLUG",
      "Shows an organization and its number of members.\n" },

    { "org", "suspend", "", 1, 1, vt_cmd_org_suspend,
      "org suspend SLUG",
      "Sets status suspended: requests for the organization get 403.\n" },

    { "org", "activate", "", 1, 1, vt_cmd_org_activate,
      "org activate SLUG",
      "Sets status active (also undoes org delete without --purge).\n" },

    { "org", "delete", "purge", 1, 1, vt_cmd_org_delete,
      "org delete SLUG [--purge]",
      "Sets status deleted (403, like a missing organization); the record\n"
      "and memberships stay, so org activate undoes it.  --purge deletes\n"
      "the record and every membership instead, in one transaction.\n" },

    { "member", "grant", "", 3, -1, vt_cmd_member_grant,
      "member grant ORG U ROLE...",
      "Adds roles to U's membership in ORG (made, active, if missing).\n"
      "Roles: owner, admin, author, executor, analytics_viewer,\n"
      "workflow_viewer, validation_results_viewer.  ORG and U must exist.\n" },

    { "member", "revoke", "", 3, -1, vt_cmd_member_revoke,
      "member revoke ORG U ROLE...",
      "Takes roles away; the membership stays (possibly with no role).\n" },

    { "member", "remove", "", 2, 2, vt_cmd_member_remove,
      "member remove ORG U",
      "Deletes U's membership in ORG.\n" },

    { "member", "list", "", 1, 1, vt_cmd_member_list,
      "member list ORG",
      "Lists ORG's members with their roles.\n" },

    { "assertion", "verify", "key now leeway issuer audience method path",
      0, 1, vt_cmd_assertion_verify,
      "assertion verify --key FILE... [--now T] [--leeway D] "
      "[--issuer S] [--audience S] [--method M] [--path P] [JWS]",
      "Checks a signed identity assertion (validibot_assertion) from the\n"
      "argument or the first line of stdin, with the module's own code:\n"
      "signature with the key whose kid it names (each --key FILE, kid\n"
      "from the file name as for validibot_assertion), iat and exp against\n"
      "--now (Unix seconds; default the clock) with --leeway (default\n"
      "30s), and each expected value given.  Prints the claims as JSON and\n"
      "exits 0, or the reason on stderr and exits 1.  Needs no Redis.\n" },

    { NULL, NULL, NULL, 0, 0, NULL, NULL, NULL }
};


static const char  vt_global_help[] =
    "Global options (anywhere on the line):\n"
    "  --redis URL           redis://[[user]:password@]host[:port][/db] or\n"
    "                        unix:/path[?db=N]; default $VALIDIBOT_REDIS_URL,"
    "\n"
    "                        else redis://127.0.0.1:6379/0\n"
    "  --prefix P            key prefix; default $VALIDIBOT_REDIS_PREFIX, "
    "else\n"
    "                        validibot:\n"
    "  --digest-key V=FILE   digest key version V, read from FILE "
    "(repeatable);\n"
    "                        $VALIDIBOT_DIGEST_KEY_FILE gives version 1\n"
    "  --json                machine-readable output on stdout\n"
    "  -h, --help            help for the tool or a command\n"
    "  --version             the tool's version\n"
    "\n"
    "Durations: 90d, 24h, 30m, 45s, 2w, or several (1d12h).\n"
    "Exit codes: 0 ok, 1 not found or not usable, 2 usage error, "
    "3 Redis error.\n";


const char  *vt_current_command;


static void
vt_usage(FILE *f)
{
    const char          *group;
    const vt_command_t  *c;

    fprintf(f, "Usage: validibot-token COMMAND [ARGUMENTS] [OPTIONS]\n\n"
            "Manages the API keys, users, organizations and memberships "
            "that\nngx_http_validibot_module reads from Redis.\n\n"
            "Keys:\n");

    group = NULL;

    for (c = vt_commands; c->name; c++) {
        if (c->group && (group == NULL || strcmp(c->group, group) != 0)) {
            group = c->group;
            fprintf(f, "%s:\n", strcmp(group, "user") == 0 ? "Users"
                                 : strcmp(group, "org") == 0 ? "Organizations"
                                 : strcmp(group, "member") == 0 ? "Memberships"
                                 : "Assertions");
        }

        fprintf(f, "  %s\n", c->synopsis);
    }

    fprintf(f, "\n%s\nRun 'validibot-token COMMAND --help' for a command; "
            "docs/cli.md has it all.\n", vt_global_help);
}


static void
vt_command_help(const vt_command_t *c)
{
    printf("Usage: validibot-token %s [GLOBAL OPTIONS]\n\n%s\n%s",
           c->synopsis, c->help, vt_global_help);
}


static void
vt_group_help(const char *group)
{
    const vt_command_t  *c;

    printf("Usage: validibot-token %s SUBCOMMAND ...\n\n", group);

    for (c = vt_commands; c->name; c++) {
        if (c->group && strcmp(c->group, group) == 0) {
            printf("  %s\n", c->synopsis);
        }
    }

    printf("\nRun 'validibot-token %s SUBCOMMAND --help' for one.\n", group);
}


static int
vt_is_group(const char *s)
{
    const vt_command_t  *c;

    for (c = vt_commands; c->name; c++) {
        if (c->group && strcmp(c->group, s) == 0) {
            return 1;
        }
    }

    return 0;
}


static const vt_command_t *
vt_find_command(const char *group, const char *name)
{
    const vt_command_t  *c;

    for (c = vt_commands; c->name; c++) {
        if (((group == NULL && c->group == NULL)
             || (group && c->group && strcmp(group, c->group) == 0))
            && strcmp(name, c->name) == 0)
        {
            return c;
        }
    }

    return NULL;
}


/* "user label expires" holds name as a word */

static int
vt_allows(const char *list, const char *name)
{
    size_t       len;
    const char  *p;

    len = strlen(name);

    for (p = list; (p = strstr(p, name)) != NULL; p += len) {
        if ((p == list || p[-1] == ' ') && (p[len] == ' ' || p[len] == '\0')) {
            return 1;
        }
    }

    return 0;
}


static const char *
vt_help_hint(const char *group, const char *name)
{
    if (group && name) {
        return vt_sprintf(" (see validibot-token %s %s --help)", group, name);
    }

    if (name) {
        return vt_sprintf(" (see validibot-token %s --help)", name);
    }

    return " (see validibot-token --help)";
}


static void
vt_global_options(vt_ctx_t *ctx)
{
    size_t        i, j;
    char         *end;
    const char   *v, *eq, *env;
    unsigned long version;

    ctx->url = vt_opt(ctx, "redis");
    ctx->url_from = "--redis";

    if (ctx->url == NULL) {
        env = getenv("VALIDIBOT_REDIS_URL");

        if (env && *env) {
            ctx->url = env;
            ctx->url_from = "VALIDIBOT_REDIS_URL";

        } else {
            ctx->url = VT_DEFAULT_URL;
            ctx->url_from = "the default URL";
        }
    }

    ctx->prefix = vt_opt(ctx, "prefix");

    if (ctx->prefix == NULL) {
        env = getenv("VALIDIBOT_REDIS_PREFIX");
        ctx->prefix = env ? env : VT_DEFAULT_PREFIX;
    }

    /* validibot_redis_prefix's rule, so both can name the same keys */

    if (!vt_valid_text(ctx->prefix, VT_MAX_PREFIX)
        || strchr(ctx->prefix, ' ') != NULL)
    {
        vt_fail(VT_EXIT_USAGE, "bad prefix: at most %d bytes, no spaces or "
                "control characters", VT_MAX_PREFIX);
    }

    ctx->json = vt_flag(ctx, "json");

    for (i = 0; i < ctx->nopts; i++) {
        if (strcmp(ctx->opts[i].name, "digest-key") != 0) {
            continue;
        }

        v = ctx->opts[i].value;
        eq = strchr(v, '=');

        if (eq == NULL || eq == v || eq[1] == '\0' || *v < '1' || *v > '9') {
            vt_fail(VT_EXIT_USAGE, "bad --digest-key \"%s\": expected "
                    "VERSION=FILE, VERSION >= 1", v);
        }

        version = strtoul(v, &end, 10);

        if (end != eq || version > 1000000) {
            vt_fail(VT_EXIT_USAGE, "bad --digest-key \"%s\": expected "
                    "VERSION=FILE, VERSION from 1 to 1000000", v);
        }

        for (j = 0; j < ctx->ndkeys; j++) {
            if (ctx->dkeys[j].version == version) {
                vt_fail(VT_EXIT_USAGE, "--digest-key: version %lu given "
                        "twice", version);
            }
        }

        if (ctx->ndkeys == VT_MAX_DIGEST_KEYS) {
            vt_fail(VT_EXIT_USAGE, "--digest-key: at most %d keys",
                    VT_MAX_DIGEST_KEYS);
        }

        ctx->dkeys[ctx->ndkeys].version = (unsigned) version;
        ctx->dkeys[ctx->ndkeys].file = eq + 1;
        ctx->ndkeys++;
    }
}


int
main(int argc, char **argv)
{
    int                  npos, rc;
    size_t               j;
    char               **pos;
    const char          *group, *name, *unknown;
    vt_ctx_t             ctx;
    vt_args_t           *args;
    const vt_optdef_t   *d;
    const vt_command_t  *c;

    memset(&ctx, 0, sizeof(vt_ctx_t));
    ctx.now = (int64_t) time(NULL);

    args = vt_alloc(sizeof(vt_args_t));
    args->pos = vt_alloc((argc + 1) * sizeof(char *));

    if (vt_args_parse(vt_optdefs, argc, argv, args) != 0) {
        vt_fail(VT_EXIT_USAGE, "%s", args->err);
    }

    /* an unknown option is reported once the command is known */

    unknown = args->unknown ? vt_strndup(args->unknown, args->unknown_len)
                            : NULL;
    memcpy(ctx.opts, args->opts, args->nopts * sizeof(vt_opt_t));
    ctx.nopts = args->nopts;
    pos = args->pos;
    npos = args->npos;

    /* "help", "help create", "help user add" */

    if (npos > 0 && strcmp(pos[0], "help") == 0) {
        pos++;
        npos--;

        if (npos == 0) {
            vt_usage(stdout);
            return VT_EXIT_OK;
        }

        if (ctx.nopts == VT_MAX_OPTS) {
            vt_fail(VT_EXIT_USAGE, "too many options");
        }

        ctx.opts[ctx.nopts].name = "help";
        ctx.opts[ctx.nopts++].value = NULL;
    }

    if (npos == 0) {
        if (unknown) {
            vt_fail(VT_EXIT_USAGE, "unknown option %s%s", unknown,
                    vt_help_hint(NULL, NULL));
        }

        if (vt_flag(&ctx, "version")) {
            printf("validibot-token %s\n", VT_VERSION);
            return VT_EXIT_OK;
        }

        if (vt_flag(&ctx, "help")) {
            vt_usage(stdout);
            return VT_EXIT_OK;
        }

        vt_usage(stderr);
        return VT_EXIT_USAGE;
    }

    group = NULL;
    name = pos[0];
    npos--;
    pos++;

    if (vt_is_group(name)) {
        group = name;

        if (npos == 0) {
            if (unknown) {
                vt_fail(VT_EXIT_USAGE, "unknown option %s%s", unknown,
                        vt_help_hint(NULL, group));
            }

            if (vt_flag(&ctx, "help")) {
                vt_group_help(group);
                return VT_EXIT_OK;
            }

            vt_fail(VT_EXIT_USAGE, "%s: missing subcommand%s", group,
                    vt_help_hint(NULL, group));
        }

        name = pos[0];
        npos--;
        pos++;
    }

    c = vt_find_command(group, name);

    if (c == NULL) {
        if (unknown) {
            vt_fail(VT_EXIT_USAGE, "unknown option %s%s", unknown,
                    vt_help_hint(NULL, group));
        }

        if (group) {
            vt_fail(VT_EXIT_USAGE, "%s: unknown subcommand \"%s\"%s", group,
                    name, vt_help_hint(NULL, group));
        }

        vt_fail(VT_EXIT_USAGE, "unknown command \"%s\"%s", name,
                vt_help_hint(NULL, NULL));
    }

    vt_current_command = group ? vt_sprintf("%s %s", group, name) : name;

    if (unknown) {
        vt_fail(VT_EXIT_USAGE, "unknown option %s%s", unknown,
                vt_help_hint(group, name));
    }

    if (vt_flag(&ctx, "help")) {
        vt_command_help(c);
        return VT_EXIT_OK;
    }

    for (j = 0; j < ctx.nopts; j++) {
        for (d = vt_optdefs; d->name != ctx.opts[j].name; d++) {
            /* void */
        }

        if (!d->global && !vt_allows(c->opts, d->name)) {
            vt_fail(VT_EXIT_USAGE, "unknown option --%s%s", d->name,
                    vt_help_hint(group, name));
        }
    }

    if (npos < c->min_args) {
        vt_fail(VT_EXIT_USAGE, "missing argument: %s%s", c->synopsis,
                vt_help_hint(group, name));
    }

    if (c->max_args >= 0 && npos > c->max_args) {
        vt_fail(VT_EXIT_USAGE, "unexpected argument \"%s\"%s",
                pos[c->max_args], vt_help_hint(group, name));
    }

    ctx.cmd = c;
    ctx.args = pos;
    ctx.nargs = npos;

    vt_global_options(&ctx);

    rc = c->handler(&ctx);

    if (fflush(stdout) != 0 || ferror(stdout)) {
        vt_fail(VT_EXIT_REDIS, "cannot write output");
    }

    return rc;
}
