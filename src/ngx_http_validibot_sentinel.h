
/*
 * Copyright (C) The ngx_http_validibot_module authors
 *
 * sentinel://: where the master is.  The sentinels are asked in turn,
 * each within the lookup timeout, starting with the one that answered
 * last: SENTINEL get-master-addr-by-name NAME.  One question at a time
 * per worker; every connection waiting for an address gets the answer.
 * The connection then checks the address with ROLE (redis.c).
 *
 * Each worker also subscribes to +switch-master on one sentinel, to
 * learn of a failover when it happens rather than when a lookup fails.
 */


#ifndef _NGX_HTTP_VALIDIBOT_SENTINEL_H_INCLUDED_
#define _NGX_HTTP_VALIDIBOT_SENTINEL_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>


/* "master" NULL: no sentinel named one (already logged) */
typedef void (*ngx_http_validibot_sentinel_handler_pt)(ngx_addr_t *master);

/*
 * A sentinel announced a new master: connections elsewhere go and
 * connect again (their sentinel_ask() is answered by the handler with
 * "master" right after this returns).
 */
typedef void (*ngx_http_validibot_sentinel_switch_pt)(ngx_addr_t *master);


ngx_int_t ngx_http_validibot_sentinel_init(ngx_cycle_t *cycle,
    ngx_array_t *sentinels, ngx_str_t *name, ngx_msec_t timeout,
    ngx_http_validibot_sentinel_handler_pt handler,
    ngx_http_validibot_sentinel_switch_pt switched);

/* asks, unless a question is under way already */
void ngx_http_validibot_sentinel_ask(void);

void ngx_http_validibot_sentinel_exit(void);


#endif /* _NGX_HTTP_VALIDIBOT_SENTINEL_H_INCLUDED_ */
