
/*
 * Copyright (C) The ngx_http_validibot_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <ngx_event_connect.h>
#include <hiredis/hiredis.h>

#include "ngx_http_validibot_sentinel.h"
#include "ngx_http_validibot_reply.h"


typedef struct {
    ngx_array_t                              *sentinels;   /* ngx_addr_t */
    ngx_msec_t                                timeout;
    ngx_log_t                                *log;
    ngx_http_validibot_sentinel_handler_pt    handler;

    ngx_uint_t                                current;
    ngx_uint_t                                tried;
    ngx_uint_t                                busy;
    ngx_uint_t                                connected;

    ngx_peer_connection_t                     peer;
    redisReader                              *reader;
    ngx_event_t                               timer;

    u_char                                   *out;
    size_t                                    out_len;
    size_t                                    out_pos;

    ngx_addr_t                                master;
    ngx_sockaddr_t                            sockaddr;
    u_char                                    text[NGX_SOCKADDR_STRLEN];
} ngx_http_validibot_sentinel_t;


static void ngx_http_validibot_sentinel_try(void);
static void ngx_http_validibot_sentinel_next(const char *reason);
static void ngx_http_validibot_sentinel_close(void);
static void ngx_http_validibot_sentinel_write_handler(ngx_event_t *wev);
static void ngx_http_validibot_sentinel_read_handler(ngx_event_t *rev);
static void ngx_http_validibot_sentinel_timer_handler(ngx_event_t *ev);
static ngx_int_t ngx_http_validibot_sentinel_answer(redisReply *r);
static ngx_int_t ngx_http_validibot_sentinel_connected(ngx_connection_t *c);


static ngx_http_validibot_sentinel_t  *ngx_http_validibot_sentinel;


ngx_int_t
ngx_http_validibot_sentinel_init(ngx_cycle_t *cycle, ngx_array_t *sentinels,
    ngx_str_t *name, ngx_msec_t timeout,
    ngx_http_validibot_sentinel_handler_pt handler)
{
    u_char                         *p;
    ngx_http_validibot_sentinel_t  *s;

    s = ngx_pcalloc(cycle->pool, sizeof(ngx_http_validibot_sentinel_t));
    if (s == NULL) {
        return NGX_ERROR;
    }

    s->sentinels = sentinels;
    s->timeout = timeout;
    s->log = cycle->log;
    s->handler = handler;

    s->timer.handler = ngx_http_validibot_sentinel_timer_handler;
    s->timer.data = s;
    s->timer.log = cycle->log;

    /* a graceful shutdown does not wait for a question to a sentinel */
    s->timer.cancelable = 1;

    /* the question never changes: encoded once */

    s->out = ngx_pnalloc(cycle->pool, 64 + name->len);
    if (s->out == NULL) {
        return NGX_ERROR;
    }

    p = ngx_sprintf(s->out, "*3\r\n$8\r\nSENTINEL\r\n"
                            "$23\r\nget-master-addr-by-name\r\n"
                            "$%uz\r\n%V\r\n", name->len, name);
    s->out_len = p - s->out;

    s->master.sockaddr = &s->sockaddr.sockaddr;
    s->master.name.data = s->text;

    ngx_http_validibot_sentinel = s;

    return NGX_OK;
}


void
ngx_http_validibot_sentinel_exit(void)
{
    ngx_http_validibot_sentinel_t  *s;

    s = ngx_http_validibot_sentinel;
    if (s == NULL) {
        return;
    }

    ngx_http_validibot_sentinel_close();

    if (s->timer.timer_set) {
        ngx_del_timer(&s->timer);
    }

    ngx_http_validibot_sentinel = NULL;
}


void
ngx_http_validibot_sentinel_ask(void)
{
    ngx_http_validibot_sentinel_t  *s;

    s = ngx_http_validibot_sentinel;

    if (s == NULL || s->busy) {
        return;
    }

    s->busy = 1;
    s->tried = 0;

    ngx_http_validibot_sentinel_try();
}


static void
ngx_http_validibot_sentinel_try(void)
{
    ngx_int_t                       rv;
    ngx_addr_t                     *addr;
    ngx_connection_t               *c;
    ngx_http_validibot_sentinel_t  *s;

    s = ngx_http_validibot_sentinel;

    if (s->tried == s->sentinels->nelts) {
        ngx_log_error(NGX_LOG_ERR, s->log, 0,
                      "validibot: no sentinel named a master");
        s->busy = 0;
        s->handler(NULL);
        return;
    }

    s->tried++;

    addr = s->sentinels->elts;
    addr = &addr[s->current];

    ngx_memzero(&s->peer, sizeof(ngx_peer_connection_t));
    s->peer.sockaddr = addr->sockaddr;
    s->peer.socklen = addr->socklen;
    s->peer.name = &addr->name;
    s->peer.get = ngx_event_get_peer;
    s->peer.log = s->log;
    s->peer.log_error = NGX_ERROR_ERR;

    rv = ngx_event_connect_peer(&s->peer);

    if (rv == NGX_ERROR || rv == NGX_BUSY || rv == NGX_DECLINED) {
        ngx_http_validibot_sentinel_next("connect failed");
        return;
    }

    c = s->peer.connection;
    c->data = s;
    c->log = s->log;
    c->read->log = s->log;
    c->write->log = s->log;
    c->read->handler = ngx_http_validibot_sentinel_read_handler;
    c->write->handler = ngx_http_validibot_sentinel_write_handler;

    s->reader = ngx_http_validibot_reader_create();
    if (s->reader == NULL) {
        ngx_http_validibot_sentinel_next("out of memory");
        return;
    }

    s->out_pos = 0;
    s->connected = (rv == NGX_OK);

    ngx_add_timer(&s->timer, s->timeout);

    if (rv == NGX_OK) {
        ngx_http_validibot_sentinel_write_handler(c->write);
    }
}


/* this sentinel failed: the next one, or the end of the round */

static void
ngx_http_validibot_sentinel_next(const char *reason)
{
    ngx_addr_t                     *addr;
    ngx_http_validibot_sentinel_t  *s;

    s = ngx_http_validibot_sentinel;

    addr = s->sentinels->elts;

    ngx_log_error(NGX_LOG_WARN, s->log, 0,
                  "validibot: sentinel %V: %s", &addr[s->current].name,
                  reason);

    ngx_http_validibot_sentinel_close();

    s->current = (s->current + 1) % s->sentinels->nelts;

    ngx_http_validibot_sentinel_try();
}


static void
ngx_http_validibot_sentinel_close(void)
{
    ngx_http_validibot_sentinel_t  *s;

    s = ngx_http_validibot_sentinel;

    if (s->timer.timer_set) {
        ngx_del_timer(&s->timer);
    }

    if (s->peer.connection) {
        ngx_close_connection(s->peer.connection);
        s->peer.connection = NULL;
    }

    if (s->reader) {
        ngx_http_validibot_reader_free(s->reader);
        s->reader = NULL;
    }
}


static void
ngx_http_validibot_sentinel_write_handler(ngx_event_t *wev)
{
    ssize_t                         n;
    ngx_connection_t               *c;
    ngx_http_validibot_sentinel_t  *s;

    c = wev->data;
    s = c->data;

    if (ngx_http_validibot_sentinel_connected(c) != NGX_OK) {
        ngx_http_validibot_sentinel_next("connect failed");
        return;
    }

    while (s->out_pos < s->out_len) {
        n = c->send(c, s->out + s->out_pos, s->out_len - s->out_pos);

        if (n == NGX_AGAIN) {
            if (ngx_handle_write_event(wev, 0) != NGX_OK) {
                ngx_http_validibot_sentinel_next("write event failed");
            }
            return;
        }

        if (n == NGX_ERROR || n == 0) {
            ngx_http_validibot_sentinel_next("send failed");
            return;
        }

        s->out_pos += n;
    }
}


static void
ngx_http_validibot_sentinel_read_handler(ngx_event_t *rev)
{
    void                           *reply;
    ssize_t                         n;
    ngx_int_t                       rc;
    ngx_connection_t               *c;
    ngx_http_validibot_sentinel_t  *s;
    u_char                          buf[512];

    c = rev->data;
    s = c->data;

    if (ngx_http_validibot_sentinel_connected(c) != NGX_OK) {
        ngx_http_validibot_sentinel_next("connect failed");
        return;
    }

    for ( ;; ) {
        n = c->recv(c, buf, sizeof(buf));

        if (n == NGX_AGAIN) {
            if (ngx_handle_read_event(rev, 0) != NGX_OK) {
                ngx_http_validibot_sentinel_next("read event failed");
            }
            return;
        }

        if (n == 0 || n == NGX_ERROR) {
            ngx_http_validibot_sentinel_next("connection closed");
            return;
        }

        if (redisReaderFeed(s->reader, (char *) buf, n) != REDIS_OK) {
            ngx_http_validibot_sentinel_next("out of memory");
            return;
        }

        reply = NULL;

        if (redisReaderGetReply(s->reader, &reply) != REDIS_OK) {
            ngx_http_validibot_sentinel_next("protocol error");
            return;
        }

        if (reply == NULL) {
            continue;
        }

        rc = ngx_http_validibot_sentinel_answer(reply);

        if (rc != NGX_OK) {
            ngx_http_validibot_sentinel_next("no address for the master");
            return;
        }

        ngx_http_validibot_sentinel_close();

        s->busy = 0;
        s->handler(&s->master);

        return;
    }
}


/* [ "ip", "port" ] into s->master */

static ngx_int_t
ngx_http_validibot_sentinel_answer(redisReply *r)
{
    ngx_int_t                       port;
    in_addr_t                       a4;
    redisReply                     *ip, *pt;
    ngx_http_validibot_sentinel_t  *s;
    struct sockaddr_in             *sin;
#if (NGX_HAVE_INET6)
    struct sockaddr_in6            *sin6;
#endif

    s = ngx_http_validibot_sentinel;

    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2
        || r->element[0]->type != REDIS_REPLY_STRING
        || r->element[1]->type != REDIS_REPLY_STRING)
    {
        return NGX_ERROR;
    }

    ip = r->element[0];
    pt = r->element[1];

    port = ngx_atoi((u_char *) pt->str, pt->len);
    if (port < 1 || port > 65535) {
        return NGX_ERROR;
    }

    ngx_memzero(&s->sockaddr, sizeof(ngx_sockaddr_t));

    a4 = ngx_inet_addr((u_char *) ip->str, ip->len);

    if (a4 != INADDR_NONE) {
        sin = &s->sockaddr.sockaddr_in;
        sin->sin_family = AF_INET;
        sin->sin_addr.s_addr = a4;
        s->master.socklen = sizeof(struct sockaddr_in);

#if (NGX_HAVE_INET6)
    } else if (ngx_inet6_addr((u_char *) ip->str, ip->len,
                              s->sockaddr.sockaddr_in6.sin6_addr.s6_addr)
               == NGX_OK)
    {
        sin6 = &s->sockaddr.sockaddr_in6;
        sin6->sin6_family = AF_INET6;
        s->master.socklen = sizeof(struct sockaddr_in6);
#endif

    } else {
        return NGX_ERROR;
    }

    ngx_inet_set_port(&s->sockaddr.sockaddr, (in_port_t) port);

    s->master.name.len = ngx_sock_ntop(&s->sockaddr.sockaddr,
                                       s->master.socklen, s->text,
                                       NGX_SOCKADDR_STRLEN, 1);

    return NGX_OK;
}


/* the first event on a connection in progress says whether it connected */

static ngx_int_t
ngx_http_validibot_sentinel_connected(ngx_connection_t *c)
{
    int                             err;
    socklen_t                       len;
    ngx_http_validibot_sentinel_t  *s;

    s = c->data;

    if (s->connected) {
        return NGX_OK;
    }

    err = 0;
    len = sizeof(int);

    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, (void *) &err, &len) == -1) {
        err = ngx_socket_errno;
    }

    if (err) {
        (void) ngx_connection_error(c, err, "connect() failed");
        return NGX_ERROR;
    }

    s->connected = 1;

    return NGX_OK;
}


static void
ngx_http_validibot_sentinel_timer_handler(ngx_event_t *ev)
{
    ngx_http_validibot_sentinel_next("timed out");
}
