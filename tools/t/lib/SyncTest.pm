package SyncTest;

# Helpers for the validibot-sync tests (tools/t/9*-sync*.t): a private
# PostgreSQL 15 cluster (initdb in a temporary directory, as an
# unprivileged user: "nobody" when the tests run as root, as CI does),
# psql, a redis-server of its own that a test may restart empty, the
# bridge, and nginx with the module.  Everything started here is stopped
# at the end.

use strict;
use warnings;

use Exporter 'import';
no warnings 'exec';     # exec, then _exit if it failed
use File::Temp qw(tempdir);
use HTTP::Tiny;
use POSIX ();
use Time::HiRes qw(sleep time);
use VTTest qw(free_port write_file redis_on validibot_digest digest_key
              digest_file);

our @EXPORT = qw(pg_available pg_start pg_stop pg_restart psql sql_one
                 pg_conninfo
                 sredis sredis_port sredis_start sredis_stop
                 sync_bin sync_start sync_stop sync_wait sync_run sync_log
                 wait_log eventually nginx_start get new_key walsender_pid
                 sql_user sql_org sql_member sql_key $D $PREFIX);

our $D = tempdir('vs-test-XXXXXX', TMPDIR => 1, CLEANUP => 1);
our $PREFIX = "vs$$:";
chmod 0755, $D;

my $PGBIN = '/usr/lib/postgresql/15/bin';
my ($PGPORT, $PGUSER, $PGDATA);
my ($RPORT, $RPID);
our ($SPID, $SLOG);
my $NPID;
my $LOGN = 0;

sub pg_available { -x "$PGBIN/initdb" && -x "$PGBIN/pg_ctl" }

sub sync_bin {
    my $b = $ENV{VALIDIBOT_SYNC_BIN};
    return $b if $b;
    my $here = __FILE__;
    $here =~ s{/[^/]+/[^/]+$}{};
    return "$here/../../build/validibot-sync";
}

# runs a command as the cluster's owner
sub _as_owner {
    my @cmd = @_;
    return $< == 0 ? ('runuser', '-u', $PGUSER, '--', @cmd) : @cmd;
}

sub _run {
    my @cmd = @_;
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        open STDOUT, '>>', "$D/pg.out";
        open STDERR, '>&', \*STDOUT;
        exec @cmd;
        POSIX::_exit(127);
    }
    waitpid $pid, 0;
    return $? >> 8;
}

# pg_start(setting => value, ...): extra postgresql.conf lines (they win)
sub pg_start {
    my (%extra) = @_;
    $PGUSER = $< == 0 ? 'nobody' : getpwuid($<);
    $PGPORT = free_port();
    $PGDATA = "$D/pgdata";

    if ($< == 0) {
        my (undef, undef, $uid, $gid) = getpwnam($PGUSER)
            or die "no user $PGUSER";
        mkdir $PGDATA;
        chown $uid, $gid, $PGDATA;
    }

    _run(_as_owner("$PGBIN/initdb", '-D', $PGDATA, '-A', 'trust',
                   '-U', 'postgres', '--no-sync', '-E', 'UTF8'))
        == 0 or die "initdb failed: see $D/pg.out\n" . `cat $D/pg.out`;

    open my $fh, '>>', "$PGDATA/postgresql.conf" or die;
    print $fh <<"CONF";
listen_addresses = '127.0.0.1'
port = $PGPORT
unix_socket_directories = '$PGDATA'
wal_level = logical
max_wal_senders = 8
max_replication_slots = 8
logical_decoding_work_mem = 64kB
fsync = off
full_page_writes = off
synchronous_commit = off
shared_buffers = 32MB
CONF
    print $fh "$_ = $extra{$_}\n" for sort keys %extra;
    close $fh;

    return pg_ctl('start');
}

sub pg_ctl {
    my ($what) = @_;
    my $rc = _run(_as_owner("$PGBIN/pg_ctl", '-D', $PGDATA, '-w', '-t', '30',
                            '-m', 'fast', '-l', "$PGDATA/log", $what));
    die "pg_ctl $what failed\n" . `tail -20 $PGDATA/log` if $rc;
    return 1;
}

sub pg_stop { pg_ctl('stop') if $PGDATA && -f "$PGDATA/postmaster.pid" }
sub pg_restart { pg_ctl('restart') }

sub pg_port { $PGPORT }

sub pg_conninfo {
    my ($db, $user) = @_;
    return "postgresql://" . ($user // 'postgres') . "\@127.0.0.1:$PGPORT/"
        . ($db // 'validibot');
}

# the bridge's connection string (default: the superuser's)
our $SYNC_PG;

# psql: returns stdout (unaligned, tuples only); dies on an error unless
# {ok_fail => 1}, then returns (out, err, rc)
sub psql {
    my $opt = (@_ && ref $_[-1] eq 'HASH') ? pop : {};
    my ($sql, $db) = @_;
    my $n = ++$LOGN;
    write_file("$D/q$n.sql", $sql);
    my $pid = fork // die;
    if ($pid == 0) {
        open STDOUT, '>', "$D/q$n.out";
        open STDERR, '>', "$D/q$n.err";
        exec "$PGBIN/psql", '-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1',
            '-d', pg_conninfo($db), '-f', "$D/q$n.sql";
        POSIX::_exit(127);
    }
    waitpid $pid, 0;
    my $rc = $? >> 8;
    my $out = do { local (@ARGV, $/) = ("$D/q$n.out"); <> } // '';
    my $err = do { local (@ARGV, $/) = ("$D/q$n.err"); <> } // '';
    return ($out, $err, $rc) if $opt->{ok_fail};
    die "psql failed ($rc): $err\nSQL: $sql\n" if $rc;
    return $out;
}

sub sql_one {
    my $out = psql(@_);
    chomp $out;
    return $out;
}

# --- Validibot's writes, with every NOT NULL column Django fills ---

sub sql_user {
    my ($username, %o) = @_;
    my $su = $o{superuser} ? 'true' : 'false';
    my $name = $o{name} // ucfirst $username;
    return sql_one(<<"SQL");
INSERT INTO users_user (password, is_superuser, username, email, is_staff,
    is_active, date_joined, name, job_title, company, location, timezone, bio)
VALUES ('!', $su, '$username', '$username\@example.com', false, true, now(),
    '$name', '', '', '', '', '') RETURNING id;
SQL
}

sub sql_org {
    my ($slug, $name) = @_;
    $name //= ucfirst $slug;
    return sql_one(<<"SQL");
INSERT INTO users_organization (created, modified, name, slug, is_personal,
    allow_authors_to_adjust_access, mcp_allowed, workflow_visibility_cap,
    x402_allowed)
VALUES (now(), now(), '$name', '$slug', false, false, false, 'ALL_USERS',
    false) RETURNING id;
SQL
}

sub sql_member {
    my ($uid, $oid, @roles) = @_;
    my $codes = join ',', map { "'$_'" } @roles;
    my $mid = sql_one(<<"SQL");
INSERT INTO users_membership (created, modified, is_active, org_id, user_id)
VALUES (now(), now(), true, $oid, $uid) RETURNING id;
SQL
    psql(<<"SQL") if @roles;
INSERT INTO users_membershiprole (membership_id, role_id)
SELECT $mid, id FROM users_role WHERE code IN ($codes);
SQL
    return $mid;
}

sub _hex { join '', map { sprintf '%02x', int rand 256 } 1 .. $_[0] }

# a new key's parts: (token, public id, secret digest)
sub new_key {
    my ($pid, $secret) = (_hex(16), _hex(32));
    return ("vbk_1_${pid}_$secret", $pid,
            validibot_digest(digest_key(1), $pid, $secret, 1));
}

# the INSERT Validibot's issue_key makes; returns (token, public id)
sub sql_key {
    my ($uid, %o) = @_;
    my ($tok, $pid, $dig) = new_key();
    my $fv = $o{format_version} // 1;
    my $from = $o{rotated_from}
        ? "(SELECT id FROM users_validibotapikey WHERE public_id = '$o{rotated_from}')"
        : 'NULL';
    my $sql = <<"SQL";
INSERT INTO users_validibotapikey (created, modified, id, public_id, label,
    format_version, digest_version, secret_digest, expires_at, revoked_at,
    last_used_at, rotated_from_id, user_id)
VALUES (now(), now(), gen_random_uuid(), '$pid', 'Personal API key', $fv, 1,
    '$dig', now() + interval '365 days', NULL, NULL, $from, $uid);
SQL
    return $o{sql_only} ? ($tok, $pid, $sql) : do { psql($sql); ($tok, $pid) };
}

# --- a Redis of our own, restartable empty ---

sub sredis_port { $RPORT //= free_port() }

sub sredis_start {
    my $port = sredis_port();
    $RPID = fork // die;
    if ($RPID == 0) {
        open STDOUT, '>>', "$D/redis.log";
        open STDERR, '>&', \*STDOUT;
        exec 'redis-server', '--port', $port, '--bind', '127.0.0.1',
            '--save', '', '--appendonly', 'no', '--daemonize', 'no';
        POSIX::_exit(127);
    }
    for (1 .. 200) {
        my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                      PeerPort => $port, Proto => 'tcp');
        if ($s) { close $s; return 1 }
        sleep 0.025;
    }
    die "redis-server on $port did not start";
}

sub sredis_stop {
    return unless $RPID;
    kill 'TERM', $RPID;
    waitpid $RPID, 0;
    undef $RPID;
}

sub sredis { redis_on(sredis_port(), @_) }

# --- the bridge ---

sub _sync_env {
    return (VALIDIBOT_SYNC_PG => $SYNC_PG // pg_conninfo(),
            VALIDIBOT_REDIS_URL => 'redis://127.0.0.1:' . sredis_port(),
            VALIDIBOT_REDIS_PREFIX => $PREFIX);
}

# runs a command to its end: {rc, out, err}
sub sync_run {
    my @args = @_;
    my $n = ++$LOGN;
    my %env = _sync_env();
    my $pid = fork // die;
    if ($pid == 0) {
        $ENV{$_} = $env{$_} for keys %env;
        open STDOUT, '>', "$D/s$n.out";
        open STDERR, '>', "$D/s$n.err";
        exec sync_bin(), @args;
        POSIX::_exit(127);
    }
    waitpid $pid, 0;
    my %r = (rc => $? >> 8);
    $r{out} = do { local (@ARGV, $/) = ("$D/s$n.out"); <> } // '';
    $r{err} = do { local (@ARGV, $/) = ("$D/s$n.err"); <> } // '';
    return \%r;
}

sub sync_start {
    $SLOG = "$D/sync" . ++$LOGN . ".log";
    my %env = _sync_env();
    $SPID = fork // die;
    if ($SPID == 0) {
        $ENV{$_} = $env{$_} for keys %env;
        open STDOUT, '>', $SLOG;
        open STDERR, '>&', \*STDOUT;
        exec sync_bin(), 'run';
        POSIX::_exit(127);
    }
    return $SPID;
}

# stops it: TERM (clean) or KILL; returns the exit status
sub sync_stop {
    my ($sig) = @_;
    return undef unless $SPID;
    kill $sig // 'TERM', $SPID;
    waitpid $SPID, 0;
    my $st = $?;
    undef $SPID;
    return $st;
}

# waits for the bridge to exit by itself; its exit code (undef: still up)
sub sync_wait {
    my ($secs) = @_;
    return undef unless $SPID;
    for (1 .. ($secs // 10) * 50) {
        if (waitpid($SPID, POSIX::WNOHANG()) == $SPID) {
            undef $SPID;
            return $? >> 8;
        }
        sleep 0.02;
    }
    return undef;
}

# the walsender serving the bridge
sub walsender_pid {
    return sql_one("SELECT pid FROM pg_stat_replication "
                   . "WHERE application_name = 'validibot-sync'");
}

sub sync_log {
    return '' unless $SLOG && -f $SLOG;
    return do { local (@ARGV, $/) = ($SLOG); <> } // '';
}

sub eventually(&;$) {
    my ($cond, $secs) = @_;
    my $end = time + ($secs // 10);
    while (time < $end) {
        return 1 if $cond->();
        sleep 0.02;
    }
    return $cond->() ? 1 : 0;
}

sub wait_log {
    my ($re, $secs) = @_;
    return eventually { sync_log() =~ $re } $secs // 15;
}

# --- nginx with the module ---

my $NPORT;

sub nginx_start {
    my ($so, $nginx) = @_;
    my $port = free_port();
    my $uport = free_port();
    my $rport = sredis_port();
    mkdir "$D/nginx";
    mkdir "$D/nginx/logs";

    write_file("$D/nginx/nginx.conf", <<"CONF");
load_module $so;
worker_processes 1;
daemon off;
master_process on;
error_log $D/nginx/logs/error.log info;
pid $D/nginx/logs/nginx.pid;
events { worker_connections 256; }
http {
    access_log off;
    validibot_redis        redis://127.0.0.1:$rport;
    validibot_redis_prefix $PREFIX;
    validibot_digest_key   1 ${\ digest_file(1)};
    validibot_sync_max_lag 3s;

    server {
        listen 127.0.0.1:$uport;
        validibot_identity_headers off;
        location / {
            return 200 "user=\$http_x_validibot_user roles=\$http_x_validibot_roles\\n";
        }
    }

    server {
        listen 127.0.0.1:$port;
        validibot_auth "test";
        add_header X-Auth-Status \$validibot_auth_status always;

        location = /me { proxy_pass http://127.0.0.1:$uport; }

        location ~ ^/orgs/(?<org>[^/]+)/launch\$ {
            validibot_org \$org;
            validibot_require workflow_launch;
            proxy_pass http://127.0.0.1:$uport;
        }

        location ~ ^/orgs/(?<org>[^/]+)/ {
            validibot_org \$org;
            proxy_pass http://127.0.0.1:$uport;
        }
    }
}
CONF

    $NPID = fork // die;
    if ($NPID == 0) {
        open STDERR, '>', "$D/nginx/logs/stderr.log";
        exec $nginx, '-p', "$D/nginx/", '-c', "$D/nginx/nginx.conf",
            '-e', "$D/nginx/logs/error.log";
        POSIX::_exit(127);
    }
    $NPORT = $port;

    eventually { (get('/me'))[0] == 401 } 10;
    return $port;
}

my $HTTP = HTTP::Tiny->new(timeout => 5);

# (status, X-Auth-Status, body)
sub get {
    my ($path, $key) = @_;
    my $res = $HTTP->get("http://127.0.0.1:$NPORT$path",
        { headers => $key ? { Authorization => "Bearer $key" } : {} });
    return ($res->{status}, $res->{headers}{'x-auth-status'} // '',
            $res->{content});
}

END {
    my $rc = $?;
    sync_stop('KILL') if $SPID;
    if ($NPID) {
        kill 'QUIT', $NPID;
        waitpid $NPID, 0;
    }
    sredis_stop();
    eval { pg_stop() };
    $? = $rc;
}

1;
