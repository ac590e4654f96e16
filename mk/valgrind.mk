# The t/ suite with nginx under valgrind memcheck (docs/hardening.md):
# `make t-valgrind` (mk/test.mk) after installing valgrind and building
# the module.  Any invalid read/write/free, use of uninitialised memory or
# definite leak fails the run; the report is in build/valgrind.log.
#
#   make test-valgrind
#   make test-valgrind TEST_FILES=t/005-redis.t

.PHONY: test-valgrind

test-valgrind: deps
	@sh stress/deps.sh valgrind
	$(MAKE) module
	$(MAKE) t-valgrind
