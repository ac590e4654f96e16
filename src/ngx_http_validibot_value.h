
/*
 * Copyright (C) The ngx_http_validibot_module authors
 *
 * The grammar of what the module passes on: which client header names an
 * upstream would take for an identity header, and which values read from
 * Redis may become a header or a variable (docs/redis-schema.md).  Pure.
 */


#ifndef _NGX_HTTP_VALIDIBOT_VALUE_H_INCLUDED_
#define _NGX_HTTP_VALIDIBOT_VALUE_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>


#define NGX_HTTP_VALIDIBOT_USER_MAX_LEN   128


/*
 * 1 when a lowercased header name starts with "x-validibot-" and has more
 * after it, any "-" of that prefix written "_" too: CGI, FastCGI, uwsgi
 * and WSGI upstreams see both spellings as HTTP_X_VALIDIBOT_*.
 */
int ngx_http_validibot_identity_header(const unsigned char *lowcase,
    size_t len);

/* a user id: 1 to 128 of A-Z a-z 0-9 _ - . @ + */
int ngx_http_validibot_user_valid(const unsigned char *p, size_t len);

/* a membership's roles: empty, or A-Z a-z 0-9 _ , and spaces */
int ngx_http_validibot_roles_valid(const unsigned char *p, size_t len);

/*
 * 1 when a raw request path (the bytes the client sent, before any "?")
 * names a resource other than what nginx's normalized URI shows to an
 * upstream that routes on the raw path: a "." or ".." segment, "//", a
 * backslash, or "/", "." or "\" percent-encoded.
 */
int ngx_http_validibot_path_ambiguous(const unsigned char *p, size_t len);

/*
 * The length of the longest prefix of p (at most max bytes) that is whole
 * UTF-8 characters, every one of them valid; *valid is 0 when p holds an
 * invalid sequence (the prefix stops before it).
 */
size_t ngx_http_validibot_utf8_prefix(const unsigned char *p, size_t len,
    size_t max, int *valid);


#endif /* _NGX_HTTP_VALIDIBOT_VALUE_H_INCLUDED_ */
