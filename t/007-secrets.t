# No secret (nor a stored digest) in any log line at debug level, nor in
# what goes upstream, on every success and refusal path.  nginx itself
# prints every request header at debug level ("http header: ...") before
# any module runs; the module no longer masks that line in place (it
# changed what error_page locations and the upstream saw, issue 15), warns
# at start-up instead (t/015-authorization.t), and those lines of nginx's
# are the only ones exempt here.

use Test::Nginx::Socket 'no_plan';
use Validibot::Test;

no_shuffle();
log_level('debug');

redis_flush_prefix();
add_user(3);
add_user(4, is_active => 0);
add_org('acme');
add_org('frozen', status => 'suspended');
add_member('acme', 3, 'author');

our %K = (
    ok       => make_key(seed => 'sec-ok', user => 3),
    revoked  => make_key(seed => 'sec-revoked', user => 3, revoked_at => 1),
    expired  => make_key(seed => 'sec-expired', user => 3, expires_at => 1),
    inactive => make_key(seed => 'sec-inactive', user => 4),
    unknown  => make_key(seed => 'sec-unknown', user => 3, write => 0),
);
$K{mismatch} = substr($K{ok}, 0, -1) . (substr($K{ok}, -1) eq '0' ? '1' : '0');
$K{long} = $K{ok} . 'ff';

# what must never be logged: every secret, and the stored digests, on any
# line but nginx's own "http header" lines
our @Never = map { key_secret($_) // substr($_, -66) } values %K;
push @Never, map { key_digest(key_public_id($K{$_}), key_secret($K{$_})) }
             qw(ok revoked expired inactive);
@Never = map { qr/^(?!.* http header: ").*\Q$_\E/ } @Never;

our $HttpConfig = <<'_EOC_';
    validibot_redis redis://127.0.0.1:$TEST_NGINX_REDIS_PORT/0;
    validibot_digest_key 1 $TEST_NGINX_DIGEST_KEY_FILE_V1;

    server {
        listen unix:$TEST_NGINX_HTML_DIR/upstream.sock;
        validibot_identity_headers off;
        location / {
            return 200 "auth=[$http_authorization] user=$http_x_validibot_user\n";
        }
    }
_EOC_

our $Config = <<'_EOC_';
    location ~ ^/o/(?<org>[^/]+)/ {
        validibot_auth API;
        validibot_org $org;
        validibot_require workflow_launch methods=POST;
        proxy_pass http://unix:$TEST_NGINX_HTML_DIR/upstream.sock;
    }
    location /down {
        validibot_auth API;
        proxy_pass http://unix:$TEST_NGINX_HTML_DIR/upstream.sock;
    }
_EOC_

sub auth { "Authorization: Bearer $K{$_[0]}" }

run_tests();

__DATA__

=== TEST 1: success: the upstream sees no Authorization; only nginx's own header line holds the key
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /o/acme/x
--- more_headers eval: ::auth('ok')
--- response_body
auth=[] user=3
--- error_log eval
qr/http header: "Authorization: Bearer vbk_1_[0-9a-f]{32}_[0-9a-f]{64}"/
--- no_error_log eval: [@::Never]



=== TEST 2: forbidden
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
POST /o/acme/x
--- more_headers eval: ::auth('ok')
--- error_code: 403
--- no_error_log eval: [@::Never]



=== TEST 3: org_inactive
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /o/frozen/x
--- more_headers eval: ::auth('ok')
--- error_code: 403
--- no_error_log eval: [@::Never]



=== TEST 4: digest mismatch
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /o/acme/x
--- more_headers eval: ::auth('mismatch')
--- error_code: 401
--- no_error_log eval: [@::Never]



=== TEST 5: unknown key
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /o/acme/x
--- more_headers eval: ::auth('unknown')
--- error_code: 401
--- no_error_log eval: [@::Never]



=== TEST 6: malformed (too long)
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /o/acme/x
--- more_headers eval: ::auth('long')
--- error_code: 401
--- no_error_log eval: [@::Never]



=== TEST 7: revoked
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /o/acme/x
--- more_headers eval: ::auth('revoked')
--- error_code: 401
--- no_error_log eval: [@::Never]



=== TEST 8: expired
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /o/acme/x
--- more_headers eval: ::auth('expired')
--- error_code: 401
--- no_error_log eval: [@::Never]



=== TEST 9: user inactive
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /o/acme/x
--- more_headers eval: ::auth('inactive')
--- error_code: 401
--- no_error_log eval: [@::Never]



=== TEST 10: duplicate Authorization: neither value is logged
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /o/acme/x
--- more_headers eval
::auth('ok') . "\r\n" . ::auth('revoked')
--- error_code: 400
--- no_error_log eval: [@::Never]



=== TEST 11: another scheme: the module never logs its credentials
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /o/acme/x
--- more_headers
Authorization: Basic c2VjcmV0LXVzZXI6c2VjcmV0LXBhc3M=
--- error_code: 401
--- error_log
validibot: refused: missing, not a Bearer credential
--- no_error_log eval
[qr/^(?!.* http header: ").*c2VjcmV0LXVzZXI6c2VjcmV0LXBhc3M=/]



=== TEST 12: Redis unreachable
--- http_config eval
my $c = $::HttpConfig;
$c =~ s{redis://[^;]+;}{unix:\$TEST_NGINX_HTML_DIR/no-redis.sock;};
$c
--- config eval: $::Config
--- user_files
>>> no-redis.sock
not a socket
--- request
GET /down
--- more_headers eval: ::auth('ok')
--- error_code: 503
--- no_error_log eval: [@::Never]



=== TEST 13: hide_credentials off: the key goes upstream (the operator asked), still not logged by the module
--- http_config eval: $::HttpConfig
--- config eval
my $c = $::Config;
$c =~ s/validibot_auth API;/validibot_auth API; validibot_hide_credentials off;/;
$c
--- request
GET /o/acme/x
--- more_headers eval: ::auth('ok')
--- response_body eval
"auth=[Bearer $::K{ok}] user=3\n"
