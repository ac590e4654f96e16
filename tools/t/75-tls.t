# rediss:// in validibot-token: TLS made by the tool with OpenSSL, checked
# as validibot_redis_ssl_* checks it, set by the same names in the
# environment.  A private redis-server with a TLS port (and a plain one to
# look at the data); certificates made here (t/lib/Validibot/Certs.pm).

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib", "$FindBin::Bin/../../t/lib";
use Test::More;
use VTTest;
use Validibot::Certs qw(make_certs);

my $P = prefix();
my $D = tmpdir();
mkdir "$D/tls" or die "$D/tls: $!";
my $C = make_certs("$D/tls");
my $tls = free_port();

my $port = start_redis('--tls-port', $tls,
                       '--tls-cert-file', "$C/server.crt",
                       '--tls-key-file', "$C/server.key",
                       '--tls-ca-cert-file', "$C/ca.crt",
                       '--tls-auth-clients', 'no');

# wait for the TLS port too
for (1 .. 100) {
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $tls);
    last if $s;
    select undef, undef, undef, 0.05;
}

my $url = "rediss://127.0.0.1:$tls";
my %ca = (VALIDIBOT_REDIS_SSL_TRUSTED_CERTIFICATE => "$C/ca.crt");
my $r;

$r = vt('user', 'add', 't1', '--redis', $url, { env => { %ca } });
is $r->{rc}, 0, 'rediss:// with the CA, the address checked against the IP name';
is redis_on($port, 'HGET', "${P}user:t1", 'is_active'), '1', 'written over TLS';

$r = vt('user', 'add', 't2', '--redis', $url,
        { env => { %ca, VALIDIBOT_REDIS_SSL_SERVER_NAME => 'redis.test' } });
is $r->{rc}, 0, 'rediss:// with a server name';

$r = vt('user', 'add', 't3', '--redis', $url,
        { env => { %ca, VALIDIBOT_REDIS_SSL_SERVER_NAME => 'other.test' } });
is $r->{rc}, 3, 'a name the certificate does not have: exit 3';
like $r->{err}, qr/TLS certificate does not match "other\.test"/, '... says so';

$r = vt('user', 'add', 't4', '--redis', $url,
        { env => { VALIDIBOT_REDIS_SSL_TRUSTED_CERTIFICATE => "$C/wrong-ca.crt" } });
is $r->{rc}, 3, 'the wrong CA: exit 3';
like $r->{err}, qr/TLS certificate verify error: \(\d+:/, '... says so';
is redis_on($port, 'EXISTS', "${P}user:t4"), 0, '... and wrote nothing';

$r = vt('user', 'add', 't5', '--redis', $url,
        { env => { VALIDIBOT_REDIS_SSL_TRUSTED_CERTIFICATE => "$C/wrong-ca.crt",
                   VALIDIBOT_REDIS_SSL_VERIFY => 'off' } });
is $r->{rc}, 0, 'VALIDIBOT_REDIS_SSL_VERIFY=off: the wrong CA passes';
like $r->{err}, qr/warning: VALIDIBOT_REDIS_SSL_VERIFY is off/, '... with a warning';

$r = vt('user', 'add', 't6', '--redis', "redis://127.0.0.1:$tls",
        { env => { %ca } });
isnt $r->{rc}, 0, 'redis:// to the TLS port: fails';

redis_on($port, 'CONFIG', 'SET', 'tls-auth-clients', 'yes');

$r = vt('user', 'add', 't7', '--redis', $url,
        { env => { %ca, VALIDIBOT_REDIS_SSL_CERTIFICATE => "$C/client.crt",
                   VALIDIBOT_REDIS_SSL_CERTIFICATE_KEY => "$C/client.key" } });
is $r->{rc}, 0, 'a client certificate when Redis requires one';
is redis_on($port, 'HGET', "${P}user:t7", 'is_active'), '1', '... written';

for my $i (1 .. 3) {
    $r = vt('user', 'add', "t8$i", '--redis', $url, { env => { %ca } });
    ok $r->{rc} == 3 && !$r->{signal},
       "no client certificate when Redis requires one: exit 3 (try $i)"
        or diag "rc $r->{rc} signal $r->{signal}: $r->{err}";
}

$r = vt('user', 'add', 't9', '--redis', $url,
        { env => { %ca, VALIDIBOT_REDIS_SSL_CERTIFICATE => "$C/client.crt" } });
is $r->{rc}, 2, 'a certificate without its key: exit 2';

redis_on($port, 'CONFIG', 'SET', 'tls-auth-clients', 'no');

# a password file and an ACL user over TLS
redis_on($port, 'ACL', 'SETUSER', 'tlsuser', 'on', '>tls-pw', '~*', '+@all');
$r = vt('user', 'add', 't10', '--redis', "$url/0",
        { env => { %ca, VALIDIBOT_REDIS_PASSWORD_FILE =>
                            write_file("$D/tls.pass", "tlsuser tls-pw\n") } });
is $r->{rc}, 0, 'rediss:// with VALIDIBOT_REDIS_PASSWORD_FILE';

# the ACL line docs/production.md gives the tool, over TLS: every command
redis_on($port, 'ACL', 'SETUSER', 'vtcli', 'reset', 'on', '>cli-pw',
         "~${P}*", '+hset', '+hget', '+hgetall', '+hmget', '+del',
         '+exists', '+scan', '+watch', '+unwatch', '+multi', '+exec', '+eval');
my %cli = (%ca, VALIDIBOT_REDIS_PASSWORD_FILE =>
                    write_file("$D/cli.pass", "vtcli cli-pw\n"));
my @steps = (
    ['user', 'add', 'a1'], ['org', 'add', 'aclorg'],
    ['member', 'grant', 'aclorg', 'a1', 'executor'],
    ['member', 'list', 'aclorg'], ['user', 'show', 'a1'],
    ['create', '--user', 'a1'], ['list', '--user', 'a1'],
);
for my $s (@steps) {
    $r = vt(@$s, '--redis', $url, { env => { %cli } });
    is $r->{rc}, 0, "ACL user of docs/production.md: @$s" or diag $r->{err};
}
my $key = $r->{rc} == 0 ? (vt('create', '--user', 'a1', '--redis', $url,
                              { env => { %cli } })->{out} =~ s/\n//r) : '';
$r = vt('verify', '--org', 'aclorg', '--redis', $url,
        { stdin => "$key\n", env => { %cli } });
is $r->{rc}, 0, 'ACL user: verify' or diag $r->{err};
my ($pid) = $key =~ /^vbk_1_([0-9a-f]{32})_/;
for my $s (['rotate', $pid], ['revoke', $pid],
           ['member', 'remove', 'aclorg', 'a1'],
           ['org', 'delete', 'aclorg', '--purge'], ['user', 'remove', 'a1']) {
    $r = vt(@$s, '--redis', $url, { env => { %cli } });
    is $r->{rc}, 0, "ACL user: @$s" or diag $r->{err};
}

stop_redis($port);

done_testing();
