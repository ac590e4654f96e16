# user add/show/activate/deactivate/remove, org add/show/suspend/
# activate/delete.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use VTTest;

my $P = prefix();
my $T = JSON::PP::true;
my $F = JSON::PP::false;
my $r;

sub hash { my %h = @{ redis('HGETALL', $_[0]) }; \%h }

# --- user add ---

$r = vt('user', 'add', '42', '--email', 'ci@example.com', '--name', 'CI bot');
is $r->{rc}, 0, 'user add: exit 0';
is $r->{out}, "added user 42\n", 'user add: says so';
is_deeply hash("${P}user:42"), { is_active => '1', email => 'ci@example.com', name => 'CI bot' },
    'user add: record as in the schema';

$r = vt('user', 'add', 'plain');
is_deeply hash("${P}user:plain"), { is_active => '1' }, 'user add without email/name';

$r = vt('user', 'add', '42');
is $r->{rc}, 0, 'user add again: exit 0';
is $r->{out}, "user 42 exists already (is_active 1)\n", 'user add again: says so';

vt('user', 'deactivate', '42');
$r = vt('user', 'add', '42', '--name', 'Renamed');
is $r->{out}, "updated user 42 (is_active 0)\n", 'user add on an existing user updates';
is_deeply hash("${P}user:42"), { is_active => '0', email => 'ci@example.com', name => 'Renamed' },
    'user add on an existing user: is_active untouched';

$r = vt('user', 'add', 'j@x.io', '--email', 'j@x.io', '--json');
is_deeply $r->{json}, { user => 'j@x.io', is_active => $T, email => 'j@x.io', name => undef, created => $T },
    'user add --json';
is vt('user', 'add', 'j@x.io', '--json')->{json}{created}, $F, 'user add --json again: created false';

# --- activate / deactivate ---

$r = vt('user', 'activate', '42');
is $r->{rc}, 0, 'user activate: exit 0';
is $r->{out}, "activated user 42\n", 'user activate: says so';
is redis('HGET', "${P}user:42", 'is_active'), '1', 'user activate: is_active 1';
$r = vt('user', 'deactivate', '42', '--json');
is_deeply $r->{json}, { user => '42', is_active => $F }, 'user deactivate --json';
is redis('HGET', "${P}user:42", 'is_active'), '0', 'user deactivate: is_active 0';
is_deeply vt('user', 'activate', '42', '--json')->{json}, { user => '42', is_active => $T }, 'user activate --json';

for my $c (qw(activate deactivate)) {
    $r = vt('user', $c, 'nobody');
    is $r->{rc}, 1, "user $c unknown: exit 1";
    like $r->{err}, qr/^validibot-token: user $c: no such user nobody$/, "user $c unknown: says so";
    is redis('EXISTS', "${P}user:nobody"), 0, "user $c unknown: no record made";
}

# --- user show ---

vt('org', 'add', 'acme');
vt('org', 'add', 'initech');
vt('member', 'grant', 'acme', '42', 'author', 'executor');
vt('member', 'grant', 'initech', '42', 'owner');
redis('HSET', "${P}member:initech:42", 'is_active', '0');

$r = vt('user', 'show', '42');
is $r->{rc}, 0, 'user show: exit 0';
like $r->{out}, qr/^user\s+42$/m, 'user show: id';
like $r->{out}, qr/^is_active\s+1 \(active\)$/m, 'user show: active';
like $r->{out}, qr/^email\s+ci\@example.com$/m, 'user show: email';
like $r->{out}, qr/^name\s+Renamed$/m, 'user show: name';
like $r->{out}, qr/^  acme  active  author,executor$/m, 'user show: membership';
like $r->{out}, qr/^  initech  inactive  owner$/m, 'user show: inactive membership';

unlike $r->{out}, qr/^superuser/m, 'user show: no superuser line for others';

$r = vt('user', 'show', '42', '--json');
is_deeply $r->{json}, {
    user => '42', is_active => $T, email => 'ci@example.com', name => 'Renamed',
    is_superuser => $F,
    memberships => [
        { org => 'acme', is_active => $T, roles => ['author', 'executor'] },
        { org => 'initech', is_active => $F, roles => ['owner'] },
    ] }, 'user show --json';

# is_superuser comes from validibot-sync (Validibot's users_user)
redis('HSET', "${P}user:42", 'is_superuser', '1');
$r = vt('user', 'show', '42');
like $r->{out}, qr/^superuser\s+1 \(every org, validibot_superusers allow\)$/m, 'user show: superuser';
is vt('user', 'show', '42', '--json')->{json}{is_superuser}, $T, 'user show --json: is_superuser';
redis('HDEL', "${P}user:42", 'is_superuser');

$r = vt('user', 'show', 'nobody');
is $r->{rc}, 1, 'user show unknown: exit 1';
like $r->{err}, qr/no such user nobody/, 'user show unknown: says so';

# --- user remove: user, memberships and keys, in one go ---

my $k1 = vt('create', '--user', '42')->{out};
my $k2 = vt('create', '--user', '42')->{out};
my $kx = vt('create', '--user', 'plain')->{out};
my ($p1) = key_of($k1 =~ s/\n//r);
my ($p2) = key_of($k2 =~ s/\n//r);
my ($px) = key_of($kx =~ s/\n//r);
vt('member', 'grant', 'acme', 'plain', 'author');
# a user whose id ends like 42's must not be touched
vt('user', 'add', 'x42');
vt('member', 'grant', 'acme', 'x42', 'author');

redis('HSET', "${P}usage:$p1", 'last_used_at', '1764000000');
redis('HSET', "${P}usage:$px", 'last_used_at', '1764000000');
$r = vt('user', 'remove', '42');
is $r->{rc}, 0, 'user remove: exit 0';
is $r->{out}, "removed user 42, 2 memberships and 2 keys\n", 'user remove: says what went';
is redis('EXISTS', "${P}user:42"), 0, 'user remove: user gone';
is redis('EXISTS', "${P}member:acme:42"), 0, 'user remove: membership acme gone';
is redis('EXISTS', "${P}member:initech:42"), 0, 'user remove: membership initech gone';
is redis('EXISTS', "${P}key:$p1"), 0, 'user remove: key 1 gone';
is redis('EXISTS', "${P}key:$p2"), 0, 'user remove: key 2 gone';
is redis('EXISTS', "${P}key:$px"), 1, 'user remove: another user\'s key kept';
is redis('EXISTS', "${P}usage:$p1"), 0, 'user remove: key 1\'s usage record gone';
is redis('EXISTS', "${P}usage:$px"), 1, 'user remove: another user\'s usage record kept';
is redis('EXISTS', "${P}member:acme:plain"), 1, 'user remove: another user\'s membership kept';
is redis('EXISTS', "${P}member:acme:x42"), 1, 'user remove: x42\'s membership kept';
is redis('EXISTS', "${P}org:acme"), 1, 'user remove: org kept';

$r = vt('user', 'remove', '42');
is $r->{rc}, 1, 'user remove again: exit 1';
like $r->{err}, qr/no such user 42/, 'user remove again: says so';

# leftovers of a user without a record are removed too
redis('HSET', "${P}member:acme:orphan", 'is_active', '1', 'roles', 'author');
$r = vt('user', 'remove', 'orphan', '--json');
is $r->{rc}, 0, 'user remove of leftovers: exit 0';
is_deeply $r->{json}, { user => 'orphan', removed => $T, memberships => ['acme'], keys => [] },
    'user remove --json';

$r = vt('user', 'remove', 'plain', '--json');
is_deeply $r->{json}{keys}, [$px], 'user remove --json: key ids';

# --- org add ---

$r = vt('org', 'add', 'globex', '--name', 'Globex Corp');
is $r->{rc}, 0, 'org add: exit 0';
is $r->{out}, "added organization globex\n", 'org add: says so';
is_deeply hash("${P}org:globex"), { status => 'active', name => 'Globex Corp' }, 'org add: record';

$r = vt('org', 'add', 'globex');
is $r->{out}, "organization globex exists already (status active)\n", 'org add again: says so';
vt('org', 'suspend', 'globex');
$r = vt('org', 'add', 'globex', '--name', 'Globex');
is $r->{out}, "updated organization globex (status suspended)\n", 'org add on an existing org updates';
is_deeply hash("${P}org:globex"), { status => 'suspended', name => 'Globex' }, 'org add: status untouched';

$r = vt('org', 'add', 'Hooli_2-x', '--json');
is_deeply $r->{json}, { org => 'Hooli_2-x', status => 'active', name => undef, created => $T }, 'org add --json';

# --- suspend / activate / delete ---

for my $c (['suspend', 'suspended'], ['activate', 'active'], ['delete', 'deleted']) {
    $r = vt('org', $c->[0], 'globex');
    is $r->{rc}, 0, "org $c->[0]: exit 0";
    is $r->{out}, "organization globex is $c->[1]\n", "org $c->[0]: says so";
    is redis('HGET', "${P}org:globex", 'status'), $c->[1], "org $c->[0]: status $c->[1]";
    is_deeply vt('org', $c->[0], 'globex', '--json')->{json}, { org => 'globex', status => $c->[1] },
        "org $c->[0] --json";
    $r = vt('org', $c->[0], 'nowhere');
    is $r->{rc}, 1, "org $c->[0] unknown: exit 1";
    like $r->{err}, qr/no such organization nowhere/, "org $c->[0] unknown: says so";
}
is redis('EXISTS', "${P}org:nowhere"), 0, 'no record made for an unknown org';
is redis('HGET', "${P}org:globex", 'name'), 'Globex', 'org delete keeps the record';

vt('org', 'activate', 'globex');
is redis('HGET', "${P}org:globex", 'status'), 'active', 'org activate undoes org delete';

# --- org show ---

vt('user', 'add', 'a');
vt('user', 'add', 'b');
vt('member', 'grant', 'globex', 'a', 'admin');
vt('member', 'grant', 'globex', 'b', 'executor');
redis('HSET', "${P}member:globex:b", 'is_active', '0');

$r = vt('org', 'show', 'globex');
is $r->{rc}, 0, 'org show: exit 0';
like $r->{out}, qr/^org\s+globex\nstatus\s+active\nname\s+Globex\nmembers\s+2 \(1 active\)\n\z/, 'org show';
is_deeply vt('org', 'show', 'globex', '--json')->{json},
    { org => 'globex', status => 'active', name => 'Globex', members => 2, active_members => 1 }, 'org show --json';
is vt('org', 'show', 'nowhere')->{rc}, 1, 'org show unknown: exit 1';

# --- org delete --purge ---

$r = vt('org', 'delete', 'globex', '--purge');
is $r->{rc}, 0, 'org delete --purge: exit 0';
is $r->{out}, "purged organization globex and 2 memberships\n", 'org delete --purge: says so';
is redis('EXISTS', "${P}org:globex"), 0, 'org delete --purge: record gone';
is redis('EXISTS', "${P}member:globex:a", "${P}member:globex:b"), 0, 'org delete --purge: memberships gone';
is redis('EXISTS', "${P}user:a"), 1, 'org delete --purge: users kept';
is redis('EXISTS', "${P}org:acme"), 1, 'org delete --purge: other orgs kept';
is vt('org', 'delete', 'globex', '--purge')->{rc}, 1, 'org delete --purge again: exit 1';
vt('org', 'add', 'tmp');
is_deeply vt('org', 'delete', 'tmp', '--purge', '--json')->{json}, { org => 'tmp', purged => $T, memberships => 0 },
    'org delete --purge --json';

done_testing;
