# validibot_redis_password_file: the Redis password (or "user password")
# read from a file at configuration time, so nginx.conf holds no secret.
# nginx -t names the file and the problem, never its content.  A refused
# handshake is an error once per reconnect cycle, info while it repeats.

use Test::Nginx::Socket 'no_plan';
use Validibot::Test;
use IO::Socket::INET;
use Time::HiRes ();

no_shuffle();
log_level('info');

sub seed {
    redis_flush_prefix();
    add_user(5);
    make_key(seed => 'password-file', user => 5);
}

our $ok = seed();

our $HttpConfig = echo_http_config(
    'validibot_redis redis://127.0.0.1:$TEST_NGINX_REDIS_PORT/0;',
    'validibot_redis_password_file ../html/redis.pass;',
    'validibot_redis_connections 1;',
);

our $Config = echo_config();

run_tests();

__DATA__

=== TEST 1: an ACL user from "user password" in the file
--- init
Validibot::Test::redis_cmd('ACL', 'SETUSER', 'vbfile', 'reset', 'on',
                           '>f1le-pass', '~*', '&*', '+@all');
::seed();
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- user_files
>>> redis.pass
vbfile f1le-pass
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::ok"
--- error_code: 200
--- response_body
user=5
--- no_error_log
f1le-pass
[error]



=== TEST 2: a wrong password: 503; the refusal is an error once, then info at each reconnect
--- init
# two requests before the block's own, each after the backoff ran out
::nginx_get('/t', $::ok) == 503 or die 'expected 503';
Time::HiRes::sleep(0.5);
::nginx_get('/t', $::ok) == 503 or die 'expected 503';
Time::HiRes::sleep(0.8);
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- user_files
>>> redis.pass
vbfile wrong-pass
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::ok"
--- error_code: 503
--- grep_error_log eval
qr/\[(?:error|info)\](?= \d+#\d+: validibot: redis \S+ refused the handshake: WRONGPASS)/
--- grep_error_log_out
[error]
[info]
[info]
--- no_error_log
wrong-pass



=== TEST 3: the handshake works again after a refusal: a notice, and 200
--- init
Validibot::Test::redis_cmd('ACL', 'SETUSER', 'vbfile', 'off');
::seed();
::nginx_get('/t', $::ok) == 503 or die 'expected 503';
Validibot::Test::redis_cmd('ACL', 'SETUSER', 'vbfile', 'on');
Time::HiRes::sleep(0.5);
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- user_files
>>> redis.pass
vbfile f1le-pass
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::ok"
--- error_code: 200
--- response_body
user=5
--- error_log eval
[qr/\[error\] .*refused the handshake: WRONGPASS/,
 qr/\[notice\] .*validibot: redis \S+ accepted the handshake again/]



=== TEST 4: no such file: nginx -t names it
--- http_config
    validibot_redis_password_file /nonexistent/redis.pass;
--- config
--- must_die
--- error_log
"validibot_redis_password_file": cannot open "/nonexistent/redis.pass"



=== TEST 5: a directory, not a file: cannot be read
--- http_config
    validibot_redis_password_file ../html;
--- config
--- must_die
--- error_log eval
qr/"validibot_redis_password_file": cannot read ".*html"/



=== TEST 6: an empty file
--- http_config
    validibot_redis_password_file ../html/redis.pass;
--- config
--- user_files
>>> redis.pass

--- must_die
--- error_log eval
qr/"validibot_redis_password_file": ".*redis\.pass" is empty/



=== TEST 7: three words: refused, and none of them is shown
--- http_config
    validibot_redis_password_file ../html/redis.pass;
--- config
--- user_files
>>> redis.pass
alice s3cret-one s3cret-two
--- must_die
--- error_log eval
qr/"validibot_redis_password_file": ".*redis\.pass" has more than two words/
--- no_error_log
s3cret



=== TEST 8: a password in the URL and a password file: refused
--- http_config
    validibot_redis_password_file ../html/redis.pass;
    validibot_redis redis://u:s3cret@127.0.0.1:6379/0;
--- config
--- user_files
>>> redis.pass
pw
--- must_die
--- error_log
"validibot_redis": a password in "redis://***@127.0.0.1:6379/0" and in "validibot_redis_password_file"
--- no_error_log
s3cret



=== TEST 9: the other order: the URL first
--- http_config
    validibot_redis redis://u:s3cret@127.0.0.1:6379/0;
    validibot_redis_password_file ../html/redis.pass;
--- config
--- user_files
>>> redis.pass
pw
--- must_die
--- error_log
"validibot_redis_password_file": the URL of "validibot_redis" has a password already



=== TEST 10: twice
--- http_config
    validibot_redis_password_file ../html/redis.pass;
    validibot_redis_password_file ../html/redis.pass;
--- config
--- user_files
>>> redis.pass
pw
--- must_die
--- error_log
"validibot_redis_password_file" directive is duplicate
