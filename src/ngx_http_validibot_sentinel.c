
/*
 * Copyright (C) The ngx_http_validibot_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <ngx_event_connect.h>
#include <hiredis/hiredis.h>

#include "ngx_http_validibot_sentinel.h"
#include "ngx_http_validibot_redis.h"
#include "ngx_http_validibot_reply.h"
#include "ngx_http_validibot_metrics.h"


/* the subscription: a PING unanswered for this long ends it */
#define NGX_HTTP_VALIDIBOT_SENTINEL_PING         5000
#define NGX_HTTP_VALIDIBOT_SENTINEL_BACKOFF_MIN  100
#define NGX_HTTP_VALIDIBOT_SENTINEL_BACKOFF_MAX  1000


typedef enum {
    NGX_HTTP_VALIDIBOT_SUB_OFF = 0,    /* backing off, or exiting */
    NGX_HTTP_VALIDIBOT_SUB_WAIT,       /* connecting, SUBSCRIBE sent */
    NGX_HTTP_VALIDIBOT_SUB_ON
} ngx_http_validibot_sub_state_e;


/* a complete reply: NGX_OK to read on; else the link was closed */
typedef ngx_int_t (*ngx_http_validibot_sentinel_reply_pt)(redisReply *r);
typedef void (*ngx_http_validibot_sentinel_fail_pt)(const char *reason);


/* one connection to a sentinel: the question's or the subscription's */

typedef struct {
    ngx_peer_connection_t                     peer;
    redisReader                              *reader;
    ngx_event_t                               timer;
    ngx_uint_t                                current;    /* the sentinel */
    ngx_uint_t                                connected;

    u_char                                   *out;
    size_t                                    out_len;
    size_t                                    out_pos;

    ngx_http_validibot_sentinel_reply_pt      reply;
    ngx_http_validibot_sentinel_fail_pt       fail;
} ngx_http_validibot_sentinel_link_t;


typedef struct {
    ngx_array_t                              *sentinels;   /* ngx_addr_t */
    ngx_str_t                                 name;
    ngx_msec_t                                timeout;
    ngx_log_t                                *log;
    ngx_http_validibot_sentinel_handler_pt    handler;
    ngx_http_validibot_sentinel_switch_pt     switched;

    /* SENTINEL get-master-addr-by-name */
    ngx_http_validibot_sentinel_link_t        ask;
    ngx_uint_t                                tried;
    ngx_uint_t                                busy;
    u_char                                   *question;
    size_t                                    question_len;

    /* SUBSCRIBE +switch-master */
    ngx_http_validibot_sentinel_link_t        sub;
    ngx_uint_t                                sub_state;
    ngx_uint_t                                pinged;
    ngx_msec_t                                backoff;

    ngx_addr_t                                master;
    ngx_sockaddr_t                            sockaddr;
    u_char                                    text[NGX_SOCKADDR_STRLEN];
} ngx_http_validibot_sentinel_t;


static void ngx_http_validibot_sentinel_try(void);
static void ngx_http_validibot_sentinel_next(const char *reason);
static ngx_int_t ngx_http_validibot_sentinel_answer(redisReply *r);
static void ngx_http_validibot_sentinel_ask_timer(ngx_event_t *ev);

static void ngx_http_validibot_sentinel_subscribe(void);
static void ngx_http_validibot_sentinel_sub_fail(const char *reason);
static ngx_int_t ngx_http_validibot_sentinel_sub_reply(redisReply *r);
static void ngx_http_validibot_sentinel_switch(redisReply *msg);
static void ngx_http_validibot_sentinel_sub_timer(ngx_event_t *ev);

static ngx_int_t ngx_http_validibot_sentinel_address(u_char *ip,
    size_t ip_len, u_char *port, size_t port_len);
static ngx_uint_t ngx_http_validibot_sentinel_is(redisReply *r,
    const char *s, size_t len);

static ngx_int_t ngx_http_validibot_sentinel_open(
    ngx_http_validibot_sentinel_link_t *link);
static void ngx_http_validibot_sentinel_close(
    ngx_http_validibot_sentinel_link_t *link);
static void ngx_http_validibot_sentinel_write_handler(ngx_event_t *wev);
static void ngx_http_validibot_sentinel_read_handler(ngx_event_t *rev);


static ngx_http_validibot_sentinel_t  *ngx_http_validibot_sentinel;

static u_char  ngx_http_validibot_sentinel_subscribe_cmd[] =
    "*2\r\n$9\r\nSUBSCRIBE\r\n$14\r\n+switch-master\r\n";

static u_char  ngx_http_validibot_sentinel_ping_cmd[] = "*1\r\n$4\r\nPING\r\n";


ngx_int_t
ngx_http_validibot_sentinel_init(ngx_cycle_t *cycle, ngx_array_t *sentinels,
    ngx_str_t *name, ngx_msec_t timeout,
    ngx_http_validibot_sentinel_handler_pt handler,
    ngx_http_validibot_sentinel_switch_pt switched)
{
    u_char                         *p;
    ngx_http_validibot_sentinel_t  *s;

    s = ngx_pcalloc(cycle->pool, sizeof(ngx_http_validibot_sentinel_t));
    if (s == NULL) {
        return NGX_ERROR;
    }

    s->sentinels = sentinels;
    s->name = *name;
    s->timeout = timeout;
    s->log = cycle->log;
    s->handler = handler;
    s->switched = switched;

    /* a graceful shutdown waits for neither */

    s->ask.timer.handler = ngx_http_validibot_sentinel_ask_timer;
    s->ask.timer.log = cycle->log;
    s->ask.timer.cancelable = 1;
    s->ask.reply = ngx_http_validibot_sentinel_answer;
    s->ask.fail = ngx_http_validibot_sentinel_next;

    s->sub.timer.handler = ngx_http_validibot_sentinel_sub_timer;
    s->sub.timer.log = cycle->log;
    s->sub.timer.cancelable = 1;
    s->sub.reply = ngx_http_validibot_sentinel_sub_reply;
    s->sub.fail = ngx_http_validibot_sentinel_sub_fail;

    /* the question never changes: encoded once */

    s->question = ngx_pnalloc(cycle->pool, 64 + name->len);
    if (s->question == NULL) {
        return NGX_ERROR;
    }

    p = ngx_sprintf(s->question, "*3\r\n$8\r\nSENTINEL\r\n"
                                 "$23\r\nget-master-addr-by-name\r\n"
                                 "$%uz\r\n%V\r\n", name->len, name);
    s->question_len = p - s->question;

    s->master.sockaddr = &s->sockaddr.sockaddr;
    s->master.name.data = s->text;

    ngx_http_validibot_sentinel = s;

    /* not from a cache manager or loader, which call init_process too */

    if (ngx_process == NGX_PROCESS_WORKER
        || ngx_process == NGX_PROCESS_SINGLE)
    {
        ngx_http_validibot_sentinel_subscribe();
    }

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

    ngx_http_validibot_sentinel_close(&s->ask);
    ngx_http_validibot_sentinel_close(&s->sub);

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

    s->ask.out = s->question;
    s->ask.out_len = s->question_len;

    if (ngx_http_validibot_sentinel_open(&s->ask) != NGX_OK) {
        ngx_http_validibot_sentinel_next("connect failed");
        return;
    }

    ngx_add_timer(&s->ask.timer, s->timeout);

    if (s->ask.connected) {
        ngx_http_validibot_sentinel_write_handler(
                                            s->ask.peer.connection->write);
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
                  "validibot: sentinel %V: %s", &addr[s->ask.current].name,
                  reason);

    ngx_http_validibot_sentinel_close(&s->ask);

    s->ask.current = (s->ask.current + 1) % s->sentinels->nelts;

    ngx_http_validibot_sentinel_try();
}


/* [ "ip", "port" ] into s->master: the handler gets it */

static ngx_int_t
ngx_http_validibot_sentinel_answer(redisReply *r)
{
    ngx_http_validibot_sentinel_t  *s;

    s = ngx_http_validibot_sentinel;

    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2
        || r->element[0]->type != REDIS_REPLY_STRING
        || r->element[1]->type != REDIS_REPLY_STRING
        || ngx_http_validibot_sentinel_address(
                            (u_char *) r->element[0]->str, r->element[0]->len,
                            (u_char *) r->element[1]->str, r->element[1]->len)
           != NGX_OK)
    {
        ngx_http_validibot_sentinel_next("no address for the master");
        return NGX_ERROR;
    }

    ngx_http_validibot_sentinel_close(&s->ask);

    s->busy = 0;
    s->handler(&s->master);

    return NGX_DONE;
}


static void
ngx_http_validibot_sentinel_ask_timer(ngx_event_t *ev)
{
    ngx_http_validibot_sentinel_next("timed out");
}


/*
 * The subscription: one sentinel at a time, the next one after a
 * failure, with a backoff.  It only brings news early: while it is down,
 * a failover is still learnt from the connections it closes.
 */

static void
ngx_http_validibot_sentinel_subscribe(void)
{
    ngx_http_validibot_sentinel_t  *s;

    s = ngx_http_validibot_sentinel;

    s->sub.out = ngx_http_validibot_sentinel_subscribe_cmd;
    s->sub.out_len = sizeof(ngx_http_validibot_sentinel_subscribe_cmd) - 1;

    s->sub_state = NGX_HTTP_VALIDIBOT_SUB_WAIT;
    s->pinged = 0;

    if (ngx_http_validibot_sentinel_open(&s->sub) != NGX_OK) {
        ngx_http_validibot_sentinel_sub_fail("connect failed");
        return;
    }

    /* the connect and the SUBSCRIBE reply within the lookup timeout */

    ngx_add_timer(&s->sub.timer, s->timeout);

    if (s->sub.connected) {
        ngx_http_validibot_sentinel_write_handler(
                                            s->sub.peer.connection->write);
    }
}


static void
ngx_http_validibot_sentinel_sub_fail(const char *reason)
{
    ngx_addr_t                     *addr;
    ngx_http_validibot_sentinel_t  *s;

    s = ngx_http_validibot_sentinel;

    addr = s->sentinels->elts;

    ngx_log_error(NGX_LOG_WARN, s->log, 0,
                  "validibot: sentinel %V: +switch-master subscription: %s",
                  &addr[s->sub.current].name, reason);

    ngx_http_validibot_sentinel_close(&s->sub);

    s->sub_state = NGX_HTTP_VALIDIBOT_SUB_OFF;
    s->sub.current = (s->sub.current + 1) % s->sentinels->nelts;

    if (ngx_exiting || ngx_terminate || ngx_quit) {
        return;
    }

    s->backoff = s->backoff ? ngx_min(s->backoff * 2,
                                      NGX_HTTP_VALIDIBOT_SENTINEL_BACKOFF_MAX)
                            : NGX_HTTP_VALIDIBOT_SENTINEL_BACKOFF_MIN;

    ngx_add_timer(&s->sub.timer, s->backoff);
}


static ngx_int_t
ngx_http_validibot_sentinel_sub_reply(redisReply *r)
{
    ngx_addr_t                     *addr;
    ngx_http_validibot_sentinel_t  *s;

    s = ngx_http_validibot_sentinel;

    /* [ "subscribe" | "message" | "pong", ... ] */

    if (r->type != REDIS_REPLY_ARRAY || r->elements < 2
        || r->element[0]->type != REDIS_REPLY_STRING)
    {
        ngx_http_validibot_sentinel_sub_fail("unexpected reply");
        return NGX_ERROR;
    }

    if (ngx_http_validibot_sentinel_is(r->element[0], "message",
                                       sizeof("message") - 1))
    {
        if (r->elements == 3 && r->element[2]->type == REDIS_REPLY_STRING) {
            ngx_http_validibot_sentinel_switch(r->element[2]);
        }

        return NGX_OK;
    }

    if (ngx_http_validibot_sentinel_is(r->element[0], "pong",
                                       sizeof("pong") - 1))
    {
        s->pinged = 0;
        return NGX_OK;
    }

    if (s->sub_state != NGX_HTTP_VALIDIBOT_SUB_WAIT
        || !ngx_http_validibot_sentinel_is(r->element[0], "subscribe",
                                           sizeof("subscribe") - 1))
    {
        ngx_http_validibot_sentinel_sub_fail("unexpected reply");
        return NGX_ERROR;
    }

    addr = s->sentinels->elts;

    ngx_log_error(NGX_LOG_INFO, s->log, 0,
                  "validibot: sentinel %V: subscribed to +switch-master",
                  &addr[s->sub.current].name);

    s->sub_state = NGX_HTTP_VALIDIBOT_SUB_ON;
    s->backoff = 0;

    ngx_add_timer(&s->sub.timer, NGX_HTTP_VALIDIBOT_SENTINEL_PING);

    return NGX_OK;
}


/*
 * "<name> <old-ip> <old-port> <new-ip> <new-port>": for our master, the
 * connections elsewhere connect again at once, to the new address (ROLE
 * still checks it); a question under way would only bring it later.
 */

static void
ngx_http_validibot_sentinel_switch(redisReply *msg)
{
    u_char                         *p, *last, *f[5];
    size_t                          len[5];
    ngx_uint_t                      n;
    ngx_addr_t                     *addr;
    ngx_http_validibot_sentinel_t  *s;

    s = ngx_http_validibot_sentinel;

    p = (u_char *) msg->str;
    last = p + msg->len;

    for (n = 0; n < 5; n++) {
        f[n] = p;

        while (p < last && *p != ' ') {
            p++;
        }

        len[n] = p - f[n];

        if (len[n] == 0) {
            return;
        }

        if (p < last) {
            p++;
        }
    }

    if (p != last
        || len[0] != s->name.len
        || ngx_strncmp(f[0], s->name.data, len[0]) != 0)
    {
        /* another master, or not the five words */
        return;
    }

    addr = s->sentinels->elts;

    if (ngx_http_validibot_sentinel_address(f[3], len[3], f[4], len[4])
        != NGX_OK)
    {
        ngx_log_error(NGX_LOG_WARN, s->log, 0,
                      "validibot: sentinel %V: no address in "
                      "+switch-master \"%*s\"", &addr[s->sub.current].name,
                      ngx_min(msg->len, 256), msg->str);
        return;
    }

    ngx_log_error(NGX_LOG_NOTICE, s->log, 0,
                  "validibot: sentinel %V: +switch-master %V "
                  "from %*s:%*s to %V", &addr[s->sub.current].name,
                  &s->name, len[1], f[1], len[2], f[2], &s->master.name);

    ngx_http_validibot_metrics_count(NGX_HTTP_VALIDIBOT_M_MASTER_SWITCHES);

    /* this sentinel knows the new master: the next question goes to it */

    ngx_http_validibot_sentinel_close(&s->ask);
    s->ask.current = s->sub.current;

    s->busy = 1;
    s->switched(&s->master);
    s->busy = 0;

    s->handler(&s->master);
}


/* the subscription's timer: a deadline, a ping, or the end of a backoff */

static void
ngx_http_validibot_sentinel_sub_timer(ngx_event_t *ev)
{
    ngx_http_validibot_sentinel_t  *s;

    s = ngx_http_validibot_sentinel;

    switch (s->sub_state) {

    case NGX_HTTP_VALIDIBOT_SUB_OFF:
        if (!ngx_exiting && !ngx_terminate && !ngx_quit) {
            ngx_http_validibot_sentinel_subscribe();
        }
        return;

    case NGX_HTTP_VALIDIBOT_SUB_WAIT:
        ngx_http_validibot_sentinel_sub_fail("timed out");
        return;

    default: /* NGX_HTTP_VALIDIBOT_SUB_ON */

        if (s->pinged) {
            ngx_http_validibot_sentinel_sub_fail("no answer to PING");
            return;
        }

        /* nothing else is ever written once subscribed */

        s->pinged = 1;
        s->sub.out = ngx_http_validibot_sentinel_ping_cmd;
        s->sub.out_len = sizeof(ngx_http_validibot_sentinel_ping_cmd) - 1;
        s->sub.out_pos = 0;

        ngx_add_timer(&s->sub.timer, NGX_HTTP_VALIDIBOT_SENTINEL_PING);

        ngx_http_validibot_sentinel_write_handler(
                                            s->sub.peer.connection->write);
        return;
    }
}


/* "ip" and "port" into s->master */

static ngx_int_t
ngx_http_validibot_sentinel_address(u_char *ip, size_t ip_len, u_char *port,
    size_t port_len)
{
    ngx_int_t                       n;
    in_addr_t                       a4;
    ngx_http_validibot_sentinel_t  *s;
    struct sockaddr_in             *sin;
#if (NGX_HAVE_INET6)
    struct sockaddr_in6            *sin6;
#endif

    s = ngx_http_validibot_sentinel;

    n = ngx_atoi(port, port_len);
    if (n < 1 || n > 65535) {
        return NGX_ERROR;
    }

    ngx_memzero(&s->sockaddr, sizeof(ngx_sockaddr_t));

    a4 = ngx_inet_addr(ip, ip_len);

    if (a4 != INADDR_NONE) {
        sin = &s->sockaddr.sockaddr_in;
        sin->sin_family = AF_INET;
        sin->sin_addr.s_addr = a4;
        s->master.socklen = sizeof(struct sockaddr_in);

#if (NGX_HAVE_INET6)
    } else if (ngx_inet6_addr(ip, ip_len,
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

    ngx_inet_set_port(&s->sockaddr.sockaddr, (in_port_t) n);

    s->master.name.len = ngx_sock_ntop(&s->sockaddr.sockaddr,
                                       s->master.socklen, s->text,
                                       NGX_SOCKADDR_STRLEN, 1);

    return NGX_OK;
}


static ngx_uint_t
ngx_http_validibot_sentinel_is(redisReply *r, const char *s, size_t len)
{
    return r->len == len && ngx_strncasecmp((u_char *) r->str, (u_char *) s,
                                            len) == 0;
}


/*
 * The links: connect to sentinel "current", send out[], hand each reply
 * over.  NGX_ERROR: the connect failed at once (nothing to close).
 */

static ngx_int_t
ngx_http_validibot_sentinel_open(ngx_http_validibot_sentinel_link_t *link)
{
    ngx_int_t                       rv;
    ngx_addr_t                     *addr;
    ngx_connection_t               *c;
    ngx_http_validibot_sentinel_t  *s;

    s = ngx_http_validibot_sentinel;

    addr = s->sentinels->elts;
    addr = &addr[link->current];

    ngx_memzero(&link->peer, sizeof(ngx_peer_connection_t));
    link->peer.sockaddr = addr->sockaddr;
    link->peer.socklen = addr->socklen;
    link->peer.name = &addr->name;
    link->peer.get = ngx_event_get_peer;
    link->peer.log = s->log;
    link->peer.log_error = NGX_ERROR_ERR;

    rv = ngx_event_connect_peer(&link->peer);

    if (rv == NGX_ERROR || rv == NGX_BUSY || rv == NGX_DECLINED) {
        link->peer.connection = NULL;
        return NGX_ERROR;
    }

    c = link->peer.connection;
    c->data = link;
    c->log = s->log;
    c->read->log = s->log;
    c->write->log = s->log;
    c->read->handler = ngx_http_validibot_sentinel_read_handler;
    c->write->handler = ngx_http_validibot_sentinel_write_handler;

    link->reader = ngx_http_validibot_reader_create();
    if (link->reader == NULL) {
        ngx_http_validibot_sentinel_close(link);
        return NGX_ERROR;
    }

    link->out_pos = 0;
    link->connected = (rv == NGX_OK);

    return NGX_OK;
}


static void
ngx_http_validibot_sentinel_close(ngx_http_validibot_sentinel_link_t *link)
{
    if (link->timer.timer_set) {
        ngx_del_timer(&link->timer);
    }

    if (link->peer.connection) {
        ngx_close_connection(link->peer.connection);
        link->peer.connection = NULL;
    }

    if (link->reader) {
        ngx_http_validibot_reader_free(link->reader);
        link->reader = NULL;
    }
}


static void
ngx_http_validibot_sentinel_write_handler(ngx_event_t *wev)
{
    ssize_t                              n;
    ngx_connection_t                    *c;
    ngx_http_validibot_sentinel_link_t  *link;

    c = wev->data;
    link = c->data;

    if (!link->connected) {
        if (ngx_http_validibot_redis_test_connect(c) != NGX_OK) {
            link->fail("connect failed");
            return;
        }

        link->connected = 1;
    }

    while (link->out_pos < link->out_len) {
        n = c->send(c, link->out + link->out_pos,
                    link->out_len - link->out_pos);

        if (n == NGX_AGAIN) {
            if (ngx_handle_write_event(wev, 0) != NGX_OK) {
                link->fail("write event failed");
            }
            return;
        }

        if (n == NGX_ERROR || n == 0) {
            link->fail("send failed");
            return;
        }

        link->out_pos += n;
    }
}


static void
ngx_http_validibot_sentinel_read_handler(ngx_event_t *rev)
{
    void                                *reply;
    ssize_t                              n;
    ngx_connection_t                    *c;
    ngx_http_validibot_sentinel_link_t  *link;
    u_char                               buf[512];

    c = rev->data;
    link = c->data;

    if (!link->connected) {
        if (ngx_http_validibot_redis_test_connect(c) != NGX_OK) {
            link->fail("connect failed");
            return;
        }

        link->connected = 1;
    }

    for ( ;; ) {
        n = c->recv(c, buf, sizeof(buf));

        if (n == NGX_AGAIN) {
            if (ngx_handle_read_event(rev, 0) != NGX_OK) {
                link->fail("read event failed");
            }
            return;
        }

        if (n == 0 || n == NGX_ERROR) {
            link->fail("connection closed");
            return;
        }

        if (redisReaderFeed(link->reader, (char *) buf, n) != REDIS_OK) {
            link->fail("out of memory");
            return;
        }

        for ( ;; ) {
            reply = NULL;

            if (redisReaderGetReply(link->reader, &reply) != REDIS_OK) {
                link->fail("protocol error");
                return;
            }

            if (reply == NULL) {
                break;
            }

            if (link->reply(reply) != NGX_OK) {
                /* the link was closed */
                return;
            }

            ngx_http_validibot_reader_reset(link->reader);
        }
    }
}
