# import --jsonl: keys exported from Validibot keep working unchanged.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use VTTest;

my $P = prefix();
my $D = tmpdir();
my $T = JSON::PP::true;
my $r;

sub hash { my %h = @{ redis('HGETALL', $_[0]) }; \%h }
sub hex_of { my $n = shift; join '', map { sprintf '%02x', int rand 256 } 1 .. $n }

# keys "users already hold": made here the way Validibot makes them
my @held;
for my $i (0 .. 3) {
    my ($pid, $secret) = (hex_of(16), hex_of(32));
    push @held, { pid => $pid, secret => $secret, key => "vbk_1_${pid}_$secret" };
}

my $d1 = validibot_digest(digest_key(1), $held[0]{pid}, $held[0]{secret}, 1);
my $d2 = validibot_digest(digest_key(2), $held[1]{pid}, $held[1]{secret}, 2);
my $d3 = validibot_digest(digest_key(1), $held[2]{pid}, $held[2]{secret}, 1);
my $d4 = validibot_digest(digest_key(1), $held[3]{pid}, $held[3]{secret}, 1);

my $jsonl = join "\n",
    # Django-style: ISO 8601 with microseconds and an offset, integer user
    qq({"id": 11, "public_id": "$held[0]{pid}", "secret_digest": "$d1", "digest_version": 1, "format_version": 1, "user": 42, "label": "CI \\u00e9t\\u00e9 \\ud83d\\ude80", "created": "2025-11-24 16:00:00.123456+00:00", "expires_at": "2099-11-24T16:00:00Z", "revoked_at": null, "last_used_at": null, "rotated_from": null}),
    # unix seconds, digest version 2, uppercase digest, user_id alias, CRLF
    qq({"public_id": "$held[1]{pid}", "secret_digest": "\U$d2\E", "digest_version": "2", "user_id": "u7", "created": 1764000000, "expires_at": 0, "extra": {"nested": [1, 2, {"x": null}]}}\r),
    '',
    '   ',
    # revoked, with a time zone offset; no label (default)
    qq({"public_id": "$held[2]{pid}", "secret_digest": "$d3", "user": "42", "created": "2025-01-01T00:00:00+02:00", "revoked_at": "2025-06-01T12:00:00.5Z", "rotated_from": "$held[0]{pid}", "last_used_at": 1764003600.75}),
    # expired long ago, a date only
    qq({"public_id": "$held[3]{pid}", "secret_digest": "$d4", "user": 42, "expires_at": "2020-01-01", "rotated_from": 5}),
    '';
write_file("$D/keys.jsonl", $jsonl);

# --- dry run: checked, nothing written ---

$r = vt('import', '--jsonl', "$D/keys.jsonl", '--dry-run');
is $r->{rc}, 0, 'import --dry-run: exit 0';
is $r->{out}, "checked 4 keys; nothing written (dry run)\n", 'import --dry-run: says so';
is redis('EXISTS', map { "${P}key:$_->{pid}" } @held), 0, 'import --dry-run: nothing written';
is_deeply vt('import', '--jsonl', "$D/keys.jsonl", '--dry-run', '--json')->{json},
    { checked => 4, dry_run => JSON::PP::true }, 'import --dry-run --json';

# --- import ---

$r = vt('import', '--jsonl', "$D/keys.jsonl");
is $r->{rc}, 0, 'import: exit 0' or diag $r->{err};
is $r->{out}, "imported 4 keys\n", 'import: says how many';

is_deeply hash("${P}key:$held[0]{pid}"), {
    user => '42', digest => $d1, digest_version => '1', label => "CI \x{c3}\x{a9}t\x{c3}\x{a9} \x{f0}\x{9f}\x{9a}\x{80}",
    created_at => '1764000000', expires_at => '4099219200',
}, 'record 1: ISO times, integer user, \u escapes to UTF-8, nulls dropped';

is_deeply hash("${P}key:$held[1]{pid}"), {
    user => 'u7', digest => $d2, digest_version => '2', label => 'Personal API key',
    created_at => '1764000000',
}, 'record 2: unix seconds, lowercase digest, user_id, default label, expires 0 = never';

is_deeply hash("${P}key:$held[2]{pid}"), {
    user => '42', digest => $d3, digest_version => '1', label => 'Personal API key',
    created_at => '1735682400', revoked_at => '1748779200', rotated_from => $held[0]{pid},
}, 'record 3: offset applied, fractions dropped, rotated_from kept';
is_deeply hash("${P}usage:$held[2]{pid}"), { last_used_at => '1764003600' },
    'record 3: last_used_at in the usage record';
ok !exists hash("${P}usage:$held[0]{pid}")->{last_used_at}, 'record 1: no usage record';

is hash("${P}key:$held[3]{pid}")->{expires_at}, '1577836800', 'record 4: a date alone is midnight UTC';
ok !exists hash("${P}key:$held[3]{pid}")->{rotated_from}, 'record 4: a numeric rotated_from (a row id) is dropped';

# --- the keys users hold validate unchanged ---

vt('user', 'add', '42');
vt('user', 'add', 'u7');
my $dk2 = ['--digest-key', '2=' . digest_file(2)];

is vt('verify', @$dk2, { stdin => $held[0]{key} })->{rc}, 0, 'imported key 1 is usable';
is vt('verify', @$dk2, { stdin => $held[1]{key} })->{rc}, 0, 'imported key 2 (digest version 2) is usable';
like vt('verify', @$dk2, { stdin => $held[2]{key} })->{out}, qr/^revoked:/, 'imported key 3 is revoked';
like vt('verify', @$dk2, { stdin => $held[3]{key} })->{out}, qr/^expired:/, 'imported key 4 is expired';
like vt('verify', @$dk2, { stdin => "vbk_1_$held[0]{pid}_" . hex_of(32) })->{out}, qr/^invalid:/,
    'imported key with another secret: invalid';

like vt('list', '--user', '42')->{out}, qr/^$held[0]{pid}\s+42\s+CI été 🚀\s+active\s+2025-11-24T16:00:00Z\s+2099-11-24T16:00:00Z/m,
    'imported keys are listed';

# --- import again: records are replaced, not merged ---

redis('HSET', "${P}key:$held[0]{pid}", 'revoked_at', '1', 'junk', 'x');
write_file("$D/one.jsonl", qq({"public_id": "$held[0]{pid}", "secret_digest": "$d1", "user": 42}\n));
$r = vt('import', '--jsonl', "$D/one.jsonl", '--json');
is_deeply $r->{json}, { imported => 1, dry_run => JSON::PP::false }, 'import --json';
is_deeply hash("${P}key:$held[0]{pid}"), { user => '42', digest => $d1, digest_version => '1', label => 'Personal API key' },
    'import replaces the whole record';

# --- stdin ---

$r = vt('import', '--jsonl', '-', { stdin => qq({"public_id": "$held[0]{pid}", "secret_digest": "$d1", "user": "9"}) });
is $r->{out}, "imported 1 key\n", 'import from stdin (-)';
is redis('HGET', "${P}key:$held[0]{pid}", 'user'), '9', 'import from stdin: written';

$r = vt('import', '--jsonl', '-', { stdin => "\n\n" });
is $r->{rc}, 0, 'import of an empty file: exit 0';
is $r->{out}, "imported 0 keys\n", 'import of an empty file: 0 keys';

# --- bad lines: exit 2, the line named, nothing written at all ---

my $good = qq({"public_id": "$held[0]{pid}", "secret_digest": "$d1", "user": 1});
my $fresh = hex_of(16);
my $ok2 = qq({"public_id": "$fresh", "secret_digest": "$d1", "user": 1});
my $pid = hex_of(16);

my @bad = (
    ['{"public_id": ', 'unexpected end of line'],
    ['[1]', 'not a JSON object'],
    ['{"a": 1} x', 'text after the object'],
    ['{"a": tru}', 'unexpected character'],
    ["{\"a\": \"\x01\"}", 'control character in string'],
    ['{"a": "\\ud800"}', 'lone surrogate'],
    ['{"a": "\\u0000"}', 'NUL in string'],
    ['{"a": 01}', "expected ',' or '}'"],
    ['{"a": "\\q"}', 'bad escape in string'],
    ["{\"a\": \"\xff\"}", 'invalid UTF-8'],
    ['{a: 1}', 'expected a member name'],
    ['{"a" 1}', "expected ':'"],
    ['{' . ('"a":' x 1) . ('[' x 40) . (']' x 40) . '}', 'nested too deep'],
    [qq({"secret_digest": "$d1", "user": 1}), 'public_id: expected 32 lowercase hex digits'],
    [qq({"public_id": "\U$pid\E", "secret_digest": "$d1", "user": 1}), 'public_id: expected 32 lowercase hex digits'],
    [qq({"public_id": 5, "secret_digest": "$d1", "user": 1}), 'public_id: expected'],
    [qq({"public_id": "$pid", "user": 1}), 'secret_digest: expected 64 hex digits'],
    [qq({"public_id": "$pid", "secret_digest": "xyz", "user": 1}), 'secret_digest: expected 64 hex digits'],
    [qq({"public_id": "$pid", "secret_digest": "${\ ('g' x 64)}", "user": 1}), 'secret_digest: expected 64 hex digits'],
    [qq({"public_id": "$pid", "secret_digest": "$d1"}), 'user: expected a user id'],
    [qq({"public_id": "$pid", "secret_digest": "$d1", "user": "a:b"}), 'user: expected a user id'],
    [qq({"public_id": "$pid", "secret_digest": "$d1", "user": 1.5}), 'user: expected a user id'],
    [qq({"public_id": "$pid", "secret_digest": "$d1", "user": null}), 'user: expected a user id'],
    [qq({"public_id": "$pid", "secret_digest": "$d1", "user": 1, "digest_version": 0}), 'digest_version: expected an integer from 1 to 1000000'],
    [qq({"public_id": "$pid", "secret_digest": "$d1", "user": 1, "digest_version": "x"}), 'digest_version: expected'],
    [qq({"public_id": "$pid", "secret_digest": "$d1", "user": 1, "digest_version": 1.5}), 'digest_version: expected'],
    [qq({"public_id": "$pid", "secret_digest": "$d1", "user": 1, "format_version": 2}), 'format_version: only 1 is supported'],
    [qq({"public_id": "$pid", "secret_digest": "$d1", "user": 1, "label": 5}), 'label: expected text'],
    [qq({"public_id": "$pid", "secret_digest": "$d1", "user": 1, "label": "a\\nb"}), 'label: expected text'],
    [qq({"public_id": "$pid", "secret_digest": "$d1", "user": 1, "created": "yesterday"}), 'created: expected ISO 8601, unix seconds or null'],
    [qq({"public_id": "$pid", "secret_digest": "$d1", "user": 1, "expires_at": "2025-02-30"}), 'expires_at: expected ISO 8601'],
    [qq({"public_id": "$pid", "secret_digest": "$d1", "user": 1, "expires_at": "2025-01-01T25:00:00Z"}), 'expires_at: expected ISO 8601'],
    [qq({"public_id": "$pid", "secret_digest": "$d1", "user": 1, "expires_at": -5}), 'expires_at: expected ISO 8601'],
    [qq({"public_id": "$pid", "secret_digest": "$d1", "user": 1, "revoked_at": true}), 'revoked_at: expected ISO 8601'],
    [qq({"public_id": "$pid", "secret_digest": "$d1", "user": 1, "last_used_at": "1e9"}), 'last_used_at: expected ISO 8601'],
);

for my $b (@bad) {
    my ($line, $msg) = @$b;
    write_file("$D/bad.jsonl", "$ok2\n\n$line\n$good\n");
    $r = vt('import', '--jsonl', "$D/bad.jsonl");
    ok $r->{rc} == 2 && index($r->{err}, "$D/bad.jsonl:3: $msg") >= 0,
        "bad line: $msg" or diag $r->{err};
}
is redis('EXISTS', "${P}key:$fresh"), 0, 'bad lines: not even the good lines before them are written';

write_file("$D/dup.jsonl", "$good\n$ok2\n$good\n");
$r = vt('import', '--jsonl', "$D/dup.jsonl");
is $r->{rc}, 2, 'duplicate public id: exit 2';
like $r->{err}, qr/dup.jsonl:3: public_id $held[0]{pid} is also on line 1/, 'duplicate public id: both lines named';

write_file("$D/nul.jsonl", "$good\0\n");
like vt('import', '--jsonl', "$D/nul.jsonl")->{err}, qr/a NUL byte: not JSON Lines/, 'NUL byte: refused';

is vt('import', '--jsonl', $D)->{rc}, 2, 'a directory: exit 2';

# Redis down: exit 3, after the checks
my $dead = free_port();
is vt('import', '--jsonl', "$D/one.jsonl", '--redis', "redis://127.0.0.1:$dead")->{rc}, 3, 'import, Redis down: exit 3';
is vt('import', '--jsonl', "$D/one.jsonl", '--dry-run', '--redis', "redis://127.0.0.1:$dead")->{rc}, 0,
    'import --dry-run needs no Redis';

# a large file goes in one transaction
my $big = join '', map { my $p = hex_of(16); qq({"public_id":"$p","secret_digest":"$d1","user":"bulk"}\n) } 1 .. 2000;
write_file("$D/big.jsonl", $big);
$r = vt('import', '--jsonl', "$D/big.jsonl");
is $r->{out}, "imported 2000 keys\n", 'import of 2000 keys';
is scalar(@{ vt('list', '--user', 'bulk', '--json')->{json} }), 2000, '2000 keys listed';

done_testing;
