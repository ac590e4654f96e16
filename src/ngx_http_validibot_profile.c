
/*
 * Copyright (C) The ngx_http_validibot_module authors
 *
 * CLOCK_MONOTONIC around each step of the assertion, summed per worker.
 * A mark costs about 30 ns here (vDSO); the cost of an empty interval is
 * measured at worker start and taken off each step.  An interval that
 * took longer than NGX_HTTP_VALIDIBOT_PROF_DROP was preempted (the worker
 * shares its CPU): it is counted apart, not summed.  The sums go to the
 * error log when the worker exits; bench/run.sh reads them.
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_http_validibot_profile.h"


#ifdef NGX_HTTP_VALIDIBOT_PROFILE

#include <time.h>


#define NGX_HTTP_VALIDIBOT_PROF_DROP   50000      /* ns: the whole request */
#define NGX_HTTP_VALIDIBOT_PROF_CAL    100000     /* empty intervals */


static uint64_t  ngx_http_validibot_prof_n;
static uint64_t  ngx_http_validibot_prof_dropped;
static uint64_t  ngx_http_validibot_prof_ns[NGX_HTTP_VALIDIBOT_PROF_STEPS];
static uint64_t  ngx_http_validibot_prof_empty_ps;   /* 1/1000 ns */


uint64_t
ngx_http_validibot_prof_now(void)
{
    struct timespec  ts;

    (void) clock_gettime(CLOCK_MONOTONIC, &ts);

    return (uint64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}


/* the mean of many empty intervals, preempted ones left out */

void
ngx_http_validibot_prof_init(ngx_log_t *log)
{
    uint64_t    a, b, sum;
    ngx_uint_t  i, n;

    sum = 0;
    n = 0;

    for (i = 0; i < NGX_HTTP_VALIDIBOT_PROF_CAL; i++) {
        a = ngx_http_validibot_prof_now();
        b = ngx_http_validibot_prof_now();

        if (b - a < 1000) {
            sum += b - a;
            n++;
        }
    }

    ngx_http_validibot_prof_empty_ps = n ? sum * 1000 / n : 0;

    ngx_log_error(NGX_LOG_WARN, log, 0,
                  "validibot: profile build: an empty interval takes "
                  "%uL ps", ngx_http_validibot_prof_empty_ps);
}


void
ngx_http_validibot_prof_add(const uint64_t *m)
{
    ngx_uint_t  i;

    if (m[NGX_HTTP_VALIDIBOT_PROF_STEPS] - m[0]
        > NGX_HTTP_VALIDIBOT_PROF_DROP)
    {
        ngx_http_validibot_prof_dropped++;
        return;
    }

    ngx_http_validibot_prof_n++;

    for (i = 0; i < NGX_HTTP_VALIDIBOT_PROF_STEPS; i++) {
        ngx_http_validibot_prof_ns[i] += m[i + 1] - m[i];
    }
}


/*
 * One line bench/run.sh parses: the count, the preempted ones, the marks
 * per request, and each step's mean in ps with the empty interval taken
 * off (a step can come out slightly below 0: printed as 0).
 */

void
ngx_http_validibot_prof_report(ngx_log_t *log)
{
    int64_t     ps[NGX_HTTP_VALIDIBOT_PROF_STEPS], total;
    uint64_t    n;
    ngx_uint_t  i;

    n = ngx_http_validibot_prof_n;
    total = 0;

    for (i = 0; i < NGX_HTTP_VALIDIBOT_PROF_STEPS; i++) {
        ps[i] = n ? (int64_t) (ngx_http_validibot_prof_ns[i] * 1000 / n)
                    - (int64_t) ngx_http_validibot_prof_empty_ps
                  : 0;

        if (ps[i] < 0) {
            ps[i] = 0;
        }

        total += ps[i];
    }

    ngx_log_error(NGX_LOG_WARN, log, 0,
                  "validibot: profile: assertions=%uL dropped=%uL marks=%ui "
                  "empty_ps=%uL total_ps=%L claims_ps=%L json_ps=%L "
                  "sign_ps=%L header_ps=%L",
                  n, ngx_http_validibot_prof_dropped,
                  (ngx_uint_t) (NGX_HTTP_VALIDIBOT_PROF_STEPS + 1),
                  ngx_http_validibot_prof_empty_ps, total,
                  ps[NGX_HTTP_VALIDIBOT_PROF_CLAIMS],
                  ps[NGX_HTTP_VALIDIBOT_PROF_JSON],
                  ps[NGX_HTTP_VALIDIBOT_PROF_SIGN],
                  ps[NGX_HTTP_VALIDIBOT_PROF_HEADER]);
}

#else

/* ISO C wants something in a translation unit */
typedef int  ngx_http_validibot_profile_off_t;

#endif
