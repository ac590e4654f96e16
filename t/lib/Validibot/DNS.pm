package Validibot::DNS;

# A tiny DNS server for the tests of "resolver": answers A queries over
# UDP on 127.0.0.1 from a file of "name address" lines, read at every
# query, so a test can move a name while nginx runs.  A name not in the
# file gets NXDOMAIN; other query types an empty answer.  TTL 0.
#
#   my $dns = Validibot::DNS->start("$dir/zone");   # forks
#   $dns->port; $dns->set('redis.test', '127.0.0.1'); $dns->stop;

use strict;
use warnings;

use Carp qw(croak);
use IO::Select;
use IO::Socket::INET;
use POSIX ();

sub start {
    my ($class, $zone) = @_;
    my $sock = IO::Socket::INET->new(Proto => 'udp', LocalAddr => '127.0.0.1',
                                     LocalPort => 0)
        or croak "dns: $!";
    my $self = bless { zone => $zone, port => $sock->sockport }, $class;
    $self->set();

    my $pid = fork // croak "fork: $!";
    if ($pid == 0) {
        serve($sock, $zone);
        POSIX::_exit(0);
    }
    close $sock;
    $self->{pid} = $pid;
    return $self;
}

sub port { $_[0]{port} }

# set(name => address, ...): the whole zone
sub set {
    my ($self, %names) = @_;
    open my $out, '>', "$self->{zone}.tmp" or croak "$self->{zone}: $!";
    print $out "$_ $names{$_}\n" for sort keys %names;
    close $out;
    rename "$self->{zone}.tmp", $self->{zone} or croak "rename: $!";
}

sub stop {
    my ($self) = @_;
    return unless $self->{pid};
    local $?;           # in an END block $? is the test's exit code
    kill 'TERM', $self->{pid};
    waitpid $self->{pid}, 0;
    delete $self->{pid};
}

sub DESTROY { $_[0]->stop if $_[0]{pid} && $$ != 0 }

sub serve {
    my ($sock, $zone) = @_;
    my $parent = getppid();
    my $sel = IO::Select->new($sock);
    # a test that dies leaves no server behind: it checks its parent
    while (getppid() == $parent) {
        next unless $sel->can_read(1);
        my $from = $sock->recv(my $q, 512);
        next unless defined $from && length($q) >= 17;

        my ($id, $flags, $qd) = unpack 'n n n', $q;
        my $i = 12;
        my @labels;
        while ($i < length $q) {
            my $n = ord substr($q, $i, 1);
            $i++;
            last if $n == 0;
            push @labels, lc substr($q, $i, $n);
            $i += $n;
        }
        my ($qtype) = unpack 'n', substr($q, $i, 2);
        my $question = substr($q, 12, $i + 4 - 12);
        my $name = join '.', @labels;

        my %zone;
        if (open my $in, '<', $zone) {
            while (<$in>) {
                my ($n, $a) = split;
                $zone{lc $n} = $a if defined $a;
            }
        }

        my ($rcode, $answer, $an) = (0, '', 0);
        if (!exists $zone{$name}) {
            $rcode = 3;
        } elsif ($qtype == 1) {
            $answer = pack('n n n N n', 0xc00c, 1, 1, 0, 4)
                      . pack('C4', split /\./, $zone{$name});
            $an = 1;
        }

        my $r = pack('n n n n n n', $id, 0x8180 | $rcode, 1, $an, 0, 0)
                . $question . $answer;
        $sock->send($r, 0, $from);
    }
}

1;
