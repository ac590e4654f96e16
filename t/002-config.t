# nginx -t (here: nginx failing to start) names the directive and the
# problem for every misuse of every directive.

use Test::Nginx::Socket 'no_plan';
use Validibot::Test;

our $Key = <<'_EOC_';
    validibot_digest_key 1 $TEST_NGINX_DIGEST_KEY_FILE_V1;
_EOC_

run_tests();

__DATA__

=== TEST 1: validibot_auth without any validibot_digest_key
--- config
    location /t { validibot_auth "API"; }
--- must_die
--- error_log
"validibot_auth" is used but no "validibot_digest_key" is set



=== TEST 2: validibot_digest_key: version is not a number
--- http_config
    validibot_digest_key one $TEST_NGINX_DIGEST_KEY_FILE_V1;
--- config
--- must_die
--- error_log
"validibot_digest_key": invalid version "one"



=== TEST 3: validibot_digest_key: version 0
--- http_config
    validibot_digest_key 0 $TEST_NGINX_DIGEST_KEY_FILE_V1;
--- config
--- must_die
--- error_log
"validibot_digest_key": invalid version "0"



=== TEST 4: validibot_digest_key: no such file
--- http_config
    validibot_digest_key 1 /nonexistent/digest.key;
--- config
--- must_die
--- error_log
"validibot_digest_key": cannot open "/nonexistent/digest.key"



=== TEST 5: validibot_digest_key: empty file (one newline only)
--- http_config
    validibot_digest_key 1 ../html/empty.key;
--- config
--- user_files
>>> empty.key

--- must_die
--- error_log eval
qr/"validibot_digest_key": ".*empty\.key" is empty/



=== TEST 6: validibot_digest_key: the same version twice
--- http_config
    validibot_digest_key 1 $TEST_NGINX_DIGEST_KEY_FILE_V1;
    validibot_digest_key 1 $TEST_NGINX_DIGEST_KEY_FILE_V2;
--- config
--- must_die
--- error_log
"validibot_digest_key": version 1 is set twice



=== TEST 7: validibot_digest_key: wrong number of arguments
--- http_config
    validibot_digest_key 1;
--- config
--- must_die
--- error_log
invalid number of arguments in "validibot_digest_key" directive



=== TEST 8: validibot_digest_key: not allowed in a location
--- config
    location /t { validibot_digest_key 1 /tmp/x; }
--- must_die
--- error_log
"validibot_digest_key" directive is not allowed here



=== TEST 9: validibot_redis: unsupported scheme
--- http_config eval
$::Key . "validibot_redis http://127.0.0.1:6379;"
--- config
--- must_die
--- error_log
"validibot_redis": unsupported scheme in "http://127.0.0.1:6379"



=== TEST 10: validibot_redis: invalid port
--- http_config eval
$::Key . "validibot_redis redis://127.0.0.1:99999/0;"
--- config
--- must_die
--- error_log
"validibot_redis": invalid port in "redis://127.0.0.1:99999/0"



=== TEST 10b: validibot_redis: the error never shows the password
--- http_config eval
$::Key . "validibot_redis redis://nginx:s3cret-pass\@127.0.0.1:99999/0;"
--- config
--- must_die
--- error_log
"validibot_redis": invalid port in "redis://***@127.0.0.1:99999/0"
--- no_error_log
s3cret-pass



=== TEST 11: validibot_redis: invalid db
--- http_config eval
$::Key . "validibot_redis redis://127.0.0.1:6379/x;"
--- config
--- must_die
--- error_log
"validibot_redis": invalid db in "redis://127.0.0.1:6379/x"



=== TEST 12: validibot_redis: twice
--- http_config eval
$::Key . "validibot_redis redis://127.0.0.1/0; validibot_redis redis://127.0.0.1/1;"
--- config
--- must_die
--- error_log
"validibot_redis" directive is duplicate



=== TEST 13: validibot_redis: not allowed in a server
--- http_config eval: $::Key
--- config
    validibot_redis redis://127.0.0.1/0;
--- must_die
--- error_log
"validibot_redis" directive is not allowed here



=== TEST 14: validibot_redis_timeout: not a time
--- http_config eval
$::Key . "validibot_redis_timeout soon;"
--- config
--- must_die
--- error_log
"validibot_redis_timeout" directive invalid value



=== TEST 15: validibot_redis_connections: out of range
--- http_config eval
$::Key . "validibot_redis_connections 0;"
--- config
--- must_die
--- error_log
"validibot_redis_connections" must be a number from 1 to 64, not "0"



=== TEST 16: validibot_redis_prefix: a space in it
--- http_config eval
$::Key . 'validibot_redis_prefix "my prefix:";'
--- config
--- must_die
--- error_log
"validibot_redis_prefix" has a space or a control character



=== TEST 17: validibot_redis_prefix: too long
--- http_config eval
$::Key . "validibot_redis_prefix " . ("p" x 129) . ";"
--- config
--- must_die
--- error_log
"validibot_redis_prefix" is longer than 128 bytes



=== TEST 18: validibot_auth: empty realm
--- http_config eval: $::Key
--- config
    location /t { validibot_auth ""; }
--- must_die
--- error_log
"validibot_auth" directive takes a realm or "off", not an empty string



=== TEST 19: validibot_auth: twice in one location
--- http_config eval: $::Key
--- config
    location /t { validibot_auth "a"; validibot_auth "b"; }
--- must_die
--- error_log
"validibot_auth" directive is duplicate



=== TEST 20: validibot_org: a literal value that cannot be a slug
--- http_config eval: $::Key
--- config
    location /t { validibot_org "acme corp"; }
--- must_die
--- error_log
"validibot_org": invalid org slug "acme corp"



=== TEST 21: validibot_require: unknown code
--- http_config eval: $::Key
--- config
    location /t { validibot_org acme; validibot_require executor wizard; }
--- must_die
--- error_log
"validibot_require": unknown role or permission code "wizard"



=== TEST 22: validibot_require: unknown method
--- http_config eval: $::Key
--- config
    location /t { validibot_org acme; validibot_require executor methods=GET,FETCH; }
--- must_die
--- error_log
"validibot_require": unknown method "FETCH"



=== TEST 23: validibot_require: methods only, no code
--- http_config eval: $::Key
--- config
    location /t { validibot_org acme; validibot_require methods=GET; }
--- must_die
--- error_log
"validibot_require" directive needs at least one role or permission code



=== TEST 24: validibot_require: methods= twice
--- http_config eval: $::Key
--- config
    location /t { validibot_org acme; validibot_require author methods=GET methods=POST; }
--- must_die
--- error_log
"validibot_require": "methods=" is given twice



=== TEST 25: validibot_require without validibot_org where auth is on
--- http_config eval: $::Key
--- config
    location /t { validibot_auth "API"; validibot_require executor; }
--- must_die
--- error_log
"validibot_require" needs "validibot_org": roles are held in an organization



=== TEST 26: validibot_identity_headers: not on or off
--- http_config eval: $::Key
--- config
    location /t { validibot_identity_headers yes; }
--- must_die
--- error_log
invalid value "yes" in "validibot_identity_headers" directive, it must be "on" or "off"



=== TEST 27: validibot_hide_credentials: not on or off
--- http_config eval: $::Key
--- config
    location /t { validibot_hide_credentials maybe; }
--- must_die
--- error_log
invalid value "maybe" in "validibot_hide_credentials" directive, it must be "on" or "off"



=== TEST 28: a complete valid configuration starts
--- http_config eval
$::Key . "validibot_redis redis://127.0.0.1:\$TEST_NGINX_REDIS_PORT/0; validibot_redis_timeout 250ms; validibot_redis_connections 4; validibot_redis_prefix vb:;"
--- config
    location ~ ^/o/(?<org>[^/]+)/ {
        validibot_auth "API";
        validibot_org $org;
        validibot_require workflow_launch methods=POST;
        validibot_require WORKFLOW_VIEW;
        validibot_identity_headers on;
        validibot_hide_credentials off;
    }
    location /plain { return 200 "plain\n"; }
--- request
GET /plain
--- response_body
plain
--- no_error_log
[emerg]
