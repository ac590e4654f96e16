
/*
 * Copyright (C) The ngx_http_validibot_module authors
 */


#include <string.h>

#include "ngx_http_validibot_url.h"


#define NGX_HTTP_VALIDIBOT_URL_DEFAULT_PORT  6379
#define NGX_HTTP_VALIDIBOT_URL_MAX_DB        15999
#define NGX_HTTP_VALIDIBOT_URL_MAX_HOST      255
#define NGX_HTTP_VALIDIBOT_URL_MAX_NAME      64
#define NGX_HTTP_VALIDIBOT_URL_SENTINEL_PORT 26379

/* sizeof(sun_path) is 108 on Linux, with the terminating NUL */
#define NGX_HTTP_VALIDIBOT_URL_MAX_PATH      107


static const char *ngx_http_validibot_url_tcp(const unsigned char *p,
    const unsigned char *end, ngx_http_validibot_url_t *url);
static const char *ngx_http_validibot_url_sentinel(const unsigned char *p,
    const unsigned char *end, ngx_http_validibot_url_t *url);
static const char *ngx_http_validibot_url_userinfo(const unsigned char **pp,
    const unsigned char *end, ngx_http_validibot_url_t *url);
static const char *ngx_http_validibot_url_hostport(const unsigned char *p,
    const unsigned char *end, ngx_http_validibot_url_part_t *host,
    unsigned *port);
static const char *ngx_http_validibot_url_db(const unsigned char *p,
    const unsigned char *end, ngx_http_validibot_url_t *url);
static const char *ngx_http_validibot_url_unix(const unsigned char *p,
    const unsigned char *end, ngx_http_validibot_url_t *url);
static int ngx_http_validibot_url_number(const unsigned char *p,
    const unsigned char *end, unsigned max, unsigned *value);
static int ngx_http_validibot_url_prefix(const unsigned char *p,
    const unsigned char *end, const char *prefix);


const char *
ngx_http_validibot_url_parse(const unsigned char *p, size_t len,
    ngx_http_validibot_url_t *url)
{
    const unsigned char  *end;

    memset(url, 0, sizeof(ngx_http_validibot_url_t));
    url->port = NGX_HTTP_VALIDIBOT_URL_DEFAULT_PORT;

    if (p == NULL || len == 0) {
        return "empty URL";
    }

    end = p + len;

    if (ngx_http_validibot_url_prefix(p, end, "redis://")) {
        return ngx_http_validibot_url_tcp(p + sizeof("redis://") - 1, end,
                                          url);
    }

    if (ngx_http_validibot_url_prefix(p, end, "rediss://")) {
        url->tls = 1;
        return ngx_http_validibot_url_tcp(p + sizeof("rediss://") - 1, end,
                                          url);
    }

    if (ngx_http_validibot_url_prefix(p, end, "sentinel://")) {
        url->sentinel = 1;
        return ngx_http_validibot_url_sentinel(
                                    p + sizeof("sentinel://") - 1, end, url);
    }

    if (ngx_http_validibot_url_prefix(p, end, "unix:")) {
        return ngx_http_validibot_url_unix(p + sizeof("unix:") - 1, end, url);
    }

    return "unsupported scheme";
}


static const char *
ngx_http_validibot_url_tcp(const unsigned char *p, const unsigned char *end,
    ngx_http_validibot_url_t *url)
{
    const char           *err;
    const unsigned char  *host_end;

    err = ngx_http_validibot_url_userinfo(&p, end, url);
    if (err) {
        return err;
    }

    /* the authority ends at the first "/" after the user info */

    for (host_end = p; host_end < end && *host_end != '/'; host_end++) {
        /* void */
    }

    err = ngx_http_validibot_url_hostport(p, host_end, &url->host,
                                          &url->port);
    if (err) {
        return err;
    }

    return ngx_http_validibot_url_db(host_end, end, url);
}


/*
 * sentinel://[user:password@]host1[:port1],host2[:port2],.../NAME[/db]:
 * the user and password are the master's; sentinels default to port 26379.
 */

static const char *
ngx_http_validibot_url_sentinel(const unsigned char *p,
    const unsigned char *end, ngx_http_validibot_url_t *url)
{
    unsigned              n;
    const char           *err;
    const unsigned char  *host_end, *q, *name;

    err = ngx_http_validibot_url_userinfo(&p, end, url);
    if (err) {
        return err;
    }

    for (host_end = p; host_end < end && *host_end != '/'; host_end++) {
        /* void */
    }

    for (n = 0; ; n++) {
        for (q = p; q < host_end && *q != ','; q++) { /* void */ }

        if (n == NGX_HTTP_VALIDIBOT_URL_MAX_SENTINELS) {
            return "too many sentinels";
        }

        url->sentinel_port[n] = NGX_HTTP_VALIDIBOT_URL_SENTINEL_PORT;

        err = ngx_http_validibot_url_hostport(p, q, &url->sentinel_host[n],
                                              &url->sentinel_port[n]);
        if (err) {
            return err;
        }

        if (q == host_end) {
            break;
        }

        p = q + 1;
    }

    url->nsentinels = n + 1;

    /* "/NAME", then "/db" or nothing */

    if (host_end == end || host_end + 1 == end) {
        return "missing master name";
    }

    name = host_end + 1;

    for (q = name; q < end && *q != '/'; q++) {
        if (!((*q >= '0' && *q <= '9') || (*q >= 'a' && *q <= 'z')
              || (*q >= 'A' && *q <= 'Z') || *q == '-' || *q == '.'
              || *q == '_'))
        {
            return "invalid master name";
        }
    }

    if (q == name || q - name > NGX_HTTP_VALIDIBOT_URL_MAX_NAME) {
        return "invalid master name";
    }

    url->master.data = name;
    url->master.len = q - name;

    return ngx_http_validibot_url_db(q, end, url);
}


/*
 * "user:password@" or nothing; *pp moves past it.  The last "@" ends the
 * user info: a password may hold "@", "/" or ":" (escapes are not
 * decoded), while hosts, ports, names and db never hold "@".
 */

static const char *
ngx_http_validibot_url_userinfo(const unsigned char **pp,
    const unsigned char *end, ngx_http_validibot_url_t *url)
{
    const unsigned char  *p, *at, *colon, *q;

    p = *pp;
    at = NULL;

    for (q = p; q < end; q++) {
        if (*q == '@') {
            at = q;
        }
    }

    if (at == NULL) {
        return NULL;
    }

    colon = NULL;

    for (q = p; q < at; q++) {
        if (*q <= 0x20 || *q == 0x7f) {
            return "invalid character in user or password";
        }

        if (*q == ':' && colon == NULL) {
            colon = q;
        }
    }

    if (colon == NULL) {
        return "missing password";
    }

    if (colon + 1 == at) {
        return "empty password";
    }

    url->user.data = p;
    url->user.len = colon - p;
    url->password.data = colon + 1;
    url->password.len = at - (colon + 1);

    *pp = at + 1;

    return NULL;
}


/* "host", "host:port", "[v6]" or "[v6]:port": all of [p, end) */

static const char *
ngx_http_validibot_url_hostport(const unsigned char *p,
    const unsigned char *end, ngx_http_validibot_url_part_t *host,
    unsigned *port)
{
    const unsigned char  *q;

    if (p < end && *p == '[') {
        for (q = p + 1; q < end && *q != ']'; q++) {
            if (!((*q >= '0' && *q <= '9') || (*q >= 'a' && *q <= 'f')
                  || (*q >= 'A' && *q <= 'F') || *q == ':' || *q == '.'))
            {
                return "invalid host";
            }
        }

        if (q == end || q == p + 1) {
            return "invalid host";
        }

        host->data = p + 1;
        host->len = q - (p + 1);

        q++;

        if (q < end && *q != ':') {
            return "invalid host";
        }

    } else {
        for (q = p; q < end && *q != ':'; q++) {
            if (!((*q >= '0' && *q <= '9') || (*q >= 'a' && *q <= 'z')
                  || (*q >= 'A' && *q <= 'Z') || *q == '-' || *q == '.'
                  || *q == '_'))
            {
                return "invalid host";
            }
        }

        if (q == p) {
            return "missing host";
        }

        host->data = p;
        host->len = q - p;
    }

    if (host->len > NGX_HTTP_VALIDIBOT_URL_MAX_HOST) {
        return "invalid host";
    }

    if (q < end) {
        if (*q != ':'
            || ngx_http_validibot_url_number(q + 1, end, 65535, port) != 0
            || *port == 0)
        {
            return "invalid port";
        }
    }

    return NULL;
}


/* "", "/" (db 0, like most Redis clients) or "/db" */

static const char *
ngx_http_validibot_url_db(const unsigned char *p, const unsigned char *end,
    ngx_http_validibot_url_t *url)
{
    if (p < end && p + 1 < end) {
        if (ngx_http_validibot_url_number(p + 1, end,
                                          NGX_HTTP_VALIDIBOT_URL_MAX_DB,
                                          &url->db)
            != 0)
        {
            return "invalid db";
        }
    }

    return NULL;
}


static const char *
ngx_http_validibot_url_unix(const unsigned char *p, const unsigned char *end,
    ngx_http_validibot_url_t *url)
{
    const unsigned char  *q;

    for (q = p; q < end && *q != '?'; q++) {
        if (*q < 0x20 || *q == 0x7f) {
            return "invalid unix socket path";
        }
    }

    if (q == p || *p != '/') {
        return "invalid unix socket path";
    }

    if ((size_t) (q - p) > NGX_HTTP_VALIDIBOT_URL_MAX_PATH) {
        return "unix socket path too long";
    }

    url->unix_socket = 1;
    url->path.data = p;
    url->path.len = q - p;

    if (q == end) {
        return NULL;
    }

    q++;

    if (!ngx_http_validibot_url_prefix(q, end, "db=")
        || ngx_http_validibot_url_number(q + 3, end,
                                         NGX_HTTP_VALIDIBOT_URL_MAX_DB,
                                         &url->db)
           != 0)
    {
        return "invalid db";
    }

    return NULL;
}


/* decimal digits only, at least one, value <= max */

static int
ngx_http_validibot_url_number(const unsigned char *p,
    const unsigned char *end, unsigned max, unsigned *value)
{
    unsigned  n;

    if (p >= end) {
        return -1;
    }

    n = 0;

    for ( /* void */ ; p < end; p++) {
        if (*p < '0' || *p > '9') {
            return -1;
        }

        n = n * 10 + (*p - '0');

        if (n > max) {
            return -1;
        }
    }

    *value = n;

    return 0;
}


/* case-insensitive, for the scheme */

static int
ngx_http_validibot_url_prefix(const unsigned char *p,
    const unsigned char *end, const char *prefix)
{
    unsigned char  c;

    for ( /* void */ ; *prefix; prefix++, p++) {
        if (p == end) {
            return 0;
        }

        c = *p;

        if (c >= 'A' && c <= 'Z') {
            c |= 0x20;
        }

        if (c != (unsigned char) *prefix) {
            return 0;
        }
    }

    return 1;
}


size_t
ngx_http_validibot_url_redact(const unsigned char *p, size_t len,
    unsigned char *out)
{
    size_t  i, at, start;

    /* as the parser: the last "@" ends the user info */

    at = len;

    for (i = 0; i < len; i++) {
        if (p[i] == '@') {
            at = i;
        }
    }

    if (at == len) {
        memcpy(out, p, len);
        return len;
    }

    start = 0;

    for (i = 0; i + 3 <= at; i++) {
        if (p[i] == ':' && p[i + 1] == '/' && p[i + 2] == '/') {
            start = i + 3;
            break;
        }
    }

    memcpy(out, p, start);
    memcpy(out + start, "***", 3);
    memcpy(out + start + 3, p + at, len - at);

    return start + 3 + len - at;
}


const char *
ngx_http_validibot_url_credentials(const unsigned char *p, size_t len,
    ngx_http_validibot_url_part_t *user,
    ngx_http_validibot_url_part_t *password)
{
    size_t                n;
    const unsigned char  *end, *word[3], *word_end[3], *q;

    end = p + len;

    /* one trailing newline (CRLF too), as editors and echo leave it */

    if (end > p && end[-1] == '\n') {
        end--;

        if (end > p && end[-1] == '\r') {
            end--;
        }
    }

    n = 0;
    q = p;

    for ( ;; ) {
        while (q < end && (*q == ' ' || *q == '\t')) {
            q++;
        }

        if (q == end) {
            break;
        }

        if (n == 2) {
            return "has more than two words (\"user password\")";
        }

        word[n] = q;

        for ( /* void */ ; q < end && *q != ' ' && *q != '\t'; q++) {
            if (*q == '\n' || *q == '\r') {
                return "has more than one line";
            }

            if (*q < 0x20 || *q == 0x7f) {
                return "has a control character";
            }
        }

        word_end[n++] = q;
    }

    if (n == 0) {
        return "is empty";
    }

    user->data = NULL;
    user->len = 0;

    if (n == 2) {
        user->data = word[0];
        user->len = word_end[0] - word[0];
    }

    password->data = word[n - 1];
    password->len = word_end[n - 1] - word[n - 1];

    return NULL;
}
