# validibot-token, the operator's command-line tool (docs/cli.md).
#
#   make tools        build $(BUILD)/validibot-token
#   make install      install it and validibot-sync to
#                     $(DESTDIR)$(PREFIX)/bin
#   make tools-test   prove tools/t/ against the Redis on
#                     $$TEST_NGINX_REDIS_PORT (a private one when unset);
#                     tools/t/80-nginx.t also runs nginx with the module
#
# It links the module's own pure code from src/ (key syntax, digest,
# roles, reply decoding, the check, URLs): no second copy of any rule.

PREFIX       ?= /usr/local
BINDIR       ?= $(PREFIX)/bin
INSTALL      ?= install

TOOLS_BIN     = $(BUILD)/validibot-token
TOOLS_OBJDIR  = $(BUILD)/tools
TOOLS_SRCS    = $(wildcard tools/*.c)
TOOLS_SHARED  = src/ngx_http_validibot_key.c \
                src/ngx_http_validibot_digest.c \
                src/ngx_http_validibot_roles.c \
                src/ngx_http_validibot_reply.c \
                src/ngx_http_validibot_check.c \
                src/ngx_http_validibot_url.c \
                src/ngx_http_validibot_value.c \
                src/ngx_http_validibot_assertion.c \
                src/ngx_http_validibot_json.c
TOOLS_OBJS    = $(patsubst %.c,$(TOOLS_OBJDIR)/%.o,\
                    $(TOOLS_SRCS) $(TOOLS_SHARED))
TOOLS_HDRS    = $(wildcard tools/*.h) $(wildcard src/*.h)
TOOLS_CFLAGS  = $(CFLAGS) -Isrc -Itools
TOOLS_LIBS    = -lhiredis -lssl -lcrypto -pthread

.PHONY: tools install tools-test

all: tools

tools: $(TOOLS_BIN)

$(TOOLS_BIN): $(TOOLS_OBJS)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(TOOLS_OBJS) $(TOOLS_LIBS)

$(TOOLS_OBJDIR)/%.o: %.c $(TOOLS_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(TOOLS_CFLAGS) -c -o $@ $<

install: $(TOOLS_BIN)
	$(INSTALL) -d $(DESTDIR)$(BINDIR)
	$(INSTALL) -m 0755 $(TOOLS_BIN) $(DESTDIR)$(BINDIR)/validibot-token
	$(INSTALL) -m 0755 $(SYNC_BIN) $(DESTDIR)$(BINDIR)/validibot-sync

tools-test: $(TOOLS_BIN) $(MODULE_SO)
	VALIDIBOT_TOKEN_BIN=$(TOOLS_BIN) VALIDIBOT_MODULE_SO=$(MODULE_SO) \
	    TEST_NGINX_BINARY="$${TEST_NGINX_BINARY:-$(NGINX_BIN)}" \
	    prove tools/t/

# validibot-sync, the PostgreSQL -> Redis bridge (docs/sync.md): its own
# files in tools/sync/, the module's URL parser for validibot_redis URLs.

SYNC_BIN      = $(BUILD)/validibot-sync
SYNC_SRCS     = $(wildcard tools/sync/*.c) tools/vt_opts.c \
                src/ngx_http_validibot_url.c
SYNC_OBJS     = $(patsubst %.c,$(BUILD)/sync/%.o,$(SYNC_SRCS))
SYNC_CFLAGS   = $(CFLAGS) -Isrc -Itools -Itools/sync -I$(shell pg_config \
                    --includedir 2>/dev/null || echo /usr/include/postgresql)
SYNC_LIBS     = -lpq -lhiredis

.PHONY: sync

tools: $(SYNC_BIN)

sync: $(SYNC_BIN)

install: $(SYNC_BIN)

$(SYNC_BIN): $(SYNC_OBJS)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(SYNC_OBJS) $(SYNC_LIBS)

$(BUILD)/sync/%.o: %.c $(wildcard tools/sync/*.h) tools/vt_opts.h \
                    src/ngx_http_validibot_url.h
	@mkdir -p $(dir $@)
	$(CC) $(SYNC_CFLAGS) -c -o $@ $<
