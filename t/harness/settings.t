# Self-test of the harness's file-level settings, against plain nginx:
# master_on + workers, no_root_location, add_block_preprocessor,
# env_to_nginx, shutdown_error_log, response_body_filters, error_code_like,
# raw_response_headers_like.  Same counts under the real Test::Nginx.

BEGIN {
    $ENV{TEST_NGINX_LOAD_MODULES} = '';
}

use Test::Nginx::Socket;

master_on();
workers(2);
no_root_location();
env_to_nginx('VALIDIBOT_SELFTEST=1');
no_shuffle();

add_block_preprocessor(sub {
    my $block = shift;

    if (!defined $block->config) {
        $block->set_value('config', <<'_EOC_');
    location = /t { return 200 "default config\n"; }
    location / { return 404; }
_EOC_
    }
});

plan tests => repeat_each() * (3 + 1 + 2 + 2 + 3);

run_tests();

__DATA__

=== TEST 1: config from a block preprocessor; a master with two workers
# status 1 + body 1 + error_log 1 (+ 1 shutdown_error_log, checked when
# this nginx stops)
--- request
GET /t
--- response_body
default config
--- error_log eval
qr/\[notice\] .*start worker process \d+/
--- shutdown_error_log
gracefully shutting down



=== TEST 2: no_root_location lets a block define location /
# status 1 + body 1
--- config
    location / { return 200 "our own root\n"; }
--- request
GET /anything
--- response_body
our own root



=== TEST 3: response_body_filters
# status 1 + body 1
--- config
    location = /t { return 200 "hello\n"; }
--- request
GET /t
--- response_body_filters
uc
--- response_body
HELLO



=== TEST 4: error_code_like and raw_response_headers_like
# status 1 + raw headers 1 + body 1
--- config
    location = /t { return 302 /elsewhere; }
--- request
GET /t
--- error_code_like: ^30[12]$
--- raw_response_headers_like: \r\nLocation: http://localhost:\d+/elsewhere\r\n
--- response_body_like: 302 Found
