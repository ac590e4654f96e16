# The Test::Nginx-format suite (t/): scripts/test.sh starts a redis-server
# of its own on a free port and runs prove with our harness (t/lib), or
# with the real Test::Nginx when TEST_NGINX_LIB points at its lib/.
#
#   make t                                   the whole t/ suite
#   make t TEST_FILES="t/foo.t t/bar.t"      some files
#   make t TEST_NGINX_LIB=/tmp/test-nginx/lib
#   make t-valgrind                          nginx under valgrind memcheck
#
# `make t` does not build the module: `make test` (top Makefile) does
# deps + module + unit tests + this.

.PHONY: t t-valgrind

TEST_FILES ?=
TEST_NGINX_LIB ?=

t:
	TEST_NGINX_LIB="$(TEST_NGINX_LIB)" BUILD="$(BUILD)" \
	    TEST_NGINX_BINARY="$${TEST_NGINX_BINARY:-$(NGINX_BIN)}" \
	    bash scripts/test.sh $(TEST_FILES)

t-valgrind:
	TEST_NGINX_USE_VALGRIND=1 TEST_NGINX_SLEEP=$${TEST_NGINX_SLEEP:-0.2} \
	    TEST_NGINX_TIMEOUT=$${TEST_NGINX_TIMEOUT:-20} \
	    TEST_NGINX_LIB="$(TEST_NGINX_LIB)" BUILD="$(BUILD)" \
	    TEST_NGINX_BINARY="$${TEST_NGINX_BINARY:-$(NGINX_BIN)}" \
	    bash scripts/test.sh $(TEST_FILES)
