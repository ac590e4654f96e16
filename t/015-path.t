# validibot_strict_path (issue 15, item 3): the org is read from nginx's
# normalized URI, while proxy_pass without a URI part forwards the raw one;
# where validibot_org is set, a raw path that normalizes into something
# else is refused with 400 before any key is checked.

use Test::Nginx::Socket 'no_plan';
use Validibot::Test;

no_shuffle();
log_level('info');

redis_flush_prefix();
add_user(15);
add_org('o0');
add_org('o1');
add_member('o0', 15, 'executor');
add_member('o1', 15, 'executor');

our $ok = make_key(seed => 'i15-path-ok', user => 15);

our $HttpConfig = <<'_EOC_';
    validibot_redis redis://127.0.0.1:$TEST_NGINX_REDIS_PORT/0;
    validibot_digest_key 1 $TEST_NGINX_DIGEST_KEY_FILE_V1;

    server {
        listen unix:$TEST_NGINX_HTML_DIR/upstream.sock;
        validibot_identity_headers off;

        location / {
            return 200 "uri=$request_uri org=$http_x_validibot_org\n";
        }
    }
_EOC_

our $Config = <<'_EOC_';
    location ~ ^/api/v1/orgs/(?<org>[^/]+)/ {
        validibot_auth API;
        validibot_org $org;
        proxy_pass http://unix:$TEST_NGINX_HTML_DIR/upstream.sock;
    }
    location /plain/ {
        validibot_auth API;
        proxy_pass http://unix:$TEST_NGINX_HTML_DIR/upstream.sock;
    }
_EOC_

our $Body = '{"detail":"Invalid request","code":"invalid_request"}';

sub raw { "GET $_[0] HTTP/1.0\r\nHost: localhost\r\nAuthorization: Bearer $::ok\r\n\r\n" }

run_tests();

__DATA__

=== TEST 1: a plain path passes, the org as the upstream sees it
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- raw_request eval: ::raw('/api/v1/orgs/o0/workflows/')
--- response_body
uri=/api/v1/orgs/o0/workflows/ org=o0



=== TEST 2: dot segments that move to another org: 400, JSON body, before any key is checked
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- raw_request eval: ::raw('/api/v1/orgs/o0/workflows/../../o1/workflows/')
--- error_code: 400
--- response_headers
WWW-Authenticate: Bearer realm="API", error="invalid_request"
Content-Type: application/json
--- response_body eval: $::Body
--- error_log
validibot: refused: malformed, ambiguous path
--- no_error_log
validibot: key



=== TEST 3: the same with encoded slashes
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- raw_request eval: ::raw('/api/v1/orgs/o0/workflows/..%2F..%2Fo1/workflows/')
--- error_code: 400
--- response_body eval: $::Body



=== TEST 4: an encoded dot, lower case
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- raw_request eval: ::raw('/api/v1/orgs/o0/workflows/%2e%2e/%2e%2e/o1/workflows/')
--- error_code: 400
--- response_body eval: $::Body



=== TEST 5: a double slash
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- raw_request eval: ::raw('/api/v1/orgs//o1/workflows/')
--- error_code: 400
--- response_body eval: $::Body



=== TEST 6: a backslash, plain and encoded
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- raw_request eval
[::raw('/api/v1/orgs/o0/x\\y/'), ::raw('/api/v1/orgs/o0/x%5Cy/')]
--- error_code eval
[400, 400]



=== TEST 7: the query string is not the path: dots and encoded slashes there pass
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- raw_request eval: ::raw('/api/v1/orgs/o0/workflows/?next=../x%2Fy//z')
--- response_body
uri=/api/v1/orgs/o0/workflows/?next=../x%2Fy//z org=o0



=== TEST 8: validibot_strict_path off: the operator takes the raw path as it is
--- http_config eval: $::HttpConfig
--- config eval
my $c = $::Config;
$c =~ s/validibot_org \$org;/validibot_org \$org; validibot_strict_path off;/;
$c
--- raw_request eval: ::raw('/api/v1/orgs/o0/workflows/../../o1/workflows/')
--- response_body
uri=/api/v1/orgs/o0/workflows/../../o1/workflows/ org=o1



=== TEST 9: inherited from the server level
--- http_config eval: $::HttpConfig
--- config eval
"validibot_strict_path off;\n" . $::Config
--- raw_request eval: ::raw('/api/v1/orgs//o1/workflows/')
--- response_body
uri=/api/v1/orgs//o1/workflows/ org=o1



=== TEST 10: a location without validibot_org is not concerned
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- raw_request eval: ::raw('/plain/a/../b')
--- response_body
uri=/plain/a/../b org=



=== TEST 11: validibot_strict_path takes on or off
--- config
    location /t { validibot_strict_path yes; }
--- must_die
--- error_log
invalid value "yes" in "validibot_strict_path" directive, it must be "on" or "off"
