# What reaches the upstream and the client: identity headers, spoofed
# X-Validibot-* headers, hidden credentials, variables, error_page and
# satisfy any, and odd Authorization values.

use Test::Nginx::Socket 'no_plan';
use Validibot::Test;

no_shuffle();
log_level('info');

redis_flush_prefix();
add_user(7);
add_org('acme');
add_member('acme', 7, 'executor,author');

our $ok = make_key(seed => 'headers-ok', user => 7);
our $ok_id = key_public_id($ok);

# the same key but for its last character
our $bad = substr($ok, 0, -1) . (substr($ok, -1) eq '0' ? '1' : '0');

our $HttpConfig = <<'_EOC_';
    validibot_redis redis://127.0.0.1:$TEST_NGINX_REDIS_PORT/0;
    validibot_digest_key 1 $TEST_NGINX_DIGEST_KEY_FILE_V1;

    server {
        listen unix:$TEST_NGINX_HTML_DIR/upstream.sock;
        validibot_identity_headers off;

        location / {
            return 200 "user=$http_x_validibot_user org=$http_x_validibot_org roles=$http_x_validibot_roles key=$http_x_validibot_key_id other=$http_x_validibot_other auth=$http_authorization\n";
        }
    }
_EOC_

our $Up = 'proxy_pass http://unix:$TEST_NGINX_HTML_DIR/upstream.sock;';

run_tests();

__DATA__

=== TEST 1: spoofed identity headers are dropped and replaced, any case, any number
--- http_config eval: $::HttpConfig
--- config eval
"location ~ ^/o/(?<org>[^/]+)/ { validibot_auth API; validibot_org \$org; $::Up }"
--- request
GET /o/acme/x
--- more_headers eval
"X-Validibot-User: 1\r\nx-validibot-user: 2\r\nX-VALIDIBOT-ROLES: owner\r\nX-Validibot-Org: evil\r\nX-Validibot-Other: x\r\nAuthorization: Bearer $::ok"
--- response_body eval
"user=7 org=acme roles=author,executor key=$::ok_id other= auth=\n"
--- error_log
dropped client header "X-Validibot-User"
dropped client header "X-VALIDIBOT-ROLES"
dropped client header "X-Validibot-Other"



=== TEST 2: spoofed identity headers are dropped where auth is off too
--- http_config eval: $::HttpConfig
--- config eval
"location /public { $::Up }"
--- request
GET /public
--- more_headers
X-Validibot-User: 1
X-Validibot-Roles: owner
Authorization: Bearer whatever
--- response_body
user= org= roles= key= other= auth=Bearer whatever



=== TEST 3: spoofed identity headers are dropped on a refusal as well
--- http_config eval: $::HttpConfig
--- config eval
"location /t { validibot_auth API; $::Up }"
--- request
GET /t
--- more_headers
X-Validibot-User: 1
--- error_code: 401
--- error_log
dropped client header "X-Validibot-User"
validibot: refused: missing



=== TEST 4: validibot_identity_headers off: nothing added, nothing dropped
--- http_config eval: $::HttpConfig
--- config eval
"location /t { validibot_auth API; validibot_identity_headers off; $::Up }"
--- request
GET /t
--- more_headers eval
"X-Validibot-Other: kept\r\nAuthorization: Bearer $::ok"
--- response_body
user= org= roles= key= other=kept auth=



=== TEST 5: validibot_hide_credentials off: Authorization goes upstream
--- http_config eval: $::HttpConfig
--- config eval
"location /t { validibot_auth API; validibot_hide_credentials off; $::Up }"
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::ok"
--- response_body eval
"user=7 org= roles= key=$::ok_id other= auth=Bearer $::ok\n"



=== TEST 6: variables after a success
--- http_config eval: $::HttpConfig
--- config eval
"location ~ ^/o/(?<org>[^/]+)/ { validibot_auth API; validibot_org \$org;
   add_header X-S \$validibot_auth_status; add_header X-U \$validibot_user;
   add_header X-O \$validibot_org; add_header X-R \$validibot_roles;
   add_header X-K \$validibot_key_id; $::Up }"
--- request
GET /o/acme/x
--- more_headers eval
"Authorization: Bearer $::ok"
--- response_headers eval
"X-S: ok\nX-U: 7\nX-O: acme\nX-R: author,executor\nX-K: $::ok_id"



=== TEST 7: variables after a refusal: the status and the public id, no identity
--- http_config eval: $::HttpConfig
--- config eval
"location /t { validibot_auth API;
   add_header X-S \$validibot_auth_status always;
   add_header X-K \$validibot_key_id always;
   add_header X-U \$validibot_user always; $::Up }"
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::bad"
--- error_code: 401
--- response_headers eval
"X-S: invalid\nX-K: $::ok_id\n!X-U"



=== TEST 8: variables are empty where the check did not run
--- http_config eval: $::HttpConfig
--- config
    location /t {
        return 200 "[$validibot_auth_status][$validibot_user][$validibot_key_id]\n";
    }
--- request
GET /t
--- response_body
[][][]



=== TEST 9: an error_page of the operator takes precedence over the JSON body
--- http_config eval: $::HttpConfig
--- config eval
"location /t { validibot_auth API; error_page 401 /denied; $::Up }
 location = /denied { internal; default_type text/plain; return 401 \"see the docs\\n\"; }"
--- request
GET /t
--- error_code: 401
--- response_headers
Content-Type: text/plain
WWW-Authenticate: Bearer realm="API"
--- response_body
see the docs



=== TEST 10: satisfy any: an allowed address passes without a key, no challenge
--- http_config eval: $::HttpConfig
--- config eval
"location /t { satisfy any; allow 127.0.0.1; deny all; validibot_auth API; $::Up }"
--- request
GET /t
--- error_code: 200
--- response_headers
!WWW-Authenticate
--- response_body
user= org= roles= key= other= auth=



=== TEST 10b: satisfy any: an allowed address with a key, valid or not: the key never goes upstream
--- http_config eval: $::HttpConfig
--- config eval
"location /t { satisfy any; allow 127.0.0.1; deny all; validibot_auth API; $::Up }"
--- request eval
["GET /t", "GET /t"]
--- more_headers eval
["Authorization: Bearer $::bad", "Authorization: Bearer $::ok"]
--- error_code eval
[200, 200]
--- response_body eval
["user= org= roles= key= other= auth=\n",
 "user=7 org= roles= key=$::ok_id other= auth=\n"]



=== TEST 10c: a refusal sent by error_page to a location without the check: the key does not go along
--- http_config eval: $::HttpConfig
--- config eval
"location /t { validibot_auth API; error_page 401 403 = /fallback; $::Up }
 location /fallback { $::Up }"
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::bad"
--- error_code: 200
--- response_body
user= org= roles= key= other= auth=



=== TEST 11: satisfy any: a denied address still needs a valid key
--- http_config eval: $::HttpConfig
--- config eval
"location /t { satisfy any; deny all; validibot_auth API; $::Up }"
--- request eval
["GET /t", "GET /t"]
--- more_headers eval
["", "Authorization: Bearer $::ok"]
--- error_code eval
[401, 200]
--- response_body eval
['{"detail":"Authentication required","code":"not_authenticated"}',
 "user=7 org= roles= key=$::ok_id other= auth=\n"]



=== TEST 12: satisfy all: allow/deny and the key must both pass
--- http_config eval: $::HttpConfig
--- config eval
"location /t { deny all; validibot_auth API; $::Up }"
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::ok"
--- error_code: 403
--- response_headers
!WWW-Authenticate



=== TEST 13: HEAD: the status and the challenge, no body
--- http_config eval: $::HttpConfig
--- config eval
"location /t { validibot_auth API; $::Up }"
--- request
HEAD /t
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="API"
Content-Type: application/json
--- response_body



=== TEST 14: a realm with quotes and backslashes is escaped
--- http_config eval: $::HttpConfig
--- config eval
"location /t { validibot_auth 'say \"hi\" \\\\ bye'; $::Up }"
--- request
GET /t
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="say \"hi\" \\ bye"



=== TEST 15: Bearer with no value, tabs, trailing spaces
--- http_config eval: $::HttpConfig
--- config eval
"location /t { validibot_auth API; add_header X-S \$validibot_auth_status always; $::Up }"
--- request eval
["GET /t", "GET /t", "GET /t", "GET /t"]
--- more_headers eval
["Authorization: Bearer", "Authorization: Bearer \t$::ok", "Authorization: Bearer $::ok   ",
 "Authorization: Bearer  x $::ok"]
--- error_code eval
[401, 200, 200, 401]



=== TEST 16: non-ASCII bytes and an 8 KB value are refused as malformed
--- http_config eval: $::HttpConfig
--- config eval
"location /t { validibot_auth API; add_header X-S \$validibot_auth_status always; $::Up }"
--- request eval
["GET /t", "GET /t"]
--- more_headers eval
["Authorization: Bearer \xff\xfe$::ok", "Authorization: Bearer " . ("a" x 7000)]
--- error_code eval
[401, 401]
--- response_headers eval
["X-S: malformed", "X-S: malformed"]



=== TEST 17: a header value over nginx's limit: nginx's own 400, never a pass
--- http_config eval: $::HttpConfig
--- config eval
"location /t { validibot_auth API; $::Up }"
--- request
GET /t
--- more_headers eval
"Authorization: Bearer " . ("a" x 9000)
--- error_code: 400



=== TEST 18: a NUL byte in the header is refused by nginx itself
--- http_config eval: $::HttpConfig
--- config eval
"location /t { validibot_auth API; $::Up }"
--- raw_request eval
"GET /t HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer \0$::ok\r\nConnection: close\r\n\r\n"
--- error_code: 400



=== TEST 19: a duplicate Authorization where the module is off: nginx's plain 400, no values logged
--- http_config eval: $::HttpConfig
--- config eval
"location /t { $::Up }"
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::ok\r\nAuthorization: Basic eA=="
--- error_code: 400
--- response_headers
Content-Type: text/html
--- error_log
client sent duplicate "Authorization" header
--- no_error_log eval
[substr($::ok, 60)]



=== TEST 20: 1,000 spoofed headers: dropped (or refused by nginx itself), never a pass
Debian's nginx limits the number of header lines and answers 400; nginx
from the upstream tarball (the ASan build) takes them: then all are dropped.
--- http_config eval: $::HttpConfig
--- config eval
"large_client_header_buffers 4 64k;
 location /t { validibot_auth API; $::Up }"
--- request
GET /t
--- more_headers eval
join("\r\n", (map { "X-Validibot-Other: $_" } 1 .. 1000), "Authorization: Bearer $::ok")
--- error_code_like: ^(200|400)$
--- response_body_like eval
qr/\A(?:user=7 org= roles= key=[0-9a-f]{32} other= auth=\n|.*400 Request Header Or Cookie Too Large.*)\z/s



=== TEST 21: 50 spoofed headers of each name: all dropped, the key still checked
--- http_config eval: $::HttpConfig
--- config eval
"location /t { validibot_auth API; $::Up }"
--- request eval
["GET /t", "GET /t"]
--- more_headers eval
[join("\r\n", (map { "X-Validibot-Other: $_\r\nX-Validibot-User: $_" } 1 .. 25), "Authorization: BEARER $::ok"),
 join("\r\n", (map { "X-Validibot-User: $_" } 1 .. 50), "Authorization: Bearer $::bad")]
--- error_code eval
[200, 401]
--- response_body eval
["user=7 org= roles= key=$::ok_id other= auth=\n",
 '{"detail":"Invalid API key","code":"authentication_failed"}']
