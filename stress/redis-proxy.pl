#!/usr/bin/perl
# A TCP proxy on 127.0.0.1:PORT to the Redis on 127.0.0.1:REDIS_PORT, for
# stress/cache-exact.pl: it forwards both ways until SIGTERM.  On SIGUSR1
# it writes bytes that are no RESP into every connection it holds, on the
# way from Redis to the client (a subscribed tracking connection
# included), then goes on forwarding; it prints "injected N" each time.
#
#   perl stress/redis-proxy.pl PORT REDIS_PORT
use strict;
use warnings;
use IO::Socket::INET;
use IO::Select;

my ($port, $rport) = @ARGV;
die "usage: redis-proxy.pl PORT REDIS_PORT\n" unless $port && $rport;

my $listen = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
                                   LocalPort => $port, Listen => 128,
                                   ReuseAddr => 1, Proto => 'tcp')
    or die "redis-proxy.pl: listen on $port: $!\n";

my ($stop, $inject) = (0, 0);
$SIG{TERM} = $SIG{INT} = sub { $stop = 1 };
$SIG{USR1} = sub { $inject = 1 };
$SIG{PIPE} = 'IGNORE';
$| = 1;

my $sel = IO::Select->new($listen);
my (%peer, %client);    # fileno -> the other socket; fileno -> a client?

sub drop {
    my ($fh) = @_;
    my $other = $peer{fileno $fh};
    for my $s ($fh, $other // ()) {
        delete $peer{fileno $s};
        delete $client{fileno $s};
        $sel->remove($s);
        close $s;
    }
}

sub send_all {
    my ($fh, $data) = @_;
    while (length $data) {
        my $n = syswrite($fh, $data);
        return 0 unless defined $n;
        substr($data, 0, $n, '');
    }
    return 1;
}

while (!$stop) {
    if ($inject) {
        $inject = 0;
        my $n = 0;
        for my $fd (keys %client) {
            $n += send_all($client{$fd}, "%%% not redis \x00\xff\r\n");
        }
        print "injected $n\n";
    }

    for my $fh ($sel->can_read(0.05)) {
        if ($fh == $listen) {
            my $c = $listen->accept or next;
            my $r = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                          PeerPort => $rport);
            if (!$r) {
                close $c;
                next;
            }
            $peer{fileno $c} = $r;
            $peer{fileno $r} = $c;
            $client{fileno $c} = $c;
            $sel->add($c, $r);
            next;
        }

        # closed already: the other side of a pair dropped in this round
        my $fd = fileno $fh;
        next unless defined $fd && $peer{$fd};

        my $n = sysread($fh, my $buf, 65536);

        if (!$n || !send_all($peer{$fd}, $buf)) {
            drop($fh);
        }
    }
}
