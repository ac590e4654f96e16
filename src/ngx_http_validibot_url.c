
/*
 * Copyright (C) The ngx_http_validibot_module authors
 */


#include <string.h>

#include "ngx_http_validibot_url.h"


#define NGX_HTTP_VALIDIBOT_URL_DEFAULT_PORT  6379
#define NGX_HTTP_VALIDIBOT_URL_MAX_DB        15999
#define NGX_HTTP_VALIDIBOT_URL_MAX_HOST      255

/* sizeof(sun_path) is 108 on Linux, with the terminating NUL */
#define NGX_HTTP_VALIDIBOT_URL_MAX_PATH      107


static const char *ngx_http_validibot_url_tcp(const unsigned char *p,
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

    if (ngx_http_validibot_url_prefix(p, end, "unix:")) {
        return ngx_http_validibot_url_unix(p + sizeof("unix:") - 1, end, url);
    }

    return "unsupported scheme";
}


static const char *
ngx_http_validibot_url_tcp(const unsigned char *p, const unsigned char *end,
    ngx_http_validibot_url_t *url)
{
    const unsigned char  *at, *colon, *host, *host_end, *q;

    /*
     * The last "@" ends the user info: a password may hold "@", "/" or ":"
     * (escapes are not decoded), while host, port and db never hold "@".
     */

    at = NULL;

    for (q = p; q < end; q++) {
        if (*q == '@') {
            at = q;
        }
    }

    if (at != NULL) {
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

        p = at + 1;
    }

    /* the authority ends at the first "/" after the user info */

    for (q = p; q < end && *q != '/'; q++) { /* void */ }

    host_end = q;

    if (p < host_end && *p == '[') {
        host = p + 1;

        for (q = host; q < host_end && *q != ']'; q++) {
            if (!((*q >= '0' && *q <= '9') || (*q >= 'a' && *q <= 'f')
                  || (*q >= 'A' && *q <= 'F') || *q == ':' || *q == '.'))
            {
                return "invalid host";
            }
        }

        if (q == host_end || q == host) {
            return "invalid host";
        }

        url->host.data = host;
        url->host.len = q - host;

        q++;

        if (q < host_end && *q != ':') {
            return "invalid host";
        }

    } else {
        for (q = p; q < host_end && *q != ':'; q++) {
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

        url->host.data = p;
        url->host.len = q - p;
    }

    if (url->host.len > NGX_HTTP_VALIDIBOT_URL_MAX_HOST) {
        return "invalid host";
    }

    if (q < host_end) {
        if (*q != ':'
            || ngx_http_validibot_url_number(q + 1, host_end, 65535,
                                             &url->port) != 0
            || url->port == 0)
        {
            return "invalid port";
        }
    }

    /* "/" alone selects db 0, like most Redis clients */

    if (host_end < end && host_end + 1 < end) {
        if (ngx_http_validibot_url_number(host_end + 1, end,
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
