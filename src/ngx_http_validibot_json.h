
/*
 * Copyright (C) The ngx_http_validibot_module authors
 *
 * JSON strings written the same way everywhere they are made: the signed
 * assertion's claims and validibot-token's --json output.  Pure.
 */


#ifndef _NGX_HTTP_VALIDIBOT_JSON_H_INCLUDED_
#define _NGX_HTTP_VALIDIBOT_JSON_H_INCLUDED_


#include <stddef.h>


/* the most ngx_http_validibot_json_quote() writes for len bytes */
#define ngx_http_validibot_json_quote_size(len)  (6 * (size_t) (len) + 2)


/* the length of the valid UTF-8 sequence at p (len > 0 bytes), or 0 */
size_t ngx_http_validibot_utf8_len(const unsigned char *p, size_t len);

/*
 * "src" as a JSON string, quotes included, into dst; returns the end.
 * Quote and backslash are escaped, \b \f \n \r \t written short, other
 * control characters and DEL as \u00XX, valid UTF-8 as is, and any other
 * byte as U+FFFD (in UTF-8): the result is always valid JSON, and a
 * decoder gives back the input wherever it was UTF-8.
 */
unsigned char *ngx_http_validibot_json_quote(unsigned char *dst,
    const unsigned char *src, size_t len);


#endif /* _NGX_HTTP_VALIDIBOT_JSON_H_INCLUDED_ */
