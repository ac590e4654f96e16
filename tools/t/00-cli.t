# The command line itself: help, usage errors (exit 2), Redis errors
# (exit 3), digest key files.  No Redis state is needed.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use VTTest;

my $r;

# --- help and version ---

$r = vt();
is $r->{rc}, 2, 'no arguments: exit 2';
like $r->{err}, qr/^Usage: validibot-token COMMAND/, 'no arguments: usage on stderr';
is $r->{out}, '', 'no arguments: nothing on stdout';

for my $h (['--help'], ['-h'], ['help']) {
    $r = vt(@$h);
    is $r->{rc}, 0, "@$h: exit 0";
    like $r->{out}, qr/^Usage: validibot-token COMMAND/, "@$h: usage on stdout";
}

$r = vt('--help');
for my $c ('create --user U', 'list \[--user U\]', 'show PUBLIC_ID',
           'revoke PUBLIC_ID', 'delete PUBLIC_ID', 'rotate PUBLIC_ID',
           'verify', 'import --jsonl FILE', 'user add U', 'user deactivate U',
           'user activate U', 'user remove U', 'org add SLUG',
           'org suspend SLUG', 'org activate SLUG', 'org delete SLUG',
           'member grant ORG U ROLE', 'member revoke ORG U ROLE',
           'member remove ORG U', 'member list ORG')
{
    like $r->{out}, qr/^  $c/m, "usage lists '$c'";
}
like $r->{out}, qr/Exit codes: 0 ok, 1 not found or not usable, 2 usage error, 3 Redis error/,
    'usage gives the exit codes';

$r = vt('--version');
is $r->{rc}, 0, '--version: exit 0';
like $r->{out}, qr/^validibot-token \d+\.\d+\.\d+$/m, '--version prints it';

# every command has its own --help, which needs no Redis
my @commands = (
    ['create'], ['list'], ['show'], ['revoke'], ['delete'], ['rotate'],
    ['verify'], ['import'], ['user', 'add'], ['user', 'show'],
    ['user', 'activate'], ['user', 'deactivate'], ['user', 'remove'],
    ['org', 'add'], ['org', 'show'], ['org', 'suspend'], ['org', 'activate'],
    ['org', 'delete'], ['member', 'grant'], ['member', 'revoke'],
    ['member', 'remove'], ['member', 'list'],
);

for my $c (@commands) {
    $r = vt(@$c, '--help', { env => { VALIDIBOT_REDIS_URL => 'redis://127.0.0.1:1' } });
    ok $r->{rc} == 0 && $r->{out} =~ /^Usage: validibot-token \Q@$c\E/,
        "@$c --help";
}

$r = vt('help', 'user', 'add');
like $r->{out}, qr/^Usage: validibot-token user add U/, 'help user add';

for my $g (qw(user org member)) {
    $r = vt($g, '--help');
    ok $r->{rc} == 0 && $r->{out} =~ /^Usage: validibot-token $g SUBCOMMAND/,
        "$g --help lists the subcommands";
    $r = vt($g);
    is $r->{rc}, 2, "$g alone: exit 2";
    like $r->{err}, qr/missing subcommand/, "$g alone: says so";
}

# --- usage errors: exit 2, one line on stderr, nothing on stdout ---

my @usage = (
    [['frobnicate'], qr/unknown command "frobnicate"/],
    [['user', 'frob', 'x'], qr/unknown subcommand "frob"/],
    [['list', '--frob'], qr/unknown option --frob/],
    [['list', '-x'], qr/unknown option -x/],
    [['list', '--purge'], qr/unknown option --purge/],
    [['list', '--json=yes'], qr/--json takes no value/],
    [['create', '--user'], qr/--user needs a value/],
    [['create', '--user', '1', '--user', '2'], qr/--user given twice/],
    [['create'], qr/--user is required/],
    [['create', '--user', 'a b'], qr/bad --user "a b"/],
    [['create', '--user', 'a:b'], qr/bad --user/],
    [['create', '--user', ''], qr/bad --user/],
    [['create', '--user', 'x' x 129], qr/bad --user/],
    [['create', '--user', '1', '--label', "a\nb"], qr/bad --label/],
    [['create', '--user', '1', '--label', 'x' x 256], qr/bad --label/],
    [['create', '--user', '1', '--expires', '90'], qr/bad duration "90" for --expires/],
    [['create', '--user', '1', '--expires', '0d'], qr/bad duration "0d"/],
    [['create', '--user', '1', '--expires', '1y'], qr/bad duration "1y"/],
    [['create', '--user', '1', '--expires', 'd'], qr/bad duration "d"/],
    [['create', '--user', '1', '--expires', '-5d'], qr/bad duration "-5d"/],
    [['create', '--user', '1', '--expires', '99999999999d'], qr/bad duration/],
    [['create', '--user', '1', '--expires', ''], qr/bad duration ""/],
    [['create', '--user', '1', '--digest-version', '0'], qr/bad --digest-version "0"/],
    [['create', '--user', '1', '--digest-version', 'x'], qr/bad --digest-version/],
    [['create', '--user', '1', '--digest-version', '1000001'], qr/bad --digest-version/],
    [['create', 'extra', '--user', '1'], qr/unexpected argument "extra"/],
    [['show'], qr/missing argument: show PUBLIC_ID/],
    [['show', 'a', 'b'], qr/unexpected argument "b"/],
    [['show', 'xyz'], qr/malformed public id: expected 32 lowercase hex digits, got 3 characters/],
    [['show', 'A' x 32], qr/malformed public id/],
    [['revoke', 'g' x 32], qr/malformed public id/],
    [['delete', '0' x 31], qr/malformed public id/],
    [['rotate', '0' x 33], qr/malformed public id/],
    [['rotate', '0' x 32, '--overlap', 'never'], qr/bad duration "never" for --overlap/],
    [['rotate', '0' x 32, '--overlap', '5x'], qr/bad duration "5x" for --overlap/],
    [['verify', '--org', 'a:b'], qr/bad --org "a:b"/],
    [['verify', '--require', 'sudo'], qr/unknown role or permission code "sudo"/],
    [['verify', '--require', ','], qr/empty --require/],
    [['import'], qr/--jsonl FILE is required/],
    [['import', '--jsonl', '/nonexistent/x.jsonl'], qr/cannot read "\/nonexistent\/x.jsonl": No such file/],
    [['user', 'add'], qr/missing argument: user add U/],
    [['user', 'add', 'a b'], qr/bad user id "a b"/],
    [['user', 'add', 'u', '--email', "x\ty"], qr/bad --email/],
    [['user', 'add', 'u', '--name', 'n' x 256], qr/bad --name/],
    [['user', 'remove', 'a:b'], qr/bad user id/],
    [['org', 'add', 'a.b'], qr/bad organization slug "a.b"/],
    [['org', 'add', ''], qr/bad organization slug/],
    [['org', 'delete', 'a b'], qr/bad organization slug/],
    [['org', 'add', 'acme', '--name', "\x01"], qr/bad --name/],
    [['member', 'grant', 'acme', '42'], qr/missing argument: member grant ORG U ROLE/],
    [['member', 'grant', 'acme', '42', 'root'], qr/unknown role code "root"/],
    [['member', 'grant', 'acme', '42', 'workflow_launch'], qr/"workflow_launch" is a permission, not a role/],
    [['member', 'grant', 'acme', '42', ','], qr/no role given/],
    [['member', 'revoke', 'acme', '42', 'nope'], qr/unknown role code "nope"/],
    [['member', 'remove', 'acme'], qr/missing argument/],
    [['member', 'list', 'ac/me'], qr/bad organization slug/],
    [['list', '--prefix', "a\nb"], qr/bad prefix: at most 128 bytes, no spaces or control characters/],
    [['list', '--prefix', "a b:"], qr/bad prefix/],
    [['list', '--prefix', 'p' x 129], qr/bad prefix/],
    [['list', '--digest-key', 'x'], qr/bad --digest-key "x": expected VERSION=FILE/],
    [['list', '--digest-key', '0=/f'], qr/bad --digest-key "0=\/f"/],
    [['list', '--digest-key', '1='], qr/bad --digest-key/],
    [['list', '--digest-key', '1x=/f'], qr/bad --digest-key/],
    [['list', '--digest-key', '1=/a', '--digest-key', '1=/b'], qr/version 1 given twice/],
);

for my $u (@usage) {
    my ($args, $re) = @$u;
    $r = vt(@$args, { env => { VALIDIBOT_REDIS_URL => 'redis://127.0.0.1:1' } });
    my $name = join ' ', map { length > 20 ? substr($_, 0, 20) . '...' : $_ }
                         map { s/\n/\\n/gr } @$args;
    ok $r->{rc} == 2 && $r->{err} =~ $re && $r->{out} eq ''
        && ($r->{err} =~ tr/\n//) == 1, "usage error, exit 2: $name"
        or diag "rc=$r->{rc} err=$r->{err} out=$r->{out}";
}

like vt('show')->{err}, qr/\(see validibot-token show --help\)$/m,
    'syntax errors point at the command help';
like vt('user', 'add', '--frob')->{err},
    qr/\(see validibot-token user add --help\)$/m,
    'syntax errors point at the subcommand help';

# a whole key given where a public id belongs: refused, never echoed
my $whole = 'vbk_1_' . ('a' x 32) . '_' . ('b' x 64);
$r = vt('show', $whole);
is $r->{rc}, 2, 'show with a whole key: exit 2';
like $r->{err}, qr/looks like a whole key/, 'show with a whole key: says so';
unlike $r->{err}, qr/bbbbbbbb/, 'show with a whole key: secret not echoed';

# "--" ends the options
$r = vt('show', '--', '--json');
like $r->{err}, qr/malformed public id: expected 32 lowercase hex digits, got 6/,
    '-- ends the options';

# --opt=value form
$r = vt('create', '--user=1', '--expires=90', { env => { VALIDIBOT_REDIS_URL => 'redis://127.0.0.1:1' } });
like $r->{err}, qr/bad duration "90"/, '--opt=value form';

# --- Redis URLs: bad ones are usage errors, and never echoed ---

my @urls = (
    ['http://h', 'unsupported scheme'],
    ['redis://h:0', 'invalid port'],
    ['redis://h:99999', 'invalid port'],
    ['redis://h/99999', 'invalid db'],
    ['redis://', 'missing host'],
    ['redis://user@h', 'missing password'],
    ['unix:relative', 'invalid unix socket path'],
);

for my $u (@urls) {
    $r = vt('list', '--redis', $u->[0]);
    ok $r->{rc} == 2 && $r->{err} =~ /bad Redis URL in --redis: \Q$u->[1]\E$/m,
        "--redis $u->[0]: exit 2, $u->[1]" or diag $r->{err};
}

$r = vt('list', { env => { VALIDIBOT_REDIS_URL => 'redis://:s3cr3t-pw@h:0' } });
ok $r->{rc} == 2 && $r->{err} =~ /bad Redis URL in VALIDIBOT_REDIS_URL: invalid port/,
    'VALIDIBOT_REDIS_URL is read and named';
unlike $r->{err}, qr/s3cr3t/, 'a bad URL is not echoed (password)';

# --- unreachable Redis: exit 3 ---

my $dead = free_port();
$r = vt('list', '--redis', "redis://127.0.0.1:$dead");
is $r->{rc}, 3, 'unreachable Redis: exit 3';
like $r->{err}, qr/^validibot-token: list: cannot connect to Redis at 127.0.0.1:$dead: Connection refused$/,
    'unreachable Redis: one clear line';

$r = vt('list', '--redis', "redis://:pw\@127.0.0.1:$dead");
unlike $r->{err}, qr/pw/, 'connect error does not show the password';

$r = vt('user', 'add', 'u', '--redis', 'unix:/nonexistent/redis.sock');
is $r->{rc}, 3, 'missing unix socket: exit 3';
like $r->{err}, qr/cannot connect to Redis at unix:\/nonexistent\/redis.sock/,
    'missing unix socket: named';

$r = vt('user', 'add', 'u', '--redis', "redis://[::1]:$dead");
is $r->{rc}, 3, 'IPv6 URL is accepted, connection refused: exit 3';
like $r->{err}, qr/at \[::1\]:$dead/, 'IPv6 address shown in brackets';

# --- digest key files: exit 2 ---

my $d = tmpdir();
write_file("$d/empty", '');
write_file("$d/newline", "\n");
write_file("$d/big", 'x' x 70000);

my @dk = (
    [{ VALIDIBOT_DIGEST_KEY_FILE => "$d/missing" }, [],
     qr/cannot read digest key file "\Q$d\E\/missing": No such file or directory/],
    [{ VALIDIBOT_DIGEST_KEY_FILE => "$d/empty" }, [],
     qr/digest key file "\Q$d\E\/empty" is empty/],
    [{ VALIDIBOT_DIGEST_KEY_FILE => "$d/newline" }, [],
     qr/digest key file "\Q$d\E\/newline" is empty/],
    [{ VALIDIBOT_DIGEST_KEY_FILE => "$d/big" }, [],
     qr/is larger than 4096 bytes/],
    [{ VALIDIBOT_DIGEST_KEY_FILE => $d }, [],
     qr/cannot read digest key file "\Q$d\E": Is a directory/],
    [{ VALIDIBOT_DIGEST_KEY_FILE => undef }, [],
     qr/no digest key for version 1: give --digest-key 1=FILE or set VALIDIBOT_DIGEST_KEY_FILE/],
    [{}, ['--digest-version', '2'],
     qr/no digest key for version 2: give --digest-key 2=FILE$/m],
    [{}, ['--digest-key', "1=$d/missing"],
     qr/cannot read digest key file "\Q$d\E\/missing"/],
);

for my $k (@dk) {
    my ($env, $extra, $re) = @$k;
    $r = vt('create', '--user', '1', @$extra, { env => { %$env, VALIDIBOT_REDIS_URL => "redis://127.0.0.1:$dead" } });
    ok $r->{rc} == 2 && $r->{err} =~ $re && $r->{out} eq '',
        "digest key error before any Redis work: $re" or diag $r->{err};
}

$r = vt('verify', { env => { VALIDIBOT_DIGEST_KEY_FILE => undef, VALIDIBOT_REDIS_URL => "redis://127.0.0.1:$dead" } });
ok $r->{rc} == 2 && $r->{err} =~ /no digest key: give --digest-key VERSION=FILE or set VALIDIBOT_DIGEST_KEY_FILE/,
    'verify without any digest key: exit 2';

# commands that need no digest key do not read it
$r = vt('list', { env => { VALIDIBOT_DIGEST_KEY_FILE => "$d/missing", VALIDIBOT_REDIS_URL => "redis://127.0.0.1:$dead" } });
is $r->{rc}, 3, 'list does not read the digest key file';

done_testing;
