# sentinel:// in validibot-token: the master's address from a sentinel,
# checked with ROLE.  Private servers started here: a master, a replica,
# one redis-sentinel, and a fake sentinel that names the replica.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use IO::Socket::INET;
use POSIX ();
use VTTest;

my $P = prefix();
my $D = tmpdir();

my $m = start_redis();
my $rep = start_redis('--replicaof', '127.0.0.1', $m);
my $s = free_port();

open my $out, '>', "$D/sentinel.conf" or die;
print $out "port $s\nbind 127.0.0.1\ndaemonize no\ndir $D\n",
           "sentinel monitor vbmaster 127.0.0.1 $m 1\n";
close $out;

my $spid = fork // die;
if ($spid == 0) {
    open STDOUT, '>', "$D/sentinel.log";
    open STDERR, '>&', \*STDOUT;
    exec 'redis-sentinel', "$D/sentinel.conf";
    exit 127;
}

for (1 .. 100) {
    last if IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $s);
    select undef, undef, undef, 0.05;
}

# the fake: names the replica for any master
my $fake = IO::Socket::INET->new(Listen => 5, LocalAddr => '127.0.0.1',
                                 LocalPort => 0, ReuseAddr => 1) or die;
my $fport = $fake->sockport;
my $fpid = fork // die;
if ($fpid == 0) {
    while (my $c = $fake->accept) {
        sysread $c, my $buf, 512;
        print $c "*2\r\n\$9\r\n127.0.0.1\r\n\$" . length($rep) . "\r\n$rep\r\n";
        close $c;
    }
    POSIX::_exit(0);
}
close $fake;

END {
    local $?;
    for my $pid (grep { $_ } $spid, $fpid) {
        kill 'TERM', $pid;
        waitpid $pid, 0;
    }
}

my $dead = free_port();
my $r;

$r = vt('user', 'add', 's1', '--redis', "sentinel://127.0.0.1:$s/vbmaster");
is $r->{rc}, 0, 'sentinel://: the master named by the sentinel' or diag $r->{err};
is redis_on($m, 'HGET', "${P}user:s1", 'is_active'), '1', '... written on the master';

$r = vt('user', 'add', 's2', '--redis',
        "sentinel://127.0.0.1:$dead,127.0.0.1:$s/vbmaster");
is $r->{rc}, 0, 'a dead sentinel first: the next one answers' or diag $r->{err};
like $r->{err}, qr/warning: sentinel 127\.0\.0\.1:$dead: /, '... with a warning';

$r = vt('user', 'add', 's3', '--redis', "sentinel://127.0.0.1:$s/nosuch");
is $r->{rc}, 3, 'a master name no sentinel knows: exit 3';
like $r->{err}, qr/no sentinel named a master "nosuch"/, '... says so';

$r = vt('user', 'add', 's4', '--redis', "sentinel://127.0.0.1:$fport/vbmaster");
is $r->{rc}, 3, 'a sentinel that names a replica: exit 3';
like $r->{err}, qr/127\.0\.0\.1:$rep, named by the sentinels, is not the master/,
    '... ROLE says so';

$r = vt('user', 'add', 's5', '--redis', "sentinel://127.0.0.1:$s");
is $r->{rc}, 2, 'sentinel:// without a master name: exit 2';

stop_redis($rep);
stop_redis($m);

done_testing();
