# validibot-sync against a real PostgreSQL 15 holding Validibot's schema
# (tools/t/sync/validibot-schema.sql), a real redis-server and nginx with
# the module: Validibot's own writes, in the transaction shapes it makes,
# each followed by requests through nginx; then the faults.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Time::HiRes qw(sleep);
use VTTest qw(write_file);
use JSON::PP;
use POSIX ();
use SyncTest;

my $so = $ENV{VALIDIBOT_MODULE_SO} || "$FindBin::Bin/../../build/ngx_http_validibot_module.so";
my $nginx = $ENV{TEST_NGINX_BINARY} || '/usr/sbin/nginx';

plan skip_all => "module not built ($so): make module" unless -f $so;
plan skip_all => 'validibot-sync not built: make tools' unless -x sync_bin();
plan skip_all => 'no PostgreSQL 15 (postgresql-15)' unless pg_available();

my $P = $PREFIX;
my $r;

pg_start();
psql('CREATE DATABASE validibot;', 'postgres');
psql(do { local (@ARGV, $/) = ("$FindBin::Bin/sync/validibot-schema.sql"); <> });
sredis_start();

# the bridge runs as a role with only what docs/sync.md asks for: LOGIN,
# REPLICATION and SELECT on the six tables (setup runs as the owner)
psql('CREATE ROLE vsync LOGIN REPLICATION; GRANT SELECT ON users_user, '
     . 'users_organization, users_membership, users_membershiprole, '
     . 'users_role, users_validibotapikey TO vsync;');
is sql_one("SELECT rolsuper::text || ' ' || rolreplication::text FROM pg_roles "
           . "WHERE rolname = 'vsync'"), 'false true',
    "the bridge's role: REPLICATION, not a superuser";
$SyncTest::SYNC_PG = pg_conninfo('validibot', 'vsync');
my @owner = ('--pg', pg_conninfo());

# --- the command line ---

$r = sync_run('--help');
is $r->{rc}, 0, '--help: exit 0';
like $r->{out}, qr/^Usage: validibot-sync/, '--help: usage';
for my $c ('setup \[--print\]', 'run', 'resync', 'status \[--json\]') {
    like $r->{out}, qr/^  $c/m, "usage lists $c";
}
$r = sync_run('frob');
ok $r->{rc} == 2 && $r->{err} =~ /unknown command "frob"/, 'unknown command: exit 2';
$r = sync_run('run', '--print');
ok $r->{rc} == 2 && $r->{err} =~ /run does not take --print/, 'run --print: exit 2';
$r = sync_run('--slot', 'Bad-Name', 'run');
ok $r->{rc} == 2 && $r->{err} =~ /--slot/, 'bad slot name: exit 2';
$r = sync_run('--slot=Bad-Name', 'run');
ok $r->{rc} == 2 && $r->{err} =~ /--slot and --publication take/, '--slot=VALUE is read too';
$r = sync_run('--slot', 'a', '--slot', 'b', 'run');
ok $r->{rc} == 2 && $r->{err} =~ /--slot given twice/, 'an option given twice: exit 2';
$r = sync_run('--frob', 'run');
ok $r->{rc} == 2 && $r->{err} =~ /unknown option --frob/, 'unknown option: exit 2';
$r = sync_run('run', '--pg');
ok $r->{rc} == 2 && $r->{err} =~ /--pg needs a value/, 'an option without its value: exit 2';

$r = sync_run('setup', '--print');
is $r->{rc}, 0, 'setup --print: exit 0';
like $r->{out}, qr/^CREATE PUBLICATION validibot_sync FOR TABLE users_user, users_organization, users_membership, users_membershiprole, users_role, users_validibotapikey;$/m,
    'setup --print: the publication';
for my $t (qw(users_organization users_membership users_membershiprole users_validibotapikey)) {
    like $r->{out}, qr/^ALTER TABLE $t REPLICA IDENTITY FULL;$/m, "setup --print: $t FULL";
}
like $r->{out}, qr/wal_level = logical/, 'setup --print: says wal_level';
like $r->{out}, qr/LOGIN REPLICATION/, 'setup --print: the role';
like $r->{out}, qr/^CREATE OR REPLACE TRIGGER validibot_sync_key_revoked AFTER UPDATE OF revoked_at ON users_validibotapikey .*EXECUTE FUNCTION validibot_sync_fast\('validibot_sync'\);$/m,
    'setup --print: the fast path trigger on revocations';

# --- an operator who forgot REPLICA IDENTITY FULL: a clear error at start ---

psql('CREATE PUBLICATION validibot_sync FOR TABLE users_user, users_organization, '
     . 'users_membership, users_membershiprole, users_role, users_validibotapikey;');
psql('ALTER TABLE users_organization REPLICA IDENTITY FULL; '
     . 'ALTER TABLE users_membership REPLICA IDENTITY FULL; '
     . 'ALTER TABLE users_membershiprole REPLICA IDENTITY FULL;');
sync_start();
my $st = sync_wait(10);
is $st, 1, 'REPLICA IDENTITY missing: run exits 1';
like sync_log(), qr/table users_validibotapikey lacks REPLICA IDENTITY FULL.*ALTER TABLE users_validibotapikey REPLICA IDENTITY FULL;/,
    'REPLICA IDENTITY missing: the error names the table and the fix';
unlike sync_log(), qr/users_membership lacks/, 'tables that have it are not named';
like sync_log(), qr/warn\] the fast path's triggers are missing \(0 of 4\).*run validibot-sync setup/,
    'missing fast path triggers: said, with the fix';
is sredis('EXISTS', "${P}sync:state"), 0, 'nothing written to Redis';

$r = sync_run(@owner, 'setup');
is $r->{rc}, 0, 'setup (run as the owner): exit 0' or diag $r->{err};
like $r->{err}, qr/publication "validibot_sync" exists/, 'setup: keeps the publication';
like $r->{err}, qr/fast path's triggers are ready/, 'setup: checks what it did';
is sql_one("SELECT relreplident FROM pg_class WHERE relname = 'users_validibotapikey'"), 'f',
    'setup: REPLICA IDENTITY FULL set';



# --- before the first start: data already there (the initial load) ---

my $alice = sql_user('alice');
my $bob = sql_user('bob');
my $root = sql_user('root', superuser => 1);
my $acme = sql_org('acme', 'Acme Inc');
my $m_alice = sql_member($alice, $acme, 'EXECUTOR');
my $m_bob = sql_member($bob, $acme, 'AUTHOR', 'EXECUTOR', 'ADMIN');
my ($k1, $p1) = sql_key($alice);

# something the bridge must remove: a record no row stands for
sredis('HSET', "${P}key:" . ('0' x 32), 'user', $alice, 'digest', 'x');

sync_start();
ok wait_log(qr/generation \S+ ready/), 'first start: full load' or diag sync_log();
ok wait_log(qr/streaming from slot "validibot_sync"/), 'then streams';
like sync_log(), qr/deleted 1 records the load did not see/, 'load: stale record deleted';
is sredis('EXISTS', "${P}key:" . ('0' x 32)), 0, 'load: the stale key is gone';

my %k = @{ sredis('HGETALL', "${P}key:$p1") };
is $k{user}, $alice, 'key record: user';
like $k{digest}, qr/^[0-9a-f]{64}$/, 'key record: digest';
is $k{digest_version}, 1, 'key record: digest_version';
is $k{label}, 'Personal API key', 'key record: label';
is $k{revoked_at}, '0', 'key record: revoked_at NULL -> 0';
like $k{expires_at}, qr/^\d{10}$/, 'key record: expires_at in unix seconds';
ok abs($k{created_at} - time) < 600, 'key record: created_at is now';
is $k{rotated_from}, '', 'key record: rotated_from empty';
is_deeply [@{ sredis('HMGET', "${P}user:$root", 'is_active', 'is_superuser', 'email', 'name') }],
    [1, 1, 'root@example.com', 'Root'], 'user record: is_active, is_superuser, email, name';
is sredis('HGET', "${P}user:$alice", 'is_superuser'), '0', 'a user: is_superuser 0';
is_deeply [@{ sredis('HMGET', "${P}org:acme", 'status', 'name') }], ['active', 'Acme Inc'],
    'org record: status active, name';
is_deeply [@{ sredis('HMGET', "${P}member:acme:$bob", 'is_active', 'roles') }],
    [1, 'admin,author,executor'], 'member record: roles lowercased and sorted';

my $port = nginx_start($so, $nginx);

sub outcome { my ($s, $st) = get(@_); "$s $st" }

sub becomes {
    my ($want, $path, $key, $name) = @_;
    my $got;
    my $ok = eventually { ($got = outcome($path, $key)) eq $want } 10;
    ok $ok, $name or diag "got $got, want $want\n" . sync_log();
}

becomes '200 ok', '/me', $k1, 'loaded key: 200 through nginx';
becomes '200 ok', '/orgs/acme/launch', $k1, 'loaded executor launches';

# a Validibot superuser passes every org check (validibot_superusers allow)
my ($kroot) = sql_key($root);
becomes '200 ok', '/orgs/acme/launch', $kroot, 'superuser, not a member: launches, as in Validibot';
psql("UPDATE users_user SET is_superuser = false WHERE id = $root;");
becomes '403 not_member', '/orgs/acme/launch', $kroot, 'superuser status taken away: 403';

# --- key issue (the INSERT of issue_key) ---

my ($k2, $p2) = sql_key($bob);
becomes '200 ok', '/me', $k2, 'issue: the new key works';
becomes '200 ok', '/orgs/acme/launch', $k2, 'issue: bob launches in acme';

# --- rotation: one transaction, revoke every active key + the new one ---

my ($k3, $p3, $ins) = sql_key($alice, rotated_from => $p1, sql_only => 1);
psql(<<"SQL");
BEGIN;
UPDATE users_validibotapikey SET revoked_at = now(), modified = now()
    WHERE user_id = $alice AND revoked_at IS NULL;
$ins
COMMIT;
SQL
becomes '401 revoked', '/me', $k1, 'rotation: the old key is refused';
becomes '200 ok', '/me', $k3, 'rotation: the new key works';
is sredis('HGET', "${P}key:$p3", 'rotated_from'), $p1, 'rotation: rotated_from is the old public id';

# --- revocation and deletion in the admin ---

psql("UPDATE users_validibotapikey SET revoked_at = now(), modified = now() WHERE public_id = '$p2';");
becomes '401 revoked', '/me', $k2, 'admin revocation: 401 revoked';
psql("DELETE FROM users_validibotapikey WHERE public_id = '$p2';");
becomes '401 invalid', '/me', $k2, 'admin delete: 401 invalid';
is sredis('EXISTS', "${P}key:$p2"), 0, 'admin delete: record gone';

my ($k4, $p4) = sql_key($bob);
becomes '200 ok', '/me', $k4, 'bob has a new key';

# --- user deactivation: UPDATE is_active only ---

psql("UPDATE users_user SET is_active = false WHERE id = $alice;");
becomes '401 user_inactive', '/me', $k3, 'user deactivated: 401';
is sredis('HGET', "${P}user:$alice", 'email'), 'alice@example.com', 'deactivation keeps the email';
psql("UPDATE users_user SET is_active = true WHERE id = $alice;");
becomes '200 ok', '/me', $k3, 'user reactivated: 200';

# a bio stored out of line (TOAST) arrives as "unchanged" in an update
# that does not touch it: the rest of the row still maps
my $bio = join '', map { sprintf '%08x', int rand 2**32 } 1 .. 4000;
psql("UPDATE users_user SET bio = '$bio' WHERE id = $bob;");
psql("UPDATE users_user SET is_active = false WHERE id = $bob;");
becomes '401 user_inactive', '/me', $k4, 'bob (TOASTed bio) deactivated';
# the 401 may be the fast path's: the stream's own write clears its mark
ok eventually { !sredis('HEXISTS', "${P}user:$bob", 'sync_fast') }, 'bob: the stream applied it';
is_deeply [@{ sredis('HMGET', "${P}user:$bob", 'email', 'name') }], ['bob@example.com', 'Bob'],
    'an unchanged TOASTed column does not disturb the others';
psql("UPDATE users_user SET is_active = true WHERE id = $bob;");
becomes '200 ok', '/me', $k4, 'bob reactivated';

# --- role edit: separate commits, delete every role then insert each ---

psql("DELETE FROM users_membershiprole WHERE membership_id = $m_alice;");
becomes '403 forbidden', '/orgs/acme/launch', $k3, 'roles all deleted: 403';
is sredis('HGET', "${P}member:acme:$alice", 'roles'), '', 'roles all deleted: empty roles';
psql("INSERT INTO users_membershiprole (membership_id, role_id) SELECT $m_alice, id FROM users_role WHERE code = 'AUTHOR';");
ok eventually { (sredis('HGET', "${P}member:acme:$alice", 'roles') // '') eq 'author' }, 'role edit: author';
becomes '403 forbidden', '/orgs/acme/launch', $k3, 'author cannot launch';
psql("INSERT INTO users_membershiprole (membership_id, role_id) SELECT $m_alice, id FROM users_role WHERE code = 'EXECUTOR';");
becomes '200 ok', '/orgs/acme/launch', $k3, 'role edit: executor added, launches';
my (undef, undef, $body) = get('/orgs/acme/launch', $k3);
like $body, qr/roles=author,executor/, 'roles reach upstream';

# --- the fast path: refusals notified at COMMIT, ahead of the stream ---

my $carol = sql_user('carol');
my ($kf1, $pf1) = sql_key($carol);
my ($kf2, $pf2) = sql_key($carol);
becomes '200 ok', '/me', $kf2, "carol's keys work";
my $wal = walsender_pid();
like $wal, qr/^\d+$/, 'the walsender serving the bridge';
END { kill 'CONT', $wal if $wal }

# the stream stands still, as while a big transaction is being decoded
kill 'STOP', $wal;
my $lsn = sredis('HGET', "${P}sync:state", 'lsn');
psql("UPDATE users_validibotapikey SET label = 'renamed', modified = now() WHERE public_id = '$pf1';");
psql("UPDATE users_validibotapikey SET revoked_at = now(), modified = now() WHERE public_id = '$pf1';");
becomes '401 revoked', '/me', $kf1, 'fast path: a revocation refused while the stream stands still';
psql("UPDATE users_user SET is_active = false WHERE id = $carol;");
becomes '401 user_inactive', '/me', $kf2, 'fast path: a deactivation refused while the stream stands still';
is sredis('HGET', "${P}sync:state", 'lsn'), $lsn, 'fast path: the stream applied nothing meanwhile';
like sredis('HGET', "${P}key:$pf1", 'sync_fast'), qr/^\d+$/, 'fast path: the mark names the transaction';
like sync_log(), qr/fast path: key $pf1 refused ahead of the stream/, 'fast path: logged with the public id';
kill 'CONT', $wal;

ok eventually { !defined sredis('HGET', "${P}key:$pf1", 'sync_fast') }, 'the stream caught up: the mark is gone';
is sredis('HGET', "${P}key:$pf1", 'label'), 'renamed', 'the older transaction was applied too';
becomes '401 revoked', '/me', $kf1, 'still revoked from the stream';
psql("UPDATE users_user SET is_active = true WHERE id = $carol;");
becomes '200 ok', '/me', $kf2, 'reactivated after the fast path: 200 (no mark left behind)';
psql("UPDATE users_validibotapikey SET revoked_at = NULL WHERE public_id = '$pf1';");
becomes '200 ok', '/me', $kf1, 'revocation undone in the admin: 200 (no mark left behind)';

# the guard: a mark of a transaction the stream has not applied yet keeps
# its refusal against the older states the stream writes meanwhile
sredis('HSET', "${P}key:$pf1", 'revoked_at', '1', 'sync_fast', '4000000000');
psql("UPDATE users_validibotapikey SET label = 'again', modified = now() WHERE public_id = '$pf1';");
ok eventually { (sredis('HGET', "${P}key:$pf1", 'label') // '') eq 'again' }, 'guard: an older transaction applied';
is sredis('HGET', "${P}key:$pf1", 'revoked_at'), '1', 'guard: its revoked_at did not overwrite the mark';
becomes '401 revoked', '/me', $kf1, 'guard: the key stays refused';

# Validibot bumping last_used_at does not rewrite the record (it would
# invalidate every gateway's cached decisions for the key)
sredis('HSET', "${P}key:$pf2", 'label', 'poked');
psql("UPDATE users_validibotapikey SET last_used_at = now(), modified = now() WHERE public_id = '$pf2';");
psql("UPDATE users_validibotapikey SET label = 'later' WHERE public_id = '$pf1';");
ok eventually { (sredis('HGET', "${P}key:$pf1", 'label') // '') eq 'later' }, 'a later transaction applied';
is sredis('HGET', "${P}key:$pf2", 'label'), 'poked', 'last_used_at only: the record is not written';
psql("UPDATE users_validibotapikey SET last_used_at = now(), label = 'L2' WHERE public_id = '$pf2';");
ok eventually { (sredis('HGET', "${P}key:$pf2", 'label') // '') eq 'L2' }, 'last_used_at and the label: written';

# --- a transaction big enough to be streamed (logical_decoding_work_mem) ---

psql(<<"SQL");
BEGIN;
INSERT INTO users_user (password, is_superuser, username, email, is_staff,
    is_active, date_joined, name, job_title, company, location, timezone, bio)
SELECT '!', false, 'bulk' || g, '', false, true, now(), repeat('x', 100),
    '', '', '', '', '' FROM generate_series(1, 3000) g;
UPDATE users_validibotapikey SET revoked_at = now() WHERE public_id = '$p4';
COMMIT;
SQL
becomes '401 revoked', '/me', $k4, 'streamed transaction: revocation applied';
# (the 401 may be the fast path's: the stream's own write comes after)
my $bulk = sql_one("SELECT id FROM users_user WHERE username = 'bulk3000'");
ok eventually { (sredis('HGET', "${P}user:$bulk", 'is_active') // '') eq '1'
                && !sredis('HEXISTS', "${P}key:$p4", 'sync_fast') },
    'streamed transaction: its users too, and its revocation by the stream';

# a streamed transaction rolled back leaves nothing
my ($k5, $p5) = sql_key($bob);
becomes '200 ok', '/me', $k5, 'bob key 5 works';
psql(<<"SQL");
BEGIN;
INSERT INTO users_user (password, is_superuser, username, email, is_staff,
    is_active, date_joined, name, job_title, company, location, timezone, bio)
SELECT '!', false, 'gone' || g, '', false, true, now(), repeat('x', 100),
    '', '', '', '', '' FROM generate_series(1, 3000) g;
UPDATE users_validibotapikey SET revoked_at = now() WHERE public_id = '$p5';
ROLLBACK;
SQL
my ($k6, $p6) = sql_key($bob);
becomes '200 ok', '/me', $k6, 'a later key works';
is outcome('/me', $k5), '200 ok', 'rolled-back streamed transaction: nothing applied';

# --- a key of another format version is skipped and logged ---

my ($k7, $p7) = sql_key($bob, format_version => 2);
ok wait_log(qr/key $p7: format_version 2 is not 1: skipped/), 'format_version 2: logged';
is sredis('EXISTS', "${P}key:$p7"), 0, 'format_version 2: not written';

# --- membership delete (Django: role rows, then the membership) ---

psql("BEGIN; DELETE FROM users_membershiprole WHERE membership_id = $m_alice; "
     . "DELETE FROM users_membership WHERE id = $m_alice; COMMIT;");
becomes '403 not_member', '/orgs/acme/workflows/', $k3, 'membership deleted: 403 not_member';
is sredis('EXISTS', "${P}member:acme:$alice"), 0, 'membership deleted: record gone';

# --- org slug renamed in the admin: the records move ---

psql("UPDATE users_organization SET slug = 'acme2', modified = now() WHERE id = $acme;");
becomes '200 ok', '/orgs/acme2/launch', $k6, 'slug renamed: member records under the new slug';
becomes '403 org_inactive', '/orgs/acme/launch', $k6, 'slug renamed: the old slug is gone';

# --- org delete with Django's cascade ---

psql("UPDATE users_user SET current_org_id = $acme WHERE id = $bob;");
psql(<<"SQL");
BEGIN;
DELETE FROM users_membershiprole WHERE membership_id IN
    (SELECT id FROM users_membership WHERE org_id = $acme);
DELETE FROM users_membership WHERE org_id = $acme;
UPDATE users_user SET current_org_id = NULL WHERE current_org_id = $acme;
DELETE FROM users_organization WHERE id = $acme;
COMMIT;
SQL
becomes '403 org_inactive', '/orgs/acme2/launch', $k6, 'org deleted: 403';
is sredis('EXISTS', "${P}org:acme2"), 0, 'org deleted: record gone';
is scalar @{ sredis('KEYS', "${P}member:acme2:*") }, 0, 'org deleted: every member record gone';
becomes '200 ok', '/me', $k6, 'org deleted: the key itself still works';


# --- faults ---

# the bridge killed mid-stream, while single-statement commits go on
my @burst = map { [ sql_key($bob, sql_only => 1) ] } 1 .. 40;
my $bpid = fork // die;
if ($bpid == 0) {
    psql(join '', map { $_->[2] } @burst);
    POSIX::_exit(0);
}
sleep 0.1;
sync_stop('KILL');
waitpid $bpid, 0;
psql("UPDATE users_validibotapikey SET revoked_at = now() WHERE public_id = '$p6';");
sync_start();
ok wait_log(qr/streaming from slot/), 'killed and restarted: resumes the slot';
unlike sync_log(), qr/full load|full resync/, 'killed and restarted: no full load';
becomes '401 revoked', '/me', $k6, 'killed: a revocation made while down is applied';
my $bad = grep { outcome('/me', $_->[0]) ne '200 ok' } @burst;
is $bad, 0, 'killed mid-stream: every key committed around the kill works';
is sredis('HGET', "${P}key:$burst[0][1]", 'revoked_at'), '0', 'replayed records stay valid';

# SIGHUP reopens nothing, the bridge goes on
kill 'HUP', $SyncTest::SPID;
ok wait_log(qr/SIGHUP: nothing to reload/), 'SIGHUP: logged';
my ($k8, $p8) = sql_key($bob);
becomes '200 ok', '/me', $k8, 'SIGHUP: still streaming';

# status
$r = sync_run('status', '--json');
is $r->{rc}, 0, 'status --json: exit 0' or diag $r->{err};
my $js = eval { JSON::PP->new->decode($r->{out}) } || {};
is $js->{slot}, 'validibot_sync', 'status: slot';
ok $js->{slot_active}, 'status: slot active';
ok defined $js->{heartbeat_age_seconds} && $js->{heartbeat_age_seconds} >= 0, 'status: heartbeat age';
ok defined $js->{lag_bytes} && defined $js->{lag_seconds}, 'status: lag in bytes and seconds';
is $js->{records}{key}, scalar @{ sredis('KEYS', "${P}key:*") }, 'status: records per kind';
$r = sync_run('status');
like $r->{out}, qr/^heartbeat age: +[\d.]+ s$/m, 'status: text form';

# Redis restarted empty: the bridge notices and reloads by itself
sredis_stop();
sredis_start();
ok wait_log(qr/state in Redis is gone|no bridge state/), 'Redis restarted empty: noticed';
becomes '200 ok', '/me', $k8, 'Redis restarted empty: reloaded, keys work again';
becomes '401 revoked', '/me', $k6, 'Redis restarted empty: revoked stays revoked';

# the operator drops the slot while the bridge is stopped
is sync_stop('TERM'), 0, 'SIGTERM: exit 0';
like sync_log(), qr/stopped/, 'SIGTERM: logged';
psql("SELECT pg_drop_replication_slot('validibot_sync');");
psql("UPDATE users_validibotapikey SET revoked_at = now() WHERE public_id = '$p8';");
sync_start();
ok wait_log(qr/slot "validibot_sync" does not exist.*full resync/), 'slot dropped: full resync';
becomes '401 revoked', '/me', $k8, 'slot dropped: the change made meanwhile is applied';

# PostgreSQL restarted: reconnects
my ($k9, $p9) = sql_key($bob);
becomes '200 ok', '/me', $k9, 'key 9 works';
pg_restart();
psql("UPDATE users_validibotapikey SET revoked_at = now() WHERE public_id = '$p9';");
becomes '401 revoked', '/me', $k9, 'PostgreSQL restarted: the bridge reconnected and applies';
like sync_log(), qr/reconnecting/, 'PostgreSQL restarted: logged';

# resync on request
$r = sync_run('resync');
is $r->{rc}, 0, 'resync: exit 0';
ok wait_log(qr/resync requested.*generation \S+ ready/s), 'resync: the running bridge reloads';

# TRUNCATE: a full resync
my ($k10, $p10) = sql_key($bob);
becomes '200 ok', '/me', $k10, 'key 10 works';
psql('TRUNCATE users_validibotapikey;');
ok wait_log(qr/TRUNCATE of a mirrored table: full resync/), 'TRUNCATE: logged';
becomes '401 invalid', '/me', $k10, 'TRUNCATE: keys are gone at the gateway';
my ($k11, $p11) = sql_key($bob);
becomes '200 ok', '/me', $k11, 'after TRUNCATE: a new key works';

# the bridge stopped: with validibot_sync_max_lag the gateway fails closed
is sync_stop('TERM'), 0, 'stopped again';
becomes '503 store_error', '/me', $k11, 'bridge down past validibot_sync_max_lag: 503';
sync_start();
becomes '200 ok', '/me', $k11, 'bridge back: 200 again';

# idle: keepalives confirm the position, the slot holds no WAL back
psql('CREATE TABLE unrelated (x int); INSERT INTO unrelated SELECT generate_series(1, 1000);');
my $caught = eventually { sql_one("SELECT pg_current_wal_lsn() - confirmed_flush_lsn "
    . "FROM pg_replication_slots WHERE slot_name = 'validibot_sync'") <= 0 } 20;
ok $caught, 'an idle bridge confirms the position on keepalives';

done_testing;
