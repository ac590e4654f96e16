# validibot_cache: decisions kept by the worker, exact through Redis
# client-side caching.  Each response body gets what its lookup cost Redis
# appended: "cached" (no read at all) or "redis" (INFO commandstats, reset
# after each request).  Every exactness test caches the key first, then
# writes to Redis, waits for the write's acknowledgement, and sends the
# next request: it must be refused.  Nothing here waits for a report to
# arrive: the worker reads the tracking connection before a hit.

use Test::Nginx::Socket 'no_plan';
use Validibot::Test;
use IO::Socket::INET ();
use Time::HiRes ();

no_shuffle();
log_level('info');

sub setup {
    redis_flush_prefix();
    add_user(7);
    add_org('acme');
    add_member('acme', 7, 'executor');
    make_key(seed => 'cache-seven', user => 7);
    Validibot::Test::redis_cmd('CONFIG', 'RESETSTAT');
    # TEST 35 takes the channels away; a block of it that died before
    # giving them back must not leave the next blocks without a cache
    Validibot::Test::redis_cmd('ACL', 'SETUSER', 'default', 'allchannels');
}

our $key = make_key(seed => 'cache-seven', user => 7, write => 0);
our $id = key_public_id($key);
our $rkey = "validibot:key:$id";
our $unknown = make_key(seed => 'cache-unknown', user => 7, write => 0);

sub cost {
    my ($body) = @_;
    Time::HiRes::sleep(0.02);
    return "$body\n" if $body eq 'ready';
    my $s = Validibot::Test::redis_cmd('INFO', 'commandstats');
    my $n = 0;
    $n += $2 while $s =~ /cmdstat_(evalsha|eval|hmget|hget):calls=(\d+)/g;
    # the usage write is an EVAL too: only reads of a lookup count
    $n -= $1 if $s =~ /cmdstat_hset:calls=(\d+)/;
    Validibot::Test::redis_cmd('CONFIG', 'RESETSTAT');
    return $body . ($n > 0 ? " redis\n" : " cached\n");
}

# GET /metrics until this worker's tracking connection is subscribed
# (and has dropped the cache at least $flushes times)
sub wait_tracking {
    my ($flushes) = @_;
    $flushes = 0 unless defined $flushes && !ref $flushes;
    for (1 .. 400) {
        my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                      PeerPort => server_port(),
                                      Timeout => 2);
        if ($s) {
            print $s "GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n";
            local $/;
            my $r = <$s> // '';
            close $s;
            return if $r =~ /^validibot_cache_tracking_connections 1$/m
                      && $r =~ /^validibot_cache_flushes_total (\d+)$/m
                      && $1 >= $flushes;
        }
        Time::HiRes::sleep(0.025);
    }
    die "the tracking connection did not subscribe";
}

# runs $actions->[i] after the response to request i (0-based); with
# $log, appends whether error.log matches it before the action runs
sub between {
    my ($actions, $log) = @_;
    my $i = 0;
    return sub {
        my $body = cost($_[0]);
        $body .= logged($log) if $log;
        my $a = $actions->[$i++];
        $a->() if $a;
        $body;
    };
}

# whether error.log has a line matching $re by now
sub logged {
    my ($re) = @_;
    open my $in, '<', server_root() . '/logs/error.log' or die "$!";
    my $seen = grep { /$re/ } <$in>;
    close $in;
    return $seen ? "logged\n" : "not logged\n";
}

# keeps only the validibot_cache_* samples of an exposition body
sub cache_metrics {
    my ($f) = @_;
    return sub {
        my $b = $f->($_[0]);
        return $b unless $b =~ /^# HELP/;
        return join '', grep { /^validibot_cache_/ } split /^/, $b;
    };
}

sub cmd { my @a = @_; sub { Validibot::Test::redis_cmd(@a) } }

# $then inside one MULTI/EXEC after $n writes of other names under
# <prefix>key: (not key records: they evict nothing), so that Redis
# reports all of them in one message
sub many {
    my ($n, $then) = @_;
    return sub {
        Validibot::Test::redis_cmd('MULTI');
        Validibot::Test::redis_cmd('MSET',
                                   map { ("validibot:key:other$_", 1) } 1 .. $n);
        $then->();
        Validibot::Test::redis_cmd('EXEC');
    };
}

sub tracking_id {
    my $list = Validibot::Test::redis_cmd('CLIENT', 'LIST');
    return $1 if $list =~ /^id=(\d+) .*name=validibot-nginx-tracking /m;
    die "no tracking connection in CLIENT LIST";
}

# one HTTP/1.1 exchange on a keep-alive connection: the status
sub http11 {
    my ($s, $auth, $close) = @_;
    print $s "GET /plain HTTP/1.1\r\nHost: localhost\r\n$auth\r\n"
             . ($close ? "Connection: close\r\n" : "") . "\r\n";
    return $close ? read_all($s) : read_one($s);
}

sub read_one {
    my ($s) = @_;
    my $h = '';
    while ($h !~ /\r\n\r\n/) {
        sysread($s, $h, 4096, length $h) or die "closed: $h";
    }
    my ($head, $body) = split /\r\n\r\n/, $h, 2;
    my ($len) = $head =~ /^Content-Length: (\d+)/mi;
    while (length $body < $len) {
        sysread($s, $body, 4096, length $body) or die "closed";
    }
    return ($head =~ m{^HTTP/1.1 (\d+)})[0];
}

# every status a connection answers until it closes, joined by commas
sub read_all {
    my ($s) = @_;
    my $all = '';
    1 while sysread($s, $all, 65536, length $all);
    return join ",", $all =~ m{HTTP/1\.1 (\d{3}) }g;
}

# $n keep-alive connections with the key cached and a request answered;
# then the worker stopped, each sends one more (the last one after a
# pipelined GET /ready), the key is revoked, the worker goes on: what
# each answered
sub stopped_burst {
    my ($n) = @_;
    my @s = map {
        IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                              PeerPort => server_port()) or die "$!"
    } 1 .. $n;
    my @first = map { http11($_, $::Auth) } @s;
    open my $in, '<', server_root() . '/logs/nginx.pid' or die "$!";
    my ($pid) = <$in> =~ /(\d+)/;
    close $in;
    kill 'STOP', $pid or die "kill: $!";
    # stopped for sure before the first byte is sent (state T)
    for (1 .. 200) {
        open my $st, '<', "/proc/$pid/stat" or last;
        my ($state) = <$st> =~ /\) (\S)/;
        close $st;
        last if $state eq 'T';
        Time::HiRes::sleep(0.01);
    }
    for my $i (0 .. $n - 1) {
        my $req = "GET /plain HTTP/1.1\r\nHost: localhost\r\n$::Auth\r\n";
        # pipelined after /ready: read from ngx_posted_events
        print { $s[$i] } ($i == $n - 1
                          ? "GET /ready HTTP/1.1\r\nHost: localhost\r\n\r\n"
                          : "") . "${req}Connection: close\r\n\r\n";
    }
    # the reports reach the worker's socket after the requests did
    Validibot::Test::redis_cmd('HSET', $::rkey, 'revoked_at', time() - 1);
    kill 'CONT', $pid or die "kill: $!";
    my @then = map { read_all($_) } @s;
    return "before: @first\nafter: @then\n";
}

# like between(), with what each action returns appended to the body
sub showing {
    my ($actions) = @_;
    my $i = 0;
    return sub {
        my $body = cost($_[0]);
        my $a = $actions->[$i++];
        return $a ? $body . ($a->() // '') : $body;
    };
}

# the value of a validibot_status sample
sub metric {
    my ($name) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => server_port()) or die "$!";
    print $s "GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n";
    local $/;
    my $r = <$s> // '';
    return $r =~ /^\Q$name\E (\d+)$/m ? $1 : die "no $name in $r";
}

# HTTP/2 on $sock: stream 1, a request reset in the same packet, then a
# PING; once its ACK is read, nginx has left that read handler and run
# the drain: stream 3.  What validibot_cache_hits_total grew by after
# each, and the status of stream 3.
sub h2_reset {
    my ($sock) = @_;
    require IO::Socket::UNIX;
    my $s = IO::Socket::UNIX->new(Peer => $sock) or die "h2: $sock: $!";
    my $lit = sub { pack('C C/a* C/a*', 0, @_) };
    my $frame = sub { my ($type, $flags, $id, $p) = @_;
                      substr(pack('N', length $p), 1)
                      . pack('C C N', $type, $flags, $id) . $p };
    my $h = $lit->(':method', 'GET') . $lit->(':scheme', 'http')
          . $lit->(':authority', 'localhost') . $lit->(':path', '/plain')
          . $lit->('authorization', "Bearer $::key");
    my $buf = '';
    # the type, flags and stream of the next frame but SETTINGS and WINDOW_UPDATE
    my $next = sub {
        while (1) {
            if (length $buf >= 9) {
                my ($len) = unpack('N', "\0" . substr($buf, 0, 3));
                if (length $buf >= 9 + $len) {
                    my ($type, $flags, $sid) = unpack('C C N', substr($buf, 3, 6));
                    my $p = substr($buf, 9, $len);
                    substr($buf, 0, 9 + $len) = '';
                    next if $type == 4 || $type == 8;
                    return ($type, $flags, $sid, $p);
                }
            }
            sysread($s, $buf, 65536, length $buf) or die "h2: connection closed";
        }
    };
    my $hits = metric('validibot_cache_hits_total');
    print $s "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" . $frame->(4, 0, 0, '')
             . $frame->(1, 0x5, 1, $h)              # END_STREAM | END_HEADERS
             . $frame->(3, 0, 1, pack('N', 8))      # RST_STREAM CANCEL
             . $frame->(6, 0, 0, 'pingpong');
    my @f = $next->();
    my $out = "first frame: type $f[0] flags $f[1]";
    my $h1 = metric('validibot_cache_hits_total');
    $out .= ", hits +" . ($h1 - $hits);
    print $s $frame->(1, 0x5, 3, $h);
    @f = $next->();
    $out .= "; stream $f[2]: " . (ord($f[3]) == 0x88 ? 200 : 'other')
            . ", hits +" . (metric('validibot_cache_hits_total') - $h1);
    close $s;
    return "$out\n";
}

our $HttpConfig = <<'_EOC_';
    validibot_redis redis://127.0.0.1:$TEST_NGINX_REDIS_PORT/0;
    validibot_redis_connections 1;
    validibot_digest_key 1 $TEST_NGINX_DIGEST_KEY_FILE_V1;
    validibot_cache zone=keys:1m;

    server {
        listen unix:$TEST_NGINX_HTML_DIR/upstream.sock;
        validibot_identity_headers off;
        location / {
            return 200 "user=$http_x_validibot_user roles=$http_x_validibot_roles";
        }
    }
_EOC_

our $Config = <<'_EOC_';
    location ~ ^/o/(?<org>[^/]+)/ {
        validibot_auth API;
        validibot_org $org;
        validibot_require workflow_view;
        proxy_pass http://unix:$TEST_NGINX_HTML_DIR/upstream.sock;
    }

    location /plain {
        validibot_auth API;
        proxy_pass http://unix:$TEST_NGINX_HTML_DIR/upstream.sock;
    }

    location /uncached {
        validibot_auth API;
        validibot_cache off;
        proxy_pass http://unix:$TEST_NGINX_HTML_DIR/upstream.sock;
    }

    location = /ready { return 200 "ready"; }
    location = /metrics { validibot_status; }
_EOC_

# a PING missed under a loaded or sanitized build would drop the cache too:
# where a test shows that something else did not, none can be missed
our $SlowPing = "validibot_redis_timeout 10s;";

our $Auth = "Authorization: Bearer $key";
our $Auth2 = "Authorization: Bearer "
             . make_key(seed => 'cache-eight', user => 7, write => 0);
our $Ok = "user=7 roles=executor";
our $Denied = '{"detail":"Invalid API key","code":"authentication_failed"}';
our $Forbidden = '{"detail":"Permission denied","code":"permission_denied"}';

# the key cached, then a write, then the first request after it
sub exact {
    my ($write) = @_;
    return ::between([\&::wait_tracking, undef, $write]);
}

run_tests();

__DATA__

=== TEST 1: a miss, then hits: the second and third requests cost Redis nothing
--- init
::setup();
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
["GET /ready", "GET /o/acme/x", "GET /o/acme/x", "GET /o/acme/x"]
--- more_headers eval
["", $::Auth, $::Auth, $::Auth]
--- response_body_filters eval
::between([\&::wait_tracking])
--- response_body eval
["ready\n", "$::Ok redis\n", "$::Ok cached\n", "$::Ok cached\n"]



=== TEST 2: exact: key revoked (revoked_at set)
--- init
::setup();
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
["GET /ready", "GET /o/acme/x", "GET /o/acme/x", "GET /o/acme/x"]
--- more_headers eval
["", $::Auth, $::Auth, $::Auth]
--- response_body_filters eval
::exact(::cmd('HSET', $::rkey, 'revoked_at', time() - 1))
--- error_code eval
[200, 200, 200, 401]
--- response_body eval
["ready\n", "$::Ok redis\n", "$::Ok cached\n", "$::Denied redis\n"]



=== TEST 3: exact: key deleted
--- init
::setup();
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
["GET /ready", "GET /o/acme/x", "GET /o/acme/x", "GET /o/acme/x"]
--- more_headers eval
["", $::Auth, $::Auth, $::Auth]
--- response_body_filters eval
::exact(::cmd('DEL', $::rkey))
--- error_code eval
[200, 200, 200, 401]
--- response_body eval
["ready\n", "$::Ok redis\n", "$::Ok cached\n", "$::Denied redis\n"]



=== TEST 4: exact: user deactivated
--- init
::setup();
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
["GET /ready", "GET /o/acme/x", "GET /o/acme/x", "GET /o/acme/x"]
--- more_headers eval
["", $::Auth, $::Auth, $::Auth]
--- response_body_filters eval
::exact(::cmd('HSET', 'validibot:user:7', 'is_active', '0'))
--- error_code eval
[200, 200, 200, 401]
--- response_body eval
["ready\n", "$::Ok redis\n", "$::Ok cached\n", "$::Denied redis\n"]



=== TEST 5: exact: user removed
--- init
::setup();
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
["GET /ready", "GET /plain", "GET /plain", "GET /plain"]
--- more_headers eval
["", $::Auth, $::Auth, $::Auth]
--- response_body_filters eval
::exact(::cmd('DEL', 'validibot:user:7'))
--- error_code eval
[200, 200, 200, 401]
--- response_body eval
["ready\n", "user=7 roles= redis\n", "user=7 roles= cached\n",
 "$::Denied redis\n"]



=== TEST 6: exact: membership role removed
--- init
::setup();
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
["GET /ready", "GET /o/acme/x", "GET /o/acme/x", "GET /o/acme/x"]
--- more_headers eval
["", $::Auth, $::Auth, $::Auth]
--- response_body_filters eval
::exact(::cmd('HSET', 'validibot:member:acme:7', 'roles', 'analytics_viewer'))
--- error_code eval
[200, 200, 200, 403]
--- response_body eval
["ready\n", "$::Ok redis\n", "$::Ok cached\n", "$::Forbidden redis\n"]



=== TEST 7: exact: membership deactivated
--- init
::setup();
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
["GET /ready", "GET /o/acme/x", "GET /o/acme/x", "GET /o/acme/x"]
--- more_headers eval
["", $::Auth, $::Auth, $::Auth]
--- response_body_filters eval
::exact(::cmd('HSET', 'validibot:member:acme:7', 'is_active', '0'))
--- error_code eval
[200, 200, 200, 403]
--- response_body eval
["ready\n", "$::Ok redis\n", "$::Ok cached\n", "$::Forbidden redis\n"]



=== TEST 8: exact: org suspended
--- init
::setup();
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
["GET /ready", "GET /o/acme/x", "GET /o/acme/x", "GET /o/acme/x"]
--- more_headers eval
["", $::Auth, $::Auth, $::Auth]
--- response_body_filters eval
::exact(::cmd('HSET', 'validibot:org:acme', 'status', 'suspended'))
--- error_code eval
[200, 200, 200, 403]
--- response_body eval
["ready\n", "$::Ok redis\n", "$::Ok cached\n", "$::Forbidden redis\n"]



=== TEST 9: exact: org deleted
--- init
::setup();
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
["GET /ready", "GET /o/acme/x", "GET /o/acme/x", "GET /o/acme/x"]
--- more_headers eval
["", $::Auth, $::Auth, $::Auth]
--- response_body_filters eval
::exact(::cmd('DEL', 'validibot:org:acme'))
--- error_code eval
[200, 200, 200, 403]
--- response_body eval
["ready\n", "$::Ok redis\n", "$::Ok cached\n", "$::Forbidden redis\n"]



=== TEST 10: an org route and a no-org route are two entries: a membership change refuses one, not the other
--- init
::setup();
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
["GET /ready", "GET /o/acme/x", "GET /plain", "GET /o/acme/x", "GET /plain",
 "GET /o/acme/x", "GET /plain"]
--- more_headers eval
["", ($::Auth) x 6]
--- response_body_filters eval
::between([\&::wait_tracking, undef, undef, undef,
           ::cmd('HSET', 'validibot:member:acme:7', 'is_active', '0')])
--- error_code eval
[200, 200, 200, 200, 200, 403, 200]
--- response_body eval
["ready\n", "$::Ok redis\n", "user=7 roles= redis\n", "$::Ok cached\n",
 "user=7 roles= cached\n", "$::Forbidden redis\n", "user=7 roles= cached\n"]



=== TEST 11: the usage record is not tracked: its write keeps the entry; a wrong secret is refused from the cache
--- init
::setup();
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
["GET /ready", "GET /plain", "GET /plain", "GET /plain", "GET /plain"]
--- more_headers eval
["", $::Auth, $::Auth, $::Auth,
 "Authorization: Bearer " . substr($::key, 0, -1) . (substr($::key, -1) eq '0' ? '1' : '0')]
--- response_body_filters eval
::between([\&::wait_tracking, undef,
           ::cmd('HSET', "validibot:usage:$::id", 'last_used_at', time() - 7200)])
--- error_code eval
[200, 200, 200, 200, 401]
--- response_body eval
["ready\n", "user=7 roles= redis\n", "user=7 roles= cached\n",
 "user=7 roles= cached\n", "$::Denied cached\n"]



=== TEST 12: an unknown key: cached as unknown; made: found by the next request
--- init
::setup();
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
["GET /ready", "GET /plain", "GET /plain", "GET /plain", "GET /plain"]
--- more_headers eval
["", ("Authorization: Bearer $::unknown") x 4]
--- response_body_filters eval
::between([\&::wait_tracking, undef,
           sub { Validibot::Test::make_key(seed => 'cache-unknown', user => 7) }])
--- error_code eval
[200, 401, 401, 200, 200]
--- response_body eval
["ready\n", "$::Denied redis\n", "$::Denied cached\n",
 "user=7 roles= redis\n", "user=7 roles= cached\n"]



=== TEST 13: validibot_cache off in a location: Redis every time
--- init
::setup();
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
["GET /ready", "GET /uncached", "GET /uncached", "GET /plain", "GET /plain"]
--- more_headers eval
["", ($::Auth) x 4]
--- response_body_filters eval
::between([\&::wait_tracking])
--- response_body eval
["ready\n", "user=7 roles= redis\n", "user=7 roles= redis\n",
 "user=7 roles= redis\n", "user=7 roles= cached\n"]



=== TEST 14: CLIENT KILL of the tracking connection: the cache is dropped, refills once it is back, and stays exact
--- init
::setup();
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
["GET /ready", "GET /plain", "GET /plain", "GET /plain", "GET /plain",
 "GET /plain"]
--- more_headers eval
["", ($::Auth) x 5]
--- response_body_filters eval
::between([\&::wait_tracking, undef,
           sub {
               Validibot::Test::redis_cmd('CLIENT', 'KILL', 'ID', ::tracking_id());
               ::wait_tracking(1);
           },
           undef,
           ::cmd('HSET', $::rkey, 'revoked_at', time() - 1)],
          qr/validibot: redis \S+ tracking connection: connection closed, the cache is off until it is back/)
--- error_code eval
[200, 200, 200, 200, 200, 401]
--- response_body eval
["ready\nnot logged\n", "user=7 roles= redis\nnot logged\n",
 "user=7 roles= cached\nnot logged\n", "user=7 roles= redis\nlogged\n",
 "user=7 roles= cached\nlogged\n", "$::Denied redis\nlogged\n"]



=== TEST 15: FLUSHALL: the cache is dropped; the key made again is found again
--- init
::setup();
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
["GET /ready", "GET /plain", "GET /plain", "GET /plain", "GET /plain",
 "GET /plain"]
--- more_headers eval
["", ($::Auth) x 5]
--- response_body_filters eval
::between([\&::wait_tracking, undef, ::cmd('FLUSHALL'), \&::setup],
          qr/validibot: redis reported a flush, cache dropped/)
--- error_code eval
[200, 200, 200, 401, 200, 200]
--- response_body eval
["ready\nnot logged\n", "user=7 roles= redis\nnot logged\n",
 "user=7 roles= cached\nnot logged\n", "$::Denied redis\nlogged\n",
 "user=7 roles= redis\nlogged\n", "user=7 roles= cached\nlogged\n"]



=== TEST 16: DEBUG SLEEP: a revocation queued behind it is refused by the first request after its acknowledgement
--- init
::setup();
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
["GET /ready", "GET /plain", "GET /plain", "GET /plain"]
--- more_headers eval
["", ($::Auth) x 3]
--- response_body_filters eval
::between([\&::wait_tracking, undef,
           sub {
               Validibot::Test::redis_send_nowait('DEBUG', 'SLEEP', '1.5');
               Time::HiRes::sleep(0.1);
               Validibot::Test::redis_cmd('HSET', $::rkey, 'revoked_at', time() - 1);
           }])
--- error_code eval
[200, 200, 200, 401]
--- response_body eval
["ready\n", "user=7 roles= redis\n", "user=7 roles= cached\n",
 "$::Denied redis\n"]
--- timeout: 10



=== TEST 17: Redis restarted: the cache is dropped with the tracking connection; a revoked key is refused
--- init
::setup();
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
["GET /ready", "GET /plain", "GET /plain", "GET /plain", "GET /plain"]
--- more_headers eval
["", ($::Auth) x 4]
--- response_body_filters eval
::between([\&::wait_tracking, undef,
           sub {
               Validibot::Test::redis_stop();
               Validibot::Test::redis_start();
               ::wait_tracking();
               ::setup();
               Validibot::Test::redis_cmd('HSET', $::rkey, 'revoked_at', time() - 1);
           },
           sub { ::setup() }])
--- error_code eval
[200, 200, 200, 401, 200]
--- response_body eval
["ready\n", "user=7 roles= redis\n", "user=7 roles= cached\n",
 "$::Denied redis\n", "user=7 roles= redis\n"]
--- timeout: 10



=== TEST 18: validibot_status: hits, misses, stores, invalidations, flushes, the tracking connection
--- init
::setup();
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
["GET /ready", "GET /plain", "GET /plain", "GET /plain", "GET /metrics"]
--- more_headers eval
["", ($::Auth) x 3, ""]
--- response_body_filters eval
::cache_metrics(::between([\&::wait_tracking, undef,
                           ::cmd('HSET', $::rkey, 'label', 'changed')]))
--- response_body_like eval
["ready", "user=7", "user=7", "user=7",
 qr/\Avalidibot_cache_hits_total 1
validibot_cache_misses_total 2
validibot_cache_stores_total 2
validibot_cache_stores_refused_total 0
validibot_cache_evictions_total 0
validibot_cache_invalidations_total [1-9]\d*
validibot_cache_invalidated_total 1
validibot_cache_flushes_total 0
validibot_cache_tracking_connections 1
\z/]



=== TEST 19: config: validibot_cache on without a zone
--- http_config eval: $::HttpConfig =~ s/validibot_cache zone=keys:1m;//r
--- config eval: $::Config . "location /c { validibot_auth API; validibot_cache on; }"
--- must_die
--- error_log
"validibot_cache on" needs a cache: "validibot_cache zone=NAME:SIZE" at the http level



=== TEST 20: config: a zone in a location
--- http_config eval: $::HttpConfig
--- config eval: $::Config . "location /c { validibot_cache zone=other:1m; }"
--- must_die
--- error_log
"validibot_cache zone=" is allowed at the http level only



=== TEST 21: config: a second zone
--- http_config eval: $::HttpConfig . "validibot_cache zone=other:1m;"
--- config eval: $::Config
--- must_die
--- error_log
the validibot cache "keys" is already declared



=== TEST 22: config: a size too small, or no size
--- http_config eval: $::HttpConfig =~ s/keys:1m/keys:8k/r
--- config eval: $::Config
--- must_die
--- error_log
invalid cache size "8k" in "zone=keys:8k": at least 64k



=== TEST 23: config: a zone without a name
--- http_config eval: $::HttpConfig =~ s/keys:1m/1m/r
--- config eval: $::Config
--- must_die
--- error_log
invalid cache zone "zone=1m": NAME:SIZE expected



=== TEST 24: config: bad times and parameters
--- http_config eval: $::HttpConfig =~ s/keys:1m/keys:1m max_ttl=0/r
--- config eval: $::Config
--- must_die
--- error_log
invalid time in "max_ttl=0": from 1ms to 1d



=== TEST 25: config: negative_ttl too long
--- http_config eval: $::HttpConfig =~ s/keys:1m/keys:1m negative_ttl=2d/r
--- config eval: $::Config
--- must_die
--- error_log
invalid time in "negative_ttl=2d": from 1ms to 1d



=== TEST 26: config: an unknown parameter, a parameter twice, a bad value
--- http_config eval: $::HttpConfig =~ s/keys:1m/keys:1m ttl=1s/r
--- config eval: $::Config
--- must_die
--- error_log
invalid parameter "ttl=1s"



=== TEST 27: config: max_ttl twice
--- http_config eval: $::HttpConfig =~ s/keys:1m/keys:1m max_ttl=1s max_ttl=2s/r
--- config eval: $::Config
--- must_die
--- error_log
duplicate parameter "max_ttl=2s"



=== TEST 28: config: neither on, off nor zone=
--- http_config eval: $::HttpConfig
--- config eval: $::Config . "location /c { validibot_cache yes; }"
--- must_die
--- error_log
invalid parameter "yes": "validibot_cache" takes "on", "off" or "zone=NAME:SIZE"



=== TEST 29: config: validibot_cache off twice in one location
--- http_config eval: $::HttpConfig
--- config eval: $::Config . "location /c { validibot_cache off; validibot_cache on; }"
--- must_die
--- error_log
"validibot_cache" directive is duplicate



=== TEST 30: max_ttl bounds an entry
--- init
::setup();
--- http_config eval: $::HttpConfig =~ s/keys:1m/keys:1m max_ttl=3s/r
--- config eval: $::Config
--- request eval
["GET /ready", "GET /plain", "GET /plain", "GET /plain"]
--- more_headers eval
["", ($::Auth) x 3]
--- response_body_filters eval
::between([\&::wait_tracking, undef, sub { Time::HiRes::sleep(3.5) }])
--- response_body eval
["ready\n", "user=7 roles= redis\n", "user=7 roles= cached\n",
 "user=7 roles= redis\n"]



=== TEST 31: one report of more than 1,024 records (1,500 in one MULTI/EXEC): each evicted, the rest of the cache kept
--- init
::setup();
::make_key(seed => 'cache-eight', user => 7);
--- http_config eval: $::HttpConfig . $::SlowPing
--- config eval: $::Config
--- request eval
["GET /ready", "GET /plain", "GET /plain", "GET /plain", "GET /plain",
 "GET /plain", "GET /metrics"]
--- more_headers eval
["", $::Auth, $::Auth2, $::Auth, $::Auth, $::Auth2, ""]
--- response_body_filters eval
::cache_metrics(::between([\&::wait_tracking, undef, undef,
                           ::many(1499, ::cmd('HSET', $::rkey, 'revoked_at', time() - 1))]))
--- error_code eval
[200, 200, 200, 200, 401, 200, 200]
--- response_body_like eval
["ready", "user=7 roles= redis", "user=7 roles= redis",
 "user=7 roles= cached", qr/\A\Q$::Denied\E redis\n\z/,
 "user=7 roles= cached",
 qr/^validibot_cache_invalidations_total (?:1[5-9]\d\d|[2-9]\d{3})
validibot_cache_invalidated_total 1
validibot_cache_flushes_total 0
validibot_cache_tracking_connections 1
\z/m]
--- no_error_log
cache dropped



=== TEST 32: one report of more records than a worker keeps names of (20,000): the whole cache dropped, counted as a flush, the tracking connection kept
--- init
::setup();
::make_key(seed => 'cache-eight', user => 7);
--- http_config eval: $::HttpConfig . $::SlowPing
--- config eval: $::Config
--- request eval
["GET /ready", "GET /plain", "GET /plain", "GET /plain", "GET /plain",
 "GET /plain", "GET /plain", "GET /metrics"]
--- more_headers eval
["", $::Auth, $::Auth2, $::Auth, $::Auth, $::Auth2, $::Auth2, ""]
--- response_body_filters eval
::cache_metrics(::between([\&::wait_tracking, undef, undef,
                           ::many(19999, ::cmd('HSET', $::rkey, 'revoked_at', time() - 1))],
                          qr/validibot: redis reported 20000 writes at once, more than 16384, cache dropped/))
--- error_code eval
[200, 200, 200, 200, 401, 200, 200, 200]
--- response_body_like eval
["ready\nnot logged", "user=7 roles= redis\nnot logged",
 "user=7 roles= redis\nnot logged", "user=7 roles= cached\nnot logged",
 qr/\A\Q$::Denied\E redis\nlogged\n\z/,
 "user=7 roles= redis\nlogged", "user=7 roles= cached\nlogged",
 qr/^validibot_cache_invalidations_total 2\d{4}
validibot_cache_invalidated_total 0
validibot_cache_flushes_total 1
validibot_cache_tracking_connections 1
\z/m]
--- no_error_log
tracking connection:



=== TEST 33: something else than a report on the tracking connection (a PUBLISH of a string): the cache dropped, the tracking connection kept
--- init
::setup();
--- http_config eval: $::HttpConfig . $::SlowPing
--- config eval: $::Config
--- request eval
["GET /ready", "GET /plain", "GET /plain", "GET /plain", "GET /plain",
 "GET /metrics"]
--- more_headers eval
["", ($::Auth) x 4, ""]
--- response_body_filters eval
::cache_metrics(::between([\&::wait_tracking, undef,
                           ::cmd('PUBLISH', '__redis__:invalidate', 'garbage')],
                          qr/validibot: an unexpected report on the tracking connection \(type 1\), cache dropped/))
--- response_body_like eval
["ready\nnot logged", "user=7 roles= redis\nnot logged",
 "user=7 roles= cached\nnot logged", "user=7 roles= redis\nlogged",
 "user=7 roles= cached\nlogged",
 qr/^validibot_cache_flushes_total 1
validibot_cache_tracking_connections 1
\z/m]
--- no_error_log
tracking connection:



=== TEST 34: hits read in one event loop iteration with a revocation queued behind them: each refused
The worker is stopped while eight keep-alive connections send a request
each (the last one behind a pipelined /ready), then the key is revoked:
on SIGCONT epoll reports the connections before the tracking connection,
so only the drain that hits wait for can refuse them.
--- init
::setup();
--- http_config eval: $::HttpConfig . $::SlowPing
--- config eval: $::Config
--- request eval
["GET /ready", "GET /plain", "GET /plain"]
--- more_headers eval
["", $::Auth, $::Auth]
--- response_body_filters eval
::showing([sub { ::wait_tracking(); '' }, undef,
           sub { ::stopped_burst(8) }])
--- response_body eval
["ready\n", "user=7 roles= redis\n", "user=7 roles= cached\n"
 . "before: 200 200 200 200 200 200 200 200\n"
 . "after: 401 401 401 401 401 401 401 200,401\n"]
--- error_code eval
[200, 200, 200]



=== TEST 35: the tracking connection down (Redis refuses its SUBSCRIBE): every request asks Redis; a revocation is refused
--- init
::setup();
::make_key(seed => 'cache-eight', user => 7);
--- http_config eval: $::HttpConfig . $::SlowPing
--- config eval: $::Config
--- request eval
["GET /ready", "GET /plain", "GET /plain", "GET /plain", "GET /plain",
 "GET /plain", "GET /metrics"]
--- more_headers eval
["", ($::Auth) x 5, ""]
--- response_body_filters eval
::cache_metrics(::between([\&::wait_tracking, undef,
    sub {
        # Redis drops a subscriber whose channels are taken away
        Validibot::Test::redis_cmd('ACL', 'SETUSER', 'default', 'resetchannels');
        for (1 .. 400) {
            last if ::metric('validibot_cache_tracking_connections') == 0;
            Time::HiRes::sleep(0.025);
        }
    },
    undef, ::cmd('HSET', $::rkey, 'revoked_at', time() - 1), undef,
    # only after /metrics: the worker retries its SUBSCRIBE every second
    # at most, and once the channels are back one may succeed before
    # /metrics is read (seen at load 5: tracking_connections 1)
    sub { Validibot::Test::redis_cmd('ACL', 'SETUSER', 'default', 'allchannels') }]))
--- error_code eval
[200, 200, 200, 200, 200, 401, 200]
--- response_body_like eval
["ready", "user=7 roles= redis", "user=7 roles= cached",
 "user=7 roles= redis", "user=7 roles= redis",
 qr/\A\Q$::Denied\E redis\n\z/,
 qr/^validibot_cache_hits_total 1\n(?s:.*)^validibot_cache_tracking_connections 0$/m]



=== TEST 36: HTTP/2: a request reset while it waits for the drain leaves the queue; the stream after it is a hit
Stream 1 and its RST_STREAM come in one packet: nginx ends the request
before the drain runs, which must not find it (no hit counted, no crash;
an ASan build reports the use after free).  Stream 3, sent after the
PING's ACK, is served from the cache.
--- init
::setup();
--- http_config eval
$::HttpConfig . <<'_EOC_';
    server {
        listen unix:$TEST_NGINX_HTML_DIR/h2.sock http2;
        location /plain {
            validibot_auth API;
            proxy_pass http://unix:$TEST_NGINX_HTML_DIR/upstream.sock;
        }
    }
_EOC_
--- config eval: $::Config
--- request eval
["GET /ready", "GET /plain", "GET /ready"]
--- more_headers eval
["", $::Auth, ""]
--- response_body_filters eval
::showing([sub { ::wait_tracking(); '' },
           sub { ::h2_reset("$ENV{TEST_NGINX_HTML_DIR}/h2.sock") }])
--- response_body eval
["ready\n", "user=7 roles= redis\n"
 . "first frame: type 6 flags 1, hits +0; stream 3: 200, hits +1\n",
 "ready\n"]
--- no_error_log
[alert]
[crit]



=== TEST 37: the roles a hit decides on, parsed when the entry was stored: a role it lacks refused from the cache, the roles header from the cache
--- init
::setup();
--- http_config eval: $::HttpConfig
--- config eval
$::Config . <<'_EOC_';
    location ~ ^/edit/(?<org>[^/]+)/ {
        validibot_auth API;
        validibot_org $org;
        validibot_require workflow_edit;
        proxy_pass http://unix:$TEST_NGINX_HTML_DIR/upstream.sock;
    }
_EOC_
--- request eval
["GET /ready", "GET /o/acme/x", "GET /o/acme/x", "GET /edit/acme/x",
 "GET /edit/acme/x"]
--- more_headers eval
["", ($::Auth) x 4]
--- response_body_filters eval
::between([\&::wait_tracking])
--- error_code eval
[200, 200, 200, 403, 403]
--- response_body eval
["ready\n", "$::Ok redis\n", "$::Ok cached\n", "$::Forbidden cached\n",
 "$::Forbidden cached\n"]
