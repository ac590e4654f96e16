
/*
 * Copyright (C) The ngx_http_validibot_module authors
 *
 * Roles and permissions: every code against every role, written out here
 * from Validibot's table rather than derived from the code under test.
 */


#include "tap.h"
#include "ngx_http_validibot_roles.h"


#define len(s)  (sizeof(s) - 1)


static const char  *roles[] = {
    "owner", "admin", "author", "executor", "analytics_viewer",
    "workflow_viewer", "validation_results_viewer"
};


static const struct {
    const char  *code;
    const char  *grants;        /* per role above: 1 grants */
    int          role;
} table[] = {
    { "owner",                        "1000000", 1 },
    { "admin",                        "1100000", 1 },
    { "author",                       "1110000", 1 },
    { "executor",                     "1101000", 1 },
    { "analytics_viewer",             "1100100", 1 },
    { "workflow_viewer",              "1100010", 1 },
    { "validation_results_viewer",    "1100001", 1 },
    { "workflow_launch",              "1101000", 0 },
    { "workflow_view",                "1111011", 0 },
    { "workflow_edit",                "1110000", 0 },
    { "validator_view",               "1110000", 0 },
    { "validator_edit",               "1110000", 0 },
    { "guest_invite",                 "1110000", 0 },
    { "validation_results_view_all",  "1110001", 0 },
    { "validation_results_view_own",  "1111001", 0 },
    { "analytics_view",               "1110100", 0 },
    { "analytics_review",             "1110100", 0 },
    { "admin_manage_org",             "1100000", 0 }
};


static uint32_t
mask(const char *code)
{
    return ngx_http_validibot_code_mask((const unsigned char *) code,
                                        strlen(code));
}


static uint32_t
parse(const char *s)
{
    return ngx_http_validibot_roles_parse((const unsigned char *) s,
                                          strlen(s));
}


static int
is_role(const char *code)
{
    return ngx_http_validibot_code_is_role((const unsigned char *) code,
                                           strlen(code));
}


int
main(void)
{
    size_t         i, j, n, bad;
    uint32_t       held, m;
    unsigned char  buf[NGX_HTTP_VALIDIBOT_ROLES_MAX_LEN], big[8192];

    /* every code against a membership holding exactly one role */

    for (i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
        m = mask(table[i].code);

        for (j = 0; j < 7; j++) {
            held = parse(roles[j]);

            ok(((held & m) != 0) == (table[i].grants[j] == '1'),
               "%s %s %s", roles[j],
               table[i].grants[j] == '1' ? "satisfies" : "does not satisfy",
               table[i].code);
        }

        ok(is_role(table[i].code) == table[i].role, "%s is %sa role",
           table[i].code, table[i].role ? "" : "not ");
    }

    /* the role bits */

    ok(parse("owner") == NGX_HTTP_VALIDIBOT_ROLE_OWNER, "owner bit");
    ok(parse("admin") == NGX_HTTP_VALIDIBOT_ROLE_ADMIN, "admin bit");
    ok(parse("author") == NGX_HTTP_VALIDIBOT_ROLE_AUTHOR, "author bit");
    ok(parse("executor") == NGX_HTTP_VALIDIBOT_ROLE_EXECUTOR, "executor bit");
    ok(parse("analytics_viewer") == NGX_HTTP_VALIDIBOT_ROLE_ANALYTICS_VIEWER,
       "analytics_viewer bit");
    ok(parse("workflow_viewer") == NGX_HTTP_VALIDIBOT_ROLE_WORKFLOW_VIEWER,
       "workflow_viewer bit");
    ok(parse("validation_results_viewer")
       == NGX_HTTP_VALIDIBOT_ROLE_VALIDATION_RESULTS_VIEWER,
       "validation_results_viewer bit");

    /* case and unknown codes */

    ok(mask("EXECUTOR") == mask("executor"), "EXECUTOR = executor");
    ok(mask("Workflow_Launch") == mask("workflow_launch"),
       "Workflow_Launch = workflow_launch");
    ok(mask("ADMIN_MANAGE_ORG") == mask("admin_manage_org"),
       "ADMIN_MANAGE_ORG = admin_manage_org");
    ok(is_role("Owner"), "Owner is a role");
    ok(mask("") == 0, "empty code unknown");
    ok(mask("superuser") == 0, "superuser unknown");
    ok(mask("owne") == 0, "owne unknown");
    ok(mask("ownerx") == 0, "ownerx unknown");
    ok(mask("owner ") == 0, "owner+SP unknown");
    ok(mask("workflow-launch") == 0, "workflow-launch unknown");
    ok(ngx_http_validibot_code_mask((const unsigned char *) "owner\0", 6)
       == 0, "owner+NUL unknown");
    ok(ngx_http_validibot_code_mask(NULL, 5) == 0, "NULL unknown");
    ok(!is_role("superuser"), "superuser is not a role");
    ok(!is_role("workflow_launch"), "workflow_launch is not a role");
    ok(ngx_http_validibot_code_is_role(NULL, 0) == 0, "NULL is not a role");

    /* roles_parse */

    ok(parse("author,executor") == (NGX_HTTP_VALIDIBOT_ROLE_AUTHOR
                                    | NGX_HTTP_VALIDIBOT_ROLE_EXECUTOR),
       "author,executor");
    ok(parse(" Author ,\tEXECUTOR\t") == (NGX_HTTP_VALIDIBOT_ROLE_AUTHOR
                                          | NGX_HTTP_VALIDIBOT_ROLE_EXECUTOR),
       "blanks and case ignored");
    ok(parse("owner,,admin") == (NGX_HTTP_VALIDIBOT_ROLE_OWNER
                                 | NGX_HTTP_VALIDIBOT_ROLE_ADMIN),
       "empty item skipped");
    ok(parse(",owner,") == NGX_HTTP_VALIDIBOT_ROLE_OWNER,
       "leading and trailing commas");
    ok(parse("owner,owner") == NGX_HTTP_VALIDIBOT_ROLE_OWNER, "repeated");
    ok(parse("bogus,executor,new_role") == NGX_HTTP_VALIDIBOT_ROLE_EXECUTOR,
       "unknown codes skipped");
    ok(parse("workflow_launch,admin_manage_org") == 0,
       "permission codes grant nothing as roles");
    ok(parse("") == 0, "empty");
    ok(parse(",") == 0, "comma");
    ok(parse(" ") == 0, "blank");
    ok(ngx_http_validibot_roles_parse(NULL, 10) == 0, "NULL");
    ok(ngx_http_validibot_roles_parse((const unsigned char *) "owner\0admin",
                                      len("owner\0admin")) == 0,
       "NUL inside an item: unknown");
    ok(ngx_http_validibot_roles_parse((const unsigned char *) "owner,\0",
                                      len("owner,\0"))
       == NGX_HTTP_VALIDIBOT_ROLE_OWNER, "NUL item skipped");
    ok(parse("owner;admin") == 0, "semicolon is not a separator");
    ok(parse("owner admin") == 0, "space is not a separator");

    memset(big, ',', sizeof(big));
    ok(ngx_http_validibot_roles_parse(big, sizeof(big)) == 0,
       "8 KB of commas");
    memcpy(big + sizeof(big) - 8, "executor", 8);
    ok(ngx_http_validibot_roles_parse(big, sizeof(big))
       == NGX_HTTP_VALIDIBOT_ROLE_EXECUTOR, "role after 8 KB of commas");

    /* roles_format */

    n = ngx_http_validibot_roles_format(0x7f, buf);
    ok(n == len("owner,admin,author,executor,analytics_viewer,"
                "workflow_viewer,validation_results_viewer")
       && memcmp(buf, "owner,admin,author,executor,analytics_viewer,"
                 "workflow_viewer,validation_results_viewer", n) == 0,
       "every role, canonical order");
    ok(n <= NGX_HTTP_VALIDIBOT_ROLES_MAX_LEN, "fits ROLES_MAX_LEN (%zu)", n);

    ok(ngx_http_validibot_roles_format(0, buf) == 0, "empty mask -> 0");
    ok(ngx_http_validibot_roles_format(0xffffff80, buf) == 0,
       "unknown bits ignored");

    n = ngx_http_validibot_roles_format(NGX_HTTP_VALIDIBOT_ROLE_EXECUTOR
                                        | NGX_HTTP_VALIDIBOT_ROLE_AUTHOR,
                                        buf);
    ok(n == len("author,executor") && memcmp(buf, "author,executor", n) == 0,
       "author,executor");

    for (bad = 0, m = 0; m < 128; m++) {
        n = ngx_http_validibot_roles_format(m, buf);
        bad += ngx_http_validibot_roles_parse(buf, n) != m;
    }

    ok(bad == 0, "parse(format(m)) == m for all 128 sets (%zu differ)", bad);

    return tap_done();
}
