# The module against the nginx of other Debian releases (docs/testing.md,
# "Other nginx versions"): scripts/compat.sh builds each suite's nginx from
# its source package with its configure flags, the module against it, and
# runs t/ with that binary.  Downloads and builds stay in build/compat/.
#
#   make compat                         bookworm trixie sid
#   make compat COMPAT_SUITES=trixie
#   make compat COMPAT_TARBALL_sid=/path/to/nginx-1.30.x.tar.gz
#                                       when the mirror lacks sid's source

COMPAT_SUITES ?= bookworm trixie sid

.PHONY: compat

compat: deps
	$(MAKE) module
	bash scripts/compat.sh $(COMPAT_SUITES)
