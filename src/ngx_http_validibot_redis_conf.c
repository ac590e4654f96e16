
/*
 * Copyright (C) The ngx_http_validibot_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include "ngx_http_validibot_redis.h"
#include "ngx_http_validibot_redis_conf.h"
#include "ngx_http_validibot_url.h"


/* an ACL user name and password fit in far less */
#define NGX_HTTP_VALIDIBOT_MAX_PASSWORD_FILE  4096


/*
 * validibot_redis_password_file FILE;
 *
 * Read once, at configuration time, before nginx drops privileges: the
 * file may be readable by root only.  Messages name the file and the
 * problem, never a byte of its content.
 */

char *
ngx_http_validibot_redis_password_file(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    char                             *rv;
    ssize_t                           n;
    ngx_fd_t                          fd;
    ngx_str_t                        *value, name;
    ngx_file_t                        file;
    const char                       *err;
    ngx_file_info_t                   fi;
    ngx_http_validibot_url_part_t     user, password;
    ngx_http_validibot_redis_conf_t  *rcf;
    u_char                            buf[
                                      NGX_HTTP_VALIDIBOT_MAX_PASSWORD_FILE + 1];

    rcf = (ngx_http_validibot_redis_conf_t *) ((char *) conf + cmd->offset);

    if (rcf->password_file.data) {
        return "is duplicate";
    }

    if (rcf->password.data) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"validibot_redis_password_file\": the URL of "
                           "\"validibot_redis\" has a password already");
        return NGX_CONF_ERROR;
    }

    value = cf->args->elts;
    name = value[1];

    if (ngx_conf_full_name(cf->cycle, &name, 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    fd = ngx_open_file(name.data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);
    if (fd == NGX_INVALID_FILE) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           "\"validibot_redis_password_file\": cannot open "
                           "\"%V\"", &name);
        return NGX_CONF_ERROR;
    }

    rv = NGX_CONF_ERROR;

    ngx_memzero(&file, sizeof(ngx_file_t));
    file.fd = fd;
    file.name = name;
    file.log = cf->log;

    if (ngx_fd_info(fd, &fi) == NGX_FILE_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           "\"validibot_redis_password_file\": cannot stat "
                           "\"%V\"", &name);
        goto done;
    }

    if (ngx_file_size(&fi) > NGX_HTTP_VALIDIBOT_MAX_PASSWORD_FILE) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"validibot_redis_password_file\": \"%V\" is "
                           "larger than %d bytes", &name,
                           NGX_HTTP_VALIDIBOT_MAX_PASSWORD_FILE);
        goto done;
    }

    n = ngx_read_file(&file, buf, sizeof(buf), 0);
    if (n == NGX_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           "\"validibot_redis_password_file\": cannot read "
                           "\"%V\"", &name);
        goto done;
    }

    err = ngx_http_validibot_url_credentials(buf, n, &user, &password);
    if (err) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"validibot_redis_password_file\": \"%V\" %s",
                           &name, err);
        goto done;
    }

    /* one piece of the pool: user, then password */

    rcf->user.data = ngx_pnalloc(cf->pool, user.len + password.len);
    if (rcf->user.data == NULL) {
        goto done;
    }

    /* a file with only a password has no user: memcpy() from NULL is UB */

    rcf->user.len = user.len;
    rcf->password.data = rcf->user.data + user.len;
    rcf->password.len = password.len;

    if (user.len) {
        ngx_memcpy(rcf->user.data, user.data, user.len);
    }

    if (password.len) {
        ngx_memcpy(rcf->password.data, password.data, password.len);
    }

    rcf->password_file = name;
    rv = NGX_CONF_OK;

done:

    ngx_explicit_memzero(buf, sizeof(buf));

    if (ngx_close_file(fd) == NGX_FILE_ERROR) {
        ngx_log_error(NGX_LOG_ALERT, cf->log, ngx_errno,
                      ngx_close_file_n " \"%V\" failed", &name);
    }

    return rv;
}
