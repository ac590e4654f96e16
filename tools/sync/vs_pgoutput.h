
/*
 * Copyright (C) The ngx_http_validibot_module authors
 *
 * validibot-sync: the pure parts (no I/O, no allocation), unit-tested in
 * t/unit/test_sync.c: pgoutput protocol 2 messages, Validibot's tables
 * and columns, timestamptz text, the roles field.
 */


#ifndef _VS_PGOUTPUT_H_INCLUDED_
#define _VS_PGOUTPUT_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>


/* the six tables, by the name Django gives them */
typedef enum {
    VS_USER = 0,
    VS_ORG,
    VS_MEMBER,
    VS_MROLE,
    VS_ROLE,
    VS_KEY,
    VS_NTABLES,
    VS_OTHER = VS_NTABLES
} vs_table_e;


/* the columns the bridge reads, per table, in the order of vs_columns */
#define VS_MAX_COLS  12
#define VS_MAX_ROLES 64          /* role rows per membership */

extern const char  *vs_table_names[VS_NTABLES];
extern const char  *vs_columns[VS_NTABLES][VS_MAX_COLS];
extern const int    vs_full_identity[VS_NTABLES];


/* one column value of a decoded tuple */
typedef struct {
    char          kind;       /* 'n' null, 'u' unchanged TOAST, 't' text */
    const char   *data;       /* 't': points into the message; not NUL-
                                 terminated */
    uint32_t      len;
} vs_value_t;


/* a Relation message, with the wanted columns' positions */
typedef struct {
    uint32_t      oid;
    vs_table_e    table;
    int           ncols;
    int           pos[VS_MAX_COLS];    /* -1: column absent */
    char          identity;            /* 'd' 'f' 'n' 'i' */
} vs_rel_t;


typedef struct {
    char          type;       /* B C R I U D T S E c A Y O M */
    uint32_t      xid;        /* in streamed blocks, and S c A */
    uint32_t      subxid;     /* A */
    uint64_t      lsn;        /* B: final, C c: end */
    int64_t       ts;         /* B C c: commit time, us since 2000 */
    uint32_t      relid;      /* R I U D */

    /* R */
    const char   *nspname;
    const char   *relname;
    char          identity;
    int           ncols;
    const unsigned char  *cols;        /* the column list, undecoded */

    /* I U D: new and old tuples, undecoded */
    const unsigned char  *newtup;
    const unsigned char  *oldtup;
    size_t                newlen, oldlen;

    /* T */
    uint32_t      nrels;
} vs_msg_t;

int vs_decode(const unsigned char *p, size_t len, int streaming,
    vs_msg_t *m);
int vs_rel_columns(const vs_msg_t *m, vs_table_e table, vs_rel_t *rel);
int vs_tuple(const unsigned char *p, size_t len, vs_value_t *vals,
    int max, int *n);
vs_table_e vs_table_of(const char *nspname, const char *relname);
int vs_parse_ts(const char *p, size_t len, int64_t *t);
int vs_roles_csv(const char **codes, size_t n, char *out, size_t size);
int vs_tuple_same(const vs_rel_t *rel, const vs_value_t *oldv, int nold,
    const vs_value_t *newv, int nnew);


/* a notification of the fast path (vs_fast.c): "key <public_id> <xid>" */
typedef enum {
    VS_FAST_KEY = 0,
    VS_FAST_USER
} vs_fast_e;

typedef struct {
    vs_fast_e     kind;
    const char   *id;         /* into the payload; NUL-terminated there */
    size_t        len;
    uint32_t      xid;        /* the transaction's, as pgoutput sends it */
} vs_fast_t;

int vs_fast_parse(char *payload, vs_fast_t *f);


#endif /* _VS_PGOUTPUT_H_INCLUDED_ */
