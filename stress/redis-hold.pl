#!/usr/bin/perl
# Fills Redis's maxclients for stress/faults.sh: opens HOLD connections,
# lowers maxclients to that many (below the clients connected, which Redis
# allows: it only refuses new ones), kills the module's connections
# (CLIENT SETNAME validibot-nginx), and keeps the held ones for SECONDS, so
# that every reconnection is refused ("max number of clients reached")
# with no race for a freed slot; then lets go and restores maxclients.
#
#   perl stress/redis-hold.pl PORT SECONDS [HOLD]
use strict;
use warnings;
use IO::Socket::INET;
use Time::HiRes qw(time sleep);

my ($port, $seconds, $max) = @ARGV;
die "usage: redis-hold.pl PORT SECONDS [HOLD]\n" unless $seconds;
$max //= 4;

sub conn {
    return IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
                                 Proto => 'tcp', Timeout => 1);
}

# one command, one reply line (enough for the replies used here)
sub cmd {
    my ($s, @args) = @_;
    my $req = '*' . @args . "\r\n";
    $req .= '$' . length($_) . "\r\n$_\r\n" for @args;
    print $s $req or return undef;
    my $line = <$s> // return undef;
    if ($line =~ /^\$(-?\d+)/) {
        return undef if $1 < 0;
        read($s, my $data, $1 + 2);
        return substr($data, 0, $1);
    }
    $line =~ s/\r\n$//;
    return $line;
}

# a held connection: one that Redis accepted and answers
sub hold_one {
    my $s = conn() or return undef;
    my $r = cmd($s, 'PING') // '';
    return $r eq '+PONG' ? $s : undef;
}

my $admin = conn() or die "redis-hold.pl: cannot connect to $port\n";
my $old = do {
    print $admin "*3\r\n\$6\r\nCONFIG\r\n\$3\r\nGET\r\n\$10\r\nmaxclients\r\n";
    my @l = map { scalar <$admin> } 1 .. 5;
    $l[4] =~ /(\d+)/ ? $1 : 10000;
};

my @held;
for (1 .. $max) {
    my $s = hold_one() or last;
    push @held, $s;
}

cmd($admin, 'CONFIG', 'SET', 'maxclients', $max);

my $list = cmd($admin, 'CLIENT', 'LIST') // '';
my @ids = $list =~ /^id=(\d+) .*\bname=validibot-nginx\b/mg;
cmd($admin, 'CLIENT', 'KILL', 'ID', $_) for @ids;

sleep($seconds);

my $n = @held;
close $_ for @held;
cmd($admin, 'CONFIG', 'SET', 'maxclients', $old);
close $admin;
print STDERR "redis-hold.pl: held $n connection(s) for $seconds s, "
             . "killed " . @ids . " of the module's (maxclients $max, "
             . "then $old again)\n";
