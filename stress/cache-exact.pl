#!/usr/bin/env perl
# validibot_cache exactness under load (issue 14; not part of make test):
# nginx with 4 workers and the cache, wrk keeping one key hot in every
# worker.  Three phases, each judged:
#
# exact      for each of the eight ways a key stops being good, TRIALS
#            times: restore the records, let the workers cache them again,
#            write the change, wait for Redis's acknowledgement, send one
#            request on a new connection.  Any 200 is a stale success.
#            Also reports how long after the acknowledgement that request
#            was answered.
# delivery   TRIALS writes of a tracked record that changes no decision
#            (the key's label), each followed by polling validibot_status
#            until every worker counted the report: how long after the
#            write's acknowledgement the first and the last worker applied
#            it, as the worker itself counts it (no per-request logging).
#            The resolution is one /metrics round trip (about 0.2 ms).
# faults     FAULT_ROUNDS times each of: CLIENT KILL of the tracking
#            connections, DEBUG SLEEP 2 (longer than a PING's
#            interval and timeout together), a Redis restart, FLUSHALL and a
#            PUBLISH of junk on the tracking channel, and bytes that are no
#            RESP written into every Redis connection of nginx (the
#            subscribed tracking connections included) by a proxy
#            (stress/redis-proxy.pl; nginx is reloaded at the start of this
#            phase to connect through it), under the same load,
#            while four probes send a second key (cached in the workers) on
#            new connections; the second key stops being good with the
#            fault (revoked right after the kill, the sleep, the junk and
#            the garbage; gone with the restart and the FLUSHALL, then
#            written back revoked).  Any 2xx to a probe sent after that moment is stale.
#            Then the cache must refill: validibot_cache_hits_total rises
#            again with all four tracking connections subscribed.
#
#   perl stress/cache-exact.pl [TRIALS]       (default 1000)
#   make stress-cache [CACHE_TRIALS=100] [CACHE_FAULT_ROUNDS=3]
#
# Environment: NGINX_BIN (/usr/sbin/nginx), MODULE_SO
# (build/ngx_http_validibot_module.so), STRESS_DIR (build/stress/cache),
# CACHE_PHASES ("exact delivery faults"), CACHE_FAULT_ROUNDS (3).
# Exits 1 on any stale success, a fault after which the cache did not
# refill, or a delivery trial that no worker applied within 2 s.

use strict;
use warnings;
use FindBin ();
use lib "$FindBin::Bin/../t/lib";
use File::Path ();
use IO::Socket::INET ();
use Time::HiRes qw(time sleep);
use POSIX ();

my $root = "$FindBin::Bin/..";
my $trials = shift // 1000;
my $nginx = $ENV{NGINX_BIN} // '/usr/sbin/nginx';
my $module = $ENV{MODULE_SO} // "$root/build/ngx_http_validibot_module.so";
my $dir = $ENV{STRESS_DIR} // "$root/build/stress/cache";
my %phase = map { $_ => 1 }
            split ' ', $ENV{CACHE_PHASES} // 'exact delivery faults';
my $fault_rounds = $ENV{CACHE_FAULT_ROUNDS} // 3;
my $workers = 4;

die "$module is not built (make module)\n" unless -f $module;

File::Path::remove_tree($dir);
File::Path::make_path("$dir/redis", "$dir/keys", "$dir/logs", "$dir/conf",
                      "$dir/probes");

sub free_port {
    my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1',
                                  LocalPort => 0, ReuseAddr => 1) or die $!;
    my $p = $s->sockport;
    close $s;
    return $p;
}

my $rport = free_port();
my $port = free_port();
$ENV{TEST_NGINX_REDIS_PORT} = $rport;
$ENV{TEST_VALIDIBOT_REDIS_DIR} = "$dir/redis";
$ENV{TEST_VALIDIBOT_KEY_DIR} = "$dir/keys";

require Validibot::Test;
Validibot::Test->import;

my ($wrk_pid, $nginx_up, @probe_pids, $proxy_pid);

sub stop_all {
    kill 'TERM', $wrk_pid if $wrk_pid;
    kill 'TERM', @probe_pids if @probe_pids;
    kill 'TERM', $proxy_pid if $proxy_pid;
    if ($nginx_up && open my $f, '<', "$dir/logs/nginx.pid") {
        my $pid = <$f>;
        kill 'QUIT', $pid if $pid && $pid =~ /^(\d+)$/;
    }
    eval { Validibot::Test::redis_stop() };
}
$SIG{INT} = $SIG{TERM} = sub { stop_all(); exit 130 };
END { stop_all() if $$ == $main::pid }
$main::pid = $$;

Validibot::Test::redis_start();

my $keyfile = Validibot::Test::digest_key_file(1);

# nginx's configuration, with Redis at $to (Redis itself, or the proxy)
sub write_conf {
    my ($to) = @_;
    open my $c, '>', "$dir/conf/nginx.conf" or die $!;
    print $c <<~"EOF";
    load_module $module;
    worker_processes $workers;
    error_log $dir/logs/error.log warn;
    pid $dir/logs/nginx.pid;
    events { worker_connections 4096; }
    http {
        access_log off;
        validibot_redis redis://127.0.0.1:$to/0;
        validibot_digest_key 1 $keyfile;
        validibot_cache zone=keys:16m;
        server {
            listen unix:$dir/upstream.sock;
            validibot_identity_headers off;
            location / { return 200 "ok"; }
        }
        server {
            listen 127.0.0.1:$port;
            location ~ ^/o/(?<org>[^/]+)/ {
                validibot_auth API;
                validibot_org \$org;
                validibot_require workflow_view;
                proxy_pass http://unix:$dir/upstream.sock;
            }
            location = /metrics { validibot_status; }
        }
    }
    EOF
    close $c;
}

write_conf($rport);

# the records of both keys, the second one revoked or not
sub setup {
    my (%o) = @_;
    add_user(7);
    add_org('acme');
    add_member('acme', 7, 'executor');
    make_key(seed => 'stress-cache', user => 7);
    make_key(seed => 'stress-cache-probe', user => 7,
             $o{revoked} ? (revoked_at => time() - 1) : ());
}

setup();
my $key = make_key(seed => 'stress-cache', user => 7, write => 0);
my $rkey = 'validibot:key:' . key_public_id($key);
my $pkey = make_key(seed => 'stress-cache-probe', user => 7, write => 0);
my $prkey = 'validibot:key:' . key_public_id($pkey);

system($nginx, '-p', "$dir/", '-c', "$dir/conf/nginx.conf") == 0
    or die "nginx did not start\n";
$nginx_up = 1;

sub get {
    my ($path, $k) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
                                  Timeout => 5) or die "connect: $!";
    print $s "GET $path HTTP/1.0\r\nHost: x\r\nAuthorization: Bearer "
             . ($k // $key) . "\r\n\r\n";
    local $/;
    my $r = <$s> // '';
    close $s;
    return $r;
}

# /metrics on one keep-alive connection: a poll costs no connect
my ($ka, $ka_buf);

sub metrics_ka {
    for my $try (1, 2) {
        $ka //= IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                      PeerPort => $port, Timeout => 5)
            or die "connect: $!";
        $ka_buf = '';
        print $ka "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
        while ($ka_buf !~ /\r\n\r\n/) {
            last unless sysread $ka, $ka_buf, 65536, length $ka_buf;
        }
        if ($ka_buf =~ /^Content-Length: (\d+)\r$/mi) {
            my $want = $1 + index($ka_buf, "\r\n\r\n") + 4;
            while (length $ka_buf < $want) {
                last unless sysread $ka, $ka_buf, 65536, length $ka_buf;
            }
            return $ka_buf if length $ka_buf >= $want;
        }
        undef $ka;      # closed by nginx (keepalive_requests): again
    }
    die "no answer from /metrics\n";
}

sub metric {
    my ($body, $name) = @_;
    return $body =~ /^validibot_cache_$name (\d+)$/m ? $1 : undef;
}

# every worker's tracking connection subscribed (within $secs)
sub wait_tracking {
    my ($secs) = @_;
    my $until = time + ($secs // 10);
    while (time < $until) {
        my $m = get('/metrics');
        return 1 if (metric($m, 'tracking_connections') // 0) == $workers;
        sleep 0.025;
    }
    return 0;
}

wait_tracking() or die "the tracking connections did not subscribe\n";

$wrk_pid = fork // die;
if (!$wrk_pid) {
    exec 'wrk', '-t1', '-c32', '-d3600s', '-H', "Authorization: Bearer $key",
         "http://127.0.0.1:$port/o/acme/x";
    exit 127;
}

sleep 1;

my $failed = 0;

sub pct {
    my ($sorted, $p) = @_;
    return $sorted->[POSIX::floor($#$sorted * $p + 0.5)];
}

# --- exact ----------------------------------------------------------------

if ($phase{exact}) {
    my %paths = (
        'key revoked'            => sub { Validibot::Test::redis_cmd('HSET', $rkey, 'revoked_at', time() - 1) },
        'key deleted'            => sub { Validibot::Test::redis_cmd('DEL', $rkey) },
        'user deactivated'       => sub { Validibot::Test::redis_cmd('HSET', 'validibot:user:7', 'is_active', 0) },
        'user removed'           => sub { Validibot::Test::redis_cmd('DEL', 'validibot:user:7') },
        'role removed'           => sub { Validibot::Test::redis_cmd('HSET', 'validibot:member:acme:7', 'roles', 'analytics_viewer') },
        'membership deactivated' => sub { Validibot::Test::redis_cmd('HSET', 'validibot:member:acme:7', 'is_active', 0) },
        'org suspended'          => sub { Validibot::Test::redis_cmd('HSET', 'validibot:org:acme', 'status', 'suspended') },
        'org deleted'            => sub { Validibot::Test::redis_cmd('DEL', 'validibot:org:acme') },
    );

    my $m0 = get('/metrics');
    my $stale_total = 0;

    print "exact: the first request after each write's acknowledgement\n";
    printf "%-24s %7s %6s %9s %9s %9s\n", 'change', 'trials', 'stale',
           'p50 ms', 'p99 ms', 'max ms';

    for my $name (sort keys %paths) {
        my ($stale, @lat) = (0);
        for (1 .. $trials) {
            setup();
            sleep 0.01;         # the hot load caches the key again everywhere
            $paths{$name}->();  # returns once Redis acknowledged the write
            my $t0 = time;
            my $r = get('/o/acme/x');
            push @lat, (time - $t0) * 1000;
            $stale++ if $r =~ m{^HTTP/1\.\d 200};
        }
        @lat = sort { $a <=> $b } @lat;
        printf "%-24s %7d %6d %9.2f %9.2f %9.2f\n", $name, $trials, $stale,
               pct(\@lat, 0.5), pct(\@lat, 0.99), $lat[-1];
        $stale_total += $stale;
    }

    my $m1 = get('/metrics');
    for my $m (qw(hits_total stores_refused_total invalidations_total
                  flushes_total))
    {
        printf "validibot_cache_%s during the trials: %d\n", $m,
               (metric($m1, $m) // 0) - (metric($m0, $m) // 0);
    }

    print $stale_total ? "exact: FAIL: $stale_total stale successes\n"
                       : "exact: ok: no stale success\n";
    $failed++ if $stale_total;
    setup();
}

# --- delivery ---------------------------------------------------------------

if ($phase{delivery}) {
    my (@first, @last, $lost);

    setup();
    sleep 0.2;

    for my $i (1 .. $trials) {
        my $i0 = metric(metrics_ka(), 'invalidations_total');
        Validibot::Test::redis_cmd('HSET', $rkey, 'label', "trial $i");
        my $t0 = time;
        my ($tf, $tl);
        while (time - $t0 < 2) {
            my $n = metric(metrics_ka(), 'invalidations_total') - $i0;
            $tf //= time if $n >= 1;
            if ($n >= $workers) {
                $tl = time;
                last;
            }
        }
        if (!defined $tl) {
            $lost++;
            sleep 0.1;
            next;
        }
        push @first, ($tf - $t0) * 1000;
        push @last, ($tl - $t0) * 1000;
    }

    @first = sort { $a <=> $b } @first;
    @last = sort { $a <=> $b } @last;

    my $poll = time;
    metrics_ka() for 1 .. 200;
    $poll = (time - $poll) / 200 * 1000;

    print "\ndelivery: from a write's acknowledgement to the workers having "
          . "applied its report\n(validibot_cache_invalidations_total "
          . "polled; one poll: " . sprintf('%.2f', $poll) . " ms)\n";
    printf "%-24s %7s %9s %9s %9s %9s\n", '', 'trials', 'p50 ms', 'p90 ms',
           'p99 ms', 'max ms';
    for ([ 'first worker' => \@first ], [ "all $workers workers" => \@last ])
    {
        my ($name, $l) = @$_;
        next unless @$l;
        printf "%-24s %7d %9.2f %9.2f %9.2f %9.2f\n", $name, scalar @$l,
               pct($l, 0.5), pct($l, 0.9), pct($l, 0.99), $l->[-1];
    }
    if ($lost) {
        print "delivery: FAIL: $lost writes not applied by every worker "
              . "within 2 s\n";
        $failed++;
    } else {
        print "delivery: ok: every write applied by every worker\n";
    }
}

# --- faults -----------------------------------------------------------------

# four probes of the second key on new connections, for $secs: one line
# "sent-at status" per request in $dir/probes/N
sub probes_start {
    my ($secs) = @_;
    @probe_pids = ();
    for my $n (1 .. 4) {
        my $pid = fork // die;
        if (!$pid) {
            $SIG{TERM} = 'DEFAULT';
            open my $out, '>', "$dir/probes/$n" or die $!;
            my $until = time + $secs;
            while (time < $until) {
                my $t = time;
                my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                              PeerPort => $port,
                                              Timeout => 2);
                my $status = 0;
                if ($s) {
                    print $s "GET /o/acme/x HTTP/1.0\r\nHost: x\r\n"
                             . "Authorization: Bearer $pkey\r\n\r\n";
                    my $line = <$s> // '';
                    $status = $1 if $line =~ m{^HTTP/1\.\d (\d+)};
                    close $s;
                }
                printf $out "%.6f %d\n", $t, $status;
                sleep 0.001;
            }
            close $out;
            POSIX::_exit(0);
        }
        push @probe_pids, $pid;
    }
}

sub probes_wait {
    waitpid $_, 0 for @probe_pids;
    @probe_pids = ();
    my @r;
    for my $n (1 .. 4) {
        open my $in, '<', "$dir/probes/$n" or next;
        push @r, map { [ split ] } <$in>;
        close $in;
    }
    return @r;
}

sub tracking_ids {
    my $list = Validibot::Test::redis_cmd('CLIENT', 'LIST');
    return $list =~ /^id=(\d+) .*name=validibot-nginx-tracking /mg;
}

# the faults go through stress/redis-proxy.pl, which can write junk into
# every Redis connection of nginx: nginx reloaded to connect through it

sub proxy_start {
    my $pport = free_port();
    $proxy_pid = open my $out, '-|', 'perl', "$FindBin::Bin/redis-proxy.pl",
                      $pport, $rport
        or die "redis-proxy.pl: $!\n";
    $main::proxy_out = $out;
    sleep 0.2;
    write_conf($pport);
    my $master = do {
        open my $f, '<', "$dir/logs/nginx.pid" or die $!;
        local $/;
        <$f> =~ /(\d+)/ ? $1 : die "no nginx pid\n";
    };
    my %old = map { $_ => 1 } tracking_ids();
    kill 'HUP', $master;
    # the old workers' tracking connections gone, four new ones subscribed
    for (1 .. 400) {
        sleep 0.025;
        my @ids = tracking_ids();
        last if @ids == $workers && !grep { $old{$_} } @ids;
    }
    wait_tracking() or die "the tracking connections did not subscribe\n";
    sleep 1;
}

# each returns the moment from which the second key must be refused
my %faults = (
    'client-kill' => sub {
        Validibot::Test::redis_cmd('CLIENT', 'KILL', 'ID', $_)
            for tracking_ids();
        Validibot::Test::redis_cmd('HSET', $prkey, 'revoked_at', time() - 1);
        return time;
    },
    'debug-sleep' => sub {
        Validibot::Test::redis_send_nowait('DEBUG', 'SLEEP', '2');
        sleep 0.1;
        Validibot::Test::redis_cmd('HSET', $prkey, 'revoked_at', time() - 1);
        return time;
    },
    'restart' => sub {
        Validibot::Test::redis_stop();
        my $t = time;
        Validibot::Test::redis_start();
        setup(revoked => 1);
        return $t;
    },
    'flushall' => sub {
        Validibot::Test::redis_cmd('FLUSHALL');
        my $t = time;
        setup(revoked => 1);
        return $t;
    },
    'garbage' => sub {
        kill 'USR1', $proxy_pid;
        my $line = readline $main::proxy_out;
        Validibot::Test::redis_cmd('HSET', $prkey, 'revoked_at', time() - 1);
        return time;
    },
    'junk' => sub {
        Validibot::Test::redis_cmd('PUBLISH', '__redis__:invalidate', 'junk');
        Validibot::Test::redis_cmd('HSET', $prkey, 'revoked_at', time() - 1);
        return time;
    },
);
my @faults = qw(client-kill debug-sleep restart flushall junk garbage);

if ($phase{faults}) {
    my @rows;

    proxy_start();

    for my $round (1 .. $fault_rounds) {
        for my $name (@faults) {
            setup();
            wait_tracking()
                or die "the tracking connections did not subscribe\n";
            probes_start(5);
            sleep 1.5;          # the second key cached in every worker

            my $m0 = get('/metrics');
            my $tf = $faults{$name}->();

            # refilled: hits rising with every tracking connection back
            my ($refill, $h);
            while (time - $tf < 3) {
                my $m = get('/metrics');
                my $hits = metric($m, 'hits_total') // 0;
                if ((metric($m, 'tracking_connections') // 0) == $workers
                    && defined $h && $hits > $h + 50)
                {
                    $refill = (time - $tf) * 1000;
                    last;
                }
                $h = $hits if (metric($m, 'tracking_connections') // 0)
                              == $workers;
                sleep 0.02;
            }
            my $m1 = get('/metrics');
            my @probes = probes_wait();

            my (%before, %after);
            for (@probes) {
                my ($t, $s) = @$_;
                ($t > $tf ? \%after : \%before)->{$s}++;
            }
            my ($stale, $other) = (0, 0);
            for (keys %after) {
                $stale += $after{$_} if /^2/;
                $other += $after{$_} unless /^(2\d\d|401|503)$/;
            }
            my $flushes = (metric($m1, 'flushes_total') // 0)
                          - (metric($m0, 'flushes_total') // 0);

            push @rows, sprintf "%-12s %5d %7d %7d %7d %7d %6d %8s %7d  %s",
                $name, $round, $before{200} // 0, $after{401} // 0,
                $after{503} // 0, $other, $stale,
                defined $refill ? sprintf('%.0f', $refill) : '-', $flushes,
                $stale ? 'FAIL: stale' : !defined $refill
                       ? 'FAIL: no refill' : 'ok';
            $failed++ if $stale || !defined $refill;
        }
    }

    print "\nfaults: a second key cached, then made bad with the fault; "
          . "probes after that moment\n";
    printf "%-12s %5s %7s %7s %7s %7s %6s %8s %7s  %s\n", 'fault', 'round',
           'bef 200', 'aft 401', 'aft 503', 'other', 'stale', 'refill',
           'flushes', 'result';
    print "$_\n" for @rows;
    print "refill: ms from the fault to hits rising again with every "
          . "tracking connection subscribed\n";
    print "flushes: validibot_cache_flushes_total over the fault "
          . "(all workers)\n";
    open my $log, '<', "$dir/logs/error.log" or die $!;
    my $perr = grep { /tracking connection: protocol error/ } <$log>;
    close $log;
    print "garbage: $perr tracking connections failed with a protocol "
          . "error and reconnected\n";
}

print "\n", ($failed ? "FAIL\n" : "ok: no stale success\n");
exit($failed ? 1 : 0);
