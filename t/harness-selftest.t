# Self-test of the test harness, against plain nginx (no module needed).
# It must pass, with the same number of tests, under our t/lib harness and
# under the real Test::Nginx:
#
#   scripts/test.sh t/harness-selftest.t
#   TEST_NGINX_LIB=/tmp/test-nginx/lib scripts/test.sh t/harness-selftest.t

BEGIN {
    # plain nginx: a broken module build must not fail the harness test
    $ENV{TEST_NGINX_LOAD_MODULES} = '';
}

use Test::Nginx::Socket;

repeat_each(2);

# per block, in order; the comments at each block say where it comes from
plan tests => repeat_each() * (7 + 4 + 5 + 2 + 2 + 9 + 3 + 2 + 3 + 4
                               + 4 + 4 + 2 + 2 + 2 + 2 + 2 + 3 + 3);

run_tests();

__DATA__

=== TEST 1: return, add_header, response_headers with an absent header
# status 1 + 3 header lines + body 1 + 2 no_error_log patterns = 7
--- config
    location = /t {
        add_header X-Test "a b" always;
        return 200 "hello\n";
    }
--- request
GET /t
--- response_headers
X-Test: a b
Content-Type: text/plain
!X-Absent
--- response_body
hello
--- no_error_log
[error]
[warn]



=== TEST 2: proxy to a unix-socket server defined in http_config
# status 1 + body 1 + error_log 1 + no_error_log 1 = 4
--- http_config
    server {
        listen unix:$TEST_NGINX_SERVER_ROOT/logs/backend.sock;
        location / {
            return 200 "backend saw $request_method $request_uri x=$http_x_foo\n";
        }
    }
--- config
    location /p/ {
        proxy_pass http://unix:$TEST_NGINX_SERVER_ROOT/logs/backend.sock:/b/;
    }
--- request
GET /p/abc?q=1
--- more_headers
X-Foo: bar
--- response_body
backend saw GET /b/abc?q=1 x=bar
--- error_log
http proxy status 200
--- no_error_log
[error]



=== TEST 3: error_log as an eval list of a regex and a string
# status 1 + body_like 1 + 2 error_log + 1 no_error_log = 5
--- config
    location = /t { return 200 "ok\n"; }
--- request
GET /missing.html
--- error_code: 404
--- response_body_like: 404 Not Found
--- error_log eval
[qr/\[error\] .*open\(\) ".*missing\.html" failed/,
 "No such file or directory"]
--- no_error_log eval
qr/\[(?:alert|crit|emerg)\]/



=== TEST 4: must_die with a bad directive, error_log on nginx's startup log
# die 1 + error_log 1 = 2 (no request is sent)
--- config
    location = /t {
        bogus_directive on;
        return 200 "x";
    }
--- request
GET /t
--- must_die
--- suppress_stderr
--- error_log
unknown directive "bogus_directive"



=== TEST 5: must_die with the expected exit code
# exit code 1 + error_log 1 = 2
--- config
    location = /t {
        return 200 a b c;
    }
--- request
GET /t
--- must_die: 1
--- suppress_stderr
--- error_log eval
qr/\[emerg\] .*invalid number of arguments in "return" directive/



=== TEST 6: an eval array of requests, each counted
# 3 requests x (status 1 + body 1 + no_error_log 1) = 9
--- config
    location = /a { return 200 "A\n"; }
    location = /b { return 404; }
    location = /c { return 201 "C $request_method $content_length\n"; }
--- request eval
["GET /a", "GET /b", "POST /c\nhello body"]
--- error_code eval
[200, 404, 201]
--- response_body eval
["A\n", qr/404 Not Found/, "C POST 10\n"]
--- no_error_log
[error]



=== TEST 7: raw_request with a duplicate Host header
# status 1 + body_like 1 + error_log 1 = 3
--- config
    location = /t { return 200 "ok\n"; }
--- raw_request eval
"GET /t HTTP/1.1\r
Host: localhost\r
Host: example.com\r
Connection: close\r
\r
"
--- error_code: 400
--- response_body_like: 400 Bad Request
--- error_log
client sent duplicate host header



=== TEST 8: raw_request with binary bytes in the request line
# status 1 + error_log 1 = 2
--- config
    location = /t { return 200 "ok\n"; }
--- raw_request eval
"GET /t\x00\x01\xff HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
--- error_code: 400
--- error_log
client sent invalid request



=== TEST 9: duplicate request headers reach upstream, duplicate response headers join
# status 1 + 1 header + body 1 = 3
# $http_x_dup is the first value up to nginx 1.22, both joined from 1.23
--- http_config
    server {
        listen unix:$TEST_NGINX_SERVER_ROOT/logs/dup.sock;
        location / {
            add_header X-Dup one;
            add_header X-Dup two;
            return 200 "first=$http_x_dup\n";
        }
    }
--- config
    location /dup {
        proxy_pass http://unix:$TEST_NGINX_SERVER_ROOT/logs/dup.sock;
    }
--- request
GET /dup
--- more_headers
X-Dup: 1
X-Dup: 2
--- response_headers
X-Dup: one, two
--- response_body_like chomp
\Afirst=1(, 2)?\n\z



=== TEST 10: SSI include virtual fans out to proxied locations (chunked)
# status 1 + 2 header lines + body 1 = 4
--- http_config
    server {
        listen unix:$TEST_NGINX_SERVER_ROOT/logs/ssi.sock;
        location / {
            return 200 "part $uri;";
        }
    }
--- config
    location = /page {
        ssi on;
        default_type text/html;
        return 200 '<!--# include virtual="/part/one" -->+<!--# include virtual="/part/two" -->+<!--# include virtual="/static.txt" -->';
    }
    location /part/ {
        proxy_pass http://unix:$TEST_NGINX_SERVER_ROOT/logs/ssi.sock:/;
    }
--- user_files
>>> static.txt
static
--- request
GET /page
--- response_headers
Transfer-Encoding: chunked
!Content-Length
--- response_body
part /one;+part /two;+static



=== TEST 11: user_files in subdirectories
# status 1 + body 1 + headers_like 2 = 4
--- config
    location = /t { return 204; }
--- user_files
>>> sub/dir/hello.txt
hello from a user file
>>> other.txt
other
--- request
GET /sub/dir/hello.txt
--- response_headers_like
Last-Modified: .+ GMT
ETag: "[0-9a-f]+-[0-9a-f]+"
--- response_body
hello from a user file



=== TEST 12: pipelined requests on one connection
# 2 responses x (status 1 + body 1) = 4
--- config
    location = /p { return 200 "p$arg_n\n"; }
--- pipelined_requests eval
["GET /p?n=1", "GET /p?n=2"]
--- response_body eval
["p1\n", "p2\n"]



=== TEST 13: a huge header (more_headers eval)
# status 1 + body_like 1 = 2
--- config
    location = /t { return 200 "ok\n"; }
--- request
GET /t
--- more_headers eval
"X-Big: " . ("a" x 10000)
--- error_code: 400
--- response_body_like: Request Header Or Cookie Too Large



=== TEST 14: init runs after the server root is set up, before the request
# status 1 + body 1 = 2
--- config
    location = /t { return 200 "ok\n"; }
--- init
open my $out, '>', "$Test::Nginx::Util::HtmlDir/from-init.txt" or die $!;
print $out "written by init\n";
close $out;
--- request
GET /from-init.txt
--- response_body
written by init



=== TEST 15: a request split into packets with a delay
# status 1 + body 1 = 2
--- config
    location /packet { return 200 "uri=$uri\n"; }
--- request eval
[["GET /pa", {value => "cket", delay_before => 0.05}]]
--- response_body
uri=/packet



=== TEST 16: per-block log_level and main_config
# status 1 + no_error_log 1 = 2
--- main_config
    worker_rlimit_nofile 1024;
--- log_level: warn
--- config
    location = /t { return 200 "ok\n"; }
--- request
GET /t
--- no_error_log
[debug]



=== TEST 17: tcp_listen backend that never answers: client timeout with abort
# tcp_query 1 + error_log 1 = 2 (ignore_response: no status/body checks)
# proxy_http_version is 1.0 by default up to nginx 1.29.6, 1.1 from 1.29.7
--- config
    location = /slow {
        proxy_pass http://127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        proxy_read_timeout 10s;
    }
--- tcp_listen: $TEST_NGINX_RAND_PORT_1
--- tcp_no_close
--- tcp_reply eval
""
--- tcp_query eval
qr{^GET /slow HTTP/1\.[01]\r\n}
--- request
GET /slow
--- timeout: 300ms
--- abort
--- ignore_response
--- wait: 0.1
--- error_log
prematurely closed connection



=== TEST 18: tcp_listen backend with a canned reply
# status 1 + 1 header + body 1 = 3
--- config
    location = /canned {
        proxy_pass http://127.0.0.1:$TEST_NGINX_RAND_PORT_1;
    }
--- tcp_listen: $TEST_NGINX_RAND_PORT_1
--- tcp_reply eval
"HTTP/1.0 200 OK\r\nX-Backend: canned\r\nContent-Length: 3\r\n\r\nabc"
--- request
GET /canned
--- response_headers
X-Backend: canned
--- response_body chop
abc



=== TEST 19: HEAD: Content-Length but no body
# status 1 + 1 header + body 1 = 3
--- config
    location = /t { return 200 "hello\n"; }
--- request
HEAD /t
--- response_headers
Content-Length: 6
--- response_body eval
""
