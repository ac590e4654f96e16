package VTTest;

# Helpers for the validibot-token tests (tools/t/*.t).
#
# - vt(ARGS..., {stdin => ..., env => {...}}) runs the tool and returns
#   {rc, out, err, json}; the environment starts clean of VALIDIBOT_* and
#   points at the test Redis, with a per-file prefix and digest key 1.
# - redis(CMD...) talks RESP to the test Redis directly.
# - The Redis is $TEST_NGINX_REDIS_PORT's when set (shared with the module
#   tests: everything here lives under the prefix "vt<pid>:" and is
#   deleted at the end), otherwise a private redis-server started here.

use strict;
use warnings;

use Exporter 'import';
use File::Temp qw(tempdir);
use IO::Socket::INET;
use JSON::PP ();
use Digest::SHA qw(hmac_sha256_hex);
use POSIX ();
use Time::HiRes qw(sleep);

our @EXPORT = qw(vt redis redis_port prefix tmpdir digest_key digest_file
                 write_file validibot_digest start_redis stop_redis free_port
                 redis_on key_of);

my $TMP = tempdir('vt-test-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $PREFIX = "vt$$:";
my $N = 0;
my %SERVERS;            # port => pid, servers started here
my $PORT;
my %CONN;               # port => socket

our $BIN = $ENV{VALIDIBOT_TOKEN_BIN} || do {
    my $here = __FILE__;
    $here =~ s{/[^/]+/[^/]+$}{};
    "$here/../../build/validibot-token";
};

die "validibot-token not built: $BIN (make tools)\n" unless -x $BIN;

sub tmpdir { $TMP }
sub prefix { $PREFIX }

sub write_file {
    my ($path, $data) = @_;
    open my $fh, '>:raw', $path or die "$path: $!";
    print $fh $data;
    close $fh;
    return $path;
}

# digest keys: version => bytes; the files end in a newline, which the
# tool (like the module) drops
my %DIGEST_KEY = (
    1 => 'test-digest-key-one-0123456789abcdef',
    2 => 'test-digest-key-two-fedcba9876543210',
);

sub digest_key { $DIGEST_KEY{$_[0]} }

sub digest_file {
    my ($v) = @_;
    my $f = "$TMP/digest-key-$v";
    write_file($f, "$DIGEST_KEY{$v}\n") unless -e $f;
    return $f;
}

# Validibot's digest, computed independently of the C code
sub validibot_digest {
    my ($key_bytes, $public_id, $secret, $version) = @_;
    $version //= 1;
    my $msg = join "\0", 'validibot-api-key', 'format=1',
        "digest=$version", "public=$public_id", "secret=$secret";
    return hmac_sha256_hex($msg, $key_bytes);
}

sub key_of {
    my ($key) = @_;
    return $key =~ /^vbk_1_([0-9a-f]{32})_([0-9a-f]{64})$/ ? ($1, $2) : ();
}

sub free_port {
    my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                  Proto => 'tcp', Listen => 1, ReuseAddr => 1)
        or die "no free port: $!";
    my $port = $s->sockport;
    close $s;
    return $port;
}

# starts a private redis-server; returns its port
sub start_redis {
    my (@extra) = @_;
    my $port = free_port();
    my $pid = fork // die "fork: $!";

    if ($pid == 0) {
        open STDOUT, '>', "$TMP/redis-$port.log";
        open STDERR, '>&', \*STDOUT;
        exec 'redis-server', '--port', $port, '--bind', '127.0.0.1',
            '--save', '', '--appendonly', 'no', '--daemonize', 'no', @extra;
        exit 127;
    }

    $SERVERS{$port} = $pid;

    for (1 .. 100) {
        my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                      PeerPort => $port, Proto => 'tcp');
        if ($s) {
            close $s;
            return $port;
        }
        sleep 0.05;
    }

    die "redis-server on $port did not start\n";
}

sub stop_redis {
    my ($port) = @_;
    my $pid = delete $SERVERS{$port} or return;
    delete $CONN{$port};
    kill 'TERM', $pid;
    waitpid $pid, 0;
}

sub redis_port {
    return $PORT if $PORT;
    $PORT = $ENV{TEST_NGINX_REDIS_PORT} || start_redis();
    return $PORT;
}

# --- a small RESP client ---

sub _conn {
    my ($port) = @_;
    return $CONN{$port} ||= IO::Socket::INET->new(
        PeerAddr => '127.0.0.1', PeerPort => $port, Proto => 'tcp')
        || die "cannot connect to redis on $port: $!\n";
}

sub _line {
    my ($s) = @_;
    my $l = <$s>;
    die "redis connection closed\n" unless defined $l;
    $l =~ s/\r\n$//;
    return $l;
}

sub _reply {
    my ($s) = @_;
    my $l = _line($s);
    my ($t, $v) = (substr($l, 0, 1), substr($l, 1));

    return $v if $t eq '+';
    return \"$v" if $t eq '-';            # an error: a scalar ref
    return 0 + $v if $t eq ':';

    if ($t eq '$') {
        return undef if $v < 0;
        my $buf = '';
        while (length($buf) < $v + 2) {
            my $n = read($s, $buf, $v + 2 - length($buf), length($buf));
            die "redis read: $!\n" unless $n;
        }
        return substr($buf, 0, $v);
    }

    if ($t eq '*') {
        return undef if $v < 0;
        return [ map { _reply($s) } 1 .. $v ];
    }

    die "bad RESP line: $l\n";
}

sub redis_on {
    my ($port, @cmd) = @_;
    my $s = _conn($port);
    my $req = '*' . @cmd . "\r\n";
    $req .= '$' . length($_) . "\r\n$_\r\n" for @cmd;
    print $s $req;
    return _reply($s);
}

sub redis { redis_on(redis_port(), @_) }

# --- running the tool ---

sub vt {
    my $opt = (@_ && ref $_[-1] eq 'HASH') ? pop : {};
    my @args = @_;
    my $n = ++$N;
    my ($in, $out, $err) = map { "$TMP/run$n.$_" } qw(in out err);

    write_file($in, $opt->{stdin} // '');

    my %env = (
        VALIDIBOT_REDIS_URL        => 'redis://127.0.0.1:' . redis_port(),
        VALIDIBOT_REDIS_PREFIX     => $PREFIX,
        VALIDIBOT_DIGEST_KEY_FILE  => digest_file(1),
    );

    %env = (%env, %{ $opt->{env} || {} });

    my $pid = fork // die "fork: $!";

    if ($pid == 0) {
        delete $ENV{$_} for grep { /^VALIDIBOT_/ } keys %ENV;
        while (my ($k, $v) = each %env) {
            $ENV{$k} = $v if defined $v;
        }
        open STDIN, '<', $in or die;
        open STDOUT, '>', $out or die;
        open STDERR, '>', $err or die;
        exec $BIN, @args;
        exit 127;
    }

    waitpid $pid, 0;

    my %r = (rc => $? >> 8, signal => $? & 127);

    for my $f ([out => $out], [err => $err]) {
        open my $fh, '<:raw', $f->[1] or die;
        local $/;
        $r{ $f->[0] } = <$fh> // '';
    }

    $r{json} = eval { JSON::PP->new->decode($r{out}) }
        if $r{out} =~ /^[\[{]/;

    return \%r;
}

END {
    my $rc = $?;

    # leave the shared Redis as we found it
    if ($PORT && !$SERVERS{$PORT}) {
        eval {
            my $cursor = '0';
            do {
                my $r = redis('SCAN', $cursor, 'MATCH', "$PREFIX*",
                              'COUNT', '1000');
                $cursor = $r->[0];
                redis('DEL', @{ $r->[1] }) if @{ $r->[1] };
            } while ($cursor ne '0');
        };
    }

    stop_redis($_) for keys %SERVERS;

    $? = $rc;
}

1;
