# validibot-token assertion verify: its usage errors and answers.  The
# assertions the real module makes are checked in t/013-assertion.t; here
# one made by hand (Digest::SHA) shows the tool's own rules.  No Redis.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Digest::SHA qw(hmac_sha256);
use JSON::PP ();
use MIME::Base64 qw(encode_base64);
use VTTest;

my $dir = tmpdir();
my $key = write_file("$dir/gw-1.key", ('k' x 40) . "\n");
my $other = write_file("$dir/gw-2.key", ('o' x 32) . "\n");
my $short = write_file("$dir/short.key", ('s' x 31) . "\n");
my $badname = write_file("$dir/g w.key", ('k' x 40) . "\n");

sub b64u {
    (my $s = encode_base64($_[0], '')) =~ tr{+/}{-_};
    $s =~ s/=+$//;
    return $s;
}

sub jws {
    my ($kid, $secret, %claims) = @_;
    my $json = JSON::PP->new->canonical;
    my $si = b64u($json->encode({alg => 'HS256', typ => 'JWT', kid => $kid}))
             . '.' . b64u($json->encode(\%claims));
    return "$si." . b64u(hmac_sha256($si, $secret));
}

my %c = (iss => 'validibot-gateway', aud => 'api.example.com', sub => '7',
         org => 'acme', roles => ['author'], kid => 'f' x 32,
         iat => 1764000000, exp => 1764000060, jti => 'a' x 32, htm => 'GET',
         htu => '/api/v1/orgs/acme/workflows/');
my $tok = jws('gw-1', 'k' x 40, %c);
my $r;

$r = vt('--help');
like $r->{out}, qr/assertion verify --key FILE/, 'listed in --help';

$r = vt('assertion', 'verify', $tok);
is $r->{rc}, 2, 'no --key: exit 2';
like $r->{err}, qr/at least one --key FILE is needed/, 'no --key: said';

$r = vt('assertion', 'verify', '--key', $short, $tok);
is $r->{rc}, 2, 'a 31-byte key: exit 2';
like $r->{err}, qr/31 bytes, at least 32 are needed/, 'a 31-byte key: said';

$r = vt('assertion', 'verify', '--key', $badname, $tok);
is $r->{rc}, 2, 'a file name that is no kid: exit 2';
like $r->{err}, qr/its name is not a valid kid/, 'no kid: said';

$r = vt('assertion', 'verify', '--key', "$dir/none.key", $tok);
is $r->{rc}, 2, 'no such file: exit 2';

$r = vt('assertion', 'verify', '--key', $key, '--now', 'soon', $tok);
is $r->{rc}, 2, 'bad --now: exit 2';

$r = vt('assertion', 'verify', '--key', $key, '--now', 1764000030, $tok);
is $r->{rc}, 0, 'valid: exit 0';
is_deeply $r->{json}, {valid => JSON::PP::true, signed_by => 'gw-1',
                       claims => \%c}, 'valid: the claims, as signed';

$r = vt('assertion', 'verify', '--key', $key, '--now', 1764000030,
        {stdin => "$tok\n"});
is $r->{rc}, 0, 'from stdin: exit 0';

$r = vt('assertion', 'verify', '--key', $other, '--key', $key, '--now',
        1764000030, '--method', 'GET', '--path', $c{htu}, '--audience',
        'api.example.com', '--issuer', 'validibot-gateway', $tok);
is $r->{rc}, 0, 'two keys, every expectation met: exit 0';

for my $t (
    [['--now', 1764000090], 'expired'],
    [['--now', 1764000089, '--leeway', '0'], 'expired'],
    [['--now', 1764000089], undef],
    [['--now', 1763999969], 'issued in the future'],
    [['--now', 1764000030, '--method', 'POST'], 'wrong method'],
    [['--now', 1764000030, '--path', '/api/v1/orgs/evil/workflows/'],
     'wrong path'],
    [['--now', 1764000030, '--audience', 'other'], 'wrong audience'],
    [['--now', 1764000030, '--issuer', 'other'], 'wrong issuer'],
) {
    my ($args, $reason) = @$t;
    $r = vt('assertion', 'verify', '--key', $key, @$args, $tok);
    if (defined $reason) {
        is $r->{rc}, 1, "@$args: exit 1";
        like $r->{err}, qr/assertion invalid: \Q$reason\E$/, "@$args: $reason";
    } else {
        is $r->{rc}, 0, "@$args: exit 0 (within the 30 s leeway)";
    }
}

$r = vt('assertion', 'verify', '--key', $other, '--now', 1764000030, $tok);
like $r->{err}, qr/unknown key id$/, 'kid not among the keys';

my $forged = jws('gw-1', 'x' x 40, %c);
$r = vt('assertion', 'verify', '--key', $key, '--now', 1764000030, $forged);
like $r->{err}, qr/bad signature$/, 'another key with the same kid';

$r = vt('assertion', 'verify', '--key', $key, '--json', 'a.b');
is $r->{rc}, 1, 'malformed: exit 1';
is_deeply $r->{json}, {valid => JSON::PP::false, reason => 'malformed'},
    'malformed: --json says why';

my ($h, $p, $s) = split /\./, $tok;
my $none = b64u('{"alg":"none","kid":"gw-1"}') . ".$p.";
$r = vt('assertion', 'verify', '--key', $key, '--now', 1764000030, $none);
like $r->{err}, qr/unsupported algorithm$/, 'alg none refused';

done_testing();
