# Through nginx with the module: what validibot-token writes is what the
# module enforces, from the very next request.  Needs the module
# ($VALIDIBOT_MODULE_SO, default build/ngx_http_validibot_module.so) and
# nginx ($TEST_NGINX_BINARY, default /usr/sbin/nginx).

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use HTTP::Tiny;
use Time::HiRes qw(sleep);
use VTTest;

my $so = $ENV{VALIDIBOT_MODULE_SO} || "$FindBin::Bin/../../build/ngx_http_validibot_module.so";
my $nginx = $ENV{TEST_NGINX_BINARY} || '/usr/sbin/nginx';

plan skip_all => "module not built ($so): make module" unless -f $so;
plan skip_all => "no nginx at $nginx" unless -x $nginx;

my $P = prefix();
my $D = tmpdir();
my $rport = redis_port();
my $port = free_port();
my $uport = free_port();

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
    validibot_redis_prefix $P;
    validibot_digest_key   1 ${\ digest_file(1)};
    validibot_digest_key   2 ${\ digest_file(2)};

    server {
        listen 127.0.0.1:$uport;
        validibot_identity_headers off;
        location / {
            return 200 "user=\$http_x_validibot_user org=\$http_x_validibot_org roles=\$http_x_validibot_roles key=\$http_x_validibot_key_id\\n";
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

my $t = `$nginx -t -p $D/nginx/ -c $D/nginx/nginx.conf -e $D/nginx/logs/error.log 2>&1`;
is $?, 0, 'nginx -t' or diag $t;

my $npid = fork // die;
if ($npid == 0) {
    open STDERR, '>', "$D/nginx/logs/stderr.log";
    exec $nginx, '-p', "$D/nginx/", '-c', "$D/nginx/nginx.conf", '-e', "$D/nginx/logs/error.log";
    exit 127;
}

END {
    if ($npid) {
        kill 'QUIT', $npid;
        waitpid $npid, 0;
    }
}

my $http = HTTP::Tiny->new(timeout => 5);

sub get {
    my ($path, $key) = @_;
    my $res = $http->get("http://127.0.0.1:$port$path",
                         { headers => $key ? { Authorization => "Bearer $key" } : {} });
    return ($res->{status}, $res->{headers}{'x-auth-status'} // '', $res->{content});
}

for (1 .. 100) {
    my ($s) = get('/me');
    last if $s == 401;
    sleep 0.05;
}

my ($s, $st, $body);

($s, $st) = get('/me');
is "$s $st", '401 missing', 'nginx is up: no key, 401';

sub create {
    my $r = vt('create', @_);
    die "create: $r->{err}" if $r->{rc};
    return $r->{out} =~ s/\n//r;
}

vt('user', 'add', 'alice');
vt('org', 'add', 'acme');
vt('member', 'grant', 'acme', 'alice', 'executor');

# --- a created key is accepted ---

my $k1 = create('--user', 'alice');
my ($p1) = key_of($k1);
($s, $st, $body) = get('/me', $k1);
is "$s $st", '200 ok', 'created key: 200';
is $body, "user=alice org= roles= key=$p1\n", 'created key: identity reaches upstream';

($s, $st, $body) = get('/orgs/acme/launch', $k1);
is "$s $st", '200 ok', 'created key, executor launches: 200';
is $body, "user=alice org=acme roles=executor key=$p1\n", 'roles reach upstream';

# --- revoked: refused by the next request ---

vt('revoke', $p1);
($s, $st) = get('/me', $k1);
is "$s $st", '401 revoked', 'revoked key: the next request gets 401';

# --- deleted ---

my $k2 = create('--user', 'alice');
my ($p2) = key_of($k2);
is((get('/me', $k2))[0], 200, 'second key works');
vt('delete', $p2);
($s, $st) = get('/me', $k2);
is "$s $st", '401 invalid', 'deleted key: 401';

# --- a rotated pair: both work until the overlap ends ---

my $k3 = create('--user', 'alice');
my ($p3) = key_of($k3);
my $k4 = vt('rotate', $p3, '--overlap', '3s')->{out} =~ s/\n//r;
my ($p4) = key_of($k4);
($s, $st, $body) = get('/me', $k3);
is "$s $st", '200 ok', 'rotated: old key works during the overlap';
($s, $st, $body) = get('/me', $k4);
is "$s $st", '200 ok', 'rotated: new key works';
is $body, "user=alice org= roles= key=$p4\n", 'rotated: new key has the same user';

my $end = redis('HGET', "${P}key:$p3", 'expires_at');
sleep 0.2 while time < $end + 1;
($s, $st) = get('/me', $k3);
is "$s $st", '401 expired', 'rotated: old key refused once the overlap ended';
($s, $st) = get('/me', $k4);
is "$s $st", '200 ok', 'rotated: new key still works';

# --- users, orgs and roles ---

vt('user', 'deactivate', 'alice');
is join(' ', (get('/me', $k4))[0, 1]), '401 user_inactive', 'user deactivate: 401';
vt('user', 'activate', 'alice');
is join(' ', (get('/me', $k4))[0, 1]), '200 ok', 'user activate: 200 again';

vt('member', 'revoke', 'acme', 'alice', 'executor');
vt('member', 'grant', 'acme', 'alice', 'author');
is join(' ', (get('/orgs/acme/launch', $k4))[0, 1]), '403 forbidden', 'author cannot launch: 403';
is join(' ', (get('/orgs/acme/workflows/', $k4))[0, 1]), '200 ok', 'author is a member: 200';
vt('member', 'grant', 'acme', 'alice', 'admin');
is join(' ', (get('/orgs/acme/launch', $k4))[0, 1]), '200 ok', 'granted admin: launches';

vt('org', 'suspend', 'acme');
is join(' ', (get('/orgs/acme/launch', $k4))[0, 1]), '403 org_inactive', 'org suspend: 403';
vt('org', 'activate', 'acme');
is join(' ', (get('/orgs/acme/launch', $k4))[0, 1]), '200 ok', 'org activate: 200';
vt('org', 'delete', 'acme');
is join(' ', (get('/orgs/acme/launch', $k4))[0, 1]), '403 org_inactive', 'org delete: 403';
vt('org', 'activate', 'acme');

vt('member', 'remove', 'acme', 'alice');
is join(' ', (get('/orgs/acme/workflows/', $k4))[0, 1]), '403 not_member', 'member remove: 403';

# --- digest version 2 and imported keys ---

my $k5 = create('--user', 'alice', '--digest-version', '2', '--digest-key', '2=' . digest_file(2));
is join(' ', (get('/me', $k5))[0, 1]), '200 ok', 'digest version 2 key: 200';

my ($ip, $is) = (join('', map { sprintf '%02x', int rand 256 } 1 .. 16),
                 join('', map { sprintf '%02x', int rand 256 } 1 .. 32));
my $dig = validibot_digest(digest_key(1), $ip, $is, 1);
write_file("$D/imp.jsonl", qq({"public_id": "$ip", "secret_digest": "$dig", "user": "alice", "created": "2025-11-24T16:00:00Z"}\n));
vt('import', '--jsonl', "$D/imp.jsonl");
is join(' ', (get('/me', "vbk_1_${ip}_$is"))[0, 1]), '200 ok', 'imported key: 200';

# --- verify agrees with the module ---

for my $k ($k1, $k2, $k3, $k4, $k5, "vbk_1_${ip}_$is", 'junk') {
    my (undef, $mod) = get('/me', $k);
    my $v = vt('verify', '--json', '--digest-key', '2=' . digest_file(2), { stdin => $k });
    is $v->{json}{status}, $mod, "verify says what the module says: $mod";
}

# --- user remove: every key of the user refused ---

vt('user', 'remove', 'alice');
is join(' ', (get('/me', $k4))[0, 1]), '401 invalid', 'user remove: keys gone, 401';

my $log = do { local (@ARGV, $/) = "$D/nginx/logs/error.log"; <> };
unlike $log, qr/\[(alert|crit|emerg)\]/, 'no alert in the error log';
for my $k ($k1, $k3, $k4, $k5) {
    my (undef, $sec) = key_of($k);
    unlike $log, qr/$sec/, 'no secret in the error log';
}

done_testing;
