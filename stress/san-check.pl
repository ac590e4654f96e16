#!/usr/bin/perl
# Looks for sanitizer reports in files (ASan/LSan log_path files, error
# logs, captured stderr) and prints those that count; exits 1 if any does.
#
#   stress/san-check.pl FILE...
#
# Counted: every "ERROR: AddressSanitizer", every "runtime error:" (UBSan),
# and every "ERROR: LeakSanitizer" report except one that consists only of
# the leak of nginx's own startup-failure path: main() creates
# init_cycle.pool (src/core/nginx.c) and returns 1 without destroying it
# when the configuration is refused (`nginx -t` of a bad file, the
# suite's must_die blocks).  That leak cannot be suppressed in lsan.supp:
# a suppression matches any frame of the stack and main() is in every
# stack.  So it is recognised here by its whole shape: allocated by
# ngx_create_pool() called directly from main().
use strict;
use warnings;

my ($counted, $benign) = (0, 0);
my %sym;

for my $file (@ARGV) {
    open my $in, '<', $file or next;
    my $text = do { local $/; <$in> };
    close $in;

    # UBSan: one line per report, the stack follows
    while ($text =~ /^(.*runtime error:.*(?:\n {4}#\d+ .*)*)/mg) {
        print "=== $file\n", symbolize($1), "\n\n";
        $counted++;
    }

    # ASan and LSan: from the ==PID==ERROR line to the SUMMARY line
    while ($text =~ /(==\d+==ERROR:[ ](AddressSanitizer|LeakSanitizer)
                      .*?^SUMMARY:[^\n]*)/msxg)
    {
        my ($report, $kind) = ($1, $2);

        if ($kind eq 'LeakSanitizer' && startup_failure_only($report)) {
            $benign++;
            next;
        }

        print "=== $file\n", symbolize($report), "\n\n";
        $counted++;
    }
}

print "san-check: $counted sanitizer report(s)",
      ($benign ? ", $benign known startup-failure leak(s) of nginx's main()"
               : ""), "\n";

exit($counted ? 1 : 0);

sub startup_failure_only {
    my ($report) = @_;
    my @leaks = split /^(?=(?:Direct|Indirect) leak of )/m, $report;
    shift @leaks;    # the ERROR header

    return 0 unless @leaks;

    for my $leak (@leaks) {
        return 0 unless $leak =~
            /^[ ]{4}\#\d+[ ]\S+[ ]in[ ]ngx_create_pool[ ]\S+\n
              [ ]{4}\#\d+[ ]\S+[ ]in[ ]main[ ]src\/core\/nginx\.c:\d+/mx;
    }

    return 1;
}

# Frames the runtime left as "(module.so+0xOFFSET)" (UBSan in a module
# that nginx dlopen()ed after the symbolizer looked at the process): named
# here with addr2line.
sub symbolize {
    my ($text) = @_;
    $text =~ s{^(\s+\#\d+\s+0x[0-9a-f]+)\s+\((/\S+\.so)\+(0x[0-9a-f]+)\)$}
              {"$1 in " . addr2line($2, $3) . " ($2+$3)"}mge;
    return $text;
}

sub addr2line {
    my ($so, $off) = @_;
    return $sym{"$so $off"} //= do {
        my @out = -f $so ? `addr2line -f -C -e '$so' $off 2>/dev/null` : ();
        chomp @out;
        @out == 2 && $out[0] ne '??' ? "$out[0] $out[1]" : '??';
    };
}
