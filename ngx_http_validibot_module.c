
/*
 * Copyright (C) The ngx_http_validibot_module authors
 *
 * Validibot API keys checked in the access phase against Redis, with the
 * roles a location requires; the identity goes on as headers and
 * variables.  This file is the nginx glue: directives, configuration,
 * phase handlers, the JSON error bodies and variables.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_validibot_key.h"
#include "ngx_http_validibot_digest.h"
#include "ngx_http_validibot_roles.h"
#include "ngx_http_validibot_reply.h"
#include "ngx_http_validibot_check.h"
#include "ngx_http_validibot_url.h"
#include "ngx_http_validibot_redis.h"
#include "ngx_http_validibot_redis_conf.h"
#include "ngx_http_validibot_ssl.h"
#include "ngx_http_validibot_fail.h"
#include "ngx_http_validibot_metrics.h"
#include "ngx_http_validibot_track.h"
#include "ngx_http_validibot_value.h"
#include "ngx_http_validibot_assertion.h"
#include "ngx_http_validibot_profile.h"
#include "ngx_http_validibot_request_id.h"

#include <openssl/rand.h>


#define NGX_HTTP_VALIDIBOT_MAX_REQUIRE   32
#define NGX_HTTP_VALIDIBOT_MAX_KEY_FILE  4096
#define NGX_HTTP_VALIDIBOT_MAX_ASSERTION_TTL  86400
#define NGX_HTTP_VALIDIBOT_ASSERTION_BUF      4096
#define NGX_HTTP_VALIDIBOT_ASSERTION_MEMO_BITS 8

#define NGX_HTTP_VALIDIBOT_PREFLIGHT_AUTHENTICATE  0
#define NGX_HTTP_VALIDIBOT_PREFLIGHT_PASS          1

/*
 * The usage record is a hash of its own, <prefix>usage:<public_id>: a
 * write there invalidates no cached decision (validibot_cache tracks the
 * key, user, org and member records only).
 */
#define NGX_HTTP_VALIDIBOT_USAGE_SCRIPT                                       \
    "if redis.call('EXISTS', KEYS[1]) == 1 then "                            \
    "redis.call('HSET', KEYS[2], 'last_used_at', ARGV[1], "                  \
    "'last_used_ip', ARGV[2]) end return 0"


/* WWW-Authenticate challenges, made once per location */
enum {
    NGX_HTTP_VALIDIBOT_C_PLAIN = 0,
    NGX_HTTP_VALIDIBOT_C_INVALID,
    NGX_HTTP_VALIDIBOT_C_EXPIRED,
    NGX_HTTP_VALIDIBOT_C_SCOPE,
    NGX_HTTP_VALIDIBOT_C_REQUEST,
    NGX_HTTP_VALIDIBOT_NCHALLENGES
};


/* JSON bodies of refusals; 0 is "none" */
enum {
    NGX_HTTP_VALIDIBOT_B_NONE = 0,
    NGX_HTTP_VALIDIBOT_B_MISSING,
    NGX_HTTP_VALIDIBOT_B_INVALID,
    NGX_HTTP_VALIDIBOT_B_REQUEST,
    NGX_HTTP_VALIDIBOT_B_FORBIDDEN,
    NGX_HTTP_VALIDIBOT_B_UNAVAILABLE,
    NGX_HTTP_VALIDIBOT_B_THROTTLED
};


enum {
    NGX_HTTP_VALIDIBOT_INIT = 0,
    NGX_HTTP_VALIDIBOT_PENDING,
    NGX_HTTP_VALIDIBOT_DONE
};


typedef struct {
    ngx_http_validibot_redis_conf_t   redis;
    ngx_str_t                         url_shown; /* without a password */
    ngx_array_t                      *hmacs;   /* ngx_http_validibot_hmac_t */
    ngx_msec_t                        usage_interval;
    ngx_uint_t                        used;
    ngx_uint_t                        metrics;
    ngx_str_t                         cache_name;
    size_t                            cache_size;     /* 0: no cache */
    ngx_msec_t                        cache_ttl;
    ngx_msec_t                        cache_negative_ttl;
    ngx_uint_t                        debug_warned;
} ngx_http_validibot_main_conf_t;


typedef struct {
    uint32_t                          mask;
    ngx_uint_t                        methods;  /* 0: every method */
} ngx_http_validibot_require_t;


/* validibot_assertion: the first key signs */
typedef struct {
    ngx_array_t                      *keys;
    ngx_str_t                         header;
    ngx_str_t                         lowcase;
    ngx_uint_t                        hash;
    ngx_str_t                         issuer;
    ngx_http_complex_value_t         *audience;
    ngx_int_t                         audience_var;  /* "$name": its index */
    time_t                            ttl;
    ngx_int_t                         request_id;  /* variable index */
} ngx_http_validibot_assertion_conf_t;


typedef struct {
    ngx_str_t                         realm;    /* len 0: off */
    ngx_http_complex_value_t         *org;
    ngx_array_t                      *require;
    ngx_flag_t                        identity_headers;
    ngx_flag_t                        hide_credentials;
    ngx_flag_t                        strict_path;
    ngx_flag_t                        allow_subrequests;
    ngx_http_validibot_fail_zone_t   *fail_zone;
    ngx_uint_t                        fail_max;
    time_t                            fail_window;
    time_t                            max_key_age;
    time_t                            expiry_leeway;
    time_t                            expiry_warning;
    ngx_uint_t                        preflight;
    ngx_flag_t                        cache;
    ngx_uint_t                        superusers;
    ngx_uint_t                        whoami;   /* not inherited */
    ngx_str_t                        *challenge;
    ngx_http_validibot_assertion_conf_t  *assertion;
} ngx_http_validibot_loc_conf_t;


typedef struct {
    ngx_http_request_t               *request;
    ngx_http_validibot_waiter_t      *waiter;
    ngx_http_validibot_key_t          key;
    ngx_str_t                         key_id;
    ngx_str_t                         org;
    ngx_str_t                         user;
    ngx_str_t                         roles;
    ngx_str_t                         email;          /* for whoami */
    ngx_str_t                         name;
    ngx_str_t                         label;
    time_t                            expires_at;
    ngx_http_validibot_track_token_t  token;          /* validibot_cache */
    ngx_http_validibot_track_wait_t   wait;
    ngx_str_t                         lookup_org;
    time_t                            lock_left;
    struct timespec                   start;          /* for metrics */
    ngx_uint_t                        status;
    ngx_int_t                         rc;
    ngx_uint_t                        body;
    unsigned                          state:2;
    unsigned                          org_named:1;
    unsigned                          fail_pending:1;  /* "satisfy any" */
    unsigned                          lock_pending:1;
    unsigned                          replace_body:1;
    unsigned                          body_sent:1;
    unsigned                          cleanup:1;
} ngx_http_validibot_ctx_t;


static ngx_int_t ngx_http_validibot_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_validibot_rewrite_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_validibot_lookup(ngx_http_request_t *r,
    ngx_http_validibot_ctx_t *ctx);
static void ngx_http_validibot_drained(ngx_http_validibot_track_wait_t *w);
static void ngx_http_validibot_lookup_done(void *data, redisReply *reply);
static void ngx_http_validibot_verdict(ngx_http_request_t *r,
    ngx_http_validibot_ctx_t *ctx, ngx_http_validibot_record_t *rec,
    ngx_http_validibot_cache_entry_t *e);
static void ngx_http_validibot_cleanup(void *data);
static ngx_int_t ngx_http_validibot_add_cleanup(ngx_http_request_t *r,
    ngx_http_validibot_ctx_t *ctx);
static ngx_int_t ngx_http_validibot_decide(ngx_http_request_t *r,
    ngx_http_validibot_ctx_t *ctx, ngx_uint_t status, const char *reason);
static ngx_int_t ngx_http_validibot_set_identity(ngx_http_request_t *r,
    ngx_http_validibot_ctx_t *ctx, ngx_http_validibot_loc_conf_t *lcf);
static ngx_int_t ngx_http_validibot_assert(ngx_http_request_t *r,
    ngx_http_validibot_ctx_t *ctx, ngx_http_validibot_assertion_conf_t *acf);
static ngx_http_variable_value_t *ngx_http_validibot_request_id_variable(
    ngx_http_request_t *r, ngx_http_validibot_assertion_conf_t *acf);
static ngx_uint_t ngx_http_validibot_is_assertion(ngx_table_elt_t *h,
    ngx_http_validibot_assertion_conf_t *acf);
static ngx_int_t ngx_http_validibot_filter_headers(ngx_http_request_t *r,
    ngx_uint_t hide, ngx_uint_t spoofed,
    ngx_http_validibot_assertion_conf_t *acf);
static ngx_table_elt_t *ngx_http_validibot_push_header(ngx_list_t *headers,
    ngx_uint_t name, ngx_str_t *value);
static ngx_http_validibot_ctx_t *ngx_http_validibot_get_ctx(
    ngx_http_request_t *r);
static ngx_int_t ngx_http_validibot_org_valid(ngx_str_t *org);
static ngx_uint_t ngx_http_validibot_uri_ambiguous(ngx_http_request_t *r);
static ngx_uint_t ngx_http_validibot_satisfy_any(ngx_http_request_t *r);
static void ngx_http_validibot_count_failure(ngx_http_request_t *r,
    ngx_http_validibot_loc_conf_t *lcf);
static ngx_int_t ngx_http_validibot_refused_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_validibot_bad_path(ngx_http_request_t *r,
    ngx_http_validibot_ctx_t *ctx);
static ngx_int_t ngx_http_validibot_throttle(ngx_http_request_t *r,
    ngx_http_validibot_ctx_t *ctx, time_t left);
static void ngx_http_validibot_client_addr(ngx_http_request_t *r,
    ngx_str_t *key);
static ngx_uint_t ngx_http_validibot_is_preflight(ngx_http_request_t *r);
static ngx_int_t ngx_http_validibot_record_usage(ngx_http_request_t *r,
    ngx_http_validibot_ctx_t *ctx, ngx_http_validibot_span_t *last);
static ngx_int_t ngx_http_validibot_expiry_warning(ngx_http_request_t *r,
    ngx_http_validibot_ctx_t *ctx, ngx_http_validibot_loc_conf_t *lcf);
static ngx_int_t ngx_http_validibot_copy_field(ngx_pool_t *pool,
    ngx_str_t *dst, ngx_http_validibot_span_t *src);
static ngx_int_t ngx_http_validibot_copy_text(ngx_pool_t *pool,
    ngx_str_t *dst, ngx_http_validibot_span_t *src);
static u_char *ngx_http_validibot_iso8601(u_char *p, time_t t);
static ngx_int_t ngx_http_validibot_whoami_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_validibot_status_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_validibot_send(ngx_http_request_t *r,
    ngx_str_t *type, ngx_str_t *body);

static ngx_int_t ngx_http_validibot_header_filter(ngx_http_request_t *r);
static ngx_int_t ngx_http_validibot_body_filter(ngx_http_request_t *r,
    ngx_chain_t *in);

static ngx_int_t ngx_http_validibot_process_authorization(
    ngx_http_request_t *r, ngx_table_elt_t *h, ngx_uint_t offset);
static ngx_int_t ngx_http_validibot_hook_headers(ngx_conf_t *cf);
static void ngx_http_validibot_unhook_headers(void *data);

static ngx_int_t ngx_http_validibot_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_validibot_status_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);

static ngx_int_t ngx_http_validibot_add_variables(ngx_conf_t *cf);
static void *ngx_http_validibot_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_validibot_init_main_conf(ngx_conf_t *cf, void *conf);
static void *ngx_http_validibot_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_validibot_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static ngx_uint_t ngx_http_validibot_debug_logged(ngx_conf_t *cf);
static ngx_int_t ngx_http_validibot_init(ngx_conf_t *cf);
static ngx_int_t ngx_http_validibot_init_process(ngx_cycle_t *cycle);
static void ngx_http_validibot_exit_process(ngx_cycle_t *cycle);

static char *ngx_http_validibot_redis_url(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_validibot_resolve_conf(ngx_conf_t *cf,
    ngx_http_validibot_main_conf_t *vmcf);
static char *ngx_http_validibot_parse_sentinels(ngx_conf_t *cf,
    ngx_http_validibot_main_conf_t *vmcf, ngx_http_validibot_url_t *url,
    ngx_str_t *shown);
static char *ngx_http_validibot_sync_max_lag(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_validibot_superusers(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_validibot_owner_hints(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_validibot_redis_connections(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_validibot_redis_prefix(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_validibot_digest_key(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static ngx_int_t ngx_http_validibot_read_key(ngx_conf_t *cf,
    ngx_str_t *name, u_char *buf, size_t *len);
static char *ngx_http_validibot_assertion(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_validibot_assertion_key(ngx_conf_t *cf,
    ngx_http_validibot_assertion_conf_t *acf, ngx_str_t *value);
static char *ngx_http_validibot_auth(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_validibot_org(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_validibot_require(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_validibot_cache(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_validibot_usage_interval(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_validibot_fail_zone(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_validibot_fail_limit(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_validibot_max_key_age(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_validibot_whoami(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_validibot_status(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_validibot_parse_addr(ngx_conf_t *cf,
    ngx_http_validibot_main_conf_t *vmcf, ngx_str_t *value);
static ngx_int_t ngx_http_validibot_make_challenges(ngx_conf_t *cf,
    ngx_http_validibot_loc_conf_t *conf);


static ngx_conf_enum_t  ngx_http_validibot_preflight_values[] = {
    { ngx_string("authenticate"), NGX_HTTP_VALIDIBOT_PREFLIGHT_AUTHENTICATE },
    { ngx_string("pass"), NGX_HTTP_VALIDIBOT_PREFLIGHT_PASS },
    { ngx_null_string, 0 }
};


static ngx_command_t  ngx_http_validibot_commands[] = {

    { ngx_string("validibot_redis"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_validibot_redis_url,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("validibot_redis_password_file"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_validibot_redis_password_file,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_validibot_main_conf_t, redis),
      NULL },

    { ngx_string("validibot_redis_ssl_verify"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_validibot_main_conf_t, redis.ssl_verify),
      NULL },

    { ngx_string("validibot_redis_ssl_trusted_certificate"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_validibot_main_conf_t, redis.ssl_trusted_certificate),
      NULL },

    { ngx_string("validibot_redis_ssl_server_name"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_validibot_main_conf_t, redis.ssl_server_name),
      NULL },

    { ngx_string("validibot_redis_ssl_certificate"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_validibot_main_conf_t, redis.ssl_certificate),
      NULL },

    { ngx_string("validibot_redis_ssl_certificate_key"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_validibot_main_conf_t, redis.ssl_certificate_key),
      NULL },

    { ngx_string("validibot_redis_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_validibot_main_conf_t, redis.timeout),
      NULL },

    { ngx_string("validibot_redis_connections"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_validibot_redis_connections,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("validibot_sync_max_lag"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_validibot_sync_max_lag,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("validibot_superusers"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_validibot_superusers,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("validibot_owner_hints"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_validibot_owner_hints,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("validibot_redis_prefix"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_validibot_redis_prefix,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("validibot_digest_key"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE2,
      ngx_http_validibot_digest_key,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("validibot_auth"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_validibot_auth,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("validibot_org"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_validibot_org,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("validibot_require"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_validibot_require,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("validibot_identity_headers"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_validibot_loc_conf_t, identity_headers),
      NULL },

    { ngx_string("validibot_hide_credentials"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_validibot_loc_conf_t, hide_credentials),
      NULL },

    { ngx_string("validibot_cache"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_validibot_cache,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("validibot_strict_path"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_validibot_loc_conf_t, strict_path),
      NULL },

    { ngx_string("validibot_allow_subrequests"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_validibot_loc_conf_t, allow_subrequests),
      NULL },

    { ngx_string("validibot_usage_interval"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_validibot_usage_interval,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("validibot_fail_zone"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_validibot_fail_zone,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("validibot_fail_limit"),
      NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE3,
      ngx_http_validibot_fail_limit,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("validibot_max_key_age"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_validibot_max_key_age,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("validibot_expiry_leeway"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_validibot_loc_conf_t, expiry_leeway),
      NULL },

    { ngx_string("validibot_expiry_warning"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_validibot_loc_conf_t, expiry_warning),
      NULL },

    { ngx_string("validibot_preflight"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_enum_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_validibot_loc_conf_t, preflight),
      &ngx_http_validibot_preflight_values },

    { ngx_string("validibot_assertion"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_validibot_assertion,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("validibot_whoami"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_validibot_whoami,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("validibot_status"),
      NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_validibot_status,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_validibot_module_ctx = {
    ngx_http_validibot_add_variables,      /* preconfiguration */
    ngx_http_validibot_init,               /* postconfiguration */

    ngx_http_validibot_create_main_conf,   /* create main configuration */
    ngx_http_validibot_init_main_conf,     /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_validibot_create_loc_conf,    /* create location configuration */
    ngx_http_validibot_merge_loc_conf      /* merge location configuration */
};


ngx_module_t  ngx_http_validibot_module = {
    NGX_MODULE_V1,
    &ngx_http_validibot_module_ctx,        /* module context */
    ngx_http_validibot_commands,           /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_http_validibot_init_process,       /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_http_validibot_exit_process,       /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_http_variable_t  ngx_http_validibot_vars[] = {

    { ngx_string("validibot_user"), NULL, ngx_http_validibot_variable,
      offsetof(ngx_http_validibot_ctx_t, user), NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("validibot_org"), NULL, ngx_http_validibot_variable,
      offsetof(ngx_http_validibot_ctx_t, org), NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("validibot_roles"), NULL, ngx_http_validibot_variable,
      offsetof(ngx_http_validibot_ctx_t, roles), NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("validibot_key_id"), NULL, ngx_http_validibot_variable,
      offsetof(ngx_http_validibot_ctx_t, key_id), NGX_HTTP_VAR_NOCACHEABLE,
      0 },

    { ngx_string("validibot_auth_status"), NULL,
      ngx_http_validibot_status_variable, 0, NGX_HTTP_VAR_NOCACHEABLE, 0 },

      ngx_http_null_variable
};


static ngx_str_t  ngx_http_validibot_bodies[] = {
    ngx_null_string,
    ngx_string("{\"detail\":\"Authentication required\","
               "\"code\":\"not_authenticated\"}"),
    ngx_string("{\"detail\":\"Invalid API key\","
               "\"code\":\"authentication_failed\"}"),
    ngx_string("{\"detail\":\"Invalid request\","
               "\"code\":\"invalid_request\"}"),
    ngx_string("{\"detail\":\"Permission denied\","
               "\"code\":\"permission_denied\"}"),
    ngx_string("{\"detail\":\"Authentication service unavailable\","
               "\"code\":\"service_unavailable\"}"),
    ngx_string("{\"detail\":\"Too many failed attempts\","
               "\"code\":\"throttled\"}")
};


typedef struct {
    ngx_str_t    key;
    ngx_str_t    lowcase;
    ngx_uint_t   hash;
} ngx_http_validibot_header_name_t;


enum {
    NGX_HTTP_VALIDIBOT_H_USER = 0,
    NGX_HTTP_VALIDIBOT_H_ORG,
    NGX_HTTP_VALIDIBOT_H_ROLES,
    NGX_HTTP_VALIDIBOT_H_KEY_ID,
    NGX_HTTP_VALIDIBOT_H_WWW_AUTHENTICATE,
    NGX_HTTP_VALIDIBOT_H_RETRY_AFTER,
    NGX_HTTP_VALIDIBOT_H_KEY_EXPIRES,
    NGX_HTTP_VALIDIBOT_NHEADERS
};


/* hashes are filled in at postconfiguration */
static ngx_http_validibot_header_name_t  ngx_http_validibot_headers[] = {
    { ngx_string("X-Validibot-User"), ngx_string("x-validibot-user"), 0 },
    { ngx_string("X-Validibot-Org"), ngx_string("x-validibot-org"), 0 },
    { ngx_string("X-Validibot-Roles"), ngx_string("x-validibot-roles"), 0 },
    { ngx_string("X-Validibot-Key-Id"), ngx_string("x-validibot-key-id"), 0 },
    { ngx_string("WWW-Authenticate"), ngx_string("www-authenticate"), 0 },
    { ngx_string("Retry-After"), ngx_string("retry-after"), 0 },
    { ngx_string("X-Validibot-Key-Expires"),
      ngx_string("x-validibot-key-expires"), 0 }
};


/*
 * $request_id for the assertion's jti (ngx_http_validibot_request_id.c):
 * a key each worker draws at start, and the worker's count of ids made.
 */
static u_char      ngx_http_validibot_rid_key[
                        NGX_HTTP_VALIDIBOT_REQUEST_ID_KEY_LEN];
static uint64_t    ngx_http_validibot_rid_next;
static ngx_uint_t  ngx_http_validibot_rid_ready;

/*
 * Per worker, by the API key's public id: the start of the claims (iss to
 * kid) of keys signed for lately, with their HMAC state, and after it iat
 * and exp of the key's last second, so a request hashes only jti to htu
 * (ngx_http_validibot_assertion_memo_tail()).  Pages of it are touched
 * only where assertions are signed.
 */
static ngx_http_validibot_assertion_memo_t
    ngx_http_validibot_memos[1 << NGX_HTTP_VALIDIBOT_ASSERTION_MEMO_BITS];


typedef struct {
    ngx_str_t    name;
    ngx_uint_t   method;
} ngx_http_validibot_method_t;


static ngx_http_validibot_method_t  ngx_http_validibot_methods[] = {
    { ngx_string("GET"), NGX_HTTP_GET },
    { ngx_string("HEAD"), NGX_HTTP_HEAD },
    { ngx_string("POST"), NGX_HTTP_POST },
    { ngx_string("PUT"), NGX_HTTP_PUT },
    { ngx_string("DELETE"), NGX_HTTP_DELETE },
    { ngx_string("PATCH"), NGX_HTTP_PATCH },
    { ngx_string("OPTIONS"), NGX_HTTP_OPTIONS },
    { ngx_string("MKCOL"), NGX_HTTP_MKCOL },
    { ngx_string("COPY"), NGX_HTTP_COPY },
    { ngx_string("MOVE"), NGX_HTTP_MOVE },
    { ngx_string("PROPFIND"), NGX_HTTP_PROPFIND },
    { ngx_string("PROPPATCH"), NGX_HTTP_PROPPATCH },
    { ngx_string("LOCK"), NGX_HTTP_LOCK },
    { ngx_string("UNLOCK"), NGX_HTTP_UNLOCK },
    { ngx_string("TRACE"), NGX_HTTP_TRACE },
    { ngx_null_string, 0 }
};


static ngx_http_output_header_filter_pt  ngx_http_next_header_filter;
static ngx_http_output_body_filter_pt    ngx_http_next_body_filter;

static ngx_http_header_handler_pt  ngx_http_validibot_authorization_handler;
static ngx_uint_t                  ngx_http_validibot_hooks;
static ngx_uint_t                  ngx_http_validibot_truncated_logged;



static ngx_int_t
ngx_http_validibot_handler(ngx_http_request_t *r)
{
    time_t                             left;
    ngx_str_t                          value, lookup_org, addr;
    ngx_table_elt_t                   *auth;
    ngx_http_validibot_ctx_t          *ctx;
    ngx_http_validibot_loc_conf_t     *lcf;
    ngx_http_validibot_cred_e          cred;
    ngx_http_validibot_main_conf_t    *vmcf;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_validibot_module);

    if (lcf->realm.len == 0) {
        return NGX_DECLINED;
    }

    /* browsers never send credentials on a CORS preflight */

    if (lcf->preflight == NGX_HTTP_VALIDIBOT_PREFLIGHT_PASS
        && r->method == NGX_HTTP_OPTIONS
        && ngx_http_validibot_is_preflight(r))
    {
        return NGX_DECLINED;
    }

    ctx = ngx_http_validibot_get_ctx(r);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* re-entered: spurious write events, or the lookup has finished */

    if (ctx->state == NGX_HTTP_VALIDIBOT_PENDING) {
        return NGX_AGAIN;
    }

    if (ctx->state == NGX_HTTP_VALIDIBOT_DONE) {
        return ctx->rc;
    }

    /*
     * The org comes from nginx's normalized URI; an upstream that routes
     * on the raw path could read another org from it.
     */

    if (lcf->org
        && lcf->strict_path
        && ngx_http_validibot_uri_ambiguous(r))
    {
        return ngx_http_validibot_bad_path(r, ctx);
    }

    if (lcf->fail_zone) {
        ngx_http_validibot_client_addr(r, &addr);

        left = ngx_http_validibot_fail_locked(lcf->fail_zone, &addr,
                                              lcf->fail_window);
        if (left) {
            if (!ngx_http_validibot_satisfy_any(r)) {
                return ngx_http_validibot_throttle(r, ctx, left);
            }

            /*
             * Under "satisfy any" another access module may still let
             * the request in: refuse like a missing key, and answer 429
             * only if the request ends refused (the last access handler).
             */

            ctx->status = NGX_HTTP_VALIDIBOT_THROTTLED;
            ctx->state = NGX_HTTP_VALIDIBOT_DONE;
            ctx->rc = NGX_HTTP_UNAUTHORIZED;
            ctx->lock_left = left;
            ctx->lock_pending = 1;

            return ctx->rc;
        }
    }

    auth = r->headers_in.authorization;

    if (auth == NULL) {
        return ngx_http_validibot_decide(r, ctx, NGX_HTTP_VALIDIBOT_MISSING,
                                         "no credentials");
    }

    value = auth->value;

    cred = ngx_http_validibot_parse_authorization(value.data, value.len,
                                                  &ctx->key);

    if (cred == NGX_HTTP_VALIDIBOT_CRED_MISSING) {
        return ngx_http_validibot_decide(r, ctx, NGX_HTTP_VALIDIBOT_MISSING,
                                         "not a Bearer credential");
    }

    if (cred != NGX_HTTP_VALIDIBOT_CRED_OK) {
        return ngx_http_validibot_decide(r, ctx, NGX_HTTP_VALIDIBOT_MALFORMED,
                                         "malformed key");
    }

    ctx->key_id.len = NGX_HTTP_VALIDIBOT_PUBLIC_ID_LEN;
    ctx->key_id.data = (u_char *) ctx->key.public_id;

    ngx_str_null(&lookup_org);

    if (lcf->org) {
        if (ngx_http_complex_value(r, lcf->org, &lookup_org) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        /*
         * An org slug that cannot exist is looked up as no org at all; the
         * org check then refuses it, after the key is verified.  Only a
         * valid slug becomes $validibot_org.
         */

        ctx->org_named = (lookup_org.len != 0);

        if (ngx_http_validibot_org_valid(&lookup_org) == NGX_OK) {
            ctx->org = lookup_org;

        } else {
            ngx_str_null(&lookup_org);
        }
    }

    vmcf = ngx_http_get_module_main_conf(r, ngx_http_validibot_module);

    ctx->lookup_org = lookup_org;

    /*
     * With a sync lag bound, every decision must see validibot-sync's
     * heartbeat, which only a lookup reads: no cache then.
     */

    if (lcf->cache && vmcf->redis.sync_lag == 0) {

        /* a parked request that goes away must leave the queue */

        if (ngx_http_validibot_add_cleanup(r, ctx) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ctx->wait.handler = ngx_http_validibot_drained;

        if (ngx_http_validibot_track_wait(&ctx->wait) == NGX_OK) {
            ctx->state = NGX_HTTP_VALIDIBOT_PENDING;

            /* an HTTP/2 stream reset in the same read ends it at once */
            r->read_event_handler = ngx_http_test_reading;

            return NGX_AGAIN;
        }

        /* the tracking connection is down: what we store will be refused */
        ngx_http_validibot_track_token(&ctx->token);
    }

    return ngx_http_validibot_lookup(r, ctx);
}


/* after the drain that followed the request's read: the cache, or Redis */

static void
ngx_http_validibot_drained(ngx_http_validibot_track_wait_t *w)
{
    ngx_int_t                          rc;
    ngx_connection_t                  *c;
    ngx_http_request_t                *r;
    ngx_http_validibot_ctx_t          *ctx;
    ngx_http_validibot_record_t        rec;
    ngx_http_validibot_cache_entry_t  *e;

    ctx = (ngx_http_validibot_ctx_t *)
              ((u_char *) w - offsetof(ngx_http_validibot_ctx_t, wait));
    r = ctx->request;
    c = r->connection;

    e = ngx_http_validibot_track_get(&ctx->key_id, &ctx->lookup_org, &rec);

    if (e) {
        r->read_event_handler = ngx_http_block_reading;
        ngx_http_validibot_verdict(r, ctx, &rec, e);

    } else {
        ngx_http_validibot_track_token(&ctx->token);

        rc = ngx_http_validibot_lookup(r, ctx);
        if (rc == NGX_AGAIN) {
            return;
        }

        r->read_event_handler = ngx_http_block_reading;

        if (ctx->state != NGX_HTTP_VALIDIBOT_DONE) {
            ctx->state = NGX_HTTP_VALIDIBOT_DONE;
            ctx->rc = rc;
        }
    }

    ngx_http_core_run_phases(r);
    ngx_http_run_posted_requests(c);
}


static ngx_int_t
ngx_http_validibot_add_cleanup(ngx_http_request_t *r,
    ngx_http_validibot_ctx_t *ctx)
{
    ngx_http_cleanup_t  *cln;

    if (ctx->cleanup) {
        return NGX_OK;
    }

    cln = ngx_http_cleanup_add(r, 0);
    if (cln == NULL) {
        return NGX_ERROR;
    }

    cln->handler = ngx_http_validibot_cleanup;
    cln->data = ctx;
    ctx->cleanup = 1;

    return NGX_OK;
}


/* sends the lookup; NGX_AGAIN: lookup_done() resumes the request */

static ngx_int_t
ngx_http_validibot_lookup(ngx_http_request_t *r, ngx_http_validibot_ctx_t *ctx)
{
    ngx_http_validibot_waiter_t     *w;
    ngx_http_validibot_main_conf_t  *vmcf;

    vmcf = ngx_http_get_module_main_conf(r, ngx_http_validibot_module);

    if (ngx_http_validibot_add_cleanup(r, ctx) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    w = ngx_http_validibot_redis_lookup(&ctx->key_id, &ctx->lookup_org,
                                        ngx_http_validibot_lookup_done, ctx,
                                        r->connection->log);
    if (w == NULL) {
        return ngx_http_validibot_decide(r, ctx,
                                         NGX_HTTP_VALIDIBOT_STORE_ERROR,
                                         "redis unavailable");
    }

    ctx->waiter = w;
    ctx->state = NGX_HTTP_VALIDIBOT_PENDING;

    if (vmcf->metrics) {
        (void) clock_gettime(CLOCK_MONOTONIC, &ctx->start);
    }

    /* notice a client that goes away while we wait */
    r->read_event_handler = ngx_http_test_reading;

    return NGX_AGAIN;
}


static void
ngx_http_validibot_lookup_done(void *data, redisReply *reply)
{
    ngx_connection_t                  *c;
    ngx_http_request_t                *r;
    ngx_http_validibot_ctx_t          *ctx;
    ngx_http_validibot_record_t        rec;
    ngx_http_validibot_loc_conf_t     *lcf;
    ngx_http_validibot_main_conf_t    *vmcf;
    ngx_http_validibot_cache_entry_t  *e;
    struct timespec                    now;

    ctx = data;
    r = ctx->request;
    c = r->connection;

    ctx->waiter = NULL;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_validibot_module);
    vmcf = ngx_http_get_module_main_conf(r, ngx_http_validibot_module);

    if (vmcf->metrics) {
        (void) clock_gettime(CLOCK_MONOTONIC, &now);
        ngx_http_validibot_metrics_latency(
            (now.tv_sec - ctx->start.tv_sec) * 1000000
            + (now.tv_nsec - ctx->start.tv_nsec) / 1000);
    }

    if (reply == NULL) {
        (void) ngx_http_validibot_decide(r, ctx,
                                           NGX_HTTP_VALIDIBOT_STORE_ERROR,
                                           "redis unavailable");
        goto done;
    }

    if (reply == &ngx_http_validibot_redis_stale) {
        (void) ngx_http_validibot_decide(r, ctx,
                                           NGX_HTTP_VALIDIBOT_STORE_ERROR,
                                           "validibot-sync lagging");
        goto done;
    }

    if (ngx_http_validibot_reply_decode(reply, &rec) != 0) {
        if (reply->type == REDIS_REPLY_ERROR) {
            ngx_log_error(NGX_LOG_ERR, c->log, 0,
                          "validibot: unexpected reply from redis for key "
                          "\"%V\": %*s", &ctx->key_id,
                          (size_t) ngx_min(reply->len, 256), reply->str);

        } else {
            ngx_log_error(NGX_LOG_ERR, c->log, 0,
                          "validibot: unexpected reply from redis for key "
                          "\"%V\"", &ctx->key_id);
        }

        (void) ngx_http_validibot_decide(r, ctx,
                                           NGX_HTTP_VALIDIBOT_STORE_ERROR,
                                           "unexpected reply");
        goto done;
    }

    /* what becomes a header or a variable must follow the schema */

    if (rec.found
        && (!ngx_http_validibot_user_valid(
                                   rec.field[NGX_HTTP_VALIDIBOT_F_USER].data,
                                   rec.field[NGX_HTTP_VALIDIBOT_F_USER].len)
            || !ngx_http_validibot_roles_valid(
                           rec.field[NGX_HTTP_VALIDIBOT_F_MEMBER_ROLES].data,
                           rec.field[NGX_HTTP_VALIDIBOT_F_MEMBER_ROLES].len)))
    {
        ngx_log_error(NGX_LOG_ERR, c->log, 0,
                      "validibot: key \"%V\": the stored user id or roles "
                      "break the schema", &ctx->key_id);

        (void) ngx_http_validibot_decide(r, ctx,
                                           NGX_HTTP_VALIDIBOT_STORE_ERROR,
                                           "bad value in store");
        goto done;
    }

    if (rec.truncated && !ngx_http_validibot_truncated_logged) {
        ngx_http_validibot_truncated_logged = 1;

        ngx_log_error(NGX_LOG_WARN, c->log, 0,
                      "validibot: key \"%V\": label, email or name over "
                      "%uz bytes, cut short (logged once per worker)",
                      &ctx->key_id, (size_t) NGX_HTTP_VALIDIBOT_FIELD_MAX_LEN);
    }

    e = NULL;

    if (lcf->cache && vmcf->redis.sync_lag == 0) {
        e = ngx_http_validibot_track_put(&ctx->token, &ctx->key_id,
                                         &ctx->lookup_org, &rec,
                                         vmcf->cache_ttl,
                                         vmcf->cache_negative_ttl);
    }

    ngx_http_validibot_verdict(r, ctx, &rec, e);

done:

    r->read_event_handler = ngx_http_block_reading;

    ngx_http_core_run_phases(r);
    ngx_http_run_posted_requests(c);
}


/*
 * Decides from what the lookup read, or the cache held: the secret is
 * checked against the stored digest either way.
 */

static void
ngx_http_validibot_verdict(ngx_http_request_t *r,
    ngx_http_validibot_ctx_t *ctx, ngx_http_validibot_record_t *rec,
    ngx_http_validibot_cache_entry_t *e)
{
    u_char                            tag[NGX_HTTP_VALIDIBOT_PRF_LEN];
    uint32_t                          need[NGX_HTTP_VALIDIBOT_MAX_REQUIRE];
    uint32_t                          roles;
    ngx_uint_t                        i, status;
    const u_char                     *known;
    ngx_http_validibot_check_t        chk;
    ngx_http_validibot_require_t     *req;
    ngx_http_validibot_loc_conf_t    *lcf;
    ngx_http_validibot_main_conf_t   *vmcf;
    ngx_http_validibot_span_t        *f;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_validibot_module);
    vmcf = ngx_http_get_module_main_conf(r, ngx_http_validibot_module);

    ngx_memzero(&chk, sizeof(ngx_http_validibot_check_t));

    chk.key = &ctx->key;
    chk.hmacs = vmcf->hmacs->elts;
    chk.nhmacs = vmcf->hmacs->nelts;
    chk.now = ngx_time();
    chk.leeway = lcf->expiry_leeway;
    chk.max_age = lcf->max_key_age;
    chk.org = ctx->org_named;
    chk.superusers = lcf->superusers;
    chk.need = need;

    if (lcf->require) {
        req = lcf->require->elts;

        for (i = 0; i < lcf->require->nelts; i++) {
            if (req[i].methods == 0 || (req[i].methods & r->method)) {
                need[chk.nneed++] = req[i].mask;
            }
        }
    }

    if (e) {
        /*
         * A secret that matched this entry's digest before left its tag:
         * the same credential again needs no HMAC-SHA256.
         */
        ngx_http_validibot_track_tag(&ctx->key, tag);
        known = ngx_http_validibot_cache_tag_get(e);
        chk.verified = (known && ngx_http_validibot_prf_equal(known, tag));

        if (ngx_http_validibot_cache_roles_get(e, &roles)) {
            chk.parsed_roles = &roles;
        }
    }

    status = ngx_http_validibot_check(&chk, rec);

    if (e && chk.secret_ok && !chk.verified) {
        ngx_http_validibot_cache_tag_set(e, tag);
    }

    if (status == NGX_HTTP_VALIDIBOT_OK) {
        f = rec->field;
        ctx->expires_at = (time_t) chk.expires_at;

        if (ngx_http_validibot_copy_field(r->pool, &ctx->user,
                                          &f[NGX_HTTP_VALIDIBOT_F_USER])
            != NGX_OK
            || (lcf->whoami
                && (ngx_http_validibot_copy_text(r->pool, &ctx->email,
                                              &f[NGX_HTTP_VALIDIBOT_F_EMAIL])
                    != NGX_OK
                    || ngx_http_validibot_copy_text(r->pool, &ctx->name,
                                               &f[NGX_HTTP_VALIDIBOT_F_NAME])
                       != NGX_OK
                    || ngx_http_validibot_copy_text(r->pool, &ctx->label,
                                              &f[NGX_HTTP_VALIDIBOT_F_LABEL])
                       != NGX_OK)))
        {
            (void) ngx_http_validibot_decide(r, ctx,
                                           NGX_HTTP_VALIDIBOT_STORE_ERROR,
                                           "out of memory");
            return;
        }

        if (ctx->org.len) {
            ctx->roles.data = ngx_pnalloc(r->pool,
                                          NGX_HTTP_VALIDIBOT_ROLES_MAX_LEN);
            if (ctx->roles.data == NULL) {
                (void) ngx_http_validibot_decide(r, ctx,
                                           NGX_HTTP_VALIDIBOT_STORE_ERROR,
                                           "out of memory");
                return;
            }

            ctx->roles.len = ngx_http_validibot_roles_format(chk.roles,
                                                          ctx->roles.data);
        }
    }

    if (ngx_http_validibot_decide(r, ctx, status, chk.reason) == NGX_OK) {

        if (vmcf->usage_interval
            && ngx_http_validibot_record_usage(r, ctx,
                              &rec->field[NGX_HTTP_VALIDIBOT_F_LAST_USED_AT])
               == NGX_OK
            && e)
        {
            /* so that the next hit does not write again */
            ngx_http_validibot_cache_used(e, ngx_time());
        }

        if (ngx_http_validibot_expiry_warning(r, ctx, lcf) != NGX_OK) {
            ctx->rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }
}


static void
ngx_http_validibot_cleanup(void *data)
{
    ngx_http_validibot_ctx_t  *ctx = data;

    ngx_http_validibot_track_unwait(&ctx->wait);

    if (ctx->waiter) {
        ngx_http_validibot_redis_cancel(ctx->waiter);
        ctx->waiter = NULL;
    }
}


/*
 * Turns a verdict into what the access handler returns, the challenge
 * and body of a refusal, or the identity of a success; logs a refusal
 * with the public id and the reason, never the secret.
 */

static ngx_int_t
ngx_http_validibot_decide(ngx_http_request_t *r,
    ngx_http_validibot_ctx_t *ctx, ngx_uint_t status, const char *reason)
{
    ngx_str_t                      *challenge, retry;
    ngx_table_elt_t                *h;
    ngx_http_validibot_loc_conf_t  *lcf;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_validibot_module);

    ctx->status = status;
    ctx->state = NGX_HTTP_VALIDIBOT_DONE;
    challenge = NULL;

    ngx_http_validibot_metrics_status(status);

    switch (status) {

    case NGX_HTTP_VALIDIBOT_OK:
        if (ngx_http_validibot_set_identity(r, ctx, lcf) != NGX_OK
            || (lcf->assertion
                && ngx_http_validibot_assert(r, ctx, lcf->assertion)
                   != NGX_OK))
        {
            ctx->rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
            return ctx->rc;
        }

        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "validibot: key \"%V\" accepted", &ctx->key_id);

        ctx->rc = NGX_OK;
        return NGX_OK;

    case NGX_HTTP_VALIDIBOT_MISSING:
        ctx->rc = NGX_HTTP_UNAUTHORIZED;
        ctx->body = NGX_HTTP_VALIDIBOT_B_MISSING;
        challenge = &lcf->challenge[NGX_HTTP_VALIDIBOT_C_PLAIN];
        break;

    case NGX_HTTP_VALIDIBOT_EXPIRED:
        ctx->rc = NGX_HTTP_UNAUTHORIZED;
        ctx->body = NGX_HTTP_VALIDIBOT_B_INVALID;
        challenge = &lcf->challenge[NGX_HTTP_VALIDIBOT_C_EXPIRED];
        break;

    case NGX_HTTP_VALIDIBOT_ORG_INACTIVE:
    case NGX_HTTP_VALIDIBOT_NOT_MEMBER:
    case NGX_HTTP_VALIDIBOT_FORBIDDEN:
        ctx->rc = NGX_HTTP_FORBIDDEN;
        ctx->body = NGX_HTTP_VALIDIBOT_B_FORBIDDEN;
        challenge = &lcf->challenge[NGX_HTTP_VALIDIBOT_C_SCOPE];
        break;

    case NGX_HTTP_VALIDIBOT_STORE_ERROR:
        ctx->rc = NGX_HTTP_SERVICE_UNAVAILABLE;
        ctx->body = NGX_HTTP_VALIDIBOT_B_UNAVAILABLE;
        break;

    default: /* malformed, invalid, revoked, user_inactive */
        ctx->rc = NGX_HTTP_UNAUTHORIZED;
        ctx->body = NGX_HTTP_VALIDIBOT_B_INVALID;
        challenge = &lcf->challenge[NGX_HTTP_VALIDIBOT_C_INVALID];
        break;
    }

    if (lcf->fail_zone
        && (ctx->rc == NGX_HTTP_UNAUTHORIZED
            || ctx->rc == NGX_HTTP_BAD_REQUEST))
    {
        /* under "satisfy any" only a request that ends refused counts */

        if (ngx_http_validibot_satisfy_any(r)) {
            ctx->fail_pending = 1;

        } else {
            ngx_http_validibot_count_failure(r, lcf);
        }
    }

    if (ctx->key_id.len) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "validibot: key \"%V\" refused: %s, %s",
                      &ctx->key_id, ngx_http_validibot_status_name(status),
                      reason);

    } else {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "validibot: refused: %s, %s",
                      ngx_http_validibot_status_name(status), reason);
    }

    if (challenge) {
        h = ngx_http_validibot_push_header(&r->headers_out.headers,
                                         NGX_HTTP_VALIDIBOT_H_WWW_AUTHENTICATE,
                                         challenge);
        if (h == NULL) {
            ctx->rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
            return ctx->rc;
        }

        /* under "satisfy any" a later success hides it */
#if (nginx_version >= 1023000)
        /* nginx 1.23+ hides the whole chain, another module's included */
        h->next = r->headers_out.www_authenticate;
#endif
        r->headers_out.www_authenticate = h;
    }

    if (ctx->rc == NGX_HTTP_SERVICE_UNAVAILABLE) {
        ngx_str_set(&retry, "1");

        if (ngx_http_validibot_push_header(&r->headers_out.headers,
                                           NGX_HTTP_VALIDIBOT_H_RETRY_AFTER,
                                           &retry)
            == NULL)
        {
            ctx->rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    return ctx->rc;
}


static ngx_uint_t
ngx_http_validibot_satisfy_any(ngx_http_request_t *r)
{
    ngx_http_core_loc_conf_t  *clcf;

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);

    return clcf->satisfy == NGX_HTTP_SATISFY_ANY;
}


static void
ngx_http_validibot_count_failure(ngx_http_request_t *r,
    ngx_http_validibot_loc_conf_t *lcf)
{
    time_t     left;
    ngx_str_t  addr;

    ngx_http_validibot_client_addr(r, &addr);

    left = ngx_http_validibot_fail_count(lcf->fail_zone, &addr,
                                         lcf->fail_max, lcf->fail_window);
    if (left) {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "validibot: client locked out for %T s after %ui "
                      "failed attempts", left, lcf->fail_max);
        ngx_http_validibot_metrics_count(NGX_HTTP_VALIDIBOT_M_LOCKOUTS);
    }
}


/*
 * The last access handler.  Under "satisfy any" nginx runs it only when no
 * access module let the request in: the refusal is then final, so a
 * failure counts now and a lock-out answers 429.
 */

static ngx_int_t
ngx_http_validibot_refused_handler(ngx_http_request_t *r)
{
    ngx_http_validibot_ctx_t       *ctx;
    ngx_http_validibot_loc_conf_t  *lcf;

    ctx = ngx_http_get_module_ctx(r, ngx_http_validibot_module);

    if (ctx == NULL || ctx->state != NGX_HTTP_VALIDIBOT_DONE) {
        return NGX_DECLINED;
    }

    if (ctx->lock_pending) {
        ctx->lock_pending = 0;
        return ngx_http_validibot_throttle(r, ctx, ctx->lock_left);
    }

    if (ctx->fail_pending) {
        ctx->fail_pending = 0;

        lcf = ngx_http_get_module_loc_conf(r, ngx_http_validibot_module);

        if (lcf->fail_zone) {
            ngx_http_validibot_count_failure(r, lcf);
        }
    }

    return NGX_DECLINED;
}


/*
 * 400 before any Redis work for a raw path that is not what nginx
 * normalized (validibot_strict_path); not a failed credential, so
 * validibot_fail_limit does not count it.
 */

static ngx_int_t
ngx_http_validibot_bad_path(ngx_http_request_t *r,
    ngx_http_validibot_ctx_t *ctx)
{
    ngx_str_t                      *challenge;
    ngx_table_elt_t                *h;
    ngx_http_validibot_loc_conf_t  *lcf;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_validibot_module);
    challenge = &lcf->challenge[NGX_HTTP_VALIDIBOT_C_REQUEST];

    ctx->status = NGX_HTTP_VALIDIBOT_MALFORMED;
    ctx->state = NGX_HTTP_VALIDIBOT_DONE;
    ctx->rc = NGX_HTTP_BAD_REQUEST;
    ctx->body = NGX_HTTP_VALIDIBOT_B_REQUEST;

    ngx_http_validibot_metrics_status(NGX_HTTP_VALIDIBOT_MALFORMED);

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "validibot: refused: malformed, ambiguous path (dot "
                  "segment, \"//\", backslash or encoded \"/\", \".\" "
                  "or \"\\\")");

    h = ngx_http_validibot_push_header(&r->headers_out.headers,
                                       NGX_HTTP_VALIDIBOT_H_WWW_AUTHENTICATE,
                                       challenge);
    if (h == NULL) {
        ctx->rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
        return ctx->rc;
    }

#if (nginx_version >= 1023000)
    h->next = r->headers_out.www_authenticate;
#endif
    r->headers_out.www_authenticate = h;

    return ctx->rc;
}


/*
 * 429 before any Redis work for an address that failed too often; it does
 * not count as a failure itself.
 */

static ngx_int_t
ngx_http_validibot_throttle(ngx_http_request_t *r,
    ngx_http_validibot_ctx_t *ctx, time_t left)
{
    ngx_str_t  retry;

    ctx->status = NGX_HTTP_VALIDIBOT_THROTTLED;
    ctx->state = NGX_HTTP_VALIDIBOT_DONE;
    ctx->rc = NGX_HTTP_TOO_MANY_REQUESTS;
    ctx->body = NGX_HTTP_VALIDIBOT_B_THROTTLED;

    ngx_http_validibot_metrics_status(NGX_HTTP_VALIDIBOT_THROTTLED);
    ngx_http_validibot_metrics_count(NGX_HTTP_VALIDIBOT_M_THROTTLED);

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "validibot: refused: throttled, too many failed attempts");

    retry.data = ngx_pnalloc(r->pool, NGX_TIME_T_LEN);
    if (retry.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    retry.len = ngx_sprintf(retry.data, "%T", left) - retry.data;

    if (ngx_http_validibot_push_header(&r->headers_out.headers,
                                       NGX_HTTP_VALIDIBOT_H_RETRY_AFTER,
                                       &retry)
        == NULL)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ctx->rc;
}


/* the client address as $binary_remote_addr has it (real_ip applies) */

static void
ngx_http_validibot_client_addr(ngx_http_request_t *r, ngx_str_t *key)
{
    struct sockaddr_in   *sin;
#if (NGX_HAVE_INET6)
    struct sockaddr_in6  *sin6;
#endif

    switch (r->connection->sockaddr->sa_family) {

    case AF_INET:
        sin = (struct sockaddr_in *) r->connection->sockaddr;
        key->len = sizeof(in_addr_t);
        key->data = (u_char *) &sin->sin_addr;
        break;

#if (NGX_HAVE_INET6)
    case AF_INET6:
        sin6 = (struct sockaddr_in6 *) r->connection->sockaddr;
        key->len = sizeof(struct in6_addr);
        key->data = sin6->sin6_addr.s6_addr;
        break;
#endif

    default:
        *key = r->connection->addr_text;
        break;
    }
}


static ngx_uint_t
ngx_http_validibot_is_preflight(ngx_http_request_t *r)
{
    ngx_uint_t        i, found;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    found = 0;
    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].key.len == sizeof("origin") - 1
            && ngx_strncasecmp(h[i].key.data, (u_char *) "origin",
                               sizeof("origin") - 1) == 0)
        {
            found |= 1;

        } else if (h[i].key.len == sizeof("access-control-request-method") - 1
                   && ngx_strncasecmp(h[i].key.data,
                                  (u_char *) "access-control-request-method",
                                  sizeof("access-control-request-method") - 1)
                      == 0)
        {
            found |= 2;
        }
    }

    return found == 3;
}


/*
 * last_used_at and last_used_ip, at most once per interval per key: the
 * lookup read the stored last_used_at (or the cache remembers when this
 * worker wrote it), so no state is kept here.  NGX_OK: written.  The
 * write is a command nobody waits for: it never delays or fails the
 * request, and it only follows a verified key.
 */

static ngx_int_t
ngx_http_validibot_record_usage(ngx_http_request_t *r,
    ngx_http_validibot_ctx_t *ctx, ngx_http_validibot_span_t *last)
{
    u_char                          *p;
    time_t                           now;
    int64_t                          at;
    ngx_str_t                        argv[7];
    ngx_http_validibot_main_conf_t  *vmcf;
    u_char                           key[NGX_HTTP_VALIDIBOT_PREFIX_MAX_LEN
                                         + sizeof("key:") - 1
                                         + NGX_HTTP_VALIDIBOT_PUBLIC_ID_LEN];
    u_char                           usage[NGX_HTTP_VALIDIBOT_PREFIX_MAX_LEN
                                           + sizeof("usage:") - 1
                                           + NGX_HTTP_VALIDIBOT_PUBLIC_ID_LEN];
    u_char                           buf[NGX_TIME_T_LEN];

    static ngx_str_t  script = ngx_string(NGX_HTTP_VALIDIBOT_USAGE_SCRIPT);

    vmcf = ngx_http_get_module_main_conf(r, ngx_http_validibot_module);
    now = ngx_time();

    if (ngx_http_validibot_span_int(last, &at) == 0
        && now - at < (time_t) (vmcf->usage_interval / 1000))
    {
        return NGX_DECLINED;
    }

    p = ngx_cpymem(key, vmcf->redis.prefix.data, vmcf->redis.prefix.len);
    p = ngx_cpymem(p, "key:", sizeof("key:") - 1);
    p = ngx_cpymem(p, ctx->key_id.data, ctx->key_id.len);

    ngx_str_set(&argv[0], "EVAL");
    argv[1] = script;
    ngx_str_set(&argv[2], "2");
    argv[3].data = key;
    argv[3].len = p - key;

    p = ngx_cpymem(usage, vmcf->redis.prefix.data, vmcf->redis.prefix.len);
    p = ngx_cpymem(p, "usage:", sizeof("usage:") - 1);
    p = ngx_cpymem(p, ctx->key_id.data, ctx->key_id.len);

    argv[4].data = usage;
    argv[4].len = p - usage;
    argv[5].data = buf;
    argv[5].len = ngx_sprintf(buf, "%T", now) - buf;
    argv[6] = r->connection->addr_text;

    return ngx_http_validibot_redis_command(7, argv);
}


/* X-Validibot-Key-Expires on a success, when the key expires soon */

static ngx_int_t
ngx_http_validibot_expiry_warning(ngx_http_request_t *r,
    ngx_http_validibot_ctx_t *ctx, ngx_http_validibot_loc_conf_t *lcf)
{
    ngx_str_t  value;

    if (ctx->expires_at == 0
        || ctx->expires_at - ngx_time() > lcf->expiry_warning)
    {
        return NGX_OK;
    }

    value.data = ngx_pnalloc(r->pool, sizeof("1970-01-01T00:00:00Z") + 16);
    if (value.data == NULL) {
        return NGX_ERROR;
    }

    value.len = ngx_http_validibot_iso8601(value.data, ctx->expires_at)
                - value.data;

    if (ngx_http_validibot_push_header(&r->headers_out.headers,
                                       NGX_HTTP_VALIDIBOT_H_KEY_EXPIRES,
                                       &value)
        == NULL)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_validibot_copy_field(ngx_pool_t *pool, ngx_str_t *dst,
    ngx_http_validibot_span_t *src)
{
    if (src->data == NULL || src->len == 0) {
        ngx_str_null(dst);
        return NGX_OK;
    }

    dst->data = ngx_pnalloc(pool, src->len);
    if (dst->data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(dst->data, src->data, src->len);
    dst->len = src->len;

    return NGX_OK;
}


/* free text for JSON: each byte of an invalid UTF-8 sequence becomes U+FFFD */

static ngx_int_t
ngx_http_validibot_copy_text(ngx_pool_t *pool, ngx_str_t *dst,
    ngx_http_validibot_span_t *src)
{
    int                   valid;
    size_t                n, left;
    u_char               *p;
    const unsigned char  *q;

    if (src->data == NULL || src->len == 0) {
        ngx_str_null(dst);
        return NGX_OK;
    }

    p = ngx_pnalloc(pool, 3 * src->len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    dst->data = p;

    q = src->data;
    left = src->len;

    while (left) {
        n = ngx_http_validibot_utf8_prefix(q, left, left, &valid);

        p = ngx_cpymem(p, q, n);
        q += n;
        left -= n;

        if (!valid) {
            p = ngx_cpymem(p, "\xef\xbf\xbd", 3);
            q++;
            left--;
        }
    }

    dst->len = p - dst->data;

    return NGX_OK;
}


static u_char *
ngx_http_validibot_iso8601(u_char *p, time_t t)
{
    ngx_tm_t  tm;

    ngx_gmtime(t, &tm);

    return ngx_sprintf(p, "%4d-%02d-%02dT%02d:%02d:%02dZ",
                       tm.ngx_tm_year, tm.ngx_tm_mon, tm.ngx_tm_mday,
                       tm.ngx_tm_hour, tm.ngx_tm_min, tm.ngx_tm_sec);
}


static size_t
ngx_http_validibot_json_len(ngx_str_t *s)
{
    return s->len ? sizeof("\"\"") - 1 + s->len
                    + ngx_escape_json(NULL, s->data, s->len)
                  : sizeof("null") - 1;
}


static u_char *
ngx_http_validibot_json_str(u_char *p, ngx_str_t *s)
{
    if (s->len == 0) {
        return ngx_cpymem(p, "null", sizeof("null") - 1);
    }

    *p++ = '"';
    p = (u_char *) ngx_escape_json(p, s->data, s->len);
    *p++ = '"';

    return p;
}


/*
 * What Validibot's GET /api/v1/auth/me/ answers, and more: the key's id,
 * label and expiry, and with an org the roles held in it.
 */

static ngx_int_t
ngx_http_validibot_whoami_handler(ngx_http_request_t *r)
{
    u_char                    *p, *q, *end;
    size_t                     len;
    ngx_int_t                  rc;
    ngx_str_t                  body, role;
    ngx_http_validibot_ctx_t  *ctx;

    static ngx_str_t  type = ngx_string("application/json");

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return NGX_HTTP_NOT_ALLOWED;
    }

    ctx = ngx_http_get_module_ctx(r, ngx_http_validibot_module);

    /* "satisfy any" may let a request in without a verified key */

    if (ctx == NULL || ctx->state != NGX_HTTP_VALIDIBOT_DONE
        || ctx->status != NGX_HTTP_VALIDIBOT_OK)
    {
        return NGX_HTTP_UNAUTHORIZED;
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    len = sizeof("{\"email\":,\"name\":,\"user\":,\"key_id\":,\"label\":,"
                 "\"expires_at\":}") - 1
          + ngx_http_validibot_json_len(&ctx->email)
          + ngx_http_validibot_json_len(&ctx->name)
          + ngx_http_validibot_json_len(&ctx->user)
          + ngx_http_validibot_json_len(&ctx->key_id)
          + ngx_http_validibot_json_len(&ctx->label)
          + sizeof("\"1970-01-01T00:00:00Z\"") + 16;

    if (ctx->org.len) {
        len += sizeof(",\"org\":,\"roles\":[]") - 1
               + ngx_http_validibot_json_len(&ctx->org)
               + 3 * ctx->roles.len + 2;
    }

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    body.data = p;

    p = ngx_cpymem(p, "{\"email\":", sizeof("{\"email\":") - 1);
    p = ngx_http_validibot_json_str(p, &ctx->email);
    p = ngx_cpymem(p, ",\"name\":", sizeof(",\"name\":") - 1);
    p = ngx_http_validibot_json_str(p, &ctx->name);
    p = ngx_cpymem(p, ",\"user\":", sizeof(",\"user\":") - 1);
    p = ngx_http_validibot_json_str(p, &ctx->user);
    p = ngx_cpymem(p, ",\"key_id\":", sizeof(",\"key_id\":") - 1);
    p = ngx_http_validibot_json_str(p, &ctx->key_id);
    p = ngx_cpymem(p, ",\"label\":", sizeof(",\"label\":") - 1);
    p = ngx_http_validibot_json_str(p, &ctx->label);
    p = ngx_cpymem(p, ",\"expires_at\":", sizeof(",\"expires_at\":") - 1);

    if (ctx->expires_at) {
        *p++ = '"';
        p = ngx_http_validibot_iso8601(p, ctx->expires_at);
        *p++ = '"';

    } else {
        p = ngx_cpymem(p, "null", sizeof("null") - 1);
    }

    if (ctx->org.len) {
        p = ngx_cpymem(p, ",\"org\":", sizeof(",\"org\":") - 1);
        p = ngx_http_validibot_json_str(p, &ctx->org);
        p = ngx_cpymem(p, ",\"roles\":[", sizeof(",\"roles\":[") - 1);

        q = ctx->roles.data;
        end = q + ctx->roles.len;

        while (q < end) {
            role.data = q;

            while (q < end && *q != ',') {
                q++;
            }

            role.len = q - role.data;

            if (role.data != ctx->roles.data) {
                *p++ = ',';
            }

            p = ngx_http_validibot_json_str(p, &role);
            q++;
        }

        *p++ = ']';
    }

    *p++ = '}';

    body.len = p - body.data;

    return ngx_http_validibot_send(r, &type, &body);
}


static ngx_int_t
ngx_http_validibot_status_handler(ngx_http_request_t *r)
{
    ngx_int_t  rc;
    ngx_str_t  body;

    static ngx_str_t  type = ngx_string("text/plain; version=0.0.4");

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return NGX_HTTP_NOT_ALLOWED;
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    if (ngx_http_validibot_metrics_render(r->pool, &body) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_validibot_send(r, &type, &body);
}


static ngx_int_t
ngx_http_validibot_send(ngx_http_request_t *r, ngx_str_t *type,
    ngx_str_t *body)
{
    ngx_int_t     rc;
    ngx_buf_t    *b;
    ngx_chain_t   out;

    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_type = *type;
    r->headers_out.content_type_len = type->len;
    r->headers_out.content_length_n = body->len;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->pos = body->data;
    b->last = body->data + body->len;
    b->memory = 1;
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


static ngx_int_t
ngx_http_validibot_set_identity(ngx_http_request_t *r,
    ngx_http_validibot_ctx_t *ctx, ngx_http_validibot_loc_conf_t *lcf)
{
    ngx_list_t  *headers;

    /*
     * Spoofed X-Validibot-* headers and, with validibot_hide_credentials,
     * Authorization are gone already: the rewrite phase handler of this
     * same location dropped them.
     */

    if (!lcf->identity_headers) {
        return NGX_OK;
    }

    headers = &r->headers_in.headers;

    if (ngx_http_validibot_push_header(headers, NGX_HTTP_VALIDIBOT_H_USER,
                                       &ctx->user)
        == NULL
        || ngx_http_validibot_push_header(headers,
                                          NGX_HTTP_VALIDIBOT_H_KEY_ID,
                                          &ctx->key_id)
           == NULL)
    {
        return NGX_ERROR;
    }

    if (ctx->org.len == 0) {
        return NGX_OK;
    }

    if (ngx_http_validibot_push_header(headers, NGX_HTTP_VALIDIBOT_H_ORG,
                                       &ctx->org)
        == NULL
        || ngx_http_validibot_push_header(headers,
                                          NGX_HTTP_VALIDIBOT_H_ROLES,
                                          &ctx->roles)
           == NULL)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/*
 * validibot_assertion: a JWT for the upstream, bound to the method and to
 * the path the request was checked on (r->uri: decoded, normalized, no
 * query), signed with the first key (docs/upstream.md).
 */

static ngx_int_t
ngx_http_validibot_assert(ngx_http_request_t *r, ngx_http_validibot_ctx_t *ctx,
    ngx_http_validibot_assertion_conf_t *acf)
{
    size_t                               len, size, fixed, slot;
    u_char                              *json, *jws;
    ngx_str_t                            aud;
    ngx_table_elt_t                     *h;
    ngx_http_variable_value_t           *jti, *vv;
    ngx_http_validibot_claims_t          c;
    ngx_http_validibot_assertion_key_t  *key;
    ngx_http_validibot_assertion_memo_t *memo;
    u_char                               buf[NGX_HTTP_VALIDIBOT_ASSERTION_BUF];
#ifdef NGX_HTTP_VALIDIBOT_PROFILE
    uint64_t                             prof[NGX_HTTP_VALIDIBOT_PROF_STEPS
                                              + 1];
#endif

    ngx_http_validibot_prof_mark(prof, 0);

    if (acf->audience_var != NGX_ERROR) {

        /* one variable, $host by default: no script, no copy */

        vv = ngx_http_get_flushed_variable(r, acf->audience_var);
        if (vv == NULL) {
            return NGX_ERROR;
        }

        aud.data = vv->data;
        aud.len = vv->not_found ? 0 : vv->len;

    } else if (ngx_http_complex_value(r, acf->audience, &aud) != NGX_OK) {
        return NGX_ERROR;
    }

    jti = ngx_http_validibot_request_id_variable(r, acf);
    if (jti == NULL) {
        return NGX_ERROR;
    }

    ngx_http_validibot_prof_mark(prof, 1);

    c.iss.data = acf->issuer.data;
    c.iss.len = acf->issuer.len;
    c.aud.data = aud.data;
    c.aud.len = aud.len;
    c.sub.data = ctx->user.data;
    c.sub.len = ctx->user.len;
    c.org.data = ctx->org.data;
    c.org.len = ctx->org.len;
    c.roles.data = ctx->roles.data;
    c.roles.len = ctx->roles.len;
    c.kid.data = ctx->key_id.data;
    c.kid.len = ctx->key_id.len;
    c.jti.data = jti->data;
    c.jti.len = jti->len;
    c.htm.data = r->method_name.data;
    c.htm.len = r->method_name.len;
    c.htu.data = r->uri.data;
    c.htu.len = r->uri.len;
    c.iat = ngx_time();
    c.exp = c.iat + acf->ttl;

    /* the JSON is only read once, by the base64 encoder: on the stack */

    size = ngx_http_validibot_assertion_json_size(&c);

    if (size <= sizeof(buf)) {
        json = buf;

    } else {
        json = ngx_pnalloc(r->pool, size);
        if (json == NULL) {
            return NGX_ERROR;
        }
    }

    key = acf->keys->elts;
    slot = ngx_http_validibot_assertion_memo_slot(ctx->key_id.data,
               ctx->key_id.len, NGX_HTTP_VALIDIBOT_ASSERTION_MEMO_BITS);
    memo = &ngx_http_validibot_memos[slot];

    /* the same claims up to kid as this key's last: only jti to htu */

    len = ngx_http_validibot_assertion_memo_tail(key, memo, &c, json);

    if (len) {
        ngx_http_validibot_prof_mark(prof, 2);

        jws = ngx_pnalloc(r->pool,
                          ngx_http_validibot_assertion_memo_size(key, memo,
                                                                 len));
        if (jws == NULL) {
            return NGX_ERROR;
        }

        len = ngx_http_validibot_assertion_sign_tail(key, memo, json, len,
                                                     jws);

    } else {
        len = ngx_http_validibot_assertion_json_fixed(&c, json, &fixed);

        ngx_http_validibot_prof_mark(prof, 2);

        jws = ngx_pnalloc(r->pool,
                          ngx_http_validibot_assertion_size(key, len));
        if (jws == NULL) {
            return NGX_ERROR;
        }

        len = ngx_http_validibot_assertion_sign_memo(key, memo, json, len,
                                                     fixed, jws);
        ngx_http_validibot_assertion_memo_keep(key, memo, &c, json, fixed);
    }

    ngx_http_validibot_prof_mark(prof, 3);

    h = ngx_list_push(&r->headers_in.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = acf->hash;
    h->key = acf->header;
    h->lowcase_key = acf->lowcase.data;
    h->value.data = jws;
    h->value.len = len;
#if (nginx_version >= 1023000)
    h->next = NULL;
#endif

    ngx_http_validibot_prof_mark(prof, 4);
    ngx_http_validibot_prof_done(prof);

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "validibot: assertion for key \"%V\" signed with \"%*s\"",
                   &ctx->key_id, key->kid_len, key->kid);

    return NGX_OK;
}


/*
 * The request's $request_id, the assertion's jti.  nginx's own takes 16
 * bytes from RAND_bytes(), which costs more than the whole signature with
 * OpenSSL 3; the variable is cacheable, so if this request has not used it
 * yet, the module sets it to a SipHash-2-4-128 of the worker's counter
 * under the worker's random key: as unique and unpredictable, and the
 * same value for jti, the access log and proxy_set_header.
 */

static ngx_http_variable_value_t *
ngx_http_validibot_request_id_variable(ngx_http_request_t *r,
    ngx_http_validibot_assertion_conf_t *acf)
{
    u_char                     *id;
    ngx_http_variable_value_t  *v;

    v = &r->variables[acf->request_id];

    if (v->valid || v->not_found || !ngx_http_validibot_rid_ready) {
        v = ngx_http_get_indexed_variable(r, acf->request_id);

        if (v == NULL || v->not_found) {
            return NULL;
        }

        return v;
    }

    id = ngx_pnalloc(r->pool, NGX_HTTP_VALIDIBOT_REQUEST_ID_LEN);
    if (id == NULL) {
        return NULL;
    }

    ngx_http_validibot_request_id(ngx_http_validibot_rid_key,
                                  ngx_http_validibot_rid_next++, id);

    v->len = NGX_HTTP_VALIDIBOT_REQUEST_ID_LEN;
    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;
    v->escape = 0;
    v->data = id;

    return v;
}


/* the assertion header as a client may spell it: any case, "_" for "-" */

static ngx_uint_t
ngx_http_validibot_is_assertion(ngx_table_elt_t *h,
    ngx_http_validibot_assertion_conf_t *acf)
{
    u_char      ch;
    ngx_uint_t  i;

    if (acf == NULL || h->key.len != acf->lowcase.len
        || h->lowcase_key == NULL)
    {
        return 0;
    }

    for (i = 0; i < acf->lowcase.len; i++) {
        ch = h->lowcase_key[i];

        if (ch == '_') {
            ch = '-';
        }

        if (ch != acf->lowcase.data[i]) {
            return 0;
        }
    }

    return 1;
}


static ngx_uint_t
ngx_http_validibot_spoofed(ngx_table_elt_t *h)
{
    return h->lowcase_key != NULL
           && ngx_http_validibot_identity_header(h->lowcase_key, h->key.len);
}


static ngx_uint_t
ngx_http_validibot_is_authorization(ngx_table_elt_t *h)
{
    return h->key.len == sizeof("authorization") - 1
           && h->lowcase_key != NULL
           && ngx_strncmp(h->lowcase_key, "authorization",
                          sizeof("authorization") - 1) == 0;
}


/*
 * Drops, with "spoofed", every header the client sent that an upstream
 * could take for an identity header and, with "hide", every
 * Authorization.  A list cannot lose elements in place, so the kept ones
 * are copied to a new list; the request's pointers to known headers still
 * point at the old, unchanged elements.
 */

static ngx_int_t
ngx_http_validibot_filter_headers(ngx_http_request_t *r, ngx_uint_t hide,
    ngx_uint_t spoofed, ngx_http_validibot_assertion_conf_t *acf)
{
    ngx_uint_t        i, n, drop;
    ngx_list_t        list;
    ngx_table_elt_t  *h, *nh;
    ngx_list_part_t  *part;

    n = 0;
    drop = 0;

    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        n++;

        if ((hide && ngx_http_validibot_is_authorization(&h[i]))
            || (spoofed && ngx_http_validibot_spoofed(&h[i]))
            || ngx_http_validibot_is_assertion(&h[i], acf))
        {
            drop++;
        }
    }

    if (drop == 0) {
        return NGX_OK;
    }

    /* room for the four identity headers and the assertion, in one part */

    if (ngx_list_init(&list, r->pool, n - drop + (acf ? 5 : 4),
                      sizeof(ngx_table_elt_t))
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (hide && ngx_http_validibot_is_authorization(&h[i])) {
            continue;
        }

        if ((spoofed && ngx_http_validibot_spoofed(&h[i]))
            || ngx_http_validibot_is_assertion(&h[i], acf))
        {
            ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                          "validibot: dropped client header \"%V\"",
                          &h[i].key);
            continue;
        }

        nh = ngx_list_push(&list);
        if (nh == NULL) {
            return NGX_ERROR;
        }

        *nh = h[i];

        /* the pointer follows the element it kept */
        if (&h[i] == r->headers_in.authorization) {
            r->headers_in.authorization = nh;
        }
    }

    r->headers_in.headers = list;

    /* "last" may point at the part inside the local copy */
    if (list.last == &list.part) {
        r->headers_in.headers.last = &r->headers_in.headers.part;
    }

    return NGX_OK;
}


static ngx_table_elt_t *
ngx_http_validibot_push_header(ngx_list_t *headers, ngx_uint_t name,
    ngx_str_t *value)
{
    ngx_table_elt_t                   *h;
    ngx_http_validibot_header_name_t  *hn;

    hn = &ngx_http_validibot_headers[name];

    h = ngx_list_push(headers);
    if (h == NULL) {
        return NULL;
    }

    h->hash = hn->hash;
    h->key = hn->key;
    h->lowcase_key = hn->lowcase.data;
    h->value = *value;
#if (nginx_version >= 1023000)
    h->next = NULL;
#endif

    return h;
}


static ngx_http_validibot_ctx_t *
ngx_http_validibot_get_ctx(ngx_http_request_t *r)
{
    ngx_http_validibot_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_validibot_module);

    if (ctx == NULL) {
        ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_validibot_ctx_t));
        if (ctx == NULL) {
            return NULL;
        }

        ngx_http_set_ctx(r, ctx, ngx_http_validibot_module);
    }

    ctx->request = r;

    return ctx;
}


/*
 * nginx's parser flags "//", "/.", "%" and "#" in the request line's path
 * (complex_uri, quoted_uri); without them only a backslash is left for
 * path_ambiguous() to find.  A subrequest has flags of its own but the
 * main request's unparsed_uri: always the full scan.
 */

static ngx_uint_t
ngx_http_validibot_uri_ambiguous(ngx_http_request_t *r)
{
    u_char  *p;
    size_t   len;

    p = r->unparsed_uri.data;
    len = r->unparsed_uri.len;

    if (r == r->main && !r->complex_uri && !r->quoted_uri
        && memchr(p, '\\', len) == NULL)
    {
        return 0;
    }

    return ngx_http_validibot_path_ambiguous(p, len);
}


/* Validibot org slugs: Django slugs, at most ORG_MAX_LEN bytes */

static ngx_int_t
ngx_http_validibot_org_valid(ngx_str_t *org)
{
    u_char      ch;
    ngx_uint_t  i;

    if (org->len > NGX_HTTP_VALIDIBOT_ORG_MAX_LEN) {
        return NGX_DECLINED;
    }

    for (i = 0; i < org->len; i++) {
        ch = org->data[i];

        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')
            || (ch >= '0' && ch <= '9') || ch == '-' || ch == '_')
        {
            continue;
        }

        return NGX_DECLINED;
    }

    return NGX_OK;
}


/*
 * First in the location's rewrite phase, before "return" and "rewrite":
 * drop identity headers a client made up and, where the module checks
 * keys, Authorization, whatever the outcome: "satisfy any", validibot_preflight
 * pass or an error_page to another location must not pass the key on
 * either.  The check reads it from where it was taken.
 */

static ngx_int_t
ngx_http_validibot_rewrite_handler(ngx_http_request_t *r)
{
    ngx_uint_t                      hide;
    ngx_http_validibot_loc_conf_t  *lcf;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_validibot_module);

    if (r != r->main) {

        /*
         * nginx runs no access phase for subrequests (SSI, auth_request):
         * one would reach a checked location with the identity, or none,
         * of its parent, unchecked against this location's rules.
         */

        if (lcf->realm.len && !lcf->allow_subrequests) {
            ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                          "validibot: subrequest to \"%V\" refused, "
                          "subrequests are not checked "
                          "(validibot_allow_subrequests)", &r->uri);
            return NGX_HTTP_FORBIDDEN;
        }

        return NGX_DECLINED;
    }

    hide = lcf->realm.len && lcf->hide_credentials;

    if ((hide || lcf->identity_headers || lcf->assertion)
        && ngx_http_validibot_filter_headers(r, hide, lcf->identity_headers,
                                             lcf->assertion)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_DECLINED;
}


static ngx_int_t
ngx_http_validibot_header_filter(ngx_http_request_t *r)
{
    ngx_http_validibot_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_validibot_module);

    /*
     * Only nginx's own page for our refusal is replaced: an error_page
     * of the operator redirects, which clears the context, or changes
     * the status.
     */

    if (ctx == NULL
        || ctx->body == NGX_HTTP_VALIDIBOT_B_NONE
        || r != r->main
        || r->err_status != (ngx_uint_t) ctx->rc)
    {
        return ngx_http_next_header_filter(r);
    }

    ngx_str_set(&r->headers_out.content_type, "application/json");
    r->headers_out.content_type_len = r->headers_out.content_type.len;
    r->headers_out.content_type_lowcase = NULL;
    r->headers_out.charset.len = 0;

    r->headers_out.content_length_n = ngx_http_validibot_bodies[ctx->body].len;

    if (r->headers_out.content_length) {
        r->headers_out.content_length->hash = 0;
        r->headers_out.content_length = NULL;
    }

    ctx->replace_body = 1;

    return ngx_http_next_header_filter(r);
}


static ngx_int_t
ngx_http_validibot_body_filter(ngx_http_request_t *r, ngx_chain_t *in)
{
    ngx_buf_t                 *b;
    ngx_uint_t                 last;
    ngx_chain_t               *cl, out;
    ngx_http_validibot_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_validibot_module);

    if (ctx == NULL || !ctx->replace_body) {
        return ngx_http_next_body_filter(r, in);
    }

    last = 0;

    for (cl = in; cl; cl = cl->next) {
        b = cl->buf;

        if (b->last_buf || b->last_in_chain) {
            last = 1;
        }

        b->pos = b->last;

        if (b->in_file) {
            b->file_pos = b->file_last;
        }
    }

    if (!last || ctx->body_sent) {
        return NGX_OK;
    }

    ctx->body_sent = 1;

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_ERROR;
    }

    b->pos = ngx_http_validibot_bodies[ctx->body].data;
    b->last = b->pos + ngx_http_validibot_bodies[ctx->body].len;
    b->memory = 1;
    b->last_buf = 1;
    b->last_in_chain = 1;

    out.buf = b;
    out.next = NULL;

    return ngx_http_next_body_filter(r, &out);
}


/*
 * nginx answers a second Authorization header with 400 while reading the
 * headers, and logs both values, secret and all.  The module keeps that
 * timing and status and logs no value.  Where the module checks keys in
 * this configuration, neither value is left to a location an error_page
 * sends the request to.
 */

static ngx_int_t
ngx_http_validibot_process_authorization(ngx_http_request_t *r,
    ngx_table_elt_t *h, ngx_uint_t offset)
{
    ngx_http_validibot_loc_conf_t   *lcf;
    ngx_http_validibot_main_conf_t  *vmcf;

#if (nginx_version >= 1023000)
    /* from 1.23 each header handler ends the header's list of repeats */
    h->next = NULL;
#endif

    if (r->headers_in.authorization == NULL) {
        r->headers_in.authorization = h;
        return NGX_OK;
    }

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "client sent duplicate \"Authorization\" header");

    vmcf = ngx_http_get_module_main_conf(r, ngx_http_validibot_module);

    if (vmcf && vmcf->used) {
        if (ngx_http_validibot_filter_headers(r, 1, 0, NULL) != NGX_OK) {
            ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
            return NGX_ERROR;
        }

        r->headers_in.authorization = NULL;

        /* no location is known yet: the server's validibot_fail_limit */

        lcf = ngx_http_get_module_loc_conf(r, ngx_http_validibot_module);

        if (lcf->fail_zone) {
            ngx_http_validibot_count_failure(r, lcf);
        }
    }

    ngx_http_finalize_request(r, NGX_HTTP_BAD_REQUEST);

    return NGX_ERROR;
}


static ngx_int_t
ngx_http_validibot_hook_headers(ngx_conf_t *cf)
{
    ngx_http_header_t   *hh;
    ngx_pool_cleanup_t  *cln;

    for (hh = ngx_http_headers_in; hh->name.len; hh++) {

        if (hh->name.len != sizeof("Authorization") - 1
            || ngx_strcasecmp(hh->name.data, (u_char *) "Authorization") != 0)
        {
            continue;
        }

        cln = ngx_pool_cleanup_add(cf->pool, 0);
        if (cln == NULL) {
            return NGX_ERROR;
        }

        cln->handler = ngx_http_validibot_unhook_headers;
        cln->data = hh;

        if (hh->handler != ngx_http_validibot_process_authorization) {
            ngx_http_validibot_authorization_handler = hh->handler;
            hh->handler = ngx_http_validibot_process_authorization;
        }

        /* each cycle that loaded the module holds the hook */
        ngx_http_validibot_hooks++;

        return NGX_OK;
    }

    return NGX_OK;
}


static void
ngx_http_validibot_unhook_headers(void *data)
{
    ngx_http_header_t  *hh = data;

    /*
     * The last cycle with this module gives nginx its handler back before
     * the module is unloaded.
     */

    if (--ngx_http_validibot_hooks == 0
        && ngx_http_validibot_authorization_handler)
    {
        hh->handler = ngx_http_validibot_authorization_handler;
    }
}


static ngx_int_t
ngx_http_validibot_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_str_t                 *s;
    ngx_http_validibot_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r->main, ngx_http_validibot_module);

    if (ctx == NULL || ctx->state != NGX_HTTP_VALIDIBOT_DONE) {
        v->not_found = 1;
        return NGX_OK;
    }

    s = (ngx_str_t *) ((char *) ctx + data);

    if (s->len == 0) {
        v->not_found = 1;
        return NGX_OK;
    }

    v->len = s->len;
    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;
    v->data = s->data;

    return NGX_OK;
}


static ngx_int_t
ngx_http_validibot_status_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    const char                *name;
    ngx_http_validibot_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r->main, ngx_http_validibot_module);

    if (ctx == NULL || ctx->state != NGX_HTTP_VALIDIBOT_DONE) {
        v->not_found = 1;
        return NGX_OK;
    }

    name = ngx_http_validibot_status_name(ctx->status);

    v->len = ngx_strlen(name);
    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;
    v->data = (u_char *) name;

    return NGX_OK;
}


static ngx_int_t
ngx_http_validibot_add_variables(ngx_conf_t *cf)
{
    ngx_http_variable_t  *var, *v;

    for (v = ngx_http_validibot_vars; v->name.len; v++) {
        var = ngx_http_add_variable(cf, &v->name, v->flags);
        if (var == NULL) {
            return NGX_ERROR;
        }

        var->get_handler = v->get_handler;
        var->data = v->data;
    }

    return NGX_OK;
}


static void *
ngx_http_validibot_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_validibot_main_conf_t  *vmcf;

    vmcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_validibot_main_conf_t));
    if (vmcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     vmcf->redis.addr = NULL;
     *     vmcf->redis.prefix = { 0, NULL };
     *     vmcf->used = 0;
     */

    vmcf->redis.timeout = NGX_CONF_UNSET_MSEC;
    vmcf->redis.connections = NGX_CONF_UNSET_UINT;
    vmcf->redis.hints = NGX_CONF_UNSET_UINT;
    vmcf->redis.ssl_verify = NGX_CONF_UNSET;
    vmcf->redis.sync_lag = NGX_CONF_UNSET_MSEC;
    vmcf->usage_interval = NGX_CONF_UNSET_MSEC;
    vmcf->cache_ttl = NGX_CONF_UNSET_MSEC;
    vmcf->cache_negative_ttl = NGX_CONF_UNSET_MSEC;

    vmcf->hmacs = ngx_array_create(cf->pool, 2,
                                   sizeof(ngx_http_validibot_hmac_t));
    if (vmcf->hmacs == NULL) {
        return NULL;
    }

    return vmcf;
}


static char *
ngx_http_validibot_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_http_validibot_main_conf_t *vmcf = conf;

    ngx_str_t  url = ngx_string("redis://127.0.0.1:6379/0");

    if (vmcf->redis.addr == NULL && vmcf->redis.url == NULL) {
        if (ngx_http_validibot_parse_addr(cf, vmcf, &url) != NGX_CONF_OK) {
            return NGX_CONF_ERROR;
        }
    }

    if (ngx_http_validibot_resolve_conf(cf, vmcf) != NGX_CONF_OK) {
        return NGX_CONF_ERROR;
    }

    ngx_conf_init_msec_value(vmcf->redis.timeout, 500);
    ngx_conf_init_uint_value(vmcf->redis.connections, 2);
    ngx_conf_init_uint_value(vmcf->redis.hints, 65536);
    ngx_conf_init_msec_value(vmcf->redis.sync_lag, 0);
    ngx_conf_init_msec_value(vmcf->usage_interval, 3600000);
    ngx_conf_init_msec_value(vmcf->cache_ttl, 60000);
    ngx_conf_init_msec_value(vmcf->cache_negative_ttl, 1000);

    if (vmcf->redis.prefix.data == NULL) {
        ngx_str_set(&vmcf->redis.prefix, "validibot:");
    }

    return ngx_http_validibot_ssl_init_conf(cf, &vmcf->redis);
}


static void *
ngx_http_validibot_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_validibot_loc_conf_t  *conf;

    conf = ngx_pcalloc(cf->pool, sizeof(ngx_http_validibot_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     conf->realm = { 0, NULL };
     *     conf->challenge = NULL;
     */

    conf->org = NGX_CONF_UNSET_PTR;
    conf->require = NGX_CONF_UNSET_PTR;
    conf->identity_headers = NGX_CONF_UNSET;
    conf->hide_credentials = NGX_CONF_UNSET;
    conf->strict_path = NGX_CONF_UNSET;
    conf->allow_subrequests = NGX_CONF_UNSET;
    conf->fail_zone = NGX_CONF_UNSET_PTR;
    conf->fail_max = NGX_CONF_UNSET_UINT;
    conf->fail_window = NGX_CONF_UNSET;
    conf->max_key_age = NGX_CONF_UNSET;
    conf->expiry_leeway = NGX_CONF_UNSET;
    conf->expiry_warning = NGX_CONF_UNSET;
    conf->preflight = NGX_CONF_UNSET_UINT;
    conf->cache = NGX_CONF_UNSET;
    conf->superusers = NGX_CONF_UNSET_UINT;
    conf->assertion = NGX_CONF_UNSET_PTR;

    return conf;
}


static char *
ngx_http_validibot_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_validibot_loc_conf_t *prev = parent;
    ngx_http_validibot_loc_conf_t *conf = child;

    ngx_http_validibot_main_conf_t  *vmcf;

    if (conf->realm.data == NULL) {
        conf->realm = prev->realm;
        conf->challenge = prev->challenge;
    }

    ngx_conf_merge_ptr_value(conf->org, prev->org, NULL);
    ngx_conf_merge_ptr_value(conf->require, prev->require, NULL);
    ngx_conf_merge_ptr_value(conf->assertion, prev->assertion, NULL);
    ngx_conf_merge_value(conf->identity_headers, prev->identity_headers, 1);
    ngx_conf_merge_value(conf->hide_credentials, prev->hide_credentials, 1);
    ngx_conf_merge_value(conf->strict_path, prev->strict_path, 1);
    ngx_conf_merge_value(conf->allow_subrequests, prev->allow_subrequests, 0);

    if (conf->fail_zone == NGX_CONF_UNSET_PTR) {
        conf->fail_zone = prev->fail_zone;
        conf->fail_max = prev->fail_max;
        conf->fail_window = prev->fail_window;
    }

    if (conf->fail_zone == NGX_CONF_UNSET_PTR) {
        conf->fail_zone = NULL;
    }

    ngx_conf_merge_sec_value(conf->max_key_age, prev->max_key_age, 0);
    ngx_conf_merge_sec_value(conf->expiry_leeway, prev->expiry_leeway, 0);
    ngx_conf_merge_sec_value(conf->expiry_warning, prev->expiry_warning,
                             7 * 86400);
    ngx_conf_merge_uint_value(conf->preflight, prev->preflight,
                              NGX_HTTP_VALIDIBOT_PREFLIGHT_AUTHENTICATE);
    ngx_conf_merge_uint_value(conf->superusers, prev->superusers, 1);

    /* on wherever a zone is declared, unless said otherwise */

    vmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_validibot_module);

    ngx_conf_merge_value(conf->cache, prev->cache, vmcf->cache_size != 0);

    if (conf->cache && vmcf->cache_size == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"validibot_cache on\" needs a cache: "
                           "\"validibot_cache zone=NAME:SIZE\" at the http "
                           "level");
        return NGX_CONF_ERROR;
    }

    if (conf->whoami && conf->realm.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"validibot_whoami\" needs \"validibot_auth\" "
                           "in its location");
        return NGX_CONF_ERROR;
    }

    if (conf->realm.len == 0) {
        return NGX_CONF_OK;
    }

    if (conf->challenge == NULL
        && ngx_http_validibot_make_challenges(cf, conf) != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    if (conf->require && conf->org == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"validibot_require\" needs \"validibot_org\": "
                           "roles are held in an organization");
        return NGX_CONF_ERROR;
    }

    vmcf->used = 1;

    if (!vmcf->debug_warned && ngx_http_validibot_debug_logged(cf)) {
        vmcf->debug_warned = 1;

        ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                           "\"validibot_auth\" with a debug-level error "
                           "log or debug_connection: nginx's debug log "
                           "prints request headers, API keys in "
                           "Authorization included");
    }

    return NGX_CONF_OK;
}


/*
 * Whether nginx's debug log may hold this location's requests: an
 * error_log at debug level (or with debug_http) on its way here, or
 * debug_connection in events.  nginx prints every request header there
 * before any module runs (over HTTP/2 and HTTP/3 while decoding them).
 */

static ngx_uint_t
ngx_http_validibot_debug_logged(ngx_conf_t *cf)
{
#if (NGX_DEBUG)
    void                      ***ctx;
    ngx_log_t                   *log;
    ngx_event_conf_t            *ecf;
    ngx_http_core_loc_conf_t    *clcf;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);

    for (log = clcf->error_log; log; log = log->next) {
        if (log->log_level & NGX_LOG_DEBUG_HTTP) {
            return 1;
        }
    }

    for (log = &cf->cycle->new_log; log; log = log->next) {
        if (log->log_level & NGX_LOG_DEBUG_HTTP) {
            return 1;
        }
    }

    ctx = (void ***) ngx_get_conf(cf->cycle->conf_ctx, ngx_events_module);

    if (ctx != NULL) {
        ecf = (*ctx)[ngx_event_core_module.ctx_index];

        if (ecf != NULL && ecf->debug_connection.nelts) {
            return 1;
        }
    }
#endif

    return 0;
}


/* Bearer realm="..." with the realm's quotes and backslashes escaped */

static ngx_int_t
ngx_http_validibot_make_challenges(ngx_conf_t *cf,
    ngx_http_validibot_loc_conf_t *conf)
{
    u_char      *p, *realm;
    size_t       len;
    ngx_uint_t   i, n;

    static ngx_str_t  tails[] = {
        ngx_string("\""),
        ngx_string("\", error=\"invalid_token\""),
        ngx_string("\", error=\"invalid_token\", "
                   "error_description=\"The access token expired\""),
        ngx_string("\", error=\"insufficient_scope\""),
        ngx_string("\", error=\"invalid_request\"")
    };

    n = 0;

    for (i = 0; i < conf->realm.len; i++) {
        if (conf->realm.data[i] == '"' || conf->realm.data[i] == '\\') {
            n++;
        }
    }

    realm = ngx_pnalloc(cf->pool, conf->realm.len + n);
    if (realm == NULL) {
        return NGX_ERROR;
    }

    p = realm;

    for (i = 0; i < conf->realm.len; i++) {
        if (conf->realm.data[i] == '"' || conf->realm.data[i] == '\\') {
            *p++ = '\\';
        }

        *p++ = conf->realm.data[i];
    }

    len = p - realm;

    conf->challenge = ngx_palloc(cf->pool,
                                 NGX_HTTP_VALIDIBOT_NCHALLENGES
                                 * sizeof(ngx_str_t));
    if (conf->challenge == NULL) {
        return NGX_ERROR;
    }

    for (i = 0; i < NGX_HTTP_VALIDIBOT_NCHALLENGES; i++) {
        conf->challenge[i].len = sizeof("Bearer realm=\"") - 1 + len
                                 + tails[i].len;

        p = ngx_pnalloc(cf->pool, conf->challenge[i].len);
        if (p == NULL) {
            return NGX_ERROR;
        }

        conf->challenge[i].data = p;

        p = ngx_cpymem(p, "Bearer realm=\"", sizeof("Bearer realm=\"") - 1);
        p = ngx_cpymem(p, realm, len);
        ngx_memcpy(p, tails[i].data, tails[i].len);
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_validibot_init(ngx_conf_t *cf)
{
    ngx_uint_t                        i;
    ngx_list_part_t                  *part;
    ngx_shm_zone_t                   *shm;
    ngx_uint_t                        n;
    ngx_http_handler_pt              *h, *hs;
    ngx_http_core_main_conf_t        *cmcf;
    ngx_http_validibot_main_conf_t   *vmcf;
    ngx_http_validibot_header_name_t *hn;

    vmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_validibot_module);

    if (vmcf->used && vmcf->hmacs->nelts == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"validibot_auth\" is used but no "
                           "\"validibot_digest_key\" is set");
        return NGX_ERROR;
    }

    /* a validibot_fail_limit zone that no validibot_fail_zone declared */

    part = &cf->cycle->shared_memory.part;
    shm = part->elts;

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            shm = part->elts;
            i = 0;
        }

        if (shm[i].tag == &ngx_http_validibot_module && shm[i].shm.size == 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"validibot_fail_limit\": unknown zone \"%V\", "
                               "declare it with \"validibot_fail_zone\"",
                               &shm[i].shm.name);
            return NGX_ERROR;
        }
    }

    for (i = 0; i < NGX_HTTP_VALIDIBOT_NHEADERS; i++) {
        hn = &ngx_http_validibot_headers[i];
        hn->hash = ngx_hash_key(hn->lowcase.data, hn->lowcase.len);
    }

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    /* handlers of a phase run last pushed first: before the rewrite module */

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_REWRITE_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_validibot_rewrite_handler;

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_ACCESS_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_validibot_handler;

    /*
     * The refused handler goes first in the array, so it runs after every
     * other access handler.
     */

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_ACCESS_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    hs = cmcf->phases[NGX_HTTP_ACCESS_PHASE].handlers.elts;
    n = cmcf->phases[NGX_HTTP_ACCESS_PHASE].handlers.nelts;

    ngx_memmove(&hs[1], &hs[0], (n - 1) * sizeof(ngx_http_handler_pt));
    hs[0] = ngx_http_validibot_refused_handler;

    ngx_http_next_header_filter = ngx_http_top_header_filter;
    ngx_http_top_header_filter = ngx_http_validibot_header_filter;

    ngx_http_next_body_filter = ngx_http_top_body_filter;
    ngx_http_top_body_filter = ngx_http_validibot_body_filter;

    return ngx_http_validibot_hook_headers(cf);
}


static ngx_int_t
ngx_http_validibot_init_process(ngx_cycle_t *cycle)
{
    ngx_http_validibot_main_conf_t  *vmcf;

    vmcf = ngx_http_cycle_get_module_main_conf(cycle,
                                               ngx_http_validibot_module);

    if (vmcf == NULL || !vmcf->used) {
        return NGX_OK;
    }

#ifdef NGX_HTTP_VALIDIBOT_PROFILE
    ngx_http_validibot_prof_init(cycle->log);
#endif

    /* without a key, the assertion falls back to nginx's own $request_id */

    if (RAND_bytes(ngx_http_validibot_rid_key,
                   sizeof(ngx_http_validibot_rid_key))
        == 1)
    {
        ngx_http_validibot_rid_ready = 1;

    } else {
        ngx_log_error(NGX_LOG_ALERT, cycle->log, 0,
                      "validibot: RAND_bytes() failed, the assertion's jti "
                      "comes from nginx's $request_id");
    }

    if (ngx_http_validibot_redis_init_process(cycle, &vmcf->redis)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (vmcf->cache_size == 0) {
        return NGX_OK;
    }

    /* PING the tracking connection every second (two timeouts if longer) */

    return ngx_http_validibot_track_init_process(cycle, vmcf->cache_size,
                                                 &vmcf->redis.prefix,
                                                 ngx_max(vmcf->redis.timeout
                                                         * 2, 1000));
}


static void
ngx_http_validibot_exit_process(ngx_cycle_t *cycle)
{
#ifdef NGX_HTTP_VALIDIBOT_PROFILE
    ngx_http_validibot_prof_report(cycle->log);
#endif

    ngx_http_validibot_redis_exit_process(cycle);
    ngx_http_validibot_track_exit_process();
}


static char *
ngx_http_validibot_redis_url(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_validibot_main_conf_t *vmcf = conf;

    ngx_str_t  *value;

    if (vmcf->redis.addr || vmcf->redis.url) {
        return "is duplicate";
    }

    value = cf->args->elts;

    return ngx_http_validibot_parse_addr(cf, vmcf, &value[1]);
}


static char *
ngx_http_validibot_parse_addr(ngx_conf_t *cf,
    ngx_http_validibot_main_conf_t *vmcf, ngx_str_t *value)
{
    u_char                    *p;
    ngx_str_t                  shown;
    const char                *err;
    ngx_url_t                  u;
    ngx_http_validibot_url_t   url;

    /* what the messages below show: never the password */

    shown.data = ngx_pnalloc(cf->temp_pool, value->len + 3);
    if (shown.data == NULL) {
        return NGX_CONF_ERROR;
    }

    shown.len = ngx_http_validibot_url_redact(value->data, value->len,
                                              shown.data);

    err = ngx_http_validibot_url_parse(value->data, value->len, &url);
    if (err) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"validibot_redis\": %s in \"%V\"", err,
                           &shown);
        return NGX_CONF_ERROR;
    }

    if (url.sentinel) {
        if (ngx_http_validibot_parse_sentinels(cf, vmcf, &url, &shown)
            != NGX_CONF_OK)
        {
            return NGX_CONF_ERROR;
        }

        goto credentials;
    }

    ngx_memzero(&u, sizeof(ngx_url_t));

    /* the pieces again, for nginx's own parser and resolver */

    u.url.data = ngx_pnalloc(cf->pool, value->len + sizeof("unix:[]:65535"));
    if (u.url.data == NULL) {
        return NGX_CONF_ERROR;
    }

    if (url.unix_socket) {
        p = ngx_sprintf(u.url.data, "unix:%*s", url.path.len, url.path.data);

    } else if (ngx_strlchr((u_char *) url.host.data,
                           (u_char *) url.host.data + url.host.len, ':'))
    {
        p = ngx_sprintf(u.url.data, "[%*s]:%ui", url.host.len, url.host.data,
                        (ngx_uint_t) url.port);

    } else {
        p = ngx_sprintf(u.url.data, "%*s:%ui", url.host.len, url.host.data,
                        (ngx_uint_t) url.port);
    }

    u.url.len = p - u.url.data;
    u.default_port = (in_port_t) url.port;

    /*
     * A host name is resolved once every directive is read: through
     * "resolver" on every connect when one is configured, else now.
     */
    u.no_resolve = 1;

    if (ngx_parse_url(cf->pool, &u) != NGX_OK) {
        if (u.err) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"validibot_redis\": %s in \"%V\"",
                               u.err, &shown);
        }

        return NGX_CONF_ERROR;
    }

    if (url.unix_socket) {
        vmcf->redis.addr = &u.addrs[0];

    } else {
        vmcf->redis.url = ngx_pcalloc(cf->pool, sizeof(ngx_url_t));
        if (vmcf->redis.url == NULL) {
            return NGX_CONF_ERROR;
        }

        *vmcf->redis.url = u;

        /* for the messages of ngx_http_validibot_resolve_conf() */
        vmcf->url_shown.len = shown.len;
        vmcf->url_shown.data = ngx_pstrdup(cf->pool, &shown);
        if (vmcf->url_shown.data == NULL) {
            return NGX_CONF_ERROR;
        }
    }
credentials:

    vmcf->redis.db = url.db;
    vmcf->redis.tls = url.tls;
    vmcf->redis.host.len = url.host.len;
    vmcf->redis.host.data = (u_char *) url.host.data;

    if (url.password.data && vmcf->redis.password_file.data) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"validibot_redis\": a password in \"%V\" and "
                           "in \"validibot_redis_password_file\"", &shown);
        return NGX_CONF_ERROR;
    }

    if (url.password.data) {
        vmcf->redis.user.len = url.user.len;
        vmcf->redis.user.data = (u_char *) url.user.data;
        vmcf->redis.password.len = url.password.len;
        vmcf->redis.password.data = (u_char *) url.password.data;
    }

    return NGX_CONF_OK;
}


/*
 * sentinel://: the sentinels' addresses, resolved now (they are the stable
 * part of a Sentinel set-up); the master's comes from them at run time.
 */

static char *
ngx_http_validibot_parse_sentinels(ngx_conf_t *cf,
    ngx_http_validibot_main_conf_t *vmcf, ngx_http_validibot_url_t *url,
    ngx_str_t *shown)
{
    u_char      *p;
    ngx_uint_t   i;
    ngx_url_t    u;
    ngx_addr_t  *addr;

    vmcf->redis.sentinels = ngx_array_create(cf->pool, url->nsentinels,
                                             sizeof(ngx_addr_t));
    if (vmcf->redis.sentinels == NULL) {
        return NGX_CONF_ERROR;
    }

    for (i = 0; i < url->nsentinels; i++) {
        ngx_memzero(&u, sizeof(ngx_url_t));

        u.url.data = ngx_pnalloc(cf->pool, url->sentinel_host[i].len
                                           + sizeof("[]:65535"));
        if (u.url.data == NULL) {
            return NGX_CONF_ERROR;
        }

        p = ngx_strlchr((u_char *) url->sentinel_host[i].data,
                        (u_char *) url->sentinel_host[i].data
                        + url->sentinel_host[i].len, ':')
            ? ngx_sprintf(u.url.data, "[%*s]:%ui",
                          url->sentinel_host[i].len,
                          url->sentinel_host[i].data,
                          (ngx_uint_t) url->sentinel_port[i])
            : ngx_sprintf(u.url.data, "%*s:%ui", url->sentinel_host[i].len,
                          url->sentinel_host[i].data,
                          (ngx_uint_t) url->sentinel_port[i]);

        u.url.len = p - u.url.data;
        u.default_port = (in_port_t) url->sentinel_port[i];

        if (ngx_parse_url(cf->pool, &u) != NGX_OK || u.naddrs == 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"validibot_redis\": %s (sentinel \"%V\") "
                               "in \"%V\"", u.err ? u.err : "host not found",
                               &u.url, shown);
            return NGX_CONF_ERROR;
        }

        addr = ngx_array_push(vmcf->redis.sentinels);
        if (addr == NULL) {
            return NGX_CONF_ERROR;
        }

        *addr = u.addrs[0];
        addr->name = u.url;
    }

    vmcf->redis.master_name.len = url->master.len;
    vmcf->redis.master_name.data = (u_char *) url->master.data;

    /* no address until the sentinels name one: the name, for messages */

    vmcf->redis.addr = ngx_pcalloc(cf->pool, sizeof(ngx_addr_t));
    if (vmcf->redis.addr == NULL) {
        return NGX_CONF_ERROR;
    }

    vmcf->redis.addr->name.data = ngx_pnalloc(cf->pool,
                                              sizeof("sentinel/") - 1
                                              + url->master.len);
    if (vmcf->redis.addr->name.data == NULL) {
        return NGX_CONF_ERROR;
    }

    vmcf->redis.addr->name.len = ngx_sprintf(vmcf->redis.addr->name.data,
                                             "sentinel/%*s", url->master.len,
                                             url->master.data)
                                 - vmcf->redis.addr->name.data;

    return NGX_CONF_OK;
}


/*
 * The host of a redis:// or rediss:// URL: an address is taken as it is;
 * a name is resolved on every connect through the "resolver" of the http
 * block when there is one (without blocking, so a moved DNS name is
 * followed at the next reconnect), else now, once, like proxy_pass.
 */

static char *
ngx_http_validibot_resolve_conf(ngx_conf_t *cf,
    ngx_http_validibot_main_conf_t *vmcf)
{
    ngx_url_t                 *u;
    ngx_uint_t                 name;
    ngx_http_core_loc_conf_t  *clcf;
#if (NGX_HAVE_INET6)
    struct in6_addr            a6;
#endif

    u = vmcf->redis.url;

    if (u == NULL) {
        return NGX_CONF_OK;
    }

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);

    /* an IPv6 address comes in brackets, with its address already */

    name = (u->naddrs == 0 && u->host.len && u->host.data[0] != '['
            && ngx_inet_addr(u->host.data, u->host.len) == INADDR_NONE);

#if (NGX_HAVE_INET6)
    if (name && ngx_inet6_addr(u->host.data, u->host.len, a6.s6_addr)
                == NGX_OK)
    {
        name = 0;
    }
#endif

    /* without "resolver" the http block has one with no servers */

    if (name && clcf->resolver && clcf->resolver->connections.nelts) {
        vmcf->redis.resolver = clcf->resolver;
        vmcf->redis.resolver_timeout =
                          (clcf->resolver_timeout == NGX_CONF_UNSET_MSEC)
                          ? 30000 : clcf->resolver_timeout;

        /* no address yet: the name, for the messages */

        vmcf->redis.addr = ngx_pcalloc(cf->pool, sizeof(ngx_addr_t));
        if (vmcf->redis.addr == NULL) {
            return NGX_CONF_ERROR;
        }

        vmcf->redis.addr->name = u->url;

        return NGX_CONF_OK;
    }

    /* an IPv4 address has its address already */

    if (u->naddrs == 0 && ngx_inet_resolve_host(cf->pool, u) != NGX_OK) {
        if (u->err) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"validibot_redis\": %s in \"%V\"",
                               u->err, &vmcf->url_shown);
        }

        return NGX_CONF_ERROR;
    }

    if (u->naddrs == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"validibot_redis\": host not found in \"%V\"",
                           &vmcf->url_shown);
        return NGX_CONF_ERROR;
    }

    vmcf->redis.addr = &u->addrs[0];

    return NGX_CONF_OK;
}


/* Validibot lets superusers into every org: "allow" does the same */

static char *
ngx_http_validibot_superusers(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_validibot_loc_conf_t *lcf = conf;

    ngx_str_t  *value;

    if (lcf->superusers != NGX_CONF_UNSET_UINT) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "allow") == 0) {
        lcf->superusers = 1;

    } else if (ngx_strcmp(value[1].data, "deny") == 0) {
        lcf->superusers = 0;

    } else {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"validibot_superusers\" must be \"allow\" or "
                           "\"deny\", not \"%V\"", &value[1]);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_validibot_sync_max_lag(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_validibot_main_conf_t *vmcf = conf;

    ngx_str_t   *value;
    ngx_msec_t   ms;

    if (vmcf->redis.sync_lag != NGX_CONF_UNSET_MSEC) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "off") == 0) {
        vmcf->redis.sync_lag = 0;
        return NGX_CONF_OK;
    }

    ms = ngx_parse_time(&value[1], 0);

    if (ms == (ngx_msec_t) NGX_ERROR || ms == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"validibot_sync_max_lag\" must be \"off\" or "
                           "a time above 0 (\"5s\", \"1500ms\"), not \"%V\"",
                           &value[1]);
        return NGX_CONF_ERROR;
    }

    vmcf->redis.sync_lag = ms;

    return NGX_CONF_OK;
}


static char *
ngx_http_validibot_owner_hints(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_validibot_main_conf_t *vmcf = conf;

    ngx_int_t   n;
    ngx_str_t  *value;

    if (vmcf->redis.hints != NGX_CONF_UNSET_UINT) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "off") == 0) {
        vmcf->redis.hints = 0;
        return NGX_CONF_OK;
    }

    /* 64 bytes an entry, resident only once used */

    n = ngx_atoi(value[1].data, value[1].len);
    if (n < 16 || n > 16777216) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"validibot_owner_hints\" must be \"off\" or "
                           "a number of keys from 16 to 16777216, "
                           "not \"%V\"", &value[1]);
        return NGX_CONF_ERROR;
    }

    vmcf->redis.hints = n;

    return NGX_CONF_OK;
}


static char *
ngx_http_validibot_redis_connections(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_validibot_main_conf_t *vmcf = conf;

    ngx_int_t   n;
    ngx_str_t  *value;

    if (vmcf->redis.connections != NGX_CONF_UNSET_UINT) {
        return "is duplicate";
    }

    value = cf->args->elts;

    n = ngx_atoi(value[1].data, value[1].len);
    if (n < 1 || n > 64) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"validibot_redis_connections\" must be a number "
                           "from 1 to 64, not \"%V\"", &value[1]);
        return NGX_CONF_ERROR;
    }

    vmcf->redis.connections = n;

    return NGX_CONF_OK;
}


static char *
ngx_http_validibot_redis_prefix(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_validibot_main_conf_t *vmcf = conf;

    ngx_str_t   *value;
    ngx_uint_t   i;

    if (vmcf->redis.prefix.data) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (value[1].len > NGX_HTTP_VALIDIBOT_PREFIX_MAX_LEN) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"validibot_redis_prefix\" is longer than %d "
                           "bytes", NGX_HTTP_VALIDIBOT_PREFIX_MAX_LEN);
        return NGX_CONF_ERROR;
    }

    for (i = 0; i < value[1].len; i++) {
        if (value[1].data[i] <= ' ' || value[1].data[i] == 0x7f) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"validibot_redis_prefix\" has a space or a "
                               "control character");
            return NGX_CONF_ERROR;
        }
    }

    vmcf->redis.prefix = value[1];

    return NGX_CONF_OK;
}


static char *
ngx_http_validibot_digest_key(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_validibot_main_conf_t *vmcf = conf;

    char                       *rv;
    size_t                      len;
    ngx_int_t                   version;
    ngx_str_t                  *value, name;
    ngx_uint_t                  i;
    ngx_http_validibot_hmac_t  *h;
    u_char                      buf[NGX_HTTP_VALIDIBOT_MAX_KEY_FILE + 1];

    value = cf->args->elts;

    version = ngx_atoi(value[1].data, value[1].len);
    if (version < 1 || version > 1000000) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"validibot_digest_key\": invalid version \"%V\", "
                           "it must be a whole number from 1", &value[1]);
        return NGX_CONF_ERROR;
    }

    h = vmcf->hmacs->elts;

    for (i = 0; i < vmcf->hmacs->nelts; i++) {
        if (h[i].version == (unsigned) version) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"validibot_digest_key\": version %i is "
                               "set twice", version);
            return NGX_CONF_ERROR;
        }
    }

    name = value[2];
    rv = NGX_CONF_ERROR;

    if (ngx_http_validibot_read_key(cf, &name, buf, &len) != NGX_OK) {
        goto done;
    }

    h = ngx_array_push(vmcf->hmacs);
    if (h == NULL) {
        goto done;
    }

    if (ngx_http_validibot_hmac_init(h, version, buf, len) != 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\": cannot set up HMAC", &cmd->name);
        goto done;
    }

    rv = NGX_CONF_OK;

done:

    ngx_explicit_memzero(buf, sizeof(buf));

    return rv;
}


/*
 * A key file's bytes into buf (NGX_HTTP_VALIDIBOT_MAX_KEY_FILE + 1), one
 * trailing newline dropped; errors name the directive being parsed.
 * "name" becomes the full path.
 */

static ngx_int_t
ngx_http_validibot_read_key(ngx_conf_t *cf, ngx_str_t *name, u_char *buf,
    size_t *len)
{
    ssize_t           n;
    ngx_fd_t          fd;
    ngx_int_t         rc;
    ngx_str_t        *value;
    ngx_file_t        file;
    ngx_file_info_t   fi;

    value = cf->args->elts;

    if (ngx_conf_full_name(cf->cycle, name, 1) != NGX_OK) {
        return NGX_ERROR;
    }

    fd = ngx_open_file(name->data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);
    if (fd == NGX_INVALID_FILE) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           "\"%V\": cannot open \"%V\"", &value[0], name);
        return NGX_ERROR;
    }

    rc = NGX_ERROR;

    ngx_memzero(&file, sizeof(ngx_file_t));
    file.fd = fd;
    file.name = *name;
    file.log = cf->log;

    if (ngx_fd_info(fd, &fi) == NGX_FILE_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           "\"%V\": cannot stat \"%V\"", &value[0], name);
        goto done;
    }

    if (ngx_file_size(&fi) > NGX_HTTP_VALIDIBOT_MAX_KEY_FILE) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\": \"%V\" is larger than %d bytes",
                           &value[0], name, NGX_HTTP_VALIDIBOT_MAX_KEY_FILE);
        goto done;
    }

    n = ngx_read_file(&file, buf, NGX_HTTP_VALIDIBOT_MAX_KEY_FILE + 1, 0);
    if (n == NGX_ERROR) {
        goto done;
    }

    *len = ngx_http_validibot_digest_key_trim(buf, n);

    if (*len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\": \"%V\" is empty", &value[0], name);
        goto done;
    }

    rc = NGX_OK;

done:

    if (ngx_close_file(fd) == NGX_FILE_ERROR) {
        ngx_log_error(NGX_LOG_ALERT, cf->log, ngx_errno,
                      ngx_close_file_n " \"%V\" failed", name);
    }

    return rc;
}


/*
 * validibot_assertion KEYFILE... [header=NAME] [ttl=TIME] [issuer=STRING]
 *     [audience=VALUE] | off
 */

static char *
ngx_http_validibot_assertion(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_validibot_loc_conf_t *lcf = conf;

    u_char                               *p;
    ngx_str_t                            *value, v, audience;
    ngx_uint_t                            i, j;
    ngx_http_validibot_assertion_conf_t  *acf;
    ngx_http_validibot_assertion_key_t   *key;
    ngx_http_compile_complex_value_t      ccv;

    if (lcf->assertion != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (cf->args->nelts == 2 && ngx_strcmp(value[1].data, "off") == 0) {
        lcf->assertion = NULL;
        return NGX_CONF_OK;
    }

    acf = ngx_pcalloc(cf->pool, sizeof(ngx_http_validibot_assertion_conf_t));
    if (acf == NULL) {
        return NGX_CONF_ERROR;
    }

    acf->keys = ngx_array_create(cf->pool, 2,
                                 sizeof(ngx_http_validibot_assertion_key_t));
    if (acf->keys == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_str_set(&acf->header, "X-Validibot-Assertion");
    ngx_str_set(&acf->issuer, "validibot-gateway");
    ngx_str_set(&audience, "$host");
    acf->ttl = 60;

    for (i = 1; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "header=", 7) == 0) {
            v.data = value[i].data + 7;
            v.len = value[i].len - 7;

            for (j = 0; j < v.len; j++) {
                if (!((v.data[j] >= 'a' && v.data[j] <= 'z')
                      || (v.data[j] >= 'A' && v.data[j] <= 'Z')
                      || (v.data[j] >= '0' && v.data[j] <= '9')
                      || v.data[j] == '-'))
                {
                    break;
                }
            }

            if (v.len == 0 || j < v.len) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "\"validibot_assertion\": invalid header "
                                   "name \"%V\", use letters, digits and "
                                   "\"-\"", &v);
                return NGX_CONF_ERROR;
            }

            acf->header = v;
            continue;
        }

        if (ngx_strncmp(value[i].data, "ttl=", 4) == 0) {
            v.data = value[i].data + 4;
            v.len = value[i].len - 4;

            acf->ttl = ngx_parse_time(&v, 1);

            if (acf->ttl == (time_t) NGX_ERROR || acf->ttl < 1
                || acf->ttl > NGX_HTTP_VALIDIBOT_MAX_ASSERTION_TTL)
            {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "\"validibot_assertion\": invalid ttl "
                                   "\"%V\", it must be from 1s to 1d", &v);
                return NGX_CONF_ERROR;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "issuer=", 7) == 0) {
            acf->issuer.data = value[i].data + 7;
            acf->issuer.len = value[i].len - 7;

            if (acf->issuer.len == 0) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "\"validibot_assertion\": empty issuer");
                return NGX_CONF_ERROR;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "audience=", 9) == 0) {
            audience.data = value[i].data + 9;
            audience.len = value[i].len - 9;

            if (audience.len == 0) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "\"validibot_assertion\": empty "
                                   "audience");
                return NGX_CONF_ERROR;
            }

            continue;
        }

        if (ngx_strlchr(value[i].data, value[i].data + value[i].len, '=')
            && ngx_strlchr(value[i].data, value[i].data + value[i].len, '/')
               == NULL)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"validibot_assertion\": unknown option "
                               "\"%V\"", &value[i]);
            return NGX_CONF_ERROR;
        }

        if (ngx_http_validibot_assertion_key(cf, acf, &value[i])
            != NGX_CONF_OK)
        {
            return NGX_CONF_ERROR;
        }
    }

    if (acf->keys->nelts == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"validibot_assertion\": no key file");
        return NGX_CONF_ERROR;
    }

    acf->lowcase.len = acf->header.len;
    acf->lowcase.data = ngx_pnalloc(cf->pool, acf->header.len);
    if (acf->lowcase.data == NULL) {
        return NGX_CONF_ERROR;
    }

    acf->hash = ngx_hash_strlow(acf->lowcase.data, acf->header.data,
                                acf->header.len);

    /* the identity headers and Authorization are the module's own */

    p = acf->lowcase.data;

    if ((acf->lowcase.len == sizeof("authorization") - 1
         && ngx_strncmp(p, "authorization", acf->lowcase.len) == 0)
        || (acf->lowcase.len == sizeof("host") - 1
            && ngx_strncmp(p, "host", acf->lowcase.len) == 0))
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"validibot_assertion\": header \"%V\" "
                           "cannot carry the assertion", &acf->header);
        return NGX_CONF_ERROR;
    }

    for (i = 0; i < NGX_HTTP_VALIDIBOT_H_WWW_AUTHENTICATE; i++) {
        if (ngx_http_validibot_headers[i].lowcase.len == acf->lowcase.len
            && ngx_strncmp(ngx_http_validibot_headers[i].lowcase.data, p,
                           acf->lowcase.len) == 0)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"validibot_assertion\": header \"%V\" "
                               "is an identity header", &acf->header);
            return NGX_CONF_ERROR;
        }
    }

    ngx_memzero(&ccv, sizeof(ngx_http_compile_complex_value_t));

    ccv.cf = cf;
    ccv.value = &audience;
    ccv.complex_value = ngx_palloc(cf->pool, sizeof(ngx_http_complex_value_t));
    if (ccv.complex_value == NULL) {
        return NGX_CONF_ERROR;
    }

    if (ngx_http_compile_complex_value(&ccv) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    acf->audience = ccv.complex_value;
    acf->audience_var = NGX_ERROR;

    for (j = 1; j < audience.len; j++) {
        if (!((audience.data[j] >= 'a' && audience.data[j] <= 'z')
              || (audience.data[j] >= 'A' && audience.data[j] <= 'Z')
              || (audience.data[j] >= '0' && audience.data[j] <= '9')
              || audience.data[j] == '_'))
        {
            break;
        }
    }

    /* "$1" and the like are captures, for the complex value */

    if (audience.len > 1 && audience.data[0] == '$' && j == audience.len
        && !(audience.data[1] >= '0' && audience.data[1] <= '9'))
    {
        v.data = audience.data + 1;
        v.len = audience.len - 1;

        acf->audience_var = ngx_http_get_variable_index(cf, &v);
        if (acf->audience_var == NGX_ERROR) {
            return NGX_CONF_ERROR;
        }
    }

    /* the signing key hashes the claims' start once: the issuer's */

    key = acf->keys->elts;
    ngx_http_validibot_assertion_key_prefix(&key[0], acf->issuer.data,
                                            acf->issuer.len);

    ngx_str_set(&v, "request_id");

    acf->request_id = ngx_http_get_variable_index(cf, &v);
    if (acf->request_id == NGX_ERROR) {
        return NGX_CONF_ERROR;
    }

    lcf->assertion = acf;

    return NGX_CONF_OK;
}


/*
 * One key file: its name without the directory and a ".key" suffix is the
 * kid; at least NGX_HTTP_VALIDIBOT_ASSERTION_KEY_MIN bytes.
 */

static char *
ngx_http_validibot_assertion_key(ngx_conf_t *cf,
    ngx_http_validibot_assertion_conf_t *acf, ngx_str_t *value)
{
    char                                *rv;
    size_t                               len;
    u_char                              *p;
    ngx_str_t                            name, kid;
    ngx_uint_t                           i;
    ngx_http_validibot_assertion_key_t  *key;
    u_char                               buf[NGX_HTTP_VALIDIBOT_MAX_KEY_FILE
                                             + 1];

    name = *value;

    p = name.data + name.len;

    while (p > name.data && p[-1] != '/') {
        p--;
    }

    kid.data = p;
    kid.len = name.data + name.len - p;

    if (kid.len > 4 && ngx_strncmp(kid.data + kid.len - 4, ".key", 4) == 0) {
        kid.len -= 4;
    }

    if (!ngx_http_validibot_assertion_kid_valid(kid.data, kid.len)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"validibot_assertion\": the name of \"%V\" is "
                           "not a valid kid: 1 to %d of letters, digits, "
                           "\".\", \"_\" and \"-\", before \".key\"",
                           value, NGX_HTTP_VALIDIBOT_ASSERTION_KID_MAX);
        return NGX_CONF_ERROR;
    }

    key = acf->keys->elts;

    for (i = 0; i < acf->keys->nelts; i++) {
        if (key[i].kid_len == kid.len
            && ngx_strncmp(key[i].kid, kid.data, kid.len) == 0)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"validibot_assertion\": kid \"%V\" is "
                               "given twice", &kid);
            return NGX_CONF_ERROR;
        }
    }

    rv = NGX_CONF_ERROR;

    if (ngx_http_validibot_read_key(cf, &name, buf, &len) != NGX_OK) {
        goto done;
    }

    if (len < NGX_HTTP_VALIDIBOT_ASSERTION_KEY_MIN) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"validibot_assertion\": \"%V\" holds %uz "
                           "bytes, at least %d are needed",
                           &name, len, NGX_HTTP_VALIDIBOT_ASSERTION_KEY_MIN);
        goto done;
    }

    key = ngx_array_push(acf->keys);
    if (key == NULL) {
        goto done;
    }

    if (ngx_http_validibot_assertion_key_init(key, kid.data, kid.len, buf, len)
        != 0)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"validibot_assertion\": cannot set up HMAC");
        goto done;
    }

    rv = NGX_CONF_OK;

done:

    ngx_explicit_memzero(buf, sizeof(buf));

    return rv;
}


static char *
ngx_http_validibot_auth(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_validibot_loc_conf_t *lcf = conf;

    ngx_str_t   *value;
    ngx_uint_t   i;

    if (lcf->realm.data) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "off") == 0) {
        ngx_str_set(&lcf->realm, "");
        return NGX_CONF_OK;
    }

    if (value[1].len == 0) {
        return "takes a realm or \"off\", not an empty string";
    }

    for (i = 0; i < value[1].len; i++) {
        if (value[1].data[i] < ' ' || value[1].data[i] == 0x7f) {
            return "has a control character in the realm";
        }
    }

    lcf->realm = value[1];

    return NGX_CONF_OK;
}


static char *
ngx_http_validibot_org(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_validibot_loc_conf_t *lcf = conf;

    ngx_str_t                         *value;
    ngx_http_compile_complex_value_t   ccv;

    if (lcf->org != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (value[1].len == 0) {
        /* explicitly none: switches an inherited org check off */
        lcf->org = NULL;
        return NGX_CONF_OK;
    }

    lcf->org = ngx_palloc(cf->pool, sizeof(ngx_http_complex_value_t));
    if (lcf->org == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memzero(&ccv, sizeof(ngx_http_compile_complex_value_t));

    ccv.cf = cf;
    ccv.value = &value[1];
    ccv.complex_value = lcf->org;

    if (ngx_http_compile_complex_value(&ccv) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    if (lcf->org->lengths == NULL
        && ngx_http_validibot_org_valid(&lcf->org->value) != NGX_OK)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"validibot_org\": invalid org slug \"%V\", "
                           "use letters, digits, \"-\" and \"_\"", &value[1]);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_validibot_require(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_validibot_loc_conf_t *lcf = conf;

    u_char                        *p, *last, *end;
    uint32_t                       mask, m;
    ngx_str_t                     *value, name;
    ngx_uint_t                     i, methods;
    ngx_http_validibot_method_t   *meth;
    ngx_http_validibot_require_t  *req;

    if (lcf->require == NGX_CONF_UNSET_PTR) {
        lcf->require = ngx_array_create(cf->pool, 2,
                                        sizeof(ngx_http_validibot_require_t));
        if (lcf->require == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    if (lcf->require->nelts >= NGX_HTTP_VALIDIBOT_MAX_REQUIRE) {
        return "is given too many times";
    }

    value = cf->args->elts;
    mask = 0;
    methods = 0;

    for (i = 1; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "methods=", 8) == 0) {

            if (methods) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "\"validibot_require\": \"methods=\" is "
                                   "given twice");
                return NGX_CONF_ERROR;
            }

            p = value[i].data + 8;
            end = value[i].data + value[i].len;

            while (p < end) {
                last = ngx_strlchr(p, end, ',');
                if (last == NULL) {
                    last = end;
                }

                name.data = p;
                name.len = last - p;

                for (meth = ngx_http_validibot_methods; meth->name.len; meth++)
                {
                    if (meth->name.len == name.len
                        && ngx_strncasecmp(meth->name.data, name.data,
                                           name.len) == 0)
                    {
                        break;
                    }
                }

                if (meth->name.len == 0) {
                    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                       "\"validibot_require\": unknown "
                                       "method \"%V\"", &name);
                    return NGX_CONF_ERROR;
                }

                methods |= meth->method;
                p = last + 1;
            }

            if (methods == 0) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "\"validibot_require\": empty "
                                   "\"methods=\"");
                return NGX_CONF_ERROR;
            }

            continue;
        }

        m = ngx_http_validibot_code_mask(value[i].data, value[i].len);
        if (m == 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"validibot_require\": unknown role or "
                               "permission code \"%V\"", &value[i]);
            return NGX_CONF_ERROR;
        }

        mask |= m;
    }

    if (mask == 0) {
        return "needs at least one role or permission code";
    }

    req = ngx_array_push(lcf->require);
    if (req == NULL) {
        return NGX_CONF_ERROR;
    }

    req->mask = mask;
    /* as with limit_except, GET covers HEAD */

    if (methods & NGX_HTTP_GET) {
        methods |= NGX_HTTP_HEAD;
    }

    req->methods = methods;

    return NGX_CONF_OK;
}


/* "off" (0) or a time of at least 1s; NGX_ERROR once logged */

static ngx_int_t
ngx_http_validibot_time_or_off(ngx_conf_t *cf, ngx_uint_t is_sec)
{
    ngx_int_t   t;
    ngx_str_t  *value;

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "off") == 0) {
        return 0;
    }

    t = ngx_parse_time(&value[1], is_sec);

    if (t == NGX_ERROR || t < (is_sec ? 1 : 1000)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\": invalid time \"%V\", use \"off\" or at "
                           "least 1s", &value[0], &value[1]);
        return NGX_ERROR;
    }

    return t;
}


/*
 * validibot_cache zone=NAME:SIZE [max_ttl=TIME] [negative_ttl=TIME];
 * (http) declares the cache; validibot_cache on | off; (http, server,
 * location) uses it or not.
 */

static char *
ngx_http_validibot_cache(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_validibot_loc_conf_t *lcf = conf;

    u_char                          *p;
    ssize_t                          size;
    ngx_str_t                       *value, s;
    ngx_msec_t                       ms, *ttl;
    ngx_uint_t                       i;
    ngx_http_validibot_main_conf_t  *vmcf;

    value = cf->args->elts;

    if (cf->args->nelts == 2
        && (ngx_strcmp(value[1].data, "on") == 0
            || ngx_strcmp(value[1].data, "off") == 0))
    {
        if (lcf->cache != NGX_CONF_UNSET) {
            return "is duplicate";
        }

        lcf->cache = (value[1].data[1] == 'n');
        return NGX_CONF_OK;
    }

    if (ngx_strncmp(value[1].data, "zone=", 5) != 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid parameter \"%V\": \"validibot_cache\" "
                           "takes \"on\", \"off\" or \"zone=NAME:SIZE\"",
                           &value[1]);
        return NGX_CONF_ERROR;
    }

    if (cf->cmd_type != NGX_HTTP_MAIN_CONF) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"validibot_cache zone=\" is allowed at the "
                           "http level only");
        return NGX_CONF_ERROR;
    }

    vmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_validibot_module);

    if (vmcf->cache_size) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "the validibot cache \"%V\" is already declared",
                           &vmcf->cache_name);
        return NGX_CONF_ERROR;
    }

    s.data = value[1].data + 5;
    s.len = value[1].len - 5;

    p = ngx_strlchr(s.data, s.data + s.len, ':');

    if (p == NULL || p == s.data) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid cache zone \"%V\": NAME:SIZE expected",
                           &value[1]);
        return NGX_CONF_ERROR;
    }

    vmcf->cache_name.data = s.data;
    vmcf->cache_name.len = p - s.data;

    s.len -= p + 1 - s.data;
    s.data = p + 1;

    size = ngx_parse_size(&s);

    if (size == NGX_ERROR || size < 64 * 1024) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid cache size \"%V\" in \"%V\": at "
                           "least 64k", &s, &value[1]);
        return NGX_CONF_ERROR;
    }

    for (i = 2; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "max_ttl=", 8) == 0) {
            ttl = &vmcf->cache_ttl;
            s.data = value[i].data + 8;
            s.len = value[i].len - 8;

        } else if (ngx_strncmp(value[i].data, "negative_ttl=", 13) == 0) {
            ttl = &vmcf->cache_negative_ttl;
            s.data = value[i].data + 13;
            s.len = value[i].len - 13;

        } else {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid parameter \"%V\"", &value[i]);
            return NGX_CONF_ERROR;
        }

        if (*ttl != NGX_CONF_UNSET_MSEC) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "duplicate parameter \"%V\"", &value[i]);
            return NGX_CONF_ERROR;
        }

        ms = ngx_parse_time(&s, 0);

        /* a day at most: max_ttl bounds what a lost report could cost */

        if (ms == (ngx_msec_t) NGX_ERROR || ms == 0 || ms > 86400000) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid time in \"%V\": from 1ms to 1d",
                               &value[i]);
            return NGX_CONF_ERROR;
        }

        *ttl = ms;
    }

    vmcf->cache_size = size;

    return NGX_CONF_OK;
}


static char *
ngx_http_validibot_usage_interval(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_validibot_main_conf_t *vmcf = conf;

    ngx_int_t  t;

    if (vmcf->usage_interval != NGX_CONF_UNSET_MSEC) {
        return "is duplicate";
    }

    t = ngx_http_validibot_time_or_off(cf, 0);
    if (t == NGX_ERROR) {
        return NGX_CONF_ERROR;
    }

    vmcf->usage_interval = (ngx_msec_t) t;

    return NGX_CONF_OK;
}


static char *
ngx_http_validibot_fail_zone(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_str_t  *value;

    value = cf->args->elts;

    if (ngx_http_validibot_fail_zone_add(cf, &value[1]) == NULL) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_validibot_fail_limit(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_validibot_loc_conf_t *lcf = conf;

    time_t       window;
    ngx_int_t    max;
    ngx_str_t   *value, name, s;
    ngx_uint_t   i;

    if (lcf->fail_zone != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    value = cf->args->elts;
    ngx_str_null(&name);
    max = NGX_ERROR;
    window = NGX_ERROR;

    for (i = 1; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "zone=", 5) == 0) {
            name.data = value[i].data + 5;
            name.len = value[i].len - 5;
            continue;
        }

        if (ngx_strncmp(value[i].data, "max=", 4) == 0) {
            max = ngx_atoi(value[i].data + 4, value[i].len - 4);
            if (max < 1) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "\"validibot_fail_limit\": invalid "
                                   "\"%V\", max must be 1 or more",
                                   &value[i]);
                return NGX_CONF_ERROR;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "window=", 7) == 0) {
            s.data = value[i].data + 7;
            s.len = value[i].len - 7;

            window = ngx_parse_time(&s, 1);
            if (window == (time_t) NGX_ERROR || window < 1) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "\"validibot_fail_limit\": invalid "
                                   "\"%V\", window must be 1s or more",
                                   &value[i]);
                return NGX_CONF_ERROR;
            }

            continue;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"validibot_fail_limit\": invalid parameter "
                           "\"%V\"", &value[i]);
        return NGX_CONF_ERROR;
    }

    if (name.len == 0 || max == NGX_ERROR || window == (time_t) NGX_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"validibot_fail_limit\" needs zone=, max= and "
                           "window=");
        return NGX_CONF_ERROR;
    }

    lcf->fail_zone = ngx_http_validibot_fail_zone_find(cf, &name);
    if (lcf->fail_zone == NULL) {
        return NGX_CONF_ERROR;
    }

    lcf->fail_max = max;
    lcf->fail_window = window;

    return NGX_CONF_OK;
}


static char *
ngx_http_validibot_max_key_age(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_validibot_loc_conf_t *lcf = conf;

    ngx_int_t  t;

    if (lcf->max_key_age != NGX_CONF_UNSET) {
        return "is duplicate";
    }

    t = ngx_http_validibot_time_or_off(cf, 1);
    if (t == NGX_ERROR) {
        return NGX_CONF_ERROR;
    }

    lcf->max_key_age = (time_t) t;

    return NGX_CONF_OK;
}


static char *
ngx_http_validibot_whoami(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_validibot_loc_conf_t *lcf = conf;

    ngx_http_core_loc_conf_t  *clcf;

    if (lcf->whoami) {
        return "is duplicate";
    }

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_validibot_whoami_handler;

    lcf->whoami = 1;

    return NGX_CONF_OK;
}


static char *
ngx_http_validibot_status(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_uint_t                       i;
    ngx_http_core_loc_conf_t        *clcf;
    ngx_http_validibot_main_conf_t  *vmcf;

    static const char  *names[NGX_HTTP_VALIDIBOT_NSTATUS];

    for (i = 0; i < NGX_HTTP_VALIDIBOT_NSTATUS; i++) {
        names[i] = ngx_http_validibot_status_name(i);
    }

    if (ngx_http_validibot_metrics_add(cf, NGX_HTTP_VALIDIBOT_NSTATUS, names)
        != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    vmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_validibot_module);
    vmcf->metrics = 1;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_validibot_status_handler;

    return NGX_CONF_OK;
}
