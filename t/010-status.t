# validibot_status: Prometheus text (format 0.0.4) with counters shared by
# the workers, read back with the Prometheus client library's own parser.

use Test::Nginx::Socket 'no_plan';
use Validibot::Test;
use IPC::Open2 ();

no_shuffle();

redis_flush_prefix();
add_user(41);
our $ok = make_key(seed => 'status-ok', user => 41);
our $bad = substr($ok, 0, -1) . (substr($ok, -1) eq '0' ? '1' : '0');

# Exposition bodies go through t/lib/prom_check.py; we keep the samples
# this file asserts on.  Other bodies pass unchanged.
sub prom {
    my ($body) = @_;
    return $body unless $body =~ /^# (HELP|TYPE) /;

    my $pid = IPC::Open2::open2(my $out, my $in, '/usr/bin/python3',
                                't/lib/prom_check.py');
    print $in $body;
    close $in;
    my @lines = <$out>;
    waitpid $pid, 0;
    return "exit $?\n" if $?;

    my $keep = qr/^(validibot_requests_total\{status="(ok|invalid|missing|malformed|store_error)"\}
                   |validibot_redis_(lookups|errors|timeouts)_total\{\}
                   |validibot_owner_hints_(used|wrong)_total\{\}
                   |validibot_redis_pipeline_depth\{\}
                   |validibot_lookup_duration_seconds_(count|bucket)\{(le="(1|\+Inf)")?\}
                   |validibot_fail_lockouts_total\{\})\s/x;
    return join '', grep { /$keep/ } @lines;
}

our $HttpConfig = <<'_EOC_';
    validibot_redis redis://127.0.0.1:$TEST_NGINX_REDIS_PORT/0;
    validibot_digest_key 1 $TEST_NGINX_DIGEST_KEY_FILE_V1;

    server {
        listen unix:$TEST_NGINX_HTML_DIR/upstream.sock;
        validibot_identity_headers off;
        location / { return 200 "up\n"; }
    }
_EOC_

our $Config = <<'_EOC_';
    location /t {
        validibot_auth API;
        proxy_pass http://unix:$TEST_NGINX_HTML_DIR/upstream.sock;
    }

    location = /metrics {
        validibot_status;
    }
_EOC_

run_tests();

__DATA__

=== TEST 1: counters by status, lookups, owner hints, latency, in the Prometheus format
The second and third lookups are of a key seen before: hinted.
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
["GET /t", "GET /t", "GET /t", "GET /t", "GET /t", "GET /metrics"]
--- more_headers eval
["Authorization: Bearer $::ok", "Authorization: Bearer $::ok",
 "Authorization: Bearer $::bad", "", "Authorization: Bearer nope", ""]
--- error_code eval
[200, 200, 401, 401, 401, 200]
--- response_body_filters eval
\&::prom
--- response_body eval
["up\n", "up\n",
 '{"detail":"Invalid API key","code":"authentication_failed"}',
 '{"detail":"Authentication required","code":"not_authenticated"}',
 '{"detail":"Invalid API key","code":"authentication_failed"}',
 'validibot_fail_lockouts_total{} 0
validibot_lookup_duration_seconds_bucket{le="+Inf"} 3
validibot_lookup_duration_seconds_bucket{le="1"} 3
validibot_lookup_duration_seconds_count{} 3
validibot_owner_hints_used_total{} 2
validibot_owner_hints_wrong_total{} 0
validibot_redis_errors_total{} 0
validibot_redis_lookups_total{} 3
validibot_redis_pipeline_depth{} 0
validibot_redis_timeouts_total{} 0
validibot_requests_total{status="invalid"} 1
validibot_requests_total{status="malformed"} 1
validibot_requests_total{status="missing"} 1
validibot_requests_total{status="ok"} 2
validibot_requests_total{status="store_error"} 0
']
--- response_headers eval
["", "", "", "", "", "Content-Type: text/plain; version=0.0.4"]



=== TEST 2: Redis errors are counted: both connections of the worker failed
--- http_config eval
my $c = $::HttpConfig;
$c =~ s{redis://[^;]+;}{unix:\$TEST_NGINX_HTML_DIR/no-redis.sock;};
$c
--- config eval: $::Config
--- user_files
>>> no-redis.sock
not a socket
--- request eval
["GET /t", "GET /metrics"]
--- more_headers eval
["Authorization: Bearer $::ok", ""]
--- error_code eval
[503, 200]
--- response_body_filters eval
\&::prom
--- response_body eval
['{"detail":"Authentication service unavailable","code":"service_unavailable"}',
 'validibot_fail_lockouts_total{} 0
validibot_lookup_duration_seconds_bucket{le="+Inf"} 0
validibot_lookup_duration_seconds_bucket{le="1"} 0
validibot_lookup_duration_seconds_count{} 0
validibot_owner_hints_used_total{} 0
validibot_owner_hints_wrong_total{} 0
validibot_redis_errors_total{} 2
validibot_redis_lookups_total{} 0
validibot_redis_pipeline_depth{} 0
validibot_redis_timeouts_total{} 0
validibot_requests_total{status="invalid"} 0
validibot_requests_total{status="malformed"} 0
validibot_requests_total{status="missing"} 0
validibot_requests_total{status="ok"} 0
validibot_requests_total{status="store_error"} 1
']



=== TEST 3: only GET and HEAD
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
POST /metrics
--- error_code: 405
