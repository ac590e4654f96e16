# Redis failures: down and back (heals with no reload), slow (timeout),
# a client leaving mid-lookup, a flushed script cache, AUTH and SELECT,
# a custom prefix, and replies that make no sense.  Always fail closed.

use Test::Nginx::Socket 'no_plan';
use Validibot::Test;
use POSIX ();
use Time::HiRes ();
use IO::Socket::INET ();

no_shuffle();
log_level('info');

sub seed {
    redis_flush_prefix();
    add_user(5);
    make_key(seed => 'redis-ok', user => 5);
}

our $ok = seed();
our $ok_id = key_public_id($ok);

# runs code in a child after a delay, while the block's requests go on
sub later {
    my ($delay, $code) = @_;
    my $pid = fork();
    die "fork: $!" unless defined $pid;
    return if $pid;
    Time::HiRes::sleep($delay);
    eval { $code->() };
    warn "later: $@" if $@;
    POSIX::_exit(0);
}

# like later(), but the delay counts from the moment nginx accepts
# connections: --- init runs once nginx was started, and a sanitized
# nginx on a loaded machine may take a second before it listens
sub after_nginx_up {
    my ($delay, $code) = @_;
    later(0, sub {
        my $deadline = Time::HiRes::time() + 30;
        until (IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                     PeerPort => $ENV{TEST_NGINX_PORT},
                                     Timeout => 1)
               || Time::HiRes::time() > $deadline)
        {
            Time::HiRes::sleep(0.02);
        }
        Time::HiRes::sleep($delay);
        $code->();
    });
}

our $HttpConfig = <<'_EOC_';
    validibot_redis redis://127.0.0.1:$TEST_NGINX_REDIS_PORT/0;
    validibot_redis_timeout 300ms;
    validibot_digest_key 1 $TEST_NGINX_DIGEST_KEY_FILE_V1;

    # the second request within two seconds waits: a pause between requests
    limit_req_zone $server_name zone=pause:1m rate=30r/m;

    server {
        listen unix:$TEST_NGINX_HTML_DIR/upstream.sock;
        validibot_identity_headers off;
        location / { return 200 "user=$http_x_validibot_user\n"; }
    }
_EOC_

our $Config = <<'_EOC_';
    location /t {
        validibot_auth API;
        proxy_pass http://unix:$TEST_NGINX_HTML_DIR/upstream.sock;
    }

    location /pause {
        limit_req zone=pause burst=5;
        proxy_pass http://unix:$TEST_NGINX_HTML_DIR/upstream.sock;
    }
_EOC_

run_tests();

__DATA__

=== TEST 1: Redis stopped: 503 at once; restarted: the same nginx heals
--- init
Validibot::Test::redis_wait_up();
::seed();
Validibot::Test::redis_stop();
::later(0.5, sub { Validibot::Test::redis_start(); ::seed(); });
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
["GET /t", "GET /pause", "GET /pause", "GET /t"]
--- more_headers eval
["Authorization: Bearer $::ok", "", "", "Authorization: Bearer $::ok"]
--- error_code eval
[503, 200, 200, 200]
--- response_body eval
['{"detail":"Authentication service unavailable","code":"service_unavailable"}',
 "user=\n", "user=\n", "user=5\n"]
--- timeout: 6
--- no_error_log
[alert]



=== TEST 2: slow Redis (DEBUG SLEEP): 503 when the timeout is reached
--- init
Validibot::Test::redis_wait_up();
::seed();
::later(0.1, sub { Validibot::Test::redis_send_nowait('DEBUG', 'SLEEP', '3'); });
Time::HiRes::sleep(0.3);
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::ok"
--- error_code: 503
--- response_headers
Retry-After: 1
--- error_log eval
[qr/validibot: redis 127\.0\.0\.1:\d+: timed out, 1 lookup\(s\) failed/,
 qr/validibot: key "$::ok_id" refused: store_error/]



=== TEST 3: slow Redis: 503 during the stall, 200 again after it
--- init
Validibot::Test::redis_wait_up();
::seed();
# Redis stalls from 1 s to 3 s after nginx is up; the requests come at
# 0 s, 2 s (during the stall), 4 s and 4 s (after it): /pause paces them
::after_nginx_up(1, sub { Validibot::Test::redis_cmd('DEBUG', 'SLEEP', '2'); });
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
["GET /pause", "GET /pause", "GET /t", "GET /pause", "GET /t"]
--- more_headers eval
["", "", "Authorization: Bearer $::ok", "", "Authorization: Bearer $::ok"]
--- error_code eval
[200, 200, 503, 200, 200]
--- response_body eval
["user=\n", "user=\n",
 '{"detail":"Authentication service unavailable","code":"service_unavailable"}',
 "user=\n", "user=5\n"]
--- timeout: 10



=== TEST 4: a client that goes away mid-lookup is cleaned up
--- init
Validibot::Test::redis_wait_up();
::seed();
::later(0.1, sub { Validibot::Test::redis_send_nowait('DEBUG', 'SLEEP', '3'); });
Time::HiRes::sleep(0.3);
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::ok"
--- timeout: 0.15
--- abort
--- ignore_response
--- wait: 1.2
--- error_log
client prematurely closed connection
--- no_error_log
[alert]
[crit]
signal



=== TEST 5: SCRIPT FLUSH under a live connection: NOSCRIPT, sent again, 200
--- init
Validibot::Test::redis_wait_up();
::seed();
::later(0.6, sub { Validibot::Test::redis_cmd('SCRIPT', 'FLUSH'); });
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
["GET /t", "GET /pause", "GET /pause", "GET /t", "GET /t"]
--- more_headers eval
["Authorization: Bearer $::ok", "", "", "Authorization: Bearer $::ok",
 "Authorization: Bearer $::ok"]
--- error_code eval
[200, 200, 200, 200, 200]
--- response_body eval
["user=5\n", "user=\n", "user=\n", "user=5\n", "user=5\n"]
--- timeout: 6



=== TEST 6: AUTH with a user and SELECT of a database
--- init
Validibot::Test::redis_wait_up();
Validibot::Test::redis_cmd('ACL', 'SETUSER', 'vbtest', 'reset', 'on',
                           '>s3cret-pass', '~*', '&*', '+@all');
Validibot::Test::redis_db(3);
::seed();
Validibot::Test::redis_db(0);
Validibot::Test::redis_flush_prefix();
--- http_config eval
my $c = $::HttpConfig;
$c =~ s{redis://127\.0\.0\.1:\$TEST_NGINX_REDIS_PORT/0}
       {redis://vbtest:s3cret-pass\@127.0.0.1:\$TEST_NGINX_REDIS_PORT/3};
$c
--- config eval: $::Config
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::ok"
--- error_code: 200
--- response_body
user=5
--- no_error_log
s3cret



=== TEST 7: a wrong password: 503, the reason logged, never the password
--- http_config eval
my $c = $::HttpConfig;
$c =~ s{redis://127\.0\.0\.1:\$TEST_NGINX_REDIS_PORT/0}
       {redis://vbtest:wrong-pass\@127.0.0.1:\$TEST_NGINX_REDIS_PORT/3};
$c
--- config eval: $::Config
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::ok"
--- error_code: 503
--- error_log
refused the handshake: WRONGPASS
--- no_error_log
wrong-pass



=== TEST 8: validibot_redis_prefix: records under another prefix
--- init
Validibot::Test::redis_cmd('ACL', 'DELUSER', 'vbtest');
Validibot::Test::redis_db(3);
Validibot::Test::redis_cmd('FLUSHDB');
Validibot::Test::redis_db(0);
{
    local $Validibot::Test::Prefix = 'tenant7:';
    Validibot::Test::redis_flush_prefix();
    Validibot::Test::add_user(5);
    Validibot::Test::make_key(seed => 'redis-ok', user => 5);
}
Validibot::Test::redis_flush_prefix();
--- http_config eval
$::HttpConfig . "validibot_redis_prefix tenant7:;"
--- config eval: $::Config
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::ok"
--- error_code: 200
--- response_body
user=5



=== TEST 9: a key record of the wrong type: Redis errors, 503
--- init
Validibot::Test::redis_flush_prefix('tenant7:');
::seed();
Validibot::Test::redis_cmd('DEL', "validibot:key:$::ok_id");
Validibot::Test::redis_cmd('SET', "validibot:key:$::ok_id", 'not a hash');
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::ok"
--- error_code: 503
--- error_log eval
qr/validibot: unexpected reply from redis for key "$::ok_id": .*WRONGTYPE/



=== TEST 10: a corrupt digest_version refuses the key
--- init
::seed();
Validibot::Test::redis_cmd('HSET', "validibot:key:$::ok_id",
                           'digest_version', 'seven');
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::ok"
--- error_code: 401
--- error_log eval
qr/validibot: key "$::ok_id" refused: invalid/



=== TEST 11: a server that answers garbage: 503, nothing passes
--- http_config eval
my $c = $::HttpConfig;
$c =~ s{redis://127\.0\.0\.1:\$TEST_NGINX_REDIS_PORT/0}{redis://127.0.0.1:\$TEST_NGINX_RAND_PORT_1/0};
$c
--- config eval: $::Config
--- tcp_listen: $TEST_NGINX_RAND_PORT_1
--- tcp_reply eval
"\@garbage\r\n"
--- tcp_no_close
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::ok"
--- error_code: 503
--- error_log
protocol error



=== TEST 12: a server that answers something else than our script's shape
--- http_config eval
my $c = $::HttpConfig;
$c =~ s{redis://127\.0\.0\.1:\$TEST_NGINX_REDIS_PORT/0}{redis://127.0.0.1:\$TEST_NGINX_RAND_PORT_2/0};
$c
--- config eval: $::Config
--- tcp_listen: $TEST_NGINX_RAND_PORT_2
--- tcp_reply eval
"+OK\r\n" x 3
--- tcp_no_close
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::ok"
--- error_code: 503
--- error_log
SCRIPT LOAD failed



=== TEST 13: a server that announces a gigantic array: refused, 503, no huge allocation
--- http_config eval
my $c = $::HttpConfig;
$c =~ s{redis://127\.0\.0\.1:\$TEST_NGINX_REDIS_PORT/0}{redis://127.0.0.1:\$TEST_NGINX_RAND_PORT_3/0};
$c
--- config eval: $::Config
--- tcp_listen: $TEST_NGINX_RAND_PORT_3
--- tcp_reply eval
"*2147483647\r\n"
--- tcp_no_close
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::ok"
--- error_code: 503
--- error_log
protocol error



=== TEST 14: validibot_redis unix:/path?db=N
--- init
Validibot::Test::redis_db(2);
::seed();
Validibot::Test::redis_db(0);
Validibot::Test::redis_flush_prefix();
--- http_config eval
my $c = $::HttpConfig;
$c =~ s{redis://127\.0\.0\.1:\$TEST_NGINX_REDIS_PORT/0}
       {unix:\$TEST_NGINX_REDIS_SOCKET?db=2};
$c
--- config eval: $::Config
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::ok"
--- error_code: 200
--- response_body
user=5
