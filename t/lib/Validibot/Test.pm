package Validibot::Test;

# Helpers for the t/*.t files: a small Redis client for the test Redis
# that scripts/test.sh starts (TEST_NGINX_REDIS_PORT), and seeding of keys,
# users, orgs and memberships exactly as docs/redis-schema.md lays them
# out.  Everything is deterministic: a key made from seed "alice" is the
# same key in every run, so test files can be read and failures repeated.
# Pure core Perl (IO::Socket, Digest::SHA).  See docs/testing.md.

use strict;
use warnings;

use Carp qw(croak);
use Digest::SHA qw(hmac_sha256_hex sha256_hex);
use Errno qw(EAGAIN EINTR EWOULDBLOCK);
use File::Spec;
use File::Temp ();
use IO::Select;
use IO::Socket::INET;
use Time::HiRes ();

use Exporter 'import';

our @EXPORT = qw(
    redis_cmd redis_try redis_send_nowait redis_port redis_db redis_auth
    redis_flush_prefix redis_flushall redis_start redis_stop
    redis_is_up redis_wait_up with_redis_port
    make_key key_digest key_public_id key_secret rkey
    add_user add_org add_member
    digest_key digest_key_file
    DIGEST_KEY_V1 DIGEST_KEY_V2 TEST_NOW
    free_port nginx_get echo_http_config echo_config
);

# the digest key bytes of versions 1 and 2 (key files hold them plus "\n")
use constant DIGEST_KEY_V1 => 'test-digest-key-v1';
use constant DIGEST_KEY_V2 => 'test-digest-key-v2';

# "now" for created_at; expiry tests use time() relative values instead
use constant TEST_NOW => 1764000000;

our $Prefix = 'validibot:';     # as validibot_redis_prefix's default
our $Timeout = 5;               # seconds, per reply
our $Db = 0;
our $Password;
our $Username;

my $conn;           # the persistent connection of redis_cmd
my @nowait;         # connections of redis_send_nowait, kept open
my $key_counter = 0;

#
# Digest key files: every test process has them, under the same names,
# with or without scripts/test.sh, so configs can say
#   validibot_digest_key 1 $TEST_NGINX_DIGEST_KEY_FILE_V1;
#

sub digest_key {
    my ($version) = @_;
    $version //= 1;
    return "test-digest-key-v$version";
}

my $key_dir;

sub digest_key_file {
    my ($version) = @_;
    $version //= 1;

    my $var = "TEST_NGINX_DIGEST_KEY_FILE_V$version";
    return $ENV{$var} if $ENV{$var} && -f $ENV{$var};

    $key_dir //= $ENV{TEST_VALIDIBOT_KEY_DIR}
                 || File::Temp::tempdir('validibot-keys-XXXXXX', TMPDIR => 1,
                                        CLEANUP => 1);
    -d $key_dir or mkdir $key_dir or croak "mkdir $key_dir: $!";

    my $path = File::Spec->catfile($key_dir, "digest-v$version.key");
    open my $out, '>', $path or croak "cannot write $path: $!";
    print $out digest_key($version), "\n";
    close $out;

    $ENV{$var} = $path;
    return $path;
}

digest_key_file($_) for 1, 2;

#
# Redis
#

sub redis_port {
    my $port = $ENV{TEST_NGINX_REDIS_PORT};
    croak "TEST_NGINX_REDIS_PORT is not set: run the suite with "
          . "scripts/test.sh (make t)" unless $port;
    return $port;
}

sub encode_cmd {
    my @args = @_;
    my $out = '*' . scalar(@args) . "\r\n";
    for my $arg (@args) {
        $arg //= '';
        utf8::encode($arg) if utf8::is_utf8($arg);
        $out .= "\$" . length($arg) . "\r\n$arg\r\n";
    }
    return $out;
}

sub connect_redis {
    my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                     PeerPort => redis_port(),
                                     Proto => 'tcp',
                                     Timeout => $Timeout)
        or return undef;
    binmode $sock;
    $sock->autoflush(1);
    return $sock;
}

# Reads exactly one reply; returns ($value, $error).  Arrays come back as
# array refs, nil as undef, errors as ($undef, "ERR ...").
sub read_reply {
    my ($sock, $bufref) = @_;

    my $need = sub {
        my ($pred) = @_;
        my $sel = IO::Select->new($sock);
        until (defined(my $r = $pred->())) {
            $sel->can_read($Timeout) or die "redis: reply timed out\n";
            my $n = sysread($sock, $$bufref, 65536, length $$bufref);
            next if !defined $n && ($! == EINTR || $! == EAGAIN
                                    || $! == EWOULDBLOCK);
            die "redis: connection closed\n" if !$n;
        }
    };

    my $line = sub {
        my $l;
        $need->(sub {
            return undef unless $$bufref =~ s/\A([^\r]*)\r\n//;
            $l = $1;
            return 1;
        });
        return $l;
    };

    my $head = $line->();
    my $type = substr $head, 0, 1, '';

    return ($head, undef) if $type eq '+';
    return (undef, $head) if $type eq '-';
    return ($head + 0, undef) if $type eq ':';

    if ($type eq '$') {
        return (undef, undef) if $head < 0;
        $need->(sub { length($$bufref) >= $head + 2 ? 1 : undef });
        my $v = substr $$bufref, 0, $head + 2, '';
        return (substr($v, 0, $head), undef);
    }

    if ($type eq '*') {
        return (undef, undef) if $head < 0;
        my @list;
        for (1 .. $head) {
            my ($v, $e) = read_reply($sock, $bufref);
            push @list, defined $e ? "-$e" : $v;
        }
        return (\@list, undef);
    }

    die "redis: bad reply type '$type'\n";
}

sub get_conn {
    # a forked child must not share its parent's connection (and replies)
    undef $conn if $conn && $conn->{pid} != $$;

    return $conn if $conn;

    $conn = { sock => connect_redis(), buf => '', pid => $$ };
    if (!$conn->{sock}) {
        my $err = $!;
        undef $conn;
        die "redis: cannot connect to 127.0.0.1:" . redis_port()
            . ": $err\n";
    }

    if (defined $Password) {
        my @auth = defined $Username ? ($Username, $Password) : ($Password);
        my ($v, $e) = roundtrip($conn, 'AUTH', @auth);
        die "redis: AUTH: $e\n" if defined $e;
    }

    if ($Db) {
        my ($v, $e) = roundtrip($conn, 'SELECT', $Db);
        die "redis: SELECT $Db: $e\n" if defined $e;
    }

    return $conn;
}

sub roundtrip {
    my ($c, @args) = @_;
    local $SIG{PIPE} = 'IGNORE';
    my $req = encode_cmd(@args);
    my $off = 0;
    while ($off < length $req) {
        my $n = syswrite($c->{sock}, $req, length($req) - $off, $off);
        die "redis: write failed: $!\n" unless defined $n;
        $off += $n;
    }
    return read_reply($c->{sock}, \$c->{buf});
}

# redis_try(@args): ($reply, $error); a lost connection is retried once.
sub redis_try {
    my @args = @_;

    for my $attempt (1, 2) {
        my @r = eval { roundtrip(get_conn(), @args) };
        return @r unless $@;

        my $err = $@;
        undef $conn;
        die $err if $attempt == 2 || $err =~ /timed out/;
    }
}

# with_redis_port($port, sub { ... }): the helpers of this module talk to
# another Redis for the time of the sub (a Sentinel set-up's master).
sub with_redis_port {
    my ($port, $code) = @_;
    my $saved = $conn;
    undef $conn;
    local $ENV{TEST_NGINX_REDIS_PORT} = $port;
    my @r = eval { $code->() };
    my $err = $@;
    undef $conn;
    $conn = $saved;
    die $err if $err;
    return wantarray ? @r : $r[0];
}

# redis_cmd(@args): the reply; dies on an error reply.
sub redis_cmd {
    my ($v, $e) = redis_try(@_);
    croak "redis: $_[0]: $e" if defined $e;
    return $v;
}

# Sends a command on a connection of its own without waiting for the
# reply (e.g. DEBUG SLEEP 2 to make Redis slow); returns the socket, which
# stays open until the test process ends.
sub redis_send_nowait {
    my @args = @_;
    my $sock = connect_redis()
        or die "redis: cannot connect to 127.0.0.1:" . redis_port()
               . ": $!\n";
    if (defined $Password) {
        print $sock encode_cmd('AUTH', defined $Username
                                        ? ($Username, $Password)
                                        : ($Password));
    }
    print $sock encode_cmd('SELECT', $Db) if $Db;
    print $sock encode_cmd(@args);
    push @nowait, $sock;
    return $sock;
}

sub redis_db {
    my ($db) = @_;
    $Db = $db // 0;
    undef $conn;
}

sub redis_auth {
    ($Password, $Username) = @_;
    undef $conn;
}

# Deletes every key under the prefix (default: ours).
sub redis_flush_prefix {
    my ($prefix) = @_;
    $prefix //= $Prefix;

    my $cursor = 0;
    my $n = 0;
    do {
        my $r = redis_cmd('SCAN', $cursor, 'MATCH', "$prefix*",
                          'COUNT', 1000);
        $cursor = $r->[0];
        my @keys = @{ $r->[1] };
        if (@keys) {
            $n += redis_cmd('DEL', @keys);
        }
    } while ($cursor ne '0');

    return $n;
}

sub redis_flushall {
    return redis_cmd('FLUSHALL');
}

sub redis_is_up {
    my $sock = connect_redis() or return 0;
    my $buf = '';
    print $sock encode_cmd('PING');
    my ($v, $e) = eval { read_reply($sock, \$buf) };
    close $sock;
    return defined $v && $v eq 'PONG';
}

sub redis_wait_up {
    my ($secs) = @_;
    $secs //= 10;
    for (1 .. $secs * 20) {
        return 1 if redis_is_up();
        Time::HiRes::sleep(0.05);
    }
    return 0;
}

sub redis_dir {
    my $dir = $ENV{TEST_VALIDIBOT_REDIS_DIR};
    croak "TEST_VALIDIBOT_REDIS_DIR is not set: run the suite with "
          . "scripts/test.sh (make t)" unless $dir;
    return $dir;
}

# Starts the test Redis (again) on TEST_NGINX_REDIS_PORT with the flags
# scripts/test.sh uses; extra redis-server arguments may follow, e.g.
# redis_start('--requirepass', 'secret').  Its pid file is
# $TEST_VALIDIBOT_REDIS_DIR/redis.pid, which scripts/test.sh cleans up.
sub redis_start {
    my @extra = @_;
    my $dir = redis_dir();
    my $port = redis_port();

    my @cmd = ('redis-server', '--port', $port, '--bind', '127.0.0.1',
               '--save', '', '--appendonly', 'no',
               '--enable-debug-command', 'local',
               '--unixsocket', "$dir/redis.sock", '--unixsocketperm', '700',
               '--dir', $dir, '--daemonize', 'yes',
               '--pidfile', "$dir/redis.pid",
               '--logfile', "$dir/redis.log", @extra);

    system(@cmd) == 0 or croak "redis-server failed to start: $?";

    local $Password = undef;
    for (1 .. 200) {
        if (my $sock = connect_redis()) {
            my $buf = '';
            print $sock encode_cmd('PING');
            my ($v, $e) = eval { read_reply($sock, \$buf) };
            close $sock;
            # -NOAUTH counts as up too
            if (defined $v || defined $e) {
                undef $conn;
                return 1;
            }
        }
        Time::HiRes::sleep(0.05);
    }

    croak "redis-server did not answer on port $port";
}

# Stops the test Redis (SHUTDOWN NOSAVE) and waits until the port is
# closed; redis_start() brings it back with the same data dir (empty).
sub redis_stop {
    undef $conn;
    my $dir = $ENV{TEST_VALIDIBOT_REDIS_DIR};
    my $pid;

    if ($dir && open my $in, '<', "$dir/redis.pid") {
        $pid = <$in>;
        close $in;
        chomp $pid if defined $pid;
    }

    eval {
        my $c = { sock => connect_redis(), buf => '' };
        if ($c->{sock}) {
            if (defined $Password) {
                roundtrip($c, 'AUTH', defined $Username
                                      ? ($Username, $Password)
                                      : ($Password));
            }
            my $req = encode_cmd('SHUTDOWN', 'NOSAVE');
            syswrite($c->{sock}, $req);
            my $buf;
            sysread($c->{sock}, $buf, 512);
            close $c->{sock};
        }
    };

    if ($pid && $pid =~ /^\d+$/) {
        for (1 .. 200) {
            last unless kill 0, $pid;
            Time::HiRes::sleep(0.025);
        }
    }

    for (1 .. 200) {
        my $s = connect_redis() or return 1;
        close $s;
        Time::HiRes::sleep(0.025);
    }

    croak "redis on port " . redis_port() . " did not stop";
}

#
# Seeding (docs/redis-schema.md)
#

sub rkey {
    return $Prefix . join ':', @_;
}

# Validibot's digest: hex HMAC-SHA256, keyed with the digest key bytes, of
# the five strings joined by NUL.
sub key_digest {
    my ($public_id, $secret, $digest_version, $digest_key, $format) = @_;
    $digest_version //= 1;
    $digest_key //= digest_key($digest_version);
    $format //= 1;

    my $msg = join "\0", 'validibot-api-key', "format=$format",
                         "digest=$digest_version", "public=$public_id",
                         "secret=$secret";

    return hmac_sha256_hex($msg, $digest_key);
}

sub key_public_id {
    my ($key) = @_;
    return $key =~ /^vbk_\d+_([0-9a-f]{32})_/ ? $1 : undef;
}

sub key_secret {
    my ($key) = @_;
    return $key =~ /^vbk_\d+_[0-9a-f]{32}_([0-9a-f]{64})$/ ? $1 : undef;
}

# make_key(%opts) writes a key record and returns the full key string
# "vbk_1_<public_id>_<secret>".  Options (all optional):
#   seed           derives public_id and secret (default: "key1", "key2",
#                  ... in call order)
#   public_id, secret   explicit values instead
#   user           user id (default "1"); undef: no "user" field
#   digest_version stored as given (default 1; undef: field absent)
#   digest_key     key bytes for the digest (default digest_key(version))
#   digest         store this instead of the computed digest
#   label, created_at, expires_at, revoked_at, rotated_from
#   fields         { name => value, ... } extra or overriding fields
#   prefix         instead of $Validibot::Test::Prefix
#   write          0: compute only, write nothing
sub make_key {
    my %o = @_;

    my $seed = exists $o{seed} ? $o{seed} : 'key' . ++$key_counter;
    my $public = $o{public_id}
                 // substr(sha256_hex("validibot-test-public:$seed"), 0, 32);
    my $secret = $o{secret} // sha256_hex("validibot-test-secret:$seed");
    my $format = $o{format_version} // 1;

    my $key = "vbk_${format}_${public}_${secret}";

    return $key if exists $o{write} && !$o{write};

    my $dv = exists $o{digest_version} ? $o{digest_version} : 1;
    my $digest = $o{digest}
                 // key_digest($public, $secret, $dv // 1,
                               $o{digest_key} // digest_key($dv || 1),
                               $format);

    my %f = (
        user           => exists $o{user} ? $o{user} : '1',
        digest         => $digest,
        digest_version => $dv,
        label          => exists $o{label} ? $o{label} : 'Personal API key',
        created_at     => exists $o{created_at} ? $o{created_at} : TEST_NOW,
        expires_at     => $o{expires_at},
        revoked_at     => $o{revoked_at},
        rotated_from   => $o{rotated_from},
        %{ $o{fields} || {} },
    );

    my $name = ($o{prefix} // $Prefix) . "key:$public";

    redis_cmd('DEL', $name);
    my @kv = map { ($_ => $f{$_}) } grep { defined $f{$_} } sort keys %f;
    redis_cmd('HSET', $name, @kv) if @kv;

    return $key;
}

# add_user($id, %opts): is_active (default 1), email, name, prefix;
# an option given as undef leaves the field out.
sub add_user {
    my ($id, %o) = @_;

    my %f = (
        is_active => 1,
        email     => "user$id\@example.com",
        name      => "User $id",
    );
    my $prefix = delete $o{prefix} // $Prefix;
    @f{keys %o} = values %o;

    my $name = "${prefix}user:$id";
    redis_cmd('DEL', $name);
    my @kv = map { ($_ => $f{$_}) } grep { defined $f{$_} } sort keys %f;
    redis_cmd('HSET', $name, @kv) if @kv;
    return $name;
}

# add_org($slug, %opts): status (default "active"), name, prefix.
sub add_org {
    my ($slug, %o) = @_;

    my %f = (status => 'active', name => ucfirst $slug);
    my $prefix = delete $o{prefix} // $Prefix;
    @f{keys %o} = values %o;

    my $name = "${prefix}org:$slug";
    redis_cmd('DEL', $name);
    my @kv = map { ($_ => $f{$_}) } grep { defined $f{$_} } sort keys %f;
    redis_cmd('HSET', $name, @kv) if @kv;
    return $name;
}

# add_member($org, $user, $roles, $active, %opts): $roles is an array ref
# or a comma-separated string; $active defaults to 1.
sub add_member {
    my ($org, $user, $roles, $active, %o) = @_;

    $roles = join ',', @$roles if ref $roles eq 'ARRAY';
    $active //= 1;
    my $prefix = delete $o{prefix} // $Prefix;

    my %f = (is_active => $active, roles => $roles // '', %o);

    my $name = "${prefix}member:$org:$user";
    redis_cmd('DEL', $name);
    my @kv = map { ($_ => $f{$_}) } grep { defined $f{$_} } sort keys %f;
    redis_cmd('HSET', $name, @kv) if @kv;
    return $name;
}

#
# For the files that run nginx against a Redis of their own making
# (t/020-023): a free port, a request before the block's, and the common
# configuration around the "validibot_redis" lines.
#

# a TCP port nobody listens on now, on 127.0.0.1
sub free_port {
    my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1',
                                  LocalPort => 0, ReuseAddr => 1)
        or croak "free port: $!";
    my $port = $s->sockport;
    close $s;
    return $port;
}

# GET $path from the nginx under test, with the key as a bearer token
# (none if undef), e.g. from a block's "init": the status code, or
# (status, body) in list context
sub nginx_get {
    my ($path, $key) = @_;
    no warnings 'once';
    my $port = $Test::Nginx::Util::ServerPort || $ENV{TEST_NGINX_PORT}
               || 1984;

    # nginx may still be starting (slowly under a sanitizer or valgrind)
    my $s;
    for (1 .. 300) {
        $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
                                   Timeout => 5) and last;
        Time::HiRes::sleep(0.1);
    }
    $s or croak "connect to nginx on port $port: $!";

    print $s "GET $path HTTP/1.0\r\nHost: localhost\r\n"
             . (defined $key ? "Authorization: Bearer $key\r\n" : '')
             . "\r\n";
    my $response = do { local $/; <$s> } // '';
    close $s;

    my $status = $response =~ m{^HTTP/1\.\d (\d+)} ? $1 : 0;
    my $body = $response =~ /\r\n\r\n(.*)\z/s ? $1 : '';
    return wantarray ? ($status, $body) : $status;
}

# http_config: the given directive lines (the validibot_redis ones), the
# digest key, and an upstream that answers with the user nginx sends it
sub echo_http_config {
    my (@lines) = @_;
    return join('', map { "    $_\n" } @lines) . <<'_EOC_';
    validibot_digest_key 1 $TEST_NGINX_DIGEST_KEY_FILE_V1;

    server {
        listen unix:$TEST_NGINX_HTML_DIR/upstream.sock;
        validibot_identity_headers off;
        location / { return 200 "user=$http_x_validibot_user\n"; }
    }
_EOC_
}

# config: /t behind "validibot_auth API", passed to that upstream, and
# the counters at /metrics
sub echo_config {
    return <<'_EOC_';
    location /t {
        validibot_auth API;
        proxy_pass http://unix:$TEST_NGINX_HTML_DIR/upstream.sock;
    }

    location = /metrics {
        validibot_status;
    }
_EOC_
}

1;
