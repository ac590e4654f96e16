
/*
 * Copyright (C) The ngx_http_validibot_module authors
 *
 * Redis locations as operators write them, shared by the validibot_redis
 * directive and validibot-token:
 *
 *     redis://[[user]:password@]host[:port][/db]
 *     rediss://...                 the same, over TLS
 *     sentinel://[[user]:password@]host[:port],host[:port].../NAME[/db]
 *     unix:/path/to/redis.sock[?db=N]
 *
 * Pure: splits and checks, resolves nothing.  Pieces point into the input.
 */


#ifndef _NGX_HTTP_VALIDIBOT_URL_H_INCLUDED_
#define _NGX_HTTP_VALIDIBOT_URL_H_INCLUDED_


#include <stddef.h>


typedef struct {
    size_t                len;
    const unsigned char  *data;
} ngx_http_validibot_url_part_t;


#define NGX_HTTP_VALIDIBOT_URL_MAX_SENTINELS  8


typedef struct {
    unsigned                       unix_socket;   /* 1: path is set */
    unsigned                       tls;           /* 1: rediss:// */
    ngx_http_validibot_url_part_t  host;          /* without [] for IPv6 */
    unsigned                       port;          /* default 6379 */
    ngx_http_validibot_url_part_t  path;          /* unix socket path */
    ngx_http_validibot_url_part_t  user;          /* len 0: none */
    ngx_http_validibot_url_part_t  password;      /* data NULL: no AUTH */
    unsigned                       db;            /* default 0, <= 15999 */

    /* sentinel://: where to ask for the master named "master" */
    unsigned                       sentinel;
    unsigned                       nsentinels;
    ngx_http_validibot_url_part_t  sentinel_host[
                                       NGX_HTTP_VALIDIBOT_URL_MAX_SENTINELS];
    unsigned                       sentinel_port[
                                       NGX_HTTP_VALIDIBOT_URL_MAX_SENTINELS];
    ngx_http_validibot_url_part_t  master;
} ngx_http_validibot_url_t;


/*
 * Returns NULL on success, else a static message naming the problem
 * ("invalid port", "unsupported scheme", ...), fit for nginx -t.
 * Percent-escapes in user and password are not decoded.
 */
const char *ngx_http_validibot_url_parse(const unsigned char *p, size_t len,
    ngx_http_validibot_url_t *url);

/*
 * The URL as error messages may show it: the user info (the password in
 * it) replaced with "***".  "out" has room for len + 3 bytes; returns the
 * length written.
 */
size_t ngx_http_validibot_url_redact(const unsigned char *p, size_t len,
    unsigned char *out);

/*
 * The content of a password file: "password" or "user password" on one
 * line; blanks around and one trailing newline are ignored.  Returns NULL
 * on success (user len 0: none), else a static message that never quotes
 * the content ("is empty", "has more than one line", ...).
 */
const char *ngx_http_validibot_url_credentials(const unsigned char *p,
    size_t len, ngx_http_validibot_url_part_t *user,
    ngx_http_validibot_url_part_t *password);

#endif /* _NGX_HTTP_VALIDIBOT_URL_H_INCLUDED_ */
