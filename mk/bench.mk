# Benchmarks against baseline nginx, access_by_lua and auth_request (issue
# 4); method and latest table in docs/performance.md.
#
#   make bench         3 rounds x 6 variants x 5 s, then callgrind;
#                      writes bench/results.md (about 4 minutes)
#   make bench-quick   1 round x 2 s, no callgrind, results only in
#                      build/bench/results.md: a smoke run
#
# Knobs: BENCH_ROUNDS, BENCH_DURATION, BENCH_CONNECTIONS, ... (bench/run.sh)

#   make bench-sync    validibot-sync: COMMIT -> first refusal at the
#                      gateway, p50/p99/max over 1,000 revocations under
#                      load and right after 1,000,000-row transactions; initial
#                      load of 100,000 users/keys/memberships; RSS
#                      (docs/sync.md; about 5 minutes)

.PHONY: bench bench-quick bench-deps bench-sync module-profile

# The module built with -DNGX_HTTP_VALIDIBOT_PROFILE (src/
# ngx_http_validibot_profile.c): the module-assertion variant of make
# bench loads it and reports the assertion's own time per request.  A
# copy of the configured nginx tree, so the normal build is untouched.
PROFILE_SO   = $(BUILD)/ngx_http_validibot_module-profile.so

module-profile: $(PROFILE_SO)

$(PROFILE_SO): $(MODULE_SO)
	rm -rf $(BUILD)/nginx-profile
	cp -a $(BUILD)/nginx $(BUILD)/nginx-profile
	find $(BUILD)/nginx-profile/objs/addon -name '*.o' -delete
	rm -f $(BUILD)/nginx-profile/objs/ngx_http_validibot_module.so
	sed -i 's/^CFLAGS = /&-DNGX_HTTP_VALIDIBOT_PROFILE /' \
	    $(BUILD)/nginx-profile/objs/Makefile
	$(MAKE) -s -C $(BUILD)/nginx-profile -f objs/Makefile modules
	cp $(BUILD)/nginx-profile/objs/ngx_http_validibot_module.so $@

bench-deps:
	@sh scripts/deps.sh wrk valgrind perl openssl curl procps \
	    libnginx-mod-http-lua lua-nginx-redis lua-nginx-string

bench: deps bench-deps
	$(MAKE) module module-profile
	MODULE_SO=$(MODULE_SO) NGINX_BIN=$(NGINX_BIN) bash bench/run.sh

bench-quick: deps bench-deps
	$(MAKE) module module-profile
	MODULE_SO=$(MODULE_SO) NGINX_BIN=$(NGINX_BIN) BENCH_ROUNDS=1 \
	    BENCH_DURATION=2 BENCH_CALLGRIND=0 \
	    BENCH_RESULTS=$(BUILD)/bench/results.md bash bench/run.sh

bench-sync: deps bench-deps
	$(MAKE) module tools
	MODULE_SO=$(MODULE_SO) NGINX_BIN=$(NGINX_BIN) perl bench/sync.pl
