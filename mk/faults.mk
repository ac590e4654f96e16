# Faults under load and a soak, on loopback, against the module in
# /usr/sbin/nginx (docs/hardening.md).
#
#   make faults                 every fault case once (about 90 s), then
#                               a Sentinel failover under load
#                               (stress/sentinel.sh, about 20 s)
#   make faults FAULT_CASES="pause fake-half" FAULT_ROUNDS=3
#   make faults-asan            the same against the ASan+UBSan build
#                               (make asan-build); RSS not judged there
#   make soak                   1,000,000 requests through one worker;
#                               fails if its RSS grows by more than 1 MiB
#   make soak SOAK_REQUESTS=200000
#   make stress-cache           validibot_cache under load, 4 workers: 8
#                               changes x 1,000 trials, the delay of a report
#                               (1,000 writes), and 6 faults x 3 rounds
#                               (CACHE_TRIALS=..., CACHE_FAULT_ROUNDS=...,
#                               CACHE_PHASES="exact delivery faults")
#
# Knobs (environment): FAULT_SECS, FAULT_CONNECTIONS, FAULT_RSS_SLACK_KB,
# REDIS_TIMEOUT, SOAK_WARMUP, SOAK_MAX_GROWTH_KB, SOAK_CONNECTIONS; see
# stress/faults.sh and stress/soak.sh.

FAULT_CASES   ?=
FAULT_ROUNDS  ?= 1
SOAK_REQUESTS ?= 1000000

ASAN_OBJS = $(BUILD)/asan/nginx-1.22.1/objs

.PHONY: faults faults-asan soak stress-cache stress-deps

stress-deps: deps
	@sh scripts/deps.sh wrk redis-tools

faults: stress-deps
	$(MAKE) module
	NGINX_BIN=$(NGINX_BIN) MODULE_SO=$(MODULE_SO) \
	    FAULT_ROUNDS=$(FAULT_ROUNDS) bash stress/faults.sh $(FAULT_CASES)
	NGINX_BIN=$(NGINX_BIN) MODULE_SO=$(MODULE_SO) bash stress/sentinel.sh

faults-asan: stress-deps
	bash scripts/asan-build.sh build
	ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:suppressions=$(CURDIR)/stress/asan.supp" \
	UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:suppressions=$(CURDIR)/stress/ubsan.supp" \
	    NGINX_BIN=$(ASAN_OBJS)/nginx \
	    MODULE_SO=$(ASAN_OBJS)/ngx_http_validibot_module.so \
	    STRESS_DIR=$(BUILD)/stress/faults-asan FAULT_RSS_SLACK_KB=1000000000 \
	    FAULT_ROUNDS=$(FAULT_ROUNDS) bash stress/faults.sh $(FAULT_CASES)

soak: stress-deps
	$(MAKE) module
	NGINX_BIN=$(NGINX_BIN) MODULE_SO=$(MODULE_SO) \
	    SOAK_REQUESTS=$(SOAK_REQUESTS) bash stress/soak.sh

# validibot_cache under load with 4 workers (stress/cache-exact.pl): 8 kinds
# of change x CACHE_TRIALS (1000), the delay of CACHE_TRIALS reports, and
# CACHE_FAULT_ROUNDS (3) of each fault; fails on any stale success
CACHE_TRIALS       ?= 1000
CACHE_FAULT_ROUNDS ?= 3

stress-cache: stress-deps
	$(MAKE) module
	NGINX_BIN=$(NGINX_BIN) MODULE_SO=$(MODULE_SO) \
	CACHE_FAULT_ROUNDS=$(CACHE_FAULT_ROUNDS) \
	    perl stress/cache-exact.pl $(CACHE_TRIALS)
