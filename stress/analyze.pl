#!/usr/bin/perl
# Judges one fault case of stress/faults.sh from wrk's output (keys.lua)
# and the probe's log (probe.pl); prints one line of key=value fields and
# exits 1 when an assertion fails.
#
#   perl stress/analyze.pl WRK_OUT PROBE_LOG T0_MS T1_MS sustained|instant
#
# Assertions:
#   - no invalid key ever got a 2xx (wrk and probe);
#   - valid keys got only 200 or 503, and always an answer;
#   - invalid keys got only 401 or 503;
#   - sustained faults: the probe's valid key got 503 while the fault
#     lasted (from T0 + 400 ms, the lookups in flight aside, to T1);
#   - the probe's valid key got 200 again within 2 s after T1, and 200
#     every time from then on.
use strict;
use warnings;

my ($wrk_out, $probe_log, $t0, $t1, $kind) = @ARGV;
die "usage: analyze.pl WRK_OUT PROBE_LOG T0 T1 sustained|instant\n"
    unless $kind;

my (%wrk, @fail);

open my $w, '<', $wrk_out or die "$wrk_out: $!\n";
while (<$w>) {
    $wrk{$1}{$2} += $3 if /^status (valid|invalid) (\d+) (\d+)/;
}
close $w;

my %probe;
my ($during_503, $during_200) = (0, 0);
my ($recovered, $after_bad) = (undef, 0);

open my $p, '<', $probe_log or die "$probe_log: $!\n";
while (<$p>) {
    my ($sent, $class, $status, $ms) = split;
    next unless defined $ms;
    $probe{$class}{$status}++;
    next unless $class eq 'valid';

    if ($sent >= $t0 + 400 && $sent + $ms <= $t1) {
        $during_503++ if $status == 503;
        $during_200++ if $status == 200;
    }

    if ($sent >= $t1) {
        if (!defined $recovered) {
            $recovered = $sent + $ms - $t1 if $status == 200;
        } elsif ($status != 200) {
            $after_bad++;
        }
    }
}
close $p;

my %all;
for my $src (\%wrk, \%probe) {
    for my $class (keys %$src) {
        $all{$class}{$_} += $src->{$class}{$_} for keys %{ $src->{$class} };
    }
}

my $sum = sub {
    my ($class, $test) = @_;
    my $n = 0;
    for my $s (keys %{ $all{$class} || {} }) {
        $n += $all{$class}{$s} if $test->($s);
    }
    return $n;
};

my $inv_2xx   = $sum->('invalid', sub { $_[0] >= 200 && $_[0] < 300 });
my $inv_other = $sum->('invalid', sub { $_[0] != 401 && $_[0] != 503 });
my $val_other = $sum->('valid',   sub { $_[0] != 200 && $_[0] != 503 });
my $val_200   = $sum->('valid',   sub { $_[0] == 200 });
my $val_503   = $sum->('valid',   sub { $_[0] == 503 });
my $inv_401   = $sum->('invalid', sub { $_[0] == 401 });
my $inv_503   = $sum->('invalid', sub { $_[0] == 503 });

push @fail, "invalid key got 2xx ($inv_2xx)" if $inv_2xx;
push @fail, "invalid key got other than 401/503 ($inv_other)"
    if $inv_other > $inv_2xx;
push @fail, "valid key got other than 200/503 ($val_other)" if $val_other;
push @fail, "no 503 for the valid key during the fault"
    if $kind eq 'sustained' && !$during_503;
push @fail, "no 200 within 2 s after the fault"
    if !defined $recovered || $recovered > 2000;
push @fail, "valid key refused after recovery ($after_bad)" if $after_bad;

my @detail = map { my $c = $_; map { "$c/$_=$all{$c}{$_}" }
                   sort keys %{ $all{$c} } } sort keys %all;

printf "valid_200=%d valid_503=%d valid_other=%d invalid_401=%d "
       . "invalid_503=%d invalid_2xx=%d invalid_other=%d "
       . "during_503=%d during_200=%d recovery_ms=%s result=%s\n",
       $val_200, $val_503, $val_other, $inv_401, $inv_503, $inv_2xx,
       $inv_other - $inv_2xx, $during_503, $during_200,
       $recovered // 'never', @fail ? 'FAIL' : 'ok';
print "  statuses: @detail\n";
print "  FAILED: $_\n" for @fail;

exit(@fail ? 1 : 0);
