# Every row of the outcome table (docs/directives.md): status, challenge,
# JSON body, and the info line that names the public id and the reason.

use Test::Nginx::Socket 'no_plan';
use Validibot::Test;

no_shuffle();
log_level('info');

redis_flush_prefix();

add_user(1);
add_user(2, is_active => 0);
add_org('acme');
add_org('frozen', status => 'suspended');
add_org('gone', status => 'deleted');
add_member('acme', 1, 'author');
add_member('frozen', 1, 'author');
add_member('gone', 1, 'author');

our $ok      = make_key(seed => 'ok', user => 1);
our $inactive = make_key(seed => 'inactive-user', user => 2);
our $nouser  = make_key(seed => 'no-user', user => 99);
our $revoked = make_key(seed => 'revoked', user => 1,
                        revoked_at => time() - 60);
our $expired = make_key(seed => 'expired', user => 1,
                        expires_at => time() - 60);
our $future  = make_key(seed => 'future', user => 1,
                        expires_at => time() + 3600);
our $unknown = make_key(seed => 'unknown', user => 1, write => 0);
our $wrong   = make_key(seed => 'wrong-secret', user => 1);
$wrong =~ s/.$/$& eq '0' ? '1' : '0'/e;

our $ok_id      = key_public_id($ok);
our $revoked_id = key_public_id($revoked);
our $expired_id = key_public_id($expired);
our $unknown_id = key_public_id($unknown);
our $wrong_id   = key_public_id($wrong);

our $HttpConfig = <<'_EOC_';
    validibot_redis redis://127.0.0.1:$TEST_NGINX_REDIS_PORT/0;
    validibot_digest_key 1 $TEST_NGINX_DIGEST_KEY_FILE_V1;

    server {
        listen unix:$TEST_NGINX_HTML_DIR/upstream.sock;
        validibot_identity_headers off;

        location / {
            return 200 "user=$http_x_validibot_user org=$http_x_validibot_org roles=$http_x_validibot_roles key=$http_x_validibot_key_id auth=$http_authorization\n";
        }
    }
_EOC_

our $Config = <<'_EOC_';
    validibot_auth "Validibot API";

    location = /api/v1/auth/me/ {
        proxy_pass http://unix:$TEST_NGINX_HTML_DIR/upstream.sock;
    }

    location ~ ^/api/v1/orgs/(?<org>[^/]+)/workflows/ {
        validibot_org $org;
        validibot_require workflow_launch methods=POST;
        validibot_require workflow_view;
        proxy_pass http://unix:$TEST_NGINX_HTML_DIR/upstream.sock;
    }
_EOC_

our $Invalid = '{"detail":"Invalid API key","code":"authentication_failed"}';
our $Denied = '{"detail":"Permission denied","code":"permission_denied"}';

run_tests();

__DATA__

=== TEST 1: ok: a valid key passes with its identity
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /api/v1/auth/me/
--- more_headers eval
"Authorization: Bearer $::ok"
--- response_body eval
"user=1 org= roles= key=$::ok_id auth=\n"
--- error_code: 200
--- no_error_log
refused



=== TEST 2: ok: org route with the role it needs
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /api/v1/orgs/acme/workflows/7/
--- more_headers eval
"Authorization: Bearer $::ok"
--- response_body eval
"user=1 org=acme roles=author key=$::ok_id auth=\n"
--- error_code: 200



=== TEST 3: missing: no Authorization header
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /api/v1/auth/me/
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="Validibot API"
Content-Type: application/json
!Retry-After
--- response_body chomp
{"detail":"Authentication required","code":"not_authenticated"}
--- error_log
validibot: refused: missing, no credentials



=== TEST 4: missing: another scheme
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /api/v1/auth/me/
--- more_headers
Authorization: Basic dXNlcjpwYXNz
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="Validibot API"
Content-Type: application/json
--- response_body chomp
{"detail":"Authentication required","code":"not_authenticated"}
--- error_log
validibot: refused: missing, not a Bearer credential



=== TEST 5: malformed: Bearer value that is not a key
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /api/v1/auth/me/
--- more_headers
Authorization: Bearer not-a-validibot-key
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="Validibot API", error="invalid_token"
Content-Type: application/json
--- response_body eval: $::Invalid
--- error_log
validibot: refused: malformed, malformed key



=== TEST 6: malformed: a key over 160 bytes
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /api/v1/auth/me/
--- more_headers eval
"Authorization: Bearer $::ok" . ("a" x 60)
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="Validibot API", error="invalid_token"
--- response_body eval: $::Invalid
--- error_log
validibot: refused: malformed, malformed key



=== TEST 7: invalid: unknown public id
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /api/v1/auth/me/
--- more_headers eval
"Authorization: Bearer $::unknown"
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="Validibot API", error="invalid_token"
Content-Type: application/json
--- response_body eval: $::Invalid
--- error_log eval
qr/validibot: key "$::unknown_id" refused: invalid, unknown key/



=== TEST 8: invalid: digest mismatch (one character of the secret wrong)
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /api/v1/auth/me/
--- more_headers eval
"Authorization: Bearer $::wrong"
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="Validibot API", error="invalid_token"
--- response_body eval: $::Invalid
--- error_log eval
qr/validibot: key "$::wrong_id" refused: invalid, digest mismatch/



=== TEST 9: revoked
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /api/v1/auth/me/
--- more_headers eval
"Authorization: Bearer $::revoked"
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="Validibot API", error="invalid_token"
--- response_body eval: $::Invalid
--- error_log eval
qr/validibot: key "$::revoked_id" refused: revoked/



=== TEST 10: user_inactive: the user is deactivated
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /api/v1/auth/me/
--- more_headers eval
"Authorization: Bearer $::inactive"
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="Validibot API", error="invalid_token"
--- response_body eval: $::Invalid
--- error_log
refused: user_inactive, user inactive



=== TEST 11: user_inactive: the user record is gone
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /api/v1/auth/me/
--- more_headers eval
"Authorization: Bearer $::nouser"
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="Validibot API", error="invalid_token"
--- response_body eval: $::Invalid
--- error_log
refused: user_inactive, user missing



=== TEST 12: expired: 401 with error_description
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /api/v1/auth/me/
--- more_headers eval
"Authorization: Bearer $::expired"
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="Validibot API", error="invalid_token", error_description="The access token expired"
Content-Type: application/json
--- response_body eval: $::Invalid
--- error_log eval
qr/validibot: key "$::expired_id" refused: expired/



=== TEST 13: ok: a key that expires later still passes
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /api/v1/auth/me/
--- more_headers eval
"Authorization: Bearer $::future"
--- error_code: 200
--- response_body_like: ^user=1 org= roles= key=[0-9a-f]{32} auth=$



=== TEST 14: duplicate Authorization headers: nginx's own 400, while it reads the headers
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /api/v1/auth/me/
--- more_headers eval
"Authorization: Bearer $::ok\r\nAuthorization: Bearer $::ok"
--- error_code: 400
--- response_headers
!WWW-Authenticate
Content-Type: text/html
--- response_body_like: 400 Bad Request
--- error_log
client sent duplicate "Authorization" header
--- no_error_log
validibot: refused



=== TEST 15: org_inactive: no such org
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /api/v1/orgs/nowhere/workflows/
--- more_headers eval
"Authorization: Bearer $::ok"
--- error_code: 403
--- response_headers
WWW-Authenticate: Bearer realm="Validibot API", error="insufficient_scope"
Content-Type: application/json
--- response_body eval: $::Denied
--- error_log eval
qr/validibot: key "$::ok_id" refused: org_inactive, org missing/



=== TEST 16: org_inactive: suspended org
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /api/v1/orgs/frozen/workflows/
--- more_headers eval
"Authorization: Bearer $::ok"
--- error_code: 403
--- response_headers
WWW-Authenticate: Bearer realm="Validibot API", error="insufficient_scope"
--- response_body eval: $::Denied
--- error_log
refused: org_inactive



=== TEST 17: org_inactive: deleted org
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /api/v1/orgs/gone/workflows/
--- more_headers eval
"Authorization: Bearer $::ok"
--- error_code: 403
--- response_headers
WWW-Authenticate: Bearer realm="Validibot API", error="insufficient_scope"
--- response_body eval: $::Denied
--- error_log
refused: org_inactive



=== TEST 18: forbidden: an author may not launch a run
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
POST /api/v1/orgs/acme/workflows/7/runs/
--- more_headers eval
"Authorization: Bearer $::ok"
--- error_code: 403
--- response_headers
WWW-Authenticate: Bearer realm="Validibot API", error="insufficient_scope"
Content-Type: application/json
--- response_body eval: $::Denied
--- error_log eval
qr/validibot: key "$::ok_id" refused: forbidden/



=== TEST 19: store_error: Redis unreachable gives 503 with Retry-After
--- http_config eval
my $c = $::HttpConfig;
$c =~ s{redis://[^;]+;}{unix:\$TEST_NGINX_HTML_DIR/no-redis-here.sock;};
$c
--- config eval: $::Config
--- user_files
>>> no-redis-here.sock
a plain file: connecting to it is refused
--- request
GET /api/v1/auth/me/
--- more_headers eval
"Authorization: Bearer $::ok"
--- error_code: 503
--- response_headers
Retry-After: 1
Content-Type: application/json
!WWW-Authenticate
--- response_body chomp
{"detail":"Authentication service unavailable","code":"service_unavailable"}
--- error_log eval
[qr/validibot: redis unix:.*no-redis-here\.sock: connect failed/,
 qr/validibot: key "$::ok_id" refused: store_error/]



=== TEST 20: the scheme name is case-insensitive
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /api/v1/auth/me/
--- more_headers eval
"Authorization: bEARER $::ok"
--- error_code: 200
--- response_body eval
"user=1 org= roles= key=$::ok_id auth=\n"
