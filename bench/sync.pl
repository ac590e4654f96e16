#!/usr/bin/perl
# `make bench-sync`: how fast a change in Validibot's PostgreSQL reaches
# the gateway through validibot-sync (docs/sync.md has the method and the
# latest figures).  Not part of `make test`.
#
#   1. initial load: SYNC_BENCH_USERS users, as many keys and memberships
#      (default 100,000 each), from a fresh start to "generation ready"
#   2. revocations under request load: wrk keeps nginx busy with a valid
#      key while SYNC_BENCH_REVOCATIONS keys (default 1,000) are revoked
#      one transaction each; for each, the time from COMMIT returning to
#      the first 401 the gateway gives for that key
#   3. SYNC_BENCH_BIG_ROUNDS rounds (default 10) of: an unrelated
#      SYNC_BENCH_BIG_ROWS-row transaction (default 1,000,000) commits in
#      another session, then a key is revoked at once: the time from that
#      revocation's COMMIT to the first 401 (the fast path: a NOTIFY at
#      COMMIT), and to the stream's own write of it (the walsender
#      decodes the big transaction first); with the walsender's CPU time
#      and pg_stat_replication_slots' spill and stream counters
#   4. the bridge's RSS (VmRSS, VmHWM)
#
# A private PostgreSQL 15 cluster, redis-server and nginx, on loopback.
# Results: a markdown table on stdout and in $SYNC_BENCH_RESULTS
# (default build/bench/sync.md).

use strict;
use warnings;
no warnings 'exec';
use FindBin;
use lib "$FindBin::Bin/../tools/t/lib";
use IPC::Open2;
use POSIX ();
use Time::HiRes qw(time sleep);
use VTTest qw(write_file);
use SyncTest;

my $top = "$FindBin::Bin/..";
my $so = $ENV{MODULE_SO} || "$top/build/ngx_http_validibot_module.so";
my $nginx = $ENV{NGINX_BIN} || '/usr/sbin/nginx';
my $N = $ENV{SYNC_BENCH_USERS} // 100000;
my $REV = $ENV{SYNC_BENCH_REVOCATIONS} // 1000;
my $BIG = $ENV{SYNC_BENCH_BIG_ROWS} // 1000000;
my $BIG_REV = $ENV{SYNC_BENCH_BIG_ROUNDS} // 10;
my $WORK_MEM = $ENV{SYNC_BENCH_WORK_MEM} // '64MB';
my $out = $ENV{SYNC_BENCH_RESULTS} || "$top/build/bench/sync.md";
my $P = $PREFIX;

die "module not built: $so\n" unless -f $so;
die "validibot-sync not built\n" unless -x sync_bin();

sub say { print STDERR "sync-bench: @_\n" }

# stopped early: SyncTest's END still stops PostgreSQL, Redis, nginx
$SIG{TERM} = $SIG{INT} = sub { exit 1 };

# as a production database would run: the default decoding memory
# (64MB; SYNC_BENCH_WORK_MEM) and synchronous commits; fsync off (the
# disk is not measured)
pg_start(logical_decoding_work_mem => $WORK_MEM, synchronous_commit => 'on');
psql('CREATE DATABASE validibot;', 'postgres');
psql(do { local (@ARGV, $/) = ("$top/tools/t/sync/validibot-schema.sql"); <> });
psql('CREATE TABLE unrelated (id bigint, payload text);');
sredis_start();
my $r = sync_run('setup');   # with the fast path's triggers
die "setup failed: $r->{err}" if $r->{rc};

# --- 1. initial load ---

say "seeding $N users, keys and memberships";
my $orgs = int($N / 100) || 1;
psql(<<"SQL");
INSERT INTO users_organization (created, modified, name, slug, is_personal,
    allow_authors_to_adjust_access, mcp_allowed, workflow_visibility_cap,
    x402_allowed)
SELECT now(), now(), 'Org ' || g, 'org' || g, false, false, false,
    'ALL_USERS', false FROM generate_series(1, $orgs) g;
INSERT INTO users_user (password, is_superuser, username, email, is_staff,
    is_active, date_joined, name, job_title, company, location, timezone, bio)
SELECT '!', false, 'u' || g, 'u' || g || '\@example.com', false, true, now(),
    'User ' || g, '', '', '', '', '' FROM generate_series(1, $N) g;
INSERT INTO users_membership (created, modified, is_active, org_id, user_id)
SELECT now(), now(), true, 1 + (u.id % $orgs), u.id FROM users_user u;
INSERT INTO users_membershiprole (membership_id, role_id)
SELECT m.id, r.id FROM users_membership m JOIN users_role r
    ON r.code = CASE WHEN m.id % 3 = 0 THEN 'AUTHOR' ELSE 'EXECUTOR' END;
INSERT INTO users_validibotapikey (created, modified, id, public_id, label,
    format_version, digest_version, secret_digest, expires_at, revoked_at,
    last_used_at, rotated_from_id, user_id)
SELECT now(), now(), gen_random_uuid(), md5('pub' || u.id), 'Personal API key',
    1, 1, md5('dig' || u.id) || md5('x' || u.id), now() + interval '365 days',
    NULL, NULL, NULL, u.id FROM users_user u;
ANALYZE;
SQL

my $t0 = time;
my $spid = sync_start();
SyncTest::wait_log(qr/generation \S+ ready/, 600) or die "no load:\n" . sync_log();
my $load_s = time - $t0;
my ($rows, $ms) = sync_log() =~ /loaded (\d+) rows in (\d+) ms/;
SyncTest::wait_log(qr/streaming from slot/, 60);
my $keys = scalar @{ sredis('KEYS', "${P}key:*") };
say sprintf "initial load: %.2f s from start (%d rows read and written in %d ms); %d key records",
    $load_s, $rows, $ms, $keys;
my %rss_load = rss($spid);

# --- the gateway, the keys to revoke, the load ---

my $port = nginx_start($so, $nginx);
my $alice = sql_user('benchalice');
my ($lk) = sql_key($alice);
my @rk = map { [ (sql_key($alice, sql_only => 1))[0, 1, 2] ] } 1 .. $REV + $BIG_REV;
psql(join '', map { $_->[2] } @rk);
SyncTest::eventually(sub { (get('/me', $rk[-1][0]))[0] == 200 }, 30)
    or die "keys not mirrored";

my $wrk_pid = start_wrk($port, $lk);

# a psql session kept open: a statement, then a marker when it is done
my ($pout, $pin);
my $ppid = open2($pout, $pin, '/usr/lib/postgresql/15/bin/psql', '-X', '-q',
                 '-A', '-t', '-d', pg_conninfo());

sub commit_sql {
    my ($sql) = @_;
    print $pin "$sql\n\\echo __done__\n";
    $pin->flush;
    while (my $l = <$pout>) {
        return time if $l =~ /^__done__/;
    }
    die "psql went away";
}

my $http = HTTP::Tiny->new(timeout => 5, keep_alive => 1);

sub refused_after {
    my ($key) = @_;
    for (;;) {
        my $res = $http->get("http://127.0.0.1:$port/me",
                             { headers => { Authorization => "Bearer $key" } });
        return time if $res->{status} == 401;
        die "unexpected $res->{status}" unless $res->{status} == 200;
    }
}

sub revoke_one {
    my ($k) = @_;
    my $tc = commit_sql("UPDATE users_validibotapikey SET revoked_at = now(), "
                        . "modified = now() WHERE public_id = '$k->[1]';");
    return (refused_after($k->[0]) - $tc) * 1000;
}

# (COMMIT -> first 401, COMMIT -> the stream wrote it), in ms: a record
# the fast path marked is the stream's once the mark is gone
sub revoke_both {
    my ($k) = @_;
    my $tc = commit_sql("UPDATE users_validibotapikey SET revoked_at = now(), "
                        . "modified = now() WHERE public_id = '$k->[1]';");
    my $t401 = refused_after($k->[0]);
    my $ts = $t401;
    while (sredis('HEXISTS', "${P}key:$k->[1]", 'sync_fast')) {
        sleep 0.001;
        $ts = time;
    }
    return (($t401 - $tc) * 1000, ($ts - $tc) * 1000);
}

sub walsender_cpu {
    my $pid = walsender_pid();
    open my $fh, '<', "/proc/$pid/stat" or return 0;
    my @f = split ' ', scalar <$fh>;
    return ($f[13] + $f[14]) / POSIX::sysconf(POSIX::_SC_CLK_TCK());
}

sub slot_stats {
    return split ' ', sql_one("SELECT spill_txns || ' ' || spill_bytes || ' ' "
        . "|| stream_txns || ' ' || stream_bytes FROM pg_stat_replication_slots "
        . "WHERE slot_name = 'validibot_sync'");
}

# --- 2. revocations under load ---

say "revoking $REV keys under request load";
my @lat = map { revoke_one($rk[$_]) } 0 .. $REV - 1;
my $wrk_rps = stop_wrk($wrk_pid);
say sprintf "under load (%.0f req/s): p50 %.1f ms, p99 %.1f ms, max %.1f ms",
    $wrk_rps, pct(50, @lat), pct(99, @lat), pct(100, @lat);
my %rss_mid = rss($spid);
say "bridge RSS: $rss_mid{VmRSS} kB (peak $rss_mid{VmHWM} kB)";

# --- 3. the same while 1,000,000-row transactions commit ---

say "$BIG_REV rounds: a $BIG-row transaction commits, then a revocation";
$wrk_pid = start_wrk($port, $lk);
my (@blat, @bstream, @bins);
my $cpu0 = walsender_cpu();
my @ss0 = slot_stats();
for my $i (0 .. $BIG_REV - 1) {
    my $t = time;
    psql("INSERT INTO unrelated SELECT g, 'row ' || g FROM generate_series(1, $BIG) g;");
    push @bins, time - $t;
    my ($f, $st) = revoke_both($rk[$REV + $i]);
    push @blat, $f;
    push @bstream, $st;
    say sprintf "round %d: INSERT %.2f s, first 401 %.1f ms, the stream's write %.1f ms",
        $i + 1, $bins[-1], $f, $st;
    psql('TRUNCATE unrelated;');
}
my $bcpu = (walsender_cpu() - $cpu0) / ($BIG_REV || 1);
my @ss1 = slot_stats();
my @sd = map { $ss1[$_] - $ss0[$_] } 0 .. 3;
say sprintf "right after big transactions: first 401 p50 %.1f ms, p99 %.1f ms, max %.1f ms; "
    . "the stream's write p50 %.1f ms, max %.1f ms",
    pct(50, @blat), pct(99, @blat), pct(100, @blat), pct(50, @bstream), pct(100, @bstream);
say sprintf "walsender CPU %.2f s per round; slot: %d spilled (%d MB), %d streamed (%d MB)",
    $bcpu, $sd[0], $sd[1] / 1048576, $sd[2], $sd[3] / 1048576;
my $wrk_rps2 = stop_wrk($wrk_pid);

my %rss_end = rss($spid);
close $pin;
waitpid $ppid, 0;

# --- report ---

sub pct {
    my ($p, @v) = @_;
    @v = sort { $a <=> $b } @v;
    return $v[ int($p / 100 * $#v + 0.5) ];
}

my $load = `cat /proc/loadavg`;
chomp $load;
my $md = sprintf <<'MD',
| measurement | p50 | p99 | max | n |
|---|---|---|---|---|
| COMMIT → first 401, under load (%.0f req/s) | %.1f ms | %.1f ms | %.1f ms | %d |
| same, right after a %d-row transaction (%.0f req/s) | %.1f ms | %.1f ms | %.1f ms | %d |
| same, until the stream itself wrote it | %.1f ms | %.1f ms | %.1f ms | %d |

- the %d-row INSERT took %.2f s (median); the walsender used %.2f s of CPU
  per round; pg_stat_replication_slots over the rounds: %d transactions
  spilled (%d MB), %d streamed (%d MB); logical_decoding_work_mem %s

- initial load of %d users, %d keys, %d memberships (%d orgs): %.2f s from
  the bridge's start to streaming (%d rows read and written in %d ms)
- bridge RSS after the initial load: %d kB (peak %d kB); after the
  revocations: %d kB (peak %d kB)
- machine: %s; load average at the end: %s
MD
    $wrk_rps, pct(50, @lat), pct(99, @lat), pct(100, @lat), scalar @lat,
    $BIG, $wrk_rps2, pct(50, @blat), pct(99, @blat), pct(100, @blat), scalar @blat,
    pct(50, @bstream), pct(99, @bstream), pct(100, @bstream), scalar @bstream,
    $BIG, pct(50, @bins), $bcpu, $sd[0], $sd[1] / 1048576, $sd[2], $sd[3] / 1048576,
    $WORK_MEM,
    $N, $N, $N, $orgs, $load_s, $rows, $ms,
    $rss_load{VmRSS}, $rss_load{VmHWM}, $rss_end{VmRSS}, $rss_end{VmHWM},
    cpus(), $load;

print $md;
system('mkdir', '-p', (split m{/[^/]+$}, $out)[0]);
write_file($out, $md);
say "written to $out";

sub rss {
    my ($pid) = @_;
    my %r;
    open my $fh, '<', "/proc/$pid/status" or return (VmRSS => -1, VmHWM => -1);
    while (<$fh>) { $r{$1} = $2 if /^(VmRSS|VmHWM):\s+(\d+)/ }
    return %r;
}

sub cpus {
    my $n = () = `cat /proc/cpuinfo` =~ /^processor/mg;
    return "$n CPUs";
}

sub start_wrk {
    my ($port, $key) = @_;
    my $pid = fork // die;
    if ($pid == 0) {
        open STDOUT, '>', "$SyncTest::D/wrk.out";
        exec 'wrk', '-t', '1', '-c', '8', '-d', '3600s',
            '-H', "Authorization: Bearer $key", "http://127.0.0.1:$port/me";
        POSIX::_exit(127);
    }
    return [$pid, time];
}

# wrk prints its summary on SIGINT
sub stop_wrk {
    my ($w) = @_;
    kill 'INT', $w->[0];
    waitpid $w->[0], 0;
    my $o = do { local (@ARGV, $/) = ("$SyncTest::D/wrk.out"); <> } // '';
    my ($rps) = $o =~ /Requests\/sec:\s+([\d.]+)/;
    return $rps // 0;
}
