
/*
 * Copyright (C) The ngx_http_validibot_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include "ngx_http_validibot_ssl.h"


/* a managed Redis's chain: server, an intermediate or two, a root */
#define NGX_HTTP_VALIDIBOT_SSL_VERIFY_DEPTH  5


#if (NGX_SSL)

static void ngx_http_validibot_ssl_save_session(ngx_connection_t *c);


/*
 * The session of the last handshake of this worker, offered on the next
 * connect: a reconnect after a Redis restart or a network blip costs an
 * abbreviated handshake.  Every connection of a worker goes to the same
 * server, so one is enough.
 */
static ngx_ssl_session_t  *ngx_http_validibot_ssl_session;

#endif


char *
ngx_http_validibot_ssl_init_conf(ngx_conf_t *cf,
    ngx_http_validibot_redis_conf_t *conf)
{
#if (NGX_SSL)
    u_char              *p;
    ngx_pool_cleanup_t  *cln;
#endif

    if (!conf->tls) {
        if (conf->ssl_verify != NGX_CONF_UNSET
            || conf->ssl_server_name.data
            || conf->ssl_trusted_certificate.data
            || conf->ssl_certificate.data
            || conf->ssl_certificate_key.data)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"validibot_redis_ssl_*\" directives need a "
                               "\"rediss://\" URL in \"validibot_redis\"%s",
                               conf->sentinels
                               ? " (TLS behind \"sentinel://\" is not "
                                 "supported)"
                               : "");
            return NGX_CONF_ERROR;
        }

        return NGX_CONF_OK;
    }

#if (NGX_SSL)

    ngx_conf_init_value(conf->ssl_verify, 1);

    if (conf->ssl_certificate.data && conf->ssl_certificate_key.data == NULL)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "no \"validibot_redis_ssl_certificate_key\" for "
                           "\"validibot_redis_ssl_certificate\" \"%V\"",
                           &conf->ssl_certificate);
        return NGX_CONF_ERROR;
    }

    if (conf->ssl_certificate_key.data && conf->ssl_certificate.data == NULL)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "no \"validibot_redis_ssl_certificate\" for "
                           "\"validibot_redis_ssl_certificate_key\" \"%V\"",
                           &conf->ssl_certificate_key);
        return NGX_CONF_ERROR;
    }

    conf->ssl = ngx_pcalloc(cf->pool, sizeof(ngx_ssl_t));
    if (conf->ssl == NULL) {
        return NGX_CONF_ERROR;
    }

    conf->ssl->log = cf->log;

    if (ngx_ssl_create(conf->ssl, NGX_SSL_TLSv1_2|NGX_SSL_TLSv1_3, NULL)
        != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        ngx_ssl_cleanup_ctx(conf->ssl);
        return NGX_CONF_ERROR;
    }

    cln->handler = ngx_ssl_cleanup_ctx;
    cln->data = conf->ssl;

    if (conf->ssl_certificate.data
        && ngx_ssl_certificate(cf, conf->ssl, &conf->ssl_certificate,
                               &conf->ssl_certificate_key, NULL)
           != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    if (conf->ssl_trusted_certificate.data) {
        if (ngx_ssl_trusted_certificate(cf, conf->ssl,
                                        &conf->ssl_trusted_certificate,
                                        NGX_HTTP_VALIDIBOT_SSL_VERIFY_DEPTH)
            != NGX_OK)
        {
            return NGX_CONF_ERROR;
        }

    } else if (conf->ssl_verify) {
        /*
         * No CA file: the system's store, where a managed Redis's public
         * CA is.  With SSL_VERIFY_NONE the chain is still verified and
         * the result is checked after the handshake, as with a CA file.
         */

        if (SSL_CTX_set_default_verify_paths(conf->ssl->ctx) != 1) {
            ngx_ssl_error(NGX_LOG_EMERG, cf->log, 0,
                          "validibot: SSL_CTX_set_default_verify_paths() "
                          "failed");
            return NGX_CONF_ERROR;
        }
    }

    if (!conf->ssl_verify) {
        ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                           "\"validibot_redis_ssl_verify\" is off: the "
                           "certificate and the name of Redis at \"%V\" are "
                           "not checked", &conf->host);
    }

    if (ngx_ssl_client_session_cache(cf, conf->ssl, 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    /* the name to send (SNI) and to check: NUL-terminated for OpenSSL */

    if (conf->ssl_server_name.data == NULL) {
        conf->ssl_server_name = conf->host;
    }

    p = ngx_pnalloc(cf->pool, conf->ssl_server_name.len + 1);
    if (p == NULL) {
        return NGX_CONF_ERROR;
    }

    conf->ssl_name.data = p;
    conf->ssl_name.len = conf->ssl_server_name.len;
    *ngx_cpymem(p, conf->ssl_server_name.data, conf->ssl_server_name.len) =
                                                                        '\0';

    /* RFC 6066: a literal IPv4 or IPv6 address is not a server name */

    conf->ssl_sni = (ngx_inet_addr(p, conf->ssl_name.len) == INADDR_NONE);

#if (NGX_HAVE_INET6)
    {
    struct in6_addr  a6;

    if (conf->ssl_sni && ngx_inet6_addr(p, conf->ssl_name.len, a6.s6_addr)
                         == NGX_OK)
    {
        conf->ssl_sni = 0;
    }
    }
#endif

    return NGX_CONF_OK;

#else

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "\"validibot_redis\": \"rediss://\" needs nginx "
                       "built with OpenSSL");
    return NGX_CONF_ERROR;

#endif
}


#if (NGX_SSL)

ngx_int_t
ngx_http_validibot_ssl_handshake(ngx_connection_t *c,
    ngx_http_validibot_redis_conf_t *conf,
    ngx_connection_handler_pt done_handler)
{
    ngx_int_t  rc;

    if (ngx_ssl_create_connection(conf->ssl, c, NGX_SSL_CLIENT) != NGX_OK) {
        return NGX_ERROR;
    }

    if (conf->ssl_sni
        && SSL_set_tlsext_host_name(c->ssl->connection,
                                    (char *) conf->ssl_name.data)
           == 0)
    {
        ngx_ssl_error(NGX_LOG_ERR, c->log, 0,
                      "validibot: SSL_set_tlsext_host_name(\"%V\") failed",
                      &conf->ssl_name);
        return NGX_ERROR;
    }

    c->ssl->save_session = ngx_http_validibot_ssl_save_session;

    if (ngx_ssl_set_session(c, ngx_http_validibot_ssl_session) != NGX_OK) {
        return NGX_ERROR;
    }

    rc = ngx_ssl_handshake(c);

    if (rc == NGX_AGAIN) {
        c->ssl->handler = done_handler;
    }

    return rc;
}


ngx_int_t
ngx_http_validibot_ssl_check(ngx_connection_t *c,
    ngx_http_validibot_redis_conf_t *conf)
{
    long   rc;
    X509  *cert;

    if (!c->ssl->handshaked) {
        return NGX_ERROR;
    }

    if (conf->ssl_verify) {
        rc = SSL_get_verify_result(c->ssl->connection);

        if (rc != X509_V_OK) {
            ngx_log_error(NGX_LOG_ERR, c->log, 0,
                          "validibot: redis %V: TLS certificate verify "
                          "error: (%l:%s)", &conf->host, rc,
                          X509_verify_cert_error_string(rc));
            return NGX_ERROR;
        }

        if (conf->ssl_sni) {
            rc = ngx_ssl_check_host(c, &conf->ssl_name);

        } else {
            /* an address: X509_check_host() would not look at IP names */

            cert = SSL_get_peer_certificate(c->ssl->connection);

            rc = (cert != NULL
                  && X509_check_ip_asc(cert, (char *) conf->ssl_name.data, 0)
                     == 1)
                 ? NGX_OK : NGX_ERROR;

            if (cert) {
                X509_free(cert);
            }
        }

        if (rc != NGX_OK) {
            ngx_log_error(NGX_LOG_ERR, c->log, 0,
                          "validibot: redis %V: TLS certificate does not "
                          "match \"%V\"", &conf->host, &conf->ssl_name);
            return NGX_ERROR;
        }
    }

    ngx_log_error(NGX_LOG_INFO, c->log, 0,
                  "validibot: redis %V: %s, session %s", &conf->host,
                  SSL_get_version(c->ssl->connection),
                  SSL_session_reused(c->ssl->connection) ? "reused" : "new");

    return NGX_OK;
}


static void
ngx_http_validibot_ssl_save_session(ngx_connection_t *c)
{
    ngx_ssl_session_t  *session;

    session = ngx_ssl_get_session(c);
    if (session == NULL) {
        return;
    }

    if (ngx_http_validibot_ssl_session) {
        ngx_ssl_free_session(ngx_http_validibot_ssl_session);
    }

    ngx_http_validibot_ssl_session = session;
}


void
ngx_http_validibot_ssl_close(ngx_connection_t *c)
{
    if (c->ssl) {
        c->ssl->no_wait_shutdown = 1;
        (void) ngx_ssl_shutdown(c);
    }
}


void
ngx_http_validibot_ssl_exit_process(void)
{
    if (ngx_http_validibot_ssl_session) {
        ngx_ssl_free_session(ngx_http_validibot_ssl_session);
        ngx_http_validibot_ssl_session = NULL;
    }
}

#else


ngx_int_t
ngx_http_validibot_ssl_handshake(ngx_connection_t *c,
    ngx_http_validibot_redis_conf_t *conf,
    ngx_connection_handler_pt done_handler)
{
    return NGX_ERROR;
}


ngx_int_t
ngx_http_validibot_ssl_check(ngx_connection_t *c,
    ngx_http_validibot_redis_conf_t *conf)
{
    return NGX_ERROR;
}


void
ngx_http_validibot_ssl_close(ngx_connection_t *c)
{
}


void
ngx_http_validibot_ssl_exit_process(void)
{
}

#endif
