
/*
 * Copyright (C) The ngx_http_validibot_module authors
 *
 * Directives of the Redis connection that need more than a slot: the
 * password file.  Each handler finds its ngx_http_validibot_redis_conf_t
 * at cmd->offset in the main conf.
 */


#ifndef _NGX_HTTP_VALIDIBOT_REDIS_CONF_H_INCLUDED_
#define _NGX_HTTP_VALIDIBOT_REDIS_CONF_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>


char *ngx_http_validibot_redis_password_file(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);


#endif /* _NGX_HTTP_VALIDIBOT_REDIS_CONF_H_INCLUDED_ */
