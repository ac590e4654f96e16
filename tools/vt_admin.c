
/*
 * Copyright (C) The ngx_http_validibot_module authors
 *
 * validibot-token: users, organizations and memberships.
 */


#include <string.h>

#include "vt.h"
#include "ngx_http_validibot_roles.h"


#define VT_ATTEMPTS  16
#define VT_MAX_ROLE_TOKENS  64


typedef struct {
    const char  *org;
    const char  *user;
    const char  *key;
    redisReply  *h;
} vt_member_t;


/* arguments */

static const char *
vt_user_arg(const char *s)
{
    if (!vt_valid_user(s)) {
        vt_fail(VT_EXIT_USAGE, "bad user id \"%s\": 1 to %d letters, digits "
                "or \"_-.@+\"", vt_sanitize(s), VT_MAX_USER);
    }

    return s;
}


static const char *
vt_slug_arg(const char *s)
{
    if (!vt_valid_slug(s)) {
        vt_fail(VT_EXIT_USAGE, "bad organization slug \"%s\": 1 to %d "
                "letters, digits, \"_\" or \"-\"", vt_sanitize(s),
                VT_MAX_SLUG);
    }

    return s;
}


static const char *
vt_text_opt(vt_ctx_t *ctx, const char *name)
{
    const char  *s;

    s = vt_opt(ctx, name);

    if (s && !vt_valid_text(s, VT_MAX_TEXT)) {
        vt_fail(VT_EXIT_USAGE, "bad --%s: at most %d bytes, no control "
                "characters", name, VT_MAX_TEXT);
    }

    return s;
}


static void
vt_gave_up(void)
{
    vt_fail(VT_EXIT_REDIS, "the record kept changing; gave up after %d "
            "attempts", VT_ATTEMPTS);
}


static int
vt_exists(vt_ctx_t *ctx, const char *key)
{
    redisReply  *r;

    r = vt_cmd(ctx, "EXISTS", key, VT_END);

    return r->type == REDIS_REPLY_INTEGER && r->integer != 0;
}


/* role lists */

/*
 * The items of a stored "roles" field, trimmed as the module trims them;
 * bits of the known roles into *mask, every item into tokens.
 */

static size_t
vt_role_tokens(const char *s, uint32_t *mask, const char **tokens,
    size_t max)
{
    size_t                n, len;
    const unsigned char  *p, *end, *item;

    *mask = 0;
    n = 0;

    if (s == NULL) {
        return 0;
    }

    p = (const unsigned char *) s;
    end = p + strlen(s);

    while ((item = ngx_http_validibot_roles_next(&p, end, &len)) != NULL) {

        if (len == 0) {
            continue;
        }

        *mask |= ngx_http_validibot_roles_parse(item, len);

        if (n < max) {
            tokens[n++] = vt_strndup((const char *) item, len);
        }
    }

    return n;
}


/*
 * The new "roles" value: the known roles in canonical order, then any
 * item this version does not know, kept as it was (a newer Validibot's
 * role must survive a grant made with an older tool).
 */

static char *
vt_roles_value(const char *stored, uint32_t add, uint32_t del)
{
    char         buf[NGX_HTTP_VALIDIBOT_ROLES_MAX_LEN + 1], *out;
    size_t       i, n, len;
    uint32_t     mask;
    const char  *tokens[VT_MAX_ROLE_TOKENS];

    n = vt_role_tokens(stored, &mask, tokens, VT_MAX_ROLE_TOKENS);

    mask = (mask | add) & ~del;

    len = ngx_http_validibot_roles_format(mask, (unsigned char *) buf);
    buf[len] = '\0';

    out = vt_strdup(buf);

    for (i = 0; i < n; i++) {
        if (ngx_http_validibot_roles_parse((const unsigned char *) tokens[i],
                                           strlen(tokens[i]))
            == 0)
        {
            out = *out ? vt_sprintf("%s,%s", out, tokens[i])
                       : vt_strdup(tokens[i]);
        }
    }

    return out;
}


/* ROLE... arguments: roles only, comma-separated lists allowed */

static uint32_t
vt_role_args(char **args, int n)
{
    int        i;
    char      *list, *code, *save;
    uint32_t   mask;

    mask = 0;

    for (i = 0; i < n; i++) {
        list = vt_strdup(args[i]);

        for (code = strtok_r(list, ",", &save); code;
             code = strtok_r(NULL, ",", &save))
        {
            if (ngx_http_validibot_code_is_role((unsigned char *) code,
                                                strlen(code)))
            {
                mask |= ngx_http_validibot_roles_parse((unsigned char *) code,
                                                       strlen(code));
                continue;
            }

            if (ngx_http_validibot_code_mask((unsigned char *) code,
                                             strlen(code)))
            {
                vt_fail(VT_EXIT_USAGE, "\"%s\" is a permission, not a role; "
                        "roles: owner, admin, author, executor, "
                        "analytics_viewer, workflow_viewer, "
                        "validation_results_viewer", vt_sanitize(code));
            }

            vt_fail(VT_EXIT_USAGE, "unknown role code \"%s\"; roles: owner, "
                    "admin, author, executor, analytics_viewer, "
                    "workflow_viewer, validation_results_viewer",
                    vt_sanitize(code));
        }
    }

    if (mask == 0) {
        vt_fail(VT_EXIT_USAGE, "no role given");
    }

    return mask;
}


static void
vt_roles_json(vt_jw_t *j, const char *stored)
{
    size_t       i, n;
    uint32_t     mask;
    const char  *tokens[VT_MAX_ROLE_TOKENS];

    n = vt_role_tokens(stored, &mask, tokens, VT_MAX_ROLE_TOKENS);

    vt_jw_arr(j);

    for (i = 0; i < n; i++) {
        vt_jw_str(j, tokens[i]);
    }

    vt_jw_end_arr(j);
}


static int
vt_is_one(const char *s)
{
    return s && strcmp(s, "1") == 0;
}


/* memberships found by SCAN: of one org (user NULL) or of one user */

static int
vt_member_cmp(const void *a, const void *b)
{
    const vt_member_t  *x = a, *y = b;
    int                 c;

    c = strcmp(x->org, y->org);

    return c ? c : strcmp(x->user, y->user);
}


static vt_member_t *
vt_members(vt_ctx_t *ctx, const char *org, const char *user, size_t *nm,
    int fetch)
{
    size_t        i, n, k, skip, ulen;
    char        **names, *name, *sep;
    const char   *pattern;
    vt_member_t  *m;

    if (org) {
        pattern = vt_sprintf("%smember:%s:*", vt_glob_escape(ctx->prefix),
                             vt_glob_escape(org));

    } else {
        pattern = vt_sprintf("%smember:*:%s", vt_glob_escape(ctx->prefix),
                             vt_glob_escape(user));
    }

    names = vt_scan(ctx, pattern, &n);

    skip = strlen(ctx->prefix) + sizeof("member:") - 1;
    m = vt_alloc((n + 1) * sizeof(vt_member_t));

    for (i = 0, k = 0; i < n; i++) {
        name = vt_strdup(names[i] + skip);

        if (org) {
            m[k].org = org;
            m[k].user = name + strlen(org) + 1;

        } else {
            /* "<org>:<user>": the org is what comes before ":<user>" */
            ulen = strlen(user);

            if (strlen(name) < ulen + 2) {
                continue;
            }

            sep = name + strlen(name) - ulen - 1;
            *sep = '\0';
            m[k].org = name;
            m[k].user = user;
        }

        m[k].key = names[i];
        k++;
    }

    if (fetch) {
        for (i = 0; i < k; i++) {
            vt_append(ctx, "HGETALL", m[i].key, VT_END);
        }

        for (i = 0; i < k; i++) {
            m[i].h = vt_read(ctx);
        }
    }

    qsort(m, k, sizeof(vt_member_t), vt_member_cmp);

    *nm = k;

    return m;
}


/* records: users and organizations */

/* HGETALL of a record that must exist; what and id name it for the error */

static redisReply *
vt_record_get(vt_ctx_t *ctx, const char *key, const char *what,
    const char *id)
{
    redisReply  *h;

    h = vt_cmd(ctx, "HGETALL", key, VT_END);

    if (h->type != REDIS_REPLY_ARRAY || h->elements == 0) {
        vt_fail(VT_EXIT_NOT_FOUND, "no such %s %s", what, id);
    }

    return h;
}


/*
 * "add": HSETs the fields given (name, value pairs up to a NULL name; a
 * NULL value was not given) and, on a new record only, state = initial:
 * an existing record keeps its state.  Returns whether it existed.
 */

static int
vt_record_add(vt_ctx_t *ctx, const char *key, const char *state,
    const char *initial, const char **fields)
{
    int           attempt, existed, argc;
    size_t        i;
    const char  **argv;

    for (i = 0; fields[i]; i += 2) { /* void */ }

    argv = vt_alloc((i + 4) * sizeof(const char *));

    for (attempt = 0; attempt < VT_ATTEMPTS; attempt++) {
        vt_cmd(ctx, "WATCH", key, VT_END);

        existed = vt_exists(ctx, key);

        argc = 0;
        argv[argc++] = "HSET";
        argv[argc++] = key;

        if (!existed) {
            argv[argc++] = state;
            argv[argc++] = initial;
        }

        for (i = 0; fields[i]; i += 2) {
            if (fields[i + 1]) {
                argv[argc++] = fields[i];
                argv[argc++] = fields[i + 1];
            }
        }

        /* an existing record and no field given: nothing to write */

        if (argc == 2) {
            vt_cmd(ctx, "UNWATCH", VT_END);
            break;
        }

        vt_multi(ctx);
        vt_queuev(ctx, argc, argv);

        if (vt_exec(ctx) == 0) {
            break;
        }
    }

    if (attempt == VT_ATTEMPTS) {
        vt_gave_up();
    }

    return existed;
}


/*
 * Sets one field of an existing record.  The key is WATCHed: an HSET
 * after the record was removed would make it again with this field only.
 */

static void
vt_record_set(vt_ctx_t *ctx, const char *key, const char *field,
    const char *value, const char *what, const char *id)
{
    int  attempt;

    for (attempt = 0; attempt < VT_ATTEMPTS; attempt++) {
        vt_cmd(ctx, "WATCH", key, VT_END);

        if (!vt_exists(ctx, key)) {
            vt_fail(VT_EXIT_NOT_FOUND, "no such %s %s", what, id);
        }

        vt_multi(ctx);
        vt_queue(ctx, "HSET", key, field, value, VT_END);

        if (vt_exec(ctx) == 0) {
            break;
        }
    }

    if (attempt == VT_ATTEMPTS) {
        vt_gave_up();
    }
}


/*
 * One transaction deleting the record at key (WATCHed already), its
 * memberships and the keys of more, each WATCHed first so that a change
 * meanwhile starts it again.  Returns as vt_exec().
 */

static int
vt_record_purge(vt_ctx_t *ctx, const char *key, const vt_member_t *m,
    size_t nm, const char **more, size_t nmore)
{
    size_t  i;

    for (i = 0; i < nm; i++) {
        vt_cmd(ctx, "WATCH", m[i].key, VT_END);
    }

    for (i = 0; i < nmore; i++) {
        vt_cmd(ctx, "WATCH", more[i], VT_END);
    }

    vt_multi(ctx);
    vt_queue(ctx, "DEL", key, VT_END);

    for (i = 0; i < nm; i++) {
        vt_queue(ctx, "DEL", m[i].key, VT_END);
    }

    for (i = 0; i < nmore; i++) {
        vt_queue(ctx, "DEL", more[i], VT_END);
    }

    return vt_exec(ctx);
}


/* users */

static void
vt_user_json(vt_jw_t *j, const char *user, const redisReply *h)
{
    vt_jw_key(j, "user");
    vt_jw_str(j, user);
    vt_jw_key(j, "is_active");
    vt_jw_bool(j, vt_is_one(vt_hash_str(h, "is_active")));
    vt_jw_key(j, "email");
    vt_jw_str(j, vt_hash_str(h, "email"));
    vt_jw_key(j, "name");
    vt_jw_str(j, vt_hash_str(h, "name"));
}


int
vt_cmd_user_add(vt_ctx_t *ctx)
{
    int          existed;
    const char  *user, *email, *name, *key, *fields[5];
    redisReply  *h;
    vt_jw_t      j;

    user = vt_user_arg(ctx->args[0]);
    email = vt_text_opt(ctx, "email");
    name = vt_text_opt(ctx, "name");
    key = vt_key(ctx, "user", user, NULL);

    fields[0] = "email";
    fields[1] = email;
    fields[2] = "name";
    fields[3] = name;
    fields[4] = NULL;

    /* an existing user keeps its is_active: add never reactivates */

    existed = vt_record_add(ctx, key, "is_active", "1", fields);

    h = vt_cmd(ctx, "HGETALL", key, VT_END);

    if (ctx->json) {
        vt_jw_init(&j, stdout);
        vt_jw_obj(&j);
        vt_user_json(&j, user, h);
        vt_jw_key(&j, "created");
        vt_jw_bool(&j, !existed);
        vt_jw_end_obj(&j);
        vt_jw_done(&j);

    } else if (!existed) {
        printf("added user %s\n", user);

    } else if (email || name) {
        printf("updated user %s (is_active %s)\n", user,
               vt_is_one(vt_hash_str(h, "is_active")) ? "1" : "0");

    } else {
        printf("user %s exists already (is_active %s)\n", user,
               vt_is_one(vt_hash_str(h, "is_active")) ? "1" : "0");
    }

    return VT_EXIT_OK;
}


int
vt_cmd_user_show(vt_ctx_t *ctx)
{
    size_t        i, n;
    const char   *user, *email, *name, *roles;
    redisReply   *h;
    vt_jw_t       j;
    vt_member_t  *m;

    user = vt_user_arg(ctx->args[0]);

    h = vt_record_get(ctx, vt_key(ctx, "user", user, NULL), "user", user);

    m = vt_members(ctx, NULL, user, &n, 1);

    if (ctx->json) {
        vt_jw_init(&j, stdout);
        vt_jw_obj(&j);
        vt_user_json(&j, user, h);
        /* written by validibot-sync from Validibot (docs/sync.md) */
        vt_jw_key(&j, "is_superuser");
        vt_jw_bool(&j, vt_is_one(vt_hash_str(h, "is_superuser")));
        vt_jw_key(&j, "memberships");
        vt_jw_arr(&j);

        for (i = 0; i < n; i++) {
            vt_jw_obj(&j);
            vt_jw_key(&j, "org");
            vt_jw_str(&j, m[i].org);
            vt_jw_key(&j, "is_active");
            vt_jw_bool(&j, vt_is_one(vt_hash_str(m[i].h, "is_active")));
            vt_jw_key(&j, "roles");
            vt_roles_json(&j, vt_hash_str(m[i].h, "roles"));
            vt_jw_end_obj(&j);
        }

        vt_jw_end_arr(&j);
        vt_jw_end_obj(&j);
        vt_jw_done(&j);

        return VT_EXIT_OK;
    }

    email = vt_hash_str(h, "email");
    name = vt_hash_str(h, "name");

    printf("user       %s\n", user);
    printf("is_active  %s\n", vt_is_one(vt_hash_str(h, "is_active"))
                              ? "1 (active)" : "0 (inactive)");
    printf("email      %s\n", email ? vt_sanitize(email) : "-");
    printf("name       %s\n", name ? vt_sanitize(name) : "-");

    if (vt_is_one(vt_hash_str(h, "is_superuser"))) {
        printf("superuser  1 (every org, validibot_superusers allow)\n");
    }

    fputs(n ? "member of\n" : "member of  -\n", stdout);

    for (i = 0; i < n; i++) {
        roles = vt_hash_str(m[i].h, "roles");
        printf("  %s  %s  %s\n", vt_sanitize(m[i].org),
               vt_is_one(vt_hash_str(m[i].h, "is_active"))
               ? "active" : "inactive",
               (roles && *roles) ? vt_sanitize(roles) : "-");
    }

    return VT_EXIT_OK;
}


static int
vt_user_set_active(vt_ctx_t *ctx, int active)
{
    const char  *user;
    vt_jw_t      j;

    user = vt_user_arg(ctx->args[0]);

    vt_record_set(ctx, vt_key(ctx, "user", user, NULL), "is_active",
                  active ? "1" : "0", "user", user);

    if (ctx->json) {
        vt_jw_init(&j, stdout);
        vt_jw_obj(&j);
        vt_jw_key(&j, "user");
        vt_jw_str(&j, user);
        vt_jw_key(&j, "is_active");
        vt_jw_bool(&j, active);
        vt_jw_end_obj(&j);
        vt_jw_done(&j);

    } else {
        printf("%s user %s\n", active ? "activated" : "deactivated", user);
    }

    return VT_EXIT_OK;
}


int
vt_cmd_user_activate(vt_ctx_t *ctx)
{
    return vt_user_set_active(ctx, 1);
}


int
vt_cmd_user_deactivate(vt_ctx_t *ctx)
{
    return vt_user_set_active(ctx, 0);
}


/*
 * Removes the user, the memberships (a user added again later must not
 * find old roles waiting) and the keys (Validibot deletes a user's keys
 * with the user).  One transaction.
 */

int
vt_cmd_user_remove(vt_ctx_t *ctx)
{
    int           attempt, existed;
    size_t        i, n, nm, nk, skip;
    char        **names;
    const char   *user, *key, **keys;
    redisReply   *r;
    vt_jw_t       j;
    vt_member_t  *m;

    user = vt_user_arg(ctx->args[0]);
    key = vt_key(ctx, "user", user, NULL);
    skip = strlen(ctx->prefix) + sizeof("key:") - 1;

    for (attempt = 0; attempt < VT_ATTEMPTS; attempt++) {
        vt_cmd(ctx, "WATCH", key, VT_END);

        existed = vt_exists(ctx, key);

        m = vt_members(ctx, NULL, user, &nm, 0);

        names = vt_scan(ctx, vt_sprintf("%skey:*",
                                        vt_glob_escape(ctx->prefix)), &n);

        for (i = 0; i < n; i++) {
            vt_append(ctx, "HGET", names[i], "user", VT_END);
        }

        /* each key record and its usage record */
        keys = vt_alloc((2 * n + 1) * sizeof(char *));

        for (i = 0, nk = 0; i < n; i++) {
            r = vt_read(ctx);

            /* an error here is a key of another type: not a key record */

            if (r->type == REDIS_REPLY_STRING && strcmp(r->str, user) == 0) {
                keys[nk++] = names[i];
                keys[nk++] = vt_key(ctx, "usage", names[i] + skip, NULL);
            }
        }

        if (!existed && nm == 0 && nk == 0) {
            vt_cmd(ctx, "UNWATCH", VT_END);
            vt_fail(VT_EXIT_NOT_FOUND, "no such user %s", user);
        }

        if (vt_record_purge(ctx, key, m, nm, keys, nk) == 0) {
            break;
        }
    }

    if (attempt == VT_ATTEMPTS) {
        vt_gave_up();
    }

    if (ctx->json) {
        vt_jw_init(&j, stdout);
        vt_jw_obj(&j);
        vt_jw_key(&j, "user");
        vt_jw_str(&j, user);
        vt_jw_key(&j, "removed");
        vt_jw_bool(&j, 1);
        vt_jw_key(&j, "memberships");
        vt_jw_arr(&j);

        for (i = 0; i < nm; i++) {
            vt_jw_str(&j, m[i].org);
        }

        vt_jw_end_arr(&j);
        vt_jw_key(&j, "keys");
        vt_jw_arr(&j);

        for (i = 0; i < nk; i += 2) {
            vt_jw_str(&j, keys[i] + skip);
        }

        vt_jw_end_arr(&j);
        vt_jw_end_obj(&j);
        vt_jw_done(&j);

    } else {
        printf("removed user %s, %zu membership%s and %zu key%s\n", user,
               nm, nm == 1 ? "" : "s", nk / 2, nk == 2 ? "" : "s");
    }

    return VT_EXIT_OK;
}


/* organizations */

static void
vt_org_json(vt_jw_t *j, const char *org, const redisReply *h)
{
    vt_jw_key(j, "org");
    vt_jw_str(j, org);
    vt_jw_key(j, "status");
    vt_jw_str(j, vt_hash_str(h, "status"));
    vt_jw_key(j, "name");
    vt_jw_str(j, vt_hash_str(h, "name"));
}


int
vt_cmd_org_add(vt_ctx_t *ctx)
{
    int          existed;
    const char  *org, *name, *key, *status, *fields[3];
    redisReply  *h;
    vt_jw_t      j;

    org = vt_slug_arg(ctx->args[0]);
    name = vt_text_opt(ctx, "name");
    key = vt_key(ctx, "org", org, NULL);

    fields[0] = "name";
    fields[1] = name;
    fields[2] = NULL;

    /* an existing organization keeps its status */

    existed = vt_record_add(ctx, key, "status", "active", fields);

    h = vt_cmd(ctx, "HGETALL", key, VT_END);
    status = vt_hash_str(h, "status");

    if (ctx->json) {
        vt_jw_init(&j, stdout);
        vt_jw_obj(&j);
        vt_org_json(&j, org, h);
        vt_jw_key(&j, "created");
        vt_jw_bool(&j, !existed);
        vt_jw_end_obj(&j);
        vt_jw_done(&j);

    } else if (!existed) {
        printf("added organization %s\n", org);

    } else if (name) {
        printf("updated organization %s (status %s)\n", org,
               status ? vt_sanitize(status) : "-");

    } else {
        printf("organization %s exists already (status %s)\n", org,
               status ? vt_sanitize(status) : "-");
    }

    return VT_EXIT_OK;
}


int
vt_cmd_org_show(vt_ctx_t *ctx)
{
    size_t        i, n, active;
    const char   *org, *status, *name;
    redisReply   *h;
    vt_jw_t       j;
    vt_member_t  *m;

    org = vt_slug_arg(ctx->args[0]);

    h = vt_record_get(ctx, vt_key(ctx, "org", org, NULL), "organization",
                      org);

    m = vt_members(ctx, org, NULL, &n, 1);

    for (i = 0, active = 0; i < n; i++) {
        active += vt_is_one(vt_hash_str(m[i].h, "is_active"));
    }

    if (ctx->json) {
        vt_jw_init(&j, stdout);
        vt_jw_obj(&j);
        vt_org_json(&j, org, h);
        vt_jw_key(&j, "members");
        vt_jw_int(&j, (int64_t) n);
        vt_jw_key(&j, "active_members");
        vt_jw_int(&j, (int64_t) active);
        vt_jw_end_obj(&j);
        vt_jw_done(&j);

        return VT_EXIT_OK;
    }

    status = vt_hash_str(h, "status");
    name = vt_hash_str(h, "name");

    printf("org      %s\n", org);
    printf("status   %s\n", status ? vt_sanitize(status) : "-");
    printf("name     %s\n", name ? vt_sanitize(name) : "-");
    printf("members  %zu (%zu active)\n", n, active);

    return VT_EXIT_OK;
}


static int
vt_org_set_status(vt_ctx_t *ctx, const char *status)
{
    const char  *org;
    vt_jw_t      j;

    org = vt_slug_arg(ctx->args[0]);

    vt_record_set(ctx, vt_key(ctx, "org", org, NULL), "status", status,
                  "organization", org);

    if (ctx->json) {
        vt_jw_init(&j, stdout);
        vt_jw_obj(&j);
        vt_jw_key(&j, "org");
        vt_jw_str(&j, org);
        vt_jw_key(&j, "status");
        vt_jw_str(&j, status);
        vt_jw_end_obj(&j);
        vt_jw_done(&j);

    } else {
        printf("organization %s is %s\n", org, status);
    }

    return VT_EXIT_OK;
}


int
vt_cmd_org_suspend(vt_ctx_t *ctx)
{
    return vt_org_set_status(ctx, "suspended");
}


int
vt_cmd_org_activate(vt_ctx_t *ctx)
{
    return vt_org_set_status(ctx, "active");
}


int
vt_cmd_org_delete(vt_ctx_t *ctx)
{
    int           attempt, existed;
    size_t        n;
    const char   *org, *key;
    vt_jw_t       j;
    vt_member_t  *m;

    if (!vt_flag(ctx, "purge")) {
        return vt_org_set_status(ctx, "deleted");
    }

    org = vt_slug_arg(ctx->args[0]);
    key = vt_key(ctx, "org", org, NULL);

    for (attempt = 0; attempt < VT_ATTEMPTS; attempt++) {
        vt_cmd(ctx, "WATCH", key, VT_END);

        existed = vt_exists(ctx, key);
        m = vt_members(ctx, org, NULL, &n, 0);

        if (!existed && n == 0) {
            vt_cmd(ctx, "UNWATCH", VT_END);
            vt_fail(VT_EXIT_NOT_FOUND, "no such organization %s", org);
        }

        if (vt_record_purge(ctx, key, m, n, NULL, 0) == 0) {
            break;
        }
    }

    if (attempt == VT_ATTEMPTS) {
        vt_gave_up();
    }

    if (ctx->json) {
        vt_jw_init(&j, stdout);
        vt_jw_obj(&j);
        vt_jw_key(&j, "org");
        vt_jw_str(&j, org);
        vt_jw_key(&j, "purged");
        vt_jw_bool(&j, 1);
        vt_jw_key(&j, "memberships");
        vt_jw_int(&j, (int64_t) n);
        vt_jw_end_obj(&j);
        vt_jw_done(&j);

    } else {
        printf("purged organization %s and %zu membership%s\n", org, n,
               n == 1 ? "" : "s");
    }

    return VT_EXIT_OK;
}


/* memberships */

static void
vt_member_print(vt_ctx_t *ctx, const char *org, const char *user,
    const char *roles)
{
    vt_jw_t  j;

    if (ctx->json) {
        vt_jw_init(&j, stdout);
        vt_jw_obj(&j);
        vt_jw_key(&j, "org");
        vt_jw_str(&j, org);
        vt_jw_key(&j, "user");
        vt_jw_str(&j, user);
        vt_jw_key(&j, "is_active");
        vt_jw_bool(&j, 1);
        vt_jw_key(&j, "roles");
        vt_roles_json(&j, roles);
        vt_jw_end_obj(&j);
        vt_jw_done(&j);

    } else {
        printf("%s in %s: roles %s\n", user, org, *roles ? roles : "(none)");
    }
}


/*
 * grant: the membership is made (or kept) active and gains the roles;
 * revoke: it loses them and keeps is_active.
 */

static int
vt_member_change(vt_ctx_t *ctx, int grant)
{
    int          attempt;
    uint32_t     roles;
    const char  *org, *user, *key, *okey, *ukey, *value;
    redisReply  *h;

    value = NULL;

    org = vt_slug_arg(ctx->args[0]);
    user = vt_user_arg(ctx->args[1]);
    roles = vt_role_args(ctx->args + 2, ctx->nargs - 2);

    key = vt_key(ctx, "member", org, user);
    okey = vt_key(ctx, "org", org, NULL);
    ukey = vt_key(ctx, "user", user, NULL);

    for (attempt = 0; attempt < VT_ATTEMPTS; attempt++) {
        vt_cmd(ctx, "WATCH", key, okey, ukey, VT_END);

        h = vt_cmd(ctx, "HGETALL", key, VT_END);

        if (grant) {
            if (!vt_exists(ctx, okey)) {
                vt_fail(VT_EXIT_NOT_FOUND, "no such organization %s (add it "
                        "with 'validibot-token org add %s')", org, org);
            }

            if (!vt_exists(ctx, ukey)) {
                vt_fail(VT_EXIT_NOT_FOUND, "no such user %s (add it with "
                        "'validibot-token user add %s')", user, user);
            }

        } else if (h->type != REDIS_REPLY_ARRAY || h->elements == 0) {
            vt_fail(VT_EXIT_NOT_FOUND, "%s is not a member of %s", user, org);
        }

        value = vt_roles_value(vt_hash_str(h, "roles"), grant ? roles : 0,
                               grant ? 0 : roles);

        vt_multi(ctx);

        if (grant) {
            vt_queue(ctx, "HSET", key, "is_active", "1", "roles", value,
                     VT_END);

        } else {
            vt_queue(ctx, "HSET", key, "roles", value, VT_END);
        }

        if (vt_exec(ctx) == 0) {
            break;
        }
    }

    if (attempt == VT_ATTEMPTS) {
        vt_gave_up();
    }

    vt_member_print(ctx, org, user, value);

    return VT_EXIT_OK;
}


int
vt_cmd_member_grant(vt_ctx_t *ctx)
{
    return vt_member_change(ctx, 1);
}


int
vt_cmd_member_revoke(vt_ctx_t *ctx)
{
    return vt_member_change(ctx, 0);
}


int
vt_cmd_member_remove(vt_ctx_t *ctx)
{
    const char  *org, *user;
    redisReply  *r;
    vt_jw_t      j;

    org = vt_slug_arg(ctx->args[0]);
    user = vt_user_arg(ctx->args[1]);

    r = vt_cmd(ctx, "DEL", vt_key(ctx, "member", org, user), VT_END);

    if (r->type != REDIS_REPLY_INTEGER || r->integer == 0) {
        vt_fail(VT_EXIT_NOT_FOUND, "%s is not a member of %s", user, org);
    }

    if (ctx->json) {
        vt_jw_init(&j, stdout);
        vt_jw_obj(&j);
        vt_jw_key(&j, "org");
        vt_jw_str(&j, org);
        vt_jw_key(&j, "user");
        vt_jw_str(&j, user);
        vt_jw_key(&j, "removed");
        vt_jw_bool(&j, 1);
        vt_jw_end_obj(&j);
        vt_jw_done(&j);

    } else {
        printf("removed %s from %s\n", user, org);
    }

    return VT_EXIT_OK;
}


int
vt_cmd_member_list(vt_ctx_t *ctx)
{
    size_t        i, n, w;
    const char   *org, *roles;
    vt_jw_t       j;
    vt_member_t  *m;

    org = vt_slug_arg(ctx->args[0]);

    m = vt_members(ctx, org, NULL, &n, 1);

    if (n == 0 && !vt_exists(ctx, vt_key(ctx, "org", org, NULL))) {
        vt_fail(VT_EXIT_NOT_FOUND, "no such organization %s", org);
    }

    if (ctx->json) {
        vt_jw_init(&j, stdout);
        vt_jw_arr(&j);

        for (i = 0; i < n; i++) {
            vt_jw_obj(&j);
            vt_jw_key(&j, "user");
            vt_jw_str(&j, m[i].user);
            vt_jw_key(&j, "is_active");
            vt_jw_bool(&j, vt_is_one(vt_hash_str(m[i].h, "is_active")));
            vt_jw_key(&j, "roles");
            vt_roles_json(&j, vt_hash_str(m[i].h, "roles"));
            vt_jw_end_obj(&j);
        }

        vt_jw_end_arr(&j);
        vt_jw_done(&j);

        return VT_EXIT_OK;
    }

    if (n == 0) {
        printf("no members\n");
        return VT_EXIT_OK;
    }

    for (i = 0, w = 4; i < n; i++) {
        if (strlen(m[i].user) > w) {
            w = strlen(m[i].user);
        }
    }

    printf("%-*s  %-8s  %s\n", (int) w, "USER", "ACTIVE", "ROLES");

    for (i = 0; i < n; i++) {
        roles = vt_hash_str(m[i].h, "roles");

        printf("%-*s  %-8s  %s\n", (int) w, vt_sanitize(m[i].user),
               vt_is_one(vt_hash_str(m[i].h, "is_active")) ? "yes" : "no",
               (roles && *roles) ? vt_sanitize(roles) : "-");
    }

    return VT_EXIT_OK;
}
