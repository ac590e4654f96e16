
/*
 * Copyright (C) The ngx_http_validibot_module authors
 */


#include "ngx_http_validibot_request_id.h"


void
ngx_http_validibot_request_id(const unsigned char *key, uint64_t n,
    unsigned char *out)
{
    size_t         i;
    unsigned char  msg[8], md[NGX_HTTP_VALIDIBOT_PRF_LEN];

    static const char  hex[] = "0123456789abcdef";

    for (i = 0; i < sizeof(msg); i++) {
        msg[i] = (unsigned char) (n >> (8 * i));
    }

    ngx_http_validibot_prf(key, msg, sizeof(msg), md);

    for (i = 0; i < sizeof(md); i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 0xf];
    }
}
