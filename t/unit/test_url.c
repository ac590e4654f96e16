
/*
 * Copyright (C) The ngx_http_validibot_module authors
 *
 * ngx_http_validibot_url_parse(): every accepted form and every refusal.
 * Prints TAP.  Needs only src/ngx_http_validibot_url.c.
 */


#include "tap.h"
#include "ngx_http_validibot_url.h"


typedef struct {
    const char  *url;
    const char  *error;          /* NULL: must parse */
    unsigned     unix_socket;
    const char  *host;
    unsigned     port;
    const char  *path;
    const char  *user;
    const char  *password;       /* NULL: no AUTH */
    unsigned     db;
} test_url_case_t;


static test_url_case_t  cases[] = {

    /* accepted */
    { "redis://127.0.0.1:6379/0", NULL, 0, "127.0.0.1", 6379, NULL, "",
      NULL, 0 },
    { "redis://127.0.0.1", NULL, 0, "127.0.0.1", 6379, NULL, "", NULL, 0 },
    { "redis://localhost:7000", NULL, 0, "localhost", 7000, NULL, "", NULL,
      0 },
    { "redis://redis.example.com/3", NULL, 0, "redis.example.com", 6379,
      NULL, "", NULL, 3 },
    { "redis://h/", NULL, 0, "h", 6379, NULL, "", NULL, 0 },
    { "redis://h:1/15999", NULL, 0, "h", 1, NULL, "", NULL, 15999 },
    { "redis://h:65535", NULL, 0, "h", 65535, NULL, "", NULL, 0 },
    { "redis://my_host-1.local:06380", NULL, 0, "my_host-1.local", 6380,
      NULL, "", NULL, 0 },
    { "REDIS://Host", NULL, 0, "Host", 6379, NULL, "", NULL, 0 },
    { "redis://:secret@h", NULL, 0, "h", 6379, NULL, "", "secret", 0 },
    { "redis://alice:secret@h:6380/2", NULL, 0, "h", 6380, NULL, "alice",
      "secret", 2 },
    { "redis://alice:p@ss:w/rd@h/1", NULL, 0, "h", 6379, NULL, "alice",
      "p@ss:w/rd", 1 },
    { "redis://alice:%40x@h", NULL, 0, "h", 6379, NULL, "alice", "%40x",
      0 },
    { "redis://[::1]", NULL, 0, "::1", 6379, NULL, "", NULL, 0 },
    { "redis://[::1]:6380/4", NULL, 0, "::1", 6380, NULL, "", NULL, 4 },
    { "redis://:pw@[fe80::1:2]:1", NULL, 0, "fe80::1:2", 1, NULL, "", "pw",
      0 },
    { "redis://[::ffff:127.0.0.1]", NULL, 0, "::ffff:127.0.0.1", 6379,
      NULL, "", NULL, 0 },
    { "unix:/run/redis/redis.sock", NULL, 1, "", 6379,
      "/run/redis/redis.sock", "", NULL, 0 },
    { "unix:/tmp/r.sock?db=7", NULL, 1, "", 6379, "/tmp/r.sock", "", NULL,
      7 },
    { "UNIX:/r", NULL, 1, "", 6379, "/r", "", NULL, 0 },
    { "unix:/a/b c", NULL, 1, "", 6379, "/a/b c", "", NULL, 0 },
    { "unix:/0123456789012345678901234567890123456789012345678901234567890"
      "123456789012345678901234567890123456789012345", NULL, 1, "", 6379,
      "/0123456789012345678901234567890123456789012345678901234567890"
      "123456789012345678901234567890123456789012345", "", NULL, 0 },

    /* refused */
    { "", "empty URL", 0, NULL, 0, NULL, NULL, NULL, 0 },
    { "redisss://h", "unsupported scheme", 0, NULL, 0, NULL, NULL, NULL,
      0 },
    { "rediss:/h", "unsupported scheme", 0, NULL, 0, NULL, NULL, NULL, 0 },
    { "rediss://", "missing host", 0, NULL, 0, NULL, NULL, NULL, 0 },
    { "http://h", "unsupported scheme", 0, NULL, 0, NULL, NULL, NULL, 0 },
    { "127.0.0.1:6379", "unsupported scheme", 0, NULL, 0, NULL, NULL, NULL,
      0 },
    { "redis:/h", "unsupported scheme", 0, NULL, 0, NULL, NULL, NULL, 0 },
    { "redis", "unsupported scheme", 0, NULL, 0, NULL, NULL, NULL, 0 },
    { "redis://", "missing host", 0, NULL, 0, NULL, NULL, NULL, 0 },
    { "redis://:6379", "missing host", 0, NULL, 0, NULL, NULL, NULL, 0 },
    { "redis:///0", "missing host", 0, NULL, 0, NULL, NULL, NULL, 0 },
    { "redis://::1", "missing host", 0, NULL, 0, NULL, NULL, NULL, 0 },
    { "redis://h st", "invalid host", 0, NULL, 0, NULL, NULL, NULL, 0 },
    { "redis://h?x=1", "invalid host", 0, NULL, 0, NULL, NULL, NULL, 0 },
    { "redis://[]", "invalid host", 0, NULL, 0, NULL, NULL, NULL, 0 },
    { "redis://[::1", "invalid host", 0, NULL, 0, NULL, NULL, NULL, 0 },
    { "redis://[::g]", "invalid host", 0, NULL, 0, NULL, NULL, NULL, 0 },
    { "redis://[::1]x", "invalid host", 0, NULL, 0, NULL, NULL, NULL, 0 },
    { "redis://h:", "invalid port", 0, NULL, 0, NULL, NULL, NULL, 0 },
    { "redis://h:0", "invalid port", 0, NULL, 0, NULL, NULL, NULL, 0 },
    { "redis://h:65536", "invalid port", 0, NULL, 0, NULL, NULL, NULL, 0 },
    { "redis://h:99999999999", "invalid port", 0, NULL, 0, NULL, NULL, NULL,
      0 },
    { "redis://h:-1", "invalid port", 0, NULL, 0, NULL, NULL, NULL, 0 },
    { "redis://h:1:2", "invalid port", 0, NULL, 0, NULL, NULL, NULL, 0 },
    { "redis://h:x", "invalid port", 0, NULL, 0, NULL, NULL, NULL, 0 },
    { "redis://[::1]:", "invalid port", 0, NULL, 0, NULL, NULL, NULL, 0 },
    { "redis://h/16000", "invalid db", 0, NULL, 0, NULL, NULL, NULL, 0 },
    { "redis://h/x", "invalid db", 0, NULL, 0, NULL, NULL, NULL, 0 },
    { "redis://h/1/", "invalid db", 0, NULL, 0, NULL, NULL, NULL, 0 },
    { "redis://h/-1", "invalid db", 0, NULL, 0, NULL, NULL, NULL, 0 },
    { "redis://h/0?timeout=1", "invalid db", 0, NULL, 0, NULL, NULL, NULL,
      0 },
    { "redis://user@h", "missing password", 0, NULL, 0, NULL, NULL, NULL,
      0 },
    { "redis://@h", "missing password", 0, NULL, 0, NULL, NULL, NULL, 0 },
    { "redis://user:@h", "empty password", 0, NULL, 0, NULL, NULL, NULL,
      0 },
    { "redis://:@h", "empty password", 0, NULL, 0, NULL, NULL, NULL, 0 },
    { "redis://u:p w@h", "invalid character in user or password", 0, NULL,
      0, NULL, NULL, NULL, 0 },
    { "redis://:pw@", "missing host", 0, NULL, 0, NULL, NULL, NULL, 0 },
    { "unix:", "invalid unix socket path", 0, NULL, 0, NULL, NULL, NULL,
      0 },
    { "unix:relative.sock", "invalid unix socket path", 0, NULL, 0, NULL,
      NULL, NULL, 0 },
    { "unix:?db=1", "invalid unix socket path", 0, NULL, 0, NULL, NULL,
      NULL, 0 },
    { "unix:/a\nb", "invalid unix socket path", 0, NULL, 0, NULL, NULL,
      NULL, 0 },
    { "unix:/0123456789012345678901234567890123456789012345678901234567890"
      "1234567890123456789012345678901234567890123456", "unix socket path "
      "too long", 0, NULL, 0, NULL, NULL, NULL, 0 },
    { "unix:/r?", "invalid db", 0, NULL, 0, NULL, NULL, NULL, 0 },
    { "unix:/r?db=", "invalid db", 0, NULL, 0, NULL, NULL, NULL, 0 },
    { "unix:/r?db=16000", "invalid db", 0, NULL, 0, NULL, NULL, NULL, 0 },
    { "unix:/r?database=1", "invalid db", 0, NULL, 0, NULL, NULL, NULL, 0 },
    { "unix:/r?db=1&x=2", "invalid db", 0, NULL, 0, NULL, NULL, NULL, 0 },
};


/* the URL as a printable TAP description: control bytes escaped */

static const char *
show(const char *url)
{
    char         *p;
    static char   buf[512];

    for (p = buf; *url && p < buf + sizeof(buf) - 5; url++) {
        if ((unsigned char) *url < 0x20) {
            p += sprintf(p, "\\x%02x", (unsigned char) *url);

        } else {
            *p++ = *url;
        }
    }

    *p = '\0';

    return buf;
}


static int
part_is(const ngx_http_validibot_url_part_t *part, const char *s)
{
    if (s == NULL) {
        return part->data == NULL;
    }

    return part->len == strlen(s)
           && (part->len == 0 || memcmp(part->data, s, part->len) == 0);
}


int
main(void)
{
    size_t                     i, n;
    const char                *err, *u;
    test_url_case_t           *c;
    ngx_http_validibot_url_t   url;

    n = sizeof(cases) / sizeof(cases[0]);

    for (i = 0; i < n; i++) {
        c = &cases[i];
        u = show(c->url);

        err = ngx_http_validibot_url_parse((const unsigned char *) c->url,
                                           strlen(c->url), &url);

        if (c->error) {
            if (!ok(err != NULL && strcmp(err, c->error) == 0, "%s: %s", u,
                    c->error))
            {
                printf("# got \"%s\"\n", err ? err : "(accepted)");
            }

            continue;
        }

        if (!ok(err == NULL, "%s: parses", u)) {
            printf("# got \"%s\"\n", err);
        }

        ok(url.unix_socket == c->unix_socket, "%s: unix_socket", u);
        ok(c->unix_socket ? part_is(&url.path, c->path)
                          : part_is(&url.host, c->host),
           "%s: host or path", u);
        ok(url.port == c->port, "%s: port", u);
        ok(part_is(&url.user, c->user), "%s: user", u);
        ok(part_is(&url.password, c->password), "%s: password", u);
        ok(url.db == c->db, "%s: db", u);
    }

    /* rediss://: the same syntax, and the tls flag; only there */
    err = ngx_http_validibot_url_parse((const unsigned char *)
                                       "rediss://u:pw@redis.example.com:6380/2",
                                       38, &url);
    ok(err == NULL && url.tls == 1 && url.port == 6380 && url.db == 2
       && part_is(&url.host, "redis.example.com") && part_is(&url.user, "u")
       && part_is(&url.password, "pw"),
       "rediss://u:pw@redis.example.com:6380/2: tls, every part");

    err = ngx_http_validibot_url_parse((const unsigned char *) "REDISS://h",
                                       10, &url);
    ok(err == NULL && url.tls == 1 && url.port == 6379, "REDISS://h: tls");

    err = ngx_http_validibot_url_parse((const unsigned char *) "redis://h",
                                       9, &url);
    ok(err == NULL && url.tls == 0, "redis://h: no tls");

    err = ngx_http_validibot_url_parse((const unsigned char *) "unix:/r", 7,
                                       &url);
    ok(err == NULL && url.tls == 0, "unix:/r: no tls");

    /* sentinel:// */
    {
        size_t       i;
        static const struct {
            const char  *url;
            const char  *error;
            unsigned     n;
            const char  *host0, *host_last;
            unsigned     port0, port_last;
            const char  *master, *user, *password;
            unsigned     db;
        } st[] = {
            { "sentinel://127.0.0.1:26379,127.0.0.1:26380,h3/mymaster",
              NULL, 3, "127.0.0.1", "h3", 26379, 26379, "mymaster", "",
              NULL, 0 },
            { "sentinel://u:p@w:rd@s1:1,[::1]:2/m.a-s_t/3", NULL, 2, "s1",
              "::1", 1, 2, "m.a-s_t", "u", "p@w:rd", 3 },
            { "SENTINEL://s/m/", NULL, 1, "s", "s", 26379, 26379, "m", "",
              NULL, 0 },
            { "sentinel://s", "missing master name", 0, 0, 0, 0, 0, 0, 0,
              0, 0 },
            { "sentinel://s/", "missing master name", 0, 0, 0, 0, 0, 0, 0,
              0, 0 },
            { "sentinel://s//1", "invalid master name", 0, 0, 0, 0, 0, 0, 0,
              0, 0 },
            { "sentinel://s/m m", "invalid master name", 0, 0, 0, 0, 0, 0,
              0, 0, 0 },
            { "sentinel://s/m/x", "invalid db", 0, 0, 0, 0, 0, 0, 0, 0, 0 },
            { "sentinel://s,,t/m", "missing host", 0, 0, 0, 0, 0, 0, 0, 0,
              0 },
            { "sentinel://s,/m", "missing host", 0, 0, 0, 0, 0, 0, 0, 0, 0 },
            { "sentinel:///m", "missing host", 0, 0, 0, 0, 0, 0, 0, 0, 0 },
            { "sentinel://s:0/m", "invalid port", 0, 0, 0, 0, 0, 0, 0, 0,
              0 },
            { "sentinel://a,b,c,d,e,f,g,h,i/m", "too many sentinels", 0, 0,
              0, 0, 0, 0, 0, 0, 0 },
            { "sentinel://a,b,c,d,e,f,g,h/m", NULL, 8, "a", "h", 26379,
              26379, "m", "", NULL, 0 },
            { "sentinel://u@s/m", "missing password", 0, 0, 0, 0, 0, 0, 0,
              0, 0 },
            { "sentinel://s/"
              "m123456789012345678901234567890123456789012345678901234567890"
              "1234", "invalid master name", 0, 0, 0, 0, 0, 0, 0, 0, 0 },
        };

        for (i = 0; i < sizeof(st) / sizeof(st[0]); i++) {
            err = ngx_http_validibot_url_parse(
                      (const unsigned char *) st[i].url, strlen(st[i].url),
                      &url);

            if (st[i].error) {
                ok(err && strcmp(err, st[i].error) == 0, "%s: %s",
                   st[i].url, st[i].error);
                if (err == NULL || strcmp(err, st[i].error) != 0) {
                    printf("# got \"%s\"\n", err ? err : "(accepted)");
                }
                continue;
            }

            ok(err == NULL && url.sentinel && url.nsentinels == st[i].n
               && part_is(&url.sentinel_host[0], st[i].host0)
               && part_is(&url.sentinel_host[st[i].n - 1], st[i].host_last)
               && url.sentinel_port[0] == st[i].port0
               && url.sentinel_port[st[i].n - 1] == st[i].port_last
               && part_is(&url.master, st[i].master)
               && part_is(&url.user, st[i].user)
               && part_is(&url.password, st[i].password)
               && url.db == st[i].db && url.tls == 0,
               "%s: every part", st[i].url);
            if (err) {
                printf("# got \"%s\"\n", err);
            }
        }
    }

    /* the length is honoured: bytes past len are not read */
    err = ngx_http_validibot_url_parse((const unsigned char *)
                                       "redis://h:6379/1garbage", 16, &url);
    ok(err == NULL && url.port == 6379 && url.db == 1,
       "stops at len (redis://h:6379/1garbage, 16)");

    err = ngx_http_validibot_url_parse(NULL, 0, &url);
    ok(err != NULL && url.port == 6379 && url.db == 0,
       "NULL input: refused, defaults set");

    /* what error messages show: never the user info */
    {
        size_t          i, n;
        unsigned char   out[128];
        static const char  *redact[][2] = {
            { "redis://u:s3cret@h:99999/0", "redis://***@h:99999/0" },
            { "redis://:p@ss:w/rd@h/0", "redis://***@h/0" },
            { "redis://h:6379/0", "redis://h:6379/0" },
            { "unix:/run/redis.sock?db=x", "unix:/run/redis.sock?db=x" },
            { "u:secret@h", "***@h" },
            { "", "" }
        };

        for (i = 0; i < sizeof(redact) / sizeof(redact[0]); i++) {
            n = ngx_http_validibot_url_redact(
                    (const unsigned char *) redact[i][0],
                    strlen(redact[i][0]), out);
            ok(n == strlen(redact[i][1])
               && memcmp(out, redact[i][1], n) == 0,
               "redact \"%s\" -> \"%.*s\"", redact[i][0], (int) n, out);
        }
    }

    /* password files: "password" or "user password" */
    {
        size_t                         i;
        const char                    *err;
        ngx_http_validibot_url_part_t  user, pass;
        static const char  *creds[][4] = {
            /* content, error, user, password */
            { "s3cret\n", NULL, "", "s3cret" },
            { "s3cret", NULL, "", "s3cret" },
            { "s3cret\r\n", NULL, "", "s3cret" },
            { "  nginx \t p@ss:w/rd  \n", NULL, "nginx", "p@ss:w/rd" },
            { "", "is empty", NULL, NULL },
            { "\n", "is empty", NULL, NULL },
            { "  \t \n", "is empty", NULL, NULL },
            { "a b c\n", "has more than two words (\"user password\")",
              NULL, NULL },
            { "a\nb\n", "has more than one line", NULL, NULL },
            { "s3cret\n\n", "has more than one line", NULL, NULL },
            { "a\x01b", "has a control character", NULL, NULL },
            { "a\x7f", "has a control character", NULL, NULL },
        };

        for (i = 0; i < sizeof(creds) / sizeof(creds[0]); i++) {
            err = ngx_http_validibot_url_credentials(
                      (const unsigned char *) creds[i][0],
                      strlen(creds[i][0]), &user, &pass);

            if (creds[i][1]) {
                ok(err && strcmp(err, creds[i][1]) == 0,
                   "credentials %zu: %s", i, creds[i][1]);
                continue;
            }

            ok(err == NULL && part_is(&user, *creds[i][2] ? creds[i][2] : "")
               && part_is(&pass, creds[i][3]),
               "credentials %zu: user \"%s\" password \"%s\"", i,
               creds[i][2], creds[i][3]);
        }
    }

    return tap_done();
}
