# validibot_fail_zone / validibot_fail_limit: refusals per client address
# across workers; a lock-out answers 429 before any Redis work.

use Test::Nginx::Socket 'no_plan';
use Validibot::Test;

no_shuffle();
log_level('info');

redis_flush_prefix();
add_user(31);
add_org('acme');
our $ok = make_key(seed => 'fail-ok', user => 31);
our $bad = substr($ok, 0, -1) . (substr($ok, -1) eq '0' ? '1' : '0');

our $HttpConfig = <<'_EOC_';
    validibot_redis redis://127.0.0.1:$TEST_NGINX_REDIS_PORT/0;
    validibot_digest_key 1 $TEST_NGINX_DIGEST_KEY_FILE_V1;
    validibot_fail_zone failed:1m;
    limit_req_zone $server_name zone=pause:1m rate=30r/m;

    server {
        listen unix:$TEST_NGINX_HTML_DIR/upstream.sock;
        validibot_identity_headers off;
        location / { return 200 "up\n"; }
    }
_EOC_

our $Config = <<'_EOC_';
    location /t {
        validibot_auth API;
        validibot_org acme;
        validibot_fail_limit zone=failed max=3 window=60s;
        add_header X-S $validibot_auth_status always;
        proxy_pass http://unix:$TEST_NGINX_HTML_DIR/upstream.sock;
    }

    location /once {
        validibot_auth API;
        validibot_fail_limit zone=failed max=1 window=2s;
        add_header X-S $validibot_auth_status always;
        proxy_pass http://unix:$TEST_NGINX_HTML_DIR/upstream.sock;
    }

    location /member {
        validibot_auth API;
        validibot_org acme;
        validibot_fail_limit zone=failed max=1 window=2s;
        proxy_pass http://unix:$TEST_NGINX_HTML_DIR/upstream.sock;
    }

    location /pause {
        limit_req zone=pause burst=5;
        proxy_pass http://unix:$TEST_NGINX_HTML_DIR/upstream.sock;
    }
_EOC_

our $Throttled = '{"detail":"Too many failed attempts","code":"throttled"}';

run_tests();

__DATA__

=== TEST 1: three refusals lock the address out; even a valid key then gets 429
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
["GET /t", "GET /t", "GET /t", "GET /t", "GET /t"]
--- more_headers eval
["Authorization: Bearer $::bad", "", "Authorization: Bearer junk",
 "Authorization: Bearer $::ok", "Authorization: Bearer $::bad"]
--- error_code eval
[401, 401, 401, 429, 429]
--- response_headers eval
["X-S: invalid", "X-S: missing", "X-S: malformed",
 "X-S: throttled\nContent-Type: application/json", "X-S: throttled"]
--- response_body eval
[qr/authentication_failed/, qr/not_authenticated/, qr/authentication_failed/,
 $::Throttled, $::Throttled]



=== TEST 2: the lock-out is logged once at warn
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /once
--- more_headers
Authorization: Bearer junk
--- error_code: 401
--- error_log
[warn]
validibot: client locked out for 2 s after 1 failed attempts



=== TEST 3: 429 with Retry-After before any Redis work, then the window passes
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
["GET /once", "GET /once", "GET /pause", "GET /pause", "GET /once"]
--- more_headers eval
["Authorization: Bearer junk", "Authorization: Bearer $::ok", "", "",
 "Authorization: Bearer $::ok"]
--- error_code eval
[401, 429, 200, 200, 200]
--- response_headers_like eval
["X-S: malformed", "Retry-After: [12]\nX-S: throttled", "", "", "X-S: ok"]
--- timeout: 6



=== TEST 4: successes and 403s do not count
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
["GET /once", "GET /member", "GET /member", "GET /once"]
--- more_headers eval
["Authorization: Bearer $::ok", "Authorization: Bearer $::ok",
 "Authorization: Bearer $::ok", "Authorization: Bearer $::ok"]
--- error_code eval
[200, 403, 403, 200]



=== TEST 5: validibot_fail_limit with an unknown parameter
--- http_config eval: $::HttpConfig
--- config
    location /x { validibot_fail_limit zone=failed max=3 span=2s; }
--- must_die
--- error_log
"validibot_fail_limit": invalid parameter "span=2s"



=== TEST 6: validibot_fail_limit: max must be positive
--- http_config eval: $::HttpConfig
--- config
    location /x { validibot_fail_limit zone=failed max=0 window=2s; }
--- must_die
--- error_log
"validibot_fail_limit": invalid "max=0", max must be 1 or more



=== TEST 7: validibot_fail_limit: a parameter missing
--- http_config eval: $::HttpConfig
--- config
    location /x { validibot_fail_limit zone=failed max=3; }
--- must_die
--- error_log
invalid number of arguments in "validibot_fail_limit" directive



=== TEST 8: validibot_fail_zone: a bad size
--- http_config
    validibot_fail_zone failed:lots;
--- config
--- must_die
--- error_log
"validibot_fail_zone"



=== TEST 9: validibot_fail_limit naming a zone nobody declared
--- http_config eval: $::HttpConfig
--- config
    location /x { validibot_fail_limit zone=nowhere max=3 window=1m; }
--- must_die
--- error_log
"validibot_fail_limit": unknown zone "nowhere", declare it with "validibot_fail_zone"
