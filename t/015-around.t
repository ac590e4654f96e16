# Issue 15, items 7 (HEAD, subrequests) and 10: end-to-end tests for
# plausible bugs in the security logic that the suite did not catch (each
# block names the bug it fails on).

use Test::Nginx::Socket 'no_plan';
use Validibot::Test;

no_shuffle();
log_level('info');

redis_flush_prefix();
add_user(1);
add_user(12);
add_user(15);
add_user(16);
add_user(17);
add_org('acme');
add_member('acme', 1, 'executor');
add_member('acme', 15, 'analytics_viewer');
add_member('acme', 16, 'owner', 0);
add_member('acme', 17, 'workflow_launch,workflow_view');

our $ok = make_key(seed => 'i15-around-ok', user => 15);
our $ok_id = key_public_id($ok);
our $moved = make_key(seed => 'i15-around-moved', user => 1);
our $moved_rkey = 'validibot:key:' . key_public_id($moved);
our $inactive = make_key(seed => 'i15-around-inactive', user => 16);
our $perm = make_key(seed => 'i15-around-perm', user => 17);
our $future = make_key(seed => 'i15-around-future', user => 1,
                       revoked_at => time() + 3600);

# keys whose stored digest differs from the true one in one character
our %off;
for my $at (0, 31, 63) {
    my $k = make_key(seed => "i15-around-digest-$at", user => 1, write => 0);
    my $d = key_digest(key_public_id($k), key_secret($k));
    substr($d, $at, 1) = substr($d, $at, 1) eq '0' ? '1' : '0';
    $off{$at} = make_key(seed => "i15-around-digest-$at", user => 1,
                         digest => $d);
}

# runs $actions->[i] after the response to request i (0-based)
sub between {
    my ($actions) = @_;
    my $i = 0;
    return sub { my $a = $actions->[$i++]; $a->() if $a; $_[0] };
}

our $HttpConfig = <<'_EOC_';
    validibot_redis redis://127.0.0.1:$TEST_NGINX_REDIS_PORT/0;
    validibot_digest_key 1 $TEST_NGINX_DIGEST_KEY_FILE_V1;
    validibot_fail_zone failed:1m;

    server {
        listen unix:$TEST_NGINX_HTML_DIR/upstream.sock;
        validibot_identity_headers off;
        location / {
            return 200 "up user=$http_x_validibot_user\n";
        }
    }
_EOC_

our $Up = 'proxy_pass http://unix:$TEST_NGINX_HTML_DIR/upstream.sock;';

our $Org = "validibot_auth API; validibot_org acme; "
         . "add_header X-S \$validibot_auth_status always; $::Up";

run_tests();

__DATA__

=== TEST 1: a methods=GET rule covers HEAD, as limit_except GET does (bug: HEAD skips the rule)
--- http_config eval: $::HttpConfig
--- config eval
"location /t { validibot_require workflow_view methods=GET; $::Org }"
--- request eval
["GET /t", "HEAD /t", "POST /t"]
--- more_headers eval
["Authorization: Bearer $::ok", "Authorization: Bearer $::ok",
 "Authorization: Bearer $::ok"]
--- error_code eval
[403, 403, 200]



=== TEST 2: an SSI include into a checked location is refused (bug: subrequests skip the access phase)
--- http_config eval: $::HttpConfig
--- config eval
"location /page { ssi on; default_type text/html; }
 location /api/ { validibot_auth API; $::Up }"
--- user_files
>>> page
[<!--# include virtual="/api/x" -->]
--- request
GET /page
--- more_headers eval
"Authorization: Bearer $::ok"
--- response_body_unlike: up user
--- error_log
validibot: subrequest to "/api/x" refused



=== TEST 3: auth_request into a checked location is refused, never a pass without a key
--- http_config eval: $::HttpConfig
--- config eval
"location /protected { auth_request /check; $::Up }
 location = /check { internal; validibot_auth API; $::Up }"
--- request
GET /protected
--- error_code: 403
--- error_log
validibot: subrequest to "/check" refused



=== TEST 4: validibot_allow_subrequests on: the operator lets subrequests in
--- http_config eval: $::HttpConfig
--- config eval
"location /page { ssi on; default_type text/html; }
 location /api/ { validibot_auth API; validibot_allow_subrequests on; $::Up }"
--- user_files
>>> page
[<!--# include virtual="/api/x" -->]
--- request
GET /page
--- response_body
[up user=
]



=== TEST 5: a hinted key moved from user 1 to user 12 is judged as 12's (bug: a prefix compare of the owner)
--- http_config eval: $::HttpConfig
--- config eval
"location /t { $::Org }"
--- request eval
["GET /t", "GET /t"]
--- more_headers eval
["Authorization: Bearer $::moved", "Authorization: Bearer $::moved"]
--- response_body_filters eval
::between([sub { Validibot::Test::redis_cmd('HSET', $::moved_rkey, 'user', '12') }])
--- error_code eval
[200, 403]
--- response_headers eval
["X-S: ok", "X-S: not_member"]



=== TEST 6: a duplicate Authorization counts for the server's validibot_fail_limit (bug: not counted)
--- http_config eval: $::HttpConfig
--- config eval
"validibot_fail_limit zone=failed max=2 window=60s;
 location /t { validibot_auth API; $::Up }"
--- request eval
["GET /t", "GET /t", "GET /t"]
--- more_headers eval
["Authorization: Bearer $::ok\r\nAuthorization: Bearer $::ok",
 "Authorization: Bearer $::ok\r\nAuthorization: Bearer $::ok",
 "Authorization: Bearer $::ok"]
--- error_code eval
[400, 400, 429]



=== TEST 7: a 503 (Redis unreachable) never counts (bug: counted)
--- http_config eval
my $c = $::HttpConfig;
$c =~ s{redis://[^;]+;}{unix:\$TEST_NGINX_HTML_DIR/no-redis.sock;};
$c
--- config eval
"location /t { validibot_auth API; validibot_fail_limit zone=failed max=1 window=60s; $::Up }"
--- user_files
>>> no-redis.sock
not a socket
--- request eval
["GET /t", "GET /t", "GET /t"]
--- more_headers eval
["Authorization: Bearer $::ok", "Authorization: Bearer $::ok",
 "Authorization: Bearer $::ok"]
--- error_code eval
[503, 503, 503]



=== TEST 8: an inactive membership that holds the role: 403 not_member (bug: is_active ignored)
--- http_config eval: $::HttpConfig
--- config eval
"location /t { validibot_require workflow_view; $::Org }"
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::inactive"
--- error_code: 403
--- response_headers
X-S: not_member



=== TEST 9: a revoked_at in the future still revokes (bug: compared with now)
--- http_config eval: $::HttpConfig
--- config eval
"location /t { $::Org }"
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::future"
--- error_code: 401
--- response_headers
X-S: revoked



=== TEST 10: a permission code stored as a role grants nothing (bug: codes mixed up)
--- http_config eval: $::HttpConfig
--- config eval
"location /t { validibot_require workflow_launch; $::Org }"
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::perm"
--- error_code: 403
--- response_headers
X-S: forbidden



=== TEST 11: a stored digest off in its first, a middle or its last character: 401 each (bug: a compare that looks at one end)
--- http_config eval: $::HttpConfig
--- config eval
"location /t { $::Org }"
--- request eval
["GET /t", "GET /t", "GET /t"]
--- more_headers eval
["Authorization: Bearer $::off{0}", "Authorization: Bearer $::off{31}",
 "Authorization: Bearer $::off{63}"]
--- error_code eval
[401, 401, 401]
--- response_headers eval
["X-S: invalid", "X-S: invalid", "X-S: invalid"]
