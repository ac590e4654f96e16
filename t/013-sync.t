# What the module does with validibot-sync's records (docs/sync.md):
# validibot_sync_max_lag reads the bridge's heartbeat in the lookups'
# round trip (one read per write to Redis) and answers 503 + Retry-After
# when it is missing or too old, saying why in the error log at most once
# a second; is_superuser with validibot_superusers; the status gauge
# validibot_sync_heartbeat_age_seconds.

use Test::Nginx::Socket 'no_plan';
use Validibot::Test;
use Time::HiRes ();

no_shuffle();
log_level('info');

sub setup {
    redis_flush_prefix();
    add_user(7);
    add_user(9, is_superuser => 1);
    add_org('acme');
    add_member('acme', 7, 'executor');
    make_key(seed => 'sync-seven', user => 7);
    make_key(seed => 'sync-nine', user => 9);
    Validibot::Test::redis_cmd('CONFIG', 'RESETSTAT');
}

# the bridge's heartbeat, $age_ms old
sub beat {
    my ($age_ms) = @_;
    redis_cmd('HSET', rkey('sync', 'state'), 'heartbeat_ms',
              int(Time::HiRes::time() * 1000) - $age_ms);
}

# the HGETs (org status, heartbeat) Redis ran since last asked
sub calls {
    my ($body) = @_;
    Time::HiRes::sleep(0.02);
    my $s = Validibot::Test::redis_cmd('INFO', 'commandstats');
    my %c;
    $c{$1} = $2 while $s =~ /cmdstat_(\w+):calls=(\d+)/g;
    Validibot::Test::redis_cmd('CONFIG', 'RESETSTAT');
    # each response here is one lookup, which also reads the key's usage
    # record (HGET usage:<id> last_used_at): not counted
    return $body . sprintf(" hget=%d\n", ($c{hget} // 0) - 1);
}

our $seven = make_key(seed => 'sync-seven', user => 7, write => 0);
our $nine = make_key(seed => 'sync-nine', user => 9, write => 0);

our $HttpConfig = <<'_EOC_';
    validibot_redis redis://127.0.0.1:$TEST_NGINX_REDIS_PORT/0;
    validibot_digest_key 1 $TEST_NGINX_DIGEST_KEY_FILE_V1;
    server {
        listen unix:$TEST_NGINX_HTML_DIR/upstream.sock;
        validibot_identity_headers off;
        location / {
            return 200 "user=$http_x_validibot_user roles=$http_x_validibot_roles";
        }
    }
_EOC_

our $Config = <<'_EOC_';
    location ~ ^/o/(?<org>[^/]+)/launch {
        validibot_auth API;
        validibot_org $org;
        validibot_require workflow_launch;
        proxy_pass http://unix:$TEST_NGINX_HTML_DIR/upstream.sock;
    }
    location /plain {
        validibot_auth API;
        proxy_pass http://unix:$TEST_NGINX_HTML_DIR/upstream.sock;
    }
    location = /metrics {
        validibot_status;
    }
_EOC_

our $Unavailable = '{"detail":"Authentication service unavailable","code":"service_unavailable"}';

run_tests();

__DATA__

=== TEST 1: validibot_sync_max_lag: a fresh heartbeat, lookups answer as usual; one heartbeat read per lookup sent alone
--- init
::setup(); ::beat(100);
--- http_config eval: $::HttpConfig . "validibot_sync_max_lag 5s;"
--- config eval: $::Config
--- request eval
["GET /plain", "GET /plain", "GET /o/acme/launch"]
--- more_headers eval
["Authorization: Bearer $::seven", "Authorization: Bearer $::seven", "Authorization: Bearer $::seven"]
--- response_body_filters eval
\&::calls
--- response_body eval
["user=7 roles= hget=1\n", "user=7 roles= hget=1\n", "user=7 roles=executor hget=2\n"]
--- no_error_log
validibot-sync



=== TEST 2: a heartbeat older than validibot_sync_max_lag: 503 with Retry-After, and the log says why
--- init
::setup(); ::beat(60000);
--- http_config eval: $::HttpConfig . "validibot_sync_max_lag 5s;"
--- config eval: $::Config
--- request
GET /plain
--- more_headers eval
"Authorization: Bearer $::seven"
--- error_code: 503
--- response_headers
Retry-After: 1
--- response_body eval: $::Unavailable
--- error_log eval
[qr/validibot: validibot-sync's heartbeat in redis 127\.0\.0\.1:\d+ is 6\d{4} ms old, over validibot_sync_max_lag 5000 ms: lookups answer 503/,
 qr/refused: store_error/]



=== TEST 3: no heartbeat at all: 503, and the log says so
--- init
::setup();
--- http_config eval: $::HttpConfig . "validibot_sync_max_lag 1500ms;"
--- config eval: $::Config
--- request
GET /o/acme/launch
--- more_headers eval
"Authorization: Bearer $::nine"
--- error_code: 503
--- response_body eval: $::Unavailable
--- error_log eval
[qr/validibot: no validibot-sync heartbeat in redis 127\.0\.0\.1:\d+ \(validibot_sync_max_lag is set\): lookups answer 503/,
 qr/refused: store_error, validibot-sync lagging/]



=== TEST 4: the heartbeat comes back: so do the answers
--- init
::setup(); ::beat(60000);
--- http_config eval: $::HttpConfig . "validibot_sync_max_lag 5s;"
--- config eval: $::Config
--- request eval
["GET /plain", "GET /plain"]
--- more_headers eval
["Authorization: Bearer $::seven", "Authorization: Bearer $::seven"]
--- response_body_filters eval
my $i = 0;
sub { ::beat(0) if $i++ == 0; $_[0] }
--- error_code eval
[503, 200]



=== TEST 5: validibot_sync_max_lag off (the default): no heartbeat read, none needed
--- init
::setup();
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
["GET /plain", "GET /o/acme/launch"]
--- more_headers eval
["Authorization: Bearer $::seven", "Authorization: Bearer $::seven"]
--- response_body_filters eval
\&::calls
--- response_body eval
["user=7 roles= hget=0\n", "user=7 roles=executor hget=1\n"]
--- no_error_log
validibot-sync



=== TEST 6: the status gauge validibot_sync_heartbeat_age_seconds (2 s old; max_lag 60s: a slow start cannot make it stale)
--- init
::setup(); ::beat(2000);
--- http_config eval: $::HttpConfig . "validibot_sync_max_lag 60s;"
--- config eval: $::Config
--- request eval
["GET /plain", "GET /metrics"]
--- more_headers eval
["Authorization: Bearer $::seven", ""]
--- response_body_like eval
["user=7",
 qr/^# HELP validibot_sync_heartbeat_age_seconds Age of the newest validibot-sync heartbeat read\.\n# TYPE validibot_sync_heartbeat_age_seconds gauge\nvalidibot_sync_heartbeat_age_seconds (?:[2-9]|[1-5]\d)\.\d{3}$/m]



=== TEST 7: a superuser passes every org check by default (validibot_superusers allow), as in Validibot
--- init
::setup();
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
["GET /o/acme/launch", "GET /o/acme/launch", "GET /o/acme/launch"]
--- more_headers eval
["Authorization: Bearer $::nine", "Authorization: Bearer $::nine", "Authorization: Bearer $::seven"]
--- response_body eval
["user=9 roles=", "user=9 roles=", "user=7 roles=executor"]
--- error_code eval
[200, 200, 200]



=== TEST 8: validibot_superusers deny: a superuser who is not a member gets 403 like anyone
--- init
::setup();
--- http_config eval: $::HttpConfig
--- config eval: "validibot_superusers deny;\n" . $::Config
--- request eval
["GET /o/acme/launch", "GET /o/acme/launch"]
--- more_headers eval
["Authorization: Bearer $::nine", "Authorization: Bearer $::seven"]
--- error_code eval
[403, 200]



=== TEST 9: a superuser whose org is gone, or who is inactive, is still refused
--- init
::setup();
Validibot::Test::redis_cmd('DEL', Validibot::Test::rkey('org', 'acme'));
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
["GET /o/acme/launch", "GET /plain"]
--- more_headers eval
["Authorization: Bearer $::nine", "Authorization: Bearer $::nine"]
--- response_body_filters eval
my $i = 0;
sub { Validibot::Test::add_user(9, is_superuser => 1, is_active => 0) if $i++ == 0; $_[0] }
--- error_code eval
[403, 401]



=== TEST 10: validibot_sync_max_lag: bad values make nginx -t fail naming the directive
--- http_config eval: $::HttpConfig . "validibot_sync_max_lag 0;"
--- config eval: $::Config
--- must_die
--- error_log
"validibot_sync_max_lag" must be "off" or a time above 0 ("5s", "1500ms"), not "0"



=== TEST 11: validibot_sync_max_lag is an http-level directive
--- http_config eval: $::HttpConfig
--- config eval: "validibot_sync_max_lag 5s;\n" . $::Config
--- must_die
--- error_log
"validibot_sync_max_lag" directive is not allowed here



=== TEST 12: validibot_superusers takes allow or deny
--- http_config eval: $::HttpConfig
--- config eval: "validibot_superusers maybe;\n" . $::Config
--- must_die
--- error_log
"validibot_superusers" must be "allow" or "deny", not "maybe"
