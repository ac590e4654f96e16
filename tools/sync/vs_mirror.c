
/*
 * Copyright (C) The ngx_http_validibot_module authors
 *
 * validibot-sync: the mapping from Validibot's rows to the module's Redis
 * records (docs/sync.md, docs/redis-schema.md), and what it needs to
 * remember: organizations (id -> slug), roles (id -> code), memberships
 * and their role rows, keys (uuid -> public id).  Users and keys map
 * row by row.  A transaction's writes are collected and sent as one
 * MULTI/EXEC at its commit.
 */


#include <stdlib.h>
#include <string.h>

#include "vs.h"


#define VS_ABSENT  0              /* not sent: unchanged TOAST, no column */
#define VS_NULL    1
#define VS_VAL     2

#define VS_FLUSH_EVERY  1000      /* pipelined commands during a load */


typedef struct {
    int      has[VS_MAX_COLS + 1];
    char    *v[VS_MAX_COLS + 1];
} vs_row_t;


typedef struct vs_ent_s  vs_ent_t;

struct vs_ent_s {
    vs_ent_t  *next;
    char      *key;
    void      *val;
};

typedef struct {
    vs_ent_t  **b;
    size_t      nb;
    size_t      n;
} vs_hash_t;


typedef struct {
    char      *slug;
} vs_org_t;

typedef struct vs_mrole_s  vs_mrole_t;

typedef struct {
    char         *user_id;
    char         *org_id;
    int           active;
    int           dirty;
    vs_mrole_t  **roles;
    size_t        nroles;
    size_t        cap;
} vs_member_t;

struct vs_mrole_s {
    char         *membership_id;
    char         *role_id;
};


typedef struct {
    char    *cmd;
    size_t   len;
} vs_cmd_t;


struct vs_mirror_s {
    vs_redis_t   *redis;
    vs_hash_t     orgs;
    vs_hash_t     roles;             /* val: the code */
    vs_hash_t     members;
    vs_hash_t     mroles;
    vs_hash_t     keys;              /* val: the public id */
    size_t        orphans;           /* role rows without their membership */

    /* the transaction being decoded */
    uint32_t      xid;
    vs_cmd_t     *cmds;
    size_t        ncmds, ccap;
    char        **dirty;             /* membership ids */
    size_t        ndirty, dcap;
    char        **gone_orgs;         /* slugs whose members are purged */
    size_t        ngone, gcap;

    /* a load: the record names written */
    char        **seen;
    size_t        nseen, scap;
    size_t        pending;
};


/* a string-keyed hash table */

static size_t
vs_hash_fn(const char *s)
{
    size_t  h;

    for (h = 5381; *s; s++) {
        h = h * 33 + (unsigned char) *s;
    }

    return h;
}


static vs_ent_t **
vs_hash_slot(vs_hash_t *h, const char *key)
{
    vs_ent_t  **e;

    if (h->nb == 0) {
        h->nb = 1024;
        h->b = calloc(h->nb, sizeof(vs_ent_t *));
        if (h->b == NULL) {
            vs_log("error", "out of memory");
            exit(VS_EXIT_FAIL);
        }
    }

    for (e = &h->b[vs_hash_fn(key) % h->nb]; *e; e = &(*e)->next) {
        if (strcmp((*e)->key, key) == 0) {
            break;
        }
    }

    return e;
}


static void *
vs_hash_get(vs_hash_t *h, const char *key)
{
    vs_ent_t  **e;

    if (h->n == 0) {
        return NULL;
    }

    e = vs_hash_slot(h, key);

    return *e ? (*e)->val : NULL;
}


static void
vs_hash_grow(vs_hash_t *h)
{
    size_t      i, nb;
    vs_ent_t   *e, *next, **b;

    nb = h->nb * 4;
    b = calloc(nb, sizeof(vs_ent_t *));
    if (b == NULL) {
        return;
    }

    for (i = 0; i < h->nb; i++) {
        for (e = h->b[i]; e; e = next) {
            next = e->next;
            e->next = b[vs_hash_fn(e->key) % nb];
            b[vs_hash_fn(e->key) % nb] = e;
        }
    }

    free(h->b);
    h->b = b;
    h->nb = nb;
}


/* sets the value; returns the old one (NULL: the key is new) */
static void *
vs_hash_put(vs_hash_t *h, const char *key, void *val)
{
    void       *old;
    vs_ent_t  **e;

    e = vs_hash_slot(h, key);

    if (*e) {
        old = (*e)->val;
        (*e)->val = val;
        return old;
    }

    *e = vs_alloc(sizeof(vs_ent_t));
    (*e)->key = vs_strndup(key, strlen(key));
    (*e)->val = val;
    (*e)->next = NULL;

    if (++h->n > h->nb * 2) {
        vs_hash_grow(h);
    }

    return NULL;
}


static void *
vs_hash_del(vs_hash_t *h, const char *key)
{
    void      *val;
    vs_ent_t  **e, *x;

    if (h->n == 0) {
        return NULL;
    }

    e = vs_hash_slot(h, key);

    if (*e == NULL) {
        return NULL;
    }

    x = *e;
    *e = x->next;
    val = x->val;
    free(x->key);
    free(x);
    h->n--;

    return val;
}


#define vs_hash_each(h, i, e)                                               \
    for (i = 0; i < (h)->nb; i++)                                           \
        for (e = (h)->b[i]; e; e = e->next)


static void
vs_hash_clear(vs_hash_t *h, void (*f)(void *))
{
    size_t     i;
    vs_ent_t  *e, *next;

    for (i = 0; i < h->nb; i++) {
        for (e = h->b[i]; e; e = next) {
            next = e->next;
            if (f) {
                f(e->val);
            }
            free(e->key);
            free(e);
        }
    }

    free(h->b);
    h->b = NULL;
    h->nb = 0;
    h->n = 0;
}


static void
vs_member_free(void *p)
{
    vs_member_t  *m = p;

    free(m->user_id);
    free(m->org_id);
    free(m->roles);
    free(m);
}


static void
vs_mrole_free(void *p)
{
    vs_mrole_t  *mr = p;

    free(mr->membership_id);
    free(mr->role_id);
    free(mr);
}


static void
vs_org_free(void *p)
{
    vs_org_t  *o = p;

    free(o->slug);
    free(o);
}


vs_mirror_t *
vs_mirror_new(vs_redis_t *redis)
{
    vs_mirror_t  *mi;

    mi = vs_alloc(sizeof(vs_mirror_t));
    memset(mi, 0, sizeof(vs_mirror_t));
    mi->redis = redis;

    return mi;
}


void
vs_mirror_free(vs_mirror_t *mi)
{
    vs_mirror_abort(mi);
    vs_hash_clear(&mi->orgs, vs_org_free);
    vs_hash_clear(&mi->roles, free);
    vs_hash_clear(&mi->members, vs_member_free);
    vs_hash_clear(&mi->mroles, vs_mrole_free);
    vs_hash_clear(&mi->keys, free);

    vs_mirror_seen_free(mi);
    free(mi->cmds);
    free(mi->dirty);
    free(mi->gone_orgs);
    free(mi);
}


static void
vs_push(void ***a, size_t *n, size_t *cap, size_t size, const void *v)
{
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 64;
        *a = realloc(*a, *cap * size);
        if (*a == NULL) {
            vs_log("error", "out of memory");
            exit(VS_EXIT_FAIL);
        }
    }

    memcpy((char *) *a + *n * size, v, size);
    (*n)++;
}


/*
 * One Redis command: in a load it goes straight into the pipeline, in a
 * transaction into the list sent at commit.  The record's name is the
 * second argument.
 */
static void
vs_emit(vs_mirror_t *mi, int load, int argc, const char **argv)
{
    int       len;
    char     *cmd, *name;
    vs_cmd_t  c;

    if (load) {
        vs_redis_append(mi->redis, argc, argv, NULL);

        if (strcmp(argv[0], "HSET") == 0) {
            name = vs_strndup(argv[1], strlen(argv[1]));
            vs_push((void ***) &mi->seen, &mi->nseen, &mi->scap,
                    sizeof(char *), &name);
        }

        if (++mi->pending >= VS_FLUSH_EVERY) {
            (void) vs_redis_flush(mi->redis, NULL);
            mi->pending = 0;
        }

        return;
    }

    len = redisFormatCommandArgv(&cmd, argc, argv, NULL);
    if (len < 0) {
        vs_log("error", "out of memory");
        exit(VS_EXIT_FAIL);
    }

    c.cmd = cmd;
    c.len = len;
    vs_push((void ***) &mi->cmds, &mi->ncmds, &mi->ccap, sizeof(vs_cmd_t),
            &c);
}


static void
vs_del(vs_mirror_t *mi, char *name)
{
    const char  *argv[2];

    argv[0] = "DEL";
    argv[1] = name;
    vs_emit(mi, 0, 2, argv);
    free(name);
}


/*
 * A key or user record: the field value pairs are in argv[6..n), the
 * first six are this function's.  A load writes them with HSET and drops
 * the fast path's mark (the load is the newer state); the stream goes
 * through the guard script, which keeps a mark's refusal until the
 * marked transaction itself is applied (vs_fast.c).
 */
static void
vs_emit_guarded(vs_mirror_t *mi, int load, const char *name,
    const char *guarded, const char **argv, int n)
{
    char         xid[16];
    const char  *del[3];

    if (n <= 6) {
        return;
    }

    if (load) {
        argv[4] = "HSET";
        argv[5] = name;
        vs_emit(mi, 1, n - 4, argv + 4);

        del[0] = "HDEL";
        del[1] = name;
        del[2] = "sync_fast";
        vs_emit(mi, 1, 3, del);
        return;
    }

    snprintf(xid, sizeof(xid), "%u", mi->xid);

    argv[0] = "EVAL";
    argv[1] = vs_fast_guard_lua;
    argv[2] = "1";
    argv[3] = name;
    argv[4] = guarded;
    argv[5] = xid;
    vs_emit(mi, 0, n, argv);
}


static char *
vs_name(vs_mirror_t *mi, const char *kind, const char *a, const char *b)
{
    return b ? vs_sprintf("%s%s:%s:%s", mi->redis->prefix, kind, a, b)
             : vs_sprintf("%s%s:%s", mi->redis->prefix, kind, a);
}


static const char *
vs_bool(const char *v)
{
    return (v && v[0] == 't') ? "1" : "0";
}


/* timestamptz -> unix seconds; NULL -> "0" */
static void
vs_time(const vs_row_t *row, int col, int never_is_zero, char *out)
{
    int64_t  t;

    if (row->has[col] != VS_VAL) {
        strcpy(out, "0");
        return;
    }

    if (vs_parse_ts(row->v[col], strlen(row->v[col]), &t) != 0) {
        vs_log("warn", "unreadable timestamp \"%s\" taken as now",
               row->v[col]);
        t = vs_now_ms() / 1000;
    }

    if (t == INT64_MAX) {
        /* expires "infinity": never; revoked "infinity": still revoked */
        strcpy(out, never_is_zero ? "0" : "1");
        return;
    }

    if (t <= 0) {
        t = 1;
    }

    snprintf(out, 24, "%lld", (long long) t);
}


static void
vs_mark_dirty(vs_mirror_t *mi, const char *id, vs_member_t *m)
{
    char  *s;

    if (m == NULL || m->dirty) {
        return;
    }

    m->dirty = 1;
    s = vs_strndup(id, strlen(id));
    vs_push((void ***) &mi->dirty, &mi->ndirty, &mi->dcap, sizeof(char *),
            &s);
}


static void
vs_member_add_role(vs_member_t *m, vs_mrole_t *mr)
{
    vs_push((void ***) &m->roles, &m->nroles, &m->cap, sizeof(vs_mrole_t *),
            &mr);
}


static void
vs_member_drop_role(vs_member_t *m, vs_mrole_t *mr)
{
    size_t  i;

    for (i = 0; i < m->nroles; i++) {
        if (m->roles[i] == mr) {
            m->roles[i] = m->roles[--m->nroles];
            return;
        }
    }
}


/* the member record of a membership, as it is now */
static void
vs_member_write(vs_mirror_t *mi, int load, vs_member_t *m)
{
    size_t        i, n;
    char         *name, csv[512];
    const char   *codes[VS_MAX_ROLES], *argv[6], *code;
    vs_org_t     *o;

    o = vs_hash_get(&mi->orgs, m->org_id);
    if (o == NULL) {
        /* its org is gone or not seen yet: nothing to write under */
        return;
    }

    for (i = 0, n = 0; i < m->nroles && n < VS_MAX_ROLES; i++) {
        code = vs_hash_get(&mi->roles, m->roles[i]->role_id);
        if (code) {
            codes[n++] = code;
        }
    }

    if (vs_roles_csv(codes, n, csv, sizeof(csv)) < 0) {
        csv[0] = '\0';
    }

    name = vs_name(mi, "member", o->slug, m->user_id);

    argv[0] = "HSET";
    argv[1] = name;
    argv[2] = "is_active";
    argv[3] = m->active ? "1" : "0";
    argv[4] = "roles";
    argv[5] = csv;
    vs_emit(mi, load, 6, argv);

    free(name);
}


/* rows: the wanted columns of one row, from a query or a tuple */

static void
vs_row_free(vs_row_t *row)
{
    int  i;

    for (i = 0; i <= VS_MAX_COLS; i++) {
        free(row->v[i]);
        row->v[i] = NULL;
    }
}


static void
vs_row_tuple(vs_row_t *row, vs_rel_t *rel, vs_value_t *vals, int n)
{
    int  k, p;

    memset(row, 0, sizeof(vs_row_t));

    for (k = 0; k < VS_MAX_COLS; k++) {
        p = rel->pos[k];

        if (p < 0 || p >= n) {
            continue;
        }

        switch (vals[p].kind) {
        case 'n':
            row->has[k] = VS_NULL;
            break;
        case 't':
            row->has[k] = VS_VAL;
            row->v[k] = vs_strndup(vals[p].data, vals[p].len);
            break;
        default:
            break;
        }
    }
}


static void
vs_row_result(vs_row_t *row, PGresult *res, int r)
{
    int  k;

    memset(row, 0, sizeof(vs_row_t));

    for (k = 0; k < PQnfields(res) && k <= VS_MAX_COLS; k++) {
        if (PQgetisnull(res, r, k)) {
            row->has[k] = VS_NULL;

        } else {
            row->has[k] = VS_VAL;
            row->v[k] = vs_strndup(PQgetvalue(res, r, k),
                                   PQgetlength(res, r, k));
        }
    }
}


#define vs_val(row, k)  ((row)->has[k] == VS_VAL ? (row)->v[k] : NULL)


/* users_user: id is_active is_superuser email name */
static void
vs_user(vs_mirror_t *mi, int load, vs_row_t *row, int del)
{
    int          n;
    char        *name;
    const char  *argv[14];

    if (vs_val(row, 0) == NULL) {
        return;
    }

    name = vs_name(mi, "user", row->v[0], NULL);

    if (del) {
        vs_del(mi, name);
        return;
    }

    n = 6;

    if (row->has[1] != VS_ABSENT) {
        argv[n++] = "is_active";
        argv[n++] = vs_bool(vs_val(row, 1));
    }

    if (row->has[2] != VS_ABSENT) {
        argv[n++] = "is_superuser";
        argv[n++] = vs_bool(vs_val(row, 2));
    }

    if (row->has[3] != VS_ABSENT) {
        argv[n++] = "email";
        argv[n++] = vs_val(row, 3) ? row->v[3] : "";
    }

    if (row->has[4] != VS_ABSENT) {
        argv[n++] = "name";
        argv[n++] = vs_val(row, 4) ? row->v[4] : "";
    }

    vs_emit_guarded(mi, load, name, "is_active", argv, n);

    free(name);
}


/* users_organization: id slug name */
static void
vs_org(vs_mirror_t *mi, int load, vs_row_t *row, int del)
{
    int           n;
    size_t        i;
    char         *name, *old;
    vs_ent_t     *e;
    vs_org_t     *o;
    const char   *slug, *argv[6];
    vs_member_t  *m;

    if (vs_val(row, 0) == NULL) {
        return;
    }

    o = vs_hash_get(&mi->orgs, row->v[0]);
    slug = vs_val(row, 1) ? row->v[1] : (o ? o->slug : NULL);

    if (slug == NULL || slug[0] == '\0') {
        vs_log("warn", "organization %s has no slug: not mirrored",
               row->v[0]);
        return;
    }

    if (del) {
        vs_del(mi, vs_name(mi, "org", slug, NULL));

        name = vs_strndup(slug, strlen(slug));
        vs_push((void ***) &mi->gone_orgs, &mi->ngone, &mi->gcap,
                sizeof(char *), &name);

        vs_hash_each(&mi->members, i, e) {
            m = e->val;
            if (strcmp(m->org_id, row->v[0]) == 0) {
                vs_del(mi, vs_name(mi, "member", slug, m->user_id));
            }
        }

        o = vs_hash_del(&mi->orgs, row->v[0]);
        if (o) {
            vs_org_free(o);
        }

        return;
    }

    if (o && strcmp(o->slug, slug) != 0) {
        /* a slug changed in Django's admin: the records move */
        old = o->slug;
        vs_del(mi, vs_name(mi, "org", old, NULL));

        vs_hash_each(&mi->members, i, e) {
            m = e->val;
            if (strcmp(m->org_id, row->v[0]) == 0) {
                vs_del(mi, vs_name(mi, "member", old, m->user_id));
                vs_mark_dirty(mi, e->key, m);
            }
        }

        o->slug = vs_strndup(slug, strlen(slug));
        free(old);
        slug = o->slug;

    } else if (o == NULL) {
        o = vs_alloc(sizeof(vs_org_t));
        o->slug = vs_strndup(slug, strlen(slug));
        vs_hash_put(&mi->orgs, row->v[0], o);
        slug = o->slug;

        /* memberships seen before their org (a load, a replay) */
        if (!load) {
            vs_hash_each(&mi->members, i, e) {
                m = e->val;
                if (strcmp(m->org_id, row->v[0]) == 0) {
                    vs_mark_dirty(mi, e->key, m);
                }
            }
        }
    }

    name = vs_name(mi, "org", slug, NULL);
    argv[0] = "HSET";
    argv[1] = name;
    argv[2] = "status";
    argv[3] = "active";
    n = 4;

    if (row->has[2] != VS_ABSENT) {
        argv[n++] = "name";
        argv[n++] = vs_val(row, 2) ? row->v[2] : "";
    }

    vs_emit(mi, load, n, argv);
    free(name);
}


/* users_membership: id user_id org_id is_active */
static void
vs_member(vs_mirror_t *mi, int load, vs_row_t *row, int del)
{
    size_t        i;
    vs_ent_t     *e;
    vs_org_t     *o;
    vs_mrole_t   *mr;
    vs_member_t  *m;

    if (vs_val(row, 0) == NULL) {
        return;
    }

    m = vs_hash_get(&mi->members, row->v[0]);

    if (del) {
        if (m == NULL) {
            /* not known: the old row (REPLICA IDENTITY FULL) names it */
            if (vs_val(row, 1) && vs_val(row, 2)) {
                o = vs_hash_get(&mi->orgs, row->v[2]);
                if (o) {
                    vs_del(mi, vs_name(mi, "member", o->slug, row->v[1]));
                }
            }
            return;
        }

        o = vs_hash_get(&mi->orgs, m->org_id);
        if (o) {
            vs_del(mi, vs_name(mi, "member", o->slug, m->user_id));
        }

        for (i = 0; i < m->nroles; i++) {
            mi->orphans++;
        }

        vs_hash_del(&mi->members, row->v[0]);

        if (m->dirty) {
            /* vs_mirror_commit finds the id gone and skips it */
            m->dirty = 0;
        }

        vs_member_free(m);
        return;
    }

    if (vs_val(row, 1) == NULL || vs_val(row, 2) == NULL) {
        if (m == NULL) {
            return;
        }

    } else if (m == NULL) {
        m = vs_alloc(sizeof(vs_member_t));
        memset(m, 0, sizeof(vs_member_t));
        m->user_id = vs_strndup(row->v[1], strlen(row->v[1]));
        m->org_id = vs_strndup(row->v[2], strlen(row->v[2]));
        m->active = 1;
        vs_hash_put(&mi->members, row->v[0], m);

        if (mi->orphans) {
            vs_hash_each(&mi->mroles, i, e) {
                mr = e->val;
                if (strcmp(mr->membership_id, row->v[0]) == 0) {
                    vs_member_add_role(m, mr);
                    mi->orphans--;
                }
            }
        }

    } else if (strcmp(m->user_id, row->v[1]) != 0
               || strcmp(m->org_id, row->v[2]) != 0)
    {
        o = vs_hash_get(&mi->orgs, m->org_id);
        if (o) {
            vs_del(mi, vs_name(mi, "member", o->slug, m->user_id));
        }

        free(m->user_id);
        free(m->org_id);
        m->user_id = vs_strndup(row->v[1], strlen(row->v[1]));
        m->org_id = vs_strndup(row->v[2], strlen(row->v[2]));
    }

    if (row->has[3] != VS_ABSENT) {
        m->active = (vs_val(row, 3) && row->v[3][0] == 't');
    }

    if (!load) {
        vs_mark_dirty(mi, row->v[0], m);
    }
}


/* users_membershiprole: id membership_id role_id */
static void
vs_mrole(vs_mirror_t *mi, int load, vs_row_t *row, int del)
{
    vs_mrole_t   *mr;
    vs_member_t  *m;

    if (vs_val(row, 0) == NULL) {
        return;
    }

    mr = vs_hash_get(&mi->mroles, row->v[0]);

    if (mr) {
        m = vs_hash_get(&mi->members, mr->membership_id);

        if (m) {
            vs_member_drop_role(m, mr);
            vs_mark_dirty(mi, mr->membership_id, m);

        } else {
            mi->orphans--;
        }

        vs_hash_del(&mi->mroles, row->v[0]);
        vs_mrole_free(mr);
    }

    if (del) {
        if (mr == NULL && vs_val(row, 1)) {
            m = vs_hash_get(&mi->members, row->v[1]);
            vs_mark_dirty(mi, row->v[1], m);
        }
        return;
    }

    if (vs_val(row, 1) == NULL || vs_val(row, 2) == NULL) {
        return;
    }

    mr = vs_alloc(sizeof(vs_mrole_t));
    mr->membership_id = vs_strndup(row->v[1], strlen(row->v[1]));
    mr->role_id = vs_strndup(row->v[2], strlen(row->v[2]));
    vs_hash_put(&mi->mroles, row->v[0], mr);

    m = vs_hash_get(&mi->members, mr->membership_id);

    if (m == NULL) {
        mi->orphans++;
        return;
    }

    vs_member_add_role(m, mr);

    if (!load) {
        vs_mark_dirty(mi, mr->membership_id, m);
    }
}


/* users_role: id code */
static void
vs_role(vs_mirror_t *mi, int load, vs_row_t *row, int del)
{
    size_t        i, k;
    char         *old;
    vs_ent_t     *e;
    vs_member_t  *m;

    if (vs_val(row, 0) == NULL) {
        return;
    }

    if (!del && row->has[1] == VS_ABSENT) {
        return;
    }

    old = del ? vs_hash_del(&mi->roles, row->v[0])
              : vs_hash_put(&mi->roles, row->v[0],
                            vs_strndup(vs_val(row, 1) ? row->v[1] : "",
                                       vs_val(row, 1) ? strlen(row->v[1])
                                                      : 0));

    if (!load && (old == NULL || del || strcmp(old, row->v[1]) != 0)) {
        /* a code changed: every membership holding it changes */
        vs_hash_each(&mi->members, i, e) {
            m = e->val;
            for (k = 0; k < m->nroles; k++) {
                if (strcmp(m->roles[k]->role_id, row->v[0]) == 0) {
                    vs_mark_dirty(mi, e->key, m);
                    break;
                }
            }
        }
    }

    free(old);
}


/*
 * users_validibotapikey: id public_id user_id secret_digest
 * digest_version format_version label created expires_at revoked_at
 * rotated_from_id; a load adds the public id of rotated_from as 11.
 */
static void
vs_key(vs_mirror_t *mi, int load, vs_row_t *row, int del)
{
    int          n;
    char        *name, *old, created[24], expires[24], revoked[24];
    const char  *pid, *from, *argv[28];

    if (vs_val(row, 0) == NULL) {
        return;
    }

    old = vs_hash_get(&mi->keys, row->v[0]);
    pid = vs_val(row, 1) ? row->v[1] : old;

    if (del) {
        if (pid) {
            vs_del(mi, vs_name(mi, "key", pid, NULL));
        }

        free(vs_hash_del(&mi->keys, row->v[0]));
        return;
    }

    if (pid == NULL) {
        return;
    }

    if (old && strcmp(old, pid) != 0) {
        vs_del(mi, vs_name(mi, "key", old, NULL));
    }

    if (vs_val(row, 5) == NULL || strcmp(row->v[5], "1") != 0) {
        vs_log("warn", "key %s: format_version %s is not 1: skipped", pid,
               vs_val(row, 5) ? row->v[5] : "NULL");

        if (!load) {
            vs_del(mi, vs_name(mi, "key", pid, NULL));
        }

        free(vs_hash_del(&mi->keys, row->v[0]));
        return;
    }

    if (old == NULL || strcmp(old, pid) != 0) {
        free(vs_hash_put(&mi->keys, row->v[0], vs_strndup(pid, strlen(pid))));
        pid = vs_hash_get(&mi->keys, row->v[0]);
    }

    name = vs_name(mi, "key", pid, NULL);
    n = 6;

    if (row->has[2] != VS_ABSENT) {
        argv[n++] = "user";
        argv[n++] = vs_val(row, 2) ? row->v[2] : "";
    }

    if (row->has[3] != VS_ABSENT) {
        argv[n++] = "digest";
        argv[n++] = vs_val(row, 3) ? row->v[3] : "";
    }

    if (row->has[4] != VS_ABSENT) {
        argv[n++] = "digest_version";
        argv[n++] = vs_val(row, 4) ? row->v[4] : "";
    }

    if (row->has[6] != VS_ABSENT) {
        argv[n++] = "label";
        argv[n++] = vs_val(row, 6) ? row->v[6] : "";
    }

    if (row->has[7] != VS_ABSENT) {
        vs_time(row, 7, 1, created);
        argv[n++] = "created_at";
        argv[n++] = created;
    }

    if (row->has[8] != VS_ABSENT) {
        vs_time(row, 8, 1, expires);
        argv[n++] = "expires_at";
        argv[n++] = expires;
    }

    if (row->has[9] != VS_ABSENT) {
        vs_time(row, 9, 0, revoked);
        argv[n++] = "revoked_at";
        argv[n++] = revoked;
    }

    if (row->has[10] != VS_ABSENT) {
        from = "";

        if (row->has[11] == VS_VAL) {
            from = row->v[11];

        } else if (vs_val(row, 10)) {
            from = vs_hash_get(&mi->keys, row->v[10]);
            from = from ? from : "";
        }

        argv[n++] = "rotated_from";
        argv[n++] = from;
    }

    vs_emit_guarded(mi, load, name, "revoked_at", argv, n);
    free(name);
}


typedef void (*vs_apply_pt)(vs_mirror_t *mi, int load, vs_row_t *row,
    int del);

static const vs_apply_pt  vs_apply[VS_NTABLES] = {
    vs_user, vs_org, vs_member, vs_mrole, vs_role, vs_key
};


/*
 * A load: one row of "SELECT <vs_columns> FROM <table>".  "write": send
 * the records to Redis (a resync) or only remember (a restart, which
 * resumes the slot).
 */
void
vs_mirror_load_row(vs_mirror_t *mi, vs_table_e t, PGresult *res, int r,
    int write)
{
    vs_row_t  row;

    vs_row_result(&row, res, r);

    if (write) {
        vs_apply[t](mi, 1, &row, 0);

    } else {
        /* remembering only: the writes of the load are not sent */
        size_t  ncmds = mi->ncmds;

        vs_apply[t](mi, 0, &row, 0);

        while (mi->ncmds > ncmds) {
            free(mi->cmds[--mi->ncmds].cmd);
        }
    }

    vs_row_free(&row);
}


void
vs_mirror_load_done(vs_mirror_t *mi, int write)
{
    size_t     i;
    vs_ent_t  *e;

    if (write) {
        vs_hash_each(&mi->members, i, e) {
            vs_member_write(mi, 1, e->val);
        }

        (void) vs_redis_flush(mi->redis, NULL);
        mi->pending = 0;
    }

    vs_mirror_abort(mi);
}


static int
vs_strpcmp(const void *a, const void *b)
{
    return strcmp(*(char * const *) a, *(char * const *) b);
}


/* the record names a load wrote, sorted; the caller frees nothing */
size_t
vs_mirror_seen(vs_mirror_t *mi, char ***keys)
{
    qsort(mi->seen, mi->nseen, sizeof(char *), vs_strpcmp);
    *keys = mi->seen;

    return mi->nseen;
}


/* after the sweep: the names are not needed until the next load */
void
vs_mirror_seen_free(vs_mirror_t *mi)
{
    size_t  i;

    for (i = 0; i < mi->nseen; i++) {
        free(mi->seen[i]);
    }

    free(mi->seen);
    mi->seen = NULL;
    mi->nseen = 0;
    mi->scap = 0;
}


/* the transaction the next changes belong to (pgoutput's xid) */
void
vs_mirror_xid(vs_mirror_t *mi, uint32_t xid)
{
    mi->xid = xid;
}


/* a change from the stream: 'I', 'U' or 'D' */
int
vs_mirror_change(vs_mirror_t *mi, vs_rel_t *rel, char op, vs_value_t *oldv,
    int nold, vs_value_t *newv, int nnew)
{
    vs_row_t  row, orow;

    if (rel->table >= VS_NTABLES) {
        return 0;
    }

    if (op == 'D') {
        vs_row_tuple(&row, rel, oldv, nold);
        vs_apply[rel->table](mi, 0, &row, 1);
        vs_row_free(&row);
        return 0;
    }

    if (op == 'U' && oldv && nold
        && vs_tuple_same(rel, oldv, nold, newv, nnew))
    {
        /* only columns the records do not hold: last_used_at, modified */
        return 0;
    }

    vs_row_tuple(&row, rel, newv, nnew);

    if (op == 'U' && oldv && nold) {
        /* a changed primary key: the old record goes */
        vs_row_tuple(&orow, rel, oldv, nold);

        if (vs_val(&orow, 0) && vs_val(&row, 0)
            && strcmp(orow.v[0], row.v[0]) != 0)
        {
            vs_apply[rel->table](mi, 0, &orow, 1);
        }

        vs_row_free(&orow);
    }

    vs_apply[rel->table](mi, 0, &row, 0);
    vs_row_free(&row);

    return 0;
}


/*
 * The commit of a transaction: its writes, the memberships it touched,
 * and the applied position, in one MULTI/EXEC.  0 once Redis executed it.
 */
int
vs_mirror_commit(vs_mirror_t *mi, const char *lsn)
{
    int          rc;
    size_t       i, k;
    char        *state, now[24], *pat, cursor[32];
    redisReply  *rep, *keys;
    vs_member_t *m;

    for (i = 0; i < mi->ndirty; i++) {
        m = vs_hash_get(&mi->members, mi->dirty[i]);

        if (m && m->dirty) {
            m->dirty = 0;
            vs_member_write(mi, 0, m);
        }
    }

    /* member records of deleted orgs that the bridge did not know */
    for (i = 0; i < mi->ngone; i++) {
        pat = vs_sprintf("%smember:%s:*", mi->redis->prefix, mi->gone_orgs[i]);
        rep = NULL;
        strcpy(cursor, "0");

        do {
            if (rep) {
                snprintf(cursor, sizeof(cursor), "%s", rep->element[0]->str);
                freeReplyObject(rep);
            }

            rep = vs_redis_cmd(mi->redis, "SCAN %s MATCH %s COUNT 1000",
                               cursor, pat);

            if (rep == NULL || rep->type != REDIS_REPLY_ARRAY
                || rep->elements != 2)
            {
                free(pat);
                if (rep) {
                    freeReplyObject(rep);
                }
                vs_mirror_abort(mi);
                return -1;
            }

            keys = rep->element[1];

            for (k = 0; k < keys->elements; k++) {
                vs_del(mi, vs_strndup(keys->element[k]->str,
                                      keys->element[k]->len));
            }

        } while (strcmp(rep->element[0]->str, "0") != 0);

        freeReplyObject(rep);
        free(pat);
    }

    state = vs_sprintf("%ssync:state", mi->redis->prefix);
    snprintf(now, sizeof(now), "%lld", (long long) vs_now_ms());

    vs_redis_appendf(mi->redis, "MULTI");

    for (i = 0; i < mi->ncmds; i++) {
        if (mi->redis->c
            && redisAppendFormattedCommand(mi->redis->c, mi->cmds[i].cmd,
                                           mi->cmds[i].len) == REDIS_OK)
        {
            mi->redis->queued++;
        }
    }

    vs_redis_appendf(mi->redis, "HSET %s lsn %s applied_ms %s", state, lsn,
                     now);
    vs_redis_appendf(mi->redis, "EXEC");
    free(state);

    rc = vs_redis_flush(mi->redis, &rep);

    if (rc == 0 && (rep == NULL || rep->type != REDIS_REPLY_ARRAY)) {
        rc = -1;
    }

    if (rep) {
        freeReplyObject(rep);
    }

    vs_mirror_abort(mi);

    return rc;
}


/* forgets the transaction's writes (the memory keeps its changes) */
void
vs_mirror_abort(vs_mirror_t *mi)
{
    size_t        i;
    vs_member_t  *m;

    for (i = 0; i < mi->ncmds; i++) {
        free(mi->cmds[i].cmd);
    }

    for (i = 0; i < mi->ndirty; i++) {
        m = vs_hash_get(&mi->members, mi->dirty[i]);
        if (m) {
            m->dirty = 0;
        }
        free(mi->dirty[i]);
    }

    for (i = 0; i < mi->ngone; i++) {
        free(mi->gone_orgs[i]);
    }

    mi->ncmds = 0;
    mi->ndirty = 0;
    mi->ngone = 0;
}
