package Validibot::Certs;

# Certificates for the TLS tests (t/021-redis-tls.t, tools/t/75-tls.t),
# made with the openssl command in a directory of the caller's:
#   ca.crt/.key         the CA that signs the two below
#   wrong-ca.crt/.key   a CA that signed nothing here
#   server.crt/.key     subjectAltName DNS:redis.test, IP:127.0.0.1
#   client.crt/.key     extendedKeyUsage clientAuth
# EC P-256 keys (fast to make), valid for two days.

use strict;
use warnings;

use Carp qw(croak);
use Exporter 'import';

our @EXPORT_OK = qw(make_certs);

sub make_certs {
    my ($d) = @_;
    my @ec = ('-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1',
              '-nodes');

    # openssl's chatter goes to a log of its own
    my $run = sub {
        open my $saved, '>&', \*STDERR or croak "dup: $!";
        open STDERR, '>>', "$d/openssl.log" or croak "$d/openssl.log: $!";
        my $rc = system(@_);
        open STDERR, '>&', $saved or croak "dup: $!";
        $rc == 0 or croak "@_: failed, see $d/openssl.log";
    };

    for my $ca (qw(ca wrong-ca)) {
        $run->('openssl', 'req', '-x509', @ec, '-keyout', "$d/$ca.key",
               '-out', "$d/$ca.crt", '-days', '2', '-subj', "/CN=$ca",
               '-batch');
    }

    my %ext = (
        server => "subjectAltName=DNS:redis.test,IP:127.0.0.1\n"
                  . "extendedKeyUsage=serverAuth\n",
        client => "extendedKeyUsage=clientAuth\n",
    );
    my $serial = 1;

    for my $who (qw(server client)) {
        open my $fh, '>', "$d/$who.ext" or croak "$d/$who.ext: $!";
        print $fh $ext{$who};
        close $fh;
        $run->('openssl', 'req', @ec, '-keyout', "$d/$who.key",
               '-out', "$d/$who.csr", '-subj', "/CN=validibot-$who");
        $run->('openssl', 'x509', '-req', '-in', "$d/$who.csr",
               '-CA', "$d/ca.crt", '-CAkey', "$d/ca.key",
               '-set_serial', $serial++, '-days', '2',
               '-extfile', "$d/$who.ext", '-out', "$d/$who.crt");
    }

    return $d;
}

1;
