# list, show, revoke, delete, rotate.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use VTTest;

my $P = prefix();
my $ISO = qr/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ/;
my $r;

sub create {
    my $r = vt('create', @_);
    die "create failed: $r->{err}" if $r->{rc};
    my $key = $r->{out} =~ s/\n//r;
    return ($key, key_of($key));
}

vt('user', 'add', 'alice');
vt('user', 'add', 'bob');

my ($ka, $pa, $sa) = create('--user', 'alice', '--label', 'laptop');
my ($kb, $pb, $sb) = create('--user', 'bob', '--expires', 'never');
my ($kc, $pc, $sc) = create('--user', 'alice');

# written by hand: the tool itself refuses control characters in labels
redis('HSET', "${P}key:$pc", 'label', "tab\there");

# --- list ---

$r = vt('list');
is $r->{rc}, 0, 'list: exit 0';
my @lines = split /\n/, $r->{out};
like $lines[0], qr/^PUBLIC_ID\s+USER\s+LABEL\s+STATE\s+CREATED\s+EXPIRES\s+REVOKED\s+LAST_USED$/,
    'list: header';
is scalar(@lines), 4, 'list: one line per key';
like $r->{out}, qr/^$pa\s+alice\s+laptop\s+active\s+$ISO\s+$ISO\s+-\s+-$/m, 'list: alice\'s key';
like $r->{out}, qr/^$pb\s+bob\s+Personal API key\s+active\s+$ISO\s+never\s+-\s+-$/m, 'list: bob\'s key, never expires';
like $r->{out}, qr/^$pc\s+alice\s+tab\?here\s+active/m, 'list: control characters in a label are not printed raw';
unlike $r->{out}, qr/$sa|$sb|$sc/, 'list: no secret';
my %h = @{ redis('HGETALL', "${P}key:$pa") };
unlike $r->{out}, qr/$h{digest}/, 'list: no digest';

$r = vt('list', '--user', 'alice');
@lines = split /\n/, $r->{out};
is scalar(@lines), 3, 'list --user: only that user\'s keys';
unlike $r->{out}, qr/$pb/, 'list --user: not bob\'s';

$r = vt('list', '--user', 'carol');
is $r->{rc}, 0, 'list --user with no keys: exit 0';
is $r->{out}, "no keys\n", 'list --user with no keys: says so';

$r = vt('list', '--json');
is $r->{rc}, 0, 'list --json: exit 0';
is ref $r->{json}, 'ARRAY', 'list --json: an array';
is scalar(@{ $r->{json} }), 3, 'list --json: three keys';
my ($ja) = grep { $_->{public_id} eq $pa } @{ $r->{json} };
is $ja->{user}, 'alice', 'list --json: user';
is $ja->{label}, 'laptop', 'list --json: label';
is $ja->{state}, 'active', 'list --json: state';
is $ja->{digest_version}, '1', 'list --json: digest_version';
like $ja->{created_at}, qr/^$ISO$/, 'list --json: created_at ISO 8601';
like $ja->{expires_at}, qr/^$ISO$/, 'list --json: expires_at ISO 8601';
ok exists $ja->{revoked_at} && !defined $ja->{revoked_at}, 'list --json: revoked_at null';
ok exists $ja->{last_used_at} && !defined $ja->{last_used_at}, 'list --json: last_used_at null';
ok !exists $ja->{digest} && !exists $ja->{secret}, 'list --json: no digest or secret member';
my ($jc) = grep { $_->{public_id} eq $pc } @{ $r->{json} };
is $jc->{label}, "tab\there", 'list --json: label exact (JSON-escaped)';

is scalar(@{ vt('list', '--user', 'bob', '--json')->{json} }), 1, 'list --user --json';
is_deeply vt('list', '--user', 'nobody', '--json')->{json}, [], 'list --json, no keys: []';

# what the module wrote is shown
redis('HSET', "${P}usage:$pa", 'last_used_at', '1764000000', 'last_used_ip', '192.0.2.7');
$r = vt('list', '--user', 'alice');
like $r->{out}, qr/^$pa\s.*\s2025-11-24T16:00:00Z$/m, 'list: last used, ISO 8601 UTC';

# things under the key: pattern that are not key records are skipped
redis('HSET', "${P}key:notahexid", 'user', 'alice');
redis('SET', "${P}key:" . ('e' x 32), 'a string');
redis('HSET', "${P}key:" . ('f' x 32), 'label', 'no user field');
$r = vt('list', '--json');
is scalar(@{ $r->{json} }), 3, 'list: non-records skipped (bad id, wrong type, no user)';

# a prefix with glob characters is matched literally
my $gp = "${P}g[*]?:";
my (undef, $pg) = create('--user', 'alice', '--prefix', $gp);
redis('HSET', "${P}gX*Y:key:" . ('d' x 32), 'user', 'alice', 'digest', 'x');
$r = vt('list', '--json', '--prefix', $gp);
is_deeply [map { $_->{public_id} } @{ $r->{json} }], [$pg], 'list: prefix glob characters escaped';

# sorted by creation time
redis('HSET', "${P}key:$pb", 'created_at', '1000');
$r = vt('list', '--json');
is $r->{json}[0]{public_id}, $pb, 'list: oldest first';

# --- show ---

$r = vt('show', $pa);
is $r->{rc}, 0, 'show: exit 0';
like $r->{out}, qr/^public_id\s+$pa$/m, 'show: public_id';
like $r->{out}, qr/^user\s+alice \(active\)$/m, 'show: user and its state';
like $r->{out}, qr/^label\s+laptop$/m, 'show: label';
like $r->{out}, qr/^state\s+active$/m, 'show: state';
like $r->{out}, qr/^digest_version\s+1$/m, 'show: digest_version';
like $r->{out}, qr/^created_at\s+$ISO$/m, 'show: created_at';
like $r->{out}, qr/^expires_at\s+$ISO$/m, 'show: expires_at';
like $r->{out}, qr/^revoked_at\s+-$/m, 'show: revoked_at';
like $r->{out}, qr/^last_used_at\s+2025-11-24T16:00:00Z$/m, 'show: last_used_at';
like $r->{out}, qr/^last_used_ip\s+192\.0\.2\.7$/m, 'show: last_used_ip';
unlike $r->{out}, qr/$h{digest}|$sa/, 'show: no digest or secret';

like vt('show', $pb)->{out}, qr/^expires_at\s+never$/m, 'show: never expires';

$r = vt('show', $pa, '--json');
is $r->{json}{public_id}, $pa, 'show --json: public_id';
is $r->{json}{user_status}, 'active', 'show --json: user_status';
is $r->{json}{last_used_ip}, '192.0.2.7', 'show --json: last_used_ip';
is $r->{json}{last_used_at}, '2025-11-24T16:00:00Z', 'show --json: last_used_at';
ok !grep({ defined && /$h{digest}/ } values %{ $r->{json} }), 'show --json: no digest';

vt('user', 'deactivate', 'bob');
is vt('show', $pb, '--json')->{json}{user_status}, 'inactive', 'show: inactive user';
my (undef, $pg2) = create('--user', 'ghost');
is vt('show', $pg2, '--json')->{json}{user_status}, 'missing', 'show: user without a record';

$r = vt('show', '0' x 32);
is $r->{rc}, 1, 'show unknown id: exit 1';
like $r->{err}, qr/^validibot-token: show: no such key 0{32} \(prefix "\Q$P\E"\)$/, 'show unknown id: one line';
is $r->{out}, '', 'show unknown id: nothing on stdout';
is vt('show', 'f' x 32)->{rc}, 1, 'show a record without user: exit 1 (the module calls it missing)';

# --- revoke ---

my $t0 = time;
$r = vt('revoke', $pa);
is $r->{rc}, 0, 'revoke: exit 0';
like $r->{out}, qr/^revoked key $pa at $ISO$/, 'revoke: says when';
my $rev = redis('HGET', "${P}key:$pa", 'revoked_at');
ok $rev >= $t0 && $rev <= time, 'revoke: revoked_at is now';
like vt('show', $pa)->{out}, qr/^state\s+revoked$/m, 'revoke: state revoked';
like vt('list')->{out}, qr/^$pa\s.*\srevoked\s.*\s$ISO\s+2025/m, 'list: revoked time shown';

redis('HSET', "${P}key:$pa", 'revoked_at', '1700000000');
$r = vt('revoke', $pa, '--json');
is $r->{rc}, 0, 'revoke again: exit 0';
is_deeply $r->{json}, { public_id => $pa, revoked_at => '2023-11-14T22:13:20Z', already_revoked => JSON::PP::true },
    'revoke again: keeps the first time, --json';
is redis('HGET', "${P}key:$pa", 'revoked_at'), '1700000000', 'revoke again: not rewritten';

$r = vt('revoke', '1' x 32);
is $r->{rc}, 1, 'revoke unknown: exit 1';
like $r->{err}, qr/no such key 1{32}/, 'revoke unknown: says so';
is redis('EXISTS', "${P}key:" . ('1' x 32)), 0, 'revoke unknown: no record made';

$r = vt('revoke', $pc, '--json');
ok !$r->{json}{already_revoked} && $r->{json}{revoked_at} =~ /^$ISO$/, 'revoke --json';

# --- delete ---

redis('HSET', "${P}usage:$pc", 'last_used_at', '1764000000');
$r = vt('delete', $pc);
is $r->{rc}, 0, 'delete: exit 0';
is $r->{out}, "deleted key $pc\n", 'delete: says so';
is redis('EXISTS', "${P}key:$pc"), 0, 'delete: record gone';
is redis('EXISTS', "${P}usage:$pc"), 0, 'delete: usage record gone';
$r = vt('delete', $pc);
is $r->{rc}, 1, 'delete again: exit 1';
like $r->{err}, qr/no such key $pc/, 'delete again: says so';
my (undef, $pd) = create('--user', 'alice');
is_deeply vt('delete', $pd, '--json')->{json}, { public_id => $pd, deleted => JSON::PP::true }, 'delete --json';

# --- rotate ---

vt('user', 'activate', 'bob');
my ($k1, $p1, $s1) = create('--user', 'bob', '--label', 'deploy', '--expires', '90d');
my $old_exp = redis('HGET', "${P}key:$p1", 'expires_at');

$t0 = time;
$r = vt('rotate', $p1);
is $r->{rc}, 0, 'rotate: exit 0';
like $r->{out}, qr/^vbk_1_[0-9a-f]{32}_[0-9a-f]{64}\n\z/, 'rotate: stdout is the new key alone';
my ($p2, $s2) = key_of($r->{out} =~ s/\n//r);
isnt $p2, $p1, 'rotate: a new public id';
like $r->{err}, qr/^rotated key $p1 to $p2 for user bob; $p1 expires $ISO; the new key expires $ISO\n\z/,
    'rotate: summary on stderr';
unlike $r->{err}, qr/$s2/, 'rotate: secret not on stderr';

my %n = @{ redis('HGETALL', "${P}key:$p2") };
is $n{user}, 'bob', 'rotate: same user';
is $n{label}, 'deploy', 'rotate: same label';
is $n{rotated_from}, $p1, 'rotate: rotated_from recorded';
is $n{digest}, validibot_digest(digest_key(1), $p2, $s2, 1), 'rotate: digest of the new key';
is $n{expires_at} - $n{created_at}, 365 * 86400, 'rotate: new key gets the default expiry';
my $e1 = redis('HGET', "${P}key:$p1", 'expires_at');
ok $e1 - $t0 >= 86400 && $e1 - time <= 86400, 'rotate: old key expires after 24h by default';
ok !defined redis('HGET', "${P}key:$p1", 'revoked_at'), 'rotate: old key not revoked';

$r = vt('rotate', $p2, '--overlap', '30m', '--expires', 'never', '--json');
is $r->{rc}, 0, 'rotate --json: exit 0';
my $j = $r->{json};
my ($p3) = key_of($j->{key});
is $j->{public_id}, $p3, 'rotate --json: public_id';
is $j->{rotated_from}, $p2, 'rotate --json: rotated_from';
is $j->{user}, 'bob', 'rotate --json: user';
is $j->{label}, 'deploy', 'rotate --json: label';
ok exists $j->{expires_at} && !defined $j->{expires_at}, 'rotate --json: new key never expires';
like $j->{old_expires_at}, qr/^$ISO$/, 'rotate --json: old_expires_at';
my $e2 = redis('HGET', "${P}key:$p2", 'expires_at');
ok abs($e2 - time - 1800) <= 2, 'rotate --overlap 30m';
ok !redis('HEXISTS', "${P}key:$p3", 'expires_at'), 'rotate --expires never';

# the overlap never lengthens the old key's life
my (undef, $p4) = create('--user', 'bob', '--expires', '1h');
my $e4 = redis('HGET', "${P}key:$p4", 'expires_at');
$r = vt('rotate', $p4, '--overlap', '2d');
is redis('HGET', "${P}key:$p4", 'expires_at'), $e4, 'rotate: old key\'s earlier expiry kept';

# --overlap 0s ends the old key now
my (undef, $p5) = create('--user', 'bob');
vt('rotate', $p5, '--overlap', '0s');
ok redis('HGET', "${P}key:$p5", 'expires_at') <= time, 'rotate --overlap 0s: old key expires now';
like vt('show', $p5)->{out}, qr/^state\s+expired$/m, 'rotate --overlap 0s: old key expired';

# rotate with another digest version
$r = vt('rotate', $p3, '--digest-version', '2', '--digest-key', '2=' . digest_file(2));
my ($p6, $s6) = key_of($r->{out} =~ s/\n//r);
is redis('HGET', "${P}key:$p6", 'digest'), validibot_digest(digest_key(2), $p6, $s6, 2),
    'rotate --digest-version 2';

# what cannot be rotated
$r = vt('rotate', $pa);
is $r->{rc}, 1, 'rotate a revoked key: exit 1';
like $r->{err}, qr/key $pa is revoked: make a new one with 'validibot-token create --user alice'/,
    'rotate a revoked key: says so';
$r = vt('rotate', $p5);
is $r->{rc}, 1, 'rotate an expired key: exit 1';
like $r->{err}, qr/key $p5 is expired/, 'rotate an expired key: says so';
$r = vt('rotate', '2' x 32);
is $r->{rc}, 1, 'rotate unknown: exit 1';
like $r->{err}, qr/no such key 2{32}/, 'rotate unknown: says so';
is vt('rotate', $p1, '--digest-version', '3')->{rc}, 2, 'rotate without the digest key: exit 2';
is vt('list', '--user', 'bob', '--json')->{rc}, 0, 'still listable';

done_testing;
