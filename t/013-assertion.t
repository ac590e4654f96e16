# validibot_assertion: the signed identity assertion the upstream gets on
# every request the module lets through (docs/upstream.md).  A test upstream
# echoes the method, the raw request URI and the assertion; the body filter
# checks what the real module made with every verifier: the Python one
# (verifiers/python), PyJWT, the Node middleware (verifiers/node) and the
# C one (validibot-token assertion verify), each with its clock injected:
# fresh, replayed to another path, another method, expired, wrong key.

use Test::Nginx::Socket 'no_plan';
use Validibot::Test;

use File::Temp ();
use FindBin ();
use IPC::Open2 ();
use JSON::PP ();
use MIME::Base64 ();
use URI::Escape ();

no_shuffle();
log_level('info');

redis_flush_prefix();
add_user(7);
add_org('acme');
add_member('acme', 7, 'executor,author');

our $ok = make_key(seed => 'assertion-ok', user => 7);
our $ok_id = key_public_id($ok);
our $reader = make_key(seed => 'assertion-reader', user => 7);

# gw-1 and gw-2 sign; "wrong" holds another gw-1, as a stolen name would
our $Root = "$FindBin::Bin/..";
our $KeyDir = File::Temp::tempdir('validibot-assertion-XXXXXX', TMPDIR => 1,
                                  CLEANUP => 1);
mkdir "$KeyDir/wrong" or die "mkdir: $!";

sub write_key {
    my ($path, $bytes) = @_;
    open my $f, '>', $path or die "cannot write $path: $!";
    print $f $bytes, "\n";
    close $f;
}

write_key("$KeyDir/gw-1.key", 'gateway assertion key number one, 40 bytes');
write_key("$KeyDir/gw-2.key", 'gateway assertion key number two, 40 bytes');
write_key("$KeyDir/wrong/gw-1.key", 'not the gateway key but the same kid!!!!!');
write_key("$KeyDir/short.key", 'only 31 bytes long, not enough');

$ENV{TEST_NGINX_ASSERTION_DIR} = $KeyDir;

our $Cli = $ENV{VALIDIBOT_TOKEN_BIN} || "$Root/build/validibot-token";
-x $Cli or die "$Cli is not built: make tools";

sub unb64url {
    my ($s) = @_;
    $s =~ tr{-_}{+/};
    $s .= '=' x (-length($s) % 4);
    return MIME::Base64::decode_base64($s);
}

# one line per claim set, the request id shown by its form only
sub describe {
    my ($head, $c) = @_;
    my $jti = $c->{jti} =~ /^[0-9a-f]{32}$/ ? 'request_id' : $c->{jti};
    my $roles = exists $c->{roles} ? join(',', @{$c->{roles}}) : '-';
    return "alg=$head->{alg} typ=$head->{typ} kid=$head->{kid}\n"
           . "iss=$c->{iss} aud=$c->{aud} sub=$c->{sub} org="
           . ($c->{org} // '-') . " roles=$roles kid="
           . ($c->{kid} eq $::ok_id ? 'public_id' : $c->{kid})
           . " ttl=" . ($c->{exp} - $c->{iat}) . " jti=$jti"
           . " htm=$c->{htm} htu=$c->{htu}\n";
}

sub run_lines {
    my ($cmd, $input) = @_;
    my $pid = IPC::Open2::open2(my $out, my $in, @$cmd);
    print $in $input;
    close $in;
    my @lines = <$out>;
    waitpid $pid, 0;
    chomp @lines;
    return @lines;
}

# the body "METHOD RAW_URI TOKEN" of the test upstream, checked by all
sub verify_all {
    my ($body, $keys) = @_;

    $body =~ s/\n\z//;
    my ($method, $raw, $tok) = split / /, $body, 3;
    return "no assertion\n" unless defined $tok && length $tok;

    my ($h, $p) = split /\./, $tok;
    my $head = JSON::PP::decode_json(unb64url($h));
    my $c = JSON::PP::decode_json(unb64url($p));

    # the path as nginx checked it: decoded, without the query
    my ($rpath, $query) = $raw =~ /^([^?]*)(.*)$/s;
    my $path = URI::Escape::uri_unescape($rpath);

    my $good = join ',', map { "$KeyDir/$_.key" } @$keys;
    my @cases = (
        [$c->{iat}, $method, $path, $raw, $good],
        [$c->{iat}, $method, "$path/other", "$rpath/other$query", $good],
        [$c->{iat}, $method eq 'DELETE' ? 'GET' : 'DELETE', $path, $raw,
         $good],
        [$c->{exp} + 30, $method, $path, $raw, $good],
        [$c->{iat}, $method, $path, $raw, "$KeyDir/wrong/gw-1.key"],
    );

    my $out = describe($head, $c);
    my (@py, @js);

    for my $mode ('stdlib', 'pyjwt') {
        my $in = join '', map {
            join("\t", $_->[0], $_->[1], $_->[2], $_->[4], $c->{aud}, $tok)
            . "\n" } @cases;
        my @r = run_lines(['/usr/bin/python3',
                           "$Root/t/lib/assertion_verify.py", $mode], $in);
        $out .= "$mode: " . join(' | ', @r) . "\n";
    }

    my $in = join '', map {
        join("\t", $_->[0], $_->[1], $_->[3], $_->[4], $c->{aud}, $tok) . "\n"
    } @cases;
    $out .= "node: " . join(' | ', run_lines(['node',
        "$Root/t/lib/assertion_verify.js"], $in)) . "\n";

    my @r;
    for my $case (@cases) {
        my @cmd = ($Cli, 'assertion', 'verify', '--now', $case->[0],
                   '--method', $case->[1], '--path', $case->[2],
                   '--audience', $c->{aud});
        push @cmd, '--key', $_ for split /,/, $case->[4];
        my $res = `@{[join ' ', map { quotemeta } @cmd, $tok]} 2>&1`;
        if ($? == 0) {
            my $j = JSON::PP::decode_json($res)->{claims};
            push @r, "ok sub=$j->{sub} org=" . ($j->{org} // '-')
                     . " roles=" . (exists $j->{roles}
                                    ? join(',', @{$j->{roles}}) : '-');
        } else {
            $res =~ s/^validibot-token: assertion invalid: //;
            chomp $res;
            push @r, $res;
        }
    }
    $out .= "c: " . join(' | ', @r) . "\n";

    return $out;
}

# the Django REST framework class, behind Django's test client
sub check_drf {
    my ($body) = @_;
    $body =~ s/\n\z//;
    return join "\n", run_lines(['/usr/bin/python3',
                                 "$Root/t/lib/assertion_drf.py", $KeyDir],
                                $body), '';
}

# "RID TOKEN" from the rid upstream: is jti the request's $request_id?
our %SeenJti;

sub check_rid {
    my ($body) = @_;
    $body =~ s/\n\z//;
    my ($rid, $tok) = split / /, $body, 2;
    return "no assertion\n" unless defined $tok && length $tok;
    my $c = JSON::PP::decode_json(unb64url((split /\./, $tok)[1]));
    my $jti = $c->{jti};
    return ($jti eq $rid ? 'jti = $request_id' : "jti $jti, \$request_id $rid")
           . ', 32 hex: ' . ($jti =~ /\A[0-9a-f]{32}\z/ ? 'yes' : 'no')
           . ', ' . ($SeenJti{$jti}++ ? 'seen before' : 'new') . "\n";
}

sub check_gw1 { verify_all($_[0], ['gw-1']) }
sub check_both { verify_all($_[0], ['gw-1', 'gw-2']) }
sub check_gw2 { verify_all($_[0], ['gw-2']) }

# a valid one for an org route, in the order: fresh | another path |
# another method | expired | wrong key
our $Acme = "ok sub=7 org=acme roles=author,executor";
our $Refused = "wrong path | wrong method | expired | bad signature";

our $HttpConfig = <<'_EOC_';
    validibot_redis redis://127.0.0.1:$TEST_NGINX_REDIS_PORT/0;
    validibot_digest_key 1 $TEST_NGINX_DIGEST_KEY_FILE_V1;
    underscores_in_headers on;

    server {
        listen unix:$TEST_NGINX_HTML_DIR/upstream.sock;
        validibot_identity_headers off;

        location / {
            return 200 "$request_method $request_uri $http_x_validibot_assertion$http_x_gateway_assertion\n";
        }
    }
_EOC_

our $Up = 'proxy_pass http://unix:$TEST_NGINX_HTML_DIR/upstream.sock;';
our $Key1 = '$TEST_NGINX_ASSERTION_DIR/gw-1.key';
our $Key2 = '$TEST_NGINX_ASSERTION_DIR/gw-2.key';

run_tests();

__DATA__

=== TEST 1: an org route: every verifier accepts it fresh and refuses replay, method, expiry, wrong key
--- http_config eval: $::HttpConfig
--- config eval
"location ~ ^/o/(?<org>[^/]+)/ { validibot_auth API; validibot_org \$org; validibot_assertion $::Key1; $::Up }"
--- request
GET /o/acme/workflows/
--- more_headers eval
"Authorization: Bearer $::ok"
--- response_body_filters eval
\&::check_gw1
--- response_body eval
"alg=HS256 typ=JWT kid=gw-1
iss=validibot-gateway aud=localhost sub=7 org=acme roles=author,executor kid=public_id ttl=60 jti=request_id htm=GET htu=/o/acme/workflows/
stdlib: $::Acme | $::Refused
pyjwt: $::Acme | wrong path | wrong method | expired | bad signature
node: $::Acme | $::Refused
c: $::Acme | $::Refused
"
--- no_error_log
[error]



=== TEST 2: no org: neither org nor roles; issuer, audience (variables), ttl and method as configured; htu without the query, decoded
--- http_config eval: $::HttpConfig
--- config eval
"set \$aud_host api.example.com;
location /t/ { validibot_auth API; validibot_assertion $::Key1 issuer=gw.example audience=https://\$aud_host ttl=5m; $::Up }"
--- request
POST /t/a%20b/c?x=1&y=%2F
--- more_headers eval
"Authorization: Bearer $::ok"
--- response_body_filters eval
\&::check_gw1
--- response_body eval
"alg=HS256 typ=JWT kid=gw-1
iss=gw.example aud=https://api.example.com sub=7 org=- roles=- kid=public_id ttl=300 jti=request_id htm=POST htu=/t/a b/c
stdlib: ok sub=7 org=- roles=- | $::Refused
pyjwt: ok sub=7 org=- roles=- | wrong path | wrong method | expired | bad signature
node: ok sub=7 org=- roles=- | $::Refused
c: ok sub=7 org=- roles=- | $::Refused
"



=== TEST 3: rotation: the first key signs, a verifier with both keys accepts, one with only the old key does not
--- http_config eval: $::HttpConfig
--- config eval
"location /t { validibot_auth API; validibot_assertion $::Key2 $::Key1; $::Up }
location /old { validibot_auth API; validibot_assertion $::Key2 $::Key1; $::Up }"
--- request eval
["GET /t", "GET /old"]
--- more_headers eval
"Authorization: Bearer $::ok"
--- response_body_filters eval
[[\&::check_both], [\&::check_gw1]]
--- response_body eval
["alg=HS256 typ=JWT kid=gw-2
iss=validibot-gateway aud=localhost sub=7 org=- roles=- kid=public_id ttl=60 jti=request_id htm=GET htu=/t
stdlib: ok sub=7 org=- roles=- | wrong path | wrong method | expired | unknown key id
pyjwt: ok sub=7 org=- roles=- | wrong path | wrong method | expired | unknown key id
node: ok sub=7 org=- roles=- | wrong path | wrong method | expired | unknown key id
c: ok sub=7 org=- roles=- | wrong path | wrong method | expired | unknown key id
",
"alg=HS256 typ=JWT kid=gw-2
iss=validibot-gateway aud=localhost sub=7 org=- roles=- kid=public_id ttl=60 jti=request_id htm=GET htu=/old
stdlib: unknown key id | unknown key id | unknown key id | unknown key id | unknown key id
pyjwt: unknown key id | unknown key id | unknown key id | unknown key id | unknown key id
node: unknown key id | unknown key id | unknown key id | unknown key id | unknown key id
c: unknown key id | unknown key id | unknown key id | unknown key id | unknown key id
"]



=== TEST 4: never on a refusal: 401, 403 and 503 sent by error_page to a proxying location carry no assertion
--- http_config eval: $::HttpConfig
--- config eval
"validibot_assertion $::Key1;
error_page 401 403 503 = \@fallback;
location \@fallback { validibot_assertion off; $::Up }
location ~ ^/o/(?<org>[^/]+)/ { validibot_auth API; validibot_org \$org; validibot_require admin; $::Up }
location /t { validibot_auth API; $::Up }"
--- request eval
["GET /t", "GET /t", "GET /o/acme/x"]
--- more_headers eval
["", "Authorization: Bearer vbk_1_00000000000000000000000000000000_" . ("0" x 64),
 "Authorization: Bearer $::ok"]
--- response_body eval
["GET /t \n", "GET /t \n", "GET /o/acme/x \n"]



=== TEST 4b: never on a refusal: 503 (Redis unreachable) sent by error_page to a proxying location
--- http_config eval
(my $c = $::HttpConfig) =~ s/\$TEST_NGINX_REDIS_PORT/1/;
$c
--- config eval
"error_page 503 = \@fallback;
location \@fallback { $::Up }
location /t { validibot_auth API; validibot_assertion $::Key1; $::Up }"
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::ok"
--- response_body
GET /t 



=== TEST 5: never on a refusal: the fallback has validibot_assertion too, the header stays away
--- http_config eval: $::HttpConfig
--- config eval
"validibot_assertion $::Key1;
error_page 401 = \@fallback;
location \@fallback { $::Up }
location /t { validibot_auth API; $::Up }"
--- request
GET /t
--- more_headers
X-Validibot-Assertion: forged
--- response_body
GET /t 
--- error_log
dropped client header "X-Validibot-Assertion"



=== TEST 6: client copies dropped in any case and with underscores; the module's own one replaces them
--- http_config eval: $::HttpConfig
--- config eval
"location /t { validibot_auth API; validibot_assertion $::Key1 header=X-Gateway-Assertion; $::Up }"
--- request
GET /t
--- more_headers eval
"x-gateway-assertion: forged1\r\nX_Gateway_Assertion: forged2\r\nX-GATEWAY_ASSERTION: forged3\r\nAuthorization: Bearer $::ok"
--- response_body_filters eval
\&::check_gw1
--- response_body eval
"alg=HS256 typ=JWT kid=gw-1
iss=validibot-gateway aud=localhost sub=7 org=- roles=- kid=public_id ttl=60 jti=request_id htm=GET htu=/t
stdlib: ok sub=7 org=- roles=- | $::Refused
pyjwt: ok sub=7 org=- roles=- | wrong path | wrong method | expired | bad signature
node: ok sub=7 org=- roles=- | $::Refused
c: ok sub=7 org=- roles=- | $::Refused
"
--- error_log
dropped client header "x-gateway-assertion"
dropped client header "X_Gateway_Assertion"
dropped client header "X-GATEWAY_ASSERTION"



=== TEST 7: client copies dropped where the check is off, and where validibot_assertion is off nothing is added
--- http_config eval: $::HttpConfig
--- config eval
"validibot_assertion $::Key1;
location /public { $::Up }
location /t { validibot_auth API; validibot_assertion off; $::Up }"
--- request eval
["GET /public", "GET /t"]
--- more_headers eval
["X-Validibot-Assertion: forged", "Authorization: Bearer $::ok"]
--- response_body eval
["GET /public \n", "GET /t \n"]



=== TEST 8: the assertion is bound to the path nginx checked: after a rewrite, the new one
--- http_config eval: $::HttpConfig
--- config eval
"location /old/ { rewrite ^/old/(.*)\$ /o/acme/\$1 last; }
location ~ ^/o/(?<org>[^/]+)/ { validibot_auth API; validibot_org \$org; validibot_assertion $::Key1; $::Up }"
--- request
DELETE /old/runs/1
--- more_headers eval
"Authorization: Bearer $::ok"
--- response_body_filters eval
\&::check_gw1
--- response_body eval
"alg=HS256 typ=JWT kid=gw-1
iss=validibot-gateway aud=localhost sub=7 org=acme roles=author,executor kid=public_id ttl=60 jti=request_id htm=DELETE htu=/o/acme/runs/1
stdlib: $::Acme | $::Refused
pyjwt: $::Acme | wrong path | wrong method | expired | bad signature
node: $::Acme | $::Refused
c: $::Acme | $::Refused
"



=== TEST 8b: jti is the request's $request_id: made by the module when nothing used it before (the same one then for proxy_set_header and the log), nginx's own when a rewrite used it first; a new one each request
--- http_config eval
$::HttpConfig . '
    server {
        listen unix:$TEST_NGINX_HTML_DIR/rid.sock;
        validibot_identity_headers off;

        location / {
            return 200 "$http_x_rid $http_x_validibot_assertion\n";
        }
    }
'
--- config eval
"location /t { validibot_auth API; validibot_assertion $::Key1; proxy_set_header X-Rid \$request_id; proxy_pass http://unix:\$TEST_NGINX_HTML_DIR/rid.sock; }
location /early { set \$early \$request_id; validibot_auth API; validibot_assertion $::Key1; proxy_set_header X-Rid \$early; proxy_pass http://unix:\$TEST_NGINX_HTML_DIR/rid.sock; }"
--- request eval
["GET /t", "GET /t", "GET /early", "GET /t"]
--- more_headers eval
"Authorization: Bearer $::ok"
--- response_body_filters eval
\&::check_rid
--- response_body eval
['jti = $request_id, 32 hex: yes, new
', 'jti = $request_id, 32 hex: yes, new
', 'jti = $request_id, 32 hex: yes, new
', 'jti = $request_id, 32 hex: yes, new
']
--- no_error_log
[error]



=== TEST 9: nginx -t: a key shorter than 32 bytes
--- config
    location /t { validibot_assertion $TEST_NGINX_ASSERTION_DIR/short.key; }
--- must_die
--- error_log eval
qr/"validibot_assertion": ".*short\.key" holds 30 bytes, at least 32 are needed/



=== TEST 10: nginx -t: no such key file
--- config
    location /t { validibot_assertion /nonexistent/gw.key; }
--- must_die
--- error_log
"validibot_assertion": cannot open "/nonexistent/gw.key"



=== TEST 11: nginx -t: the same kid twice
--- config
    location /t { validibot_assertion $TEST_NGINX_ASSERTION_DIR/gw-1.key $TEST_NGINX_ASSERTION_DIR/wrong/gw-1.key; }
--- must_die
--- error_log
"validibot_assertion": kid "gw-1" is given twice



=== TEST 12: nginx -t: a file name that is no kid
--- config
    location /t { validibot_assertion $TEST_NGINX_ASSERTION_DIR/gw-1.key $TEST_NGINX_ASSERTION_DIR/gw+1.key; }
--- must_die
--- error_log eval
qr/"validibot_assertion": the name of ".*\/gw\+1\.key" is not a valid kid/



=== TEST 13: nginx -t: a ttl of 0
--- config
    location /t { validibot_assertion $TEST_NGINX_ASSERTION_DIR/gw-1.key ttl=0; }
--- must_die
--- error_log
"validibot_assertion": invalid ttl "0", it must be from 1s to 1d



=== TEST 14: nginx -t: unknown option
--- config
    location /t { validibot_assertion $TEST_NGINX_ASSERTION_DIR/gw-1.key lifetime=5s; }
--- must_die
--- error_log
"validibot_assertion": unknown option "lifetime=5s"



=== TEST 15: nginx -t: options but no key file
--- config
    location /t { validibot_assertion ttl=5s; }
--- must_die
--- error_log
"validibot_assertion": no key file



=== TEST 16: nginx -t: an identity header cannot carry the assertion
--- config
    location /t { validibot_assertion $TEST_NGINX_ASSERTION_DIR/gw-1.key header=X-Validibot-User; }
--- must_die
--- error_log
"validibot_assertion": header "X-Validibot-User" is an identity header



=== TEST 17: nginx -t: a header name with an underscore
--- config
    location /t { validibot_assertion $TEST_NGINX_ASSERTION_DIR/gw-1.key header=X_Assert; }
--- must_die
--- error_log
"validibot_assertion": invalid header name "X_Assert", use letters, digits and "-"



=== TEST 18: nginx -t: given twice in one location
--- config
    location /t { validibot_assertion $TEST_NGINX_ASSERTION_DIR/gw-1.key; validibot_assertion off; }
--- must_die
--- error_log
"validibot_assertion" directive is duplicate



=== TEST 19: Django REST framework: a fresh assertion maps to request.user and request.auth; replay, expiry, another key, another audience, none, an inactive user refused
--- http_config eval: $::HttpConfig
--- config eval
"location ~ ^/api/v1/orgs/(?<org>[^/]+)/ { validibot_auth API; validibot_org \$org; validibot_assertion $::Key1 audience=api.example.com; $::Up }"
--- request
POST /api/v1/orgs/acme/workflows/1/runs/?dry=1
--- more_headers eval
"Authorization: Bearer $::ok"
--- response_body_filters eval
\&::check_drf
--- response_body
fresh: 200 user=7 org=acme roles=author,executor key=public_id
replayed to another path: 401 Invalid gateway assertion: wrong path
expired: 401 Invalid gateway assertion: expired
another key: 401 Invalid gateway assertion: bad signature
another audience: 401 Invalid gateway assertion: wrong audience
no assertion: 401 Authentication credentials were not provided.
inactive user: 401 Unknown or inactive user
