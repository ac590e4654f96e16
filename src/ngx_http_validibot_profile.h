
/*
 * Copyright (C) The ngx_http_validibot_module authors
 *
 * The assertion's own cost per request, on the real requests and the
 * real CPU (make bench, docs/performance.md): only in a build with
 * -DNGX_HTTP_VALIDIBOT_PROFILE (make module-profile); without it the
 * marks below are empty and production pays nothing.
 */


#ifndef _NGX_HTTP_VALIDIBOT_PROFILE_H_INCLUDED_
#define _NGX_HTTP_VALIDIBOT_PROFILE_H_INCLUDED_


/*
 * A function profiled declares uint64_t m[NGX_HTTP_VALIDIBOT_PROF_STEPS + 1]
 * under #ifdef NGX_HTTP_VALIDIBOT_PROFILE, marks 0 to STEPS, then done.
 */

/* the steps of ngx_http_validibot_assert(), between marks 0..4 */
#define NGX_HTTP_VALIDIBOT_PROF_CLAIMS   0    /* aud, jti */
#define NGX_HTTP_VALIDIBOT_PROF_JSON     1    /* the claims' JSON */
#define NGX_HTTP_VALIDIBOT_PROF_SIGN     2    /* base64url, HMAC */
#define NGX_HTTP_VALIDIBOT_PROF_HEADER   3    /* the token, the header */
#define NGX_HTTP_VALIDIBOT_PROF_STEPS    4


#ifdef NGX_HTTP_VALIDIBOT_PROFILE

#include <ngx_config.h>
#include <ngx_core.h>


void ngx_http_validibot_prof_init(ngx_log_t *log);
uint64_t ngx_http_validibot_prof_now(void);
void ngx_http_validibot_prof_add(const uint64_t *marks);
void ngx_http_validibot_prof_report(ngx_log_t *log);

#define ngx_http_validibot_prof_mark(name, i)                                \
    name[i] = ngx_http_validibot_prof_now()
#define ngx_http_validibot_prof_done(name)                                   \
    ngx_http_validibot_prof_add(name)

#else

#define ngx_http_validibot_prof_mark(name, i)
#define ngx_http_validibot_prof_done(name)

#endif


#endif /* _NGX_HTTP_VALIDIBOT_PROFILE_H_INCLUDED_ */
