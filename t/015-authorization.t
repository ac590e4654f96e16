# Authorization after the check, duplicates and the debug log (issue 15,
# items 1, 6, 8, 9): no key is left for a later phase or location, a
# duplicate Authorization is refused as stock nginx refuses it (400 while
# reading the headers) without its values in the log, and nothing the
# module does for the debug log changes what nginx, other modules or the
# upstream see.

use Test::Nginx::Socket 'no_plan';
use Validibot::Test;

no_shuffle();
log_level('info');

redis_flush_prefix();
add_user(15);
add_org('acme');
add_member('acme', 15, 'executor');

our $ok = make_key(seed => 'i15-auth-ok', user => 15);
our $ok2 = make_key(seed => 'i15-auth-ok2', user => 15);

our $HttpConfig = <<'_EOC_';
    validibot_redis redis://127.0.0.1:$TEST_NGINX_REDIS_PORT/0;
    validibot_digest_key 1 $TEST_NGINX_DIGEST_KEY_FILE_V1;

    server {
        listen unix:$TEST_NGINX_HTML_DIR/upstream.sock;
        validibot_identity_headers off;

        location / {
            return 200 "up auth=[$http_authorization] x=[$http_x_auth]\n";
        }
    }
_EOC_

# the same without any validibot_auth: the module is loaded, and unused
our $PlainHttpConfig = <<'_EOC_';
    server {
        listen unix:$TEST_NGINX_HTML_DIR/upstream.sock;

        location / {
            return 200 "up auth=[$http_authorization] x=[$http_x_auth]\n";
        }
    }
_EOC_

our $Up = 'proxy_set_header X-Auth $http_authorization; '
        . 'proxy_pass http://unix:$TEST_NGINX_HTML_DIR/upstream.sock;';

run_tests();

__DATA__

=== TEST 1: a refusal sent by error_page to a proxying location: no key upstream, none in $http_authorization
--- http_config eval: $::HttpConfig
--- config eval
"error_page 401 = \@fallback;
 location /t { validibot_auth API; $::Up }
 location \@fallback { $::Up }"
--- request
GET /t
--- more_headers
Authorization: Bearer vbk_1_0123456789abcdef0123456789abcdef_0000000000000000000000000000000000000000000000000000000000000000
--- response_body
up auth=[] x=[]



=== TEST 2: after a success nothing later sees the key: not the upstream, not $http_authorization in the access log
--- http_config eval
$::HttpConfig . "log_format auth 'logged auth=[\$http_authorization]';"
--- config eval
"access_log logs/error.log auth;
 location /t { validibot_auth API; $::Up }"
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::ok"
--- response_body
up auth=[] x=[]
--- error_log
logged auth=[-]



=== TEST 3: an internal redirect to another checked location still checks the key
--- http_config eval: $::HttpConfig
--- config eval
"location /t { validibot_auth API; rewrite ^ /u last; }
 location /u { validibot_auth API; validibot_whoami; }"
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::ok"
--- response_body_like: "user":"15"



=== TEST 4: validibot_hide_credentials off: the operator asked, the key goes on
--- http_config eval: $::HttpConfig
--- config eval
"location /t { validibot_auth API; validibot_hide_credentials off; $::Up }"
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::ok"
--- response_body eval
"up auth=[Bearer $::ok] x=[Bearer $::ok]\n"



=== TEST 5: a duplicate with error_page 400 to a proxying location: neither key reaches it or the upstream
--- http_config eval: $::HttpConfig
--- config eval
"error_page 400 = \@fallback;
 location /t { validibot_auth API; $::Up }
 location \@fallback { $::Up }"
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::ok\r\nAuthorization: Bearer $::ok2"
--- response_body
up auth=[] x=[]
--- error_log
client sent duplicate "Authorization" header
--- no_error_log eval
[substr($::ok, 40), substr($::ok2, 40)]



=== TEST 6: a duplicate is refused while nginx reads the headers, as stock nginx: before a server-level return
--- http_config eval: $::HttpConfig
--- config eval
"return 204;
 location /t { validibot_auth API; }"
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::ok\r\nAuthorization: Bearer $::ok2"
--- error_code: 400
--- no_error_log eval
[substr($::ok, 40), substr($::ok2, 40)]



=== TEST 7: ... before client_max_body_size (stock: 400, not 413)
--- http_config eval: $::HttpConfig
--- config eval
"location /t { client_max_body_size 1; validibot_auth API; }"
--- request
POST /t
0123456789
--- more_headers eval
"Authorization: Bearer $::ok\r\nAuthorization: Bearer $::ok2"
--- error_code: 400



=== TEST 8: ... before the slash redirect of a proxy_pass location (stock: 400, not 301)
--- http_config eval: $::HttpConfig
--- config eval
"location /dir/ { proxy_pass http://unix:\$TEST_NGINX_HTML_DIR/upstream.sock; }"
--- request
GET /dir
--- more_headers eval
"Authorization: Basic eA==\r\nAuthorization: Basic eQ=="
--- error_code: 400



=== TEST 9: module loaded and unused: a duplicate is nginx's 400, and an error_page location sees what stock nginx shows
# (nginx 1.23+ joins repeated headers in $http_authorization, 1.22 shows the
# first one only: both are stock behaviour)
--- http_config eval: $::PlainHttpConfig
--- config eval
"error_page 400 = \@fallback;
 location \@fallback { return 200 \"auth=[\$http_authorization]\n\"; }"
--- request
GET /t
--- more_headers
Authorization: Basic eA==
Authorization: Basic eQ==
--- response_body_like chomp
^auth=\[Basic eA==(, Basic eQ==)?\]$
--- error_log
client sent duplicate "Authorization" header
--- no_error_log
eQ==



=== TEST 10: debug log, a request refused before processing (duplicate Host): the error_page location sees the real credentials
--- log_level: debug
--- http_config eval: $::HttpConfig
--- config eval
"error_page 400 = \@fallback;
 location /t { validibot_auth API; }
 location \@fallback { return 200 \"auth=[\$http_authorization] user=[\$remote_user]\n\"; }"
--- raw_request eval
"GET /t HTTP/1.0\r\nAuthorization: Basic dXNlcjpwYXNz\r\nHost: a\r\nHost: b\r\n\r\n"
--- response_body
auth=[Basic dXNlcjpwYXNz] user=[user]



=== TEST 11: ... and a proxying error location forwards them unchanged
--- log_level: debug
--- http_config eval: $::HttpConfig
--- config eval
"error_page 400 = \@fallback;
 location /t { validibot_auth API; }
 location \@fallback { $::Up }"
--- raw_request eval
"GET /t HTTP/1.0\r\nAuthorization: Bearer $::ok\r\nHost: a\r\nHost: b\r\n\r\n"
--- response_body eval
"up auth=[Bearer $::ok] x=[Bearer $::ok]\n"



=== TEST 12: the debug log prints request headers: validibot_auth warns at start-up
--- log_level: debug
--- http_config
--- config
    location /t { validibot_auth API; }
--- must_die
--- error_log
nginx's debug log prints request headers, API keys in Authorization included
"validibot_auth" is used but no "validibot_digest_key" is set



=== TEST 13: ... and does not without a debug log
--- log_level: info
--- http_config
--- config
    location /t { validibot_auth API; }
--- must_die
--- error_log
"validibot_auth" is used but no "validibot_digest_key" is set
--- no_error_log
nginx's debug log prints request headers
