# validibot_require: every role against every permission code of
# REFERENCE.md's table, role codes, owner/admin supersets, methods=, and
# several directives that must all hold.  Each request goes through a
# front location that adds the key of one member, so one block can ask
# as every role.

use Test::Nginx::Socket 'no_plan';
use Validibot::Test;

no_shuffle();

redis_flush_prefix();
add_org('acme');

our @Roles = qw(owner admin author executor analytics_viewer workflow_viewer
                validation_results_viewer none);

our %Key;
my $uid = 100;

for my $role (@Roles) {
    $uid++;
    add_user($uid);
    add_member('acme', $uid, $role eq 'none' ? '' : $role);
    $Key{$role} = make_key(seed => "role-$role", user => $uid);
}

# a member holding two roles, and one with an unknown future role
add_user(200);
add_member('acme', 200, 'ANALYTICS_VIEWER, Executor');
$Key{'executor+analytics'} = make_key(seed => 'two-roles', user => 200);
add_user(201);
add_member('acme', 201, 'space_captain');
$Key{'unknown'} = make_key(seed => 'unknown-role', user => 201);

# permission => roles that grant it (REFERENCE.md section 1)
our %Grants = (
    workflow_launch => [qw(executor admin owner)],
    workflow_view => [qw(owner admin author executor workflow_viewer
                         validation_results_viewer)],
    workflow_edit => [qw(author admin owner)],
    validator_view => [qw(author admin owner)],
    validator_edit => [qw(author admin owner)],
    guest_invite => [qw(author admin owner)],
    validation_results_view_all => [qw(validation_results_viewer author
                                       admin owner)],
    validation_results_view_own => [qw(validation_results_viewer author
                                       admin owner executor)],
    analytics_view => [qw(analytics_viewer author admin owner)],
    analytics_review => [qw(analytics_viewer author admin owner)],
    admin_manage_org => [qw(admin owner)],
    owner => [qw(owner)],
    admin => [qw(admin owner)],
    author => [qw(author admin owner)],
    executor => [qw(executor admin owner)],
    analytics_viewer => [qw(analytics_viewer admin owner)],
    workflow_viewer => [qw(workflow_viewer admin owner)],
    validation_results_viewer => [qw(validation_results_viewer admin owner)],
);

our $HttpConfig = <<'_EOC_';
    validibot_redis redis://127.0.0.1:$TEST_NGINX_REDIS_PORT/0;
    validibot_digest_key 1 $TEST_NGINX_DIGEST_KEY_FILE_V1;

    server {
        listen unix:$TEST_NGINX_HTML_DIR/upstream.sock;
        validibot_identity_headers off;

        location / {
            return 200 "$http_x_validibot_roles\n";
        }
    }
_EOC_

# /as/<who>/<path> asks for /<path> with <who>'s key
sub front {
    my $c = '';
    for my $who (sort keys %Key) {
        $c .= "    location /as/$who/ {\n"
            . "        proxy_set_header Authorization \"Bearer $Key{$who}\";\n"
            . "        proxy_pass http://127.0.0.1:\$TEST_NGINX_SERVER_PORT/;\n"
            . "    }\n";
    }
    return $c;
}

sub checked {
    my ($require) = @_;
    return front() . <<"_EOC_";
    location /orgs/acme/ {
        validibot_auth "API";
        validibot_org acme;
        $require
        proxy_pass http://unix:\$TEST_NGINX_HTML_DIR/upstream.sock;
    }
_EOC_
}

# one block per code: every role asks; 200 where the table grants it
sub code_block {
    my ($code) = @_;
    my %ok = map { $_ => 1 } @{ $Grants{$code} };
    my @who = @Roles;
    return {
        config => checked("validibot_require $code;"),
        requests => [map { "GET /as/$_/orgs/acme/x" } @who],
        codes => [map { $ok{$_} ? 200 : 403 } @who],
    };
}

our %Block = map { $_ => code_block($_) } keys %Grants;

run_tests();

__DATA__

=== TEST 1: workflow_launch: executor, admin, owner (not author)
--- http_config eval: $::HttpConfig
--- config eval: $::Block{workflow_launch}{config}
--- request eval: $::Block{workflow_launch}{requests}
--- error_code eval: $::Block{workflow_launch}{codes}



=== TEST 2: workflow_view: every role but analytics_viewer
--- http_config eval: $::HttpConfig
--- config eval: $::Block{workflow_view}{config}
--- request eval: $::Block{workflow_view}{requests}
--- error_code eval: $::Block{workflow_view}{codes}



=== TEST 3: workflow_edit
--- http_config eval: $::HttpConfig
--- config eval: $::Block{workflow_edit}{config}
--- request eval: $::Block{workflow_edit}{requests}
--- error_code eval: $::Block{workflow_edit}{codes}



=== TEST 4: validator_view
--- http_config eval: $::HttpConfig
--- config eval: $::Block{validator_view}{config}
--- request eval: $::Block{validator_view}{requests}
--- error_code eval: $::Block{validator_view}{codes}



=== TEST 5: validator_edit
--- http_config eval: $::HttpConfig
--- config eval: $::Block{validator_edit}{config}
--- request eval: $::Block{validator_edit}{requests}
--- error_code eval: $::Block{validator_edit}{codes}



=== TEST 6: guest_invite
--- http_config eval: $::HttpConfig
--- config eval: $::Block{guest_invite}{config}
--- request eval: $::Block{guest_invite}{requests}
--- error_code eval: $::Block{guest_invite}{codes}



=== TEST 7: validation_results_view_all
--- http_config eval: $::HttpConfig
--- config eval: $::Block{validation_results_view_all}{config}
--- request eval: $::Block{validation_results_view_all}{requests}
--- error_code eval: $::Block{validation_results_view_all}{codes}



=== TEST 8: validation_results_view_own adds executor
--- http_config eval: $::HttpConfig
--- config eval: $::Block{validation_results_view_own}{config}
--- request eval: $::Block{validation_results_view_own}{requests}
--- error_code eval: $::Block{validation_results_view_own}{codes}



=== TEST 9: analytics_view
--- http_config eval: $::HttpConfig
--- config eval: $::Block{analytics_view}{config}
--- request eval: $::Block{analytics_view}{requests}
--- error_code eval: $::Block{analytics_view}{codes}



=== TEST 10: analytics_review
--- http_config eval: $::HttpConfig
--- config eval: $::Block{analytics_review}{config}
--- request eval: $::Block{analytics_review}{requests}
--- error_code eval: $::Block{analytics_review}{codes}



=== TEST 11: admin_manage_org
--- http_config eval: $::HttpConfig
--- config eval: $::Block{admin_manage_org}{config}
--- request eval: $::Block{admin_manage_org}{requests}
--- error_code eval: $::Block{admin_manage_org}{codes}



=== TEST 12: role code owner: only owner
--- http_config eval: $::HttpConfig
--- config eval: $::Block{owner}{config}
--- request eval: $::Block{owner}{requests}
--- error_code eval: $::Block{owner}{codes}



=== TEST 13: role code admin: admin and owner
--- http_config eval: $::HttpConfig
--- config eval: $::Block{admin}{config}
--- request eval: $::Block{admin}{requests}
--- error_code eval: $::Block{admin}{codes}



=== TEST 14: role code author: author, admin, owner
--- http_config eval: $::HttpConfig
--- config eval: $::Block{author}{config}
--- request eval: $::Block{author}{requests}
--- error_code eval: $::Block{author}{codes}



=== TEST 15: role code executor
--- http_config eval: $::HttpConfig
--- config eval: $::Block{executor}{config}
--- request eval: $::Block{executor}{requests}
--- error_code eval: $::Block{executor}{codes}



=== TEST 16: role code analytics_viewer
--- http_config eval: $::HttpConfig
--- config eval: $::Block{analytics_viewer}{config}
--- request eval: $::Block{analytics_viewer}{requests}
--- error_code eval: $::Block{analytics_viewer}{codes}



=== TEST 17: role code workflow_viewer
--- http_config eval: $::HttpConfig
--- config eval: $::Block{workflow_viewer}{config}
--- request eval: $::Block{workflow_viewer}{requests}
--- error_code eval: $::Block{workflow_viewer}{codes}



=== TEST 18: role code validation_results_viewer
--- http_config eval: $::HttpConfig
--- config eval: $::Block{validation_results_viewer}{config}
--- request eval: $::Block{validation_results_viewer}{requests}
--- error_code eval: $::Block{validation_results_viewer}{codes}



=== TEST 19: several codes in one directive: any of them will do
--- http_config eval: $::HttpConfig
--- config eval
::checked("validibot_require analytics_viewer workflow_launch;")
--- request eval
["GET /as/analytics_viewer/orgs/acme/x", "GET /as/executor/orgs/acme/x",
 "GET /as/author/orgs/acme/x", "GET /as/workflow_viewer/orgs/acme/x"]
--- error_code eval
[200, 200, 403, 403]



=== TEST 20: several directives: all of them must hold
--- http_config eval: $::HttpConfig
--- config eval
::checked("validibot_require workflow_launch; validibot_require analytics_view;")
--- request eval
["GET /as/executor/orgs/acme/x", "GET /as/analytics_viewer/orgs/acme/x",
 "GET /as/executor+analytics/orgs/acme/x", "GET /as/admin/orgs/acme/x"]
--- error_code eval
[403, 403, 200, 200]



=== TEST 21: methods=: POST needs workflow_launch, GET workflow_view
--- http_config eval: $::HttpConfig
--- config eval
::checked("validibot_require workflow_launch methods=POST; validibot_require workflow_view methods=GET,HEAD;")
--- request eval
["POST /as/author/orgs/acme/x", "GET /as/author/orgs/acme/x",
 "POST /as/executor/orgs/acme/x", "GET /as/analytics_viewer/orgs/acme/x",
 "PUT /as/analytics_viewer/orgs/acme/x"]
--- error_code eval
[403, 200, 200, 403, 200]



=== TEST 22: the roles go upstream in canonical form; unknown roles grant nothing
--- http_config eval: $::HttpConfig
--- config eval
::checked("")
--- request eval
["GET /as/executor+analytics/orgs/acme/x", "GET /as/unknown/orgs/acme/x",
 "GET /as/none/orgs/acme/x"]
--- response_body eval
["executor,analytics_viewer\n", "\n", "\n"]
--- error_code eval
[200, 200, 200]



=== TEST 23: a member with no role passes where nothing is required
--- http_config eval: $::HttpConfig
--- config eval
::checked("validibot_require workflow_view methods=POST;")
--- request eval
["GET /as/none/orgs/acme/x", "POST /as/none/orgs/acme/x"]
--- error_code eval
[200, 403]
