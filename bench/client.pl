#!/usr/bin/perl
# A deterministic client for the callgrind runs: N sequential GETs on one
# keep-alive connection, rotating over the first NKEYS keys of KEYS_FILE.
# Dies unless every answer has status EXPECT (default 200).
#
#   client.pl PORT KEYS_FILE NKEYS N [PATH] [EXPECT]

use strict;
use warnings;
use IO::Socket::INET;

my ($port, $keys_file, $nkeys, $n, $path, $expect) = @ARGV;
die "usage: client.pl PORT KEYS_FILE NKEYS N [PATH] [EXPECT]\n"
    unless defined $n;
$path = '/api/v1/orgs/acme/workflows/' unless defined $path;
$expect = 200 unless defined $expect;

open my $kf, '<', $keys_file or die "$keys_file: $!\n";
my @keys;
while (my $k = <$kf>) {
    chomp $k;
    push @keys, $k;
    last if @keys >= $nkeys;
}
close $kf;
die "no keys\n" unless @keys;

my $sock;

sub connect_sock {
    $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
                                  Proto => 'tcp')
        or die "connect 127.0.0.1:$port: $!\n";
    $sock->autoflush(1);
}

connect_sock();

for my $i (0 .. $n - 1) {
    my $key = $keys[$i % @keys];
    print $sock "GET $path HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                . "Authorization: Bearer $key\r\n\r\n";

    my $status = <$sock>;
    die "request $i: connection closed\n" unless defined $status;
    my ($code) = $status =~ m{^HTTP/1\.1 (\d{3})}
        or die "request $i: bad status line\n";

    my ($len, $close) = (undef, 0);
    while (my $h = <$sock>) {
        last if $h eq "\r\n";
        $len = $1 if $h =~ /^Content-Length:\s*(\d+)/i;
        $close = 1 if $h =~ /^Connection:\s*close/i;
    }
    die "request $i: no Content-Length\n" unless defined $len;
    my $body = '';
    while (length $body < $len) {
        my $got = read $sock, $body, $len - length $body, length $body;
        die "request $i: short body\n" unless $got;
    }

    die "request $i: status $code, expected $expect\n" if $code != $expect;

    connect_sock() if $close;
}
