
/*
 * Copyright (C) The ngx_http_validibot_module authors
 *
 * validibot-token: the key commands (create, list, show, revoke, delete,
 * rotate, verify, import).
 */


#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "vt.h"
#include "ngx_http_validibot_key.h"
#include "ngx_http_validibot_roles.h"
#include "ngx_http_validibot_reply.h"
#include "ngx_http_validibot_check.h"
#include "ngx_http_validibot_script.h"
#include "ngx_http_validibot_value.h"


#define VT_ATTEMPTS          16
#define VT_MAX_REQUIRE       16
#define VT_IMPORT_MAX_BYTES  ((size_t) 1 << 30)


typedef struct {
    const char        *public_id;
    const redisReply  *h;             /* HGETALL */
    const redisReply  *u;             /* HGETALL of the usage record */
    const char        *user;
    int64_t            created_at;    /* for sorting */
} vt_keyrow_t;


typedef struct {
    char               key[NGX_HTTP_VALIDIBOT_KEY_LEN + 1];
    char               public_id[NGX_HTTP_VALIDIBOT_PUBLIC_ID_LEN + 1];
    char               digest[NGX_HTTP_VALIDIBOT_DIGEST_HEX_LEN + 1];
} vt_newkey_t;


typedef struct {
    size_t             line;
    const char        *public_id;
    const char        *digest;
    const char        *digest_version;
    const char        *user;
    const char        *label;
    const char        *created_at;
    const char        *expires_at;
    const char        *revoked_at;
    const char        *last_used_at;
    const char        *rotated_from;
} vt_import_t;


/* arguments */

static const char *
vt_public_id_arg(const char *s)
{
    if (ngx_http_validibot_check_public_id((const unsigned char *) s,
                                           strlen(s))
        == 0)
    {
        return s;
    }

    /* never echo it: it may be a whole key, secret included */

    if (strncmp(s, "vbk_", 4) == 0) {
        vt_fail(VT_EXIT_USAGE, "malformed public id: this looks like a whole "
                "key; give only its public id (the 32 hex digits after "
                "\"vbk_1_\")");
    }

    vt_fail(VT_EXIT_USAGE, "malformed public id: expected 32 lowercase hex "
            "digits, got %zu characters", strlen(s));
}


static const char *
vt_user_arg(const char *s, const char *what)
{
    if (!vt_valid_user(s)) {
        vt_fail(VT_EXIT_USAGE, "bad %s \"%s\": 1 to %d letters, digits or "
                "\"_-.@+\"", what, vt_sanitize(s), VT_MAX_USER);
    }

    return s;
}


/* --expires: 0 for never */

static int64_t
vt_expires_arg(vt_ctx_t *ctx)
{
    int64_t      d;
    const char  *s;

    s = vt_opt(ctx, "expires");

    if (s == NULL) {
        return ctx->now + VT_DEFAULT_EXPIRES;
    }

    if (strcmp(s, "never") == 0) {
        return 0;
    }

    if (vt_duration(s, &d) != 0 || d == 0) {
        vt_fail(VT_EXIT_USAGE, "bad duration \"%s\" for --expires: use e.g. "
                "90d, 24h, 30m, 45s or never", vt_sanitize(s));
    }

    return ctx->now + d;
}


static unsigned
vt_digest_version_arg(vt_ctx_t *ctx)
{
    char           *end;
    const char     *s;
    unsigned long   v;

    s = vt_opt(ctx, "digest-version");

    if (s == NULL) {
        return 1;
    }

    errno = 0;
    v = strtoul(s, &end, 10);

    if (*s < '1' || *s > '9' || *end != '\0' || errno || v > 1000000) {
        vt_fail(VT_EXIT_USAGE, "bad --digest-version \"%s\": an integer from "
                "1 to 1000000", vt_sanitize(s));
    }

    return (unsigned) v;
}


static int
vt_valid_digits(const char *s)
{
    for ( /* void */ ; *s; s++) {
        if (*s < '0' || *s > '9') {
            return 0;
        }
    }

    return 1;
}


/* columns count characters, not UTF-8 bytes */

static size_t
vt_width(const char *s)
{
    size_t  n;

    for (n = 0; *s; s++) {
        n += ((unsigned char) *s & 0xc0) != 0x80;
    }

    return n;
}


/* records */

/* the module's reading: no "user" (or an empty one) is no record */

static const char *
vt_record_user(const redisReply *h)
{
    const char  *user;

    user = vt_hash_str(h, "user");

    return (user && *user) ? user : NULL;
}


/* ngx_http_validibot_check()'s order and reading of the two fields */

static const char *
vt_key_state(vt_ctx_t *ctx, const redisReply *h)
{
    int64_t  t;

    if (vt_int_field(vt_hash_str(h, "revoked_at"), &t) != 0 || t != 0) {
        return "revoked";
    }

    if (vt_int_field(vt_hash_str(h, "expires_at"), &t) != 0
        || (t != 0 && ctx->now >= t))
    {
        return "expired";
    }

    return "active";
}


static const char *
vt_human_time(const char *raw, const char *none)
{
    int64_t  t;

    if (vt_int_field(raw, &t) != 0) {
        return vt_sanitize(raw);
    }

    return t ? vt_iso(t) : none;
}


static void
vt_key_json(vt_ctx_t *ctx, vt_jw_t *j, const char *pid, const redisReply *h,
    const redisReply *u, const char *user_status)
{
    const char  *dv;

    dv = vt_hash_str(h, "digest_version");

    vt_jw_obj(j);
    vt_jw_key(j, "public_id");
    vt_jw_str(j, pid);
    vt_jw_key(j, "user");
    vt_jw_str(j, vt_record_user(h));
    vt_jw_key(j, "label");
    vt_jw_str(j, vt_hash_str(h, "label"));
    vt_jw_key(j, "state");
    vt_jw_str(j, vt_key_state(ctx, h));
    vt_jw_key(j, "digest_version");
    vt_jw_str(j, (dv && *dv) ? dv : "1");
    vt_jw_key(j, "created_at");
    vt_jw_time(j, vt_hash_str(h, "created_at"));
    vt_jw_key(j, "expires_at");
    vt_jw_time(j, vt_hash_str(h, "expires_at"));
    vt_jw_key(j, "revoked_at");
    vt_jw_time(j, vt_hash_str(h, "revoked_at"));
    vt_jw_key(j, "last_used_at");
    vt_jw_time(j, vt_hash_str(u, "last_used_at"));
    vt_jw_key(j, "last_used_ip");
    vt_jw_str(j, vt_hash_str(u, "last_used_ip"));
    vt_jw_key(j, "rotated_from");
    vt_jw_str(j, vt_hash_str(h, "rotated_from"));

    if (user_status) {
        vt_jw_key(j, "user_status");
        vt_jw_str(j, user_status);
    }

    vt_jw_end_obj(j);
}


static redisReply *
vt_get_key(vt_ctx_t *ctx, const char *pid)
{
    redisReply  *h;

    h = vt_cmd(ctx, "HGETALL", vt_key(ctx, "key", pid, NULL), VT_END);

    if (h->type != REDIS_REPLY_ARRAY) {
        vt_fail(VT_EXIT_REDIS, "unexpected reply to HGETALL");
    }

    return h;
}


static void
vt_no_such_key(vt_ctx_t *ctx, const char *pid)
{
    vt_fail(VT_EXIT_NOT_FOUND, "no such key %s (prefix \"%s\")", pid,
            vt_sanitize(ctx->prefix));
}


/*
 * A new key from the kernel's CSPRNG, its digest, and a check that the
 * shared parser takes it: what we print must be what the module accepts.
 */

static void
vt_new_key(vt_newkey_t *nk, const ngx_http_validibot_hmac_t *hmac)
{
    char                      secret[NGX_HTTP_VALIDIBOT_SECRET_LEN + 1];
    ngx_http_validibot_key_t  key;

    vt_random_hex(nk->public_id, NGX_HTTP_VALIDIBOT_PUBLIC_ID_LEN / 2);
    vt_random_hex(secret, NGX_HTTP_VALIDIBOT_SECRET_LEN / 2);

    snprintf(nk->key, sizeof(nk->key), "vbk_%d_%s_%s",
             NGX_HTTP_VALIDIBOT_FORMAT_VERSION, nk->public_id, secret);

    vt_wipe(secret, sizeof(secret));

    if (ngx_http_validibot_parse_key((const unsigned char *) nk->key,
                                     strlen(nk->key), &key)
        != 0)
    {
        vt_fail(VT_EXIT_REDIS, "internal error: generated key does not "
                "parse");
    }

    ngx_http_validibot_digest(hmac, key.format_version, key.public_id,
                              NGX_HTTP_VALIDIBOT_PUBLIC_ID_LEN, key.secret,
                              NGX_HTTP_VALIDIBOT_SECRET_LEN,
                              (unsigned char *) nk->digest);

    nk->digest[NGX_HTTP_VALIDIBOT_DIGEST_HEX_LEN] = '\0';
}


static void
vt_queue_new_key(vt_ctx_t *ctx, const vt_newkey_t *nk, const char *user,
    const char *label, unsigned version, int64_t expires,
    const char *rotated_from)
{
    int          argc;
    const char  *argv[20];

    argc = 0;
    argv[argc++] = "HSET";
    argv[argc++] = vt_key(ctx, "key", nk->public_id, NULL);
    argv[argc++] = "user";
    argv[argc++] = user;
    argv[argc++] = "digest";
    argv[argc++] = nk->digest;
    argv[argc++] = "digest_version";
    argv[argc++] = vt_sprintf("%u", version);
    argv[argc++] = "label";
    argv[argc++] = label;
    argv[argc++] = "created_at";
    argv[argc++] = vt_sprintf("%lld", (long long) ctx->now);

    if (expires) {
        argv[argc++] = "expires_at";
        argv[argc++] = vt_sprintf("%lld", (long long) expires);
    }

    if (rotated_from) {
        argv[argc++] = "rotated_from";
        argv[argc++] = rotated_from;
    }

    vt_queuev(ctx, argc, argv);
}


/* a key whose user cannot use it is worth a word on stderr */

static void
vt_warn_user(vt_ctx_t *ctx, const char *user)
{
    redisReply  *r;

    /* advice only: an error reply here is not worth failing for */

    vt_append(ctx, "HGET", vt_key(ctx, "user", user, NULL), "is_active",
              VT_END);
    r = vt_read(ctx);

    if (r->type == REDIS_REPLY_ERROR) {
        return;
    }

    if (r->type == REDIS_REPLY_NIL) {
        vt_warn("user %s has no record: the module refuses the key until "
                "'validibot-token user add %s'", user, user);

    } else if (r->type != REDIS_REPLY_STRING || strcmp(r->str, "1") != 0) {
        vt_warn("user %s is inactive: the module refuses the key until "
                "'validibot-token user activate %s'", user, user);
    }
}


static void
vt_print_new_key(vt_ctx_t *ctx, vt_newkey_t *nk, const char *user,
    const char *label, unsigned version, int64_t expires,
    const char *rotated_from, int64_t old_expires)
{
    vt_jw_t  j;

    if (!ctx->json) {
        /* stdout holds the key alone, for KEY=$(validibot-token create) */
        printf("%s\n", nk->key);
        fflush(stdout);

        if (rotated_from) {
            fprintf(stderr, "rotated key %s to %s for user %s; %s expires "
                    "%s; the new key expires %s\n", rotated_from,
                    nk->public_id, user, rotated_from, vt_iso(old_expires),
                    expires ? vt_iso(expires) : "never");

        } else {
            fprintf(stderr, "created key %s for user %s, expires %s\n",
                    nk->public_id, user, expires ? vt_iso(expires) : "never");
        }

        vt_wipe(nk, sizeof(vt_newkey_t));
        return;
    }

    vt_jw_init(&j, stdout);
    vt_jw_obj(&j);
    vt_jw_key(&j, "key");
    vt_jw_str(&j, nk->key);
    vt_jw_key(&j, "public_id");
    vt_jw_str(&j, nk->public_id);
    vt_jw_key(&j, "user");
    vt_jw_str(&j, user);
    vt_jw_key(&j, "label");
    vt_jw_str(&j, label);
    vt_jw_key(&j, "digest_version");
    vt_jw_str(&j, vt_sprintf("%u", version));
    vt_jw_key(&j, "created_at");
    vt_jw_str(&j, vt_iso(ctx->now));
    vt_jw_key(&j, "expires_at");

    if (expires) {
        vt_jw_str(&j, vt_iso(expires));

    } else {
        vt_jw_null(&j);
    }

    if (rotated_from) {
        vt_jw_key(&j, "rotated_from");
        vt_jw_str(&j, rotated_from);
        vt_jw_key(&j, "old_expires_at");
        vt_jw_str(&j, vt_iso(old_expires));
    }

    vt_jw_end_obj(&j);
    vt_jw_done(&j);
    fflush(stdout);

    vt_wipe(nk, sizeof(vt_newkey_t));
}


int
vt_cmd_create(vt_ctx_t *ctx)
{
    int                               attempt;
    size_t                            n;
    int64_t                           expires;
    unsigned                          version;
    const char                       *user, *label;
    redisReply                       *r;
    vt_newkey_t                       nk;
    const ngx_http_validibot_hmac_t  *hmac;

    user = vt_opt(ctx, "user");

    if (user == NULL) {
        vt_fail(VT_EXIT_USAGE, "--user is required");
    }

    vt_user_arg(user, "--user");

    label = vt_opt(ctx, "label");

    if (label == NULL) {
        label = VT_DEFAULT_LABEL;

    } else if (!vt_valid_text(label, VT_MAX_TEXT)) {
        vt_fail(VT_EXIT_USAGE, "bad --label: at most %d bytes, no control "
                "characters", VT_MAX_TEXT);
    }

    expires = vt_expires_arg(ctx);
    version = vt_digest_version_arg(ctx);
    hmac = vt_digest_keys(ctx, &n, version);

    /* before any write: an error here must not cost a printed key */
    vt_warn_user(ctx, user);

    for (attempt = 0; attempt < VT_ATTEMPTS; attempt++) {
        vt_new_key(&nk, hmac);

        /* 128 random bits do not collide; WATCH makes sure anyway */

        vt_cmd(ctx, "WATCH", vt_key(ctx, "key", nk.public_id, NULL), VT_END);
        r = vt_cmd(ctx, "EXISTS", vt_key(ctx, "key", nk.public_id, NULL),
                   VT_END);

        if (r->type == REDIS_REPLY_INTEGER && r->integer != 0) {
            vt_cmd(ctx, "UNWATCH", VT_END);
            continue;
        }

        vt_multi(ctx);
        vt_queue_new_key(ctx, &nk, user, label, version, expires, NULL);

        if (vt_exec(ctx) == 0) {
            vt_print_new_key(ctx, &nk, user, label, version, expires, NULL,
                             0);
            return VT_EXIT_OK;
        }
    }

    vt_fail(VT_EXIT_REDIS, "could not store a new key after %d attempts",
            VT_ATTEMPTS);
}


static int
vt_row_cmp(const void *a, const void *b)
{
    const vt_keyrow_t  *x = a, *y = b;

    if (x->created_at != y->created_at) {
        return x->created_at < y->created_at ? -1 : 1;
    }

    return strcmp(x->public_id, y->public_id);
}


int
vt_cmd_list(vt_ctx_t *ctx)
{
    int           pass;
    size_t        i, n, nrows, skip, k;
    size_t        w[8];
    char        **names;
    const char   *user, *cell[8];
    redisReply   *h, *u;
    vt_jw_t       j;
    vt_keyrow_t  *rows;
    static const char  *heads[8] = { "PUBLIC_ID", "USER", "LABEL", "STATE",
                                     "CREATED", "EXPIRES", "REVOKED",
                                     "LAST_USED" };

    user = vt_opt(ctx, "user");

    if (user) {
        vt_user_arg(user, "--user");
    }

    /*
     * SCAN, not an index: it lists exactly what the module would find,
     * whoever wrote it
     */

    names = vt_scan(ctx, vt_sprintf("%skey:*", vt_glob_escape(ctx->prefix)),
                    &n);

    skip = strlen(ctx->prefix) + sizeof("key:") - 1;
    rows = vt_alloc((n + 1) * sizeof(vt_keyrow_t));
    nrows = 0;

    for (i = 0; i < n; i++) {
        if (ngx_http_validibot_check_public_id(
                (const unsigned char *) names[i] + skip,
                strlen(names[i]) - skip)
            != 0)
        {
            continue;
        }

        rows[nrows++].public_id = names[i] + skip;
        vt_append(ctx, "HGETALL", names[i], VT_END);
        vt_append(ctx, "HGETALL",
                  vt_key(ctx, "usage", names[i] + skip, NULL), VT_END);
    }

    for (i = 0, k = 0; i < nrows; i++) {
        h = vt_read(ctx);
        u = vt_read(ctx);

        if (h->type != REDIS_REPLY_ARRAY) {
            /* another type under a key name: not a key record */
            continue;
        }

        rows[k] = rows[i];
        rows[k].h = h;
        rows[k].u = u;
        rows[k].user = vt_record_user(h);

        if (rows[k].user == NULL
            || (user && strcmp(rows[k].user, user) != 0))
        {
            continue;
        }

        (void) vt_int_field(vt_hash_str(h, "created_at"),
                            &rows[k].created_at);
        k++;
    }

    nrows = k;
    qsort(rows, nrows, sizeof(vt_keyrow_t), vt_row_cmp);

    if (ctx->json) {
        vt_jw_init(&j, stdout);
        vt_jw_arr(&j);

        for (i = 0; i < nrows; i++) {
            vt_key_json(ctx, &j, rows[i].public_id, rows[i].h, rows[i].u,
                        NULL);
        }

        vt_jw_end_arr(&j);
        vt_jw_done(&j);

        return VT_EXIT_OK;
    }

    if (nrows == 0) {
        printf("no keys\n");
        return VT_EXIT_OK;
    }

    for (k = 0; k < 8; k++) {
        w[k] = strlen(heads[k]);
    }

    /* two passes: widths, then lines */

    for (pass = 0; pass < 2; pass++) {
        if (pass == 1) {
            for (k = 0; k < 8; k++) {
                printf("%-*s%s", k < 7 ? (int) w[k] : 0, heads[k],
                       k < 7 ? "  " : "\n");
            }
        }

        for (i = 0; i < nrows; i++) {
            h = (redisReply *) rows[i].h;

            cell[0] = rows[i].public_id;
            cell[1] = vt_sanitize(rows[i].user);
            cell[2] = vt_sanitize(vt_hash_str(h, "label")
                                  ? vt_hash_str(h, "label") : "");
            cell[3] = vt_key_state(ctx, h);
            cell[4] = vt_human_time(vt_hash_str(h, "created_at"), "-");
            cell[5] = vt_human_time(vt_hash_str(h, "expires_at"), "never");
            cell[6] = vt_human_time(vt_hash_str(h, "revoked_at"), "-");
            cell[7] = vt_human_time(vt_hash_str(rows[i].u, "last_used_at"),
                                    "-");

            if (*cell[2] == '\0') {
                cell[2] = "-";
            }

            for (k = 0; k < 8; k++) {
                if (pass == 0) {
                    if (vt_width(cell[k]) > w[k]) {
                        w[k] = vt_width(cell[k]);
                    }

                } else {
                    printf("%s%*s%s", cell[k],
                           k < 7 ? (int) (w[k] - vt_width(cell[k])) : 0, "",
                           k < 7 ? "  " : "\n");
                }
            }
        }
    }

    return VT_EXIT_OK;
}


int
vt_cmd_show(vt_ctx_t *ctx)
{
    const char   *pid, *user, *dv, *label, *ustatus, *rf, *ip;
    redisReply   *h, *u, *uh;
    vt_jw_t       j;

    pid = vt_public_id_arg(ctx->args[0]);

    h = vt_get_key(ctx, pid);
    user = vt_record_user(h);

    if (user == NULL) {
        vt_no_such_key(ctx, pid);
    }

    u = vt_cmd(ctx, "HGET", vt_key(ctx, "user", user, NULL), "is_active",
               VT_END);

    uh = vt_cmd(ctx, "HGETALL", vt_key(ctx, "usage", pid, NULL), VT_END);

    ustatus = (u->type == REDIS_REPLY_NIL) ? "missing"
              : (u->type == REDIS_REPLY_STRING && strcmp(u->str, "1") == 0)
                ? "active" : "inactive";

    if (ctx->json) {
        vt_jw_init(&j, stdout);
        vt_key_json(ctx, &j, pid, h, uh, ustatus);
        vt_jw_done(&j);

        return VT_EXIT_OK;
    }

    dv = vt_hash_str(h, "digest_version");
    label = vt_hash_str(h, "label");
    rf = vt_hash_str(h, "rotated_from");
    ip = vt_hash_str(uh, "last_used_ip");

    printf("public_id       %s\n", pid);
    printf("user            %s (%s)\n", vt_sanitize(user), ustatus);
    printf("label           %s\n", label ? vt_sanitize(label) : "-");
    printf("state           %s\n", vt_key_state(ctx, h));
    printf("digest_version  %s\n", (dv && *dv) ? vt_sanitize(dv) : "1");
    printf("created_at      %s\n",
           vt_human_time(vt_hash_str(h, "created_at"), "-"));
    printf("expires_at      %s\n",
           vt_human_time(vt_hash_str(h, "expires_at"), "never"));
    printf("revoked_at      %s\n",
           vt_human_time(vt_hash_str(h, "revoked_at"), "-"));
    printf("rotated_from    %s\n", (rf && *rf) ? vt_sanitize(rf) : "-");
    printf("last_used_at    %s\n",
           vt_human_time(vt_hash_str(uh, "last_used_at"), "-"));
    printf("last_used_ip    %s\n", (ip && *ip) ? vt_sanitize(ip) : "-");

    return VT_EXIT_OK;
}


int
vt_cmd_revoke(vt_ctx_t *ctx)
{
    int          attempt, already;
    int64_t      t;
    const char  *pid, *key;
    redisReply  *h;
    vt_jw_t      j;

    pid = vt_public_id_arg(ctx->args[0]);
    key = vt_key(ctx, "key", pid, NULL);

    for (attempt = 0; attempt < VT_ATTEMPTS; attempt++) {

        /* WATCH: a key deleted meanwhile must not come back half-made */

        vt_cmd(ctx, "WATCH", key, VT_END);

        h = vt_get_key(ctx, pid);

        if (vt_record_user(h) == NULL) {
            vt_no_such_key(ctx, pid);
        }

        already = (vt_int_field(vt_hash_str(h, "revoked_at"), &t) == 0
                   && t != 0);

        if (already) {
            vt_cmd(ctx, "UNWATCH", VT_END);
            break;
        }

        t = ctx->now;

        vt_multi(ctx);
        vt_queue(ctx, "HSET", key, "revoked_at",
                 vt_sprintf("%lld", (long long) t), VT_END);

        if (vt_exec(ctx) == 0) {
            break;
        }
    }

    if (attempt == VT_ATTEMPTS) {
        vt_fail(VT_EXIT_REDIS, "key kept changing; gave up after %d "
                "attempts", VT_ATTEMPTS);
    }

    if (ctx->json) {
        vt_jw_init(&j, stdout);
        vt_jw_obj(&j);
        vt_jw_key(&j, "public_id");
        vt_jw_str(&j, pid);
        vt_jw_key(&j, "revoked_at");
        vt_jw_str(&j, vt_iso(t));
        vt_jw_key(&j, "already_revoked");
        vt_jw_bool(&j, already);
        vt_jw_end_obj(&j);
        vt_jw_done(&j);

    } else if (already) {
        printf("key %s was revoked already, at %s\n", pid, vt_iso(t));

    } else {
        printf("revoked key %s at %s\n", pid, vt_iso(t));
    }

    return VT_EXIT_OK;
}


int
vt_cmd_delete(vt_ctx_t *ctx)
{
    const char  *pid;
    redisReply  *r;
    vt_jw_t      j;

    pid = vt_public_id_arg(ctx->args[0]);

    r = vt_cmd(ctx, "DEL", vt_key(ctx, "key", pid, NULL), VT_END);

    if (r->type != REDIS_REPLY_INTEGER || r->integer == 0) {
        vt_no_such_key(ctx, pid);
    }

    (void) vt_cmd(ctx, "DEL", vt_key(ctx, "usage", pid, NULL), VT_END);

    if (ctx->json) {
        vt_jw_init(&j, stdout);
        vt_jw_obj(&j);
        vt_jw_key(&j, "public_id");
        vt_jw_str(&j, pid);
        vt_jw_key(&j, "deleted");
        vt_jw_bool(&j, 1);
        vt_jw_end_obj(&j);
        vt_jw_done(&j);

    } else {
        printf("deleted key %s\n", pid);
    }

    return VT_EXIT_OK;
}


int
vt_cmd_rotate(vt_ctx_t *ctx)
{
    int                               attempt;
    size_t                            n;
    int64_t                           overlap, expires, old_exp, t;
    unsigned                          version;
    const char                       *pid, *key, *s, *user, *label, *state;
    redisReply                       *h, *r;
    vt_newkey_t                       nk;
    const ngx_http_validibot_hmac_t  *hmac;

    pid = vt_public_id_arg(ctx->args[0]);
    key = vt_key(ctx, "key", pid, NULL);

    s = vt_opt(ctx, "overlap");
    overlap = VT_DEFAULT_OVERLAP;

    if (s && vt_duration(s, &overlap) != 0) {
        vt_fail(VT_EXIT_USAGE, "bad duration \"%s\" for --overlap: use e.g. "
                "24h, 30m, 45s or 0s", vt_sanitize(s));
    }

    expires = vt_expires_arg(ctx);
    version = vt_digest_version_arg(ctx);
    hmac = vt_digest_keys(ctx, &n, version);

    for (attempt = 0; attempt < VT_ATTEMPTS; attempt++) {
        vt_new_key(&nk, hmac);

        vt_cmd(ctx, "WATCH", key, vt_key(ctx, "key", nk.public_id, NULL),
               VT_END);

        h = vt_get_key(ctx, pid);
        user = vt_record_user(h);

        if (user == NULL) {
            vt_no_such_key(ctx, pid);
        }

        state = vt_key_state(ctx, h);

        if (strcmp(state, "active") != 0) {
            vt_fail(VT_EXIT_NOT_FOUND, "key %s is %s: make a new one with "
                    "'validibot-token create --user %s'", pid, state, user);
        }

        r = vt_cmd(ctx, "EXISTS", vt_key(ctx, "key", nk.public_id, NULL),
                   VT_END);

        if (r->type == REDIS_REPLY_INTEGER && r->integer != 0) {
            vt_cmd(ctx, "UNWATCH", VT_END);
            continue;
        }

        label = vt_hash_str(h, "label");

        if (label == NULL) {
            label = VT_DEFAULT_LABEL;
        }

        /* the overlap shortens the old key's life, never lengthens it */

        old_exp = ctx->now + overlap;

        if (vt_int_field(vt_hash_str(h, "expires_at"), &t) == 0
            && t != 0 && t < old_exp)
        {
            old_exp = t;
        }

        vt_multi(ctx);
        vt_queue_new_key(ctx, &nk, user, label, version, expires, pid);
        vt_queue(ctx, "HSET", key, "expires_at",
                 vt_sprintf("%lld", (long long) old_exp), VT_END);

        if (vt_exec(ctx) == 0) {
            vt_print_new_key(ctx, &nk, user, label, version, expires, pid,
                             old_exp);
            vt_warn_user(ctx, user);
            return VT_EXIT_OK;
        }
    }

    vt_fail(VT_EXIT_REDIS, "key kept changing; gave up after %d attempts",
            VT_ATTEMPTS);
}


/* verify */

static char *
vt_read_token(void)
{
    int              tty;
    char            *buf, *p, *end;
    const char      *env;
    struct termios   old, raw;

    env = getenv("VALIDIBOT_TOKEN");

    if (env && *env) {
        buf = vt_strdup(env);

    } else {
        tty = isatty(STDIN_FILENO);

        /* an operator typing a key should not see it echoed */

        if (tty && tcgetattr(STDIN_FILENO, &old) == 0) {
            raw = old;
            raw.c_lflag &= ~ECHO;
            fprintf(stderr, "API key: ");
            tcsetattr(STDIN_FILENO, TCSAFLUSH, &raw);

        } else {
            tty = 0;
        }

        buf = vt_read_line(4096);

        if (tty) {
            tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
            fputc('\n', stderr);
        }
    }

    /* surrounding blanks are not part of a key */

    for (p = buf; *p == ' ' || *p == '\t'; p++) { /* void */ }

    end = p + strlen(p);

    while (end > p && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'
                       || end[-1] == '\n'))
    {
        *--end = '\0';
    }

    return p;
}


static int
vt_verify_result(vt_ctx_t *ctx, ngx_http_validibot_status_e status,
    const char *reason, const char *pid, const ngx_http_validibot_record_t *rec,
    const char *org, uint32_t roles)
{
    char                              rbuf[NGX_HTTP_VALIDIBOT_ROLES_MAX_LEN];
    size_t                            rlen;
    const char                       *user, *name;
    vt_jw_t                           j;
    const ngx_http_validibot_span_t  *u;

    name = ngx_http_validibot_status_name(status);
    user = NULL;

    if (rec && rec->found) {
        u = &rec->field[NGX_HTTP_VALIDIBOT_F_USER];
        user = vt_strndup((const char *) u->data, u->len);
    }

    rlen = (status == NGX_HTTP_VALIDIBOT_OK && org)
           ? ngx_http_validibot_roles_format(roles, (unsigned char *) rbuf)
           : 0;
    rbuf[rlen] = '\0';

    if (ctx->json) {
        vt_jw_init(&j, stdout);
        vt_jw_obj(&j);
        vt_jw_key(&j, "usable");
        vt_jw_bool(&j, status == NGX_HTTP_VALIDIBOT_OK);
        vt_jw_key(&j, "status");
        vt_jw_str(&j, name);
        vt_jw_key(&j, "reason");
        vt_jw_str(&j, reason);
        vt_jw_key(&j, "public_id");
        vt_jw_str(&j, pid);
        vt_jw_key(&j, "user");
        vt_jw_str(&j, user);
        vt_jw_key(&j, "org");
        vt_jw_str(&j, org);
        vt_jw_key(&j, "roles");

        if (status == NGX_HTTP_VALIDIBOT_OK && org) {
            vt_jw_str(&j, rbuf);

        } else {
            vt_jw_null(&j);
        }

        vt_jw_end_obj(&j);
        vt_jw_done(&j);

    } else if (status == NGX_HTTP_VALIDIBOT_OK) {
        printf("ok: key %s of user %s is usable", pid, vt_sanitize(user));

        if (org) {
            printf(" in %s (roles: %s)", org, rlen ? rbuf : "none");
        }

        printf("\n");

    } else if (pid) {
        printf("%s: key %s: %s\n", name, pid, reason);

    } else {
        printf("%s: %s\n", name, reason);
    }

    return status == NGX_HTTP_VALIDIBOT_OK ? VT_EXIT_OK : VT_EXIT_NOT_FOUND;
}


int
vt_cmd_verify(vt_ctx_t *ctx)
{
    int                                rc;
    char                              *token, *pid, *code, *save, *list;
    size_t                             i, nreq, nhmacs;
    uint32_t                           need[VT_MAX_REQUIRE], mask;
    const char                        *org, *req[VT_MAX_REQUIRE];
    redisReply                        *r;
    ngx_http_validibot_key_t           key;
    ngx_http_validibot_check_t         chk;
    ngx_http_validibot_record_t        rec;
    ngx_http_validibot_status_e        status;
    const ngx_http_validibot_hmac_t   *hmacs;

    org = vt_opt(ctx, "org");

    if (org && !vt_valid_slug(org)) {
        vt_fail(VT_EXIT_USAGE, "bad --org \"%s\": 1 to %d letters, digits, "
                "\"_\" or \"-\"", vt_sanitize(org), VT_MAX_SLUG);
    }

    nreq = vt_opt_all(ctx, "require", req, VT_MAX_REQUIRE);

    for (i = 0; i < nreq; i++) {
        list = vt_strdup(req[i]);
        need[i] = 0;

        for (code = strtok_r(list, ",", &save); code;
             code = strtok_r(NULL, ",", &save))
        {
            mask = ngx_http_validibot_code_mask((unsigned char *) code,
                                                strlen(code));

            if (mask == 0) {
                vt_fail(VT_EXIT_USAGE, "unknown role or permission code "
                        "\"%s\"", vt_sanitize(code));
            }

            need[i] |= mask;
        }

        if (need[i] == 0) {
            vt_fail(VT_EXIT_USAGE, "empty --require");
        }
    }

    hmacs = vt_digest_keys(ctx, &nhmacs, 0);

    token = vt_read_token();

    if (*token == '\0') {
        return vt_verify_result(ctx, NGX_HTTP_VALIDIBOT_MISSING,
                                "no key given (set VALIDIBOT_TOKEN or give "
                                "it on stdin)", NULL, NULL, org, 0);
    }

    if (ngx_http_validibot_parse_key((const unsigned char *) token,
                                     strlen(token), &key)
        != 0)
    {
        vt_wipe(token, strlen(token));

        return vt_verify_result(ctx, NGX_HTTP_VALIDIBOT_MALFORMED,
                                "not a Validibot API key "
                                "(vbk_1_<32 hex>_<64 hex>)", NULL, NULL, org,
                                0);
    }

    pid = vt_strndup((const char *) key.public_id,
                     NGX_HTTP_VALIDIBOT_PUBLIC_ID_LEN);

    /* the module's own lookup: same script, same decoding, same rules */

    r = vt_cmd(ctx, "EVAL", NGX_HTTP_VALIDIBOT_SCRIPT, "1",
               vt_key(ctx, "key", pid, NULL), ctx->prefix, org ? org : "",
               pid, VT_END);

    if (ngx_http_validibot_reply_decode(r, &rec) != 0) {
        vt_wipe(token, strlen(token));
        vt_fail(VT_EXIT_REDIS, "store_error: key %s: the lookup's reply is "
                "not what the module expects (an over-long field?)", pid);
    }

    /* the module's check of what would become a header */

    if (rec.found
        && (!ngx_http_validibot_user_valid(
                                   rec.field[NGX_HTTP_VALIDIBOT_F_USER].data,
                                   rec.field[NGX_HTTP_VALIDIBOT_F_USER].len)
            || !ngx_http_validibot_roles_valid(
                           rec.field[NGX_HTTP_VALIDIBOT_F_MEMBER_ROLES].data,
                           rec.field[NGX_HTTP_VALIDIBOT_F_MEMBER_ROLES].len)))
    {
        vt_wipe(token, strlen(token));
        vt_fail(VT_EXIT_REDIS, "store_error: key %s: the stored user id or "
                "roles break the schema", pid);
    }

    memset(&chk, 0, sizeof(chk));
    chk.key = &key;
    chk.hmacs = hmacs;
    chk.nhmacs = nhmacs;
    chk.now = ctx->now;
    chk.leeway = 0;
    chk.org = org ? 1 : 0;
    chk.need = need;
    chk.nneed = nreq;

    status = ngx_http_validibot_check(&chk, &rec);

    vt_wipe(token, strlen(token));

    rc = vt_verify_result(ctx, status, chk.reason ? chk.reason : "",
                          pid, &rec, org, chk.roles);

    return rc;
}


/* import */

static char *
vt_read_file(const char *file, size_t *len)
{
    FILE    *f;
    char    *buf, *nb;
    size_t   cap, n;

    f = (strcmp(file, "-") == 0) ? stdin : fopen(file, "rb");

    if (f == NULL) {
        vt_fail(VT_EXIT_USAGE, "cannot read \"%s\": %s", file,
                strerror(errno));
    }

    cap = 65536;
    buf = vt_alloc(cap + 1);
    *len = 0;

    for ( ;; ) {
        n = fread(buf + *len, 1, cap - *len, f);
        *len += n;

        if (*len < cap) {
            break;
        }

        if (cap >= VT_IMPORT_MAX_BYTES) {
            vt_fail(VT_EXIT_USAGE, "\"%s\" is larger than 1 GiB", file);
        }

        nb = vt_alloc(cap * 2 + 1);
        memcpy(nb, buf, *len);
        buf = nb;
        cap *= 2;
    }

    if (ferror(f)) {
        vt_fail(VT_EXIT_USAGE, "cannot read \"%s\": %s", file,
                strerror(errno));
    }

    if (f != stdin) {
        fclose(f);
    }

    buf[*len] = '\0';

    return buf;
}


/* NULL: a time of "none"; else unix seconds as a string */

static const char *
vt_import_time(const char *file, size_t line, const vt_json_member_t *m)
{
    int64_t  t;

    if (m == NULL || m->type == VT_JSON_NULL
        || (m->type == VT_JSON_STRING && m->len == 0))
    {
        return NULL;
    }

    if ((m->type != VT_JSON_STRING && m->type != VT_JSON_NUMBER)
        || vt_parse_time(m->value, m->len, &t) != 0)
    {
        vt_fail(VT_EXIT_USAGE, "%s:%zu: %s: expected ISO 8601, unix "
                "seconds or null", file, line, m->name);
    }

    return t ? vt_sprintf("%lld", (long long) t) : NULL;
}


static const vt_json_member_t *
vt_member(vt_json_member_t *m, size_t n, const char *name, const char *alias)
{
    size_t             i;
    vt_json_member_t  *found;

    found = NULL;

    for (i = 0; i < n; i++) {
        if (strcmp(m[i].name, name) == 0
            || (alias && strcmp(m[i].name, alias) == 0))
        {
            /* the last one wins, as in most JSON readers */
            found = &m[i];
        }
    }

    return found;
}


static void
vt_import_line(const char *file, size_t line, const char *p, size_t len,
    vt_import_t *imp)
{
    char                    *d;
    size_t                   n, i;
    int64_t                  v;
    const char              *err;
    vt_json_member_t        *m;
    const vt_json_member_t  *f;

    err = vt_json_object(p, len, &m, &n);

    if (err) {
        vt_fail(VT_EXIT_USAGE, "%s:%zu: %s", file, line, err);
    }

    memset(imp, 0, sizeof(vt_import_t));
    imp->line = line;

    f = vt_member(m, n, "public_id", NULL);

    if (f == NULL || f->type != VT_JSON_STRING
        || ngx_http_validibot_check_public_id((unsigned char *) f->value,
                                              f->len)
           != 0)
    {
        vt_fail(VT_EXIT_USAGE, "%s:%zu: public_id: expected 32 lowercase "
                "hex digits", file, line);
    }

    imp->public_id = f->value;

    f = vt_member(m, n, "secret_digest", "digest");

    if (f == NULL || f->type != VT_JSON_STRING || f->len != 64) {
        vt_fail(VT_EXIT_USAGE, "%s:%zu: secret_digest: expected 64 hex "
                "digits", file, line);
    }

    d = vt_strndup(f->value, f->len);

    for (i = 0; i < 64; i++) {
        if (d[i] >= 'A' && d[i] <= 'F') {
            d[i] |= 0x20;
        }
    }

    if (!vt_valid_hex(d, 64)) {
        vt_fail(VT_EXIT_USAGE, "%s:%zu: secret_digest: expected 64 hex "
                "digits", file, line);
    }

    imp->digest = d;

    f = vt_member(m, n, "format_version", NULL);

    if (f && f->type != VT_JSON_NULL
        && !((f->type == VT_JSON_NUMBER || f->type == VT_JSON_STRING)
             && strcmp(f->value, "1") == 0))
    {
        vt_fail(VT_EXIT_USAGE, "%s:%zu: format_version: only 1 is supported",
                file, line);
    }

    f = vt_member(m, n, "digest_version", NULL);
    imp->digest_version = "1";

    if (f && f->type != VT_JSON_NULL) {
        if ((f->type != VT_JSON_NUMBER && f->type != VT_JSON_STRING)
            || f->len == 0 || f->len > 7 || f->value[0] == '0'
            || vt_int_field(f->value, &v) != 0 || v < 1 || v > 1000000)
        {
            vt_fail(VT_EXIT_USAGE, "%s:%zu: digest_version: expected an "
                    "integer from 1 to 1000000", file, line);
        }

        imp->digest_version = f->value;
    }

    f = vt_member(m, n, "user", "user_id");

    if (f == NULL
        || (f->type != VT_JSON_STRING && f->type != VT_JSON_NUMBER)
        || !vt_valid_user(f->value)
        || (f->type == VT_JSON_NUMBER && !vt_valid_digits(f->value)))
    {
        vt_fail(VT_EXIT_USAGE, "%s:%zu: user: expected a user id (1 to %d "
                "letters, digits or \"_-.@+\")", file, line, VT_MAX_USER);
    }

    imp->user = f->value;

    f = vt_member(m, n, "label", NULL);
    imp->label = VT_DEFAULT_LABEL;

    if (f && f->type != VT_JSON_NULL) {
        if (f->type != VT_JSON_STRING || !vt_valid_text(f->value, VT_MAX_TEXT))
        {
            vt_fail(VT_EXIT_USAGE, "%s:%zu: label: expected text of at most "
                    "%d bytes, no control characters", file, line,
                    VT_MAX_TEXT);
        }

        imp->label = f->value;
    }

    imp->created_at = vt_import_time(file, line,
                                     vt_member(m, n, "created", "created_at"));
    imp->expires_at = vt_import_time(file, line,
                                     vt_member(m, n, "expires_at", NULL));
    imp->revoked_at = vt_import_time(file, line,
                                     vt_member(m, n, "revoked_at", NULL));
    imp->last_used_at = vt_import_time(file, line,
                                       vt_member(m, n, "last_used_at", NULL));

    /* informational: a database row id is no public id, and is dropped */

    f = vt_member(m, n, "rotated_from", NULL);

    if (f && f->type == VT_JSON_STRING
        && ngx_http_validibot_check_public_id((unsigned char *) f->value,
                                              f->len)
           == 0)
    {
        imp->rotated_from = f->value;
    }
}


static int
vt_import_cmp(const void *a, const void *b)
{
    const vt_import_t  *x = a, *y = b;
    int                 c;

    c = strcmp(x->public_id, y->public_id);

    if (c) {
        return c;
    }

    return x->line < y->line ? -1 : (x->line > y->line);
}


int
vt_cmd_import(vt_ctx_t *ctx)
{
    int           argc;
    char         *buf, *p, *end, *nl, *e;
    size_t        len, line, n, cap, i;
    const char   *file, *ukey, *argv[24];
    vt_jw_t       j;
    vt_import_t  *imps, *ni;

    file = vt_opt(ctx, "jsonl");

    if (file == NULL) {
        vt_fail(VT_EXIT_USAGE, "--jsonl FILE is required");
    }

    buf = vt_read_file(file, &len);

    if (memchr(buf, '\0', len)) {
        vt_fail(VT_EXIT_USAGE, "%s: a NUL byte: not JSON Lines", file);
    }

    cap = 1024;
    imps = vt_alloc(cap * sizeof(vt_import_t));
    n = 0;

    for (p = buf, end = buf + len, line = 1; p < end; p = nl + 1, line++) {
        nl = memchr(p, '\n', end - p);

        if (nl == NULL) {
            nl = end;
        }

        for (e = nl; e > p && (e[-1] == '\r' || e[-1] == ' '
                               || e[-1] == '\t'); e--)
        {
            /* void */
        }

        if (e == p) {
            continue;
        }

        if (n == cap) {
            ni = vt_alloc(cap * 2 * sizeof(vt_import_t));
            memcpy(ni, imps, n * sizeof(vt_import_t));
            imps = ni;
            cap *= 2;
        }

        vt_import_line(file, line, p, e - p, &imps[n++]);
    }

    qsort(imps, n, sizeof(vt_import_t), vt_import_cmp);

    for (i = 1; i < n; i++) {
        if (strcmp(imps[i].public_id, imps[i - 1].public_id) == 0) {
            vt_fail(VT_EXIT_USAGE, "%s:%zu: public_id %s is also on line %zu",
                    file, imps[i].line, imps[i].public_id, imps[i - 1].line);
        }
    }

    if (!vt_flag(ctx, "dry-run") && n) {

        /* all or nothing: the export replaces what the ids had */

        vt_multi(ctx);

        for (i = 0; i < n; i++) {
            argc = 0;
            argv[argc++] = "HSET";
            argv[argc++] = vt_key(ctx, "key", imps[i].public_id, NULL);
            argv[argc++] = "user";
            argv[argc++] = imps[i].user;
            argv[argc++] = "digest";
            argv[argc++] = imps[i].digest;
            argv[argc++] = "digest_version";
            argv[argc++] = imps[i].digest_version;
            argv[argc++] = "label";
            argv[argc++] = imps[i].label;

#define vt_import_field(name)                                                 \
            if (imps[i].name) {                                               \
                argv[argc++] = #name;                                         \
                argv[argc++] = imps[i].name;                                  \
            }

            vt_import_field(created_at);
            vt_import_field(expires_at);
            vt_import_field(revoked_at);
            vt_import_field(rotated_from);

            vt_queue(ctx, "DEL", argv[1], VT_END);
            vt_queuev(ctx, argc, argv);

            /* usage lives in a record of its own (docs/redis-schema.md) */

            ukey = vt_key(ctx, "usage", imps[i].public_id, NULL);
            vt_queue(ctx, "DEL", ukey, VT_END);

            if (imps[i].last_used_at) {
                vt_queue(ctx, "HSET", ukey, "last_used_at",
                         imps[i].last_used_at, VT_END);
            }
        }

        if (vt_exec(ctx) != 0) {
            vt_fail(VT_EXIT_REDIS, "transaction aborted; nothing written");
        }
    }

    if (ctx->json) {
        vt_jw_init(&j, stdout);
        vt_jw_obj(&j);
        vt_jw_key(&j, vt_flag(ctx, "dry-run") ? "checked" : "imported");
        vt_jw_int(&j, (int64_t) n);
        vt_jw_key(&j, "dry_run");
        vt_jw_bool(&j, vt_flag(ctx, "dry-run"));
        vt_jw_end_obj(&j);
        vt_jw_done(&j);

    } else if (vt_flag(ctx, "dry-run")) {
        printf("checked %zu key%s; nothing written (dry run)\n", n,
               n == 1 ? "" : "s");

    } else {
        printf("imported %zu key%s\n", n, n == 1 ? "" : "s");
    }

    return VT_EXIT_OK;
}
