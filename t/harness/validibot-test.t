# Self-test of t/lib/Validibot/Test.pm: the digest (the vectors of
# t/unit/test_digest.c, and one computed with Python's hmac), the
# deterministic keys, the records docs/redis-schema.md describes, the RESP
# client, DEBUG SLEEP, and stopping/starting the test Redis.
# Needs the Redis of scripts/test.sh (TEST_NGINX_REDIS_PORT).

use strict;
use warnings;

use Test::More;
use Time::HiRes qw(time sleep);
use Validibot::Test;

plan skip_all => 'TEST_NGINX_REDIS_PORT is not set (run scripts/test.sh)'
    unless $ENV{TEST_NGINX_REDIS_PORT};

plan tests => 32;

my $pid    = '0123456789abcdef0123456789abcdef';
my $secret = '00112233445566778899aabbccddeeff' x 2;

# the C unit test's vectors (t/unit/test_digest.c)
is(key_digest($pid, $secret, 1, 'test-digest-key'),
   '0e686ddb7c05262fd98181346ff564127a826d008d03c4480728587e0c563c0a',
   'digest: unit vector 1');
is(key_digest($pid, $secret, 2, 'test-digest-key'),
   '9a264220565ba658a038e9941369dd6ff45e7389d8329328e8fbd703fb52c2fd',
   'digest: unit vector 2 (digest_version is in the message)');
is(key_digest($pid, $secret, 1, ''),
   '4d865b219c3d60d1e00a91138889ae515551ba9cfbc24198c5bb995e7468cea0',
   'digest: empty digest key');

# deterministic keys (values computed with python3 hashlib/hmac)
my $alice = make_key(seed => 'alice', write => 0);
is($alice, 'vbk_1_c7f8e868599e7846a4e8fc961051a9ee_'
           . '3692e7822bf896f1cafacaa17f47d8e116df96b3e79af26770bdbb13f3023b38',
   'make_key: seed alice');
like($alice, qr/^vbk_1_[0-9a-f]{32}_[0-9a-f]{64}$/, 'make_key: key syntax');
is(key_public_id($alice), 'c7f8e868599e7846a4e8fc961051a9ee', 'key_public_id');
is(length key_secret($alice), 64, 'key_secret');
is(key_digest(key_public_id($alice), key_secret($alice)),
   '1ea7de73b75b0b6b64c5f41877c47a3c0495e70f4fa4a84098178d17a46df43b',
   'digest of alice, digest key v1 by default');
is(key_digest(key_public_id($alice), key_secret($alice), 2),
   '08e4c15a2db62de92cc6369b83c14e9750056a8063bc7626f6b9707928228296',
   'digest of alice with digest key v2');

# digest key files
for my $v (1, 2) {
    my $f = digest_key_file($v);
    open my $in, '<', $f or die "$f: $!";
    my $content = do { local $/; <$in> };
    is($content, "test-digest-key-v$v\n", "digest key file v$v");
}
is($ENV{TEST_NGINX_DIGEST_KEY_FILE_V1}, digest_key_file(1),
   'TEST_NGINX_DIGEST_KEY_FILE_V1 names it');

# the Redis client
is(redis_cmd('PING'), 'PONG', 'PING');
is(redis_cmd('SET', "bin\0key", "a\r\nb\0"), 'OK', 'binary-safe SET');
is(redis_cmd('GET', "bin\0key"), "a\r\nb\0", 'binary-safe GET');
is(redis_cmd('DEL', "bin\0key"), 1, 'integer reply');
is(redis_cmd('GET', 'no-such-key'), undef, 'nil reply');
my ($v, $e) = redis_try('HGET', 'x');
like($e, qr/^ERR /, 'redis_try returns the error reply');
ok(!eval { redis_cmd('NOSUCHCOMMAND'); 1 }, 'redis_cmd dies on an error');

# seeding, exactly as docs/redis-schema.md
redis_cmd('SET', 'other:keep', 1);
redis_flush_prefix();

my $key = make_key(seed => 'bob', user => 42, label => 'CI',
                   expires_at => 1795536000);
my %rec = @{ redis_cmd('HGETALL', rkey('key', key_public_id($key))) };
is_deeply(\%rec, {
    user => 42,
    digest => key_digest(key_public_id($key), key_secret($key), 1),
    digest_version => 1,
    label => 'CI',
    created_at => TEST_NOW,
    expires_at => 1795536000,
}, 'key record');

add_user(42, email => 'ci@example.com', name => 'CI bot');
is_deeply({ @{ redis_cmd('HGETALL', 'validibot:user:42') } },
          { is_active => 1, email => 'ci@example.com', name => 'CI bot' },
          'user record');

add_org('acme');
is_deeply({ @{ redis_cmd('HGETALL', 'validibot:org:acme') } },
          { status => 'active', name => 'Acme' }, 'org record');

add_member('acme', 42, ['author', 'executor']);
is_deeply({ @{ redis_cmd('HGETALL', 'validibot:member:acme:42') } },
          { is_active => 1, roles => 'author,executor' },
          'membership record');

add_member('acme', 43, 'executor', 0);
is(redis_cmd('HGET', 'validibot:member:acme:43', 'is_active'), 0,
   'inactive membership');

make_key(seed => 'carol', user => undef, digest_version => undef);
my $carol = make_key(seed => 'carol', write => 0);
ok(!redis_cmd('HEXISTS', rkey('key', key_public_id($carol)), 'user')
   && !redis_cmd('HEXISTS', rkey('key', key_public_id($carol)),
                 'digest_version'),
   'undef options leave fields out');

is(redis_flush_prefix(), 6, 'redis_flush_prefix removes our records');
is(redis_cmd('GET', 'other:keep'), 1, '... and nothing else');
redis_cmd('DEL', 'other:keep');

# a slow Redis: DEBUG SLEEP is enabled for local clients
redis_send_nowait('DEBUG', 'SLEEP', '0.4');
sleep 0.05;
my $t0 = time;
redis_cmd('PING');
cmp_ok(time - $t0, '>=', 0.25, 'DEBUG SLEEP blocks other clients');

# stop and start again (what the suite does for "Redis went away")
ok(redis_stop(), 'redis_stop');
ok(!redis_is_up(), 'stopped');
ok(redis_start(), 'redis_start');
is(redis_cmd('PING'), 'PONG', 'answers again after a restart');
