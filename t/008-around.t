# What operators and key holders need around the check (issue 6): whoami,
# usage records, expiry policy and warning, CORS preflight, and the config
# errors of those directives.

use Test::Nginx::Socket 'no_plan';
use Validibot::Test;
use POSIX qw(strftime);
use Time::HiRes ();

no_shuffle();
log_level('info');

redis_flush_prefix();
add_user(21, email => 'ada@example.com', name => 'Ada "the" Lovelace');
add_user(22, email => undef, name => undef);
add_org('acme');
add_member('acme', 21, 'executor,author');

our $soon_t = time() + 3 * 86400;
our $far_t = time() + 60 * 86400;
our $soon = make_key(seed => 'around-soon', user => 21, label => 'CI bot',
                     expires_at => $soon_t);
our $far = make_key(seed => 'around-far', user => 21, expires_at => $far_t);
our $never = make_key(seed => 'around-never', user => 22, label => undef);
our $old = make_key(seed => 'around-old', user => 21,
                    created_at => time() - 100 * 86400);
our $nocreated = make_key(seed => 'around-nocreated', user => 21,
                          created_at => undef);
our $skewed = make_key(seed => 'around-skewed', user => 21,
                       expires_at => time() - 5);

our $soon_iso = strftime('%Y-%m-%dT%H:%M:%SZ', gmtime $soon_t);
our $far_iso = strftime('%Y-%m-%dT%H:%M:%SZ', gmtime $far_t);
our $soon_id = key_public_id($soon);
our $never_id = key_public_id($never);

# appends what Redis holds of the usage fields to a response body
sub usage_seen {
    my ($body) = @_;
    Time::HiRes::sleep(0.05);
    my $r = Validibot::Test::redis_cmd('HMGET', "validibot:usage:$::soon_id",
                                       'last_used_at', 'last_used_ip');
    my $at = $r->[0] // 'none';
    $at = 'recent' if $at =~ /^\d+$/ && abs($at - time()) < 30;
    return $body . "at=$at ip=" . ($r->[1] // 'none') . "\n";
}

our $HttpConfig = <<'_EOC_';
    validibot_redis redis://127.0.0.1:$TEST_NGINX_REDIS_PORT/0;
    validibot_digest_key 1 $TEST_NGINX_DIGEST_KEY_FILE_V1;

    server {
        listen unix:$TEST_NGINX_HTML_DIR/upstream.sock;
        validibot_identity_headers off;
        location / { return 200 "up $request_method\n"; }
    }
_EOC_

our $Up = 'proxy_pass http://unix:$TEST_NGINX_HTML_DIR/upstream.sock;';

run_tests();

__DATA__

=== TEST 1: whoami: what /api/v1/auth/me/ answers, and the key's details
--- http_config eval: $::HttpConfig
--- config
    location = /api/v1/auth/me/ { validibot_auth API; validibot_whoami; }
--- request
GET /api/v1/auth/me/
--- more_headers eval
"Authorization: Bearer $::soon"
--- response_headers
Content-Type: application/json
--- response_body eval
qq({"email":"ada\@example.com","name":"Ada \\"the\\" Lovelace","user":"21","key_id":"$::soon_id","label":"CI bot","expires_at":"$::soon_iso"})



=== TEST 2: whoami: nulls for what the records do not have
--- http_config eval: $::HttpConfig
--- config
    location = /api/v1/auth/me/ { validibot_auth API; validibot_whoami; }
--- request
GET /api/v1/auth/me/
--- more_headers eval
"Authorization: Bearer $::never"
--- response_body eval
qq({"email":null,"name":null,"user":"22","key_id":"$::never_id","label":null,"expires_at":null})



=== TEST 3: whoami with an org: the org and the roles held in it
--- http_config eval: $::HttpConfig
--- config
    location ~ ^/orgs/(?<org>[^/]+)/me$ {
        validibot_auth API; validibot_org $org; validibot_whoami;
    }
--- request
GET /orgs/acme/me
--- more_headers eval
"Authorization: Bearer $::soon"
--- response_body_like: "org":"acme","roles":\["author","executor"\]\}$



=== TEST 4: whoami refuses as the gateway does
--- http_config eval: $::HttpConfig
--- config
    location = /api/v1/auth/me/ { validibot_auth API; validibot_whoami; }
--- request eval
["GET /api/v1/auth/me/", "POST /api/v1/auth/me/"]
--- more_headers eval
["Authorization: Bearer vbk_1_x", "Authorization: Bearer $::soon"]
--- error_code eval
[401, 405]
--- response_body eval
['{"detail":"Invalid API key","code":"authentication_failed"}', qr/405/]



=== TEST 5: validibot_whoami without validibot_auth
--- http_config eval: $::HttpConfig
--- config
    location = /me { validibot_whoami; }
--- must_die
--- error_log
"validibot_whoami" needs "validibot_auth" in its location



=== TEST 6: usage record: last_used_at and last_used_ip written after a success, in validibot:usage:<public_id>, not in the key record
--- init
Validibot::Test::redis_cmd('DEL', "validibot:usage:$::soon_id");
--- http_config eval: $::HttpConfig
--- config eval
"location /t { validibot_auth API; $::Up }"
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::soon"
--- response_body_filters eval
sub {
    my $seen = ::usage_seen($_[0]);
    my $k = Validibot::Test::redis_cmd('HMGET', "validibot:key:$::soon_id",
                                       'last_used_at', 'last_used_ip');
    $seen . "key record: " . join(',', map { $_ // 'none' } @$k) . "\n"
}
--- response_body
up GET
at=recent ip=127.0.0.1
key record: none,none



=== TEST 7: usage record: at most once per interval per key (read with the lookup)
--- init
Validibot::Test::redis_cmd('DEL', "validibot:usage:$::soon_id");
$::n = 0;
--- http_config eval: $::HttpConfig
--- config eval
"location /t { validibot_auth API; $::Up }"
--- request eval
["GET /t", "GET /t", "GET /t"]
--- more_headers eval
["Authorization: Bearer $::soon", "Authorization: Bearer $::soon",
 "Authorization: Bearer $::soon"]
--- response_body_filters eval
sub {
    my $seen = ::usage_seen($_[0]);
    my $key = "validibot:usage:$::soon_id";
    # after the first: mark the ip (a second write would overwrite it);
    # after the second: make the last use older than the interval (1h)
    if (++$::n == 1) {
        Validibot::Test::redis_cmd('HSET', $key, 'last_used_ip', 'marker');
    } elsif ($::n == 2) {
        Validibot::Test::redis_cmd('HSET', $key, 'last_used_at', time() - 3601);
    }
    $seen
}
--- response_body eval
["up GET\nat=recent ip=127.0.0.1\n", "up GET\nat=recent ip=marker\n",
 "up GET\nat=recent ip=127.0.0.1\n"]



=== TEST 8: validibot_usage_interval off: nothing is written
--- init
Validibot::Test::redis_cmd('DEL', "validibot:usage:$::soon_id");
--- http_config eval: $::HttpConfig . "validibot_usage_interval off;"
--- config eval
"location /t { validibot_auth API; $::Up }"
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::soon"
--- response_body_filters eval
sub { ::usage_seen($_[0]) }
--- response_body
up GET
at=none ip=none



=== TEST 9: usage record: a refused key (wrong secret) writes nothing
--- init
Validibot::Test::redis_cmd('DEL', "validibot:usage:$::soon_id");
--- http_config eval: $::HttpConfig
--- config eval
"location /t { validibot_auth API; $::Up }"
--- request
GET /t
--- more_headers eval
"Authorization: Bearer " . substr($::soon, 0, -1) . (substr($::soon, -1) eq '0' ? '1' : '0')
--- error_code: 401
--- response_body_filters eval
sub { ::usage_seen($_[0]) }
--- response_body
{"detail":"Invalid API key","code":"authentication_failed"}at=none ip=none



=== TEST 10: expiry warning: X-Validibot-Key-Expires when the key expires within 7 days
--- http_config eval: $::HttpConfig
--- config eval
"location /t { validibot_auth API; $::Up }"
--- request eval
["GET /t", "GET /t", "GET /t"]
--- more_headers eval
["Authorization: Bearer $::soon", "Authorization: Bearer $::far",
 "Authorization: Bearer $::never"]
--- response_headers eval
["X-Validibot-Key-Expires: $::soon_iso", "!X-Validibot-Key-Expires",
 "!X-Validibot-Key-Expires"]



=== TEST 11: validibot_expiry_warning 90d warns about the far key too
--- http_config eval: $::HttpConfig
--- config eval
"location /t { validibot_auth API; validibot_expiry_warning 90d; $::Up }"
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::far"
--- response_headers eval
"X-Validibot-Key-Expires: $::far_iso"



=== TEST 12: validibot_max_key_age: a key older than that is expired
--- http_config eval: $::HttpConfig
--- config eval
"location /t { validibot_auth API; validibot_max_key_age 90d; $::Up }
 location /loose { validibot_auth API; validibot_max_key_age 365d; $::Up }"
--- request eval
["GET /t", "GET /loose", "GET /t"]
--- more_headers eval
["Authorization: Bearer $::old", "Authorization: Bearer $::old",
 "Authorization: Bearer $::nocreated"]
--- error_code eval
[401, 200, 401]
--- response_headers eval
['WWW-Authenticate: Bearer realm="API", error="invalid_token", error_description="The access token expired"',
 "", 'WWW-Authenticate: Bearer realm="API", error="invalid_token", error_description="The access token expired"']



=== TEST 13: validibot_expiry_leeway: a key expired 5 s ago passes with 1m of leeway
--- init
# expired 5 s before this block, not before the file: a slow (sanitized)
# run may take longer than the leeway to get here
Validibot::Test::make_key(seed => 'around-skewed', user => 21,
                          expires_at => time() - 5);
--- http_config eval: $::HttpConfig
--- config eval
"location /strict { validibot_auth API; $::Up }
 location /t { validibot_auth API; validibot_expiry_leeway 1m; $::Up }"
--- request eval
["GET /strict", "GET /t"]
--- more_headers eval
["Authorization: Bearer $::skewed", "Authorization: Bearer $::skewed"]
--- error_code eval
[401, 200]



=== TEST 14: preflight pass: a CORS preflight skips the check, other OPTIONS do not
--- http_config eval: $::HttpConfig
--- config eval
"location /t { validibot_auth API; validibot_preflight pass; $::Up }
 location /strict { validibot_auth API; $::Up }"
--- request eval
["OPTIONS /t", "OPTIONS /t", "OPTIONS /strict", "GET /t"]
--- more_headers eval
["Origin: https://app.example\r\nAccess-Control-Request-Method: POST",
 "Origin: https://app.example",
 "Origin: https://app.example\r\nAccess-Control-Request-Method: POST",
 "Origin: https://app.example\r\nAccess-Control-Request-Method: POST"]
--- error_code eval
[200, 401, 401, 401]



=== TEST 15: config errors of these directives
--- http_config eval: $::HttpConfig . "validibot_usage_interval 10ms;"
--- config
--- must_die
--- error_log
"validibot_usage_interval": invalid time "10ms", use "off" or at least 1s



=== TEST 16: validibot_max_key_age: not a time
--- http_config eval: $::HttpConfig
--- config
    location /t { validibot_max_key_age forever; }
--- must_die
--- error_log
"validibot_max_key_age": invalid time "forever", use "off" or at least 1s



=== TEST 17: validibot_preflight: not pass or authenticate
--- http_config eval: $::HttpConfig
--- config
    location /t { validibot_preflight maybe; }
--- must_die
--- error_log
invalid value "maybe"



=== TEST 18: validibot_expiry_warning: not a time
--- http_config eval: $::HttpConfig
--- config
    location /t { validibot_expiry_warning soon; }
--- must_die
--- error_log
"validibot_expiry_warning" directive invalid value
