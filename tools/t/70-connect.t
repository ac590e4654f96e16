# Connections (AUTH, ACL users, db, unix sockets) and transactions, on
# private redis-servers started here.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use IO::Socket::INET;
use IO::Select;
use VTTest;

my $P = prefix();
my $D = tmpdir();
my $r;

# --- a password, an ACL user, a db ---

my $port = start_redis('--requirepass', 'sekret pw');
redis_on($port, 'AUTH', 'sekret pw');
redis_on($port, 'ACL', 'SETUSER', 'tool', 'on', '>t00l-pw', '~*', '+@all');

my $url = "redis://:sekret pw\@127.0.0.1:$port";
$r = vt('user', 'add', 'u', '--redis', $url);
ok $r->{rc} == 2 && $r->{err} =~ /invalid character in user or password/,
    'a space in the password must be escaped... and escapes are not decoded: exit 2';

redis_on($port, 'CONFIG', 'SET', 'requirepass', 'sekret-pw');
$url = "redis://:sekret-pw\@127.0.0.1:$port";

$r = vt('user', 'add', 'u', '--redis', $url);
is $r->{rc}, 0, 'AUTH with a password';
is redis_on($port, 'HGET', "${P}user:u", 'is_active'), '1', 'written after AUTH';

$r = vt('user', 'add', 'v', '--redis', "redis://tool:t00l-pw\@127.0.0.1:$port");
is $r->{rc}, 0, 'AUTH with an ACL user and password';

$r = vt('user', 'add', 'w', '--redis', "redis://:wrong-pw\@127.0.0.1:$port");
is $r->{rc}, 3, 'wrong password: exit 3';
like $r->{err}, qr/^validibot-token: user add: Redis at 127.0.0.1:$port refused AUTH: WRONGPASS/, 'wrong password: says so';
unlike $r->{err}, qr/wrong-pw/, 'wrong password: not echoed';

$r = vt('user', 'add', 'w', '--redis', "redis://127.0.0.1:$port");
is $r->{rc}, 3, 'no password: exit 3';
like $r->{err}, qr/NOAUTH/, 'no password: NOAUTH shown';

# VALIDIBOT_REDIS_PASSWORD_FILE: "password" or "user password"
my $pwf = write_file("$D/redis.pass", "tool t00l-pw\n");
$r = vt('user', 'add', 'pf1', '--redis', "redis://127.0.0.1:$port",
        { env => { VALIDIBOT_REDIS_PASSWORD_FILE => $pwf } });
is $r->{rc}, 0, 'password file with an ACL user';
is redis_on($port, 'HGET', "${P}user:pf1", 'is_active'), '1', 'password file: written';

$r = vt('user', 'add', 'pf2', '--redis', "redis://127.0.0.1:$port",
        { env => { VALIDIBOT_REDIS_PASSWORD_FILE =>
                       write_file("$D/redis2.pass", "sekret-pw") } });
is $r->{rc}, 0, 'password file with a password alone (no newline)';

$r = vt('user', 'add', 'pf3', '--redis', "redis://127.0.0.1:$port",
        { env => { VALIDIBOT_REDIS_PASSWORD_FILE =>
                       write_file("$D/redis3.pass", "tool wr0ng-pw\n") } });
is $r->{rc}, 3, 'password file, wrong password: exit 3';
like $r->{err}, qr/refused AUTH: WRONGPASS/, 'password file, wrong password: says so';
unlike $r->{err}, qr/wr0ng/, 'password file, wrong password: not echoed';

$r = vt('user', 'add', 'pf4', '--redis', "redis://127.0.0.1:$port",
        { env => { VALIDIBOT_REDIS_PASSWORD_FILE => "$D/nonexistent.pass" } });
is $r->{rc}, 2, 'password file missing: exit 2';
like $r->{err}, qr{cannot read VALIDIBOT_REDIS_PASSWORD_FILE "\Q$D\E/nonexistent\.pass": No such file},
    'password file missing: names it';

$r = vt('user', 'add', 'pf5', '--redis', "redis://127.0.0.1:$port",
        { env => { VALIDIBOT_REDIS_PASSWORD_FILE =>
                       write_file("$D/redis5.pass", "a s3cr3t c\n") } });
is $r->{rc}, 2, 'password file with three words: exit 2';
like $r->{err}, qr/redis5\.pass" has more than two words/, 'three words: says so';
unlike $r->{err}, qr/s3cr3t/, 'three words: content not shown';

$r = vt('user', 'add', 'pf6', '--redis', $url,
        { env => { VALIDIBOT_REDIS_PASSWORD_FILE => $pwf } });
is $r->{rc}, 2, 'a password in the URL and a password file: exit 2';
like $r->{err}, qr/a password in --redis and in VALIDIBOT_REDIS_PASSWORD_FILE/,
    'a password in the URL and a password file: says so';

$r = vt('user', 'add', 'd3', '--redis', "redis://:sekret-pw\@127.0.0.1:$port/3");
is $r->{rc}, 0, 'db 3';
is redis_on($port, 'EXISTS', "${P}user:d3"), 0, 'db 3: not in db 0';
redis_on($port, 'SELECT', '3');
is redis_on($port, 'EXISTS', "${P}user:d3"), 1, 'db 3: in db 3';
redis_on($port, 'SELECT', '0');

$r = vt('user', 'add', 'x', '--redis', "redis://:sekret-pw\@127.0.0.1:$port/15999");
is $r->{rc}, 3, 'a db the server does not have: exit 3';
like $r->{err}, qr/refused SELECT 15999: ERR/, 'a db the server does not have: says so';

stop_redis($port);

# --- a unix socket ---

my $sock = "$D/redis.sock";
$port = start_redis('--unixsocket', $sock, '--unixsocketperm', '700');
$r = vt('user', 'add', 's', '--redis', "unix:$sock");
is $r->{rc}, 0, 'unix socket';
is redis_on($port, 'HGET', "${P}user:s", 'is_active'), '1', 'unix socket: written';
$r = vt('user', 'add', 's2', '--redis', "unix:$sock?db=2");
is $r->{rc}, 0, 'unix socket with ?db=2';
redis_on($port, 'SELECT', '2');
is redis_on($port, 'EXISTS', "${P}user:s2"), 1, 'unix socket with ?db=2: in db 2';
redis_on($port, 'SELECT', '0');

# --- transactions, seen with MONITOR ---

$url = "redis://127.0.0.1:$port";

sub monitor {
    my (@args) = @_;
    my $m = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port) or die;
    print $m "MONITOR\r\n";
    my $ok = <$m>;
    my $res = vt(@args, '--redis', $url);
    my @cmds;
    my $sel = IO::Select->new($m);
    my $buf = '';
    while ($sel->can_read(0.3)) {
        my $n = sysread($m, $buf, 65536, length $buf);
        last unless $n;
    }
    close $m;
    for (split /\r\n/, $buf) {
        next unless /^\+\d+\.\d+ \[\d+ [^\]]+\] (.*)$/;
        my @w = map { s/^"|"$//gr } ($1 =~ /("(?:[^"\\]|\\.)*")/g);
        push @cmds, join ' ', @w;
    }
    return ($res, \@cmds);
}

sub between {
    my ($cmds) = @_;
    my $s = join "\n", @$cmds;
    return $s =~ /(?:^|\n)MULTI\n(.*?)\nEXEC(?:\n|$)/s ? [split /\n/, $1] : undef;
}

vt('user', 'add', 'tx', '--redis', $url);
vt('org', 'add', 'acme', '--redis', $url);
vt('member', 'grant', 'acme', 'tx', 'author', '--redis', $url);
my $key = vt('create', '--user', 'tx', '--redis', $url)->{out} =~ s/\n//r;
my ($pid) = key_of($key);

my ($res, $cmds) = monitor('user', 'remove', 'tx');
is $res->{rc}, 0, 'user remove under MONITOR';
my $tx = between($cmds);
ok $tx, 'user remove: writes inside MULTI ... EXEC';
is_deeply [sort @{ $tx || [] }],
    [sort "DEL ${P}user:tx", "DEL ${P}member:acme:tx", "DEL ${P}key:$pid",
          "DEL ${P}usage:$pid"],
    'user remove: the four deletions (user, membership, key, usage) in one transaction';
my ($mi) = grep { $cmds->[$_] eq 'MULTI' } 0 .. $#$cmds;
ok defined $mi && !grep({ /^(DEL|HSET|HDEL|SET|SADD|SREM)\b/ } @$cmds[0 .. $mi - 1]),
    'user remove: nothing written before MULTI';

vt('user', 'add', 'tx', '--redis', $url);
($res, $cmds) = monitor('create', '--user', 'tx');
$tx = between($cmds);
($pid) = key_of($res->{out} =~ s/\n//r);
ok $tx && @$tx == 1 && $tx->[0] =~ /^HSET ${P}key:$pid user tx digest [0-9a-f]{64} digest_version 1 label Personal API key created_at \d+ expires_at \d+$/,
    'create: one HSET in a transaction, the key WATCHed' or diag explain $cmds;
ok grep({ $_ eq "WATCH ${P}key:$pid" } @$cmds), 'create: WATCH on the new id';
my ($sec) = (key_of($res->{out} =~ s/\n//r))[1];
ok !grep({ index($_, $sec) >= 0 } @$cmds), 'create: the secret never reaches Redis';

($res, $cmds) = monitor('rotate', $pid, '--overlap', '1h');
$tx = between($cmds);
my ($p2) = key_of($res->{out} =~ s/\n//r);
ok $tx && @$tx == 2 && $tx->[0] =~ /^HSET ${P}key:$p2 .* rotated_from $pid$/
    && $tx->[1] =~ /^HSET ${P}key:$pid expires_at \d+$/,
    'rotate: new key and old expiry in one transaction' or diag explain $cmds;
ok grep({ $_ eq "WATCH ${P}key:$pid ${P}key:$p2" } @$cmds), 'rotate: both ids WATCHed';

vt('org', 'add', 'globex', '--redis', $url);
vt('member', 'grant', 'globex', 'tx', 'owner', '--redis', $url);
($res, $cmds) = monitor('org', 'delete', 'globex', '--purge');
$tx = between($cmds);
is_deeply [sort @{ $tx || [] }], [sort "DEL ${P}org:globex", "DEL ${P}member:globex:tx"],
    'org delete --purge: one transaction';

($res, $cmds) = monitor('member', 'grant', 'acme', 'tx', 'executor');
$tx = between($cmds);
is_deeply $tx, ["HSET ${P}member:acme:tx is_active 1 roles executor"], 'member grant: in a transaction';
ok grep({ $_ eq "WATCH ${P}member:acme:tx ${P}org:acme ${P}user:tx" } @$cmds),
    'member grant: membership, org and user WATCHed';

my $good = qq({"public_id": "${\ ('a' x 32)}", "secret_digest": "${\ ('b' x 64)}", "user": 1});
my $good2 = qq({"public_id": "${\ ('c' x 32)}", "secret_digest": "${\ ('b' x 64)}", "user": 1});
write_file("$D/two.jsonl", "$good\n$good2\n");
($res, $cmds) = monitor('import', '--jsonl', "$D/two.jsonl");
$tx = between($cmds);
is scalar(@{ $tx || [] }), 6, 'import: DEL + HSET per key and DEL of its usage record, all in one transaction';

($res, $cmds) = monitor('revoke', $p2);
is $res->{rc}, 0, 'revoke under MONITOR';
ok grep({ $_ eq "WATCH ${P}key:$p2" } @$cmds), 'revoke: WATCHes the key';

done_testing;
