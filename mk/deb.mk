# Debian packages, built the way Debian builds its nginx modules (debian/,
# dh-sequence-nginx from nginx-dev); docs/packaging.md.
#
#   make deb        libnginx-mod-http-validibot_*.deb and
#                   validibot-token_*.deb in build/deb/ (dpkg-buildpackage
#                   -us -uc -b on a copy of the tree), then lintian
#   make test-deb   make deb, then scripts/test-deb.sh: install both on
#                   this machine, serve a site, purge, compare (root)
#
# The copy holds the tracked and new files (not build/): dpkg-buildpackage
# writes its results next to the tree it builds, which must not be the
# checkout's parent directory.

DEB_DIR      = $(BUILD)/deb
DEB_SRC      = $(DEB_DIR)/src/libnginx-mod-http-validibot

.PHONY: deb deb-deps test-deb

deb-deps: deps
	@sh scripts/deps.sh dpkg-dev debhelper lintian man-db iproute2 curl \
	    systemd

deb: deb-deps
	rm -rf $(DEB_DIR)
	mkdir -p $(DEB_SRC)
	git ls-files -z --cached --others --exclude-standard \
	    | xargs -0 -I{} sh -c 'test -e "{}" && echo "{}"' \
	    | tar -cf - -T - | tar -xf - -C $(DEB_SRC)
	cd $(DEB_SRC) && dpkg-buildpackage -us -uc -b \
	    >$(DEB_DIR)/build.log 2>&1 \
	    || { tail -40 $(DEB_DIR)/build.log; exit 1; }
	mv $(DEB_DIR)/src/*.deb $(DEB_DIR)/src/*.changes \
	    $(DEB_DIR)/src/*.buildinfo $(DEB_DIR)/
	lintian --fail-on error,warning --display-info \
	    $(DEB_DIR)/libnginx-mod-http-validibot_*.changes
	@ls -1 $(DEB_DIR)/*.deb

test-deb: deb
	bash scripts/test-deb.sh $(DEB_DIR)
