
/*
 * Copyright (C) The ngx_http_validibot_module authors
 *
 * The Redis client of a worker: nginx owns the sockets; hiredis only
 * parses replies.  A few persistent connections per worker; lookups of
 * many requests are pipelined on each, answered in order through a FIFO
 * of waiters.  A waiter whose request went away stays in the FIFO as a
 * placeholder so that later replies still line up.
 */


#ifndef _NGX_HTTP_VALIDIBOT_REDIS_H_INCLUDED_
#define _NGX_HTTP_VALIDIBOT_REDIS_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <hiredis/hiredis.h>


#define NGX_HTTP_VALIDIBOT_ORG_MAX_LEN     128
#define NGX_HTTP_VALIDIBOT_PREFIX_MAX_LEN  128


typedef struct ngx_http_validibot_waiter_s  ngx_http_validibot_waiter_t;

/*
 * Called once per queued command that still has a handler: "reply" is
 * NULL when the connection failed or timed out (already logged).  The
 * reply is freed when the handler returns.
 */
typedef void (*ngx_http_validibot_redis_handler_pt)(void *data,
    redisReply *reply);


typedef struct {
    ngx_addr_t                  *addr;
    ngx_str_t                    user;
    ngx_str_t                    password;     /* data NULL: no AUTH */
    ngx_uint_t                   db;
    ngx_msec_t                   timeout;
    ngx_uint_t                   connections;
    ngx_uint_t                   hints;        /* owner hints; 0: off */
    ngx_msec_t                   sync_lag;     /* validibot-sync heartbeat's
                                                  max age; 0: not read */
    ngx_str_t                    prefix;
    ngx_str_t                    password_file; /* data NULL: none */

    /* a host name: resolved at configuration time, or on every connect */
    ngx_url_t                   *url;          /* NULL: a unix socket */
    ngx_resolver_t              *resolver;     /* NULL: resolved already */
    ngx_msec_t                   resolver_timeout;

    /* sentinel://: where to ask for the master */
    ngx_array_t                 *sentinels;    /* ngx_addr_t; NULL: none */
    ngx_str_t                    master_name;

    /* rediss:// */
    ngx_uint_t                   tls;
    ngx_str_t                    host;         /* the URL's */
    ngx_flag_t                   ssl_verify;
    ngx_str_t                    ssl_server_name;
    ngx_str_t                    ssl_trusted_certificate;
    ngx_str_t                    ssl_certificate;
    ngx_str_t                    ssl_certificate_key;
#if (NGX_SSL)
    ngx_ssl_t                   *ssl;
#endif
    ngx_str_t                    ssl_name;     /* checked; NUL-terminated */
    ngx_uint_t                   ssl_sni;      /* ssl_name is not an IP */
} ngx_http_validibot_redis_conf_t;


ngx_int_t ngx_http_validibot_redis_init_process(ngx_cycle_t *cycle,
    ngx_http_validibot_redis_conf_t *conf);
void ngx_http_validibot_redis_exit_process(ngx_cycle_t *cycle);

/*
 * Queues the lookup script for a public id and an org slug (may be
 * empty).  Returns NULL when Redis is known to be unavailable: the caller
 * fails at once.
 */
ngx_http_validibot_waiter_t *ngx_http_validibot_redis_lookup(
    ngx_str_t *public_id, ngx_str_t *org,
    ngx_http_validibot_redis_handler_pt handler, void *data, ngx_log_t *log);

/*
 * What a lookup's handler gets instead of the reply when
 * validibot_sync_max_lag is set and validibot-sync's heartbeat, read in
 * the same round trip, is missing or older than that (logged once a
 * second): the records may be stale, the caller fails closed.
 */
extern redisReply  ngx_http_validibot_redis_stale;

/* The request went away: its reply will be read and dropped. */
void ngx_http_validibot_redis_cancel(ngx_http_validibot_waiter_t *w);

/* A fire-and-forget command; NGX_DECLINED when Redis is unavailable. */
ngx_int_t ngx_http_validibot_redis_command(ngx_uint_t argc,
    ngx_str_t *argv);

/*
 * The first event on a connection in progress: NGX_ERROR (logged) when
 * the connect failed.  The sentinels' connections use it too.
 */
ngx_int_t ngx_http_validibot_redis_test_connect(ngx_connection_t *c);


/*
 * The tracking connection of validibot_cache: a connection of its own
 * that asks Redis to report every write under the given prefixes (Redis
 * client-side caching, BCAST mode, RESP2: "CLIENT TRACKING ON REDIRECT
 * <its own id> BCAST PREFIX ..." and "SUBSCRIBE __redis__:invalidate"),
 * PINGs every "ping" ms and reconnects by itself.  The handler hears:
 *
 *   UP       subscribed: from now on every write is reported
 *   DOWN     lost (closed, failed, a PING unanswered in time): writes
 *            may have gone unreported
 *   MESSAGE  "reply" is the report: an array of key names, or a nil
 *            for FLUSHALL / FLUSHDB
 */
#define NGX_HTTP_VALIDIBOT_TRACK_UP       0
#define NGX_HTTP_VALIDIBOT_TRACK_DOWN     1
#define NGX_HTTP_VALIDIBOT_TRACK_MESSAGE  2

typedef void (*ngx_http_validibot_track_handler_pt)(ngx_uint_t event,
    redisReply *reply);

ngx_int_t ngx_http_validibot_redis_track(ngx_str_t *prefixes,
    ngx_uint_t nprefixes, ngx_msec_t ping,
    ngx_http_validibot_track_handler_pt handler);

/*
 * Reads what the tracking connection has received by now, epoll or not:
 * a report may sit unread while this event loop iteration serves a hit.
 */
void ngx_http_validibot_redis_track_drain(void);


#endif /* _NGX_HTTP_VALIDIBOT_REDIS_H_INCLUDED_ */
