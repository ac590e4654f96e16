# validibot_fail_limit under "satisfy any" (issue 15, item 2): only a
# request that ends refused counts as a failure, and a lock-out never
# refuses a request that another access module lets in.

use Test::Nginx::Socket 'no_plan';
use Validibot::Test;

no_shuffle();
log_level('info');

redis_flush_prefix();
add_user(15);
our $ok = make_key(seed => 'i15-satisfy-ok', user => 15);
our $bad = substr($ok, 0, -1) . (substr($ok, -1) eq '0' ? '1' : '0');

our $HttpConfig = <<'_EOC_';
    validibot_redis redis://127.0.0.1:$TEST_NGINX_REDIS_PORT/0;
    validibot_digest_key 1 $TEST_NGINX_DIGEST_KEY_FILE_V1;
    validibot_fail_zone failed:1m;

    server {
        listen unix:$TEST_NGINX_HTML_DIR/upstream.sock;
        location / { return 200 "in\n"; }
    }
_EOC_

our $Config = <<'_EOC_';
    validibot_fail_limit zone=failed max=3 window=60s;

    location /open {
        satisfy any;
        allow 127.0.0.1;
        deny all;
        validibot_auth API;
        add_header X-S $validibot_auth_status always;
        proxy_pass http://unix:$TEST_NGINX_HTML_DIR/upstream.sock;
    }

    location /closed {
        satisfy any;
        deny all;
        validibot_auth API;
        add_header X-S $validibot_auth_status always;
        proxy_pass http://unix:$TEST_NGINX_HTML_DIR/upstream.sock;
    }
_EOC_

our $Throttled = '{"detail":"Too many failed attempts","code":"throttled"}';

run_tests();

__DATA__

=== TEST 1: requests that allow lets in never count, with or without a key
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
["GET /open", "GET /open", "GET /open", "GET /open", "GET /open", "GET /open"]
--- more_headers eval
["", "", "", "Authorization: Bearer $::bad", "Authorization: Bearer junk",
 "Authorization: Bearer $::ok"]
--- error_code eval
[200, 200, 200, 200, 200, 200]
--- no_error_log
locked out



=== TEST 2: refusals that end refused count; the lock-out then answers 429 there
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
["GET /closed", "GET /closed", "GET /closed", "GET /closed"]
--- more_headers eval
["", "Authorization: Bearer $::bad", "", "Authorization: Bearer $::ok"]
--- error_code eval
[401, 401, 401, 429]
--- response_headers eval
["X-S: missing", "X-S: invalid", "X-S: missing", "X-S: throttled"]
--- response_headers_like eval
["", "", "", 'Retry-After: ^[1-9]\d*$']
--- response_body eval
[qr/not_authenticated/, qr/authentication_failed/, qr/not_authenticated/,
 $::Throttled]



=== TEST 3: a locked-out address is still let in where allow lets it in, and no Retry-After leaks
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
["GET /closed", "GET /closed", "GET /closed", "GET /closed", "GET /open", "GET /open"]
--- more_headers eval
["", "", "", "", "", "Authorization: Bearer $::ok"]
--- error_code eval
[401, 401, 401, 429, 200, 200]
--- response_headers eval
["", "", "", "", "!Retry-After", "!Retry-After"]
--- response_body eval
[qr/not_authenticated/, qr/not_authenticated/, qr/not_authenticated/,
 $::Throttled, "in\n", "in\n"]
