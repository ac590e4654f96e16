# create: the key, what is stored, expiry, digest versions, --json.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use VTTest;

my $P = prefix();
my $r;

vt('user', 'add', '42');

# --- the key, printed exactly once ---

my $t0 = time;
$r = vt('create', '--user', '42');
my $t1 = time;
is $r->{rc}, 0, 'create: exit 0';
like $r->{out}, qr/^vbk_1_[0-9a-f]{32}_[0-9a-f]{64}\n\z/, 'create: stdout is the key alone';
my ($pid, $secret) = key_of($r->{out} =~ s/\n//r);
ok $pid, 'create: key parses';
like $r->{err}, qr/^created key $pid for user 42, expires \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\n\z/,
    'create: one summary line on stderr, ISO 8601 UTC';
unlike $r->{err}, qr/$secret/, 'create: secret not on stderr';
is(() = $r->{out} =~ /$secret/g, 1, 'create: secret printed exactly once');

my %h = @{ redis('HGETALL', "${P}key:$pid") };
is $h{user}, '42', 'stored: user';
is $h{label}, 'Personal API key', 'stored: default label';
is $h{digest_version}, '1', 'stored: digest_version 1 by default';
is $h{digest}, validibot_digest(digest_key(1), $pid, $secret, 1),
    "stored: digest is Validibot's HMAC-SHA256 (trailing newline of the key file dropped)";
ok $h{created_at} >= $t0 && $h{created_at} <= $t1, 'stored: created_at is now';
is $h{expires_at} - $h{created_at}, 365 * 86400, 'stored: default expiry 365 days';
ok !grep({ $_ eq $secret || index($_, $secret) >= 0 } values %h), 'stored: no secret anywhere';
is_deeply [sort keys %h], [sort qw(user label digest_version digest created_at expires_at)],
    'stored: exactly the schema fields';

# --- labels and durations ---

$r = vt('create', '--user', '42', '--label', 'CI runner ünïcode', '--expires', 'never');
($pid) = key_of($r->{out} =~ s/\n//r);
%h = @{ redis('HGETALL', "${P}key:$pid") };
is $h{label}, 'CI runner ünïcode', 'label stored as given (UTF-8)';
ok !exists $h{expires_at}, '--expires never: no expires_at field';
like $r->{err}, qr/expires never/, '--expires never: said so';

for my $d (['90d', 90 * 86400], ['24h', 86400], ['30m', 1800], ['45s', 45],
           ['2w', 14 * 86400], ['1d12h', 36 * 3600], ['1h30m15s', 5415])
{
    $r = vt('create', '--user', '42', '--expires', $d->[0]);
    ($pid) = key_of($r->{out} =~ s/\n//r);
    %h = @{ redis('HGETALL', "${P}key:$pid") };
    is $h{expires_at} - $h{created_at}, $d->[1], "--expires $d->[0]";
}

# --- the CSPRNG: no two keys alike ---

my (%pids, %secrets);
for (1 .. 20) {
    my ($p, $s) = key_of(vt('create', '--user', '42', '--expires', '1h')->{out} =~ s/\n//r);
    $pids{$p}++;
    $secrets{$s}++;
}
is scalar(keys %pids), 20, '20 keys, 20 distinct public ids';
is scalar(keys %secrets), 20, '20 keys, 20 distinct secrets';

# --- digest versions ---

$r = vt('create', '--user', '42', '--digest-version', '2',
        '--digest-key', '2=' . digest_file(2));
is $r->{rc}, 0, '--digest-version 2 with --digest-key 2=FILE';
($pid, $secret) = key_of($r->{out} =~ s/\n//r);
%h = @{ redis('HGETALL', "${P}key:$pid") };
is $h{digest_version}, '2', 'stored: digest_version 2';
is $h{digest}, validibot_digest(digest_key(2), $pid, $secret, 2), 'digest made with key 2';

# --digest-key 1=FILE wins over VALIDIBOT_DIGEST_KEY_FILE
$r = vt('create', '--user', '42', '--digest-key', '1=' . digest_file(2));
($pid, $secret) = key_of($r->{out} =~ s/\n//r);
%h = @{ redis('HGETALL', "${P}key:$pid") };
is $h{digest}, validibot_digest(digest_key(2), $pid, $secret, 1),
    '--digest-key 1=FILE overrides VALIDIBOT_DIGEST_KEY_FILE';

# a CRLF-terminated key file: both dropped
write_file(tmpdir() . '/crlf', digest_key(1) . "\r\n");
$r = vt('create', '--user', '42', { env => { VALIDIBOT_DIGEST_KEY_FILE => tmpdir() . '/crlf' } });
($pid, $secret) = key_of($r->{out} =~ s/\n//r);
%h = @{ redis('HGETALL', "${P}key:$pid") };
is $h{digest}, validibot_digest(digest_key(1), $pid, $secret, 1), 'key file: trailing CRLF dropped';

# only one trailing newline is dropped
write_file(tmpdir() . '/two-nl', digest_key(1) . "\n\n");
$r = vt('create', '--user', '42', { env => { VALIDIBOT_DIGEST_KEY_FILE => tmpdir() . '/two-nl' } });
($pid, $secret) = key_of($r->{out} =~ s/\n//r);
%h = @{ redis('HGETALL', "${P}key:$pid") };
is $h{digest}, validibot_digest(digest_key(1) . "\n", $pid, $secret, 1), 'key file: only one newline dropped';

# --- --json ---

$t0 = time;
$r = vt('create', '--user', '42', '--label', 'json', '--expires', '30m', '--json');
is $r->{rc}, 0, 'create --json: exit 0';
my $j = $r->{json};
ok $j, 'create --json: stdout is JSON' or diag $r->{out};
is $r->{err}, '', 'create --json: nothing on stderr';
($pid, $secret) = key_of($j->{key});
is $j->{public_id}, $pid, 'json: public_id';
is $j->{user}, '42', 'json: user';
is $j->{label}, 'json', 'json: label';
is $j->{digest_version}, '1', 'json: digest_version';
like $j->{created_at}, qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/, 'json: created_at ISO 8601';
like $j->{expires_at}, qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/, 'json: expires_at ISO 8601';
is(() = $r->{out} =~ /$secret/g, 1, 'json: secret once');

$r = vt('create', '--user', '42', '--expires', 'never', '--json');
ok exists $r->{json}{expires_at} && !defined $r->{json}{expires_at}, 'json: never is null';

# --- warnings about the user ---

$r = vt('create', '--user', 'ghost');
is $r->{rc}, 0, 'create for a user without a record: still made';
like $r->{err}, qr/warning: user ghost has no record: the module refuses the key until 'validibot-token user add ghost'/,
    'create for a user without a record: warned';

vt('user', 'add', 'sleepy');
vt('user', 'deactivate', 'sleepy');
$r = vt('create', '--user', 'sleepy');
like $r->{err}, qr/warning: user sleepy is inactive/, 'create for an inactive user: warned';

# --- the prefix ---

$r = vt('create', '--user', '42', '--prefix', "${P}other:");
($pid) = key_of($r->{out} =~ s/\n//r);
is redis('EXISTS', "${P}other:key:$pid"), 1, '--prefix places the record';
$r = vt('create', '--user', '42', { env => { VALIDIBOT_REDIS_PREFIX => "${P}env:" } });
($pid) = key_of($r->{out} =~ s/\n//r);
is redis('EXISTS', "${P}env:key:$pid"), 1, 'VALIDIBOT_REDIS_PREFIX places the record';

# --- a Redis error reply: exit 3, nothing half-done ---

redis('SET', "${P}user:wrongtype", 'x');
$r = vt('create', '--user', 'wrongtype');
is $r->{rc}, 0, 'a user record of the wrong type only skips the advice';

my $bad = 'c' x 32;
redis('SET', "${P}key:$bad", 'not a hash');
$r = vt('revoke', $bad);
is $r->{rc}, 3, 'a Redis error reply: exit 3';
like $r->{err}, qr/^validibot-token: revoke: Redis at 127.0.0.1:\d+: HGETALL: WRONGTYPE/,
    'a Redis error reply: one line naming the command';
is redis('GET', "${P}key:$bad"), 'not a hash', 'a Redis error reply: nothing written';

done_testing;
