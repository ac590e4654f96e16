# nginx -t for the issue-6 directives not covered in t/008 and t/009.

use Test::Nginx::Socket 'no_plan';
use Validibot::Test;

our $Key = <<'_EOC_';
    validibot_digest_key 1 $TEST_NGINX_DIGEST_KEY_FILE_V1;
_EOC_

run_tests();

__DATA__

=== TEST 1: validibot_expiry_leeway: not a time
--- http_config eval: $::Key
--- config
    location /x { validibot_expiry_leeway a-bit; }
--- must_die
--- error_log
"validibot_expiry_leeway" directive invalid value



=== TEST 2: validibot_status takes no argument
--- http_config eval: $::Key
--- config
    location /x { validibot_status on; }
--- must_die
--- error_log
invalid number of arguments in "validibot_status" directive



=== TEST 3: validibot_whoami is not allowed at server level
--- http_config eval: $::Key
--- config
    validibot_whoami;
--- must_die
--- error_log
"validibot_whoami" directive is not allowed here



=== TEST 4: validibot_usage_interval is http-level only
--- http_config eval: $::Key
--- config
    location /x { validibot_usage_interval 1h; }
--- must_die
--- error_log
"validibot_usage_interval" directive is not allowed here



=== TEST 5: validibot_fail_zone twice with the same name
--- http_config eval
$::Key . "validibot_fail_zone f:1m; validibot_fail_zone f:1m;"
--- config
--- must_die
--- error_log
"validibot_fail_zone"



=== TEST 6: validibot_fail_limit is not allowed at http level
--- http_config eval
$::Key . "validibot_fail_zone f:1m; validibot_fail_limit zone=f max=3 window=1m;"
--- config
--- must_die
--- error_log
"validibot_fail_limit" directive is not allowed here



=== TEST 7: validibot_max_key_age twice in one location
--- http_config eval: $::Key
--- config
    location /x { validibot_max_key_age 90d; validibot_max_key_age off; }
--- must_die
--- error_log
"validibot_max_key_age" directive is duplicate
