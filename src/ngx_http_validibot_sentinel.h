
/*
 * Copyright (C) The ngx_http_validibot_module authors
 *
 * sentinel://: where the master is.  The sentinels are asked in turn,
 * each within the lookup timeout, starting with the one that answered
 * last: SENTINEL get-master-addr-by-name NAME.  One question at a time
 * per worker; every connection waiting for an address gets the answer.
 * The connection then checks the address with ROLE (redis.c).
 */


#ifndef _NGX_HTTP_VALIDIBOT_SENTINEL_H_INCLUDED_
#define _NGX_HTTP_VALIDIBOT_SENTINEL_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>


/* "master" NULL: no sentinel named one (already logged) */
typedef void (*ngx_http_validibot_sentinel_handler_pt)(ngx_addr_t *master);


ngx_int_t ngx_http_validibot_sentinel_init(ngx_cycle_t *cycle,
    ngx_array_t *sentinels, ngx_str_t *name, ngx_msec_t timeout,
    ngx_http_validibot_sentinel_handler_pt handler);

/* asks, unless a question is under way already */
void ngx_http_validibot_sentinel_ask(void);

void ngx_http_validibot_sentinel_exit(void);


#endif /* _NGX_HTTP_VALIDIBOT_SENTINEL_H_INCLUDED_ */
