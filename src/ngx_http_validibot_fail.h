
/*
 * Copyright (C) The ngx_http_validibot_module authors
 *
 * Failed-attempt limit: refusals (401, 400) counted per client address in
 * a shared memory zone, across workers.  After "max" refusals within a
 * window, the address is locked out until that window ends.
 */


#ifndef _NGX_HTTP_VALIDIBOT_FAIL_H_INCLUDED_
#define _NGX_HTTP_VALIDIBOT_FAIL_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>


typedef struct ngx_http_validibot_fail_zone_s  ngx_http_validibot_fail_zone_t;


/*
 * "validibot_fail_zone name:size;" — adds the shared zone (size at least
 * 8 pages); returns the zone's context or NULL after logging an error.
 */
ngx_http_validibot_fail_zone_t *ngx_http_validibot_fail_zone_add(
    ngx_conf_t *cf, ngx_str_t *value);

/* finds a zone added with that name: for validibot_fail_limit zone=name */
ngx_http_validibot_fail_zone_t *ngx_http_validibot_fail_zone_find(
    ngx_conf_t *cf, ngx_str_t *name);

/*
 * Seconds the address stays locked out (>= 1), or 0 if it is not.  Never
 * blocks beyond the zone's mutex.  Key: the address bytes (e.g.
 * $binary_remote_addr) or text.
 */
time_t ngx_http_validibot_fail_locked(ngx_http_validibot_fail_zone_t *zone,
    ngx_str_t *key, time_t window);

/*
 * Counts one refusal.  Returns the lock-out in seconds when this refusal
 * reached "max" (the caller logs it, once), 0 otherwise.  When the zone is
 * full, the least recently used entries are dropped.
 */
time_t ngx_http_validibot_fail_count(ngx_http_validibot_fail_zone_t *zone,
    ngx_str_t *key, ngx_uint_t max, time_t window);


#endif /* _NGX_HTTP_VALIDIBOT_FAIL_H_INCLUDED_ */
