#!/usr/bin/perl
# Turns bench/run.sh's raw numbers into the markdown of bench/results.md:
# the summary table (medians over rounds, each ratio taken against the
# baseline of its own round), the targets of issue 4, the per-round
# numbers, instructions per request, and the machine.

use strict;
use warnings;
use POSIX qw(strftime);
use FindBin;

my ($tsv, $cg_tsv, $cg_dir, $cg_n1, $cg_n2, $pool, $lua_pool, $conns,
    $duration, $rounds) = @ARGV;
my $upstream = $ENV{BENCH_UPSTREAM_MODE} // 'process';

my @order = qw(baseline module-cold module-hot module-assertion module-script
               module-cache-hot module-cache-cold module-tls lua lua-cache-hot
               auth_request);
my (%by, @rows);

open my $f, '<', $tsv or die "$tsv: $!\n";
my $hdr = <$f>;
chomp $hdr;
my @cols = split /\t/, $hdr;
while (<$f>) {
    chomp;
    my %row;
    @row{@cols} = split /\t/;
    push @rows, \%row;
    $by{$row{round}}{$row{variant}} = \%row;
}
close $f;

sub median {
    my @v = sort { $a <=> $b } @_;
    return 0 unless @v;
    return @v % 2 ? $v[$#v / 2] : ($v[@v / 2 - 1] + $v[@v / 2]) / 2;
}

sub per_round {
    my ($v, $fn) = @_;
    my @x;
    for my $r (sort { $a <=> $b } keys %by) {
        next unless $by{$r}{$v};
        push @x, $fn->($by{$r}, $r);
    }
    return @x;
}

sub col {
    my ($v, $c) = @_;
    return per_round($v, sub { $_[0]{$v}{$c} });
}

sub ratio {
    my ($v, $w, $c) = @_;
    $c //= 'rps';
    return per_round($v, sub {
        my $b = $_[0]{$w};
        return ($b && $b->{$c}) ? $_[0]{$v}{$c} / $b->{$c} : ();
    });
}

sub range {
    my @v = sort { $a <=> $b } @_;
    return @v ? sprintf('%.2f–%.2f', $v[0], $v[-1]) : '-';
}

my %desc = (
    'baseline'     => 'nginx proxy, no auth',
    'module-cold'  => 'module, 10,000 keys',
    'module-hot'   => 'module, 10 keys',
    'module-assertion' => 'module, 10 keys, validibot_assertion',
    'module-script' => 'module, 10,000 keys, validibot_owner_hints off',
    'module-cache-hot'  => 'module, validibot_cache, 10 keys',
    'module-cache-cold' => 'module, validibot_cache, 10,000 keys',
    'module-tls'   => 'module, 10,000 keys, rediss:// (TLS to Redis)',
    'lua'          => 'access_by_lua + lua-nginx-redis',
    'lua-cache-hot' => 'access_by_lua, 1 s lrucache, 10 keys',
    'auth_request' => 'auth_request → Lua auth service',
);

my $date = strftime('%Y-%m-%d %H:%M UTC', gmtime);
print "# Benchmark results\n\n";
print "Written by `make bench` (bench/run.sh) on $date. Method: ",
      "docs/performance.md.\n\n";

print "## Results\n\n";
print "Medians over $rounds rounds of ${duration} s per variant, ",
      "$conns connections, one nginx worker. Each ratio is taken against ",
      "the baseline of the same round (range over rounds in brackets).\n\n";
print "| variant | req/s | × baseline | p50 ms | p99 ms | p99 × baseline ",
      "| worker CPU µs/req | capacity × baseline | Redis CPU µs/req ",
      "| Redis EVALSHA + other /req | Redis conns held | conns opened |\n";
print "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n";

for my $v (@order) {
    next unless col($v, 'rps');
    my @ratio = ratio($v, 'baseline');
    my @p99r = ratio($v, 'baseline', 'p99_us');
    my @cap = map { 1 / $_ } ratio($v, 'baseline', 'worker_us_per_req');
    my $redis = $v eq 'baseline';
    my @rus = per_round($v, sub {
        my $x = $_[0]{$v};
        return $x->{rps} ? $x->{redis_cpu_pct} * 1e4 / $x->{rps} : ();
    });
    printf "| %s (%s) | %.0f | %.2f (%s) | %.2f | %.2f | %.2f | %.1f "
           . "| %.2f (%s) | %s | %s | %s | %s |\n",
        $v, $desc{$v}, median(col($v, 'rps')), median(@ratio), range(@ratio),
        median(col($v, 'p50_us')) / 1000, median(col($v, 'p99_us')) / 1000,
        median(@p99r), median(col($v, 'worker_us_per_req')),
        median(@cap), range(@cap),
        $redis ? '-' : sprintf('%.1f', median(@rus)),
        $redis ? '-' : sprintf('%.2f + %.2f',
                               median(col($v, 'redis_evalsha_per_req')),
                               median(col($v, 'redis_other_per_req'))),
        $redis ? '-' : join('/', col($v, 'redis_conns')),
        $redis ? '-' : join('/', col($v, 'redis_conns_opened'));
}

print "\n\"Redis conns held\" is the number of connections named ",
      "validibot-nginx (module) or validibot-lua (Lua) in `CLIENT LIST` ",
      "sampled mid-run, one number per round; \"conns opened\" is Redis's ",
      "`total_connections_received` over the measured run. \"Redis ",
      "EVALSHA + other /req\" counts, per request served, script lookups ",
      "(EVALSHA) and every other command Redis ran (`INFO commandstats`; ",
      "Redis counts the HMGET and HGET a script runs with the rest, so a ",
      "script lookup shows as 1 + 4 with an org and a hinted one as 0 + 3 ",
      "or 4; which commands: the last column of the rounds table). ",
      "\"worker CPU ",
      "µs/req\" is the nginx worker's user + system time divided by ",
      "requests served; \"capacity × baseline\" is the baseline's µs/req ",
      "over the variant's (same round): the throughput ratio one saturated ",
      "worker would show, whatever else the machine was doing. \"Redis CPU ",
      "µs/req\" is redis-server's CPU time per request served: Redis ",
      "shares CPU 1 with wrk and the upstream here, so it bounds the req/s ",
      "of the variants that use it.\n\n";

# --- targets ---

print "## Targets (issue 4)\n\n";

my @t;
my $cold = median(ratio('module-cold', 'baseline'));
my $cold_cap = median(map { 1 / $_ }
                      ratio('module-cold', 'baseline', 'worker_us_per_req'));
push @t, [ 'module, cold keys ≥ 0.75× baseline',
           $cold >= 0.75, sprintf('%.2f× req/s (CPU capacity %.2f×)', $cold,
                                  $cold_cap) ];
my $vs_lua = median(ratio('module-cold', 'lua'));
my $vs_lua_cap = median(map { 1 / $_ }
                        ratio('module-cold', 'lua', 'worker_us_per_req'));
push @t, [ 'module, cold keys ≥ 1.8× lua',
           $vs_lua >= 1.8, sprintf('%.2f× req/s (CPU capacity %.2f×)',
                                   $vs_lua, $vs_lua_cap) ];
my $hot = median(ratio('module-hot', 'module-cold'));
push @t, [ 'module, hot keys no worse than cold (≥ 0.95×, the noise)',
           $hot >= 0.95, sprintf('%.2f×', $hot) ];
for my $v (qw(module-cold module-hot)) {
    my $p = median(ratio($v, 'baseline', 'p99_us'));
    push @t, [ "p99 of $v ≤ 1.5× baseline p99", $p <= 1.5,
               sprintf('%.2f×', $p) ];
}
for my $v (qw(module-cache-hot module-cache-cold)) {
    my $p = median(ratio($v, 'baseline', 'p99_us'));
    push @t, [ "p99 of $v ≤ 1.2× baseline p99 (issue 14)", $p <= 1.2,
               sprintf('%.2f×', $p) ];
}
my $ch = median(ratio('module-cache-hot', 'baseline'));
my $ch_cap = median(map { 1 / $_ }
                    ratio('module-cache-hot', 'baseline',
                          'worker_us_per_req'));
push @t, [ 'module-cache-hot ≥ 0.97× baseline (issue 14)', $ch >= 0.97,
           sprintf('%.2f× req/s (CPU capacity %.2f×)', $ch, $ch_cap) ];
my $cl = median(ratio('module-cache-hot', 'lua-cache-hot'));
push @t, [ 'module-cache-hot ahead of lua-cache-hot (issue 14)', $cl > 1,
           sprintf('%.2f×', $cl) ];
my $cc = median(ratio('module-cache-cold', 'module-cold'));
push @t, [ 'module-cache-cold no worse than module-cold (≥ 0.95×, the '
           . 'noise; issue 14)', $cc >= 0.95, sprintf('%.2f×', $cc) ];
my @held = (col('module-cold', 'redis_conns'), col('module-hot', 'redis_conns'));
my $ok = @held && !grep { $_ != $pool } @held;
push @t, [ "Redis connections per worker = validibot_redis_connections ($pool)",
           $ok, join('/', @held) . " held under $conns connections" ];

# a partial run (BENCH_VARIANTS) cannot judge every target
my $all = !grep { !col($_, 'rps') } @order;

print "| target | result | measured |\n|---|---|---|\n";
printf "| %s | %s | %s |\n", $_->[0],
    !$all ? 'not judged (partial run)' : $_->[1] ? 'met' : '**missed**',
    $_->[2] for @t;
print "\n";

# --- TLS to Redis ---

if (col('module-tls', 'rps') && col('module-cold', 'rps')) {
    my $rps = median(ratio('module-tls', 'module-cold'));
    my $us = median(per_round('module-tls', sub {
        my ($t, $c) = ($_[0]{'module-tls'}, $_[0]{'module-cold'});
        return ($t && $c) ? $t->{worker_us_per_req} - $c->{worker_us_per_req}
                          : ();
    }));
    my $rus = median(per_round('module-tls', sub {
        my ($t, $c) = ($_[0]{'module-tls'}, $_[0]{'module-cold'});
        return () unless $t && $c && $t->{rps} && $c->{rps};
        return $t->{redis_cpu_pct} * 1e4 / $t->{rps}
               - $c->{redis_cpu_pct} * 1e4 / $c->{rps};
    }));
    print "## TLS to Redis (rediss://)\n\n";
    printf "module-tls against module-cold, medians of the same rounds: "
           . "%.2f× the req/s; the nginx worker spends %+.1f µs of CPU per "
           . "lookup on TLS, Redis about %+.1f µs. Lookups of one event "
           . "loop iteration share one TLS record each way, so the cost "
           . "per lookup is the cost of a record over about ten lookups.\n\n",
           $rps, $us, $rus;
}

# --- per round ---

print "## Every round\n\n";
print "CPU %: share of one CPU used during the measured seconds by the ",
      "nginx worker, redis-server, wrk and the upstream's worker; \"CPU 0/1 ",
      "busy\" counts every ",
      "process on the machine (other work running there shows up here).\n\n";
print "| round | variant | req/s | × baseline | p50 ms | p99 ms ",
      "| worker µs/req | worker % | redis % | wrk % | upstream % ",
      "| CPU 0/1 busy % | other Redis commands /req |\n";
print "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n";
for my $row (@rows) {
    my $b = $by{$row->{round}}{baseline};
    printf "| %d | %s | %.0f | %s | %.2f | %.2f | %.1f | %.0f | %.0f | %.0f "
           . "| %.0f | %.0f / %.0f | %s |\n",
        $row->{round}, $row->{variant}, $row->{rps},
        $b ? sprintf('%.2f', $row->{rps} / $b->{rps}) : '-',
        $row->{p50_us} / 1000, $row->{p99_us} / 1000,
        $row->{worker_us_per_req}, $row->{worker_cpu_pct},
        $row->{redis_cpu_pct}, $row->{wrk_cpu_pct},
        $row->{upstream_cpu_pct} // 0,
        $row->{nginx_cpu_busy_pct}, $row->{load_cpu_busy_pct},
        $row->{redis_other_cmds} // '-';
}
print "\n";

# --- callgrind ---

my %cg;
if (open $f, '<', $cg_tsv) {
    while (<$f>) {
        chomp;
        my ($c, $i1, $i2, $per) = split /\t/;
        $cg{$c} = $per;
    }
    close $f;
}

if (%cg) {
    print "## Instructions per request (callgrind)\n\n";
    print "nginx with `master_process off` under `valgrind --tool=callgrind`,",
          " one keep-alive connection, 10,000 keys in rotation (each ",
          "request the key's first lookup in that worker: the script), and ",
          "for module-hinted 100 keys (every counted request a hinted ",
          "lookup, plain HMGET/HGET), and for module-cache-hot 10 keys ",
          "with validibot_cache (every counted request a cache hit). ",
          "Per request ",
          "= (instructions for $cg_n2 requests − for $cg_n1) / ",
          $cg_n2 - $cg_n1, ", so start-up cancels out. User-space ",
          "instructions of the nginx process only (not the kernel, not ",
          "Redis, not the upstream). valgrind's virtual CPU has no SHA ",
          "extensions, so OpenSSL's SHA-256 runs its plain x86-64 code ",
          "here; on this CPU (sha_ni) it costs less in real time.\n\n";
    print "| variant | instructions/request | over baseline |\n";
    print "|---|---:|---:|\n";
    for my $c (qw(baseline module module-hinted module-assertion
                  module-cache-hot lua)) {
        next unless defined $cg{$c};
        printf "| %s | %d | %s |\n", $c, $cg{$c},
            $c eq 'baseline' ? '-' : sprintf('%+d', $cg{$c} - $cg{baseline});
    }
    print "\n";
    assertion_cost();
    profile('module', 'the module\'s');
    profile('module-cache', 'a cache hit\'s (module-cache-hot)');
}

assertion_profile();

# validibot_assertion: what signing adds to a hinted lookup, in
# instructions (callgrind) and in worker CPU time (the rounds)
sub assertion_cost {
    return unless defined $cg{'module-assertion'}
                  && defined $cg{'module-hinted'};
    my $d = $cg{'module-assertion'} - $cg{'module-hinted'};
    my @us = ratio('module-assertion', 'module-hot', 'worker_us_per_req');
    printf "validibot_assertion adds %d instructions per request, %.1f %% "
           . "of module-hinted's %d%s.\n\n", $d,
           100 * $d / $cg{'module-hinted'}, $cg{'module-hinted'},
           @us ? sprintf('; worker CPU µs/req module-assertion over '
                         . 'module-hot: %.3f (%s)', median(@us), range(@us))
               : '';
}

# validibot_assertion's own time per request, from the profile build the
# module-assertion rounds ran on (src/ngx_http_validibot_profile.c): the
# sum of CLOCK_MONOTONIC intervals around each step, the timer's own cost
# taken off, over the requests of the round; against the worker's CPU
# time per request of the same round, less what the profiler's marks cost
sub assertion_profile {
    my @r;
    for my $row (@rows) {
        next unless $row->{variant} eq 'module-assertion'
                    && ($row->{profile} // '-') ne '-';
        my %p = $row->{profile} =~ /(\w+)=(-?\d+)/g;
        next unless $p{assertions};
        my $marks_us = $p{marks} * $p{empty_ps} / 1e6;
        my $w = $row->{worker_us_per_req} - $marks_us;
        my $hot = $by{$row->{round}}{'module-hot'};
        push @r, { round => $row->{round}, %p, marks_us => $marks_us,
                   worker => $w, share => $w > 0 ? $p{total_ps} / 1e6 / $w : 0,
                   hot => $hot ? $hot->{worker_us_per_req} : undef };
    }
    return unless @r;

    print "## The signed assertion's own cost (issue 11)\n\n";
    print "module-assertion's rounds ran on the profile build (`make ",
          "module-profile`, -DNGX_HTTP_VALIDIBOT_PROFILE): the worker sums ",
          "`CLOCK_MONOTONIC` intervals around each step of ",
          "`ngx_http_validibot_assert()` over every request it signs, takes ",
          "off an empty interval per step (measured at its start), leaves ",
          "out requests whose signing took over 50 µs (preempted: the worker ",
          "shares its CPU) and logs the sums as it exits. \"worker µs/req\" ",
          "is that round's worker CPU per request less the profiler's own ",
          "marks; the share is the assertion's µs over it. Not counted: ",
          "dropping client-sent copies of the header and the proxy's longer ",
          "request to the upstream (the callgrind row counts those).\n\n";
    print "| round | signed | preempted | claims µs | JSON µs | sign µs ",
          "| header µs | assertion µs/req | worker µs/req | share ",
          "| module-hot worker µs/req |\n";
    print "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n";
    for my $x (@r) {
        printf "| %d | %d | %d | %.3f | %.3f | %.3f | %.3f | %.3f | %.1f "
               . "| %.2f %% | %s |\n",
            $x->{round}, $x->{assertions}, $x->{dropped},
            $x->{claims_ps} / 1e6, $x->{json_ps} / 1e6, $x->{sign_ps} / 1e6,
            $x->{header_ps} / 1e6, $x->{total_ps} / 1e6, $x->{worker},
            100 * $x->{share},
            defined $x->{hot} ? sprintf('%.1f', $x->{hot}) : '-';
    }
    my $us = median(map { $_->{total_ps} / 1e6 } @r);
    my $share = median(map { $_->{share} } @r);
    my $w = median(map { $_->{worker} } @r);
    printf "\nMedians: the assertion takes %.3f µs per request, %.2f %% of "
           . "the worker's %.1f µs: the target (≤ 2 %% of the worker's time "
           . "per request) is %s at this worker time.", $us, 100 * $share,
           $w, $share <= 0.02 ? 'met' : '**missed**';
    if (defined $cg{'module-assertion'} && defined $cg{'module-hinted'}) {
        my $d = $cg{'module-assertion'} - $cg{'module-hinted'};
        printf " Callgrind, the second method: %d of module-assertion's %d "
               . "instructions per request, %.2f %% (valgrind has no SHA "
               . "extensions: SHA-256 counts more there than it costs on "
               . "this CPU).", $d, $cg{'module-assertion'},
               100 * $d / $cg{'module-assertion'};
    }
    print "\n\n";
}

# per-request instructions by function: (file for n2 - file for n1) / dn
# callgrind_annotate lists a function once per source file its code came
# from ("???" where it has no line info): exclusive costs add up across
# those lines, inclusive ones overlap, so take the largest
sub annotated {
    my ($file, $inclusive) = @_;
    my %h;
    open my $fh, '<', $file or return;
    while (my $l = <$fh>) {
        next unless $l =~ /^\s*([\d,]+)\s+\(\s*[\d.]+%\)\s+(.*)$/;
        my ($ir, $n) = ($1, $2);
        next if $n =~ /PROGRAM TOTALS/;
        $ir =~ s/,//g;
        my $obj = $n =~ s/\s*(\[.*\])\s*$// ? $1 : '';
        $n =~ s/^.*://;                 # "file:function" -> "function"
        $n =~ s/'\d+$//;                # recursion levels
        $n .= " $obj" if $obj && !$inclusive;
        if ($inclusive) {
            $h{$n} = $ir if !defined $h{$n} || $ir > $h{$n};
        } else {
            $h{$n} += $ir;
        }
    }
    return \%h;
}

sub per_request {
    my ($c, $kind) = @_;
    my $x = annotated("$cg_dir/$c-$cg_n1.$kind", $kind eq 'incl') or return;
    my $y = annotated("$cg_dir/$c-$cg_n2.$kind", $kind eq 'incl') or return;
    my %d;
    for my $k (keys %$x, keys %$y) {
        $d{$k} = (($y->{$k} // 0) - ($x->{$k} // 0)) / ($cg_n2 - $cg_n1);
    }
    return \%d;
}

sub group {
    my ($k) = @_;
    return 'OpenSSL (SHA-256, CRYPTO_memcmp, cleanse)' if $k =~ /libcrypto/;
    return 'glibc malloc/free' if $k =~ /malloc|free|memalign|unlink_chunk/
                                  && $k =~ /libc\.so/;
    return 'hiredis (reply parsing and objects)' if $k =~ /hiredis/;
    return 'the module\'s own code' if $k =~ /validibot/;
    return 'nginx' if $k =~ /\/nginx\]/;
    return 'glibc, other (memcpy, ...)' if $k =~ /libc\.so/;
    return 'other';
}

sub profile {
    my ($c, $what) = @_;
    my $base = per_request('baseline', 'self');
    my $mod = per_request($c, 'self');
    return unless $base && $mod;

    my (%g, %seen, $total);
    for my $k (keys %$mod, keys %$base) {
        next if $seen{$k}++;
        my $d = ($mod->{$k} // 0) - ($base->{$k} // 0);
        $g{group($k)} += $d;
        $total += $d;
    }

    print "Where $what extra instructions per request go ",
          "(exclusive cost, $c run minus baseline run):\n\n";
    print "| part | instructions/request |\n|---|---:|\n";
    for my $k (sort { $g{$b} <=> $g{$a} } keys %g) {
        printf "| %s | %+.0f |\n", $k, $g{$k};
    }
    printf "| total | %+.0f |\n\n", $total;

    my $incl = per_request($c, 'incl');
    return unless $incl;

    # not the filters: their inclusive cost is the rest of nginx's chain
    my @fn = grep { /validibot|SHA256_|redisReader|freeReplyObject|CRYPTO_memcmp/
                    && !/_filter$/ } keys %$incl;
    @fn = sort { $incl->{$b} <=> $incl->{$a} } @fn;
    splice @fn, 14 if @fn > 14;

    print "The functions of $c, inclusive instructions per request ",
          "(each with what it calls):\n\n";
    print "| function | instructions/request |\n|---|---:|\n";
    for my $k (@fn) {
        (my $name = $k) =~ s/\s*\[.*//;
        printf "| %s | %.0f |\n", $name, $incl->{$k};
    }
    print "\n";
}

# --- machine ---

sub sh {
    my $out = `$_[0] 2>&1`;
    $out =~ s/\s+\z//;
    $out =~ s/\n/; /g;
    return $out;
}

sub pkg {
    return sh("dpkg-query -W -f '\${Version}' $_[0]");
}

my $cpu = sh("lscpu | sed -n 's/^Model name:[[:space:]]*//p'");
my $commit = sh("git -C '$FindBin::Bin/..' rev-parse --short HEAD");
my $dirty = sh("git -C '$FindBin::Bin/..' status --porcelain -- "
               . "ngx_http_validibot_module.c src config");

print "## Machine\n\n";
print "| | |\n|---|---|\n";
print "| CPUs (nproc) | ", sh('nproc'), " |\n";
print "| CPU model | $cpu |\n";
print "| kernel | ", sh('uname -r'), " |\n";
print "| Debian | ", sh('cat /etc/debian_version'), " |\n";
print "| nginx | ", sh('nginx -v'), " (", pkg('nginx'), ") |\n";
print "| module | commit $commit", $dirty ? ' + uncommitted changes' : '',
      " |\n";
print "| redis-server | ", pkg('redis-server'), " |\n";
print "| wrk | ", pkg('wrk'), " |\n";
print "| libnginx-mod-http-lua | ", pkg('libnginx-mod-http-lua'), " |\n";
print "| lua-nginx-redis | ", pkg('lua-nginx-redis'), " |\n";
print "| lua-nginx-string | ", pkg('lua-nginx-string'), " |\n";
print "| LuaJIT | ", pkg('libluajit2-5.1-2') || pkg('libluajit-5.1-2'), " |\n";
print "| OpenSSL | ", pkg('libssl3'), " |\n";
print "| hiredis | ", pkg('libhiredis0.14'), " |\n";
print "| valgrind | ", pkg('valgrind'), " |\n";
print "\n";

print "## Settings\n\n";
print "- one nginx worker (`worker_processes 1`) pinned to CPU 0; wrk ",
      "(1 thread, $conns connections), redis-server",
      $upstream eq 'inline' ? '' : ' and the upstream',
      " pinned to CPU 1;\n";
print $upstream eq 'inline'
      ? "- upstream: a server block of the nginx under test on a unix "
        . "socket answering `200 \"ok\\n\"`, keepalive 64;\n"
      : "- upstream: a separate nginx process (one worker) on a unix "
        . "socket answering `200 \"ok\\n\"`, keepalive 64 from the nginx "
        . "under test;\n";
print "- Redis over TCP on loopback, `--save ''`; the module with ",
      "`validibot_redis_connections $pool`; Lua with `set_keepalive` ",
      "pool $lua_pool;\n";
print "- route `GET /api/v1/orgs/acme/workflows/` with ",
      "`validibot_org \$org; validibot_require workflow_view;` (the Lua ",
      "variants do the same check); every variant answers 200 with the ",
      "upstream's body, and was first checked to answer 401 for a wrong ",
      "secret, an unknown key and no key, 403 for another org;\n";
print "- variants alternate within each round, the order rotated by one ",
      "each round; ${duration} s measured after a 1 s warm-up, nginx ",
      "restarted for each.\n";
