# sentinel://: the master's address from Sentinel, checked with ROLE,
# asked again on every reconnect.  A real set-up on loopback, started
# here: one master, one replica, three sentinels (redis-sentinel), and a
# SENTINEL FAILOVER under a running nginx, learnt from the +switch-master
# message of the sentinel it subscribed to.  A fake sentinel (a few lines
# of Perl) names the replica, to see ROLE refuse it.

use Test::Nginx::Socket 'no_plan';
use Validibot::Test;
use File::Temp ();
use IO::Socket::INET;
use POSIX ();
use Time::HiRes ();

no_shuffle();
log_level('info');

our $Dir = File::Temp::tempdir('validibot-sentinel-XXXXXX', TMPDIR => 1,
                               CLEANUP => 1);
our ($M, $R) = (free_port(), free_port());
our @S = map { free_port() } 1 .. 3;
our @Pids;

sub start {
    my ($name, @args) = @_;
    system('redis-server', @args, '--bind', '127.0.0.1', '--save', '',
           '--appendonly', 'no', '--daemonize', 'yes', '--dir', $Dir,
           '--pidfile', "$Dir/$name.pid", '--logfile', "$Dir/$name.log") == 0
        or die "$name did not start";
    push @Pids, "$Dir/$name.pid";
}

sub ask {
    my ($port, @cmd) = @_;
    return Validibot::Test::with_redis_port($port, sub {
        my ($v, $e) = Validibot::Test::redis_try(@cmd);
        return $v;
    });
}

# polls $cond every 0.1 s for up to $secs seconds (generous: not a timing
# assertion, a wait for Sentinel)
sub wait_for {
    my ($secs, $what, $cond) = @_;
    for (1 .. $secs * 10) {
        my $ok = eval { $cond->() };
        return 1 if $ok;
        Time::HiRes::sleep(0.1);
    }
    die "gave up waiting for $what";
}

# the replica's first sync at once (Redis 7 waits 5 s for more replicas)
start('master', '--port', $M, '--repl-diskless-sync-delay', '0');
start('replica', '--port', $R, '--replicaof', '127.0.0.1', $M);

for my $i (0 .. 2) {
    my $conf = "$Dir/sentinel$i.conf";
    open my $out, '>', $conf or die "$conf: $!";
    print $out "port $S[$i]\nbind 127.0.0.1\ndaemonize yes\n",
               "pidfile $Dir/sentinel$i.pid\nlogfile $Dir/sentinel$i.log\n",
               "dir $Dir\n",
               "sentinel monitor mymaster 127.0.0.1 $M 2\n",
               "sentinel down-after-milliseconds mymaster 1000\n",
               "sentinel failover-timeout mymaster 10000\n";
    close $out;
    system('redis-sentinel', $conf) == 0 or die "sentinel $i did not start";
    push @Pids, "$Dir/sentinel$i.pid";
}

# the replica is in sync, every sentinel knows it and the others: a
# failover can happen without losing data
wait_for(60, 'the set-up', sub {
    return 0 unless (ask($R, 'INFO', 'replication') // '')
                    =~ /master_link_status:up/;
    for my $s (@S) {
        my $m = ask($s, 'SENTINEL', 'MASTER', 'mymaster') or return 0;
        my %m = @$m;
        return 0 unless $m{'num-slaves'} >= 1
                        && $m{'num-other-sentinels'} >= 2;
    }
    return 1;
});

END {
    local $?;
    my @pids;
    for my $pidfile (@Pids) {
        open my $in, '<', $pidfile or next;
        my $pid = <$in>;
        push @pids, $1 if $pid && $pid =~ /^(\d+)/;
    }
    kill 'TERM', @pids;
    # gone before File::Temp removes $Dir (a sentinel rewrites its file)
    for (1 .. 50) {
        last unless grep { kill 0, $_ } @pids;
        Time::HiRes::sleep(0.1);
    }
}

# a fake sentinel: names 127.0.0.1:$R (the replica) for any master
our $Fake = IO::Socket::INET->new(Listen => 5, LocalAddr => '127.0.0.1',
                                  LocalPort => 0, ReuseAddr => 1)
    or die "fake sentinel: $!";
$ENV{TEST_NGINX_FAKE_SENTINEL} = $Fake->sockport;
our $FakePid = fork // die "fork: $!";
if ($FakePid == 0) {
    my $parent = getppid();
    while (getppid() == $parent) {
        my $c = $Fake->accept or next;
        my $buf;
        sysread $c, $buf, 512;
        print $c "*2\r\n\$9\r\n127.0.0.1\r\n\$" . length($R) . "\r\n$R\r\n";
        close $c;
    }
    POSIX::_exit(0);
}
close $Fake;
END { kill 'TERM', $FakePid if $FakePid }

$ENV{TEST_NGINX_SENTINELS} = join ',', map { "127.0.0.1:$_" } @S;
$ENV{TEST_NGINX_DEAD_PORT} = free_port();

sub seed {
    Validibot::Test::with_redis_port($_[0] // $M, sub {
        redis_flush_prefix();
        add_user(5);
        make_key(seed => 'sentinel', user => 5);
    });
}

our $ok = seed();

# what the master has, the replica has, before any failover
wait_for(30, 'the replica to have the key', sub {
    ask($R, 'EXISTS', 'validibot:key:' . key_public_id($ok));
});

our $HttpConfig = echo_http_config(
    'validibot_redis sentinel://$TEST_NGINX_SENTINELS/mymaster;',
    'validibot_redis_timeout 1s;',
);

our $Config = echo_config();

run_tests();

__DATA__

=== TEST 1: the sentinels name the master; ROLE agrees: 200
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
qr/\[info\] .*validibot: redis sentinel\/mymaster: the sentinels name 127\.0\.0\.1:$::M\b/
--- no_error_log
[error]



=== TEST 2: a dead sentinel first: the next one answers
--- http_config eval
my $c = $::HttpConfig;
$c =~ s{sentinel://}{sentinel://127.0.0.1:\$TEST_NGINX_DEAD_PORT,};
$c
--- config eval: $::Config
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::ok"
--- error_code: 200
--- response_body
user=5
--- error_log eval
[qr/\[warn\] .*validibot: sentinel 127\.0\.0\.1:\d+: connect failed/,
 qr/the sentinels name 127\.0\.0\.1:$::M\b/]



=== TEST 3: a master name no sentinel knows: 503 and why
--- http_config eval
my $c = $::HttpConfig;
$c =~ s{/mymaster}{/othermaster};
$c
--- config eval: $::Config
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::ok"
--- error_code: 503
--- error_log eval
[qr/\[error\] .*validibot: no sentinel named a master/,
 qr/validibot: redis sentinel\/othermaster: no master, 1 lookup\(s\) failed/]



=== TEST 4: a sentinel that names a replica: ROLE refuses it, 503
--- http_config eval
my $c = $::HttpConfig;
$c =~ s{sentinel://\S+/mymaster}{sentinel://127.0.0.1:\$TEST_NGINX_FAKE_SENTINEL/mymaster};
$c
--- config eval: $::Config
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::ok"
--- error_code: 503
--- error_log eval
[qr/\[error\] .*validibot: redis sentinel\/mymaster: 127\.0\.0\.1:$::R is not the master/,
 qr/validibot: redis sentinel\/mymaster: not the master, 1 lookup\(s\) failed/]



=== TEST 5: SENTINEL FAILOVER under a running nginx: +switch-master moves it at once
Its connection to the old master is open and idle, and the old master
still answers as a master for seconds after the failover: what moves
nginx is the message from the sentinel it subscribed to (counted in
validibot_status), not a failed lookup.
--- init
::nginx_get('/t', $::ok) == 200 or die 'expected 200 before the failover';
::ask($::S[0], 'SENTINEL', 'FAILOVER', 'mymaster');
::wait_for(60, 'the failover', sub {
    my $a = ::ask($::S[0], 'SENTINEL', 'GET-MASTER-ADDR-BY-NAME', 'mymaster');
    return 0 unless $a && $a->[1] == $::R;
    my $role = ::ask($::R, 'ROLE');
    return $role && $role->[0] eq 'master';
});
::wait_for(30, 'nginx to hear of it', sub {
    (::nginx_get('/metrics'))[1]
        =~ /^validibot_redis_master_switches_total 1$/m;
});
::nginx_get('/t', $::ok) == 200 or die 'expected 200 from the new master';
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /metrics
--- error_code: 200
--- response_body_like eval
qr/\nvalidibot_redis_errors_total 0\n.*\nvalidibot_redis_master_switches_total 1\n/s
--- error_log eval
[qr/\[info\] .*validibot: sentinel 127\.0\.0\.1:$::S[0]: subscribed to \+switch-master/,
 qr/the sentinels name 127\.0\.0\.1:$::M\b/,
 qr/\[notice\] .*validibot: sentinel 127\.0\.0\.1:$::S[0]: \+switch-master mymaster from 127\.0\.0\.1:$::M to 127\.0\.0\.1:$::R\b/,
 qr/\[info\] .*validibot: redis sentinel\/mymaster: the master moved, closing the connection to 127\.0\.0\.1:$::M\b/,
 qr/the sentinels name 127\.0\.0\.1:$::R\b/]
--- no_error_log
[error]
lookup(s) failed
--- timeout: 10



=== TEST 6: sentinel:// without a master name
--- http_config
    validibot_redis sentinel://127.0.0.1:26379;
--- config
--- must_die
--- error_log
"validibot_redis": missing master name in "sentinel://127.0.0.1:26379"



=== TEST 7: TLS behind sentinel:// is refused by nginx -t, saying so
--- http_config
    validibot_redis sentinel://127.0.0.1:26379/mymaster;
    validibot_redis_ssl_trusted_certificate /etc/ssl/certs/ca-certificates.crt;
--- config
--- must_die
--- error_log
"validibot_redis_ssl_*" directives need a "rediss://" URL in "validibot_redis" (TLS behind "sentinel://" is not supported)
