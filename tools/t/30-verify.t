# verify: every $validibot_auth_status a key can get, by the module's own
# script and check code; where the key comes from; --json; exit codes.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use VTTest;

my $P = prefix();
my $r;

sub create {
    my $r = vt('create', @_);
    die "create failed: $r->{err}" if $r->{rc};
    return $r->{out} =~ s/\n//r;
}

sub verify {
    my ($key, @args) = @_;
    return vt('verify', @args, { stdin => "$key\n" });
}

vt('user', 'add', 'u1');
vt('org', 'add', 'acme');
vt('member', 'grant', 'acme', 'u1', 'executor');

my $key = create('--user', 'u1', '--label', 'ci');
my ($pid, $secret) = key_of($key);

# --- ok ---

$r = verify($key);
is $r->{rc}, 0, 'usable key: exit 0';
is $r->{out}, "ok: key $pid of user u1 is usable\n", 'usable key: says so';
unlike $r->{out} . $r->{err}, qr/$secret/, 'the secret is never printed';

$r = verify($key, '--json');
is_deeply $r->{json}, { usable => JSON::PP::true, status => 'ok', reason => 'ok',
                        public_id => $pid, user => 'u1', org => undef, roles => undef },
    'usable key --json';

$r = verify($key, '--org', 'acme');
is $r->{rc}, 0, '--org: exit 0';
is $r->{out}, "ok: key $pid of user u1 is usable in acme (roles: executor)\n", '--org: shows the roles';
is verify($key, '--org', 'acme', '--json')->{json}{roles}, 'executor', '--org --json: roles';

for my $req (['executor'], ['workflow_launch'], ['workflow_view'],
             ['author,executor'], ['workflow_launch', 'validation_results_view_own'],
             ['WORKFLOW_LAUNCH'])
{
    $r = verify($key, '--org', 'acme', map { ('--require', $_) } @$req);
    is $r->{rc}, 0, "--require @$req: ok for an executor";
}

# --- refusals: exit 1 and the status word ---

my @refuse = (
    [['--org', 'acme', '--require', 'author'], 'forbidden', 'role lacking'],
    [['--org', 'acme', '--require', 'workflow_edit'], 'forbidden', 'role lacking'],
    [['--org', 'acme', '--require', 'executor', '--require', 'admin'], 'forbidden', 'role lacking'],
    [['--require', 'executor'], 'forbidden', 'roles required without org'],
    [['--org', 'other'], 'org_inactive', 'org missing'],
);

for my $c (@refuse) {
    my ($args, $status, $reason) = @$c;
    $r = verify($key, @$args);
    is $r->{rc}, 1, "@$args: exit 1";
    is $r->{out}, "$status: key $pid: $reason\n", "@$args: $status ($reason)";
}

vt('org', 'add', 'globex');
$r = verify($key, '--org', 'globex');
is $r->{out}, "not_member: key $pid: not a member\n", 'no membership: not_member';

redis('HSET', "${P}member:globex:u1", 'is_active', '0', 'roles', 'owner');
$r = verify($key, '--org', 'globex');
is $r->{out}, "not_member: key $pid: membership inactive\n", 'inactive membership: not_member';

vt('org', 'suspend', 'acme');
$r = verify($key, '--org', 'acme');
is $r->{out}, "org_inactive: key $pid: org inactive\n", 'suspended org: org_inactive';
vt('org', 'delete', 'acme');
is verify($key, '--org', 'acme')->{out}, "org_inactive: key $pid: org inactive\n", 'deleted org: org_inactive';
vt('org', 'activate', 'acme');
is verify($key, '--org', 'acme')->{rc}, 0, 'org active again: ok';

vt('user', 'deactivate', 'u1');
$r = verify($key);
is $r->{rc}, 1, 'inactive user: exit 1';
is $r->{out}, "user_inactive: key $pid: user inactive\n", 'inactive user: user_inactive';
vt('user', 'activate', 'u1');
is verify($key)->{rc}, 0, 'user active again: ok';

my $ghost = create('--user', 'ghost');
my ($gpid) = key_of($ghost);
is verify($ghost)->{out}, "user_inactive: key $gpid: user missing\n", 'user without a record: user_inactive';

# wrong secret, unknown key
my $wrong = "vbk_1_${pid}_" . ('0' x 64);
$r = verify($wrong);
is $r->{rc}, 1, 'wrong secret: exit 1';
is $r->{out}, "invalid: key $pid: digest mismatch\n", 'wrong secret: invalid';
unlike $r->{out}, qr/0{64}/, 'wrong secret: not echoed';

my $unknown = 'vbk_1_' . ('9' x 32) . '_' . ('a' x 64);
is verify($unknown)->{out}, 'invalid: key ' . ('9' x 32) . ": unknown key\n", 'unknown key: invalid';

# a digest key other than the one used
$r = vt('verify', { stdin => $key, env => { VALIDIBOT_DIGEST_KEY_FILE => digest_file(2) } });
is $r->{out}, "invalid: key $pid: digest mismatch\n", 'another digest key: invalid';

# revoked, expired
my $k2 = create('--user', 'u1');
my ($p2) = key_of($k2);
vt('revoke', $p2);
$r = verify($k2);
is $r->{rc}, 1, 'revoked: exit 1';
is $r->{out}, "revoked: key $p2: revoked\n", 'revoked: revoked';
is verify($k2, '--json')->{json}{status}, 'revoked', 'revoked --json';

my $k3 = create('--user', 'u1');
my ($p3) = key_of($k3);
redis('HSET', "${P}key:$p3", 'expires_at', time - 10);
is verify($k3)->{out}, "expired: key $p3: expired\n", 'expired: expired';
redis('HSET', "${P}key:$p3", 'expires_at', time + 100);
is verify($k3)->{rc}, 0, 'expiry in the future: ok';
redis('HSET', "${P}key:$p3", 'expires_at', '0');
is verify($k3)->{rc}, 0, 'expires_at 0: never expires';
redis('HSET', "${P}key:$p3", 'expires_at', 'soon');
is verify($k3)->{out}, "expired: key $p3: bad expires_at\n", 'garbage expires_at: expired (fail closed)';

# deleted key
vt('delete', $p3);
is verify($k3)->{out}, "invalid: key $p3: unknown key\n", 'deleted: invalid';

# a rotated pair: both work during the overlap
my $k4 = create('--user', 'u1');
my ($p4) = key_of($k4);
my $k5 = vt('rotate', $p4, '--overlap', '2s')->{out} =~ s/\n//r;
is verify($k4)->{rc}, 0, 'rotated: old key works during the overlap';
is verify($k5)->{rc}, 0, 'rotated: new key works';
sleep 3;
is verify($k4)->{out}, "expired: key $p4: expired\n", 'rotated: old key expired after the overlap';
is verify($k5)->{rc}, 0, 'rotated: new key still works';

# --- missing and malformed ---

$r = vt('verify', { stdin => '' });
is $r->{rc}, 1, 'no key: exit 1';
is $r->{out}, "missing: no key given (set VALIDIBOT_TOKEN or give it on stdin)\n", 'no key: missing';
is vt('verify', '--json', { stdin => "\n" })->{json}{status}, 'missing', 'empty line --json: missing';

for my $bad ('hello', "vbk_1_${pid}_" . ('A' x 64), "vbk_2_${pid}_$secret",
             "vbk_1_${pid}_${secret}x", "Bearer $key", "$key $key")
{
    $r = verify($bad);
    ok $r->{rc} == 1 && $r->{out} eq "malformed: not a Validibot API key (vbk_1_<32 hex>_<64 hex>)\n",
        'malformed: ' . substr($bad, 0, 16) . '...' or diag $r->{out};
}

unlike verify("vbk_1_${pid}_${secret}x")->{out}, qr/$secret/, 'malformed: not echoed';
is verify('junk', '--json')->{json}{public_id}, undef, 'malformed --json: no public id';

# --- where the key comes from ---

is verify("  $key \r\n")->{rc}, 0, 'stdin: surrounding blanks and CRLF ignored';
is vt('verify', { stdin => "$key" })->{rc}, 0, 'stdin: no newline needed';
is vt('verify', { stdin => "$key\nsomething else\n" })->{rc}, 0, 'stdin: first line only';
is vt('verify', { env => { VALIDIBOT_TOKEN => $key } })->{rc}, 0, 'VALIDIBOT_TOKEN';
is vt('verify', { stdin => 'junk', env => { VALIDIBOT_TOKEN => $key } })->{rc}, 0,
    'VALIDIBOT_TOKEN wins over stdin';
is vt('verify', { stdin => $key, env => { VALIDIBOT_TOKEN => '' } })->{rc}, 0,
    'empty VALIDIBOT_TOKEN: stdin is read';

# --- digest versions: verify needs the key of each version ---

my $kv2 = create('--user', 'u1', '--digest-version', '2', '--digest-key', '2=' . digest_file(2));
my ($pv2) = key_of($kv2);
is verify($kv2)->{out}, "invalid: key $pv2: no digest key for version\n",
    'version 2 key without digest key 2: invalid';
is verify($kv2, '--digest-key', '2=' . digest_file(2))->{rc}, 0,
    'version 2 key with --digest-key 2=FILE: ok';
is verify($key, '--digest-key', '2=' . digest_file(2))->{rc}, 0,
    'version 1 key still checked with VALIDIBOT_DIGEST_KEY_FILE alongside';

# --- errors ---

is verify($key, '--require', 'nope')->{rc}, 2, 'unknown code: exit 2';
is verify($key, '--org', 'no/slash')->{rc}, 2, 'bad org: exit 2';

my $dead = free_port();
$r = vt('verify', '--redis', "redis://127.0.0.1:$dead", { stdin => $key });
is $r->{rc}, 3, 'Redis unreachable: exit 3';
unlike $r->{err}, qr/$secret/, 'Redis unreachable: secret not in the error';

# an over-long field that decides access: the module fails closed
# (store_error), so does verify; an over-long label is only cut short
redis('HSET', "${P}key:$pid", 'label', 'x' x 5000);
is verify($key)->{rc}, 0, 'over-long label: still ok';
redis('HSET', "${P}key:$pid", 'expires_at', '1' x 5000);
$r = verify($key);
is $r->{rc}, 3, 'reply the module would refuse: exit 3';
like $r->{err}, qr/store_error: key $pid/, 'reply the module would refuse: store_error';

# a user id the module would not put into a header: store_error too
redis('HSET', "${P}key:$pid", 'expires_at', '', 'user', "u1\r\nX-Evil: 1");
$r = verify($key);
is $r->{rc}, 3, 'user id breaking the schema: exit 3';
like $r->{err}, qr/store_error: key $pid: the stored user id or roles break the schema/,
    'user id breaking the schema: store_error';

done_testing;
