#!/usr/bin/env perl
# validibot_cache exactness under load (issue 14; not part of make test):
# nginx with 4 workers and the cache, wrk keeping one key hot in every
# worker, and for each of the eight ways a key stops being good, TRIALS
# times: restore the records, let the workers cache them again, write the
# change, wait for Redis's acknowledgement, send one request on a new
# connection.  Any 200 is a stale success.  Also reports how long after
# the acknowledgement that request was answered (the bound on how late a
# worker applies a report: it reads its tracking connection before a hit).
#
#   perl stress/cache-exact.pl [TRIALS]       (default 1000)
#   make stress-cache [CACHE_TRIALS=100]
#
# Environment: NGINX_BIN (/usr/sbin/nginx), MODULE_SO
# (build/ngx_http_validibot_module.so), STRESS_DIR (build/stress/cache).

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

die "$module is not built (make module)\n" unless -f $module;

File::Path::remove_tree($dir);
File::Path::make_path("$dir/redis", "$dir/keys", "$dir/logs", "$dir/conf");

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

my ($wrk_pid, $nginx_up);

sub stop_all {
    kill 'TERM', $wrk_pid if $wrk_pid;
    if ($nginx_up && open my $f, '<', "$dir/logs/nginx.pid") {
        my $pid = <$f>;
        kill 'QUIT', $pid if $pid && $pid =~ /^(\d+)$/;
    }
    eval { Validibot::Test::redis_stop() };
}
$SIG{INT} = $SIG{TERM} = sub { stop_all(); exit 130 };
END { stop_all() }

Validibot::Test::redis_start();

my $keyfile = Validibot::Test::digest_key_file(1);

open my $c, '>', "$dir/conf/nginx.conf" or die $!;
print $c <<"EOF";
load_module $module;
worker_processes 4;
error_log $dir/logs/error.log warn;
pid $dir/logs/nginx.pid;
events { worker_connections 4096; }
http {
    access_log off;
    validibot_redis redis://127.0.0.1:$rport/0;
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

sub setup {
    add_user(7);
    add_org('acme');
    add_member('acme', 7, 'executor');
    make_key(seed => 'stress-cache', user => 7);
}

setup();
my $key = make_key(seed => 'stress-cache', user => 7, write => 0);
my $rkey = 'validibot:key:' . key_public_id($key);

system($nginx, '-p', "$dir/", '-c', "$dir/conf/nginx.conf") == 0
    or die "nginx did not start\n";
$nginx_up = 1;

sub get {
    my ($path) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
                                  Timeout => 5) or die "connect: $!";
    print $s "GET $path HTTP/1.0\r\nHost: x\r\nAuthorization: Bearer $key\r\n\r\n";
    local $/;
    my $r = <$s> // '';
    close $s;
    return $r;
}

# every worker's tracking connection subscribed
for (1 .. 400) {
    last if get('/metrics') =~ /^validibot_cache_tracking_connections 4$/m;
    sleep 0.025;
}

$wrk_pid = fork // die;
if (!$wrk_pid) {
    exec 'wrk', '-t1', '-c32', '-d3600s', '-H', "Authorization: Bearer $key",
         "http://127.0.0.1:$port/o/acme/x";
    exit 127;
}

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

sleep 1;
my $m0 = get('/metrics');
my $stale_total = 0;

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
           $lat[int(@lat / 2)], $lat[int(@lat * 0.99)], $lat[-1];
    $stale_total += $stale;
}

my $m1 = get('/metrics');
for my $m (qw(hits_total stores_refused_total invalidations_total flushes_total)) {
    my ($a) = $m0 =~ /^validibot_cache_$m (\d+)$/m;
    my ($b) = $m1 =~ /^validibot_cache_$m (\d+)$/m;
    printf "validibot_cache_%s during the trials: %d\n", $m, ($b // 0) - ($a // 0);
}

print $stale_total ? "FAIL: $stale_total stale successes\n"
                   : "ok: no stale success\n";
exit($stale_total ? 1 : 0);
