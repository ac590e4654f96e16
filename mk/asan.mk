# nginx 1.22.1 itself, built from Debian's source package with
# AddressSanitizer + UndefinedBehaviorSanitizer, the module built into that
# tree, and the whole t/ suite run on it (docs/hardening.md).
#
#   make asan-build                  build only (build/asan/)
#   make test-asan                   build, then the t/ suite; fails on any
#                                    test failure or sanitizer report
#   make test-asan TEST_FILES=t/005-redis.t
#   make test-asan ASAN_SHARDS=2     the files in two shards at once, each
#                                    with its own server root and Redis
#                                    (make test does this)
#
# About 90 s to build the first time, 3 minutes for the suite.

ASAN_SHARDS ?= 1

.PHONY: asan-build test-asan

asan-build: deps
	@sh scripts/deps.sh llvm-14
	bash scripts/asan-build.sh build

test-asan: deps
	@sh scripts/deps.sh llvm-14
	ASAN_SHARDS=$(ASAN_SHARDS) bash scripts/asan-build.sh test $(TEST_FILES)
