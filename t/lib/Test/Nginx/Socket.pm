package Test::Nginx::Socket;

# Test::Nginx::Socket for this project: our own implementation of the
# block format of openresty/test-nginx ("Test::Nginx::Socket"), written on
# Test::Base because Test::Nginx is not packaged in Debian.  The same .t
# files run unchanged under the real module (put its lib/ first on @INC);
# TAP counts, section semantics and the nginx.conf layout follow it.
# docs/testing.md describes what is supported.
#
# Note: "use Test::Base -Base" runs Spiffy's source filter, which adds
# "my $self = shift;" to every "sub name {" at the start of a line.  All
# subs below therefore carry a prototype, which the filter leaves alone.

use v5.10.1;
use Test::Base -Base;

our $VERSION = '0.33';

use POSIX ();
use Errno qw(EAGAIN EWOULDBLOCK EINTR EINPROGRESS);
use Time::HiRes ();
use Test::LongString;
use List::Util ();
use IO::Socket::INET;
use IO::Socket::UNIX;
use IO::Select;
use File::Spec;
use File::Path ();
use File::Temp ();
use HTTP::Response;
use Scalar::Util ();
use JSON::PP ();
use Digest::MD5 ();
use Digest::SHA ();
use Encode ();

our @EXPORT = qw(
    env_to_nginx is_str plan run_tests run_test
    repeat_each config_preamble worker_connections
    master_process_enabled
    no_long_string workers master_on master_off
    log_level no_shuffle no_root_location use_hup
    server_name
    server_addr server_root html_dir server_port server_port_for_client
    timeout no_nginx_manager check_accum_error_log
    add_block_preprocessor bail_out add_test_cleanup_handler
    add_cleanup_handler add_response_body_check
);

sub hsleep ($);
sub bail_out (@);
sub is_running ($);
sub kill_process ($$);
sub stop_nginx ($);
sub cleanup;
sub can_run ($);
sub parse_time ($);
sub expand_env_in_text ($$$);
sub gen_rand_port (;$$);
sub get_nginx_version;
sub error_log_data;
sub access_log_data;
sub setup_server_root;
sub write_user_files ($$);
sub write_config_file ($$$);
sub start_nginx ($$$$);
sub run_test ($);
sub run_test_helper ($$$);
sub get_req_from_block ($);
sub build_request ($$$$$);
sub parse_more_headers ($);
sub send_request ($$$$);
sub parse_response ($$$);
sub parse_headers ($);
sub get_indexed_value ($$$$);
sub check_error_code ($$$$$);
sub check_raw_response_headers ($$$$$);
sub check_response_headers ($$$$$$);
sub transform_response_body ($$$);
sub check_response_body ($$$$$$);
sub check_error_log ($$$$$);
sub check_access_log ($$$);
sub check_patterns ($$$$$$$);
sub check_shutdown_error_log ($$);
sub check_prev_block_shutdown_error_log;
sub start_tcp_server ($$);
sub run_tcp_server_tests ($$$);
sub fmt_str ($);
sub no_ending;
sub eval_in_util ($$$);
sub value_contains ($$);
sub get_pid_from_pidfile ($);
sub quote_sh ($);
sub trim_summary ($);
sub run_body_filter ($$$);
sub version_skip ($$);
sub is_str (@);

#
# Settings: the environment variables and functions of the real module.
#

our $Verbose            = $ENV{TEST_NGINX_VERBOSE};
our $RepeatEach         = 1;
our $NoShuffle          = $ENV{TEST_NGINX_NO_SHUFFLE} || 0;
our $NoLongString;
our $ServerAddr         = '127.0.0.1';
our $ServerName         = 'localhost';
our $Timeout            = $ENV{TEST_NGINX_TIMEOUT} || 3;
our $Workers            = 1;
our $WorkerConnections  = 64;
our $LogLevel           = $ENV{TEST_NGINX_LOG_LEVEL} || 'debug';
our $MasterProcessEnabled = $ENV{TEST_NGINX_MASTER_PROCESS} || 'off';
our $DaemonEnabled      = 'on';
our $ServerPort         = $ENV{TEST_NGINX_SERVER_PORT} || $ENV{TEST_NGINX_PORT}
                          || 1984;
our $ServerPortForClient = $ENV{TEST_NGINX_CLIENT_PORT} || $ServerPort;
our $NoRootLocation     = 0;
our $TestNginxSleep     = $ENV{TEST_NGINX_SLEEP} || 0.015;
our $ForceRestartOnTest = defined $ENV{TEST_NGINX_FORCE_RESTART_ON_TEST}
                          ? $ENV{TEST_NGINX_FORCE_RESTART_ON_TEST} : 1;
our $NoNginxManager     = $ENV{TEST_NGINX_NO_NGINX_MANAGER} || 0;
our $CheckAccumErrLog   = $ENV{TEST_NGINX_CHECK_ACCUM_ERR_LOG};
our $LoadModules        = $ENV{TEST_NGINX_LOAD_MODULES};
our $UseValgrind        = $ENV{TEST_NGINX_USE_VALGRIND};
our $EventType          = $ENV{TEST_NGINX_EVENT_TYPE};
our $PostponeOutput     = $ENV{TEST_NGINX_POSTPONE_OUTPUT};
our $WorkerUser         = $ENV{TEST_NGINX_WORKER_USER};
our $Randomize          = $ENV{TEST_NGINX_RANDOMIZE};
our $NginxBinary        = $ENV{TEST_NGINX_BINARY}
                          || (can_run('nginx') ? 'nginx' : '/usr/sbin/nginx');
our $ConfigPreamble     = '';
our $FilterHttpConfig;

our (@EnvToNginx, @BlockPreprocessors, @CleanupHandlers,
     @TestCleanupHandlers, @ResponseBodyChecks);

# state
our ($NginxVersion, $NginxRawVersion, $PrevConfig, $PrevBlock, $RandPorts,
     $ChildPid, $TcpServerPid, $InSubprocess);
our $ErrLogFilePos = 0;
our $FirstTime = 1;
our $TotalConnectingTimeouts = 0;
our $MainPid = $$;

if (defined $WorkerUser && $WorkerUser !~ /^\w[-\w]+(?:\s+\w[-\w]+)?$/) {
    die "Bad value in the env TEST_NGINX_WORKER_USER: $WorkerUser\n";
}

for my $v (qw(TEST_NGINX_USE_HUP TEST_NGINX_CHECK_LEAK TEST_NGINX_BENCHMARK
              TEST_NGINX_USE_HTTP2 TEST_NGINX_USE_HTTP3 TEST_NGINX_USE_STAP
              TEST_NGINX_USE_RR))
{
    if ($ENV{$v}) {
        warn "WARNING: $v is not supported by this Test::Nginx::Socket "
             . "(t/lib); ignored.  Use the real one (TEST_NGINX_LIB).\n";
    }
}

if ($UseValgrind) {
    # valgrind needs nginx in the foreground, as our own child
    $DaemonEnabled = 'off';
}

if ($Randomize) {
    $ServerPort = gen_rand_port(1000)
        // die "Cannot find an available listening port number\n";
    $ServerPortForClient = $ServerPort;
}

our $ServRoot = $Randomize
                ? File::Spec->rel2abs("t/servroot_$ServerPort")
                : ($ENV{TEST_NGINX_SERVROOT}
                   || File::Spec->rel2abs('t/servroot'));
$ENV{TEST_NGINX_SERVER_ROOT} = $ServRoot;

our $LogDir     = File::Spec->catfile($ServRoot, 'logs');
our $ErrLogFile = File::Spec->catfile($LogDir, 'error.log');
our $AccLogFile = File::Spec->catfile($LogDir, 'access.log');
our $HtmlDir    = File::Spec->catfile($ServRoot, 'html');
our $ConfDir    = File::Spec->catfile($ServRoot, 'conf');
our $ConfFile   = File::Spec->catfile($ConfDir, 'nginx.conf');
our $PidFile    = File::Spec->catfile($LogDir, 'nginx.pid');
our $CacheDir   = File::Spec->catfile($ServRoot, 'cache');

# The real module keeps these in Test::Nginx::Util; some suites read them
# fully qualified ($Test::Nginx::Util::ServerPort), and --- init code is
# evaluated in that package.  Alias them there.
{
    no strict 'refs';
    for my $v (qw(ServerPort ServerPortForClient ServerAddr ServerName
                  RepeatEach NginxBinary NginxVersion NginxRawVersion
                  ServRoot HtmlDir LogDir ErrLogFile AccLogFile ConfFile
                  PidFile Verbose NoLongString LogLevel UseValgrind
                  RandPorts ErrLogFilePos ChildPid Timeout))
    {
        *{"Test::Nginx::Util::$v"} = \${"Test::Nginx::Socket::$v"};
    }
    for my $f (qw(html_dir server_root server_port server_port_for_client
                  server_addr server_name bail_out timeout repeat_each
                  log_level workers is_running parse_time
                  expand_env_in_text error_log_data access_log_data
                  get_nginx_version))
    {
        *{"Test::Nginx::Util::$f"} = \&{"Test::Nginx::Socket::$f"};
    }
    *{"Test::Nginx::Util::sleep"} = \&Time::HiRes::sleep;
}

#
# Exported functions
#

sub hsleep ($) {
    Time::HiRes::sleep($_[0]) if $_[0] && $_[0] > 0;
}

sub no_long_string () { $NoLongString = 1 }
sub no_shuffle () { $NoShuffle = 1 }
sub no_root_location () { $NoRootLocation = 1 }
sub no_nginx_manager () { $NoNginxManager = 1 }
sub check_accum_error_log () { $CheckAccumErrLog = 1 }
sub master_on () { $MasterProcessEnabled = 'on' }
sub master_off () { $MasterProcessEnabled = 'off' }
sub html_dir () { $HtmlDir }
sub server_root () { $ServRoot }

sub use_hup () {
    warn "WARNING: use_hup() is not supported by this Test::Nginx::Socket; "
         . "nginx is restarted per block instead.\n";
}

sub config_preamble ($) { $ConfigPreamble = shift }

sub set_http_config_filter ($) { $FilterHttpConfig = shift }

sub add_block_preprocessor (&) { unshift @BlockPreprocessors, shift }
sub add_cleanup_handler ($) { unshift @CleanupHandlers, shift }
sub add_test_cleanup_handler ($) { unshift @TestCleanupHandlers, shift }
sub add_response_body_check ($) { push @ResponseBodyChecks, shift }

sub repeat_each (@) {
    $RepeatEach = shift if @_;
    return $RepeatEach;
}

sub workers (@) {
    return $Workers unless @_;
    $Workers = shift;
}

sub worker_connections (@) {
    return $WorkerConnections unless @_;
    $WorkerConnections = shift;
}

sub log_level (@) {
    return $LogLevel unless @_;
    $LogLevel = shift;
}

sub master_process_enabled (@) {
    return $MasterProcessEnabled unless @_;
    $MasterProcessEnabled = shift() ? 'on' : 'off';
}

sub server_addr (@) {
    return $ServerAddr unless @_;
    $ServerAddr = shift;
}

sub server_name (@) {
    return $ServerName unless @_;
    $ServerName = shift;
}

sub server_port (@) {
    return $ServerPort unless @_;
    $ServerPort = shift;
}

sub server_port_for_client (@) {
    return $ServerPortForClient unless @_;
    $ServerPortForClient = shift;
}

sub timeout (@) {
    return $Timeout unless @_;
    $Timeout = shift;
}

sub env_to_nginx (@) {
    Carp::croak("env_to_nginx: no arguments specified") unless @_;
    for my $v (@_) {
        if ($v !~ /^[A-Za-z_]/ || $v =~ /\n/) {
            Carp::croak("env_to_nginx: bad argument value: $v\n");
        }
        push @EnvToNginx, $v;
    }
}

sub is_str (@) {
    my ($got, $expected, $desc) = @_;

    local $Test::Builder::Level = $Test::Builder::Level + 1;

    if (ref $expected && ref $expected eq 'Regexp') {
        return Test::More::like($got, $expected, $desc);
    }

    if ($NoLongString) {
        return Test::More::is($got, $expected, $desc);
    }

    return is_string($got, $expected, $desc);
}

sub bail_out (@) {
    cleanup();
    Test::More::BAIL_OUT(join '', @_);
}

sub no_ending () {
    # a failure the plan does not count: tell Test::Builder not to
    # complain about the count as well
    Test::More->builder->no_ending(1);
}

#
# Processes
#

sub can_run ($) {
    my $cmd = shift;

    if ($cmd =~ m{/}) {
        return (-f $cmd && -x $cmd) ? $cmd : undef;
    }

    for my $dir (split(/:/, $ENV{PATH} // ''), '.') {
        next if $dir eq '';
        my $abs = File::Spec->catfile($dir, $cmd);
        return $abs if -f $abs && -x $abs;
    }

    return undef;
}

sub is_running ($) {
    my $pid = shift;

    return 0 unless $pid && kill(0, $pid);

    # a daemon that exited but was not reaped yet still answers kill(0)
    if (open my $in, '<', "/proc/$pid/stat") {
        my $stat = <$in> // '';
        close $in;
        return 0 if $stat =~ /^\d+ \(.*\) Z/s;
    }

    return 1;
}

sub kill_process ($$) {
    my ($pid, $name) = @_;

    return unless $pid;

    kill($ENV{TEST_NGINX_FAST_SHUTDOWN} ? 'TERM' : 'QUIT', $pid);

    # valgrind needs time for its leak report: do not cut it short
    my $left = $UseValgrind ? List::Util::max(timeout(), 30) : timeout();

    while ($left > 0) {
        waitpid($pid, POSIX::WNOHANG());
        last unless is_running($pid);
        hsleep 0.02;
        $left -= 0.02;
    }

    if (is_running($pid)) {
        warn "$name - timeout when waiting for the process $pid to exit; "
             . "killing it\n";
        kill('KILL', getpgrp($pid) == $pid ? -$pid : $pid);
        waitpid($pid, 0);
    }
}

sub get_pid_from_pidfile ($) {
    my ($name) = @_;

    open my $in, '<', $PidFile or return undef;
    my $pid = do { local $/; <$in> } // '';
    close $in;
    $pid =~ s/\s+//g;
    return $pid =~ /^\d+$/ ? $pid : undef;
}

sub stop_nginx ($) {
    my ($name) = @_;

    if (defined $ChildPid) {
        kill_process($ChildPid, $name);
        undef $ChildPid;
    }

    return unless -f $PidFile;

    my $pid = get_pid_from_pidfile($name);

    if ($pid && is_running($pid)) {
        kill_process($pid, $name);
    }

    unlink $PidFile if -f $PidFile;
}

sub cleanup () {
    for my $hdl (@CleanupHandlers) {
        $hdl->();
    }

    if (defined $TcpServerPid) {
        kill('KILL', $TcpServerPid);
        waitpid($TcpServerPid, 0);
        undef $TcpServerPid;
    }

    if (defined $ChildPid) {
        kill_process($ChildPid, 'cleanup');
        undef $ChildPid;
    }
}

sub gen_rand_port (;$$) {
    my ($tries, $used) = @_;

    $tries //= 1000;
    $used //= {};

    for (1 .. $tries) {
        my $port = int(rand 63547) + 1988;
        next if $used->{$port};

        my $sock = IO::Socket::INET->new(LocalAddr => $ServerAddr,
                                         LocalPort => $port,
                                         Proto => 'tcp', Listen => 5,
                                         ReuseAddr => 1);
        if ($sock) {
            close $sock;
            return $port;
        }
    }

    return undef;
}

sub get_nginx_version () {
    my $out = `$NginxBinary -V 2>&1`;

    if (!defined $out || $? != 0) {
        bail_out("Failed to get the version of the nginx \"$NginxBinary\" "
                 . "(set TEST_NGINX_BINARY): " . ($out // ''));
    }

    if ($out =~ m{(?:nginx|openresty)[^/]*/(\d+)\.(\d+)\.(\d+)}s
        || $out =~ m{\w+/(\d+)\.(\d+)\.(\d+)}s)
    {
        $NginxRawVersion = "$1.$2.$3";
        return sprintf "%d.%03d%03d", $1, $2, $3;
    }

    bail_out("Failed to parse the output of \"nginx -V\": $out\n");
}

#
# Text helpers
#

sub parse_time ($) {
    my $tm = shift;

    if (defined $tm) {
        if ($tm =~ s/([^_a-zA-Z])ms$/$1/) {
            $tm = $tm / 1000;

        } else {
            $tm =~ s/([^_a-zA-Z])s$/$1/;
        }
    }

    return $tm;
}

sub expand_env_in_text ($$$) {
    my ($text, $name, $rand_ports) = @_;

    return undef unless defined $text;

    $rand_ports //= {};

    my $used = { $ServerPort => 1, map { $_ => 1 } values %$rand_ports };

    $text =~ s{\$(TEST_NGINX_[_A-Z0-9]+)}{
        my $var = $1;
        my $val;

        if ($var =~ /^TEST_NGINX_RAND_PORT_[0-9]+$/) {
            if (!defined $rand_ports->{$var}) {
                my $port = gen_rand_port(1000, $used);
                if (!defined $port) {
                    bail_out("$name - Cannot find an available listening "
                             . "port number for $var.\n");
                }
                $rand_ports->{$var} = $port;
                $used->{$port} = 1;
            }
            $val = $rand_ports->{$var};

        } else {
            if (!defined $ENV{$var}) {
                bail_out("$name - No environment $var defined.\n");
            }
            $val = $ENV{$var};
        }

        $val;
    }ge;

    return $text;
}

sub fmt_str ($) {
    my $str = shift;
    chomp $str;
    $str =~ s/"/\\"/g;
    $str =~ s/\r/\\r/g;
    $str =~ s/\n/\\n/g;
    return $str;
}

sub trim_summary ($) {
    my $s = shift;
    return '' unless defined $s;
    $s =~ s/^\s+|\s+$//g;
    $s =~ s/\n/ /gs;
    $s =~ s/\s{2,}/ /gs;
    return $s;
}

sub quote_sh ($) {
    my $s = shift;
    return $s if $s =~ m{^[-\w./=:,+@]+$};
    $s =~ s/'/'\\''/g;
    return "'$s'";
}

# Perl code of --- init and --- post_setup_server_root runs, as in the real
# module, in package Test::Nginx::Util under "use strict", with $block and
# $name in scope: qualify your own functions (main::seed()).
sub eval_in_util ($$$) {
    my ($block, $code, $what) = @_;
    my $name = $block->name;

    my $ok = eval "package Test::Nginx::Util; $code; 1";

    if (!$ok) {
        bail_out("$name - $what failed: $@");
    }
}

#
# The server root and nginx.conf
#

sub setup_server_root () {
    if (-d $ServRoot) {
        File::Path::remove_tree($ConfDir, $CacheDir, $HtmlDir, $LogDir,
                                glob("$ServRoot/*_cache"),
                                glob("$ServRoot/*_temp"));

        # like the real one: anything else left here is somebody's data
        rmdir $ServRoot
            or bail_out("Can't remove $ServRoot (not empty?): $!");
    }

    for my $dir ($ServRoot, $LogDir, $HtmlDir, $ConfDir) {
        next if -d $dir;
        mkdir $dir or bail_out("Failed to do mkdir $dir: $!\n");
    }

    my $index = "$HtmlDir/index.html";
    open my $out, '>', $index
        or bail_out("Can't open $index for writing: $!\n");
    print $out '<html><head><title>It works!</title></head>'
               . '<body>It works!</body></html>';
    close $out;
}

sub write_user_files ($$) {
    my ($block, $rand_ports) = @_;

    my $name = $block->name;
    my $files = $block->user_files;

    return unless $files;

    if (!ref $files) {
        my @list;
        my ($fname, $body, $date);

        for my $line (split /^/, $files) {
            if ($line =~ />>> (\S+)(?:\s+(.+))?/) {
                push @list, [$fname, $body, $date] if $fname;
                ($fname, $date) = ($1, $2);
                undef $body;

            } else {
                $body .= $line;
            }
        }

        push @list, [$fname, $body, $date] if $fname;
        $files = \@list;

    } elsif (ref $files ne 'ARRAY') {
        bail_out("$name - wrong value type: ", ref $files,
                 ", only scalar or ARRAY are accepted");
    }

    for my $file (@$files) {
        my ($fname, $body, $date) = @$file;

        $body //= '';

        my $path = $fname =~ m{^/} ? $fname : "$HtmlDir/$fname";

        if ($path =~ m{(.*)/} && !-d $1) {
            File::Path::make_path($1)
                or bail_out("$name - Cannot create directory $1");
        }

        $body = expand_env_in_text($body, $name, $rand_ports);

        open my $out, '>', $path
            or bail_out("$name - Cannot open $path for writing: $!\n");
        binmode $out;
        print $out $body;
        close $out;

        if ($date) {
            my $cmd = "TZ=GMT touch -t '$date' " . quote_sh($path);
            system($cmd) == 0
                or bail_out("Failed to run shell command: $cmd\n");
        }
    }
}

sub write_config_file ($$$) {
    my ($block, $config, $rand_ports) = @_;

    my $name = $block->name;

    my $http_config = expand_env_in_text($block->http_config, $name,
                                         $rand_ports) // '';
    $config //= '';

    if ($FilterHttpConfig) {
        $http_config = $FilterHttpConfig->($http_config);
    }

    my $extra_http_config = '';
    if (defined $PostponeOutput && $http_config !~ /\bpostpone_output\b/) {
        if ($PostponeOutput !~ /^\d+$/) {
            bail_out("Bad TEST_NGINX_POSTPONE_OUTPUT value: "
                     . "$PostponeOutput\n");
        }
        $extra_http_config = "\n    postpone_output $PostponeOutput;\n";
    }

    my $main_config = $block->main_config // '';

    if ($LoadModules) {
        my @modules = map { "load_module $_;" } grep { $_ }
                      split /\s+/, $LoadModules;
        $main_config = join ' ', @modules, $main_config if @modules;
    }

    $main_config = expand_env_in_text($main_config, $name, $rand_ports);

    my $post_main_config = expand_env_in_text($block->post_main_config,
                                              $name, $rand_ports) // '';

    my $err_log_file = $block->error_log_file || $ErrLogFile;
    $err_log_file = expand_env_in_text($err_log_file, $name, $rand_ports);

    my $server_name = $block->server_name // $ServerName;

    my $temp_paths = '';
    for my $t (qw(client_body proxy fastcgi scgi uwsgi)) {
        next if $http_config =~ /\b${t}_temp_path\b/;
        $temp_paths .= " ${t}_temp_path $ServRoot/${t}_temp;";
    }

    my $env = '';
    for my $v (qw(MOCKEAGAIN_VERBOSE MOCKEAGAIN
                  MOCKEAGAIN_WRITE_TIMEOUT_PATTERN LD_PRELOAD
                  LD_LIBRARY_PATH), @EnvToNginx)
    {
        $env .= "env " . ($v =~ /\s/ ? "'$v'" : $v) . ";\n";
    }

    my $root_location = $NoRootLocation ? '' : <<_EOC_;
        location / {
            root $HtmlDir;
            index index.html index.htm;
        }
_EOC_

    my $use_event = $EventType ? "    use $EventType;\n" : '';

    my $user = defined $WorkerUser ? "user $WorkerUser;\n"
               : $> == 0 ? "user root;\n" : '';

    open my $out, '>', $ConfFile
        or bail_out("Can't open $ConfFile for writing: $!\n");

    print $out <<_EOC_;
worker_processes  $Workers;
daemon $DaemonEnabled;
master_process $MasterProcessEnabled;
error_log $err_log_file $LogLevel;
pid       $PidFile;
$env
$main_config

http {
    access_log $AccLogFile;$temp_paths

    default_type text/plain;
    keepalive_timeout  68000ms;

$http_config
    server {
        listen          $ServerPort;
        server_name     '$server_name';
        client_max_body_size 30M;

        # Begin preamble config...
$ConfigPreamble
        # End preamble config...

        # Begin test case config...
$config
        # End test case config.

$root_location    }
$extra_http_config
}

$post_main_config

events {
    accept_mutex off;

    worker_connections  $WorkerConnections;
$use_event}
env ASAN_OPTIONS;
$user
_EOC_

    close $out;
}

#
# Starting nginx
#

# Returns true when the block is done (must_die), false to go on with the
# requests.
sub start_nginx ($$$$) {
    my ($block, $must_die, $dry_run, $name) = @_;

    my $cmd = quote_sh($NginxBinary);

    # -e (1.19.5+) sends the errors before error_log is read to our log too
    if ($NginxVersion >= 1.019005) {
        $cmd .= " -e " . quote_sh($ErrLogFile);
    }

    $cmd .= " -p " . quote_sh("$ServRoot/") . " -c " . quote_sh($ConfFile);

    if (defined $ENV{TEST_NGINX_LD_PRELOAD}) {
        my $preload = $ENV{TEST_NGINX_LD_PRELOAD};
        $preload .= " $ENV{LD_PRELOAD}" if defined $ENV{LD_PRELOAD};
        $cmd = "LD_PRELOAD=" . quote_sh($preload) . " $cmd";
    }

    if ($UseValgrind && !defined $must_die) {
        my $vg;

        if ($UseValgrind =~ /^\d+$/) {
            my $opts = "--tool=memcheck --leak-check=full "
                       . "--keep-debuginfo=yes --show-possibly-lost=no";
            if ($ENV{TEST_NGINX_VALGRIND_EXIT_ON_FIRST_ERR}) {
                $opts .= " --exit-on-first-error=yes --error-exitcode=1";
            }
            if (-f 'valgrind.suppress') {
                $opts .= " --suppressions=valgrind.suppress";
            }
            $vg = "valgrind --num-callers=100 -q $opts --gen-suppressions=all";

        } else {
            $vg = "valgrind -q $UseValgrind";
        }

        $cmd = "$vg $cmd";

        # the block name tells which test valgrind's report belongs to
        warn "$name\n";

        my $pid = fork();
        if (!defined $pid) {
            bail_out("$name - fork() failed: $!");
        }

        if ($pid == 0) {
            $InSubprocess = 1;
            Test::More->builder->no_ending(1);
            setpgrp;
            warn "command: $cmd\n" if $Verbose;
            { exec "exec $cmd > /dev/null" }
            POSIX::_exit(127);
        }

        $ChildPid = $pid;
        hsleep $TestNginxSleep;
        return 0;
    }

    $cmd .= " > /dev/null";
    $cmd .= " 2> /dev/null" if defined $block->suppress_stderr;

    my $waited = 0;
    my $i = 0;

    $ErrLogFilePos = 0;

    while (1) {
        warn "command: $cmd\n" if $Verbose;

        system($cmd);
        my $status = $?;

        my ($exec_failed, $exit_code, $coredump);
        if ($status == -1) {
            $exec_failed = 1;

        } else {
            $exit_code = $status >> 8;
            $coredump = $status & 128;
        }

        if (defined $must_die) {
            if ($exec_failed) {
                Test::More::fail("$name - failed to execute the nginx "
                                 . "command line");

            } elsif ($coredump) {
                Test::More::fail("$name - nginx core dumped");

            } elsif (Scalar::Util::looks_like_number($must_die)) {
                Test::More::is($exit_code, $must_die,
                               "$name - die with the expected exit code");

            } else {
                Test::More::isnt($status, 0, "$name - die as expected");
            }

            check_error_log($block, undef, $dry_run, $i, 0);

            if ($status == 0) {
                warn "WARNING: $name - nginx must die but it does not; "
                     . "killing it (req $i)\n";
                for (1 .. 15) {
                    last if -f $PidFile;
                    hsleep $TestNginxSleep;
                }
                stop_nginx($name);
            }

            next if ++$i < $RepeatEach;
            return 1;
        }

        last if $status == 0;

        # a port still held by the previous instance clears up; a config
        # error does not: give up at once then
        my $busy = 0;
        if (open my $in, '<', $ErrLogFile) {
            local $/;
            my $log = <$in> // '';
            close $in;
            $busy = $log =~ /Address already in use/;
        }

        if ($busy && $waited < 10) {
            $i++;
            my $delay = List::Util::min(0.1 * $i, 1);
            hsleep $delay;
            $waited += $delay;
            next;
        }

        my $tail = '';
        if (open my $in, '<', $ErrLogFile) {
            my @lines = grep { /\[(?:emerg|alert|crit)\]/ } <$in>;
            close $in;
            $tail = join '', @lines[List::Util::max(0, @lines - 5) .. $#lines];
        }

        bail_out("$name - Cannot start nginx using command \"$cmd\" "
                 . "(status code $status).\n$tail");
    }

    hsleep $TestNginxSleep;
    return 0;
}

#
# Running a block
#

sub run_tests () {
    srand($$ + int(Time::HiRes::time() * 1000000));

    $NginxVersion = get_nginx_version();

    $ENV{TEST_NGINX_SERVER_PORT} //= $ServerPort;

    my @blocks = Test::Base::blocks();
    @blocks = List::Util::shuffle(@blocks) unless $NoShuffle;

    for my $block (@blocks) {
        for my $hdl (@BlockPreprocessors) {
            $hdl->($block);
        }

        $block->set_value("name", $0 . " " . $block->name);

        run_test($block);

        for my $hdl (@TestCleanupHandlers) {
            $hdl->($block);
        }

        $PrevBlock = $block;
    }

    cleanup();
}

sub version_skip ($$) {
    my ($spec, $what) = @_;

    # "N: OP x.y.z [: reason]"
    if ($spec =~ m{^\s*(\d+)\s*:\s*([<>]=?)\s*(\d+)\.(\d+)\.(\d+)
                   (?:\s*:\s*(.*))?\s*$}x)
    {
        my ($n, $op, $reason) = ($1, $2, $6);
        my $ver = sprintf "%d.%03d%03d", $3, $4, $5;
        my $skip = eval "$NginxVersion $op $ver";
        return ($n, $skip, $reason || "nginx version $op $3.$4.$5");
    }

    bail_out("Invalid --- $what spec: $spec");
}

sub run_test ($) {
    my $block = shift;

    return if defined $block->SKIP;

    my $name = $block->name;

    for my $s (qw(http2 http3 stap udp_listen curl)) {
        if (defined $block->$s) {
            bail_out("$name - --- $s is not supported by this "
                     . "Test::Nginx::Socket (t/lib); run with the real one "
                     . "(TEST_NGINX_LIB)");
        }
    }

    $NginxVersion //= get_nginx_version();

    my $first_time = $FirstTime;
    undef $FirstTime;

    my $rand_ports = {};
    $RandPorts = $rand_ports;

    my $config = expand_env_in_text($block->config, $name, $rand_ports);

    my $dry_run = 0;
    my $should_restart = 1;
    my $should_reconfig = 1;

    local $LogLevel = $block->log_level || $LogLevel;

    my $must_die = $block->must_die;

    local $UseValgrind = defined $must_die ? undef : $UseValgrind;
    local $DaemonEnabled = defined $must_die ? 'on' : $DaemonEnabled;

    if (!defined $config) {
        if (!$NoNginxManager && !defined $PrevConfig) {
            bail_out("$name - No '--- config' section specified and could "
                     . "not get previous one. Use TEST_NGINX_NO_NGINX_MANAGER ?");
        }
        $should_restart = 0;
        $should_reconfig = 0;

    } elsif ($NoNginxManager) {
        Test::More::diag("NO_NGINX_MANAGER activated: config for $name "
                         . "ignored");
        $should_restart = 0;
        $should_reconfig = 0;

    } else {
        $should_reconfig = !defined $PrevConfig || $config ne $PrevConfig;
        $should_restart = $should_reconfig || $ForceRestartOnTest;
    }

    my ($tests_to_skip, $should_skip, $skip_reason);
    my ($should_todo, $todo_reason);

    if (defined $block->skip_eval) {
        if ($block->skip_eval =~ /^\s*(\d+)\s*:\s*(.*)/s) {
            $tests_to_skip = $1;
            $skip_reason = "skip_eval";
            my $code = $2;
            $should_skip = eval $code;
            if ($@) {
                bail_out("$name - skip_eval - failed to eval the Perl code "
                         . "\"$code\": $@");
            }
        }
    }

    if (defined $block->skip_nginx) {
        ($tests_to_skip, $should_skip, $skip_reason)
            = version_skip($block->skip_nginx, 'skip_nginx');
    }

    if (defined $block->todo_nginx) {
        my ($n, $hit, $reason) = version_skip("0: " . $block->todo_nginx,
                                              'todo_nginx');
        ($should_todo, $todo_reason) = ($hit, $reason);
    }

    if (defined $block->todo) {
        if ($block->todo =~ /^\s*(\d+)\s*:\s*(.*)/s) {
            $should_todo = 1;
            $tests_to_skip = $1;
            $todo_reason = $2;

        } else {
            bail_out("$name - Invalid --- todo spec: " . $block->todo);
        }
    }

    $skip_reason //= "various reasons";
    $todo_reason //= "various reasons";

    if (!$NoNginxManager && !$should_skip && $should_restart) {
        $PrevConfig = $config if $should_reconfig;

        stop_nginx($name);

        check_prev_block_shutdown_error_log();

        setup_server_root();

        if (defined $block->post_setup_server_root) {
            eval_in_util($block, $block->post_setup_server_root,
                         'post_setup_server_root');
        }

        write_user_files($block, $rand_ports);
        write_config_file($block, $config, $rand_ports);

        if (!can_run($NginxBinary)) {
            bail_out("$name - Cannot find the nginx executable "
                     . "\"$NginxBinary\" (set TEST_NGINX_BINARY)");
        }

        return if start_nginx($block, $must_die, $dry_run, $name);
    }

    if ($block->init) {
        eval_in_util($block, $block->init, 'init');
    }

    $ErrLogFilePos = 0;

    for my $i (1 .. $RepeatEach) {
        my ($tcp_query_file);

        if (defined $block->tcp_listen) {
            $tcp_query_file = start_tcp_server($block, $rand_ports);
        }

        if ($i > 1) {
            write_user_files($block, $rand_ports);
        }

        if ($should_skip && defined $tests_to_skip) {
            SKIP: {
                Test::More::skip("$name - $skip_reason", $tests_to_skip);
            }

        } elsif ($should_todo) {
            TODO: {
                Test::More::todo_skip("$name - $todo_reason",
                                      $tests_to_skip);
            }

        } else {
            run_test_helper($block, $dry_run, $i - 1);
            run_tcp_server_tests($block, $tcp_query_file, $name);
        }

        if (defined $TcpServerPid) {
            kill('KILL', $TcpServerPid);
            waitpid($TcpServerPid, 0);
            undef $TcpServerPid;
        }

        unlink $tcp_query_file if defined $tcp_query_file;
    }

    if (my $total = $ENV{TEST_NGINX_ERROR_LOG}) {
        if (-s $ErrLogFile) {
            if (open my $out, '>>', $total) {
                print $out "\n=== $0 $name\n";
                if (open my $in, '<', $ErrLogFile) {
                    local $/;
                    print $out scalar <$in>;
                    close $in;
                }
                close $out;
            }
        }
    }

    if ($UseValgrind) {
        # one valgrind run per block, so each report has its block name
        stop_nginx($name);
    }
}

sub run_test_helper ($$$) {
    my ($block, $dry_run, $repeated_req_idx) = @_;

    my $name = $block->name;

    my $reqs = get_req_from_block($block);

    if (!@$reqs) {
        bail_out("$name - request empty");
    }

    my $timeout = parse_time($block->timeout) // timeout();

    my ($res, $need_array);
    my $pipelined = $block->pipelined_requests;
    my $req_idx = 0;

    for my $r (0 .. $#$reqs) {
        my ($raw_resp, $head_req);

        if ($dry_run) {
            $raw_resp = "200 OK HTTP/1.0\r\nContent-Length: 0\r\n\r\n";

        } else {
            ($raw_resp, $head_req) = send_request($reqs->[$r],
                                                  $block->raw_request_middle_delay,
                                                  $timeout, $block);
        }

        # a pipelined connection carries several responses
        my $n = $pipelined ? scalar @$pipelined : 0;
        $need_array = $pipelined ? 1 : @$reqs > 1;

        while (1) {
            $raw_resp //= '';

            my ($raw_headers, $left);

            if (!defined $block->ignore_response) {
                if (defined $block->http09) {
                    $res = HTTP::Response->new(200, "OK", [], $raw_resp);
                    $raw_headers = '';

                } else {
                    ($res, $raw_headers, $left)
                        = parse_response($name, $raw_resp, $head_req);
                }
            }

            if (!$n) {
                if (defined $left && length $left) {
                    (my $l = $left)
                        =~ s/([\0-\037\200-\377])/sprintf('\x{%02x}',ord $1)/eg;
                    warn "WARNING: $name - unexpected extra bytes after last "
                         . "chunk in response: \"$l\"\n";
                }

            } else {
                $raw_resp = $left;
                $n--;
            }

            if (!defined $block->ignore_response) {
                check_error_code($block, $res, $dry_run, $req_idx,
                                 $need_array);
                check_raw_response_headers($block, $raw_headers, $dry_run,
                                           $req_idx, $need_array);
                check_response_headers($block, $res, $raw_headers, $dry_run,
                                       $req_idx, $need_array);
                transform_response_body($block, $res, $req_idx);
                check_response_body($block, $res, $dry_run, $req_idx,
                                     $repeated_req_idx, $need_array);
            }

            # error_log patterns are checked after every request, each
            # time on the lines logged since the previous check
            if ($n || $r < $#$reqs) {
                hsleep($block->wait) if $block->wait;

                check_error_log($block, $res, $dry_run, $repeated_req_idx,
                                $need_array);

                if (!defined $block->ignore_response) {
                    check_access_log($block, $dry_run, $repeated_req_idx);
                }
            }

            $req_idx++;

            last unless $n;
        }
    }

    hsleep($block->wait) if $block->wait;

    check_error_log($block, $res, $dry_run, $repeated_req_idx, $need_array);

    if (!defined $block->ignore_response) {
        check_access_log($block, $dry_run, $repeated_req_idx);
    }
}

#
# Requests
#

sub parse_more_headers ($) {
    my ($in) = @_;

    my $out = '';
    my $is_chunked;

    for my $header (split /\n+/, $in) {
        next if $header =~ /^\s*\#/;

        my ($key, $val) = split /:\s*/, $header, 2;
        $val //= '';

        if (lc($key) eq 'transfer-encoding' && $val eq 'chunked') {
            $is_chunked = 1;
        }

        $out .= "$key: $val\r\n";
    }

    return ($out, $is_chunked);
}

# Turns "METHOD [URI [VERSION]]\n[body]", given as one or more packets,
# into a real HTTP/1.x request: normalized request line, Host and
# Connection unless --- more_headers has them, the more_headers, and a
# Content-Length for a (trimmed) body unless chunked or given.  Packet
# boundaries are kept: a cut in the request line stays where it was, a
# cut at its end carries the headers, a cut in the body moves with it.
sub build_request ($$$$$) {
    my ($name, $more_headers, $is_chunked, $conn, $packets) = @_;

    my $req = join '', @$packets;

    my ($first, $content);
    if ($req =~ /\A([^\n]*\n?)(.*)\z/s) {
        ($first, $content) = ($1, $2);
    }

    if (!defined $first || $first eq '') {
        bail_out("$name - Request line should be non-empty");
    }

    my ($meth, $url, $ver);
    if ($first =~ /^(\s*)(\S+)( *)((\S+)( *))?((\S+)( *))?(\s*)$/) {
        ($meth, $url, $ver) = ($2, $5 // '/', $8 // 'HTTP/1.1');

    } else {
        bail_out("$name - Request line is not valid. Should be "
                 . "'meth [url [version]]' but got \"$first\".");
    }

    my $skipped = 0;
    my $len_header = '';

    if (!$is_chunked && $content ne ''
        && $more_headers !~ /(?:^|\n)Content-Length:/)
    {
        $skipped = length($1) if $content =~ /\A(\s*)/;
        $content =~ s/^\s+|\s+$//gs;
        $len_header = "Content-Length: " . length($content) . "\r\n";
    }

    $more_headers =~ s/(?<!\r)\n/\r\n/gs;

    my $headers = '';
    $headers .= "Host: $ServerName\r\n"
        if $more_headers !~ /(?:^|\n)Host:/msi;
    $headers .= "Connection: $conn\r\n"
        if $more_headers !~ /(?:^|\n)Connection/msi;
    $headers .= "$more_headers$len_header\r\n";

    my $line = "$meth $url $ver\r\n";
    my $out = $line . $headers . $content;

    return [$out] if @$packets <= 1;

    # map the packet boundaries of the input onto the output
    my @cuts;
    my $off = 0;
    for my $p (@$packets[0 .. $#$packets - 1]) {
        $off += length $p;

        my $new;
        if ($off < length $first) {
            $new = List::Util::min($off, length($line) - 2);

        } elsif ($off == length $first) {
            $new = length($line) + length($headers);

        } else {
            my $c = $off - length($first) - $skipped;
            $c = 0 if $c < 0;
            $c = length $content if $c > length $content;
            $new = length($line) + length($headers) + $c;
        }

        $new = $cuts[-1] if @cuts && $new < $cuts[-1];
        push @cuts, $new;
    }

    my @out;
    my $prev = 0;
    for my $cut (@cuts, length $out) {
        push @out, substr($out, $prev, $cut - $prev);
        $prev = $cut;
    }

    return \@out;
}

# A list of requests; each request is a list of packets
# { value => bytes, delay_before => seconds }.
sub get_req_from_block ($) {
    my ($block) = @_;

    my $name = $block->name;
    my @reqs;

    if (defined $block->raw_request) {
        my $raw = $block->raw_request;

        if (ref $raw && ref $raw eq 'ARRAY') {
            push @reqs, [map { { value => $_ } } @$raw];

        } else {
            push @reqs, [{ value => $raw }];
        }

        return \@reqs;
    }

    my $request;
    if (defined $block->request_eval) {
        Test::More::diag("$name - request_eval DEPRECATED. Use request eval "
                         . "instead.");
        $request = eval $block->request_eval;
        warn $@ if $@;

    } else {
        $request = $block->request;
        if (defined $request && !ref $request) {
            while ($request =~ s/^\s*\#[^\n]+\s+|^\s+//gs) { }
        }
    }

    my $more_headers = $block->more_headers || '';

    my $headers_for = sub {
        my ($i, $what) = @_;

        if (ref $more_headers eq 'ARRAY') {
            my $hdr = $more_headers->[$i];
            if (!defined $hdr) {
                bail_out("--- more_headers lacks data for the $what");
            }
            return parse_more_headers($hdr);
        }

        return parse_more_headers($more_headers);
    };

    if (my $pipelined = $block->pipelined_requests) {
        if (!ref $pipelined || ref $pipelined ne 'ARRAY') {
            bail_out("$name - invalid entries in --- pipelined_requests");
        }

        my $all = '';
        for my $i (0 .. $#$pipelined) {
            my $r = expand_env_in_text($pipelined->[$i], $name, $RandPorts);
            my ($hdr, $chunked) = $headers_for->($i,
                                                 "$i pipelined request");
            my $conn = $i == $#$pipelined ? 'close' : 'keep-alive';
            $all .= build_request($name, $hdr, $chunked, $conn, [$r])->[0];
        }

        push @reqs, [{ value => $all }];
        return \@reqs;
    }

    if (!ref $request) {
        my ($hdr, $chunked) = $headers_for->(0, "request");
        push @reqs, [{ value => build_request($name, $hdr, $chunked,
                                               'close', [$request])->[0] }];
        return \@reqs;
    }

    if (ref $request ne 'ARRAY') {
        bail_out("$name - invalid ---request : MUST be string or array of "
                 . "requests");
    }

    for my $i (0 .. $#$request) {
        my $one = $request->[$i];
        my ($hdr, $chunked) = $headers_for->($i, "${i}th request");

        if (!ref $one) {
            push @reqs, [{ value => build_request($name, $hdr, $chunked,
                                                   'close', [$one])->[0] }];
            next;
        }

        if (ref $one ne 'ARRAY') {
            bail_out("$name - Invalid syntax. $one should be a string or an "
                     . "array of packets.");
        }

        my @packets;
        for my $p (@$one) {
            if (!ref $p) {
                push @packets, { value => $p };

            } elsif (ref $p eq 'HASH') {
                push @packets, { %$p };

            } else {
                bail_out("$name - Invalid syntax. $p should be a string or "
                         . "hash with value.");
            }
        }

        my $built = build_request($name, $hdr, $chunked, 'close',
                                  [map { $_->{value} } @packets]);
        for my $k (0 .. $#packets) {
            $packets[$k]{value} = $built->[$k];
        }

        push @reqs, \@packets;
    }

    return \@reqs;
}

# Sends one request over a fresh connection and reads until the server
# closes it (as the real one does), or until nothing happens on the
# socket for $timeout seconds.
sub send_request ($$$$) {
    my ($packets, $middle_delay, $timeout, $block) = @_;

    my $name = $block->name;

    my $head_req = (join '', map { $_->{value} // '' } @$packets)
                   =~ /^\s*HEAD\s+/ ? 1 : 0;

    my $addr = $block->server_addr_for_client // $ServerAddr;

    my $sock;
    my $tries = 0;
    my $max_tries = $TotalConnectingTimeouts ? 20 : 50;

    while (1) {
        $sock = IO::Socket::INET->new(PeerAddr => $addr,
                                      PeerPort => $ServerPortForClient,
                                      Proto => 'tcp',
                                      Timeout => $timeout);
        last if $sock;

        my $err = $!;
        $tries++;

        # nothing will ever listen when our nginx is gone
        my $gone;
        if (defined $ChildPid) {
            $gone = waitpid($ChildPid, POSIX::WNOHANG()) == $ChildPid
                    || !is_running($ChildPid);

        } elsif (!$NoNginxManager && !$UseValgrind
                 && $addr eq $ServerAddr
                 && $ServerPortForClient == $ServerPort)
        {
            my $pid = get_pid_from_pidfile($name);
            $gone = !$pid || !is_running($pid);
        }

        if ($gone || $tries > $max_tries) {
            my $msg = "$name - Can't connect to $addr:$ServerPortForClient: "
                      . "$err" . ($gone ? " (nginx is not running)" : '')
                      . " (aborted)\n";
            if ($gone && -f $ErrLogFile) {
                warn `tail -n20 $ErrLogFile`;
            }

            if (++$TotalConnectingTimeouts < 3) {
                no_ending();
                Test::More::fail($msg);
                return (undef, $head_req);
            }

            bail_out($msg);
        }

        my $wait = List::Util::min(1, ($TestNginxSleep
                                       + $TestNginxSleep * $tries)
                                      * $tries / 2);
        if ($wait >= 0.6) {
            warn "$name - Can't connect to $addr:$ServerPortForClient: "
                 . "$err\n\tRetry connecting after $wait sec\n";
        }
        hsleep $wait;
    }

    $sock->blocking(0);
    binmode $sock;

    local $SIG{PIPE} = 'IGNORE';

    my @bits = @$packets;
    my $cur = shift @bits;
    my $wbuf = $cur->{value} // '';
    my $woff = 0;
    my $writing = 1;
    my $reading = 1;
    my $resp = '';

    my $rsel = IO::Select->new($sock);
    my $wsel = IO::Select->new($sock);

    while ($writing || $reading) {
        $! = 0;
        my ($r, $w) = IO::Select->select($reading ? $rsel : undef,
                                         $writing ? $wsel : undef,
                                         undef, $timeout);

        if (!$r && !$w) {
            if ($! == EINTR) {
                next;
            }

            # idle for $timeout seconds
            if (!defined $block->abort) {
                no_ending();
                Test::More::fail("ERROR: client socket timed out - $name\n");

            } else {
                hsleep 0.005;
            }

            last;
        }

        if ($w && @$w) {
            WRITE: while (1) {
                my $rest = length($wbuf) - $woff;

                if ($rest > 0) {
                    my $n = syswrite($sock, $wbuf, $rest, $woff);

                    if (!defined $n) {
                        last WRITE if $! == EAGAIN || $! == EWOULDBLOCK
                                      || $! == EINTR;

                        # the server may have answered and closed early:
                        # stop writing but still read what it sent
                        warn "write failed: $!\n" if $Verbose;
                        $writing = 0;
                        last WRITE;
                    }

                    $woff += $n;
                    next WRITE;
                }

                my $next = shift @bits;

                if (!defined $next) {
                    $writing = 0;

                    my $shutdown = $block->shutdown;
                    if (defined $shutdown) {
                        $shutdown = 1 if $shutdown =~ /^\s*$/s;
                        shutdown($sock, $shutdown);
                    }

                    last WRITE;
                }

                $wbuf = $next->{value} // '';
                $woff = 0;

                my $delay = $next->{delay_before} // $middle_delay;
                hsleep $delay if $delay;
            }
        }

        if ($r && @$r) {
            READ: while (1) {
                my $buf;
                my $n = sysread($sock, $buf, 65536);

                if (!defined $n) {
                    last READ if $! == EAGAIN || $! == EWOULDBLOCK
                                 || $! == EINTR;

                    warn "WARNING: $name - HTTP response read failure: $!\n"
                        unless $!{ECONNRESET} && length $resp;
                    $reading = 0;
                    $writing = 0;
                    last READ;
                }

                if ($n == 0) {
                    $reading = 0;
                    $writing = 0;
                    last READ;
                }

                $resp .= $buf;
            }
        }
    }

    close $sock;

    return ($resp, $head_req);
}

#
# Responses
#

sub parse_response ($$$) {
    my ($name, $raw, $head_req) = @_;

    my $raw_headers = $raw =~ /(.*?\r\n)\r\n/s ? $1 : '';

    my ($head, $body);
    if ($raw =~ /\A(.*?)\r?\n\r?\n(.*)\z/s) {
        ($head, $body) = ($1, $2);

    } else {
        ($head, $body) = ($raw, '');
    }

    my @lines = split /\r?\n/, $head;
    my $status = shift(@lines) // '';

    my ($code, $msg);
    if ($status =~ m{^HTTP/\d+(?:\.\d+)?\s+(\d+)(?:\s+(.*?))?\s*$}) {
        ($code, $msg) = ($1, $2 // '');
    }

    my @fields;
    for my $line (@lines) {
        if ($line =~ /^[ \t]+(.*)$/ && @fields) {
            $fields[-1] .= " $1";
            next;
        }
        push @fields, $line;
    }

    my $res = HTTP::Response->new($code, $msg);
    for my $f (@fields) {
        if ($f =~ /^([^:\s][^:]*?)\s*:\s*(.*?)\s*$/) {
            $res->push_header($1, $2);
        }
    }
    $res->content($body);

    return ($res, $raw_headers) if $code && ($code == 304 || $code == 101);

    my $enc = $res->header('Transfer-Encoding');
    my $len = $res->header('Content-Length');
    my @trailers = $res->header('Trailer');
    my $left;

    if (defined $enc && $enc eq 'chunked') {
        my $decoded = '';

        pos($body) = 0;

        while (1) {
            if (!@trailers && $body =~ /\G0[ \t]*\r\n\r\n/gc) {
                $left = $1 if $body =~ /\G(.+)/gcs;
                last;
            }

            if (@trailers && $body =~ /\G0[ \t]*\r\n/gc) {
                for my $t (@trailers) {
                    if ($body !~ /\G(\Q$t\E: [^\n]*\r\n)/gc) {
                        no_ending();
                        Test::More::fail("$name - invalid trailer data "
                                         . "received (expected $t).");
                        return;
                    }
                }

                if ($body !~ /\G\r\n/gc) {
                    no_ending();
                    Test::More::fail("$name - invalid chunked data received "
                                     . "(expected CRLF).");
                    return;
                }

                $left = $1 if $body =~ /\G(.+)/gcs;
                last;
            }

            if ($body =~ /\G[ \t]*([A-Fa-f0-9]+)[ \t]*\r\n/gc) {
                my $size = hex $1;
                my $at = pos($body);

                if (length($body) - $at < $size) {
                    no_ending();
                    Test::More::fail("$name - invalid chunked data received "
                                     . "(not enought octets for the data "
                                     . "section)");
                    return;
                }

                $decoded .= substr($body, $at, $size);
                pos($body) = $at + $size;

                if ($body !~ /\G\r\n/gc) {
                    no_ending();
                    Test::More::fail("$name - invalid chunked data received "
                                     . "(expected CRLF).");
                    return;
                }

            } elsif ($body =~ /\G(.+)/gcs) {
                no_ending();
                Test::More::fail("$name - invalid chunked body received: $1");
                return;

            } else {
                no_ending();
                Test::More::fail("$name - no last chunk found - $body");
                return;
            }
        }

        $res->content($decoded);

    } elsif (defined $len && $len ne '' && $len =~ /^\d+$/) {
        if (length $body < $len) {
            if (!$head_req) {
                warn "WARNING: $name - response body truncated: $len "
                     . "expected, but got ", length $body, "\n";
            }

        } elsif (length $body > $len) {
            $left = substr $body, $len;
            $res->content(substr $body, 0, $len);
        }
    }

    return ($res, $raw_headers, $left);
}

sub parse_headers ($) {
    my $s = shift;
    my %headers;

    for my $line (split /\n/, $s // '') {
        $line =~ s/^\s+|\s+$//g;

        if ($line =~ s/^!\s*//) {
            $headers{$line} = undef;

        } else {
            my ($key, $val) = split /\s*:\s*/, $line, 2;
            $headers{$key} = $val;
        }
    }

    return \%headers;
}

sub get_indexed_value ($$$$) {
    my ($name, $value, $req_idx, $need_array) = @_;

    if ($need_array) {
        if (ref $value && ref $value eq 'ARRAY') {
            return $value->[$req_idx];
        }

        bail_out("$name - You asked for many requests, the expected results "
                 . "should be arrays as well.");
    }

    if (ref $value && ref $value eq 'ARRAY') {
        return $value->[0];
    }

    return $value;
}

sub check_error_code ($$$$$) {
    my ($block, $res, $dry_run, $req_idx, $need_array) = @_;

    my $name = $block->name;

    SKIP: {
        Test::More::skip("$name - tests skipped due to $dry_run", 1)
            if $dry_run;

        my $got = ($res && $res->code) || '';

        if (defined $block->error_code_like) {
            my $pat = get_indexed_value($name, $block->error_code_like,
                                        $req_idx, $need_array);
            Test::More::like($got, qr/$pat/sm, "$name - status code ok");

        } elsif (defined $block->error_code) {
            Test::More::is($got, get_indexed_value($name, $block->error_code,
                                                   $req_idx, $need_array),
                           "$name - status code ok");

        } else {
            Test::More::is($got, 200, "$name - status code ok");
        }
    }
}

sub check_raw_response_headers ($$$$$) {
    my ($block, $raw_headers, $dry_run, $req_idx, $need_array) = @_;

    my $name = $block->name;

    for my $which (qw(like unlike)) {
        my $m = "raw_response_headers_$which";
        my $pat = $block->$m;
        next unless defined $pat;

        SKIP: {
            Test::More::skip("$name - $m - tests skipped due to $dry_run", 1)
                if $dry_run;

            my $expected = get_indexed_value($name, $pat, $req_idx,
                                             $need_array);
            if ($which eq 'like') {
                Test::More::like($raw_headers // '', qr/$expected/s,
                                 "$name - raw resp headers like");
            } else {
                Test::More::unlike($raw_headers // '', qr/$expected/s,
                                   "$name - raw resp headers unlike");
            }
        }
    }
}

sub check_response_headers ($$$$$$) {
    my ($block, $res, $raw_headers, $dry_run, $req_idx, $need_array) = @_;

    my $name = $block->name;

    if (defined $block->response_headers) {
        my $headers = parse_headers(get_indexed_value($name,
                                                      $block->response_headers,
                                                      $req_idx, $need_array));

        for my $key (sort keys %$headers) {
            my $val = $headers->{$key};

            SKIP: {
                Test::More::skip("$name - response_headers - tests skipped "
                                 . "due to $dry_run", 1) if $dry_run;

                if (!defined $val) {
                    # stricter than the real one, which matches the name
                    # case-sensitively: any spelling counts as present
                    Test::More::unlike($raw_headers // '',
                                       qr/^\s*\Q$key\E\s*:/mi,
                                       "$name - header $key not present in "
                                       . "the raw headers");
                    next;
                }

                $val =~ s/\$ServerPort\b/$ServerPort/g;
                $val =~ s/\$ServerPortForClient\b/$ServerPortForClient/g;

                my $got = $res ? $res->header($key) : undef;
                Test::More::is($got // '', $val, "$name - header $key ok");
            }
        }

    } elsif (defined $block->response_headers_like) {
        my $headers = parse_headers(get_indexed_value($name,
                                                $block->response_headers_like,
                                                $req_idx, $need_array));

        for my $key (sort keys %$headers) {
            my $val = $headers->{$key} // '';
            my $got = $res ? $res->header($key) : undef;

            SKIP: {
                Test::More::skip("$name - response_headers_like - tests "
                                 . "skipped due to $dry_run", 1) if $dry_run;
                Test::More::like($got // '', qr/^$val$/,
                                 "$name - header $key like ok");
            }
        }
    }
}

sub run_body_filter ($$$) {
    my ($block, $filter, $content) = @_;

    return $filter->($content) if ref $filter eq 'CODE';

    if (ref $filter) {
        bail_out($block->name . " - the --- response_body_filters section "
                 . "only supports subroutine reference values and string "
                 . "values");
    }

    my %builtin = (
        md5_hex  => sub { Digest::MD5::md5_hex($_[0]) },
        sha1_hex => sub { Digest::SHA::sha1_hex($_[0]) },
        uc       => sub { uc $_[0] },
        lc       => sub { lc $_[0] },
        ucfirst  => sub { ucfirst $_[0] },
        lcfirst  => sub { lcfirst $_[0] },
        length   => sub { length $_[0] },
    );

    my $f = $builtin{$filter}
        or bail_out($block->name . " - unknown filter, \"$filter\", "
                    . "specified in the --- response_body_filters section");

    return $f->($content);
}

sub transform_response_body ($$$) {
    my ($block, $res, $req_idx) = @_;

    return unless defined $res;

    my $content = $res->content;
    my $filters = $block->response_body_filters;

    return unless defined $content && defined $filters;

    if (!ref $filters) {
        $filters =~ s/^\s+|\s+$//gs;
        $filters = [split /\s+/, $filters];

    } elsif (ref $filters ne 'ARRAY') {
        $filters = [$filters];
    }

    if (ref $filters->[0] eq 'ARRAY') {
        $filters = $filters->[$req_idx];
        if (!defined $filters) {
            bail_out($block->name . " - the ---response_body_filters "
                     . "two-dimensional array unmatch the specified "
                     . "request($req_idx)");
        }
    }

    for my $f (ref $filters eq 'ARRAY' ? @$filters : ($filters)) {
        $content = run_body_filter($block, $f, $content);
    }

    $res->content($content);
}

sub check_response_body ($$$$$$) {
    my ($block, $res, $dry_run, $req_idx, $repeated_req_idx, $need_array) = @_;

    my $name = $block->name;

    if (defined $block->write_resp_body_file && defined $res) {
        my $file = $block->write_resp_body_file;
        open my $out, '>', $file
            or bail_out("$name - failed to write to file '$file': $!");
        print $out $res->content // '';
        close $out;
    }

    my $content = $res ? $res->content : undef;

    if (defined $block->response_body || defined $block->response_body_eval) {
        if (defined $block->response_body_json_sort && defined $content) {
            my $js = JSON::PP->new->canonical(1);
            my $obj = eval { $js->loose(1)->decode($content) };
            $content = $js->encode($obj) . "\n" if defined $obj;
        }

        my $expected;
        if ($block->response_body_eval) {
            Test::More::diag("$name - response_body_eval is DEPRECATED. Use "
                             . "response_body eval instead.");
            $expected = eval get_indexed_value($name,
                                               $block->response_body_eval,
                                               $req_idx, $need_array);
            warn $@ if $@;

        } else {
            $expected = get_indexed_value($name, $block->response_body,
                                          $req_idx, $need_array);
        }

        if ($block->charset) {
            Encode::from_to($expected, 'UTF-8', $block->charset);
        }

        if (defined $expected && !ref $expected) {
            $expected =~ s/\$ServerPort\b/$ServerPort/g;
            $expected =~ s/\$ServerPortForClient\b/$ServerPortForClient/g;
            $expected = expand_env_in_text($expected, $name, $RandPorts);
        }

        my $desc = "$name - response_body - response is expected "
                   . "(repeated req $repeated_req_idx, req $req_idx)";

        SKIP: {
            Test::More::skip("$name - response_body - tests skipped due to "
                             . "$dry_run", 1) if $dry_run;

            if (ref $expected) {
                Test::More::like($content, $expected,
                                 "$name - response_body - like (repeated "
                                 . "req $repeated_req_idx, req $req_idx)");

            } elsif ($NoLongString) {
                Test::Base::is($content, $expected, $desc);

            } else {
                is_string($content, $expected, $desc);
            }
        }

    } elsif (defined $block->response_body_like
             || defined $block->response_body_unlike)
    {
        my $type = defined $block->response_body_like ? 'like' : 'unlike';
        my $m = "response_body_$type";

        my $pat = get_indexed_value($name, $block->$m, $req_idx,
                                    $need_array);
        $pat =~ s/\$ServerPort\b/$ServerPort/g;
        $pat =~ s/\$ServerPortForClient\b/$ServerPortForClient/g;

        my $desc = "$name - $m - response is expected ("
                   . trim_summary($content) . ")";

        SKIP: {
            Test::More::skip("$name - $m - tests skipped due to $dry_run", 1)
                if $dry_run;

            if ($type eq 'like') {
                Test::More::like($content, qr/$pat/s, $desc);
            } else {
                Test::More::unlike($content, qr/$pat/s, $desc);
            }
        }
    }

    for my $check (@ResponseBodyChecks) {
        $check->($block, $res ? $res->content : undef, $req_idx,
                 $repeated_req_idx, $dry_run);
    }
}

#
# Logs
#

sub error_log_data () {
    # give the log phase (after the response is sent) time to write
    hsleep $TestNginxSleep * 3;

    open my $in, '<', $ErrLogFile or return undef;

    if (!$CheckAccumErrLog && $ErrLogFilePos > 0) {
        seek $in, $ErrLogFilePos, 0;
    }

    my @lines = <$in>;

    if (!$CheckAccumErrLog) {
        $ErrLogFilePos = tell($in);
    }

    close $in;
    return \@lines;
}

sub access_log_data () {
    hsleep $TestNginxSleep * 3;

    open my $in, '<', $AccLogFile or return undef;
    my @lines = <$in>;
    close $in;
    return \@lines;
}

# error_log / no_error_log / access_log / ... : a string (one pattern a
# line, matched as a substring), a qr//, or an array of both.  A positive
# pattern passes once on its first matching line or fails once; a negative
# one fails for every matching line, or passes once.
sub check_patterns ($$$$$$$) {
    my ($block, $pats, $positive, $lines, $dry_run, $what, $suffix) = @_;

    my $name = $block->name;

    if (!ref $pats) {
        chomp $pats;
        $pats = [split /\n+/, $pats];

    } elsif (ref $pats eq 'Regexp') {
        $pats = [$pats];

    } else {
        $pats = [@$pats];
    }

    $lines //= [];

    my $match = sub {
        my ($line, $pat) = @_;
        return (ref $pat && $line =~ /$pat/) || $line =~ /\Q$pat\E/;
    };

    my $section = $positive ? $what : "no_$what";
    my $logname = $what =~ /access/ ? 'access.log' : 'error.log';

    if ($positive) {
        for my $line (@$lines) {
            for my $pat (@$pats) {
                next unless defined $pat;
                next unless $match->($line, $pat);

                SKIP: {
                    Test::More::skip("$name - $section - tests skipped due "
                                     . "to $dry_run", 1) if $dry_run;
                    Test::More::pass("$name - pattern \"$pat\" matches a "
                                     . "line in $logname$suffix");
                }
                undef $pat;
            }
        }

        for my $pat (@$pats) {
            next unless defined $pat;
            SKIP: {
                Test::More::skip("$name - $section - tests skipped due to "
                                 . "$dry_run", 1) if $dry_run;
                Test::More::fail("$name - pattern \"$pat\" should match a "
                                 . "line in $logname$suffix");
            }
        }

        return;
    }

    my %found;
    for my $i (0 .. $#$lines) {
        my $line = $lines->[$i];

        for my $pat (@$pats) {
            next unless defined $pat;
            next unless $match->($line, $pat);

            no_ending() if $found{$pat}++;

            SKIP: {
                Test::More::skip("$name - $section - tests skipped due to "
                                 . "$dry_run", 1) if $dry_run;
                my @more = @$lines[$i + 1 .. List::Util::min($i + 9,
                                                             $#$lines)];
                Test::More::fail("$name - pattern \"" . fmt_str($pat)
                                 . "\" should not match any line in $logname "
                                 . "but matches line \"" . fmt_str($line)
                                 . "\"$suffix\n" . join('', @more));
            }
        }
    }

    for my $pat (@$pats) {
        next if !defined $pat || $found{$pat};
        SKIP: {
            Test::More::skip("$name - $section - tests skipped due to "
                             . "$dry_run", 1) if $dry_run;
            Test::More::pass("$name - pattern \"" . fmt_str($pat)
                             . "\" does not match a line in $logname"
                             . $suffix);
        }
    }
}

sub check_error_log ($$$$$) {
    my ($block, $res, $dry_run, $repeated_req_idx, $need_array) = @_;

    my $name = $block->name;
    my $lines;
    my $suffix = " (req $repeated_req_idx)";

    my %warn_for = map { $_ => 1 } qw(alert crit emerg);

    for my $s (qw(error_log no_error_log)) {
        my $pats = $block->$s;
        next unless defined $pats;
        for my $level (keys %warn_for) {
            delete $warn_for{$level} if value_contains($pats, "[$level");
        }
    }

    my $grep_pats = $block->grep_error_log;
    if (defined $grep_pats) {
        my $grep_pat = ref $grep_pats eq 'ARRAY'
                       ? $grep_pats->[$repeated_req_idx] : $grep_pats;
        my $expected = $block->grep_error_log_out;

        if (!defined $expected) {
            bail_out("$name - No --- grep_error_log_out defined but --- "
                     . "grep_error_log is defined");
        }

        if (defined $grep_pat) {
            $expected = expand_env_in_text($expected, $name, $RandPorts)
                unless ref $expected;
            $expected = $expected->[$repeated_req_idx]
                if ref $expected eq 'ARRAY';

            SKIP: {
                Test::More::skip("$name - error_log - tests skipped due to "
                                 . "$dry_run", 1) if $dry_run;

                $lines //= error_log_data();

                my $got = '';
                for my $line (@{ $lines // [] }) {
                    if ((ref $grep_pat && $line =~ /$grep_pat/)
                        || $line =~ /\Q$grep_pat\E/)
                    {
                        my $m = $&;
                        $got .= "$m\n" if $m !~ /\n/;
                    }
                }

                my $desc = "$name - grep_error_log_out$suffix";
                if (ref $expected eq 'Regexp') {
                    Test::More::like($got, $expected, $desc);
                } else {
                    is_str($got, $expected, $desc);
                }
            }
        }

    } elsif (defined $block->grep_error_log_out) {
        bail_out("$name - No --- grep_error_log defined but --- "
                 . "grep_error_log_out is defined");
    }

    if (defined $block->error_log) {
        $lines //= error_log_data();
        check_patterns($block, $block->error_log, 1, $lines, $dry_run,
                       'error_log', $suffix);
    }

    if (defined $block->no_error_log) {
        $lines //= error_log_data();
        check_patterns($block, $block->no_error_log, 0, $lines, $dry_run,
                       'error_log', $suffix);
    }

    return if $dry_run;

    if (%warn_for) {
        $lines //= error_log_data();
        for my $line (@{ $lines // [] }) {
            for my $level (sort keys %warn_for) {
                if ($line =~ /\[$level\]/) {
                    warn "WARNING: $name - " . fmt_str($line) . "\n";
                }
            }
        }
    }

    for my $line (@{ $lines // [] }) {
        if ($line =~ /\bAssertion .*?failed\b/) {
            no_ending();
            chomp(my $l = $line);
            Test::More::fail("$name - $l\n");
        }
    }
}

sub value_contains ($$) {
    my ($val, $pat) = @_;

    if (!ref $val || ref $val eq 'Regexp') {
        return $val =~ /\Q$pat\E/;
    }

    if (ref $val eq 'ARRAY') {
        for my $v (@$val) {
            return 1 if value_contains($v, $pat);
        }
    }

    return undef;
}

sub check_access_log ($$$) {
    my ($block, $dry_run, $repeated_req_idx) = @_;

    my $suffix = " (req $repeated_req_idx)";
    my $lines;

    if (defined $block->access_log) {
        $lines //= access_log_data();
        check_patterns($block, $block->access_log, 1, $lines, $dry_run,
                       'access_log', $suffix);
    }

    if (defined $block->no_access_log) {
        $lines //= access_log_data();
        check_patterns($block, $block->no_access_log, 0, $lines, $dry_run,
                       'access_log', $suffix);
    }
}

sub check_shutdown_error_log ($$) {
    my ($block, $dry_run) = @_;

    my $lines;

    if (defined $block->shutdown_error_log) {
        $lines //= error_log_data();
        check_patterns($block, $block->shutdown_error_log, 1, $lines,
                       $dry_run, 'shutdown_error_log', '');
    }

    if (defined $block->no_shutdown_error_log) {
        $lines //= error_log_data();
        check_patterns($block, $block->no_shutdown_error_log, 0, $lines,
                       $dry_run, 'shutdown_error_log', '');
    }
}

sub check_prev_block_shutdown_error_log () {
    my $block = $PrevBlock;

    return unless defined $block;

    if (defined $block->shutdown_error_log
        || defined $block->no_shutdown_error_log)
    {
        check_shutdown_error_log($block, $ENV{TEST_NGINX_NO_CLEAN} ? 1 : 0);
    }

    undef $PrevBlock;
}

#
# --- tcp_listen: a one-shot TCP server standing in for a backend
#

sub start_tcp_server ($$) {
    my ($block, $rand_ports) = @_;

    my $name = $block->name;
    my $target = expand_env_in_text($block->tcp_listen, $name, $rand_ports);
    my $reply = $block->tcp_reply;

    if (!defined $reply && !defined $block->tcp_shutdown) {
        bail_out("$name - no --- tcp_reply specified but --- tcp_listen is "
                 . "specified");
    }

    my $req_len = $block->tcp_query_len;
    my $query_file;

    if (defined $block->tcp_query || defined $req_len) {
        $req_len //= length $block->tcp_query;
        (undef, $query_file) = File::Temp::tempfile('tcp-query-XXXXXX',
                                                    TMPDIR => 1,
                                                    OPEN => 0);
    }

    my $server;
    for (1 .. 30) {
        if ($target =~ /^\d+$/) {
            $server = IO::Socket::INET->new(LocalHost => '127.0.0.1',
                                            LocalPort => $target,
                                            Proto => 'tcp', ReuseAddr => 1,
                                            Listen => 5);

        } elsif ($target =~ m{\S+\.sock$}) {
            unlink $target if -e $target;
            $server = IO::Socket::UNIX->new(Local => $target,
                                            Type => SOCK_STREAM,
                                            Listen => 5);

        } else {
            bail_out("$name - bad tcp_listen target: $target");
        }

        last if $server || $! !~ /address already in use/i;
        hsleep 0.2;
    }

    $server or bail_out("$name - failed to create the tcp listening "
                        . "socket: $!");

    my $pid = fork();
    bail_out("$name - fork() failed: $!") unless defined $pid;

    if ($pid) {
        close $server;
        $TcpServerPid = $pid;
        return $query_file;
    }

    # child
    $InSubprocess = 1;
    Test::More->builder->no_ending(1);

    my $client;
    until ($client = $server->accept()) {
        hsleep $TestNginxSleep;
    }

    my ($no_read, $no_write);
    if (defined $block->tcp_shutdown) {
        my $how = $block->tcp_shutdown;
        hsleep($block->tcp_shutdown_delay) if $block->tcp_shutdown_delay;
        $client->shutdown($how);
        if ($how == 0 || $how == 2) { $no_read = 1 } else { $no_write = 1 }
    }

    my $buf = '';
    unless ($no_read) {
        my $auto = $block->tcp_query_auto_timeout;
        my $sel = IO::Select->new($client);
        my $wait = defined $auto && $auto ne '' ? $auto + 0 : 0.1;

        while (1) {
            if (defined $auto) {
                last unless $sel->can_read($wait);
            }

            my $b;
            my $n = sysread($client, $b, 4096);
            last if !$n;
            $buf .= $b;

            if ($query_file) {
                if (open my $out, '>', "$query_file.tmp") {
                    print $out $buf;
                    close $out;
                    rename "$query_file.tmp", $query_file;
                }
            }

            last if !defined $auto && (!$req_len || length($buf) >= $req_len);
        }
    }

    hsleep(parse_time($block->tcp_reply_delay))
        if $block->tcp_reply_delay;

    if (!$no_write && defined $reply) {
        $reply = $reply->($buf) if ref $reply eq 'CODE';
        for my $r (ref $reply eq 'ARRAY' ? @$reply : ($reply)) {
            syswrite($client, $r);
        }
    }

    if (defined $block->tcp_no_close) {
        hsleep 1 while 1;
    }

    close $client;
    POSIX::_exit(0);
}

sub run_tcp_server_tests ($$$) {
    my ($block, $query_file, $name) = @_;

    return unless defined $block->tcp_listen;

    my $buf = '';
    if ($query_file && open my $in, '<', $query_file) {
        local $/;
        $buf = <$in> // '';
        close $in;
    }

    if (defined $block->tcp_query) {
        is_str($buf, $block->tcp_query, "$name - tcp_query ok");
    }

    if (defined $block->tcp_query_len) {
        Test::More::is(length($buf), $block->tcp_query_len,
                       "$name - TCP query length ok");
    }
}

END {
    # a process forked by a test (or by us) leaves nginx alone
    return if $InSubprocess || $$ != $MainPid;

    cleanup();

    if ($UseValgrind || !$ENV{TEST_NGINX_NO_CLEAN}) {
        local $?;
        stop_nginx('END');
    }

    {
        local $?;
        check_prev_block_shutdown_error_log();
    }

    if ($Randomize && defined $ServRoot && $ServRoot =~ m{/t/servroot_\d+$}
        && -d $ServRoot)
    {
        File::Path::remove_tree($ServRoot);
    }
}

1;
