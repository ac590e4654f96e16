# Many requests in flight at once, each with its own key, pipelined on the
# worker's few Redis connections: every one reaches the upstream with its
# own identity, and replies never cross.  The fan-out is nginx's own: SSI
# includes run in parallel, each a proxied request back to this server.

use Test::Nginx::Socket 'no_plan';
use Validibot::Test;

no_shuffle();
worker_connections(1024);

our $N = 60;

redis_flush_prefix();
add_org('acme');

our (@Keys, $Page, $Expected, $Front);

for my $i (1 .. $N) {
    my $user = 1000 + $i;
    add_user($user);
    add_member('acme', $user, $i % 2 ? 'executor' : 'author');
    push @Keys, make_key(seed => "many-$i", user => $user);
}

# every third request carries a wrong secret: refused, in its own place
for my $i (1 .. $N) {
    my $k = $Keys[$i - 1];
    if ($i % 3 == 0) {
        $k = substr($k, 0, -1) . (substr($k, -1) eq '0' ? '1' : '0');
    }
    $Page .= qq{<!--# include virtual="/as/$i/o/acme/x" -->};
    $Front .= "    location = /as/$i/o/acme/x {\n"
            . "        proxy_set_header Authorization \"Bearer $k\";\n"
            . "        proxy_intercept_errors off;\n"
            . "        proxy_pass http://127.0.0.1:\$TEST_NGINX_SERVER_PORT/o/acme/x?i=$i;\n"
            . "    }\n";
    my $user = 1000 + $i;
    my $roles = $i % 2 ? 'executor' : 'author';
    $Expected .= $i % 3 == 0
                 ? '{"detail":"Invalid API key","code":"authentication_failed"}'
                 : "[$i user=$user roles=$roles key=" . key_public_id($k) . "]";
}

our $HttpConfig = <<'_EOC_';
    validibot_redis redis://127.0.0.1:$TEST_NGINX_REDIS_PORT/0;
    validibot_redis_connections 2;
    validibot_digest_key 1 $TEST_NGINX_DIGEST_KEY_FILE_V1;

    server {
        listen unix:$TEST_NGINX_HTML_DIR/upstream.sock;
        validibot_identity_headers off;
        location / {
            return 200 "[$arg_i user=$http_x_validibot_user roles=$http_x_validibot_roles key=$http_x_validibot_key_id]";
        }
    }
_EOC_

our $Config = $Front . <<'_EOC_';
    location = /fan {
        ssi on;
        ssi_types text/plain;
        default_type text/plain;
        root html;
        try_files /page.txt =404;
    }

    location ~ ^/o/(?<org>[^/]+)/ {
        validibot_auth API;
        validibot_org $org;
        proxy_pass http://unix:$TEST_NGINX_HTML_DIR/upstream.sock;
    }
_EOC_

run_tests();

__DATA__

=== TEST 1: 60 concurrent requests, 60 keys, each gets its own identity
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- user_files eval
">>> page.txt\n$::Page"
--- request
GET /fan
--- response_body eval: $::Expected
--- timeout: 10
--- no_error_log
[alert]
[crit]
unexpected reply



=== TEST 2: the same with one Redis connection
--- http_config eval
my $c = $::HttpConfig;
$c =~ s/validibot_redis_connections 2/validibot_redis_connections 1/;
$c
--- config eval: $::Config
--- user_files eval
">>> page.txt\n$::Page"
--- request
GET /fan
--- response_body eval: $::Expected
--- timeout: 10
--- no_error_log
[alert]
[crit]
