
/*
 * Copyright (C) The ngx_http_validibot_module authors
 *
 * rediss://: TLS to Redis through nginx's own OpenSSL layer, as the
 * proxy module's proxy_ssl_* does it: a client SSL context made at
 * configuration time; per connection SNI, an optional client certificate,
 * the session of the previous connection offered again, the certificate
 * and the name checked after the handshake.
 */


#ifndef _NGX_HTTP_VALIDIBOT_SSL_H_INCLUDED_
#define _NGX_HTTP_VALIDIBOT_SSL_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include "ngx_http_validibot_redis.h"


/* after every directive: the SSL context, or an error naming the problem */
char *ngx_http_validibot_ssl_init_conf(ngx_conf_t *cf,
    ngx_http_validibot_redis_conf_t *conf);

/*
 * Starts the handshake on a connected socket: NGX_OK (done, check it),
 * NGX_AGAIN (done_handler runs when it ends, either way), NGX_ERROR.
 */
ngx_int_t ngx_http_validibot_ssl_handshake(ngx_connection_t *c,
    ngx_http_validibot_redis_conf_t *conf,
    ngx_connection_handler_pt done_handler);

/* after the handshake: NGX_OK, or NGX_ERROR with the reason logged */
ngx_int_t ngx_http_validibot_ssl_check(ngx_connection_t *c,
    ngx_http_validibot_redis_conf_t *conf);

void ngx_http_validibot_ssl_close(ngx_connection_t *c);

void ngx_http_validibot_ssl_exit_process(void);


#endif /* _NGX_HTTP_VALIDIBOT_SSL_H_INCLUDED_ */
