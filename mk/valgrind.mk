# The t/ suite with nginx under valgrind memcheck (docs/hardening.md), as
# `make t-valgrind` runs it, after installing valgrind and building the
# module.  Any invalid read/write/free, use of uninitialised memory or
# definite leak fails the run (scripts/test.sh); the report is in
# build/valgrind.log.  ./valgrind.suppress lists leaks of nginx's own core
# at exit.  About 7 minutes.
#
#   make test-valgrind
#   make test-valgrind TEST_FILES=t/005-redis.t

.PHONY: test-valgrind

test-valgrind: deps
	@sh scripts/deps.sh valgrind
	$(MAKE) module
	$(MAKE) t-valgrind
