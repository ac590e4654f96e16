# Shell helpers shared by scripts/test.sh, stress/lib.sh and bench/run.sh
# (sourced, bash).

# free_port: a TCP port on 127.0.0.1 that nothing listens on right now
free_port() {
    perl -MIO::Socket::INET -e '
        my $s = IO::Socket::INET->new(LocalAddr => "127.0.0.1",
                                      LocalPort => 0, Listen => 1,
                                      Proto => "tcp") or die "$!\n";
        print $s->sockport, "\n";'
}
