# libFuzzer targets (clang, ASan + UBSan) for the pure parsers: the
# Authorization header and key syntax, Redis replies through the hiredis
# reader into the decoder and the verdict, and the names and values the
# module passes on (identity headers, user ids, roles, UTF-8).
# docs/fuzzing.md.
#
#   make fuzz                  each target for FUZZ_SECONDS (default 60)
#   make fuzz FUZZ_SECONDS=600
#   make fuzz-smoke            each target for 10 s (part of make test)

FUZZ_CC       ?= clang
FUZZ_CFLAGS   ?= -g -O1 -fno-omit-frame-pointer -Wall -Wextra -Werror \
                 -fsanitize=fuzzer,address,undefined \
                 -fno-sanitize-recover=all
FUZZ_SECONDS  ?= 60
FUZZ_DIR       = $(BUILD)/fuzz
FUZZ_TARGETS   = fuzz_authorization fuzz_reply fuzz_value fuzz_assertion
FUZZ_BINS      = $(addprefix $(FUZZ_DIR)/,$(FUZZ_TARGETS))
FUZZ_SRCS      = $(addprefix src/ngx_http_validibot_, \
                     key.c digest.c roles.c reply.c check.c value.c \
                     assertion.c json.c)

.PHONY: fuzz fuzz-build fuzz-smoke

fuzz-build: $(FUZZ_BINS)

$(FUZZ_DIR)/%: fuzz/%.c $(FUZZ_SRCS) $(wildcard src/*.h) mk/fuzz.mk
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -I src -o $@ $< $(FUZZ_SRCS) \
	    -lhiredis -lcrypto

fuzz: $(FUZZ_BINS)
	@for t in $(FUZZ_TARGETS); do \
	    sh fuzz/run.sh $(FUZZ_DIR) $$t $(FUZZ_SECONDS) || exit 1; \
	done

fuzz-smoke: $(FUZZ_BINS)
	@for t in $(FUZZ_TARGETS); do \
	    sh fuzz/run.sh $(FUZZ_DIR) $$t 10 || exit 1; \
	done
