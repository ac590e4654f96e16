# ngx_http_validibot_module
#
#   make            build the module (.so), validibot-token, validibot-sync
#   make test       install what is missing, build, run the whole suite
#   make run        a real demo: Redis, demo data, nginx on 127.0.0.1:8080
#   make demo-sync  the same fed from a PostgreSQL with Validibot's schema
#                   by validibot-sync (docs/sync.md)
#
# Parts of the build live in mk/*.mk, one file per concern.

NGINX_SRC   ?= /usr/share/nginx/src
NGINX_BIN   ?= /usr/sbin/nginx
BUILD       ?= $(CURDIR)/build
CC          ?= cc
CFLAGS      ?= -O2 -g -Wall -Wextra -Werror -Wno-unused-parameter

MODULE_SO    = $(BUILD)/ngx_http_validibot_module.so
MODULE_SRCS  = ngx_http_validibot_module.c $(wildcard src/*.c) \
               $(wildcard src/*.h) config

.PHONY: all module deps test run demo-sync stop clean

all: module

deps:
	@sh scripts/deps.sh

module: $(MODULE_SO)

# Debian ships nginx's configured tree in nginx-dev: copy it once, configure
# it with the same flags as /usr/sbin/nginx plus this module, then rebuild
# only the module when a source changes.  NGINX_SRC=/path/to/nginx-x.y.z
# builds for another nginx: flags from its conf_flags or `$(NGINX_BIN) -V`.
$(BUILD)/nginx/objs/Makefile: config
	@mkdir -p $(BUILD)
	bash scripts/configure-nginx.sh $(NGINX_SRC) $(BUILD)/nginx \
	    $(NGINX_BIN) $(BUILD)/configure.log

$(MODULE_SO): $(BUILD)/nginx/objs/Makefile $(MODULE_SRCS)
	$(MAKE) -s -C $(BUILD)/nginx -f objs/Makefile modules
	cp $(BUILD)/nginx/objs/ngx_http_validibot_module.so $@

run: deps
	$(MAKE) module tools
	bash scripts/run.sh

demo-sync: deps
	$(MAKE) module tools
	bash scripts/demo-sync.sh

stop:
	sh scripts/stop.sh

# make test (CI, .ci/run): first what needs the CPU, one after another:
# the module and the tools, the unit tests (plain, then under ASan +
# UBSan), the fuzz targets, nginx and the module built with ASan + UBSan
# (docs/hardening.md), Debian trixie's nginx 1.26 and the module built
# from its source package (make compat).  Then the runs that mostly wait
# (on nginx, Redis, PostgreSQL and timers), at once, each with its own
# redis-server, server root and ports, each one's output printed when it
# ends (make -O): the t/ and tools/t suites on Debian's nginx, t/ on the
# ASan + UBSan nginx, t/ on nginx 1.26, and a short fuzz run.  Each stage
# prints its time; docs/testing.md has what each costs.
TIMED = bash scripts/timed.sh

.PHONY: test-suite test-asan-suite test-trixie

test: deps
	$(TIMED) build $(MAKE) module tools
	$(TIMED) unit $(MAKE) unit-test
	$(TIMED) builds $(MAKE) fuzz-build asan-build
	COMPAT_BUILD_ONLY=1 $(TIMED) trixie-build bash scripts/compat.sh trixie
	$(TIMED) suites $(MAKE) -j4 -O test-suite test-asan-suite test-trixie \
	    fuzz-smoke

test-suite:
	VALIDIBOT_TOKEN_BIN=$(BUILD)/validibot-token \
	VALIDIBOT_MODULE_SO=$(MODULE_SO) \
	    $(TIMED) t+tools/t bash scripts/test.sh t/ tools/t/

test-asan-suite:
	$(TIMED) asan-t bash scripts/asan-build.sh test

test-trixie:
	$(TIMED) trixie-t bash scripts/compat.sh trixie

clean:
	rm -rf $(BUILD) t/servroot* run

include $(wildcard mk/*.mk)
