# A Redis host name with nginx's "resolver" configured: resolved without
# blocking on every connect (not when the configuration is read), so a
# name that moves is followed at the next reconnect without a reload.
# The DNS server is t/lib/Validibot/DNS.pm, answering from a file; Redis
# listens on 127.0.0.1 only, so 127.0.0.2 is a dead address.

use Test::Nginx::Socket 'no_plan';
use Validibot::Test;
use Validibot::DNS;
use File::Temp ();
use IO::Socket::INET;
use Time::HiRes ();

no_shuffle();
log_level('info');

our $Dir = File::Temp::tempdir('validibot-dns-XXXXXX', TMPDIR => 1,
                               CLEANUP => 1);
our $Dns = Validibot::DNS->start("$Dir/zone");
$ENV{TEST_NGINX_DNS_PORT} = $Dns->port;

sub seed {
    redis_flush_prefix();
    add_user(5);
    make_key(seed => 'resolver', user => 5);
}

our $ok = seed();

# the name's answer changes; nginx's cache of the old one (TTL 0) ends
# with the second, and nginx's connections to Redis are closed
sub move {
    my ($addr) = @_;
    $Dns->set('redis.test' => $addr);
    Time::HiRes::sleep(1.1);
    Validibot::Test::redis_cmd('CLIENT', 'KILL', 'TYPE', 'normal',
                               'SKIPME', 'yes');
    Time::HiRes::sleep(0.2);
}

our $HttpConfig = echo_http_config(
    'resolver 127.0.0.1:$TEST_NGINX_DNS_PORT ipv6=off;',
    'resolver_timeout 2s;',
    'validibot_redis redis://redis.test:$TEST_NGINX_REDIS_PORT/0;',
    'validibot_redis_timeout 500ms;',
    'validibot_redis_connections 1;',
);

our $Config = echo_config();

run_tests();

END { $Dns->stop if $Dns }

__DATA__

=== TEST 1: a name only the resolver knows: resolved when connecting, 200
--- init
::seed();
$::Dns->set('redis.test' => '127.0.0.1');
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::ok"
--- error_code: 200
--- response_body
user=5
--- error_log eval
qr/\[info\] .*validibot: redis host "redis\.test" resolved to 127\.0\.0\.1:\d+/
--- no_error_log
[error]



=== TEST 2: the name moves to a dead address: the reconnect follows it, 503
--- init
::seed();
$::Dns->set('redis.test' => '127.0.0.1');
::nginx_get('/t', $::ok) == 200 or die 'expected 200';
::move('127.0.0.2');
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::ok"
--- error_code: 503
--- error_log eval
[qr/validibot: redis host "redis\.test" resolved to 127\.0\.0\.2:\d+/,
 qr/\[error\] .*validibot: redis redis\.test:\d+: connect failed, 1 lookup\(s\) failed/]



=== TEST 3: the name comes back: 200 again, no reload
--- init
::seed();
$::Dns->set('redis.test' => '127.0.0.2');
::nginx_get('/t', $::ok) == 503 or die 'expected 503';
::move('127.0.0.1');
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::ok"
--- error_code: 200
--- response_body
user=5
--- error_log eval
qr/validibot: redis host "redis\.test" resolved to 127\.0\.0\.1:\d+/



=== TEST 4: a name the DNS does not know: 503 and why
--- init
::seed();
$::Dns->set('other.test' => '127.0.0.1');
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::ok"
--- error_code: 503
--- error_log eval
[qr/\[error\] .*validibot: redis host "redis\.test" could not be resolved \(3: Host not found\)/,
 qr/validibot: redis redis\.test:\d+: host not resolved, 1 lookup\(s\) failed/]



=== TEST 5: a DNS server that does not answer: 503 within the lookup deadline
--- init
::seed();
--- http_config eval
my $c = $::HttpConfig;
my $s = IO::Socket::INET->new(Proto => 'udp', LocalAddr => '127.0.0.1',
                              LocalPort => 0) or die;
$::Mute = $s;    # bound, never read
my $p = $s->sockport;
$c =~ s/\$TEST_NGINX_DNS_PORT/$p/;
$c
--- config eval: $::Config
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::ok"
--- error_code: 503
--- error_log eval
qr/\[error\] .*validibot: redis redis\.test:\d+: timed out, 1 lookup\(s\) failed/



=== TEST 6: without "resolver" the name is resolved when the configuration is read
--- http_config
    validibot_redis redis://redis.test:6379/0;
--- config
--- must_die
--- error_log
"validibot_redis": host not found in "redis://redis.test:6379/0"
