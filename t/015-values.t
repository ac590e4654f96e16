# What an upstream could take for an identity header, and what may come
# from Redis into a header, a variable or whoami's JSON (issue 15, items
# 4, 5 and the informational fields of 7).

use Test::Nginx::Socket 'no_plan';
use Validibot::Test;

no_shuffle();
log_level('info');

redis_flush_prefix();
add_user(15);
add_org('acme');
add_member('acme', 15, 'executor');

our $ok = make_key(seed => 'i15-val-ok', user => 15);

# a user id that would add headers if it went into one unchecked
our $evil_user = "5\r\nX-Validibot-Org: evil\r\nX-Validibot-Roles: owner";
add_user($evil_user);
add_member('acme', $evil_user, 'owner');
our $evil = make_key(seed => 'i15-val-evil', user => $evil_user);

add_user('a b');
our $space = make_key(seed => 'i15-val-space', user => 'a b');

our $empty = make_key(seed => 'i15-val-empty', user => '');

add_user(16);
add_member('acme', 16, "executor\r\nX-Evil: 1");
our $roles = make_key(seed => 'i15-val-roles', user => 16);

add_user(17, email => "a\xff\xfeb", name => "\xe2\x82");
our $long = make_key(seed => 'i15-val-long', user => 17, label => 'L' x 5000);
our $utf8 = make_key(seed => 'i15-val-utf8', user => 17);

our $HttpConfig = <<'_EOC_';
    validibot_redis redis://127.0.0.1:$TEST_NGINX_REDIS_PORT/0;
    validibot_digest_key 1 $TEST_NGINX_DIGEST_KEY_FILE_V1;
    underscores_in_headers on;

    server {
        listen unix:$TEST_NGINX_HTML_DIR/upstream.sock;
        underscores_in_headers on;
        validibot_identity_headers off;

        location / {
            return 200 "user=$http_x_validibot_user org=$http_x_validibot_org roles=$http_x_validibot_roles other=$http_x_validibot_other\n";
        }
    }
_EOC_

our $Up = 'proxy_pass http://unix:$TEST_NGINX_HTML_DIR/upstream.sock;';

run_tests();

__DATA__

=== TEST 1: identity headers spelled with underscores are dropped (a CGI upstream reads them as HTTP_X_VALIDIBOT_*)
--- http_config eval: $::HttpConfig
--- config eval
"location ~ ^/o/(?<org>[^/]+)/ { validibot_auth API; validibot_org \$org; $::Up }"
--- request
GET /o/acme/x
--- more_headers eval
"X_Validibot_User: 1\r\nX-Validibot_Org: evil\r\nx_validibot-roles: owner\r\nX_VALIDIBOT_OTHER: x\r\nAuthorization: Bearer $::ok"
--- response_body
user=15 org=acme roles=executor other=
--- error_log
dropped client header "X_Validibot_User"
dropped client header "X-Validibot_Org"
dropped client header "x_validibot-roles"



=== TEST 2: ... where the module is off too
--- http_config eval: $::HttpConfig
--- config eval
"location /public { $::Up }"
--- request
GET /public
--- more_headers
X_Validibot_User: 1
X-Validibot_Roles: owner
--- response_body
user= org= roles= other=



=== TEST 3: a user id holding CR LF never becomes a header: a store error, logged with the public id
--- http_config eval: $::HttpConfig
--- config eval
"location ~ ^/o/(?<org>[^/]+)/ { validibot_auth API; validibot_org \$org; $::Up }"
--- request
GET /o/acme/x
--- more_headers eval
"Authorization: Bearer $::evil"
--- error_code: 503
--- response_headers
Retry-After: 1
--- response_body chomp
{"detail":"Authentication service unavailable","code":"service_unavailable"}
--- error_log eval
qr/validibot: key "[0-9a-f]{32}": the stored user id or roles break the schema/



=== TEST 4: a user id with a space: a store error
--- http_config eval: $::HttpConfig
--- config eval
"location /t { validibot_auth API; $::Up }"
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::space"
--- error_code: 503
--- error_log
the stored user id or roles break the schema



=== TEST 5: roles holding CR LF: a store error
--- http_config eval: $::HttpConfig
--- config eval
"location ~ ^/o/(?<org>[^/]+)/ { validibot_auth API; validibot_org \$org; $::Up }"
--- request
GET /o/acme/x
--- more_headers eval
"Authorization: Bearer $::roles"
--- error_code: 503
--- error_log
the stored user id or roles break the schema



=== TEST 6: a key record with user "" is a missing key (401), as the schema says
--- http_config eval: $::HttpConfig
--- config eval
"location /t { validibot_auth API; $::Up }"
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::empty"
--- error_code: 401
--- error_log
refused: invalid, unknown key



=== TEST 7: a label over 4 KB never decides access: cut short for whoami, logged
--- http_config eval: $::HttpConfig
--- config eval
"location /me { validibot_auth API; validibot_whoami; }"
--- request
GET /me
--- more_headers eval
"Authorization: Bearer $::long"
--- error_code: 200
--- response_body_like eval
qr/"label":"L{4096}"/
--- error_log
label, email or name over 4096 bytes, cut short



=== TEST 8: whoami's JSON is valid UTF-8 whatever the store holds: each bad byte is U+FFFD
--- http_config eval: $::HttpConfig
--- config eval
"location /me { validibot_auth API; validibot_whoami; }"
--- request
GET /me
--- more_headers eval
"Authorization: Bearer $::utf8"
--- error_code: 200
--- response_body_like eval
qr/^\{"email":"a\xef\xbf\xbd\xef\xbf\xbdb","name":"\xef\xbf\xbd\xef\xbf\xbd",/
