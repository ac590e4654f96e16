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

$r = sync_run('setup', '--print');
is $r->{rc}, 0, 'setup --print: exit 0';
like $r->{out}, qr/^CREATE PUBLICATION validibot_sync FOR TABLE users_user, users_organization, users_membership, users_membershiprole, users_role, users_validibotapikey;$/m,
    'setup --print: the publication';
for my $t (qw(users_organization users_membership users_membershiprole users_validibotapikey)) {
    like $r->{out}, qr/^ALTER TABLE $t REPLICA IDENTITY FULL;$/m, "setup --print: $t FULL";
}
like $r->{out}, qr/wal_level = logical/, 'setup --print: says wal_level';
like $r->{out}, qr/LOGIN REPLICATION/, 'setup --print: the role';

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
is sredis('EXISTS', "${P}sync:state"), 0, 'nothing written to Redis';

$r = sync_run('setup');
is $r->{rc}, 0, 'setup (run as the owner): exit 0' or diag $r->{err};
like $r->{err}, qr/publication "validibot_sync" exists/, 'setup: keeps the publication';
like $r->{err}, qr/ready/, 'setup: checks what it did';
is sql_one("SELECT relreplident FROM pg_class WHERE relname = 'users_validibotapikey'"), 'f',
    'setup: REPLICA IDENTITY FULL set';


done_testing;
