
/*
 * Copyright (C) The ngx_http_validibot_module authors
 *
 * validibot-sync: pure decoding of the logical replication messages of
 * pgoutput, protocol version 2 (PostgreSQL's "Logical Replication Message
 * Formats"), the tables and columns the bridge reads, PostgreSQL's
 * timestamptz text and the roles field.  No I/O, no allocation.
 */


#include <stdlib.h>
#include <string.h>

#include "vs_pgoutput.h"


const char  *vs_table_names[VS_NTABLES] = {
    "users_user", "users_organization", "users_membership",
    "users_membershiprole", "users_role", "users_validibotapikey"
};

/* the columns read, by name: Relation messages give their positions */
const char  *vs_columns[VS_NTABLES][VS_MAX_COLS] = {
    { "id", "is_active", "is_superuser", "email", "name", NULL },
    { "id", "slug", "name", NULL },
    { "id", "user_id", "org_id", "is_active", NULL },
    { "id", "membership_id", "role_id", NULL },
    { "id", "code", NULL },
    { "id", "public_id", "user_id", "secret_digest", "digest_version",
      "format_version", "label", "created", "expires_at", "revoked_at",
      "rotated_from_id", NULL }
};

/*
 * Deletes of these must carry more than the primary key: a key's public
 * id, a membership's org and user, a role row's membership, an org's slug.
 */
const int  vs_full_identity[VS_NTABLES] = { 0, 1, 1, 1, 0, 1 };


typedef struct {
    const unsigned char  *p;
    const unsigned char  *end;
    int                   bad;
} vs_buf_t;


static uint64_t
vs_get(vs_buf_t *b, int n)
{
    uint64_t  v;

    if (b->end - b->p < n) {
        b->bad = 1;
        b->p = b->end;
        return 0;
    }

    for (v = 0; n; n--) {
        v = (v << 8) | *b->p++;
    }

    return v;
}


static const char *
vs_get_str(vs_buf_t *b)
{
    const unsigned char  *s, *z;

    s = b->p;
    z = memchr(s, '\0', b->end - s);

    if (z == NULL) {
        b->bad = 1;
        b->p = b->end;
        return "";
    }

    b->p = z + 1;
    return (const char *) s;
}


/*
 * A tuple: Int16 count, then per column 'n', 'u', or 't' Int32 + bytes.
 * Returns the bytes it took, -1 when malformed.
 */
static long
vs_tuple_len(const unsigned char *p, size_t len)
{
    int        n, i;
    uint32_t   l;
    vs_buf_t   b;

    b.p = p;
    b.end = p + len;
    b.bad = 0;

    n = (int) vs_get(&b, 2);

    for (i = 0; i < n && !b.bad; i++) {
        switch (vs_get(&b, 1)) {
        case 'n':
        case 'u':
            break;
        case 't':
        case 'b':
            l = (uint32_t) vs_get(&b, 4);
            if ((size_t) (b.end - b.p) < l) {
                return -1;
            }
            b.p += l;
            break;
        default:
            return -1;
        }
    }

    return b.bad ? -1 : (long) (b.p - p);
}


int
vs_tuple(const unsigned char *p, size_t len, vs_value_t *vals, int max,
    int *n)
{
    int       i, k;
    char      kind;
    uint32_t  l;
    vs_buf_t  b;

    b.p = p;
    b.end = p + len;
    b.bad = 0;

    k = (int) vs_get(&b, 2);

    for (i = 0; i < k && !b.bad; i++) {
        kind = (char) vs_get(&b, 1);

        if (i < max) {
            vals[i].kind = kind;
            vals[i].data = NULL;
            vals[i].len = 0;
        }

        switch (kind) {
        case 'n':
        case 'u':
            break;
        case 't':
            l = (uint32_t) vs_get(&b, 4);
            if ((size_t) (b.end - b.p) < l) {
                return -1;
            }
            if (i < max) {
                vals[i].data = (const char *) b.p;
                vals[i].len = l;
            }
            b.p += l;
            break;
        default:
            /* 'b' (binary) is never asked for */
            return -1;
        }
    }

    if (b.bad) {
        return -1;
    }

    *n = k < max ? k : max;
    return 0;
}


/*
 * Decodes one message.  "streaming": inside a Stream Start/Stop block,
 * where data messages carry the (sub)transaction id first.  Returns 0, or
 * -1 when the message is malformed.
 */
int
vs_decode(const unsigned char *p, size_t len, int streaming, vs_msg_t *m)
{
    char      c;
    long      l;
    vs_buf_t  b;

    memset(m, 0, sizeof(vs_msg_t));

    if (len == 0) {
        return -1;
    }

    b.p = p + 1;
    b.end = p + len;
    b.bad = 0;
    m->type = (char) p[0];

    switch (m->type) {

    case 'B':
        m->lsn = vs_get(&b, 8);
        m->ts = (int64_t) vs_get(&b, 8);
        m->xid = (uint32_t) vs_get(&b, 4);
        break;

    case 'C':
        (void) vs_get(&b, 1);
        (void) vs_get(&b, 8);
        m->lsn = vs_get(&b, 8);
        m->ts = (int64_t) vs_get(&b, 8);
        break;

    case 'S':
        m->xid = (uint32_t) vs_get(&b, 4);
        (void) vs_get(&b, 1);
        break;

    case 'E':
        break;

    case 'c':
        m->xid = (uint32_t) vs_get(&b, 4);
        (void) vs_get(&b, 1);
        (void) vs_get(&b, 8);
        m->lsn = vs_get(&b, 8);
        m->ts = (int64_t) vs_get(&b, 8);
        break;

    case 'A':
        m->xid = (uint32_t) vs_get(&b, 4);
        m->subxid = (uint32_t) vs_get(&b, 4);
        break;

    case 'R':
        if (streaming) {
            m->xid = (uint32_t) vs_get(&b, 4);
        }
        m->relid = (uint32_t) vs_get(&b, 4);
        m->nspname = vs_get_str(&b);
        m->relname = vs_get_str(&b);
        m->identity = (char) vs_get(&b, 1);
        m->ncols = (int) vs_get(&b, 2);
        m->cols = b.p;
        m->newlen = b.end - b.p;
        break;

    case 'I':
    case 'U':
    case 'D':
        if (streaming) {
            m->xid = (uint32_t) vs_get(&b, 4);
        }
        m->relid = (uint32_t) vs_get(&b, 4);
        c = (char) vs_get(&b, 1);

        if (c == 'K' || c == 'O') {
            if (m->type == 'I') {
                return -1;
            }
            l = vs_tuple_len(b.p, b.end - b.p);
            if (l < 0) {
                return -1;
            }
            m->oldtup = b.p;
            m->oldlen = l;
            b.p += l;

            if (m->type == 'D') {
                break;
            }

            c = (char) vs_get(&b, 1);
        }

        if (m->type == 'D' || c != 'N') {
            return -1;
        }

        l = vs_tuple_len(b.p, b.end - b.p);
        if (l < 0) {
            return -1;
        }
        m->newtup = b.p;
        m->newlen = l;
        b.p += l;
        break;

    case 'T':
        if (streaming) {
            m->xid = (uint32_t) vs_get(&b, 4);
        }
        m->nrels = (uint32_t) vs_get(&b, 4);
        break;

    case 'Y':
    case 'O':
    case 'M':
        /* types, origins and logical messages do not concern the bridge */
        break;

    default:
        return -1;
    }

    return b.bad ? -1 : 0;
}


vs_table_e
vs_table_of(const char *nspname, const char *relname)
{
    int  i;

    (void) nspname;

    for (i = 0; i < VS_NTABLES; i++) {
        if (strcmp(relname, vs_table_names[i]) == 0) {
            return (vs_table_e) i;
        }
    }

    return VS_OTHER;
}


/* the Relation message's column list: the wanted columns by name */
int
vs_rel_columns(const vs_msg_t *m, vs_table_e table, vs_rel_t *rel)
{
    int          i, k;
    const char  *name;
    vs_buf_t     b;

    rel->oid = m->relid;
    rel->table = table;
    rel->ncols = m->ncols;
    rel->identity = m->identity;

    for (k = 0; k < VS_MAX_COLS; k++) {
        rel->pos[k] = -1;
    }

    b.p = m->cols;
    b.end = m->cols + m->newlen;
    b.bad = 0;

    for (i = 0; i < m->ncols && !b.bad; i++) {
        (void) vs_get(&b, 1);
        name = vs_get_str(&b);
        (void) vs_get(&b, 8);

        if (table == VS_OTHER) {
            continue;
        }

        for (k = 0; k < VS_MAX_COLS && vs_columns[table][k]; k++) {
            if (strcmp(name, vs_columns[table][k]) == 0) {
                rel->pos[k] = i;
            }
        }
    }

    return b.bad ? -1 : 0;
}


static int
vs_num(const char **p, const char *end, int n, int *v)
{
    *v = 0;

    for ( /* void */ ; n; n--) {
        if (*p == end || **p < '0' || **p > '9') {
            return -1;
        }
        *v = *v * 10 + (*(*p)++ - '0');
    }

    return 0;
}


/*
 * timestamptz as PostgreSQL writes it with DateStyle ISO (the bridge sets
 * it): "2026-12-02 02:01:25.123456+00", offsets "+05:30" and "-08:00:00"
 * too; "infinity" and "-infinity".  Unix seconds, fraction dropped.
 */
int
vs_parse_ts(const char *p, size_t len, int64_t *t)
{
    int          y, mo, d, h, mi, s, oh, om, os, sign, era, yoe, doy;
    int64_t      days;
    const char  *end;

    end = p + len;

    if (len == 8 && memcmp(p, "infinity", 8) == 0) {
        *t = INT64_MAX;
        return 0;
    }

    if (len == 9 && memcmp(p, "-infinity", 9) == 0) {
        *t = INT64_MIN;
        return 0;
    }

    if (vs_num(&p, end, 4, &y) || p == end || *p++ != '-'
        || vs_num(&p, end, 2, &mo) || p == end || *p++ != '-'
        || vs_num(&p, end, 2, &d) || p == end || (*p != ' ' && *p != 'T'))
    {
        return -1;
    }

    p++;

    if (vs_num(&p, end, 2, &h) || p == end || *p++ != ':'
        || vs_num(&p, end, 2, &mi) || p == end || *p++ != ':'
        || vs_num(&p, end, 2, &s))
    {
        return -1;
    }

    if (p < end && *p == '.') {
        for (p++; p < end && *p >= '0' && *p <= '9'; p++) { /* void */ }
    }

    oh = om = os = 0;
    sign = 1;

    if (p < end && (*p == '+' || *p == '-')) {
        sign = (*p++ == '-') ? -1 : 1;

        if (vs_num(&p, end, 2, &oh)) {
            return -1;
        }

        if (p < end && *p == ':') {
            p++;
            if (vs_num(&p, end, 2, &om)) {
                return -1;
            }
        }

        if (p < end && *p == ':') {
            p++;
            if (vs_num(&p, end, 2, &os)) {
                return -1;
            }
        }

    } else if (p < end && *p == 'Z') {
        p++;
    }

    if (p != end || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23
        || mi > 59 || s > 60)
    {
        return -1;
    }

    /* days from the civil date (H. Hinnant's algorithm) */
    y -= mo <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (mo > 2 ? mo - 3 : mo + 9) + 2) / 5 + d - 1;
    days = (int64_t) era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy
           - 719468;

    *t = days * 86400 + h * 3600 + mi * 60 + s
         - sign * (oh * 3600 + om * 60 + os);

    return 0;
}


static int
vs_strcmp(const void *a, const void *b)
{
    return strcmp((const char *) a, (const char *) b);
}


/*
 * Validibot's role codes (OWNER, EXECUTOR, ...) as the module reads them:
 * lowercased, deduplicated, sorted, comma-separated.  Codes longer than
 * 32 bytes (Validibot's column) are dropped.  Returns the length, -1 when
 * "out" is too small.
 */
int
vs_roles_csv(const char **codes, size_t n, char *out, size_t size)
{
    size_t  i, k, len, l;
    char    low[VS_MAX_ROLES][33];

    for (i = 0, k = 0; i < n && k < VS_MAX_ROLES; i++) {
        l = strlen(codes[i]);

        if (l == 0 || l > 32) {
            continue;
        }

        for (l = 0; codes[i][l]; l++) {
            low[k][l] = (codes[i][l] >= 'A' && codes[i][l] <= 'Z')
                        ? codes[i][l] + 32 : codes[i][l];
        }

        low[k++][l] = '\0';
    }

    qsort(low, k, sizeof(low[0]), vs_strcmp);

    if (size == 0) {
        return -1;
    }

    len = 0;

    for (i = 0; i < k; i++) {
        if (i && strcmp(low[i], low[i - 1]) == 0) {
            continue;
        }

        l = strlen(low[i]);

        if (len + l + 2 > size) {
            return -1;
        }

        if (len) {
            out[len++] = ',';
        }

        memcpy(out + len, low[i], l);
        len += l;
    }

    out[len] = '\0';

    return (int) len;
}


/*
 * An UPDATE whose old tuple (REPLICA IDENTITY FULL) and new tuple agree
 * on every column the bridge maps: Validibot bumping last_used_at on a
 * key.  Such a row is not written again (a write would, among others,
 * invalidate every gateway's cached decisions for the key).  A value the
 * new tuple sends as unchanged TOAST is the same; an old one that is
 * not there, or unchanged TOAST against a value, is not known to be.
 */
int
vs_tuple_same(const vs_rel_t *rel, const vs_value_t *oldv, int nold,
    const vs_value_t *newv, int nnew)
{
    int                p, k;
    const vs_value_t  *o, *n;

    for (k = 0; k < VS_MAX_COLS; k++) {
        p = rel->pos[k];

        if (p < 0) {
            continue;
        }

        if (p >= nold || p >= nnew) {
            return 0;
        }

        o = &oldv[p];
        n = &newv[p];

        if (n->kind == 'u') {
            continue;
        }

        if (o->kind != n->kind) {
            return 0;
        }

        if (n->kind == 't'
            && (o->len != n->len || memcmp(o->data, n->data, n->len) != 0))
        {
            return 0;
        }
    }

    return 1;
}


/*
 * The payload of the fast path's NOTIFY, as the trigger validibot-sync
 * setup installs writes it: "key <public_id> <xid>" (a key revoked or
 * deleted) or "user <id> <xid>" (a user deactivated or deleted); the xid
 * is txid_current() modulo 2^32, which is what pgoutput calls the
 * transaction.  The id is cut out in place.  -1: not one of these.
 */
int
vs_fast_parse(char *payload, vs_fast_t *f)
{
    char      *p, *id;
    size_t     len;
    uint64_t   xid;

    if (strncmp(payload, "key ", 4) == 0) {
        f->kind = VS_FAST_KEY;
        p = payload + 4;

    } else if (strncmp(payload, "user ", 5) == 0) {
        f->kind = VS_FAST_USER;
        p = payload + 5;

    } else {
        return -1;
    }

    id = p;

    while (*p && *p != ' ') {
        p++;
    }

    len = p - id;

    if (len == 0 || len > 64 || *p != ' ') {
        return -1;
    }

    if (f->kind == VS_FAST_KEY) {
        for (p = id; p < id + len; p++) {
            if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f'))) {
                return -1;
            }
        }

    } else {
        for (p = id; p < id + len; p++) {
            if (*p < '0' || *p > '9') {
                return -1;
            }
        }
    }

    p = id + len + 1;
    xid = 0;

    if (*p == '\0') {
        return -1;
    }

    for ( /* void */ ; *p; p++) {
        if (*p < '0' || *p > '9') {
            return -1;
        }

        xid = xid * 10 + (*p - '0');

        if (xid > UINT32_MAX) {
            return -1;
        }
    }

    id[len] = '\0';
    f->id = id;
    f->len = len;
    f->xid = (uint32_t) xid;

    return 0;
}
