
/*
 * Copyright (C) The ngx_http_validibot_module authors
 *
 * validibot-token assertion verify: checks a signed identity assertion
 * (validibot_assertion, docs/upstream.md) with the module's own pure
 * verifier, for debugging an upstream that refuses one.
 */


#include <stdlib.h>
#include <string.h>

#include "vt.h"
#include "ngx_http_validibot_assertion.h"


#define VT_MAX_ASSERTION_KEYS   16
#define VT_MAX_ASSERTION        65536
#define VT_MAX_ASSERTION_KEY    4096
#define VT_DEFAULT_LEEWAY       30


static void vt_assertion_key(const char *file,
    ngx_http_validibot_assertion_key_t *key);
static void vt_assertion_expect(vt_ctx_t *ctx, const char *name,
    ngx_http_validibot_astr_t *s);
static void vt_assertion_str(vt_jw_t *j, const char *name,
    const ngx_http_validibot_astr_t *s);


int
vt_cmd_assertion_verify(vt_ctx_t *ctx)
{
    char                                   *tok, *save, *role;
    size_t                                  i, n, len, idx;
    int64_t                                 v;
    vt_jw_t                                 j;
    const char                             *files[VT_MAX_ASSERTION_KEYS];
    const char                             *opt;
    unsigned char                          *buf;
    ngx_http_validibot_claims_t             c;
    ngx_http_validibot_assertion_rc_e       rc;
    ngx_http_validibot_assertion_key_t      keys[VT_MAX_ASSERTION_KEYS];
    ngx_http_validibot_assertion_verify_t   vf;

    memset(&vf, 0, sizeof(vf));

    n = vt_opt_all(ctx, "key", files, VT_MAX_ASSERTION_KEYS);

    if (n == 0) {
        vt_fail(VT_EXIT_USAGE, "at least one --key FILE is needed");
    }

    for (i = 0; i < n; i++) {
        vt_assertion_key(files[i], &keys[i]);
    }

    vf.keys = keys;
    vf.nkeys = n;
    vf.now = ctx->now;
    vf.leeway = VT_DEFAULT_LEEWAY;

    opt = vt_opt(ctx, "now");

    if (opt) {
        if (vt_int_field(opt, &v) != 0 || *opt == '\0') {
            vt_fail(VT_EXIT_USAGE, "bad --now \"%s\": Unix seconds",
                    vt_sanitize(opt));
        }

        vf.now = v;
    }

    opt = vt_opt(ctx, "leeway");

    if (opt) {
        if (vt_duration(opt, &v) != 0 && (vt_int_field(opt, &v) != 0
                                          || *opt == '\0'))
        {
            vt_fail(VT_EXIT_USAGE, "bad --leeway \"%s\"", vt_sanitize(opt));
        }

        vf.leeway = v;
    }

    vt_assertion_expect(ctx, "issuer", &vf.iss);
    vt_assertion_expect(ctx, "audience", &vf.aud);
    vt_assertion_expect(ctx, "method", &vf.htm);
    vt_assertion_expect(ctx, "path", &vf.htu);

    tok = (ctx->nargs > 0) ? vt_strdup(ctx->args[0])
                          : vt_read_line(VT_MAX_ASSERTION);
    len = strlen(tok);

    buf = vt_alloc(len + 1);

    rc = ngx_http_validibot_assertion_verify(&vf, (unsigned char *) tok, len,
                                             &c, buf, &idx);

    if (rc != NGX_HTTP_VALIDIBOT_ASSERTION_OK) {
        if (ctx->json) {
            vt_jw_init(&j, stdout);
            vt_jw_obj(&j);
            vt_jw_key(&j, "valid");
            vt_jw_bool(&j, 0);
            vt_jw_key(&j, "reason");
            vt_jw_str(&j, ngx_http_validibot_assertion_strerror(rc));
            vt_jw_end_obj(&j);
            vt_jw_done(&j);
        }

        fprintf(stderr, "validibot-token: assertion invalid: %s\n",
                ngx_http_validibot_assertion_strerror(rc));

        return VT_EXIT_NOT_FOUND;
    }

    /* the same JSON for people and programs: the claims are JSON anyway */

    vt_jw_init(&j, stdout);
    vt_jw_obj(&j);
    vt_jw_key(&j, "valid");
    vt_jw_bool(&j, 1);
    vt_jw_key(&j, "signed_by");
    vt_jw_strn(&j, (const char *) keys[idx].kid, keys[idx].kid_len);
    vt_jw_key(&j, "claims");
    vt_jw_obj(&j);
    vt_assertion_str(&j, "iss", &c.iss);
    vt_assertion_str(&j, "aud", &c.aud);
    vt_assertion_str(&j, "sub", &c.sub);

    if (c.org.data) {
        vt_assertion_str(&j, "org", &c.org);
    }

    if (c.roles.data) {
        vt_jw_key(&j, "roles");
        vt_jw_arr(&j);

        role = vt_strndup((const char *) c.roles.data, c.roles.len);

        for (role = strtok_r(role, ",", &save); role;
             role = strtok_r(NULL, ",", &save))
        {
            vt_jw_str(&j, role);
        }

        vt_jw_end_arr(&j);
    }

    vt_assertion_str(&j, "kid", &c.kid);
    vt_jw_key(&j, "iat");
    vt_jw_int(&j, c.iat);
    vt_jw_key(&j, "exp");
    vt_jw_int(&j, c.exp);
    vt_assertion_str(&j, "jti", &c.jti);
    vt_assertion_str(&j, "htm", &c.htm);
    vt_assertion_str(&j, "htu", &c.htu);
    vt_jw_end_obj(&j);
    vt_jw_end_obj(&j);
    vt_jw_done(&j);

    return VT_EXIT_OK;
}


/* the module's rules: kid from the file name, at least 32 bytes */

static void
vt_assertion_key(const char *file, ngx_http_validibot_assertion_key_t *key)
{
    size_t          n, len, klen;
    const char     *base;
    unsigned char  *buf;

    base = strrchr(file, '/');
    base = base ? base + 1 : file;

    klen = strlen(base);

    if (klen > 4 && strcmp(base + klen - 4, ".key") == 0) {
        klen -= 4;
    }

    if (!ngx_http_validibot_assertion_kid_valid((const unsigned char *) base,
                                                klen))
    {
        vt_fail(VT_EXIT_USAGE, "--key \"%s\": its name is not a valid kid "
                "(1 to 64 of letters, digits, \".\", \"_\", \"-\", before "
                "\".key\")", vt_sanitize(file));
    }

    buf = vt_read_secret(file, VT_MAX_ASSERTION_KEY, &n, "--key file");

    len = ngx_http_validibot_digest_key_trim(buf, n);

    if (ngx_http_validibot_assertion_key_init(key, (const unsigned char *) base,
                                              klen, buf, len)
        != 0)
    {
        vt_wipe(buf, n);
        vt_fail(VT_EXIT_USAGE, "--key \"%s\": %zu bytes, at least %d are "
                "needed", vt_sanitize(file), len,
                NGX_HTTP_VALIDIBOT_ASSERTION_KEY_MIN);
    }

    vt_wipe(buf, n);
}


static void
vt_assertion_expect(vt_ctx_t *ctx, const char *name,
    ngx_http_validibot_astr_t *s)
{
    const char  *v;

    v = vt_opt(ctx, name);

    if (v) {
        s->data = (const unsigned char *) v;
        s->len = strlen(v);
    }
}


static void
vt_assertion_str(vt_jw_t *j, const char *name,
    const ngx_http_validibot_astr_t *s)
{
    vt_jw_key(j, name);
    vt_jw_strn(j, (const char *) s->data, s->len);
}
