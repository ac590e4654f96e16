
/*
 * Copyright (C) The ngx_http_validibot_module authors
 *
 * The one-round-trip lookup, run server-side with EVALSHA.
 *
 *   KEYS[1]  <prefix>key:<public_id>
 *   ARGV[1]  <prefix>
 *   ARGV[2]  org slug, or "" for no org
 *   ARGV[3]  public_id (the usage record <prefix>usage:<public_id>)
 *
 * Reply: an empty array when the key record (or its "user" field) is
 * missing, else 15 bulk strings or nils, in the order of
 * ngx_http_validibot_field_e (ngx_http_validibot_reply.h).  Lua false
 * becomes a nil in the reply.
 */


#ifndef _NGX_HTTP_VALIDIBOT_SCRIPT_H_INCLUDED_
#define _NGX_HTTP_VALIDIBOT_SCRIPT_H_INCLUDED_


#define NGX_HTTP_VALIDIBOT_SCRIPT                                             \
    "local p = ARGV[1]\n"                                                     \
    "local k = redis.call('HMGET', KEYS[1], 'user', 'digest',\n"             \
    "    'digest_version', 'expires_at', 'revoked_at', 'created_at',\n"     \
    "    'label')\n"                                                          \
    "if not k[1] then return {} end\n"                                        \
    "local t = redis.call('HGET', p .. 'usage:' .. ARGV[3],\n"             \
    "    'last_used_at')\n"                                                  \
    "local u = redis.call('HMGET', p .. 'user:' .. k[1], 'is_active',\n"     \
    "    'email', 'name', 'is_superuser')\n"                                  \
    "local o, m = false, {false, false}\n"                                    \
    "if ARGV[2] ~= '' then\n"                                                 \
    "    o = redis.call('HGET', p .. 'org:' .. ARGV[2], 'status')\n"         \
    "    m = redis.call('HMGET', p .. 'member:' .. ARGV[2] .. ':' .. k[1],\n"\
    "        'is_active', 'roles')\n"                                         \
    "end\n"                                                                   \
    "return {k[1], k[2], k[3], k[4], k[5], k[6], k[7], u[1], u[2], u[3],\n" \
    "    o, m[1], m[2], t, u[4]}\n"


#endif /* _NGX_HTTP_VALIDIBOT_SCRIPT_H_INCLUDED_ */
