#!/usr/bin/perl
# Writes the bench data set: one org "acme" and N users, each an active
# executor of acme with one API key.  Prints the Redis commands in RESP
# (for `redis-cli --pipe`) on stdout and the keys, one Bearer token a line,
# to the file KEYS_OUT.  Keys are derived from their index, so every run
# gets the same keys; the digests follow docs/redis-schema.md.
#
#   seed.pl DIGEST_KEY_FILE N KEYS_OUT [PREFIX] | redis-cli --pipe

use strict;
use warnings;
use Digest::SHA qw(sha256_hex hmac_sha256_hex);

my ($key_file, $n, $keys_out, $prefix) = @ARGV;
die "usage: seed.pl DIGEST_KEY_FILE N KEYS_OUT [PREFIX]\n"
    unless defined $keys_out;
$prefix = 'validibot:' unless defined $prefix;

open my $kf, '<', $key_file or die "$key_file: $!\n";
binmode $kf;
my $dkey = do { local $/; <$kf> };
close $kf;
$dkey =~ s/\r?\n\z//;            # one trailing newline is not part of the key

sub resp {
    my $s = '*' . scalar(@_) . "\r\n";
    $s .= '$' . length($_) . "\r\n$_\r\n" for @_;
    return $s;
}

open my $out, '>', $keys_out or die "$keys_out: $!\n";
binmode STDOUT;

print resp('HSET', "${prefix}org:acme", 'status', 'active',
           'name', 'Acme bench');

for my $i (0 .. $n - 1) {
    my $pid = substr(sha256_hex("bench public $i"), 0, 32);
    my $secret = sha256_hex("bench secret $i");
    my $uid = "bench$i";
    my $msg = join "\0", 'validibot-api-key', 'format=1', 'digest=1',
                         "public=$pid", "secret=$secret";

    print resp('HSET', "${prefix}key:$pid", 'user', $uid,
               'digest', hmac_sha256_hex($msg, $dkey), 'digest_version', '1',
               'label', 'bench', 'created_at', '1764000000',
               'expires_at', '0');
    print resp('HSET', "${prefix}user:$uid", 'is_active', '1',
               'email', "$uid\@example.com", 'name', "Bench $i");
    print resp('HSET', "${prefix}member:acme:$uid", 'is_active', '1',
               'roles', 'executor');
    print $out "vbk_1_${pid}_$secret\n";
}

close $out or die "$keys_out: $!\n";
