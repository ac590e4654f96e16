# Unit tests of the pure C parts (src/ without nginx): one TAP program per
# t/unit/test_*.c, linked with every src/*.c that includes no nginx header.
#
#   make unit          build them into $(BUILD)/unit/
#   make unit-test     run them with prove, then again built with
#                      AddressSanitizer + UndefinedBehaviorSanitizer

UNIT_CC       ?= gcc
UNIT_CFLAGS   ?= -O2 -g -Wall -Wextra -Werror -std=gnu99
UNIT_SAN      ?= -O1 -g -fno-omit-frame-pointer \
                 -fsanitize=address,undefined -fno-sanitize-recover=all
UNIT_LIBS      = -lhiredis -lcrypto
UNIT_SRCS      = $(shell grep -L -e '<ngx_config.h>' -e '<ngx_core.h>' \
                     -e '<ngx_http.h>' src/*.c) tools/sync/vs_pgoutput.c
UNIT_HDRS      = $(wildcard src/*.h) tools/sync/vs_pgoutput.h \
                 t/unit/tap.h mk/unit.mk
UNIT_INC       = -I src -I tools/sync -I t/unit
UNIT_NAMES     = $(patsubst t/unit/%.c,%,$(wildcard t/unit/test_*.c))
UNIT_TESTS     = $(addprefix $(BUILD)/unit/,$(UNIT_NAMES))
UNIT_SAN_TESTS = $(addprefix $(BUILD)/unit-san/,$(UNIT_NAMES))

# every source is compiled once per flavour, then linked into each test
UNIT_OBJS      = $(patsubst %.c,$(BUILD)/unit-obj/%.o,$(UNIT_SRCS))
UNIT_SAN_OBJS  = $(patsubst %.c,$(BUILD)/unit-san-obj/%.o,$(UNIT_SRCS))

.PHONY: unit unit-san unit-test

unit: $(UNIT_TESTS)

unit-san: $(UNIT_SAN_TESTS)

$(BUILD)/unit-obj/%.o: %.c $(UNIT_HDRS)
	@mkdir -p $(@D)
	$(UNIT_CC) $(UNIT_CFLAGS) $(UNIT_INC) -c -o $@ $<

$(BUILD)/unit-san-obj/%.o: %.c $(UNIT_HDRS)
	@mkdir -p $(@D)
	$(UNIT_CC) $(UNIT_CFLAGS) $(UNIT_SAN) $(UNIT_INC) -c -o $@ $<

$(BUILD)/unit/%: t/unit/%.c $(UNIT_OBJS) $(UNIT_HDRS)
	@mkdir -p $(@D)
	$(UNIT_CC) $(UNIT_CFLAGS) $(UNIT_INC) -o $@ $< $(UNIT_OBJS) $(UNIT_LIBS)

$(BUILD)/unit-san/%: t/unit/%.c $(UNIT_SAN_OBJS) $(UNIT_HDRS)
	@mkdir -p $(@D)
	$(UNIT_CC) $(UNIT_CFLAGS) $(UNIT_SAN) $(UNIT_INC) -o $@ $< \
	    $(UNIT_SAN_OBJS) $(UNIT_LIBS)

# --exec '' makes prove run each file as a program, not as Perl
unit-test: unit unit-san
	prove --exec '' $(UNIT_TESTS)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	    prove --exec '' $(UNIT_SAN_TESTS)
