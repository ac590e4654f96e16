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
$(BUILD)/nginx/objs/Makefile: config scripts/configure-nginx.sh
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

# make test (CI, .ci/run): deps (llvm-14 too, for the ASan build's
# symbolizer), then scripts/make-test.sh runs the stages in three lanes at
# once, each stage printing its log and its time when it ends
# (docs/testing.md "What make test runs"): the module and the tools; the
# unit tests (plain and under ASan/UBSan) and a short fuzz run; one prove
# run over the nginx suite and the validibot-token and validibot-sync
# suites against one redis-server that scripts/test.sh starts on a free
# port; the nginx suite again on nginx and the module built with ASan +
# UBSan (docs/hardening.md), in two shards at once; and on Debian trixie's
# nginx 1.26, built from its source package (make compat).
TIMED = bash scripts/timed.sh

test:
	@$(TIMED) deps sh -c 'sh scripts/deps.sh && sh scripts/deps.sh llvm-14'
	@MAKE="$(MAKE)" bash scripts/make-test.sh

clean:
	rm -rf $(BUILD) t/servroot* run

include $(wildcard mk/*.mk)
