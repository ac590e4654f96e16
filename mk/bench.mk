# Benchmarks against baseline nginx, access_by_lua and auth_request (issue
# 4); method and latest table in docs/performance.md.
#
#   make bench         3 rounds x 6 variants x 5 s, then callgrind;
#                      writes bench/results.md (about 4 minutes)
#   make bench-quick   1 round x 2 s, no callgrind, results only in
#                      build/bench/results.md: a smoke run
#
# Knobs: BENCH_ROUNDS, BENCH_DURATION, BENCH_CONNECTIONS, ... (bench/run.sh)

.PHONY: bench bench-quick bench-deps

bench-deps:
	@sh scripts/deps.sh wrk valgrind perl openssl curl procps \
	    libnginx-mod-http-lua lua-nginx-redis lua-nginx-string

bench: deps bench-deps
	$(MAKE) module
	MODULE_SO=$(MODULE_SO) NGINX_BIN=$(NGINX_BIN) bash bench/run.sh

bench-quick: deps bench-deps
	$(MAKE) module
	MODULE_SO=$(MODULE_SO) NGINX_BIN=$(NGINX_BIN) BENCH_ROUNDS=1 \
	    BENCH_DURATION=2 BENCH_CALLGRIND=0 \
	    BENCH_RESULTS=$(BUILD)/bench/results.md bash bench/run.sh
