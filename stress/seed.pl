#!/usr/bin/perl
# Seeds the stress Redis (TEST_NGINX_REDIS_PORT) through Validibot::Test
# and writes the keys, one per line, to DIR/valid.txt and DIR/invalid.txt;
# the digest key file is DIR/digest-v1.key (TEST_VALIDIBOT_KEY_DIR=DIR).
#
#   perl -It/lib stress/seed.pl DIR
#
# Invalid keys are of every kind the module must refuse: unknown public id,
# one character of the secret wrong, revoked, expired, inactive user,
# removed user, malformed.  Each of them is refused with 401 when Redis
# answers, 503 when it does not; none may ever get a 2xx.
use strict;
use warnings;
use Validibot::Test;

my $dir = shift or die "usage: seed.pl DIR\n";
my $now = time();

redis_flush_prefix();
add_user(7);
add_user(8, is_active => 0);

my (@valid, @invalid);

for my $i (1 .. 16) {
    push @valid, make_key(seed => "stress-valid-$i", user => 7);
}

for my $i (1 .. 4) {
    # well-formed, no record
    push @invalid, make_key(seed => "stress-unknown-$i", write => 0);

    # the record exists; the last character of the secret differs
    my $k = make_key(seed => "stress-wrong-$i", user => 7);
    $k =~ s/(.)$/$1 eq '0' ? '1' : '0'/e;
    push @invalid, $k;

    push @invalid, make_key(seed => "stress-revoked-$i", user => 7,
                            revoked_at => $now - 60);
    push @invalid, make_key(seed => "stress-expired-$i", user => 7,
                            expires_at => $now - 60);
    push @invalid, make_key(seed => "stress-inactive-$i", user => 8);
    push @invalid, make_key(seed => "stress-nouser-$i", user => 9000 + $i);
}

push @invalid, 'vbk_1_' . ('g' x 32) . '_' . ('0' x 64),
               'vbk_1_0123456789abcdef',
               'not-a-key';

digest_key_file(1);

for ([valid => \@valid], [invalid => \@invalid]) {
    my ($name, $keys) = @$_;
    open my $out, '>', "$dir/$name.txt" or die "$dir/$name.txt: $!\n";
    print $out "$_\n" for @$keys;
    close $out;
}

printf STDERR "seed.pl: %d valid and %d invalid keys in %s\n",
       scalar @valid, scalar @invalid, $dir;
