
/*
 * Copyright (C) The ngx_http_validibot_module authors
 *
 * validibot-sync's pure parts (tools/sync/vs_pgoutput.c): pgoutput
 * protocol 2 messages built here byte by byte from PostgreSQL's "Logical
 * Replication Message Formats", columns found by name, timestamptz text,
 * the roles field.
 */


#include <stdlib.h>

#include "tap.h"
#include "vs_pgoutput.h"


typedef struct {
    unsigned char  b[1024];
    size_t         n;
} buf_t;


static void
put(buf_t *b, uint64_t v, int bytes)
{
    while (bytes--) {
        b->b[b->n++] = (unsigned char) (v >> (bytes * 8));
    }
}


static void
puts_(buf_t *b, const char *s)
{
    size_t  l = strlen(s) + 1;

    memcpy(b->b + b->n, s, l);
    b->n += l;
}


static void
text(buf_t *b, const char *s)
{
    put(b, 't', 1);
    put(b, strlen(s), 4);
    memcpy(b->b + b->n, s, strlen(s));
    b->n += strlen(s);
}


/* a Relation message for users_validibotapikey, columns in an odd order */
static void
relation(buf_t *b, int streamed)
{
    size_t       i;
    const char  *cols[] = { "secret_digest", "id", "extra", "public_id",
                            "user_id", "revoked_at" };

    b->n = 0;
    put(b, 'R', 1);
    if (streamed) {
        put(b, 777, 4);
    }
    put(b, 16400, 4);
    puts_(b, "public");
    puts_(b, "users_validibotapikey");
    put(b, 'f', 1);
    put(b, 6, 2);

    for (i = 0; i < 6; i++) {
        put(b, i == 1, 1);
        puts_(b, cols[i]);
        put(b, 25, 4);
        put(b, (uint32_t) -1, 4);
    }
}


static void
test_messages(void)
{
    int         n;
    buf_t       b;
    vs_msg_t    m;
    vs_rel_t    rel;
    vs_value_t  v[8];

    b.n = 0;
    put(&b, 'B', 1);
    put(&b, 0x100000200ULL, 8);
    put(&b, 12345, 8);
    put(&b, 901, 4);
    ok(vs_decode(b.b, b.n, 0, &m) == 0 && m.type == 'B'
       && m.lsn == 0x100000200ULL && m.xid == 901, "Begin");
    ok(vs_decode(b.b, b.n - 1, 0, &m) == -1, "Begin cut short: refused");

    b.n = 0;
    put(&b, 'C', 1);
    put(&b, 0, 1);
    put(&b, 0x10, 8);
    put(&b, 0x20, 8);
    put(&b, 99, 8);
    ok(vs_decode(b.b, b.n, 0, &m) == 0 && m.type == 'C' && m.lsn == 0x20,
       "Commit: the end LSN");

    relation(&b, 0);
    ok(vs_decode(b.b, b.n, 0, &m) == 0 && m.type == 'R' && m.relid == 16400
       && strcmp(m.relname, "users_validibotapikey") == 0
       && m.identity == 'f' && m.ncols == 6, "Relation");
    ok(vs_table_of(m.nspname, m.relname) == VS_KEY, "the key table");
    ok(vs_table_of("public", "users_userx") == VS_OTHER, "another table");
    ok(vs_rel_columns(&m, VS_KEY, &rel) == 0, "Relation columns");
    ok(rel.pos[0] == 1 && rel.pos[1] == 3 && rel.pos[2] == 4
       && rel.pos[3] == 0 && rel.pos[9] == 5 && rel.pos[4] == -1,
       "columns mapped by name, not position");

    relation(&b, 1);
    ok(vs_decode(b.b, b.n, 1, &m) == 0 && m.xid == 777 && m.relid == 16400,
       "Relation in a streamed block carries the xid");

    /* Insert: secret_digest, id, extra (null), public_id, user_id, TOAST */
    b.n = 0;
    put(&b, 'I', 1);
    put(&b, 16400, 4);
    put(&b, 'N', 1);
    put(&b, 6, 2);
    text(&b, "dd");
    text(&b, "uuid-1");
    put(&b, 'n', 1);
    text(&b, "0123456789abcdef0123456789abcdef");
    text(&b, "42");
    put(&b, 'u', 1);
    ok(vs_decode(b.b, b.n, 0, &m) == 0 && m.type == 'I' && m.newtup
       && m.oldtup == NULL, "Insert");
    ok(vs_tuple(m.newtup, m.newlen, v, 8, &n) == 0 && n == 6, "its tuple");
    ok(v[0].kind == 't' && v[0].len == 2 && memcmp(v[0].data, "dd", 2) == 0
       && v[2].kind == 'n' && v[5].kind == 'u' && v[4].len == 2,
       "text, null and unchanged-TOAST values");
    ok(vs_decode(b.b, b.n - 3, 0, &m) == -1, "a cut tuple is refused");

    /* Update with the old row (REPLICA IDENTITY FULL) */
    b.n = 0;
    put(&b, 'U', 1);
    put(&b, 16400, 4);
    put(&b, 'O', 1);
    put(&b, 1, 2);
    text(&b, "old");
    put(&b, 'N', 1);
    put(&b, 1, 2);
    text(&b, "new");
    ok(vs_decode(b.b, b.n, 0, &m) == 0 && m.oldtup && m.newtup,
       "Update with the old row");
    ok(vs_tuple(m.oldtup, m.oldlen, v, 8, &n) == 0 && n == 1
       && memcmp(v[0].data, "old", 3) == 0, "the old row");

    /* Delete, streamed */
    b.n = 0;
    put(&b, 'D', 1);
    put(&b, 778, 4);
    put(&b, 16400, 4);
    put(&b, 'K', 1);
    put(&b, 1, 2);
    text(&b, "k");
    ok(vs_decode(b.b, b.n, 1, &m) == 0 && m.type == 'D' && m.xid == 778
       && m.oldtup && m.newtup == NULL, "streamed Delete: xid, old key");
    ok(vs_decode(b.b, b.n, 0, &m) == -1,
       "the same bytes outside a stream do not parse");

    b.n = 0;
    put(&b, 'S', 1);
    put(&b, 555, 4);
    put(&b, 1, 1);
    ok(vs_decode(b.b, b.n, 0, &m) == 0 && m.type == 'S' && m.xid == 555,
       "Stream Start");

    b.n = 0;
    put(&b, 'c', 1);
    put(&b, 555, 4);
    put(&b, 0, 1);
    put(&b, 0x30, 8);
    put(&b, 0x40, 8);
    put(&b, 7, 8);
    ok(vs_decode(b.b, b.n, 0, &m) == 0 && m.xid == 555 && m.lsn == 0x40,
       "Stream Commit: xid and end LSN");

    b.n = 0;
    put(&b, 'A', 1);
    put(&b, 555, 4);
    put(&b, 556, 4);
    ok(vs_decode(b.b, b.n, 0, &m) == 0 && m.xid == 555 && m.subxid == 556,
       "Stream Abort: xid and subxid");

    b.n = 0;
    put(&b, 'T', 1);
    put(&b, 2, 4);
    put(&b, 0, 1);
    put(&b, 16400, 4);
    put(&b, 16401, 4);
    ok(vs_decode(b.b, b.n, 0, &m) == 0 && m.nrels == 2, "Truncate");

    b.n = 0;
    put(&b, 'Z', 1);
    ok(vs_decode(b.b, b.n, 0, &m) == -1, "an unknown message is refused");
    ok(vs_decode(b.b, 0, 0, &m) == -1, "an empty message is refused");

    b.n = 0;
    put(&b, 1, 2);
    put(&b, 'b', 1);
    put(&b, 1, 4);
    put(&b, 0, 1);
    ok(vs_tuple(b.b, b.n, v, 8, &n) == -1, "binary values are refused");
}


static void
test_timestamps(void)
{
    int64_t  t;

#define TS(s, want)                                                        \
    ok(vs_parse_ts(s, sizeof(s) - 1, &t) == 0 && t == (want), "%s", s)

    TS("1970-01-01 00:00:00+00", 0);
    TS("2026-12-02 02:01:25.123456+00", 1796176885LL);
    TS("2026-12-02 02:01:25+00", 1796176885LL);
    TS("2026-12-02 07:31:25.5+05:30", 1796176885LL);
    TS("2026-12-01 18:01:25-08", 1796176885LL);
    TS("2026-12-01 18:01:25-08:00:00", 1796176885LL);
    TS("2000-02-29 06:30:00+00", 951805800LL);
    TS("1999-12-31 23:59:59+00", 946684799LL);
    TS("2026-12-02T02:01:25Z", 1796176885LL);
    TS("infinity", INT64_MAX);
    TS("-infinity", INT64_MIN);

#define BAD(s)  ok(vs_parse_ts(s, sizeof(s) - 1, &t) == -1, "refused: %s", s)

    BAD("");
    BAD("2026-13-01 00:00:00+00");
    BAD("2026-12-02 24:00:00+00");
    BAD("2026-12-02 02:01:25+0");
    BAD("2026-12-02 02:01:25 junk");
    BAD("12/02/2026 02:01:25");
    BAD("1796176885");
}


static void
test_roles(void)
{
    char         out[128];
    const char  *a[] = { "EXECUTOR", "AUTHOR", "EXECUTOR" };
    const char  *b[] = { "VALIDATION_RESULTS_VIEWER", "ANALYTICS_VIEWER",
                         "ADMIN", "ANALYTICS" };
    const char  *c[] = { "OWNER", "" };

    ok(vs_roles_csv(a, 3, out, sizeof(out)) == 15
       && strcmp(out, "author,executor") == 0,
       "lowercased, deduplicated, sorted");
    ok(vs_roles_csv(b, 4, out, sizeof(out)) > 0
       && strcmp(out, "admin,analytics,analytics_viewer,"
                      "validation_results_viewer") == 0,
       "sorted as the module reads them (after lowercasing)");
    ok(vs_roles_csv(c, 2, out, sizeof(out)) == 5 && strcmp(out, "owner") == 0,
       "an empty code is dropped");
    ok(vs_roles_csv(a, 0, out, sizeof(out)) == 0 && out[0] == '\0',
       "no roles: empty");
    ok(vs_roles_csv(a, 3, out, 8) == -1, "too small: -1");
}


#define V(s)  { 't', s, sizeof(s) - 1 }


static void
test_same(void)
{
    int         k;
    vs_rel_t    rel;
    vs_value_t  o[4] = { V("k1"), V("2026-12-02 05:00:00+00"), V("abc"),
                         { 'n', NULL, 0 } };
    vs_value_t  n[4] = { V("k1"), V("2026-12-02 06:00:00+00"), V("abc"),
                         { 'n', NULL, 0 } };

    /* mapped: columns 0, 2 and 3; column 1 is last_used_at */
    memset(&rel, 0, sizeof(rel));
    for (k = 0; k < VS_MAX_COLS; k++) {
        rel.pos[k] = -1;
    }
    rel.pos[0] = 0;
    rel.pos[1] = 2;
    rel.pos[2] = 3;

    ok(vs_tuple_same(&rel, o, 4, n, 4),
       "only an unmapped column changed: same");

    n[2] = (vs_value_t) V("abd");
    ok(!vs_tuple_same(&rel, o, 4, n, 4), "a mapped value changed");

    n[2] = (vs_value_t) V("abcd");
    ok(!vs_tuple_same(&rel, o, 4, n, 4), "a mapped value grew");

    n[2] = (vs_value_t) { 'u', NULL, 0 };
    ok(vs_tuple_same(&rel, o, 4, n, 4), "new unchanged TOAST: same");

    n[2] = (vs_value_t) V("abc");
    o[2] = (vs_value_t) { 'u', NULL, 0 };
    ok(!vs_tuple_same(&rel, o, 4, n, 4),
       "old unchanged TOAST against a value: not known to be the same");

    o[2] = (vs_value_t) V("abc");
    n[3] = (vs_value_t) V("2026-12-02 06:00:00+00");
    ok(!vs_tuple_same(&rel, o, 4, n, 4), "NULL to a value: changed");

    n[3] = (vs_value_t) { 'n', NULL, 0 };
    ok(!vs_tuple_same(&rel, o, 3, n, 4), "an old tuple too short: changed");
}


static void
test_fast(void)
{
    char       buf[128];
    vs_fast_t  f;

#define FAST(s)  (strcpy(buf, s), vs_fast_parse(buf, &f))

    ok(FAST("key 0123456789abcdef0123456789abcdef 4294967295") == 0
       && f.kind == VS_FAST_KEY && f.len == 32
       && strcmp(f.id, "0123456789abcdef0123456789abcdef") == 0
       && f.xid == 4294967295u, "a key, the largest xid");
    ok(FAST("user 42 731") == 0 && f.kind == VS_FAST_USER
       && strcmp(f.id, "42") == 0 && f.xid == 731, "a user");
    ok(FAST("key 0123 4294967296") == -1, "xid over 32 bits");
    ok(FAST("key 0123 12x") == -1, "xid not a number");
    ok(FAST("key 0123 ") == -1, "no xid");
    ok(FAST("key 0123") == -1, "no space, no xid");
    ok(FAST("key  12") == -1, "no id");
    ok(FAST("key 01G3 12") == -1, "a public id not in lowercase hex");
    ok(FAST("user 4a 12") == -1, "a user id not a number");
    ok(FAST("org acme 12") == -1, "another kind");
    ok(FAST("key 0123 12 13") == -1, "trailing words");
}


int
main(void)
{
    test_messages();
    test_timestamps();
    test_roles();
    test_same();
    test_fast();

    return tap_done();
}
