#!/usr/bin/perl
# A slow, timed client next to wrk's load: every 50 ms one request, on a
# new connection, alternately with a valid and an invalid key; prints one
# line per response until SIGTERM:
#
#   <epoch ms when sent> <valid|invalid> <status, or 0 for no answer> <ms>
#   [why there was no answer]
#
#   perl stress/probe.pl PORT VALID_FILE INVALID_FILE > probe.log
use strict;
use warnings;
use IO::Socket::INET;
use IO::Select;
use Time::HiRes qw(time sleep);

my ($port, $valid_file, $invalid_file) = @ARGV;
die "usage: probe.pl PORT VALID_FILE INVALID_FILE\n" unless $invalid_file;

sub read_keys {
    open my $in, '<', $_[0] or die "$_[0]: $!\n";
    my @k = grep { length } map { chomp; $_ } <$in>;
    close $in;
    return \@k;
}

my %keys = (valid => read_keys($valid_file),
            invalid => read_keys($invalid_file));
my $stop = 0;
$SIG{TERM} = $SIG{INT} = sub { $stop = 1 };
$SIG{PIPE} = 'IGNORE';
$| = 1;

my $i = 0;

while (!$stop) {
    my $class = $i % 2 ? 'invalid' : 'valid';
    my $list = $keys{$class};
    my $key = $list->[int($i / 2) % @$list];
    $i++;

    my $start = time();
    my ($status, $why) = request($key);
    my $end = time();

    printf "%d %s %d %d%s\n", $start * 1000, $class, $status,
           ($end - $start) * 1000, $why ? " $why" : '';

    my $left = 0.05 - ($end - $start);
    sleep($left) if $left > 0 && !$stop;
}

# the status of one GET /api/ok; 0 and a reason when there is no answer
# within 2 s
sub request {
    my ($key) = @_;
    my $s;

    # a connect() that fails at once is tried again once: seen once in
    # many runs, with nothing in nginx's log (the client's side of
    # loopback under wrk's load); the failure still counts if it repeats
    for my $try (1, 2) {
        $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                   PeerPort => $port, Proto => 'tcp',
                                   Timeout => 2);
        last if $s;
        printf STDERR "probe.pl: connect failed (%s)%s\n", $!,
                      $try == 1 ? ', trying again' : '';
        sleep(0.01);
    }

    if (!$s) {
        (my $why = "connect: $!") =~ s/\s+/_/g;
        return (0, $why);
    }

    print $s "GET /api/ok HTTP/1.1\r\nHost: localhost\r\n"
             . "Authorization: Bearer $key\r\nConnection: close\r\n\r\n";

    my $sel = IO::Select->new($s);
    my $buf = '';
    my $deadline = time() + 2;

    while ($buf !~ /\r\n/) {
        my $left = $deadline - time();
        last if $left <= 0 || !$sel->can_read($left);
        my $n = sysread($s, $buf, 4096, length $buf);
        last unless $n;
    }

    close $s;
    return $1 if $buf =~ m{^HTTP/1\.\d (\d{3})};
    return (0, length $buf ? 'bad_response' : 'no_response');
}
