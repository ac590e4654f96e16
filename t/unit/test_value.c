
/*
 * Copyright (C) The ngx_http_validibot_module authors
 *
 * ngx_http_validibot_value.c: identity header names in every spelling an
 * upstream maps to HTTP_X_VALIDIBOT_*, the grammar of user ids and roles,
 * and the UTF-8 prefix whoami's JSON is cut with.  Prints TAP.
 */


#include "tap.h"
#include "ngx_http_validibot_value.h"


int
main(void)
{
    int            valid;
    size_t         n;
    unsigned char  user[NGX_HTTP_VALIDIBOT_USER_MAX_LEN + 1];

    /* header names, lowercased as nginx keeps them */

    ok(ngx_http_validibot_identity_header(S("x-validibot-user")), "dashes");
    ok(ngx_http_validibot_identity_header(S("x_validibot_user")),
       "underscores");
    ok(ngx_http_validibot_identity_header(S("x-validibot_org")), "mixed");
    ok(ngx_http_validibot_identity_header(S("x_validibot-roles")), "mixed 2");
    ok(ngx_http_validibot_identity_header(S("x-validibot-x")), "any suffix");
    ok(!ngx_http_validibot_identity_header(S("x-validibot-")),
       "bare prefix kept");
    ok(!ngx_http_validibot_identity_header(S("x-validibot")), "shorter kept");
    ok(!ngx_http_validibot_identity_header(S("x-validibotuser")),
       "no separator kept");
    ok(!ngx_http_validibot_identity_header(S("x.validibot-user")),
       "dot kept");
    ok(!ngx_http_validibot_identity_header(S("xx-validibot-user")),
       "other prefix kept");
    ok(!ngx_http_validibot_identity_header(S("")), "empty kept");

    /* user ids */

    ok(ngx_http_validibot_user_valid(S("42")), "digits");
    ok(ngx_http_validibot_user_valid(S("a.b-c_d@e+f")), "all punctuation");
    ok(!ngx_http_validibot_user_valid(S("")), "empty refused");
    ok(!ngx_http_validibot_user_valid(S("5\r\nX-Validibot-Org: evil")),
       "CR LF refused");
    ok(!ngx_http_validibot_user_valid(S("a b")), "space refused");
    ok(!ngx_http_validibot_user_valid(S("a:b")), "colon refused");
    ok(!ngx_http_validibot_user_valid(S("a\0b")), "NUL refused");
    ok(!ngx_http_validibot_user_valid(S("\xc3\xa9")), "non-ASCII refused");

    memset(user, '7', sizeof(user));
    ok(ngx_http_validibot_user_valid(user, NGX_HTTP_VALIDIBOT_USER_MAX_LEN),
       "128 bytes");
    ok(!ngx_http_validibot_user_valid(user,
                                      NGX_HTTP_VALIDIBOT_USER_MAX_LEN + 1),
       "129 bytes refused");

    /* roles */

    ok(ngx_http_validibot_roles_valid(S("")), "no roles");
    ok(ngx_http_validibot_roles_valid(S("author,executor")), "list");
    ok(ngx_http_validibot_roles_valid(S("OWNER, Admin")), "case, space");
    ok(!ngx_http_validibot_roles_valid(S("executor\r\nX-Evil: 1")),
       "CR LF refused");
    ok(!ngx_http_validibot_roles_valid(S("a;b")), "semicolon refused");

    /* raw paths */

    ok(!ngx_http_validibot_path_ambiguous(S("/api/v1/orgs/o0/workflows/")),
       "plain path");
    ok(!ngx_http_validibot_path_ambiguous(S("/")), "root");
    ok(!ngx_http_validibot_path_ambiguous(S("/a/.b/..c/b..")),
       "dots inside names");
    ok(!ngx_http_validibot_path_ambiguous(S("/a%20b%41")), "other escapes");
    ok(!ngx_http_validibot_path_ambiguous(S("/a?x=../%2F//\\")),
       "the query is not the path");
    ok(!ngx_http_validibot_path_ambiguous(S("/a#/../")),
       "neither is a fragment");
    ok(ngx_http_validibot_path_ambiguous(S("/a/../b")), "..");
    ok(ngx_http_validibot_path_ambiguous(S("/a/./b")), ".");
    ok(ngx_http_validibot_path_ambiguous(S("/a/..")), "trailing ..");
    ok(ngx_http_validibot_path_ambiguous(S("/a/.")), "trailing .");
    ok(ngx_http_validibot_path_ambiguous(S("/a/..?x")), ".. before query");
    ok(ngx_http_validibot_path_ambiguous(S("//a")), "leading //");
    ok(ngx_http_validibot_path_ambiguous(S("/a//b")), "inner //");
    ok(ngx_http_validibot_path_ambiguous(S("/a%2Fb")), "%%2F");
    ok(ngx_http_validibot_path_ambiguous(S("/a%2fb")), "%%2f");
    ok(ngx_http_validibot_path_ambiguous(S("/a%2e%2E/b")), "%%2e");
    ok(ngx_http_validibot_path_ambiguous(S("/a%5cb")), "%%5c");
    ok(ngx_http_validibot_path_ambiguous(S("/a\\b")), "backslash");
    ok(!ngx_http_validibot_path_ambiguous(S("/a%2")), "cut escape");

    /* UTF-8 */

    n = ngx_http_validibot_utf8_prefix(S("abc"), 3, &valid);
    ok(n == 3 && valid, "ASCII");
    n = ngx_http_validibot_utf8_prefix(S("a\xc3\xa9z"), 4, &valid);
    ok(n == 4 && valid, "two-byte");
    n = ngx_http_validibot_utf8_prefix(S("a\xc3\xa9z"), 2, &valid);
    ok(n == 1 && valid, "never cuts a character");
    n = ngx_http_validibot_utf8_prefix(S("\xf0\x9f\x98\x80"), 4, &valid);
    ok(n == 4 && valid, "four-byte");
    n = ngx_http_validibot_utf8_prefix(S("a\xffz"), 3, &valid);
    ok(n == 1 && !valid, "0xff invalid");
    n = ngx_http_validibot_utf8_prefix(S("a\xe2\x82"), 3, &valid);
    ok(n == 1 && !valid, "truncated sequence invalid");
    n = ngx_http_validibot_utf8_prefix(S("\xc0\xaf"), 2, &valid);
    ok(n == 0 && !valid, "overlong invalid");
    n = ngx_http_validibot_utf8_prefix(S("\xed\xa0\x80"), 3, &valid);
    ok(n == 0 && !valid, "surrogate invalid");
    n = ngx_http_validibot_utf8_prefix(S("\xf4\x90\x80\x80"), 4, &valid);
    ok(n == 0 && !valid, "beyond U+10FFFF invalid");
    n = ngx_http_validibot_utf8_prefix(S("\x80"), 1, &valid);
    ok(n == 0 && !valid, "lone continuation invalid");

    return tap_done();
}
