# member grant/revoke/remove/list.

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

vt('org', 'add', 'acme');
vt('user', 'add', '42');
vt('user', 'add', '7');

# --- grant ---

$r = vt('member', 'grant', 'acme', '42', 'executor');
is $r->{rc}, 0, 'grant: exit 0';
is $r->{out}, "42 in acme: roles executor\n", 'grant: says so';
is_deeply hash("${P}member:acme:42"), { is_active => '1', roles => 'executor' }, 'grant: record as in the schema';

$r = vt('member', 'grant', 'acme', '42', 'AUTHOR', 'owner,Admin');
is $r->{out}, "42 in acme: roles owner,admin,author,executor\n", 'grant: adds, any case, lists allowed, canonical order';
is redis('HGET', "${P}member:acme:42", 'roles'), 'owner,admin,author,executor', 'grant: stored lowercase, canonical';

$r = vt('member', 'grant', 'acme', '42', 'executor');
is redis('HGET', "${P}member:acme:42", 'roles'), 'owner,admin,author,executor', 'grant a held role: no change';

for my $role (qw(analytics_viewer workflow_viewer validation_results_viewer)) {
    is vt('member', 'grant', 'acme', '7', $role)->{rc}, 0, "grant $role";
}
is redis('HGET', "${P}member:acme:7", 'roles'), 'analytics_viewer,workflow_viewer,validation_results_viewer',
    'grant: every role code';

$r = vt('member', 'grant', 'acme', '7', 'author', '--json');
is_deeply $r->{json}, { org => 'acme', user => '7', is_active => $T,
                        roles => [qw(author analytics_viewer workflow_viewer validation_results_viewer)] },
    'grant --json';

# grant makes an inactive membership active
redis('HSET', "${P}member:acme:7", 'is_active', '0');
vt('member', 'grant', 'acme', '7', 'author');
is redis('HGET', "${P}member:acme:7", 'is_active'), '1', 'grant: membership active again';

# codes this version does not know survive a grant (a newer Validibot's)
redis('HSET', "${P}member:acme:7", 'roles', ' future_role , author,  workflow_launch');
vt('member', 'grant', 'acme', '7', 'executor');
is redis('HGET', "${P}member:acme:7", 'roles'), 'author,executor,future_role,workflow_launch',
    'grant: unknown items kept, trimmed';

# what grant refuses
$r = vt('member', 'grant', 'nowhere', '42', 'author');
is $r->{rc}, 1, 'grant in an unknown org: exit 1';
like $r->{err}, qr/^validibot-token: member grant: no such organization nowhere \(add it with 'validibot-token org add nowhere'\)$/,
    'grant in an unknown org: says so';
$r = vt('member', 'grant', 'acme', 'nobody', 'author');
is $r->{rc}, 1, 'grant to an unknown user: exit 1';
like $r->{err}, qr/no such user nobody \(add it with 'validibot-token user add nobody'\)/, 'grant to an unknown user: says so';
is redis('EXISTS', "${P}member:nowhere:42", "${P}member:acme:nobody"), 0, 'refused grants write nothing';

$r = vt('member', 'grant', 'acme', '42', 'author', 'superuser');
is $r->{rc}, 2, 'grant an unknown role: exit 2';
like $r->{err}, qr/unknown role code "superuser"; roles: owner, admin, author, executor, analytics_viewer, workflow_viewer, validation_results_viewer/,
    'grant an unknown role: lists the roles';
is redis('HGET', "${P}member:acme:42", 'roles'), 'owner,admin,author,executor', 'grant with one bad role: nothing written';
$r = vt('member', 'grant', 'acme', '42', 'admin_manage_org');
like $r->{err}, qr/"admin_manage_org" is a permission, not a role/, 'grant a permission: refused';

# --- revoke ---

$r = vt('member', 'revoke', 'acme', '42', 'owner', 'admin');
is $r->{rc}, 0, 'revoke: exit 0';
is $r->{out}, "42 in acme: roles author,executor\n", 'revoke: says what is left';
is redis('HGET', "${P}member:acme:42", 'roles'), 'author,executor', 'revoke: roles removed';

$r = vt('member', 'revoke', 'acme', '42', 'analytics_viewer');
is redis('HGET', "${P}member:acme:42", 'roles'), 'author,executor', 'revoke a role not held: no change';

$r = vt('member', 'revoke', 'acme', '42', 'author,executor', '--json');
is_deeply $r->{json}, { org => 'acme', user => '42', is_active => $T, roles => [] }, 'revoke --json: no roles left';
is_deeply hash("${P}member:acme:42"), { is_active => '1', roles => '' }, 'revoke all: the membership stays, empty roles';
is vt('member', 'revoke', 'acme', '42', 'author')->{out}, "42 in acme: roles (none)\n", 'revoke: (none)';

redis('HSET', "${P}member:acme:7", 'is_active', '0');
vt('member', 'revoke', 'acme', '7', 'author');
is redis('HGET', "${P}member:acme:7", 'is_active'), '0', 'revoke leaves is_active alone';

$r = vt('member', 'revoke', 'acme', 'nobody', 'author');
is $r->{rc}, 1, 'revoke from a non-member: exit 1';
like $r->{err}, qr/nobody is not a member of acme/, 'revoke from a non-member: says so';
is redis('EXISTS', "${P}member:acme:nobody"), 0, 'revoke from a non-member: no record made';
is vt('member', 'revoke', 'acme', '42', 'root')->{rc}, 2, 'revoke an unknown role: exit 2';

# --- list ---

vt('user', 'add', 'z');
vt('member', 'grant', 'acme', 'z', 'admin');
vt('member', 'grant', 'acme', '42', 'executor');

$r = vt('member', 'list', 'acme');
is $r->{rc}, 0, 'list: exit 0';
is $r->{out}, "USER  ACTIVE    ROLES\n"
            . "42    yes       executor\n"
            . "7     no        executor,future_role,workflow_launch\n"
            . "z     yes       admin\n", 'list: a table, sorted by user';

$r = vt('member', 'list', 'acme', '--json');
is_deeply $r->{json}, [
    { user => '42', is_active => $T, roles => ['executor'] },
    { user => '7', is_active => $F, roles => ['executor', 'future_role', 'workflow_launch'] },
    { user => 'z', is_active => $T, roles => ['admin'] },
], 'list --json';

vt('org', 'add', 'empty');
is vt('member', 'list', 'empty')->{out}, "no members\n", 'list of an org without members';
is_deeply vt('member', 'list', 'empty', '--json')->{json}, [], 'list --json of an org without members: []';
$r = vt('member', 'list', 'nowhere');
is $r->{rc}, 1, 'list of an unknown org: exit 1';
like $r->{err}, qr/no such organization nowhere/, 'list of an unknown org: says so';

# other orgs whose name starts the same are not listed
vt('org', 'add', 'acme2');
vt('member', 'grant', 'acme2', 'z', 'owner');
is scalar(@{ vt('member', 'list', 'acme', '--json')->{json} }), 3, 'list: acme2 not mixed in';

# --- remove ---

$r = vt('member', 'remove', 'acme', 'z');
is $r->{rc}, 0, 'remove: exit 0';
is $r->{out}, "removed z from acme\n", 'remove: says so';
is redis('EXISTS', "${P}member:acme:z"), 0, 'remove: record gone';
is redis('EXISTS', "${P}member:acme2:z"), 1, 'remove: other memberships kept';
$r = vt('member', 'remove', 'acme', 'z');
is $r->{rc}, 1, 'remove again: exit 1';
like $r->{err}, qr/z is not a member of acme/, 'remove again: says so';
is_deeply vt('member', 'remove', 'acme2', 'z', '--json')->{json}, { org => 'acme2', user => 'z', removed => $T },
    'remove --json';

# --- the module sees it: roles via verify ---

my $key = vt('create', '--user', '42')->{out} =~ s/\n//r;
is vt('verify', '--org', 'acme', '--require', 'workflow_launch', { stdin => $key })->{rc}, 0,
    'granted executor: workflow_launch passes';
vt('member', 'revoke', 'acme', '42', 'executor');
is vt('verify', '--org', 'acme', '--require', 'workflow_launch', { stdin => $key })->{out} =~ /^forbidden:/ ? 1 : 0, 1,
    'revoked executor: forbidden on the next check';
vt('member', 'remove', 'acme', '42');
like vt('verify', '--org', 'acme', { stdin => $key })->{out}, qr/^not_member:/, 'removed: not_member';

done_testing;
