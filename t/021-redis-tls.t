# rediss://: TLS to Redis through nginx's OpenSSL layer.  The test Redis
# is restarted with a TLS port beside its plain one (which seeds the data);
# a CA, a second CA, a server certificate (DNS:redis.test, IP:127.0.0.1)
# and a client certificate are made here with openssl.

use Test::Nginx::Socket 'no_plan';
use Validibot::Test;
use Validibot::Certs qw(make_certs);
use File::Temp ();
use IO::Socket::INET;
use Time::HiRes ();

no_shuffle();
log_level('info');

our $Dir = File::Temp::tempdir('validibot-tls-XXXXXX', TMPDIR => 1,
                               CLEANUP => 1);

make_certs($Dir);

$ENV{TEST_NGINX_TLS_DIR} = $Dir;
$ENV{TEST_NGINX_TLS_PORT} = free_port();

# a port that accepts connections and never says a word
our $Silent = IO::Socket::INET->new(Listen => 5, LocalAddr => '127.0.0.1',
                                    LocalPort => 0, ReuseAddr => 1)
    or die "silent listener: $!";
$ENV{TEST_NGINX_SILENT_PORT} = $Silent->sockport;

Validibot::Test::redis_stop();
Validibot::Test::redis_start('--tls-port', $ENV{TEST_NGINX_TLS_PORT},
                             '--tls-cert-file', "$Dir/server.crt",
                             '--tls-key-file', "$Dir/server.key",
                             '--tls-ca-cert-file', "$Dir/ca.crt",
                             '--tls-auth-clients', 'no');

# the next test file gets the plain Redis it expects
END {
    local $?;
    Validibot::Test::redis_stop();
    Validibot::Test::redis_start();
}

sub seed {
    redis_flush_prefix();
    Validibot::Test::redis_cmd('CONFIG', 'SET', 'tls-auth-clients', 'no');
    add_user(5);
    make_key(seed => 'tls', user => 5);
}

our $ok = seed();

our $HttpConfig = echo_http_config(
    'validibot_redis rediss://127.0.0.1:$TEST_NGINX_TLS_PORT/0;',
    'validibot_redis_ssl_trusted_certificate $TEST_NGINX_TLS_DIR/ca.crt;',
    'validibot_redis_ssl_server_name redis.test;',
    # room for handshakes under a sanitizer on a busy machine
    'validibot_redis_timeout 3s;',
);

our $Config = echo_config();

# $HttpConfig with the first line matching $re replaced (or removed)
sub conf {
    my ($re, $line) = @_;
    my $c = $::HttpConfig;
    $c =~ s{^\s*$re[^\n]*\n}{$line ? "    $line\n" : ''}me or die "no $re";
    return $c;
}

# validibot_cache over rediss://: waits until the tracking connection is
# subscribed on the TLS port, and after the next response runs $write
sub tracked_then {
    my ($write) = @_;
    my $i = 0;
    return sub {
        my $body = $_[0];
        my $n = $i++;
        if ($n == 0) {
            for (1 .. 400) {
                my $l = Validibot::Test::redis_cmd('CLIENT', 'LIST');
                return $body
                    if $l =~ /^(?=.*name=validibot-nginx-tracking )(?=.*sub=1 )(?=.*laddr=127\.0\.0\.1:$ENV{TEST_NGINX_TLS_PORT} ).*$/m;
                Time::HiRes::sleep(0.025);
            }
            die "no tracking connection on the TLS port";
        }
        $write->() if $n == 2;
        return $body;
    };
}

run_tests();

__DATA__

=== TEST 1: verify on, the right CA and server name: 200 over TLS
--- init
::seed();
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
qr/\[info\] .*validibot: redis 127\.0\.0\.1: TLSv1\.[23], session new/
--- no_error_log
[error]
[warn]



=== TEST 2: no server name: the URL's address is checked against the certificate's IP names
--- init
::seed();
--- http_config eval
::conf('validibot_redis_ssl_server_name')
--- config eval: $::Config
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::ok"
--- error_code: 200
--- response_body
user=5
--- no_error_log
[error]



=== TEST 3: a CA that did not sign the server's certificate: 503 and why
--- init
::seed();
--- http_config eval
::conf('validibot_redis_ssl_trusted_certificate',
       'validibot_redis_ssl_trusted_certificate $TEST_NGINX_TLS_DIR/wrong-ca.crt;')
--- config eval: $::Config
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::ok"
--- error_code: 503
--- error_log eval
[qr/\[error\] .*validibot: redis 127\.0\.0\.1: TLS certificate verify error: \(\d+:/,
 qr/\[error\] .*validibot: redis 127\.0\.0\.1:\d+: TLS handshake failed, 1 lookup\(s\) failed/]



=== TEST 4: a server name the certificate does not have: 503 and why
--- init
::seed();
--- http_config eval
::conf('validibot_redis_ssl_server_name',
       'validibot_redis_ssl_server_name other.test;')
--- config eval: $::Config
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::ok"
--- error_code: 503
--- error_log eval
[qr/\[error\] .*validibot: redis 127\.0\.0\.1: TLS certificate does not match "other\.test"/,
 qr/TLS handshake failed, 1 lookup\(s\) failed/]



=== TEST 5: verify off: the wrong CA passes, and a warning says so at start
--- init
::seed();
--- http_config eval
my $c = ::conf('validibot_redis_ssl_trusted_certificate',
               'validibot_redis_ssl_trusted_certificate $TEST_NGINX_TLS_DIR/wrong-ca.crt;');
$c . "    validibot_redis_ssl_verify off;\n";
--- config eval: $::Config
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::ok"
--- error_code: 200
--- response_body
user=5
--- error_log eval
qr/\[warn\] .*"validibot_redis_ssl_verify" is off: the certificate and the name of Redis at "127\.0\.0\.1" are not checked/
--- no_error_log
[error]



=== TEST 6: Redis requires a client certificate: given, it works
--- init
::seed();
Validibot::Test::redis_cmd('CONFIG', 'SET', 'tls-auth-clients', 'yes');
--- http_config eval
$::HttpConfig . <<'_EOC_';
    validibot_redis_ssl_certificate $TEST_NGINX_TLS_DIR/client.crt;
    validibot_redis_ssl_certificate_key $TEST_NGINX_TLS_DIR/client.key;
_EOC_
--- config eval: $::Config
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::ok"
--- error_code: 200
--- response_body
user=5
--- no_error_log
[error]



=== TEST 7: Redis requires a client certificate: none given, 503
--- init
::seed();
Validibot::Test::redis_cmd('CONFIG', 'SET', 'tls-auth-clients', 'yes');
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::ok"
--- error_code: 503
--- error_log eval
qr/\[error\] .*validibot: redis 127\.0\.0\.1:\d+: [^,]+, 1 lookup\(s\) failed/



=== TEST 8: a reconnect resumes the TLS session of the previous connection
--- init
::seed();
::nginx_get('/t', $::ok) == 200 or die 'expected 200';
# the key's usage record goes out after the response: let it be answered
Time::HiRes::sleep(0.2);
Validibot::Test::redis_cmd('CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes');
Time::HiRes::sleep(0.2);
--- http_config eval
$::HttpConfig . "    validibot_redis_connections 1;\n"
--- config eval: $::Config
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::ok"
--- error_code: 200
--- response_body
user=5
--- error_log eval
[qr/validibot: redis 127\.0\.0\.1: TLSv1\.[23], session new/,
 qr/validibot: redis 127\.0\.0\.1: TLSv1\.[23], session reused/]
--- no_error_log
[error]



=== TEST 9: a server that accepts and never shakes hands: 503 within the lookup deadline
--- init
::seed();
--- http_config eval
my $c = ::conf('validibot_redis ',
               'validibot_redis rediss://127.0.0.1:$TEST_NGINX_SILENT_PORT;');
$c =~ s/validibot_redis_timeout 3s/validibot_redis_timeout 500ms/;
$c
--- config eval: $::Config
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::ok"
--- error_code: 503
--- error_log eval
qr/\[error\] .*validibot: redis 127\.0\.0\.1:\d+: timed out, 1 lookup\(s\) failed/
--- timeout: 10



=== TEST 10: plain Redis spoken to as rediss:// (it waits for a line): 503, never a pass
--- init
::seed();
--- http_config eval
::conf('validibot_redis ',
       'validibot_redis rediss://127.0.0.1:$TEST_NGINX_REDIS_PORT;')
--- config eval: $::Config
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::ok"
--- error_code: 503
--- error_log eval
qr/\[error\] .*validibot: redis 127\.0\.0\.1:\d+: (?:TLS handshake failed|timed out), 1 lookup\(s\) failed/
--- timeout: 10



=== TEST 11: validibot_redis_ssl_* without rediss://
--- http_config
    validibot_redis redis://127.0.0.1:6379;
    validibot_redis_ssl_verify off;
--- config
--- must_die
--- error_log
"validibot_redis_ssl_*" directives need a "rediss://" URL in "validibot_redis"



=== TEST 12: a client certificate without its key
--- http_config
    validibot_redis rediss://127.0.0.1:6379;
    validibot_redis_ssl_certificate $TEST_NGINX_TLS_DIR/client.crt;
--- config
--- must_die
--- error_log eval
qr/no "validibot_redis_ssl_certificate_key" for "validibot_redis_ssl_certificate" ".*client\.crt"/



=== TEST 13: a CA file that does not exist
--- http_config
    validibot_redis rediss://127.0.0.1:6379;
    validibot_redis_ssl_trusted_certificate /nonexistent/ca.crt;
--- config
--- must_die
--- error_log
"/nonexistent/ca.crt"



=== TEST 14: validibot_cache over rediss://: the tracking connection shakes hands too, and a deleted key is refused by the next request
--- init
::seed();
--- http_config eval
$::HttpConfig . "    validibot_cache zone=keys:1m;\n"
--- config eval
$::Config . "    location = /ready { return 200 \"ready\\n\"; }\n"
--- request eval
["GET /ready", "GET /t", "GET /t", "GET /t"]
--- more_headers eval
["", "Authorization: Bearer $::ok", "Authorization: Bearer $::ok",
 "Authorization: Bearer $::ok"]
--- response_body_filters eval
::tracked_then(sub {
    Validibot::Test::redis_cmd('DEL', 'validibot:key:' . ::key_public_id($::ok));
})
--- error_code eval
[200, 200, 200, 401]
--- no_error_log
[error]
