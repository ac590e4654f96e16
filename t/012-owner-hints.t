# Owner hints (validibot_owner_hints): after a key's first lookup a worker
# knows its owner and reads with plain pipelined commands instead of the
# script.  Every request still reads the key, the user, the org and the
# membership in one round trip, so any change applies to the very next
# request; a wrong hint costs a second lookup, never a wrong answer.
# Each response body gets the Redis commands its lookup cost appended
# (INFO commandstats, reset after each request).

use Test::Nginx::Socket 'no_plan';
use Validibot::Test;
use Time::HiRes ();

no_shuffle();
worker_connections(1024);
log_level('info');

sub setup {
    redis_flush_prefix();
    add_user(7);
    add_user(8);
    add_org('acme');
    add_org('beta');
    add_member('acme', 7, 'executor');
    add_member('beta', 7, 'author');
    add_member('acme', 8, 'author');
    make_key(seed => 'hint-seven', user => 7);
    Validibot::Test::redis_cmd('CONFIG', 'RESETSTAT');
}

our $key = make_key(seed => 'hint-seven', user => 7, write => 0);
our $id = key_public_id($key);
our $rkey = "validibot:key:$id";

# the commands Redis ran since the last call, by name
sub counts {
    Time::HiRes::sleep(0.02);
    my $s = Validibot::Test::redis_cmd('INFO', 'commandstats');
    my %c;
    $c{$1} = $2 while $s =~ /cmdstat_(\w+):calls=(\d+)/g;
    Validibot::Test::redis_cmd('CONFIG', 'RESETSTAT');
    $c{$_} //= 0 for qw(evalsha hmget hget);
    return \%c;
}

# what the lookup of the request just answered cost Redis
sub calls {
    my ($body) = @_;
    my $c = counts();
    return $body . sprintf(" evalsha=%d hmget=%d\n",
                           $c->{evalsha}, $c->{hmget});
}

# runs $actions->[i] after the response to request i (0-based); blocks
# are parsed before any runs, so each filter counts for itself
sub between {
    my ($actions) = @_;
    my $i = 0;
    return sub {
        my $body = calls($_[0]);
        my $a = $actions->[$i++];
        $a->() if $a;
        $body;
    };
}

# Sends one GET per path as HTTP/2 streams, all in one write on a new
# connection to a unix socket, and returns how the responses' statuses
# add up ("200 x30").  Frames by hand: HPACK literals without indexing
# for the request; a response status of 200 is HPACK's static entry 8.
sub h2_burst {
    my ($sock, $paths, $auth) = @_;
    require IO::Socket::UNIX;
    my $s = IO::Socket::UNIX->new(Peer => $sock) or die "h2: $sock: $!";
    my $lit = sub { pack('C C/a* C/a*', 0, @_) };
    my $frame = sub { my ($type, $flags, $id, $p) = @_;
                      substr(pack('N', length $p), 1) . pack('C C N', $type, $flags, $id) . $p };
    my $out = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" . $frame->(4, 0, 0, '');
    my $id = 1;
    for my $p (@$paths) {
        my $h = $lit->(':method', 'GET') . $lit->(':scheme', 'http')
              . $lit->(':authority', 'localhost') . $lit->(':path', $p)
              . $lit->('authorization', $auth);
        $out .= $frame->(1, 0x5, $id, $h);     # END_STREAM | END_HEADERS
        $id += 2;
    }
    print $s $out;
    my ($buf, $done, %status) = ("", 0);
    while ($done < @$paths) {
        my $n = sysread($s, $buf, 65536, length $buf);
        die "h2: connection closed after $done responses" unless $n;
        while (length $buf >= 9) {
            my ($len) = unpack('N', "\0" . substr($buf, 0, 3));
            last if length $buf < 9 + $len;
            my ($type, $flags, $sid) = unpack('C C N', substr($buf, 3, 6));
            my $p = substr($buf, 9, $len);
            substr($buf, 0, 9 + $len) = '';
            next unless $type == 1 && $sid;
            $p = substr($p, 5) if $flags & 0x20;       # PRIORITY fields
            $status{ord($p) == 0x88 ? 200 : 'other'}++;
            $done++;
        }
    }
    close $s;
    return join ',', map { "$_ x$status{$_}" } sort keys %status;
}

our $HttpConfig = <<'_EOC_';
    validibot_redis redis://127.0.0.1:$TEST_NGINX_REDIS_PORT/0;
    validibot_redis_connections 1;
    validibot_digest_key 1 $TEST_NGINX_DIGEST_KEY_FILE_V1;

    server {
        listen unix:$TEST_NGINX_HTML_DIR/upstream.sock;
        validibot_identity_headers off;
        location / {
            return 200 "user=$http_x_validibot_user org=$http_x_validibot_org roles=$http_x_validibot_roles";
        }
    }
_EOC_

our $Config = <<'_EOC_';
    location ~ ^/o/(?<org>[^/]+)/ {
        validibot_auth API;
        validibot_org $org;
        validibot_require workflow_view;
        proxy_pass http://unix:$TEST_NGINX_HTML_DIR/upstream.sock;
    }

    location /plain {
        validibot_auth API;
        proxy_pass http://unix:$TEST_NGINX_HTML_DIR/upstream.sock;
    }
_EOC_

our $Auth = "Authorization: Bearer $key";
our $Denied = '{"detail":"Invalid API key","code":"authentication_failed"}';

run_tests();

__DATA__

=== TEST 1: the first lookup runs the script; the next ones read with plain commands, same answer
--- init
::setup();
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
["GET /o/acme/x", "GET /o/acme/x", "GET /o/beta/x", "GET /plain"]
--- more_headers eval
[$::Auth, $::Auth, $::Auth, $::Auth]
--- response_body_filters eval
::between([])
--- response_body eval
["user=7 org=acme roles=executor evalsha=1 hmget=3\n",
 "user=7 org=acme roles=executor evalsha=0 hmget=3\n",
 "user=7 org=beta roles=author evalsha=0 hmget=3\n",
 "user=7 org= roles= evalsha=0 hmget=2\n"]



=== TEST 2: validibot_owner_hints off: the script every time
--- init
::setup();
--- http_config eval: $::HttpConfig . "validibot_owner_hints off;"
--- config eval: $::Config
--- request eval
["GET /o/acme/x", "GET /o/acme/x", "GET /plain"]
--- more_headers eval
[$::Auth, $::Auth, $::Auth]
--- response_body_filters eval
::between([])
--- response_body eval
["user=7 org=acme roles=executor evalsha=1 hmget=3\n",
 "user=7 org=acme roles=executor evalsha=1 hmget=3\n",
 "user=7 org= roles= evalsha=1 hmget=2\n"]



=== TEST 3: a hinted key revoked: refused by the next request
--- init
::setup();
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
["GET /o/acme/x", "GET /o/acme/x", "GET /o/acme/x"]
--- more_headers eval
[$::Auth, $::Auth, $::Auth]
--- response_body_filters eval
::between([undef,
           sub { Validibot::Test::redis_cmd('HSET', $::rkey, 'revoked_at', time() - 1) }])
--- error_code eval
[200, 200, 401]
--- response_body eval
["user=7 org=acme roles=executor evalsha=1 hmget=3\n",
 "user=7 org=acme roles=executor evalsha=0 hmget=3\n",
 "$::Denied evalsha=0 hmget=3\n"]



=== TEST 4: a hinted key's user deactivated, then its role taken, then its org suspended
--- init
::setup();
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
["GET /o/acme/x", "GET /o/acme/x", "GET /o/acme/x", "GET /o/acme/x",
 "GET /o/acme/x", "GET /o/acme/x"]
--- more_headers eval
[($::Auth) x 6]
--- response_body_filters eval
::between([undef,
           sub { Validibot::Test::add_user(7, is_active => 0) },
           sub { Validibot::Test::add_user(7); Validibot::Test::add_member('acme', 7, 'analytics_viewer') },
           sub { Validibot::Test::add_member('acme', 7, 'executor'); Validibot::Test::add_org('acme', status => 'suspended') },
           sub { Validibot::Test::add_org('acme') }])
--- error_code eval
[200, 200, 401, 403, 403, 200]
--- response_body eval
["user=7 org=acme roles=executor evalsha=1 hmget=3\n",
 "user=7 org=acme roles=executor evalsha=0 hmget=3\n",
 "$::Denied evalsha=0 hmget=3\n",
 qq{{"detail":"Permission denied","code":"permission_denied"} evalsha=0 hmget=3\n},
 qq{{"detail":"Permission denied","code":"permission_denied"} evalsha=0 hmget=3\n},
 "user=7 org=acme roles=executor evalsha=0 hmget=3\n"]



=== TEST 5: a hinted key deleted: refused, and its hint forgotten; made again: found again
--- init
::setup();
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
["GET /o/acme/x", "GET /o/acme/x", "GET /o/acme/x", "GET /o/acme/x",
 "GET /o/acme/x"]
--- more_headers eval
[($::Auth) x 5]
--- response_body_filters eval
::between([undef,
           sub { Validibot::Test::redis_cmd('DEL', $::rkey) },
           sub { Validibot::Test::make_key(seed => 'hint-seven', user => 7) }])
--- error_code eval
[200, 200, 401, 200, 200]
--- response_body eval
["user=7 org=acme roles=executor evalsha=1 hmget=3\n",
 "user=7 org=acme roles=executor evalsha=0 hmget=3\n",
 "$::Denied evalsha=0 hmget=3\n",
 "user=7 org=acme roles=executor evalsha=1 hmget=3\n",
 "user=7 org=acme roles=executor evalsha=0 hmget=3\n"]



=== TEST 6: a key given to another user: the hint is wrong, the script answers with the new owner
--- init
::setup();
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
["GET /o/acme/x", "GET /o/acme/x", "GET /o/acme/x", "GET /o/acme/x"]
--- more_headers eval
[($::Auth) x 4]
--- response_body_filters eval
::between([undef,
           sub { Validibot::Test::redis_cmd('HSET', $::rkey, 'user', '8') }])
--- response_body eval
["user=7 org=acme roles=executor evalsha=1 hmget=3\n",
 "user=7 org=acme roles=executor evalsha=0 hmget=3\n",
 "user=8 org=acme roles=author evalsha=1 hmget=6\n",
 "user=8 org=acme roles=author evalsha=0 hmget=3\n"]



=== TEST 7: garbage on the hinted path (the user record not a hash): 503, never a pass
--- init
::setup();
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
["GET /o/acme/x", "GET /o/acme/x", "GET /o/acme/x"]
--- more_headers eval
[($::Auth) x 3]
--- response_body_filters eval
::between([sub { Validibot::Test::redis_cmd('DEL', 'validibot:user:7');
                 Validibot::Test::redis_cmd('SET', 'validibot:user:7', 'x') },
           sub { Validibot::Test::add_user(7) }])
--- error_code eval
[200, 503, 200]
--- response_headers_like eval
["", "Retry-After: \\d+", ""]
--- response_body eval
["user=7 org=acme roles=executor evalsha=1 hmget=3\n",
 qq{{"detail":"Authentication service unavailable","code":"service_unavailable"} evalsha=0 hmget=3\n},
 "user=7 org=acme roles=executor evalsha=0 hmget=3\n"]



=== TEST 8: the org status not a hash on the hinted path: 503, logged with Redis's error
--- init
::setup();
Validibot::Test::redis_cmd('DEL', 'validibot:org:acme');
Validibot::Test::redis_cmd('SET', 'validibot:org:acme', 'x');
--- http_config eval: $::HttpConfig
--- config eval
($::Config . <<'_EOC_') =~ s/\@KEY\@/$::key/gr
    location = /fan {
        ssi on;
        ssi_types text/plain;
        default_type text/plain;
        root html;
        try_files /page.txt =404;
    }
    location = /learn { proxy_set_header Authorization "Bearer @KEY@";
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/o/beta/x; }
    location = /broken { proxy_set_header Authorization "Bearer @KEY@";
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/o/acme/x; }
_EOC_
--- user_files
>>> page.txt
<!--# include virtual="/learn" wait="yes" -->|<!--# include virtual="/broken" -->
--- request
GET /fan
--- response_body_like
^user=7 org=beta roles=author\|\{"detail":"Authentication service unavailable","code":"service_unavailable"\}$
--- error_log eval
qr/validibot: unexpected reply from redis for key "$::id": WRONGTYPE/



=== TEST 9: config: validibot_owner_hints takes "off" or a number of keys
--- http_config eval: $::HttpConfig . "validibot_owner_hints 8;"
--- config eval: $::Config
--- must_die
--- error_log
"validibot_owner_hints" must be "off" or a number of keys from 16 to 16777216, not "8"



=== TEST 10: config: validibot_owner_hints twice
--- http_config eval: $::HttpConfig . "validibot_owner_hints 1024; validibot_owner_hints off;"
--- config eval: $::Config
--- must_die
--- error_log
"validibot_owner_hints" directive is duplicate



=== TEST 11: config: validibot_owner_hints is an http-level directive
--- http_config eval: $::HttpConfig
--- config eval: $::Config . "location /x { validibot_owner_hints off; }"
--- must_die
--- error_log
"validibot_owner_hints" directive is not allowed here



=== TEST 12: hinted lookups for different orgs in flight at once: each gets its own org's answer
--- init
::setup();
Validibot::Test::add_org('gamma', status => 'suspended');
Validibot::Test::add_member('gamma', 7, 'owner');
--- http_config eval: $::HttpConfig
--- config eval
my @orgs = qw(acme beta gamma delta);
my $c = $::Config . <<'_EOC_';
    location = /fan {
        ssi on;
        ssi_types text/plain;
        default_type text/plain;
        root html;
        try_files /page.txt =404;
    }
_EOC_
for my $o (@orgs) {
    $c .= "    location = /as/$o { proxy_set_header Authorization \"Bearer $::key\";"
        . " proxy_intercept_errors off;"
        . " proxy_pass http://127.0.0.1:\$TEST_NGINX_SERVER_PORT/o/$o/x; }\n";
}
$c
--- user_files eval
my @orgs = qw(acme beta gamma delta);
">>> page.txt\n" . join '|', map { qq{<!--# include virtual="/as/$orgs[int($_ / 3) % 4]" -->} } 0 .. 39
--- request eval
["GET /fan", "GET /fan"]
--- response_body eval
my %a = (acme => 'user=7 org=acme roles=executor',
         beta => 'user=7 org=beta roles=author',
         gamma => '{"detail":"Permission denied","code":"permission_denied"}',
         delta => '{"detail":"Permission denied","code":"permission_denied"}');
my $b = join '|', map { $a{(qw(acme beta gamma delta))[int($_ / 3) % 4]} } 0 .. 39;
[$b, $b]
--- timeout: 10
--- no_error_log
[alert]
[crit]



=== TEST 13: hinted lookups of one org that leave in one write share one read of the org's status
30 HTTP/2 requests in one packet (::h2_burst): nginx runs their access
phases in one event loop iteration, so their lookups go out in one write.
--- init
::setup();
--- http_config eval
$::HttpConfig . <<'_EOC_';
    server {
        listen unix:$TEST_NGINX_HTML_DIR/h2.sock http2;
        location ~ ^/o/(?<org>[^/]+)/ {
            validibot_auth API;
            validibot_org $org;
            proxy_pass http://unix:$TEST_NGINX_HTML_DIR/upstream.sock;
        }
    }
_EOC_
--- config
location = /t { return 200 "go"; }
--- request
GET /t
--- response_body_filters eval
sub {
    my @out;
    # the first burst learns the owner; the second is hinted
    for my $pass (1, 2) {
        ::counts();
        my $st = ::h2_burst("$ENV{TEST_NGINX_HTML_DIR}/h2.sock",
                            [map { "/o/acme/$_" } 1 .. 30],
                            "Bearer $::key");
        my $c = ::counts();
        # every lookup also reads its usage record with one HGET
        my $org = $c->{hget} - 30;
        push @out, "$st evalsha=$c->{evalsha} hmget=$c->{hmget} org read "
                   . ($org == 30 ? 'by each' : $org < 30
                      ? 'shared' : "$org times");
    }
    join("\n", @out) . "\n";
}
--- response_body
200 x30 evalsha=30 hmget=90 org read by each
200 x30 evalsha=0 hmget=90 org read shared



=== TEST 14: owner hints in validibot_status: used, and wrong once when the key changed owner
--- init
::setup();
$::step = 0;
--- http_config eval: $::HttpConfig
--- config eval
$::Config . "location = /metrics { validibot_status; }"
--- request eval
["GET /o/acme/x", "GET /o/acme/x", "GET /o/acme/x", "GET /metrics"]
--- more_headers eval
[$::Auth, $::Auth, $::Auth, ""]
--- response_body_filters eval
sub {
    Validibot::Test::redis_cmd('HSET', $::rkey, 'user', '8') if ++$::step == 1;
    $_[0];
}
--- response_body_like eval
["^user=7 org=acme roles=executor\$", "^user=8 org=acme roles=author\$",
 "^user=8 org=acme roles=author\$",
 "\\nvalidibot_owner_hints_used_total 2\\n(?s:.*)\\nvalidibot_owner_hints_wrong_total 1\\n"]



=== TEST 15: an ACL user with just the commands docs/redis-schema.md lists: script and hinted lookups both work
--- init
::setup();
Validibot::Test::redis_cmd('ACL', 'SETUSER', 'vbmin', 'reset', 'on', '>min-pass',
                           '~validibot:*', '+evalsha', '+eval', '+script|load',
                           '+hmget', '+hget', '+client|setname', '+exists',
                           '+hset');
$::step = 0;
--- http_config eval
my $c = $::HttpConfig;
$c =~ s{redis://127}{redis://vbmin:min-pass\@127};
$c
--- config eval: $::Config
--- request eval
["GET /o/acme/x", "GET /o/acme/x", "GET /plain"]
--- more_headers eval
[($::Auth) x 3]
--- response_body_filters eval
sub {
    my $b = ::calls($_[0]);
    Validibot::Test::redis_cmd('ACL', 'DELUSER', 'vbmin') if ++$::step == 3;
    $b;
}
--- response_body eval
["user=7 org=acme roles=executor evalsha=1 hmget=3\n",
 "user=7 org=acme roles=executor evalsha=0 hmget=3\n",
 "user=7 org= roles= evalsha=0 hmget=2\n"]
--- no_error_log
[warn]
[error]
