# Private apt configuration for one Debian suite (sourced, bash), used by
# scripts/compat.sh and scripts/asan-build.sh to fetch nginx's source
# package and nginx-dev of bookworm, trixie or sid.
#
# The machine's own apt sources are never edited: each suite gets a
# directory of its own with a sources.list (deb and deb-src lines on the
# same mirror host as /etc/apt/sources.list.d), its own lists and its own
# cache, and every apt command gets -o options pointing at them.  The
# system's trusted keys still check the signatures.
#
#   apt_suite_init SUITE DIR     write DIR/sources.list; apt-get update
#                                when DIR's lists are missing or a day old
#   apt_suite SUITE DIR CMD ...  run apt-get/apt-cache CMD with that config
#   apt_suite_version DIR PKG    the candidate version of a binary package
#   apt_suite_orig DIR SRCPKG DEST
#                                fetch the orig tarball of the source
#                                package's candidate into DEST/, check its
#                                SHA-256 against the signed Sources index,
#                                print its path (exit 1 when the mirror
#                                does not have it)
#   apt_suite_deb DIR PKG DEST   download binary package PKG into DEST/,
#                                print its path

# The mirror the machine already uses (first deb822 or one-line entry of
# the main archive); deb.debian.org when there is none.
apt_suite_mirror() {
    local uri

    uri=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null \
          | awk '/^URIs:/ { for (i = 2; i <= NF; i++) print $i }' \
          | grep -E '/debian/?$' | head -1)
    if [ -z "$uri" ]; then
        uri=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
                  2>/dev/null \
              | awk '$1 == "deb" { for (i = 2; i <= NF; i++)
                                       if ($i ~ /^(http|https|ftp):/) {
                                           print $i; break } }' \
              | grep -E '/debian/?$' | head -1)
    fi
    echo "${uri:-http://deb.debian.org/debian}" | sed 's,/*$,,'
}

apt_suite_opts() {
    local dir=$1

    printf '%s\n' \
        -o "Dir::Etc::sourcelist=$dir/sources.list" \
        -o "Dir::Etc::sourceparts=$dir/sources.list.d" \
        -o "Dir::State::Lists=$dir/lists" \
        -o "Dir::Cache=$dir/cache" \
        -o "Dir::State::status=/dev/null" \
        -o "APT::Sandbox::User=root"
}

apt_suite() {
    local dir=$1 cmd=$2 opts
    shift 2

    mapfile -t opts < <(apt_suite_opts "$dir")
    "$cmd" -q "${opts[@]}" "$@"
}

apt_suite_init() {
    local suite=$1 dir=$2 mirror security

    mirror=$(apt_suite_mirror)
    security=${mirror%/debian}/debian-security
    mkdir -p "$dir/lists/partial" "$dir/cache/archives/partial" \
             "$dir/sources.list.d"

    {
        echo "deb $mirror $suite main"
        echo "deb-src $mirror $suite main"
        # a stable release's fixes come from its -security suite
        case $suite in
            sid|unstable|experimental|testing) ;;
            *)
                echo "deb $security $suite-security main"
                echo "deb-src $security $suite-security main"
                ;;
        esac
    } > "$dir/sources.list.new"

    if cmp -s "$dir/sources.list.new" "$dir/sources.list" \
       && [ -n "$(find "$dir/lists" -maxdepth 1 -name '*Sources*' \
                       -mmin -1440 2>/dev/null)" ]
    then
        rm -f "$dir/sources.list.new"
        return 0
    fi
    mv "$dir/sources.list.new" "$dir/sources.list"

    if ! apt_suite "$dir" apt-get update >"$dir/update.log" 2>&1; then
        cat "$dir/update.log" >&2
        echo "apt-suite: apt-get update for $suite failed" >&2
        return 1
    fi
}

apt_suite_version() {
    apt_suite "$1" apt-cache policy "$2" 2>/dev/null \
        | awk '$1 == "Candidate:" { print $2 }'
}

apt_suite_orig() {
    local dir=$1 src=$2 dest=$3 ver upstream name want have dl

    ver=$(apt_suite "$dir" apt-cache showsrc "$src" 2>/dev/null \
          | awk '/^Version:/ { print $2 }' | sort -V | tail -1)
    if [ -z "$ver" ]; then
        echo "apt-suite: no source package $src in $dir" >&2
        return 1
    fi
    upstream=${ver#*:}
    upstream=${upstream%-*}
    name=${src}_$upstream.orig.tar.gz

    # the orig tarball is the same in every revision of that version
    want=$(apt_suite "$dir" apt-cache showsrc "$src" 2>/dev/null \
           | awk -v f="$name" '
               /^Checksums-Sha256:/ { s = 1; next }
               /^[^ ]/              { s = 0 }
               s && $3 == f         { print $1; exit }')

    mkdir -p "$dest"
    have=""
    [ -f "$dest/$name" ] && have=$(sha256sum "$dest/$name" | cut -d' ' -f1)

    if [ -z "$want" ] || [ "$have" != "$want" ]; then
        rm -f "$dest/$name"
        dl=$(mktemp -d "$dest/dl.XXXXXX")
        # a .dsc or debian.tar.xz missing on the mirror (a 404 for a
        # superseded security update) makes apt exit non-zero although the
        # orig tarball came: that tarball is all that is needed
        (cd "$dl" && apt_suite "$dir" apt-get source --download-only \
            "$src=$ver" >"$dir/source.log" 2>&1) || true
        if [ ! -f "$dl/$name" ]; then
            rm -rf "$dl"
            grep -E '^(E|W):' "$dir/source.log" >&2
            echo "apt-suite: the mirror did not give $name" >&2
            return 1
        fi
        mv "$dl/$name" "$dest/$name"
        rm -rf "$dl"
        have=$(sha256sum "$dest/$name" | cut -d' ' -f1)
    fi

    if [ -z "$want" ] || [ "$have" != "$want" ]; then
        echo "apt-suite: $name: SHA-256 $have, the Sources index says" \
             "${want:-nothing}" >&2
        rm -f "$dest/$name"
        return 1
    fi

    echo "$dest/$name"
}

apt_suite_deb() {
    local dir=$1 pkg=$2 dest=$3 ver file

    ver=$(apt_suite_version "$dir" "$pkg")
    if [ -z "$ver" ] || [ "$ver" = "(none)" ]; then
        echo "apt-suite: no package $pkg in $dir" >&2
        return 1
    fi
    mkdir -p "$dest"
    file=$(ls "$dest/${pkg}_${ver#*:}_"*.deb 2>/dev/null | head -1)
    if [ -z "$file" ]; then
        if ! (cd "$dest" && apt_suite "$dir" apt-get download "$pkg=$ver" \
                >"$dir/download.log" 2>&1)
        then
            cat "$dir/download.log" >&2
            return 1
        fi
        file=$(ls "$dest/${pkg}_${ver#*:}_"*.deb 2>/dev/null | head -1)
    fi
    [ -n "$file" ] && echo "$file"
}
