
/*
 * Copyright (C) The ngx_http_validibot_module authors
 *
 * Failed-attempt limit: a shared zone per "validibot_fail_zone", holding
 * one node per client address in an rbtree (keyed by crc32 of the key,
 * then by the key bytes) and an LRU queue, as limit_req does.  Every tree
 * access holds the zone's mutex.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_validibot_fail.h"


#define NGX_HTTP_VALIDIBOT_FAIL_MAX_KEY  65535


typedef struct {
    u_char                        color;
    u_char                        dummy;
    u_short                       len;
    ngx_queue_t                   queue;
    ngx_uint_t                    count;
    time_t                        start;         /* first refusal */
    time_t                        locked_until;  /* 0: not locked */
    /* the node may go once this has passed: window end or lock end */
    time_t                        expire;
    u_char                        data[1];
} ngx_http_validibot_fail_node_t;


typedef struct {
    ngx_rbtree_t                  rbtree;
    ngx_rbtree_node_t             sentinel;
    ngx_queue_t                   queue;
} ngx_http_validibot_fail_shctx_t;


struct ngx_http_validibot_fail_zone_s {
    ngx_http_validibot_fail_shctx_t  *sh;
    ngx_slab_pool_t                  *shpool;
    ngx_shm_zone_t                   *shm_zone;
    /* set by validibot_fail_zone; unset while only referenced */
    unsigned                          declared:1;
};


static ngx_http_validibot_fail_zone_t *ngx_http_validibot_fail_zone_get(
    ngx_conf_t *cf, ngx_str_t *name, const char *directive);
static ngx_int_t ngx_http_validibot_fail_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);
static void ngx_http_validibot_fail_rbtree_insert_value(
    ngx_rbtree_node_t *temp, ngx_rbtree_node_t *node,
    ngx_rbtree_node_t *sentinel);
static ngx_http_validibot_fail_node_t *ngx_http_validibot_fail_lookup(
    ngx_http_validibot_fail_zone_t *zone, ngx_uint_t hash, ngx_str_t *key);
static void ngx_http_validibot_fail_expire(
    ngx_http_validibot_fail_zone_t *zone, ngx_uint_t n, time_t now);


extern ngx_module_t  ngx_http_validibot_module;


/* the metrics zone shares the module's tag: its name is not for us */
static ngx_str_t  ngx_http_validibot_fail_reserved =
    ngx_string("validibot_metrics");


ngx_http_validibot_fail_zone_t *
ngx_http_validibot_fail_zone_add(ngx_conf_t *cf, ngx_str_t *value)
{
    u_char                          *p;
    ssize_t                          size;
    ngx_str_t                        name, s;
    ngx_shm_zone_t                  *shm_zone;
    ngx_http_validibot_fail_zone_t  *zone;

    p = ngx_strlchr(value->data, value->data + value->len, ':');

    if (p == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid zone size \"%V\" in "
                           "\"validibot_fail_zone\", expected name:size",
                           value);
        return NULL;
    }

    name.data = value->data;
    name.len = p - value->data;

    s.data = p + 1;
    s.len = value->data + value->len - s.data;

    size = ngx_parse_size(&s);

    if (size == NGX_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid zone size \"%V\" in "
                           "\"validibot_fail_zone\"", value);
        return NULL;
    }

    if (size < (ssize_t) (8 * ngx_pagesize)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "zone \"%V\" is too small in "
                           "\"validibot_fail_zone\", the minimum is %uzk",
                           value, 8 * ngx_pagesize / 1024);
        return NULL;
    }

    /* size 0 first: a known zone of another size must not trip nginx's
     * own "conflicts with already declared size" before our message */

    zone = ngx_http_validibot_fail_zone_get(cf, &name, "validibot_fail_zone");
    if (zone == NULL) {
        return NULL;
    }

    if (zone->declared) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "duplicate zone name \"%V\" in "
                           "\"validibot_fail_zone\"", &name);
        return NULL;
    }

    shm_zone = ngx_shared_memory_add(cf, &name, size,
                                     &ngx_http_validibot_module);
    if (shm_zone == NULL) {
        return NULL;
    }

    zone->declared = 1;

    return zone;
}


ngx_http_validibot_fail_zone_t *
ngx_http_validibot_fail_zone_find(ngx_conf_t *cf, ngx_str_t *name)
{
    /*
     * A zone not declared yet is added with size 0, as limit_req does, so
     * that "validibot_fail_limit" may come first; nginx refuses to start
     * if it is never declared ("zero size shared memory zone").
     */

    return ngx_http_validibot_fail_zone_get(cf, name, "validibot_fail_limit");
}


static ngx_http_validibot_fail_zone_t *
ngx_http_validibot_fail_zone_get(ngx_conf_t *cf, ngx_str_t *name,
    const char *directive)
{
    ngx_shm_zone_t                  *shm_zone;
    ngx_http_validibot_fail_zone_t  *zone;

    if (name->len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "empty zone name in \"%s\"", directive);
        return NULL;
    }

    if (name->len == ngx_http_validibot_fail_reserved.len
        && ngx_strncmp(name->data, ngx_http_validibot_fail_reserved.data,
                       name->len)
           == 0)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "zone name \"%V\" is reserved for the module's "
                           "metrics", name);
        return NULL;
    }

    shm_zone = ngx_shared_memory_add(cf, name, 0, &ngx_http_validibot_module);
    if (shm_zone == NULL) {
        return NULL;
    }

    if (shm_zone->data) {

        if (shm_zone->init != ngx_http_validibot_fail_init_zone) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "zone name \"%V\" is already in use", name);
            return NULL;
        }

        return shm_zone->data;
    }

    zone = ngx_pcalloc(cf->pool, sizeof(ngx_http_validibot_fail_zone_t));
    if (zone == NULL) {
        return NULL;
    }

    zone->shm_zone = shm_zone;

    /* set now: nginx calls init for every zone it creates */
    shm_zone->init = ngx_http_validibot_fail_init_zone;
    shm_zone->data = zone;

    return zone;
}


static ngx_int_t
ngx_http_validibot_fail_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_http_validibot_fail_zone_t  *ozone = data;

    size_t                           len;
    ngx_http_validibot_fail_zone_t  *zone;

    zone = shm_zone->data;

    if (ozone) {
        /* reload with the same size: keep the counts and lock-outs */
        zone->sh = ozone->sh;
        zone->shpool = ozone->shpool;
        return NGX_OK;
    }

    zone->shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (shm_zone->shm.exists) {
        zone->sh = zone->shpool->data;
        return NGX_OK;
    }

    zone->sh = ngx_slab_alloc(zone->shpool,
                              sizeof(ngx_http_validibot_fail_shctx_t));
    if (zone->sh == NULL) {
        return NGX_ERROR;
    }

    zone->shpool->data = zone->sh;

    ngx_rbtree_init(&zone->sh->rbtree, &zone->sh->sentinel,
                    ngx_http_validibot_fail_rbtree_insert_value);

    ngx_queue_init(&zone->sh->queue);

    len = sizeof(" in validibot_fail_zone \"\"") + shm_zone->shm.name.len;

    zone->shpool->log_ctx = ngx_slab_alloc(zone->shpool, len);
    if (zone->shpool->log_ctx == NULL) {
        return NGX_ERROR;
    }

    ngx_sprintf(zone->shpool->log_ctx, " in validibot_fail_zone \"%V\"%Z",
                &shm_zone->shm.name);

    /* a full zone is handled by dropping old entries: no log flood */
    zone->shpool->log_nomem = 0;

    return NGX_OK;
}


static void
ngx_http_validibot_fail_rbtree_insert_value(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel)
{
    ngx_rbtree_node_t               **p;
    ngx_http_validibot_fail_node_t   *fn, *fnt;

    for ( ;; ) {

        if (node->key < temp->key) {

            p = &temp->left;

        } else if (node->key > temp->key) {

            p = &temp->right;

        } else { /* node->key == temp->key */

            fn = (ngx_http_validibot_fail_node_t *) &node->color;
            fnt = (ngx_http_validibot_fail_node_t *) &temp->color;

            p = (ngx_memn2cmp(fn->data, fnt->data, fn->len, fnt->len) < 0)
                ? &temp->left : &temp->right;
        }

        if (*p == sentinel) {
            break;
        }

        temp = *p;
    }

    *p = node;
    node->parent = temp;
    node->left = sentinel;
    node->right = sentinel;
    ngx_rbt_red(node);
}


/* the caller holds the mutex */

static ngx_http_validibot_fail_node_t *
ngx_http_validibot_fail_lookup(ngx_http_validibot_fail_zone_t *zone,
    ngx_uint_t hash, ngx_str_t *key)
{
    ngx_int_t                        rc;
    ngx_rbtree_node_t               *node, *sentinel;
    ngx_http_validibot_fail_node_t  *fn;

    node = zone->sh->rbtree.root;
    sentinel = zone->sh->rbtree.sentinel;

    while (node != sentinel) {

        if (hash < node->key) {
            node = node->left;
            continue;
        }

        if (hash > node->key) {
            node = node->right;
            continue;
        }

        /* hash == node->key */

        fn = (ngx_http_validibot_fail_node_t *) &node->color;

        rc = ngx_memn2cmp(key->data, fn->data, key->len, (size_t) fn->len);

        if (rc == 0) {
            return fn;
        }

        node = (rc < 0) ? node->left : node->right;
    }

    return NULL;
}


/*
 * The caller holds the mutex.  n == 1 deletes up to two expired entries
 * from the LRU tail; n == 0 also deletes the tail entry by force first.
 */

static void
ngx_http_validibot_fail_expire(ngx_http_validibot_fail_zone_t *zone,
    ngx_uint_t n, time_t now)
{
    ngx_queue_t                     *q;
    ngx_rbtree_node_t               *node;
    ngx_http_validibot_fail_node_t  *fn;

    while (n < 3) {

        if (ngx_queue_empty(&zone->sh->queue)) {
            return;
        }

        q = ngx_queue_last(&zone->sh->queue);

        fn = ngx_queue_data(q, ngx_http_validibot_fail_node_t, queue);

        /* the tail is the least recently used: if it is still live,
         * the entries before it most likely are too */

        if (n++ != 0 && fn->expire > now) {
            return;
        }

        ngx_queue_remove(q);

        node = (ngx_rbtree_node_t *)
                   ((u_char *) fn - offsetof(ngx_rbtree_node_t, color));

        ngx_rbtree_delete(&zone->sh->rbtree, node);

        ngx_slab_free_locked(zone->shpool, node);
    }
}


time_t
ngx_http_validibot_fail_locked(ngx_http_validibot_fail_zone_t *zone,
    ngx_str_t *key, time_t window)
{
    time_t                           now, left;
    uint32_t                         hash;
    ngx_http_validibot_fail_node_t  *fn;

    if (zone->sh == NULL
        || key->len == 0 || key->len > NGX_HTTP_VALIDIBOT_FAIL_MAX_KEY)
    {
        return 0;
    }

    hash = ngx_crc32_short(key->data, key->len);

    left = 0;

    ngx_shmtx_lock(&zone->shpool->mutex);

    now = ngx_time();

    fn = ngx_http_validibot_fail_lookup(zone, hash, key);

    if (fn && fn->locked_until > now) {
        left = fn->locked_until - now;

        /* an address still knocking keeps its lock under LRU pressure */
        ngx_queue_remove(&fn->queue);
        ngx_queue_insert_head(&zone->sh->queue, &fn->queue);
    }

    ngx_shmtx_unlock(&zone->shpool->mutex);

    /* a clock stepped back must not lock an address for longer */

    if (window > 0 && left > window) {
        left = window;
    }

    return left;
}


time_t
ngx_http_validibot_fail_count(ngx_http_validibot_fail_zone_t *zone,
    ngx_str_t *key, ngx_uint_t max, time_t window)
{
    size_t                           size;
    time_t                           now, left;
    uint32_t                         hash;
    ngx_rbtree_node_t               *node;
    ngx_http_validibot_fail_node_t  *fn;

    if (zone->sh == NULL
        || key->len == 0 || key->len > NGX_HTTP_VALIDIBOT_FAIL_MAX_KEY)
    {
        return 0;
    }

    if (window <= 0) {
        window = 1;
    }

    hash = ngx_crc32_short(key->data, key->len);

    left = 0;

    ngx_shmtx_lock(&zone->shpool->mutex);

    now = ngx_time();

    ngx_http_validibot_fail_expire(zone, 1, now);

    fn = ngx_http_validibot_fail_lookup(zone, hash, key);

    if (fn) {
        ngx_queue_remove(&fn->queue);
        ngx_queue_insert_head(&zone->sh->queue, &fn->queue);

        if (fn->locked_until > now) {
            /*
             * Already locked out: a refusal that was in flight when the
             * lock began.  The lock-out was reported once, when set.
             */
            goto done;
        }

        if (fn->expire <= now) {
            /* the window (and any lock) has passed: a new window */
            fn->count = 0;
            fn->start = now;
            fn->locked_until = 0;
            fn->expire = now + window;
        }

    } else {
        size = offsetof(ngx_rbtree_node_t, color)
               + offsetof(ngx_http_validibot_fail_node_t, data)
               + key->len;

        node = ngx_slab_alloc_locked(zone->shpool, size);

        if (node == NULL) {
            /* the zone is full: drop the least recently used entry */
            ngx_http_validibot_fail_expire(zone, 0, now);

            node = ngx_slab_alloc_locked(zone->shpool, size);
            if (node == NULL) {
                ngx_shmtx_unlock(&zone->shpool->mutex);

                ngx_log_error(NGX_LOG_ALERT, ngx_cycle->log, 0,
                              "could not allocate node%s",
                              zone->shpool->log_ctx);
                return 0;
            }
        }

        node->key = hash;

        fn = (ngx_http_validibot_fail_node_t *) &node->color;

        fn->len = (u_short) key->len;
        fn->count = 0;
        fn->start = now;
        fn->locked_until = 0;
        fn->expire = now + window;

        ngx_memcpy(fn->data, key->data, key->len);

        ngx_rbtree_insert(&zone->sh->rbtree, node);

        ngx_queue_insert_head(&zone->sh->queue, &fn->queue);
    }

    fn->count++;

    if (fn->count >= max) {
        fn->locked_until = fn->start + window;

        /* "max" reached right at the window's end still locks */

        if (fn->locked_until <= now) {
            fn->locked_until = now + window;
        }

        fn->expire = fn->locked_until;

        left = fn->locked_until - now;
    }

done:

    ngx_shmtx_unlock(&zone->shpool->mutex);

    return left;
}
