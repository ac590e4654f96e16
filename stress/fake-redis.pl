#!/usr/bin/perl
# A fake Redis on 127.0.0.1:PORT that misbehaves in one way, for
# stress/faults.sh; runs until SIGTERM.
#
#   perl stress/fake-redis.pl PORT MODE
#
# MODE, what it does once a client has sent something:
#   garbage   answers bytes that are no RESP at all, to every read
#   half      answers the first half of a reply, then nothing (the
#             connection stays open: the client must time out)
#   close     answers half a reply and closes the connection
#   wrong     answers well-formed replies of the wrong type (:1) to every
#             command
use strict;
use warnings;
use IO::Socket::INET;
use IO::Select;

my ($port, $mode) = @ARGV;
die "usage: fake-redis.pl PORT garbage|half|close|wrong\n"
    unless $mode && $mode =~ /^(garbage|half|close|wrong)$/;

my $listen = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
                                   LocalPort => $port, Listen => 128,
                                   ReuseAddr => 1, Proto => 'tcp')
    or die "fake-redis.pl: listen on $port: $!\n";

my $stop = 0;
$SIG{TERM} = $SIG{INT} = sub { $stop = 1 };
$SIG{PIPE} = 'IGNORE';

my $sel = IO::Select->new($listen);
my %answered;    # half: a connection gets its half reply only once

while (!$stop) {
    for my $fh ($sel->can_read(0.1)) {
        if ($fh == $listen) {
            my $c = $listen->accept or next;
            $c->blocking(0);
            $sel->add($c);
            next;
        }

        my $n = sysread($fh, my $buf, 65536);

        if (!$n) {
            $sel->remove($fh);
            delete $answered{fileno $fh};
            close $fh;
            next;
        }

        if ($mode eq 'garbage') {
            syswrite($fh, "%%% not redis \x00\xff\r\n");

        } elsif ($mode eq 'wrong') {
            # one reply per command: count the commands (arrays) read
            my $cmds = () = $buf =~ /(?:^|\n)\*\d+\r\n/g;
            syswrite($fh, ":1\r\n" x ($cmds || 1));

        } elsif ($mode eq 'half') {
            next if $answered{fileno $fh}++;
            syswrite($fh, "\$40\r\n0123456789");

        } else {    # close
            syswrite($fh, "*2\r\n\$5\r\nhel");
            $sel->remove($fh);
            close $fh;
        }
    }
}
